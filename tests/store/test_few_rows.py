"""The flush's Python paths for a few rows equal their polars twins exactly.

`marketmon/store/few_rows.py` (and `Tripwire._changes_small`) compute in Python lists
what the store computes with polars for big parts: the derived columns, the
non-null filtering, the limit-state comparison and the tripwire's flags.
Random rows, nulls included, must give identical values (floats bit for bit).
"""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.store import few_rows, state
from marketmon.store.flush_cuts import Band, Guard, Tripwire

prices = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 9.99, 10.0, 10.01, 11.0]), st.floats(0, 2000, allow_nan=False))
ticks = st.sampled_from([0.01, 0.001])
states = st.sampled_from([None, "up", "down"])


@st.composite
def derive_rows(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 12))
    columns = {
        "last": pl.Float64, "prev_close": pl.Float64, "iopv": pl.Float64, "limit_up": pl.Float64,
        "limit_down": pl.Float64, "tick": pl.Float64, "suspended": pl.Boolean,
    }  # fmt: skip
    data = {}
    for name, dtype in columns.items():
        if name == "tick":
            values = [draw(ticks) for _ in range(n)]
        elif name == "suspended":
            values = [draw(st.one_of(st.none(), st.booleans())) for _ in range(n)]
        else:
            values = [draw(prices) for _ in range(n)]
        data[name] = pl.Series(name, values, dtype=dtype)
    # limits a tick or so off the last price, so that limit states are hit and missed
    for i in range(n):
        if data["last"][i] is not None and draw(st.booleans()):
            off = draw(st.sampled_from([0.0, 0.004, 0.005, 0.006, 0.01]))
            data["limit_up" if draw(st.booleans()) else "limit_down"][i] = data["last"][i] + off
    return pl.DataFrame(list(data.values()))


@settings(max_examples=300, deadline=None)
@given(rows=derive_rows())
def test_derive_in_python_equals_the_expressions(rows: pl.DataFrame) -> None:
    expected = rows.with_columns(state._DERIVE)
    got = few_rows.derive(rows)
    assert got.columns == expected.columns
    for name in ("change", "pct", "premium_pct", "limit_state"):
        assert got.get_column(name).to_list() == expected.get_column(name).to_list(), name


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=20))
def test_given_and_row_order_equal_polars(values: list[float | None]) -> None:
    new = pl.Series("last", values, dtype=pl.Float64)
    rows = pl.Series("row", [(i * 7) % 5 for i in range(len(values))], dtype=pl.UInt32)
    keep = new.is_not_null()
    got_new, got_rows = few_rows.given(new, rows)
    assert got_new.to_list() == new.filter(keep).to_list() and got_rows.to_list() == rows.filter(keep).to_list()
    assert got_new.dtype == new.dtype and got_rows.dtype == rows.dtype
    assert few_rows.row_order(rows).to_list() == rows.unique().sort().to_list()


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(states, states), max_size=20))
def test_moved_equals_ne_missing(pairs: list[tuple[str | None, str | None]]) -> None:
    before = pl.Series([a for a, _ in pairs], dtype=pl.String)
    after = pl.Series([b for _, b in pairs], dtype=pl.String)
    assert few_rows.moved(before, after).to_list() == before.ne_missing(after).to_list()


@st.composite
def market(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series, Guard | None]:
    """A frame of instruments (some at a limit), a batch of quotes on it, their rows, alert bands."""
    n = draw(st.integers(1, 6))
    prev = [draw(st.sampled_from([1.0, 10.0, 100.0])) for _ in range(n)]
    state = [draw(states) for _ in range(n)]
    frame = pl.DataFrame({
        "symbol": [f"60000{i}.SH" for i in range(n)], "prev_close": prev, "tick": [0.01] * n,
        "limit_up": [round(p * 1.1, 2) for p in prev], "limit_down": [round(p * 0.9, 2) for p in prev],
        "limit_state": pl.Series(state, dtype=pl.String),
        "iopv": pl.Series([draw(st.one_of(st.none(), st.just(p))) for p in prev], dtype=pl.Float64),
    })  # fmt: skip
    k = draw(st.integers(0, 15))
    rows = pl.Series("row", [draw(st.one_of(st.none(), st.integers(0, n - 1))) for _ in range(k)], dtype=pl.UInt32)
    quote_prices = [draw(st.one_of(st.none(), st.floats(0.5, 120, allow_nan=False))) for _ in range(k)]
    columns = {"row": rows, "last": pl.Series("last", quote_prices, dtype=pl.Float64)}
    if draw(st.booleans()):
        columns["iopv"] = pl.Series("iopv", [draw(st.one_of(st.none(), st.just(1.0))) for _ in range(k)], dtype=pl.Float64)
    if draw(st.booleans()):
        columns["prev_close"] = pl.Series(
            "prev_close", [draw(st.one_of(st.none(), st.just(5.0))) for _ in range(k)], dtype=pl.Float64
        )
    if draw(st.booleans()):
        columns["volume"] = pl.Series("volume", [draw(st.one_of(st.none(), st.just(100))) for _ in range(k)], dtype=pl.Int64)
    guard = None
    if draw(st.booleans()):
        band = st.builds(
            Band, pct_lo=st.sampled_from([-math.inf, -5.0, 4.5]), pct_hi=st.sampled_from([math.inf, 5.0, 9.0]),
            premium_lo=st.sampled_from([-math.inf, -1.0]), premium_hi=st.sampled_from([math.inf, 1.0]),
            every_quote=st.booleans(), watch_iopv=st.booleans(),
        )  # fmt: skip
        guard = Guard({s: draw(band) for s in frame.get_column("symbol").to_list() if draw(st.booleans())})
    return frame, pl.DataFrame(list(columns.values())), rows, guard


@settings(max_examples=300, deadline=None)
@given(case=market())
def test_the_tripwire_flags_a_few_quotes_as_for_many(case: tuple) -> None:
    frame, quotes, rows, guard = case
    wire = Tripwire()
    wire.update(frame, {s: i for i, s in enumerate(frame.get_column("symbol").to_list())}, guard)
    assert wire._changes_small(quotes, rows).to_list() == _polars_changes(wire, quotes, rows).to_list()


def _polars_changes(wire: Tripwire, quotes: pl.DataFrame, rows: pl.Series) -> pl.Series:
    """`changes` as it runs for a big batch: whatever the size, take the polars path."""
    saved, few_rows.SMALL = few_rows.SMALL, -1
    try:
        return wire.changes(quotes, rows)
    finally:
        few_rows.SMALL = saved
