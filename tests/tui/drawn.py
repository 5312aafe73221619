"""What a widget draws, as Rich segments: the colours a terminal gets.

A cell's `Text.style` says what was meant; these helpers read what the
widget hands the compositor (its line with the widget's own styles, scroll
and padding applied), so a colour lost on the way to the screen shows here.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region
from textual.widget import Widget

from marketmon.tui.widgets.grid import Grid


def line(widget: Widget, y: int) -> list[Segment]:
    """Line `y` of the widget, as drawn."""
    width = widget.outer_size.width
    return list(widget.render_lines(Region(0, y, width, 1))[0])


def chars(widget: Widget, y: int) -> list[tuple[str, Style]]:
    """Each drawn cell of line `y` with its style (a CJK character counts once)."""
    return [(ch, seg.style or Style.null()) for seg in line(widget, y) for ch in seg.text]


def styles_of(widget: Widget, y: int, text: str) -> list[Style]:
    """The style of each character of `text`, which must be drawn once on line `y`."""
    drawn = chars(widget, y)
    plain = "".join(ch for ch, _ in drawn)
    assert plain.count(text) == 1, f"{text!r} is drawn {plain.count(text)} times in {plain!r}"
    at = plain.index(text)
    return [style for _, style in drawn[at : at + len(text)]]


def row_of(widget: Widget, text: str) -> int:
    """The line on which `text` is drawn (the first)."""
    for y in range(widget.outer_size.height):
        if text in "".join(seg.text for seg in line(widget, y)):
            return y
    raise AssertionError(f"{text!r} is not drawn")


def colours(styles: list[Style]) -> set[RichColor | None]:
    return {s.color for s in styles}


def backgrounds(styles: list[Style]) -> set[RichColor | None]:
    return {s.bgcolor for s in styles}


def rgb(colour: str) -> RichColor:
    return Color.parse(colour).rich_color


def cell(grid: Grid, key: str, column: str) -> tuple[str, list[Style]]:
    """Row `key`'s cell in `column` as drawn: its text, and the style of each
    of its non-blank characters (the ink, not the gap or the padding)."""
    x = 0
    for c in grid.columns.values():
        if c.key == column:
            break
        x += c.shown
    y = grid.get_row_index(key) - int(grid.scroll_y) + 1  # + the header
    by_cell: list[tuple[str, Style]] = []
    for ch, style in chars(grid, y):
        by_cell.extend([(ch, style)] + [("", style)] * (cell_len(ch) - 1))  # a CJK character takes two cells
    drawn = by_cell[x : x + grid.columns[column].width]
    return "".join(ch for ch, _ in drawn).strip(), [style for ch, style in drawn if ch.strip()]


def row_ink(grid: Grid, key: str) -> list[Style]:
    """The style of every non-blank character of every shown cell of row `key`."""
    return [s for c in grid.columns.values() if not c.hidden for s in cell(grid, key, c.key)[1]]
