"""An order book side in the frame: five [price, size] levels as one fixed-width column.

On the wire a side is a list of up to five [price, size] pairs, best first
(docs/protocol.md). In the frame it is an `Array(Float64, 10)`: p1, s1, ...
p5, s5, null where a level is missing; a row with no book is null, an empty
side (sealed at a limit) is all nulls. Fixed width because polars builds a
nested list column from Python objects at ~30 us a row, and a replay sends
hundreds of thousands of book updates: here it is one flat float column
reshaped, ~1 us a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import polars as pl

LEVELS = 5
WIDTH = 2 * LEVELS
DTYPE = pl.Array(pl.Float64, WIDTH)
_PAD = [[None] * (WIDTH - 2 * n) for n in range(LEVELS + 1)]


def column(name: str, sides: Sequence[Sequence[Any] | None]) -> pl.Series:
    """The column of these sides (each a sequence of (price, size), or None: not sent)."""
    flat: list[Any] = []
    extend, pad, pairs = flat.extend, _PAD, chain.from_iterable
    missing = False
    for side in sides:
        if side is None:
            extend(pad[0])
            missing = True
        else:
            extend(pairs(side))
            extend(pad[len(side)])
    cells = pl.Series(name, flat, dtype=pl.Float64, strict=False).reshape((-1, WIDTH))
    if missing:
        sent = pl.Series([side is not None for side in sides])
        cells = pl.select(pl.when(pl.lit(sent)).then(pl.lit(cells)).alias(name)).to_series()
    return cells


def levels(cell: Sequence[float | None] | None) -> list[tuple[float, float]]:
    """A frame cell back as (price, size) levels, best first ([] for none)."""
    if cell is None:
        return []
    return [(cell[i], cell[i + 1]) for i in range(0, WIDTH, 2) if cell[i] is not None]  # type: ignore[misc]
