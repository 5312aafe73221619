"""ETF premium/discount: last against IOPV, largest gap first.

premium % = (last - IOPV) / IOPV x 100 is the store's `premium_pct`; this
panel only picks the funds that have one, orders them by the size of the gap
and marks the rows at or over the threshold (a real trader need: cross-border
ETFs can trade far above their basket).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from marketmon.feed.safe_text import printable
from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets.live_table import Col, LiveTable, Row


class EtfPremiumPanel(palette.Tones, Vertical):
    # Shared tones plus the highlight of a row at or over the threshold.
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"etf-premium--over"}

    # 63 cells with the gaps: the right-hand column at 160x48 (65) less a scrollbar.
    # IOPV has a digit more than the price (a money-market fund's "100.0012" is 8).
    COLUMNS = (
        Col("code", "code", 9), Col("name", "name", 19), Col("last", "last", 7, True),
        Col("iopv", "IOPV", 8, True), Col("premium", "prem %", 7, True), Col("pct", "chg %", 7, True),
    )  # fmt: skip

    def __init__(self, threshold: float = 1.0, *, max_rows: int = 50, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold
        # A whole-market feed has ~1000 ETFs, most within a few bp of their IOPV:
        # the largest gaps are the news, and a bounded table stays cheap per tick.
        self.max_rows = max_rows
        self._head_shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="etf-head", classes="panel-head")
        yield LiveTable(self.COLUMNS, self._render_row, id="etf-table")

    @property
    def table(self) -> LiveTable:
        return self.query_one("#etf-table", LiveTable)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._show_head(self._head_shown, True))

    def funds(self, store: Store) -> pl.DataFrame:
        """Every fund with a premium: symbol, name, last, iopv, premium_pct, pct, tick; largest |premium| first."""
        return (
            store.frame.filter(pl.col("kind").is_in(["etf", "fund"]) & pl.col("premium_pct").is_not_null())
            .select("symbol", store.shown_name(), "last", "iopv", "premium_pct", "pct", "tick")
            .sort(pl.col("premium_pct").abs(), "symbol", descending=[True, False])
        )

    def refresh_from(self, store: Store) -> None:
        funds = self.funds(store)
        over = int((funds["premium_pct"].abs() >= self.threshold).sum())
        # Funds the feed sends without an IOPV (a source that does not publish it): said, not left blank.
        without = int(store.frame.filter(pl.col("kind").is_in(["etf", "fund"]) & pl.col("iopv").is_null()).height)
        self._show_head((funds.height, over, without))
        self.table.sync(list(funds.head(self.max_rows).iter_rows()))

    def _over(self) -> Style:
        # The full style, not the partial one: only it blends a translucent
        # background ($warning 30%) over the panel's, so text stays readable.
        full = self.get_component_rich_style("etf-premium--over")
        return Style(bgcolor=full.bgcolor, bold=full.bold)

    def _show_head(self, key: tuple | None, force: bool = False) -> None:
        if key is None or (key == self._head_shown and not force):
            return
        self._head_shown = key
        funds, over, without = key
        if not funds and without:
            head = Text(f"No IOPV for the {without} funds this feed sends: its source does not publish one, "
                        "so there is no premium to show", style=self.tone("muted"))  # fmt: skip
        else:
            shown = f"top {self.max_rows} of {funds}" if funds > self.max_rows else f"{funds}"
            head = Text.assemble(
                f"Premium vs IOPV · {shown} funds · ",
                (f"{over} at or over ±{self.threshold:g}%", self._over() if over else self.tone("muted")),
            )
        self.query_one("#etf-head", Static).update(head, layout=False)  # one line: no layout pass

    def _render_row(self, row: Row) -> list[Text]:
        sym, name, last, iopv, premium, pct, tick = row
        over = abs(premium) >= self.threshold
        base = self._over() if over else Style()
        gap = self.tone(fmt.direction(premium))  # premium reads like a rise, discount like a fall
        move = self.tone(fmt.direction(pct))
        return [
            Text(sym, style=base),
            Text(short_name(printable(name or sym)), style=base),  # feed text: a Text, never markup
            Text(fmt.price(last, tick), style=base + move, justify="right"),
            # IOPV is published a digit finer than the price: keep it, so the premium adds up.
            Text(fmt.DASH if iopv is None else f"{iopv:.{fmt.decimals(tick) + 1}f}", style=base, justify="right"),
            Text(fmt.pct(premium), style=base + gap + Style(bold=over), justify="right"),
            Text(fmt.pct(pct), style=base + move, justify="right"),
        ]


def short_name(name: str) -> str:
    """A fund's name without its "ETF" suffix: every row of this panel is one.
    "HK Innovative Drug ETF" -> "HK Innovative Drug", "港股创新药ETF" -> "港股创新药"."""
    short = name.removesuffix("ETF").rstrip()
    return short if short and short != name.rstrip() else name
