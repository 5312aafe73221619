"""A table drawn with Textual's line API, for tables that change every tick.

Textual's DataTable keys all its render caches on one update counter, so a
single changed cell makes it render every visible cell again through Rich;
with quotes changing on every tick that was most of the screen's CPU and the
tail of its latency (docs/performance.md). Here a row is turned into
segments once and kept as a Strip until one of its cells changes, and only
the rows on screen are ever drawn.

The API is the part of DataTable the panels use (add_column, add_row,
update_cell, remove_row, sort, move_cursor, get_cell, ...), keyed by strings.
Cells are `rich.text.Text` that the caller has already fitted to the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip


DIM = Style(dim=True)
DIM_CURSOR = 0.6  # how far a dimmed grid's cursor bar goes toward the background


@dataclass
class GridColumn:
    key: str
    label: Text
    width: int
    auto: bool = False  # as wide as its widest cell so far
    hidden: bool = False  # kept, with its cells, but not drawn

    @property
    def shown(self) -> int:
        """The cells it takes on screen."""
        return 0 if self.hidden else self.width


class Grid(ScrollView, can_focus=True):
    """Rows of Text cells under a header row that stays put while rows scroll."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("home", "first", show=False),
        Binding("end", "last", show=False),
        Binding("enter", "select", show=False),
    ]
    COMPONENT_CLASSES = {"grid--header", "grid--cursor"}
    CURSOR_ONLY_WHEN_FOCUSED = False  # True: no cursor row while another widget has the focus
    DEFAULT_CSS = """
    Grid { background: $surface; }
    Grid > .grid--header { text-style: bold; }
    Grid > .grid--cursor { background: $primary 40%; }
    """

    class RowHighlighted(Message):
        def __init__(self, grid: Grid, key: str) -> None:
            super().__init__()
            self.grid, self.key = grid, key

        @property
        def control(self) -> Grid:
            return self.grid

    class RowSelected(RowHighlighted):
        """Enter, or a click on the row the cursor is already on."""

    class HeaderSelected(Message):
        def __init__(self, grid: Grid, column_key: str) -> None:
            super().__init__()
            self.grid, self.column_key = grid, column_key

        @property
        def control(self) -> Grid:
            return self.grid

    def __init__(self, *, show_cursor: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_cursor = show_cursor
        self.columns: dict[str, GridColumn] = {}
        self._column_at: dict[str, int] = {}  # column key -> position
        self._keys: list[str] = []  # row order
        self._index: dict[str, int] = {}  # key -> position in _keys
        self._cells: dict[str, list[Text]] = {}
        self._strips: dict[str, Strip] = {}  # key -> the row drawn, until a cell of it changes
        self._header: Strip | None = None
        self.cursor_row = 0
        self.dimmed = False  # the rows are old (the feed is down or silent): drawn faint

    def set_dimmed(self, dimmed: bool) -> None:
        if dimmed != self.dimmed:
            self.dimmed = dimmed
            self.refresh()

    # building ------------------------------------------------------------------------

    def add_column(self, label: Text | str, *, width: int | None, key: str) -> str:
        """`width` None: the column grows to its widest cell."""
        text = label if isinstance(label, Text) else Text(label)
        self.columns[key] = GridColumn(key, text, text.cell_len if width is None else width, width is None)
        self._column_at = {k: i for i, k in enumerate(self.columns)}
        self._header = None
        self._strips.clear()
        self._resize()
        return key

    def add_row(self, *cells: Text, key: str) -> str:
        if key in self._index:
            raise KeyError(f"row {key!r} exists")
        self._index[key] = len(self._keys)
        self._keys.append(key)
        self._cells[key] = list(cells)
        self._widen(cells)
        self._resize()
        self.refresh_line(len(self._keys) - int(self.scroll_y))
        return key

    def remove_row(self, key: str) -> None:
        i = self._index.pop(key)
        del self._keys[i]
        del self._cells[key]
        self._strips.pop(key, None)
        for k in self._keys[i:]:
            self._index[k] -= 1
        self.cursor_row = min(self.cursor_row, max(0, len(self._keys) - 1))
        self._resize()
        self.refresh()

    def clear(self) -> None:
        self._keys.clear()
        self._index.clear()
        self._cells.clear()
        self._strips.clear()
        self.cursor_row = 0
        self._resize()
        self.refresh()

    def update_cell(self, key: str, column: str, value: Text) -> None:
        cells = self._cells[key]
        at = self._column_index(column)
        cells[at] = value
        self._strips.pop(key, None)
        self._refresh_row(self._index[key])  # always: a row whose strip went earlier was still drawn
        if self.columns[column].auto:
            self._widen(cells)

    def _widen(self, cells: Iterable[Text]) -> None:
        """Auto-width columns take a wider cell in: every row is drawn again."""
        wider = False
        for cell, column in zip(cells, self.columns.values(), strict=False):
            if column.auto and cell.cell_len > column.width:
                column.width, wider = cell.cell_len, True
        if wider:
            self._strips.clear()
            self._header = None
            self._resize()
            self.refresh()

    def set_label(self, key: str, label: Text) -> None:
        """A column's header text changed (a sort arrow came or went)."""
        column = self.columns[key]
        if column.label != label:
            column.label = label
            self._header = None
            self.refresh_line(0)

    def hide_columns(self, keys: Iterable[str]) -> None:
        """Draw every column but these (their cells are kept and still updated)."""
        hidden = set(keys)
        if hidden != {c.key for c in self.columns.values() if c.hidden}:
            for column in self.columns.values():
                column.hidden = column.key in hidden
            self._strips.clear()
            self._header = None
            self._resize()
            self.refresh()

    def sort(self, column: str, *, key: Callable[[Text], Any], reverse: bool = False) -> None:
        """Reorder the rows by `key` of their cell in `column` (stable)."""
        at = self._column_index(column)
        self.reorder(sorted(self._keys, key=lambda k: key(self._cells[k][at]), reverse=reverse))

    def reorder(self, keys: list[str]) -> None:
        """Show the rows in this order (the same keys, rearranged)."""
        if keys != self._keys:
            self._keys = list(keys)
            self._index = {k: i for i, k in enumerate(self._keys)}
            self.refresh()

    def _column_index(self, column: str) -> int:
        return self._column_at[column]

    def _resize(self) -> None:
        width = sum(c.shown for c in self.columns.values())
        self.virtual_size = Size(width, len(self._keys) + 1)  # + the header

    # reading ---------------------------------------------------------------------------

    @property
    def rows(self) -> Mapping[str, int]:
        """Row keys (with their positions): `key in grid.rows` asks whether a row is shown."""
        return self._index

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def ordered_keys(self) -> list[str]:
        return list(self._keys)

    def get_cell(self, key: str, column: str) -> Text:
        return self._cells[key][self._column_index(column)]

    def get_row_at(self, index: int) -> list[Text]:
        return list(self._cells[self._keys[index]])

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if 0 <= self.cursor_row < len(self._keys) else None

    # the cursor ------------------------------------------------------------------------

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        old, self.cursor_row = self.cursor_row, row
        if old != row:
            self._refresh_row(old)
            self._refresh_row(row)
            self.post_message(self.RowHighlighted(self, self._keys[row]))
        if scroll:
            self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(1, self.scrollable_content_region.height - 2))

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_key))

    def _on_click(self, event: events.Click) -> None:
        x, y = event.x + int(self.scroll_x), event.y
        if y == 0:
            edge = 0
            for column in self.columns.values():
                edge += column.shown
                if x < edge:
                    self.post_message(self.HeaderSelected(self, column.key))
                    break
            return
        row = int(self.scroll_y) + y - 1
        if 0 <= row < len(self._keys):
            again = row == self.cursor_row
            self.move_cursor(row=row, scroll=False)
            if again:
                self.action_select()

    def _on_focus(self, event: events.Focus) -> None:
        self._refresh_row(self.cursor_row)

    def _on_blur(self, event: events.Blur) -> None:
        self._refresh_row(self.cursor_row)

    # drawing ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # the theme changed: base, header and cursor colours with it
        self._header = None

    def _on_show(self, event: events.Show) -> None:
        # Rows that changed while the grid was hidden (another panel zoomed) could not
        # be marked for repainting (no size): draw every row again now.
        self._strips.clear()
        self.refresh()

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh_line(y)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = int(self.scroll_x)
        base = self.rich_style
        if y == 0:
            if self._header is None:
                style = base + self.get_component_rich_style("grid--header", partial=True)
                self._header = self._line((c.label for c in self.columns.values()), style)
            strip = self._header
        else:
            row = int(self.scroll_y) + y - 1
            if row >= len(self._keys):
                return Strip.blank(width, base)
            key = self._keys[row]
            strip = self._strips.get(key)
            if strip is None:
                strip = self._strips[key] = self._line(self._cells[key], base)
            if self.dimmed:
                strip = Strip(Segment.apply_style(strip, post_style=DIM), strip.cell_length)
            if self.show_cursor and row == self.cursor_row and (self.has_focus or not self.CURSOR_ONLY_WHEN_FOCUSED):
                # post_style: the cursor's background wins over the cells' own.
                strip = Strip(Segment.apply_style(strip, post_style=self._cursor_style(base)), strip.cell_length)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _cursor_style(self, base: Style) -> Style:
        cursor = self.get_component_rich_style("grid--cursor", partial=True)
        # Only the background: the cells' text colours (up, down, limit) stay readable.
        bgcolor = cursor.bgcolor
        if self.dimmed and bgcolor is not None and base.bgcolor is not None:
            # Old rows: a bright bar would keep its row at full strength (dim text blends
            # toward its own background), so the bar fades toward the panel's background too.
            faded = Color.from_rich_color(bgcolor).blend(Color.from_rich_color(base.bgcolor), DIM_CURSOR)
            bgcolor = faded.rich_color
        return Style(bgcolor=bgcolor)

    def _line(self, cells: Iterable[Text], base: Style) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for cell, column in zip(cells, self.columns.values(), strict=False):
            if column.hidden:
                continue
            if cell.cell_len > column.width:
                cell = cell.copy()
                cell.truncate(column.width, overflow="ellipsis")
            # The cell's style goes on its text as well as its padding: Rich draws
            # a span-less Text as one unstyled segment, which would lose the colour.
            style = console.get_style(cell.style) if cell.style else Style.null()
            drawn = list(Segment.apply_style(cell.render(console, end=""), style))
            padding = Segment(" " * (column.width - cell.cell_len), style)
            segments.extend([padding, *drawn] if cell.justify == "right" else [*drawn, padding])
        return Strip(Segment.apply_style(segments, base), sum(c.shown for c in self.columns.values()))
