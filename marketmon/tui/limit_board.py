"""涨停/跌停: the instruments at or near a daily price limit, and what happened there.

A row is shown when an instrument is at a limit now (sealed), left a limit
it touched today (broken, 炸板), or trades within `near_pct` % of a limit.
Order: sealed up by the time they sealed, then broken, then near (up, then
down), then limit-down. Everything shown comes from the store's derived
columns; nothing is recomputed here.

`LiveTable`, the diff-updating table the other panels use too, lives here
because this is the first of them; it holds no limit-board logic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import polars as pl
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from marketmon.store import Store
from marketmon.text import printable
from marketmon.tui import fmt, palette

BOARD_LABELS = {"main": "Main", "star": "STAR", "chinext": "ChiNext", "bse": "BSE", "fund": "Fund"}

Row = tuple[Any, ...]
Renderer = Callable[[Row], Sequence[Text]]


class LiveTable(DataTable):
    """A DataTable kept equal to a list of keyed rows, touching only what differs.

    Each row's first field is its key (a symbol; unique). A row whose data is
    unchanged costs one tuple comparison; a changed one is rendered and only
    its cells that now look different are updated. A new row is appended and
    a change of order is one `sort`, so nothing is ever cleared and re-added.
    Cell styles come from theme variables and are baked into the Text, so a
    theme change renders every row once more.
    """

    def __init__(self, columns: Sequence[tuple[str, str, int]], render: Renderer, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._render = render
        self._columns = [self.add_column(label, key=key, width=width) for key, label, width in columns]
        self._raw: dict[str, Row | None] = {}  # key -> data last shown (None: render again)
        self._looks: dict[str, list[tuple]] = {}  # key -> per cell (text, style, spans) last shown
        self._first: dict[int, str] = {}  # id of each row's first cell -> key, for sorting
        self._order: list[str] = []  # keys in the order the table shows them

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.restyle())

    def sync(self, rows: Sequence[Row]) -> None:
        """Show `rows`, in this order."""
        want = [str(r[0]) for r in rows]
        alive = set(want)
        with self.app.batch_update():
            for key in [k for k in self._order if k not in alive]:
                self.remove_row(key)
                del self._raw[key], self._looks[key]
            self._order = [k for k in self._order if k in alive]
            for key, raw in zip(want, rows):
                old = self._raw.get(key, ())
                if old == raw:
                    continue
                cells = [c if isinstance(c, Text) else Text(str(c)) for c in self._render(raw)]
                looks = [(c.plain, c.style, tuple(c.spans)) for c in cells]
                if key not in self._looks:
                    self.add_row(*cells, key=key)
                    self._order.append(key)
                else:
                    for column, cell, look, before in zip(self._columns, cells, looks, self._looks[key]):
                        if look != before:
                            self.update_cell(key, column, cell)
                self._raw[key], self._looks[key] = raw, looks
            if self._order != want:
                self._sort(want)

    def _sort(self, want: list[str]) -> None:
        # DataTable.sort hands the key function a row's cells, not its key; the
        # first cell object is unique to its row, so its id leads to the key.
        self._first = {id(self.get_cell(k, self._columns[0])): k for k in want}
        rank = {k: i for i, k in enumerate(want)}
        self.sort(key=lambda cells: rank[self._first[id(cells[0])]])
        self._order = want

    def restyle(self) -> None:
        rows = [self._raw[k] for k in self._order]
        self._raw = dict.fromkeys(self._order)  # render every row again
        self.sync(rows)

    def key_at(self, row: int) -> str | None:
        """The key of the row shown at `row` (e.g. the cursor's), or None."""
        return self._order[row] if 0 <= row < len(self._order) else None

    @property
    def rows_shown(self) -> list[Row]:
        return [self._raw[k] for k in self._order]


class LimitRow(NamedTuple):
    symbol: str
    name: str | None
    board: str | None
    band: float | None  # limit pct of the board: 10, 20, 30, 5 (ST)
    last: float | None
    pct: float | None
    sealed_at: int | None  # ms, when it first reached a limit today
    tick: float | None
    state: str  # sealed, resealed, broken, near
    side: str  # up or down


class LimitBoard(palette.Tones, Vertical):
    # Shared tones (mm--up, mm--limit-up, ...) plus one of our own for 炸板.
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"limit-board--broken"}

    COLUMNS = (
        ("code", "code", 9), ("name", "name", 11), ("board", "board", 7), ("band", "lim", 3),
        ("last", "last", 7), ("pct", "pct", 7), ("sealed", "sealed", 8), ("state", "state", 11),
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
        df = store.frame.filter(
            up.is_not_null() & (last > 0)
            & (pl.col("limit_state").is_not_null() | pl.col("broken").fill_null(False)
               | (trading & ((last >= up * (1 - near)) | (last <= down * (1 + near)))))
        ).select("symbol", "name", "board", "limit_pct", "last", "pct", "sealed_at", "tick",
                 "limit_state", "broken", "high", "limit_up")  # fmt: skip
        rows = []
        for sym, name, board, band, px, pct, sealed, tick, at, broken, high, lim_up in df.iter_rows():
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
        self.query_one("#limit-counts", Static).update(text)

    def _render_row(self, row: LimitRow) -> list[Text]:
        sym, name, board, band, px, pct, sealed, tick, state, side = row
        move = self.tone(fmt.direction(pct))
        marker = self.tone(f"limit-{side}")  # the limit marker: text on the limit colour
        broken = self.get_component_rich_style("limit-board--broken", partial=True)
        label, label_style = {
            "sealed": ("sealed 封板", marker),
            "resealed": ("sealed 回封", marker),  # sealed again after breaking
            "broken": ("broken 炸板" if side == "up" else "broken 翘板", broken),
            "near": ("near " + ("涨停" if side == "up" else "跌停"), self.tone(side)),
        }[state]
        return [
            Text(sym),
            Text(printable(name or sym)),  # feed text: a Text, never markup
            Text(BOARD_LABELS.get(board, board or "")),
            Text("" if band is None else f"{band:g}%", justify="right"),
            Text(fmt.price(px, tick), style=move, justify="right"),
            Text(fmt.pct(pct), style=move, justify="right"),
            Text(fmt.clock(sealed) if sealed is not None else "", style=self.tone("muted")),
            Text(label, style=label_style),
        ]


def _board_order(row: LimitRow) -> tuple:
    if row.state in ("sealed", "resealed"):
        return (0 if row.side == "up" else 4, row.sealed_at or 0, row.symbol)
    if row.state == "broken":
        return (1, row.sealed_at or 0, row.symbol)
    pct = row.pct or 0.0
    return (2 if row.side == "up" else 3, -pct if row.side == "up" else pct, row.symbol)
