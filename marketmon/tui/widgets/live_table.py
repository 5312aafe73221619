"""LiveTable: a Grid kept equal to a list of keyed rows, touching only what differs.

The limit board, ETF premium, Southbound and alert panels each hand it their
rows every tick. Each row's first field is its key (a symbol; unique). A row
whose data is unchanged costs one tuple comparison; a changed one is rendered
and only its cells that now look different are updated (and only that row
is drawn again). A new row is appended and a change of order is one
`reorder`, so nothing is ever cleared and re-added. Cell styles come from
theme variables and are baked into the Text, so a theme change renders
every row once more.

Columns are one cell apart: each cell gets a leading gap, and text wider
than its column ends in "…" rather than being cut off silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from rich.text import Text

from marketmon.tui.widgets.grid import Grid

Row = tuple[Any, ...]
Renderer = Callable[[Row], Sequence[Text]]


class Col(NamedTuple):
    """A column: `width` cells of content (None: as wide as the widest), plus a one-cell gap."""

    key: str
    label: str
    width: int | None
    right: bool = False  # figures: the header sits over them, right-aligned


class LiveTable(Grid):
    CURSOR_ONLY_WHEN_FOCUSED = True  # elsewhere it would hide the rows' own colours

    def __init__(self, columns: Sequence[Col], render: Renderer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._render = render
        self._widths = [col.width for col in columns]
        self._columns = [
            self.add_column(
                fit(Text(col.label, justify="right" if col.right else "left"), col.width),
                key=col.key, width=None if col.width is None else col.width + 1,
            )
            for col in columns
        ]  # fmt: skip
        self._raw: dict[str, Row | None] = {}  # key -> data last shown (None: render again)
        self._looks: dict[str, list[tuple]] = {}  # key -> per cell (text, style, spans) last shown

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.restyle())

    def sync(self, rows: Sequence[Row]) -> None:
        """Show `rows`, in this order."""
        want = [str(r[0]) for r in rows]
        alive = set(want)
        for key in [k for k in self.ordered_keys if k not in alive]:
            self.remove_row(key)
            del self._raw[key], self._looks[key]
        for key, raw in zip(want, rows, strict=True):
            if self._raw.get(key, ()) == raw:
                continue
            cells = [fit(c if isinstance(c, Text) else Text(str(c)), width)
                     for c, width in zip(self._render(raw), self._widths, strict=False)]  # fmt: skip
            looks = [(c.plain, c.style, tuple(c.spans)) for c in cells]
            if key not in self._looks:
                self.add_row(*cells, key=key)
            else:
                for column, cell, look, before in zip(self._columns, cells, looks, self._looks[key], strict=True):
                    if look != before:
                        self.update_cell(key, column, cell)
            self._raw[key], self._looks[key] = raw, looks
        self.reorder(want)

    def relabel(self, col: Col, label: str) -> None:
        """A column's header says something else (the unit changed)."""
        self.set_label(col.key, fit(Text(label, justify="right" if col.right else "left"), col.width))

    def restyle(self) -> None:
        rows = [self._raw[k] for k in self.ordered_keys]
        self._raw = dict.fromkeys(self.ordered_keys)  # render every row again
        self.sync(rows)

    def key_at(self, row: int) -> str | None:
        """The key of the row shown at `row` (e.g. the cursor's), or None."""
        keys = self.ordered_keys
        return keys[row] if 0 <= row < len(keys) else None

    @property
    def rows_shown(self) -> list[Row]:
        return [self._raw[k] for k in self.ordered_keys]


def fit(cell: Text, width: int | None) -> Text:
    """The cell with its one-cell gap in front, cut to `width` cells with "…" if wider.
    The gap takes the cell's own style, so a highlighted row (ETF over threshold) stays one band."""
    cell = cell.copy()
    if width is not None and cell.cell_len > width:  # cells: a CJK character takes two
        cell.truncate(width, overflow="ellipsis")
    cell.pad_left(1)
    return cell
