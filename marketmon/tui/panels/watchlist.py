"""Watchlists: one tab per list plus "All", a live table each.

Each tick only the visible table is synced, and only the cells whose text
changed are written (`update_cell`); a written cell flashes briefly. Rows are
added once and reordered by `sort`, never cleared and re-added per tick (a
filter change is the one time rows are rebuilt).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Input, Static, Tab, Tabs

from marketmon.config.watchlists import Watchlist
from marketmon.feed.safe_text import printable
from marketmon.market.search import Instrument, matches
from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets.grid import Grid

FLASH_S = 0.8
FIELDS = (
    "symbol", "name", "kind", "tick", "last", "change", "pct", "volume", "turnover",
    "limit_up", "limit_state", "broken", "iopv", "premium_pct", "name_zh", "name_en", "currency",
)  # fmt: skip
Row = dict[str, Any]
Cell = tuple[str, str | None]  # text, tone


def _to_limit(r: Row) -> float | None:
    """Distance from last up to the limit-up price, in percent of last."""
    if r["limit_up"] is None or not r["last"]:
        return None
    return (r["limit_up"] - r["last"]) / r["last"] * 100


def _is_fund(r: Row) -> bool:
    return r["kind"] in ("etf", "fund")


def _mark(r: Row) -> Cell:
    if r["limit_state"] == "up":
        return "LU", "limit-up"
    if r["limit_state"] == "down":
        return "LD", "limit-down"
    if r["broken"]:
        return "brk", "muted"  # 炸板: was at a limit today and left it
    return "", None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    render: Callable[[Row], Cell]
    sort: Callable[[Row], Any]
    right: bool = True


def _amount(r: Row) -> str:
    """Turnover; a Hong Kong row's is in HKD and marked "$" (HK$: a list can mix CNY and
    HKD rows), one digit fewer to hold the mark in the cell: "$287亿", "$26.5B"."""
    if r["currency"] == "HKD" and r["turnover"] is not None:
        return "$" + fmt.money(r["turnover"], compact=True, narrow=True)
    return fmt.money(r["turnover"], compact=True)


def _dir(r: Row) -> str:
    return fmt.direction(r["change"])


# Pct before Chg, as in Chinese quote screens: the figure a trader looks for first.
COLUMNS = (
    Column("code", "Code", 10, lambda r: (r["symbol"], "muted"), lambda r: r["symbol"], right=False),
    Column("name", "Name", 14, lambda r: (printable(r["name"]), None), lambda r: r["name"] or "", right=False),
    Column("last", "Last", 10, lambda r: (fmt.price(r["last"], r["tick"]), _dir(r)), lambda r: r["last"]),
    Column("pct", "Pct", 8, lambda r: (fmt.pct(r["pct"]), _dir(r)), lambda r: r["pct"]),
    Column("change", "Chg", 8, lambda r: (fmt.change(r["change"], r["tick"]), _dir(r)), lambda r: r["change"]),
    Column("volume", "Vol", 8, lambda r: (fmt.volume(r["volume"], r["symbol"], r["kind"], compact=True), None),
           lambda r: r["volume"]),
    Column("turnover", "Amount", 8, lambda r: (_amount(r), None), lambda r: r["turnover"]),
    Column("to_limit", "To LU", 7, lambda r: (_pct_plain(_to_limit(r)), "muted"), _to_limit),
    Column("mark", "Lim", 4, _mark, lambda r: r["limit_state"] or ("brk" if r["broken"] else ""), right=False),
    Column("iopv", "IOPV", 6,
           lambda r: (fmt.price(r["iopv"], r["tick"]) if _is_fund(r) else "", None),
           lambda r: r["iopv"] if _is_fund(r) else None),
    Column("premium", "Prem", 7,
           lambda r: (fmt.pct(r["premium_pct"]) if _is_fund(r) else "", fmt.direction(r["premium_pct"])),
           lambda r: r["premium_pct"] if _is_fund(r) else None),
)  # fmt: skip
BY_KEY = {c.key: c for c in COLUMNS}
# Where the table is narrower than all its columns (an 80-column terminal),
# these go first, so that IOPV and premium stay on screen: Pct says what Chg
# says, and traders here read Amount (成交额) rather than Vol.
FIRST_TO_HIDE = ("change", "volume")


# `s` goes through the columns in this order (list order last): the figures a
# trader sorts by most first. Text columns sort A-Z, figures biggest first.
SORT_CYCLE = ("pct", "turnover", "to_limit", "premium", "last", "change", "volume", "iopv", "mark", "code", "name")
ASCENDING_FIRST = frozenset({"code", "name", "to_limit", "mark"})  # nearest the limit first, A-Z


def _header(col: Column, arrow: str = "") -> Text:
    """A column's header; the sorted one carries ▲ / ▼ on the side its figures align to."""
    room = col.width - 1
    label = col.label if not arrow or cell_len(col.label) < room else set_cell_size(col.label, room - 1)
    return Text(" " + _fit(arrow + label if col.right else label + arrow, col))


