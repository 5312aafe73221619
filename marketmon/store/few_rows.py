"""The store's flush steps for a handful of rows, in plain Python.

A flush cut at a step where a watched name crosses a threshold applies a
part of a few quotes (`flush_cuts.py`). polars runs many Series methods as a
one-column query, ~25-100 us a call whatever the size, and the derived
columns as expressions, ~400 us: a part of three quotes cost ~1 ms. Below
`SMALL` values these functions do the same in Python lists, in
microseconds. Each has a polars twin in `state.py` that it must equal
exactly (tests/store/test_few_rows.py): the same IEEE operations in the same order.
"""

from __future__ import annotations

from typing import Any

import polars as pl

SMALL = 256  # at or below this many values, Python lists beat polars' per-call cost


def given(new: pl.Series, rows: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The non-null values of `new` and the rows they belong to (as `new.is_not_null()` filtering)."""
    keep = [(v, r) for v, r in zip(new.to_list(), rows.to_list(), strict=True) if v is not None]
    return (
        pl.Series(new.name, [v for v, _ in keep], dtype=new.dtype),
        pl.Series(rows.name, [r for _, r in keep], dtype=rows.dtype),
    )


def row_order(rows: pl.Series) -> pl.Series:
    """The distinct rows, ascending (as `rows.unique().sort()`)."""
    return pl.Series(sorted(set(rows.to_list())), dtype=pl.UInt32)


def derive(merged: pl.DataFrame) -> pl.DataFrame:
    """`merged` with change, pct, premium_pct and limit_state, as `store._DERIVE` gives them."""
    c: dict[str, list[Any]] = {
        name: merged.get_column(name).to_list()
        for name in ("last", "prev_close", "iopv", "suspended", "tick", "limit_up", "limit_down")
    }
    change, pct, premium, state = [], [], [], []
    for last, prev, iopv, suspended, tick, up, down in zip(*c.values(), strict=True):
        traded = last is not None and last > 0 and not suspended
        change.append(last - prev if traded and prev is not None else None)
        pct.append((last - prev) / prev * 100 if traded and prev is not None and prev > 0 else None)
        premium.append((last - iopv) / iopv * 100 if traded and iopv is not None and iopv > 0 else None)
        at = None
        if traded and tick is not None:
            half = tick / 2
            if up is not None and abs(last - up) < half:
                at = "up"
            elif down is not None and abs(last - down) < half:
                at = "down"
        state.append(at)
    out = merged.clone()
    for name, values, dtype in (
        ("change", change, pl.Float64), ("pct", pct, pl.Float64), ("premium_pct", premium, pl.Float64),
        ("limit_state", state, pl.String),
    ):  # fmt: skip
        series = pl.Series(name, values, dtype=dtype)
        if name in out.columns:
            out.replace_column(out.get_column_index(name), series)
        else:
            out.hstack([series], in_place=True)
    return out


def moved(before: pl.Series, after: pl.Series) -> pl.Series:
    """Per row, whether the value changed, null against a value counting (as `ne_missing`)."""
    return pl.Series([a != b for a, b in zip(before.to_list(), after.to_list(), strict=True)], dtype=pl.Boolean)
