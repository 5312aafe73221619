"""涨停/跌停: the instruments at or near a daily price limit, and what happened there.

A row is shown when an instrument is at a limit now (sealed), left a limit
it touched today (broken, 炸板), or trades within `near_pct` % of a limit.
Order: sealed up by the time they sealed, then broken, then near (up, then
down), then limit-down. Everything shown comes from the store's derived
columns; nothing is recomputed here.

Widths are counted in terminal cells (a CJK character takes two): the
panels of the right-hand column are 65 cells wide inside at 160x48, so each
column is as narrow as its widest figure.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import polars as pl
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from marketmon.feed.safe_text import printable
from marketmon.store.ladder import first_seal, touched
from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets.live_table import Col, LiveTable

BOARD_LABELS = {"main": "Main", "star": "STAR", "chinext": "ChiN", "bse": "BSE", "fund": "Fund", "bond": "CB",
                "reit": "REIT", "other": "Other"}  # fmt: skip


class LimitRow(NamedTuple):
    symbol: str
    name: str | None
    board: str | None
    band: float | None  # limit pct of the board: 10, 20, 30, 5 (ST)
    last: float | None
    pct: float | None
    first_seal: str | None  # HH:MM:SS it first reached a limit today (the source's figure, else as seen)
    tick: float | None
    state: str  # sealed, resealed, broken, near
    side: str  # up or down


class LimitBoard(palette.Tones, Vertical):
    # Shared tones (mm--up, mm--limit-up, ...) plus one of our own for 炸板.
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"limit-board--broken"}

    # 64 cells with the gaps: the right-hand column's width at 160x48, less a scrollbar.
    # "board %" is the board and its limit band: STAR 20, ChiN 20, Main 10, Main 5 (ST), BSE 30.
    COLUMNS = (
        Col("code", "code", 9), Col("name", "name", 11), Col("board", "board %", 7),
        Col("last", "last", 7, True), Col("pct", "pct", 7, True), Col("sealed", "sealed", 5),
        Col("state", "state", 11),  # "sealed 封板": 7 + two CJK characters of two cells
    )  # fmt: skip

    def __init__(self, *, near_pct: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.near_pct = near_pct
        self.counts: dict[str, int] = {}
        self._counts_shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="limit-counts", classes="panel-head")
        yield LiveTable(self.COLUMNS, self._render_row, id="limit-table")

    @property
    def table(self) -> LiveTable:
        return self.query_one("#limit-table", LiveTable)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._show_counts(force=True))
        self._show_counts()

    # data ----------------------------------------------------------------------

    def rows(self, store: Store) -> list[LimitRow]:
        """The instruments to show, in board order."""
        near = self.near_pct / 100
        last, up, down = pl.col("last"), pl.col("limit_up"), pl.col("limit_down")
        trading = ~pl.col("suspended").fill_null(False)
        # Broken: the store saw it leave a limit, a source counts its board's openings, or
        # (first seen after it left) its high or low is at a limit it is not at now.
        broken = (pl.col("broken").fill_null(False) | (pl.col("board_opens").fill_null(0) > 0)
                  | (pl.col("limit_state").is_null() & (touched("up") | touched("down"))))  # fmt: skip
        df = store.frame.with_columns(broken.alias("broken")).filter(
            up.is_not_null() & (last > 0)
            & (pl.col("limit_state").is_not_null() | pl.col("broken")
               | (trading & ((last >= up * (1 - near)) | (last <= down * (1 + near)))))
        ).select("symbol", store.shown_name(), "board", "limit_pct", "last", "pct", "first_seal", "sealed_at",
                 "last_seal", "tick", "limit_state", "broken", "high", "limit_up")  # fmt: skip
        rows = []
        for sym, name, board, band, px, pct, first, seen, last_seal, tick, at, broken, high, lim_up in df.iter_rows():
            sealed = first_seal(first, seen, last_seal)
            if at is not None:
                state, side = ("resealed" if broken else "sealed"), at
            elif broken:
                # It left a limit: the day's high tells which one it had touched.
                state, side = "broken", ("up" if high is not None and high >= lim_up - tick / 2 else "down")
            else:
                state, side = "near", ("up" if (pct or 0) >= 0 else "down")
            rows.append(LimitRow(sym, name, board, band, px, pct, sealed, tick, state, side))
        rows.sort(key=_board_order)
        return rows

    def refresh_from(self, store: Store) -> None:
        rows = self.rows(store)
        sealed = [r for r in rows if r.state in ("sealed", "resealed")]
        self.counts = {
            "up": sum(r.side == "up" for r in sealed),
            "down": sum(r.side == "down" for r in sealed),
            "broken": sum(r.state == "broken" for r in rows),
            "near": sum(r.state == "near" for r in rows),
        }
        self._show_counts()
        self.table.sync(rows)

    # drawing -------------------------------------------------------------------

    def _show_counts(self, force: bool = False) -> None:
        key = tuple(self.counts.get(k, 0) for k in ("up", "down", "broken", "near"))
        if key == self._counts_shown and not force:
            return
        self._counts_shown = key
        up, down, broken, near = key
        bold = Style(bold=True)
        broken_tone = self.get_component_rich_style("limit-board--broken", partial=True)
        text = Text.assemble(
            ("涨停 limit-up ", self.tone("up")), (str(up), self.tone("up") + bold), "   ",
            ("跌停 limit-down ", self.tone("down")), (str(down), self.tone("down") + bold), "   ",
            ("炸板 broken ", broken_tone), (str(broken), broken_tone + bold), "   ",
            ("near ", self.tone("muted")), str(near),
        )  # fmt: skip
        self.query_one("#limit-counts", Static).update(text, layout=False)  # one line: no layout pass

    def _render_row(self, row: LimitRow) -> list[Text]:
        sym, name, board, band, px, pct, first, tick, state, side = row
        move = self.tone(fmt.direction(pct))
        marker = self.tone(f"limit-{side}")  # the limit marker: text on the limit colour
        broken = self.get_component_rich_style("limit-board--broken", partial=True)
        # A limit-down seal is 封跌停 to a trader, never 封板 (which means limit-up).
        label, label_style = {
            "sealed": ("sealed 封板" if side == "up" else "sealed 跌停", marker),
            "resealed": ("sealed 回封" if side == "up" else "回封跌停", marker),  # sealed again after breaking
            "broken": ("broken 炸板" if side == "up" else "broken 翘板", broken),
            "near": ("near " + ("涨停" if side == "up" else "跌停"), self.tone(side)),
        }[state]
        return [
            Text(sym),
            Text(printable(name or sym)),  # feed text: a Text, never markup
            Text(" ".join(x for x in (BOARD_LABELS.get(board or "", board or ""), _band(band)) if x)),
            Text(fmt.price(px, tick), style=move, justify="right"),
            Text(fmt.pct(pct), style=move, justify="right"),
            Text((first or "")[:5], style=self.tone("muted")),  # HH:MM
            Text(label, style=label_style),
        ]


def _band(band: float | None) -> str:
    return "" if band is None else f"{band:g}"


def _board_order(row: LimitRow) -> tuple:
    if row.state in ("sealed", "resealed"):
        return (0 if row.side == "up" else 4, row.first_seal or "", row.symbol)
    if row.state == "broken":
        return (1, row.first_seal or "", row.symbol)
    pct = row.pct or 0.0
    return (2 if row.side == "up" else 3, -pct if row.side == "up" else pct, row.symbol)