def _pct_plain(value: float | None) -> str:
    return fmt.DASH if value is None else f"{value:.2f}%"


def _fit(text: str, col: Column) -> str:
    """Fit a cell to its column less the one-cell gap before it (the table has no padding)."""
    room = col.width - 1
    if cell_len(text) > room:  # cell widths: a CJK character takes two
        return set_cell_size(text, room - 1) + "…"
    pad = " " * (room - cell_len(text))
    return pad + text if col.right else text + pad


def _selected(store: Store) -> list[pl.Expr]:
    """FIELDS from the frame: `name` as shown, the feed's own and the English one for `/`."""
    named = {"name": store.shown_name(), "name_zh": pl.col("name").alias("name_zh")}
    return [named.get(f, pl.col(f)) for f in FIELDS]


class WatchTable(palette.Tones, Grid):
    """One watchlist. `symbols` None means every instrument the feed has."""

    COMPONENT_CLASSES = Grid.COMPONENT_CLASSES | palette.COMPONENT_CLASSES

    def __init__(self, title: str, symbols: Sequence[str] | None, path: Path | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.path = path  # the list's file; None for "All"
        self.symbols = list(symbols) if symbols is not None else None
        self.position = {s: i for i, s in enumerate(self.symbols or ())}
        self.rows_raw: dict[str, tuple] = {}  # symbol -> the frame values last seen
        self.cells: dict[str, dict[str, Cell]] = {}  # symbol -> column -> shown text and tone
        self.flashes: dict[tuple[str, str], float] = {}  # (symbol, column) -> flash ends
        self.sort_key: str | None = None  # None: list order
        self.reverse = False
        self.filter_text = ""

    def on_mount(self) -> None:
        for col in COLUMNS:
            self.add_column(_header(col), width=col.width, key=col.key)
        self._show_sort()
        for symbol in self.symbols or ():
            self._new_row(symbol, dict.fromkeys(FIELDS) | {"symbol": symbol})

    def on_resize(self, event: events.Resize) -> None:
        """Too narrow for every column: hide the ones that matter least, not the right edge."""
        narrow = event.size.width < sum(col.width for col in COLUMNS) + self.styles.scrollbar_size_vertical
        self.hide_columns(FIRST_TO_HIDE if narrow else ())

    # syncing -----------------------------------------------------------------

    def sync(self, store: Store, flash: bool = True, now: float | None = None) -> None:
        """Write the cells that changed since the last sync."""
        now = time.monotonic() if now is None else now
        frame = store.frame
        if self.symbols is not None:
            frame = frame.filter(pl.col("symbol").is_in(self.symbols))
        added = resort = False
        for values in frame.select(_selected(store)).iter_rows():
            symbol = values[0]
            seen = self.rows_raw.get(symbol)
            if seen == values:
                continue
            self.rows_raw[symbol] = values
            row = dict(zip(FIELDS, values, strict=True))
            if symbol not in self.cells:
                self.position.setdefault(symbol, len(self.position))
                self._new_row(symbol, row)
                added = True
                continue
            shown = self.cells[symbol]
            for col in COLUMNS:
                cell = col.render(row)
                if shown[col.key] == cell:
                    continue
                shown[col.key] = cell
                resort |= col.key == self.sort_key
                if flash and seen is not None:  # a first fill is not a change
                    self.flashes[(symbol, col.key)] = now + FLASH_S
                self._write(symbol, col.key)
        if added or resort:
            self.apply_sort()

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """The list's file changed: rows follow it; the rows kept keep their cells."""
        symbols = list(symbols)
        for symbol in set(self.cells) - set(symbols):
            del self.cells[symbol]
            self.rows_raw.pop(symbol, None)
            for key in [k for k in self.flashes if k[0] == symbol]:
                del self.flashes[key]
            if symbol in self.rows:
                self.remove_row(symbol)
        self.symbols = symbols
        self.position = {s: i for i, s in enumerate(symbols)}
        for symbol in symbols:
            if symbol not in self.cells:
                self._new_row(symbol, dict.fromkeys(FIELDS) | {"symbol": symbol})
        self.apply_sort()

    def expire_flashes(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        done = [key for key, until in self.flashes.items() if until <= now]
        for symbol, column in done:
            del self.flashes[(symbol, column)]
            self._write(symbol, column)

    def restyle(self) -> None:
        """Theme changed: every cell's colours come again from the new theme."""
        for symbol, shown in self.cells.items():
            for key in shown:
                self._write(symbol, key)

    def _new_row(self, symbol: str, row: Row) -> None:
        self.cells[symbol] = {col.key: col.render(row) for col in COLUMNS}
        if self._matches(symbol):
            self.add_row(*(self._text(symbol, c.key) for c in COLUMNS), key=symbol)

    def _write(self, symbol: str, column: str) -> None:
        if symbol in self.rows:
            self.update_cell(symbol, column, self._text(symbol, column))

    def _text(self, symbol: str, column: str) -> Text:
        text, tone = self.cells[symbol][column]
        style = self.tone(tone) if tone else Style()
        if (symbol, column) in self.flashes:
            style += self.tone("flash")
        cell = Text(" ", no_wrap=True)
        cell.append(_fit(text, BY_KEY[column]), style)
        return cell

    # sorting and filtering ---------------------------------------------------

    def sort_by(self, key: str | None, reverse: bool | None = None) -> None:
        self.sort_key = key
        if reverse is not None:
            self.reverse = reverse
        self.apply_sort()
        self._show_sort()

    def _show_sort(self) -> None:
        for col in COLUMNS:
            arrow = ("▼" if self.reverse else "▲") if col.key == self.sort_key else ""
            self.set_label(col.key, _header(col, arrow))

    def apply_sort(self) -> None:
        selected = self.selected_symbol
        key = self.sort_key
        if key is None:
            order = self.position
            self.sort("code", key=lambda code: order.get(code.plain.strip(), 0), reverse=self.reverse)
        else:
            column = BY_KEY[key]
            values = {s: column.sort(dict(zip(FIELDS, raw, strict=True))) for s, raw in self.rows_raw.items()}

            def sort_value(code: Text) -> tuple:
                v = values.get(code.plain.strip())
                # Missing values go last whichever the direction.
                return (v is not None) if self.reverse else (v is None), v if v is not None else 0

            self.sort("code", key=sort_value, reverse=self.reverse)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)

    def set_filter(self, text: str, keep: str | None = None) -> None:
        """Show the rows `text` matches; the cursor stays on its row, or (none: the last
        filter matched nothing) goes to `keep`."""
        text = text.strip().lower()
        if text == self.filter_text:
            return
        self.filter_text = text
        selected = self.selected_symbol or keep
        self.clear()
        for symbol in sorted(self.cells, key=lambda s: self.position.get(s, 0)):
            if self._matches(symbol):
                self.add_row(*(self._text(symbol, c.key) for c in COLUMNS), key=symbol)
        self.apply_sort()
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def _matches(self, symbol: str) -> bool:
        if not self.filter_text:
            return True
        raw = self.rows_raw.get(symbol)
        row = dict(zip(FIELDS, raw, strict=True)) if raw else {}
        names = Instrument(symbol, row.get("name_zh") or self.cells[symbol]["name"][0], row.get("name_en") or "")
        return matches(names, self.filter_text)  # code, either name, pinyin (market/search.py)

    @property
    def selected_symbol(self) -> str | None:
        return self.cursor_key


def _bar_width(labels: Sequence[Text]) -> int:
    return sum(label.cell_len + 2 for label in labels)  # a Tab's padding: one cell each side


class WatchlistPanel(Vertical):
    """Tabs of watchlists over a switcher of tables, and a filter box."""

    class Selected(Message):
        """The highlighted instrument changed."""

        def __init__(self, symbol: str | None) -> None:
            super().__init__()
            self.symbol = symbol

    def __init__(self, lists: Sequence[Watchlist], **kwargs) -> None:
        super().__init__(**kwargs)
        self._serial = 0  # widget ids stay unique as lists come and go
        self.tables = [self._new_table(wl.name, wl.symbols, wl.path) for wl in lists]
        self.tables.append(self._new_table("All", None, None))
        self._pending_sync = True
        self._index = 0
        # The row selected when a filter began: where the chart and cursor go back to
        # while the filter matches nothing (not to the row a shorter prefix matched).
        self._before_filter: str | None = None

    def _new_table(self, title: str, symbols: Sequence[str] | None, path: Path | None) -> WatchTable:
        table = WatchTable(title, symbols, path, id=f"wl-table-{self._serial}")
        self._serial += 1
        return table

    @staticmethod
    def _tab_id(table: WatchTable) -> str:
        return table.id.replace("wl-table-", "wl-tab-")  # type: ignore[union-attr]

    def _label(self, n: int, table: WatchTable, cap: int | None = None) -> Text:
        """The tab's label; `cap`: its title cut to that many cells (a narrow terminal)."""
        title = printable(table.title, 24)
        if cap is not None and cell_len(title) > cap:
            title = set_cell_size(title, max(1, cap - 1)).rstrip() + "…"
        return Text(f"{n} {title}" if n <= 9 else title)

    def _labels(self) -> list[Text]:
        """Every tab's label, the titles shortened alike until the bar fits the panel:
        a tab pushed off the edge would scroll the first ones out of view."""
        width = self.size.width
        full = [self._label(n, t) for n, t in enumerate(self.tables, 1)]
        if not width or _bar_width(full) <= width:
            return full
        longest = max(cell_len(printable(t.title, 24)) for t in self.tables)
        for cap in range(longest - 1, 2, -1):
            labels = [self._label(n, t, cap) for n, t in enumerate(self.tables, 1)]
            if _bar_width(labels) <= width:
                return labels
        return labels

    def compose(self) -> ComposeResult:
        tabs = [Tab(self._label(n, t), id=self._tab_id(t)) for n, t in enumerate(self.tables, 1)]
        yield Tabs(*tabs, id="wl-tabs")
        yield Input(placeholder="filter: code or name (Enter keeps, Esc clears)", id="wl-filter")
        yield Static(id="wl-no-match")  # a filter that matches nothing says so, not an empty table
        yield Static(id="wl-old")  # the feed is down or silent: the prices below are old
        with ContentSwitcher(initial=self.tables[0].id, id="wl-switch"):
            yield from self.tables

    def on_mount(self) -> None:
        self.query_one("#wl-filter").display = False
        self.query_one("#wl-no-match").display = False
        self.query_one("#wl-old").display = False

    # which table ---------------------------------------------------------------

    @property
    def index(self) -> int:
        return self._index

    @property
    def table(self) -> WatchTable:
        return self.tables[self.index]

    def switch(self, index: int) -> None:
        if 0 <= index < len(self.tables):
            self.switch_to(self.tables[index])

    def cycle(self, step: int) -> None:
        self.switch((self.index + step) % len(self.tables))

    def switch_to(self, table: WatchTable) -> None:
        self.query_one(Tabs).active = self._tab_id(table)

    @on(Tabs.TabActivated, "#wl-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        index = next((i for i, t in enumerate(self.tables) if self._tab_id(t) == event.tab.id), None)
        if index is None or index == self._index:
            return
        self._index = index
        self.query_one(ContentSwitcher).current = self.tables[index].id
        table = self.tables[index]
        table.set_filter(self.query_one("#wl-filter", Input).value)
        self._say_no_match()
        self._pending_sync = True  # catch up with what changed while hidden, without flashing
        if self.app.focused is None or isinstance(self.app.focused, WatchTable):
            table.focus()
        self.post_message(self.Selected(table.selected_symbol))

    @on(Grid.RowHighlighted)
    def _highlighted(self, event: Grid.RowHighlighted) -> None:
        if event.grid is self.table:
            self.post_message(self.Selected(event.key))

    # the tick -----------------------------------------------------------------

    def refresh_from(self, store: Store) -> None:
        table = self.table
        table.sync(store, flash=not self._pending_sync)
        if self._pending_sync:
            self._pending_sync = False
            self.post_message(self.Selected(table.selected_symbol))

    @property
    def needs_sync(self) -> bool:
        return self._pending_sync

    def expire_flashes(self) -> None:
        self.table.expire_flashes()

    def restyle(self) -> None:
        for table in self.tables:
            table.restyle()

    # lists changed (edited in the app or in an editor) ---------------------------------

    def table_for(self, path: Path) -> WatchTable | None:
        return next((t for t in self.tables if t.path == path), None)

    def update_list(self, wl: Watchlist, old_path: Path | None = None) -> None:
        """A list's file changed (or moved from `old_path`): its tab and rows follow."""
        table = self.table_for(old_path or wl.path)  # type: ignore[arg-type]
        if table is None:
            return
        table.path, table.title = wl.path, wl.name
        table.set_symbols(wl.symbols)
        self._relabel()
        if table is self.table:
            self._pending_sync = True  # new rows fill on the next tick

    async def add_list(self, wl: Watchlist, index: int | None = None) -> WatchTable:
        """A new list: its tab goes at `index` (where a restart will show it), else before "All"."""
        current = self.table
        at = len(self.tables) - 1 if index is None else max(0, min(index, len(self.tables) - 1))
        after = self.tables[at]
        table = self._new_table(wl.name, wl.symbols, wl.path)
        self.tables.insert(at, table)
        self._index = self.tables.index(current)
        await self.query_one(Tabs).add_tab(Tab(self._label(at + 1, table), id=self._tab_id(table)),
                                           before=self._tab_id(after))  # fmt: skip
        table.display = False  # a switcher shows one child: a table mounted later is not hidden for us
        await self.query_one(ContentSwitcher).mount(table, before=after)
        self._relabel()
        return table

    async def remove_list(self, path: Path) -> None:
        table = self.table_for(path)
        if table is None:
            return
        current = self.table
        self.tables.remove(table)
        showing = table is current
        self._index = -1 if showing else self.tables.index(current)
        await self.query_one(Tabs).remove_tab(self._tab_id(table))
        await table.remove()
        self._relabel()
        if showing:
            self.switch(0)  # _index is -1: the activation switches the content

    def on_resize(self, event: events.Resize) -> None:
        self._relabel()

    def _relabel(self) -> None:
        tabs = self.query_one(Tabs)
        for table, label in zip(self.tables, self._labels(), strict=True):
            tab = tabs.get_tab(self._tab_id(table))
            if tab is not None and tab.label != label:
                tab.label = label

    # filter ---------------------------------------------------------------------

    def open_filter(self) -> None:
        box = self.query_one("#wl-filter", Input)
        box.display = True
        box.focus()

    def close_filter(self, clear: bool) -> None:
        box = self.query_one("#wl-filter", Input)
        if clear:
            box.value = ""
            self.table.set_filter("", keep=self._before_filter)
            self._say_no_match()
        box.display = bool(box.value)
        self.table.focus()

    @on(Input.Changed, "#wl-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        table = self.table
        if not table.filter_text:
            self._before_filter = table.selected_symbol
        table.set_filter(event.value, keep=self._before_filter)
        self._say_no_match()
        # The chart follows the row landed on; with no row, the one selected before the filter.
        symbol = table.selected_symbol or self._before_filter
        if symbol is not None:
            self.post_message(self.Selected(symbol))

    def show_old(self, note: str | None) -> None:
        """`note` (why and since when the prices are old), or None: they are current."""
        box = self.query_one("#wl-old", Static)
        if note is None:
            box.display = False
        elif not box.display or str(box.render()) != note:
            box.update(Text(note))
            box.display = True

    def _say_no_match(self) -> None:
        table, note = self.table, self.query_one("#wl-no-match", Static)
        empty = bool(table.filter_text) and table.row_count == 0 and bool(table.cells)
        note.display = empty
        if empty:
            what = printable(table.filter_text, 24)
            note.update(Text(f" No instrument in {printable(table.title, 24)} matches '{what}' (Esc clears the filter)"))

    @on(Input.Submitted, "#wl-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.close_filter(clear=False)
