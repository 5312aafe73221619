"""The line-API table (tui/grid.py): what it draws, what it redraws, and the
DataTable-like API the panels use, in a real app under Pilot."""

from __future__ import annotations

import pytest
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult

from marketmon.tui.widgets.grid import Grid


class GridApp(App):
    def __init__(self, rows: int = 5) -> None:
        super().__init__()
        self.rows, self.messages = rows, []

    def compose(self) -> ComposeResult:
        yield Grid(id="grid")

    def on_mount(self) -> None:
        grid = self.query_one(Grid)
        grid.add_column("code", width=8, key="code")
        grid.add_column(Text("last", justify="right"), width=8, key="last")
        for i in range(self.rows):
            grid.add_row(Text(f"S{i:03d}"), Text(f"{i}.00", justify="right"), key=f"S{i:03d}")
        grid.focus()

    def on_grid_row_highlighted(self, event: Grid.RowHighlighted) -> None:
        self.messages.append(("highlighted", event.key))

    def on_grid_row_selected(self, event: Grid.RowSelected) -> None:
        self.messages.append(("selected", event.key))

    def on_grid_header_selected(self, event: Grid.HeaderSelected) -> None:
        self.messages.append(("header", event.column_key))


def line(grid: Grid, y: int) -> str:
    return grid.render_line(y).text


async def test_draws_a_header_and_right_aligned_figures():
    app = GridApp()
    async with app.run_test(size=(40, 10)) as pilot:
        grid = app.query_one(Grid)
        await pilot.pause()
        assert line(grid, 0).startswith("code        last")
        assert line(grid, 1).startswith("S000        0.00")
        assert line(grid, 6).strip() == ""  # below the last row
        assert grid.row_count == 5 and "S003" in grid.rows and grid.get_row_index("S003") == 3


async def test_a_changed_cell_redraws_only_its_row():
    app = GridApp()
    async with app.run_test(size=(40, 10)) as pilot:
        grid = app.query_one(Grid)
        await pilot.pause()
        before = {k: grid._strips.get(k) for k in grid.ordered_keys}
        grid.update_cell("S002", "last", Text("9.99", justify="right"))
        assert "S002" not in grid._strips
        assert all(grid._strips.get(k) is before[k] for k in grid.ordered_keys if k != "S002")
        await pilot.pause()
        assert line(grid, 3).startswith("S002        9.99")
        assert grid.get_cell("S002", "last").plain == "9.99"


async def test_only_visible_rows_are_drawn():
    app = GridApp(rows=10_000)
    async with app.run_test(size=(40, 12)) as pilot:
        grid = app.query_one(Grid)
        await pilot.pause()
        assert len(grid._strips) <= 12
        await pilot.press("end")
        await pilot.pause()
        assert grid.cursor_key == "S9999"
        assert len(grid._strips) <= 24
        assert line(grid, grid.size.height - 1).startswith("S9999")


async def test_keys_move_the_cursor_and_enter_selects():
    app = GridApp()
    async with app.run_test(size=(40, 10)) as pilot:
        grid = app.query_one(Grid)
        await pilot.press("down", "j", "k", "down")
        assert grid.cursor_row == 2
        await pilot.press("enter")
        await pilot.pause()
        assert app.messages[-1] == ("selected", "S002")
        assert ("highlighted", "S001") in app.messages


async def test_sort_remove_and_clear_keep_the_cursor_in_range():
    app = GridApp()
    async with app.run_test(size=(40, 10)) as pilot:
        grid = app.query_one(Grid)
        grid.sort("last", key=lambda t: float(t.plain), reverse=True)
        await pilot.pause()
        assert [grid.get_row_at(i)[0].plain for i in range(5)] == ["S004", "S003", "S002", "S001", "S000"]
        assert line(grid, 1).startswith("S004")
        grid.move_cursor(row=4)
        grid.remove_row("S000")
        assert grid.cursor_row == 3 and grid.row_count == 4
        grid.clear()
        assert grid.row_count == 0 and grid.cursor_key is None


async def test_clicks_on_the_header_and_on_rows():
    app = GridApp()
    async with app.run_test(size=(40, 10)) as pilot:
        grid = app.query_one(Grid)
        await pilot.click(grid, offset=(10, 0))
        await pilot.click(grid, offset=(2, 3))
        await pilot.pause()
        assert grid.cursor_row == 2
        await pilot.click(grid, offset=(2, 3))  # again on the cursor's row: selected
        await pilot.pause()
        assert app.messages == [("header", "last"), ("highlighted", "S002"), ("selected", "S002")]


# What a cell draws: Rich segments out of Grid._line ------------------------------------

RED, BLUE = Style(color="red"), Style(color="blue")


def spanned(text: str, span_end: int, justify: str = "right") -> Text:
    """`text` in red with its first `span_end` characters in blue (a span over the base)."""
    cell = Text(text, style=RED, justify=justify)  # type: ignore[arg-type]
    cell.stylize(BLUE, 0, span_end)
    return cell


@pytest.mark.parametrize(
    ("cell", "drawn", "colours"),
    [
        # right-justified, no spans: Rich renders it as one unstyled segment, so the
        # cell's own style must be put on it (the padding alone had it before)
        (Text("1.23", style=RED, justify="right"), "    1.23", "RRRRRRRR"),
        (spanned("+1.23", 2), "   +1.23", "RRRBBRRR"),
        (Text("ab", style=RED), "ab      ", "RRRRRRRR"),
        (spanned("abc", 1, "left"), "abc     ", "BRRRRRRR"),
        # exactly fitting
        (Text("12345.67", style=RED, justify="right"), "12345.67", "RRRRRRRR"),
        (spanned("12345.67", 3), "12345.67", "BBBRRRRR"),
        # cut, with an ellipsis, in its own style
        (Text("VeriSilicon", style=RED, justify="right"), "VeriSil…", "RRRRRRRR"),
        (spanned("VeriSilicon", 4, "left"), "VeriSil…", "BBBBRRRR"),
        (Text("中芯国际集成电路", style=RED), "中芯国 …", "RRRRR"),  # per character: a CJK one takes two cells
    ],
)
async def test_a_cell_draws_in_its_own_style(cell: Text, drawn: str, colours: str):
    class OneColumn(App):
        def compose(self) -> ComposeResult:
            yield Grid()

    async with OneColumn().run_test(size=(20, 5)) as pilot:
        grid = pilot.app.query_one(Grid)
        grid.add_column("x", width=8, key="x")
        strip = grid._line([cell], Style())
        assert strip.text == drawn and strip.cell_length == 8
        name = {Color.parse("red"): "R", Color.parse("blue"): "B"}
        got = "".join(name.get(seg.style.color, "?") * len(seg.text) for seg in strip if seg.text)
        assert got == colours
