"""Quote structs -> columns: the C pass gives exactly what the Python pass gives.

`marketmon/store/columns.py` takes a flush's quotes apart in C (`_columns.c`) when
the extension is built, in Python otherwise. Both are run here on the same
quotes, of the wide `Quote` (text fields: taken at flush) and of narrow feed
`Tick`s (numbers only: appended message by message), with symbols the store
has a row for, symbols it has not, and symbols too long for the C table.
"""

from __future__ import annotations

import gc

import msgspec
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.feed.protocol import FeedDecoder, Quote, Quotes
from marketmon.store import columns
from marketmon.store.pending_batch import _COLUMNS

KNOWN = ["600000.SH", "688521.SH", "00700.HK", "513770.SH", "聯想.HK"]  # non-ASCII: UTF-8 keys (9 bytes)
LONG = "騰訊控股.HK"  # 15 UTF-8 bytes: more than the C table holds, so a miss placed from the dict
UNKNOWN = ["300750.SZ", "002602.SZ", LONG]


def the_rows(with_long: bool) -> tuple[dict[str, int], object]:
    rows = {s: i for i, s in enumerate(KNOWN + ([LONG] if with_long else []))}
    index = columns.row_index()
    for s, i in rows.items():
        index.add(s, i)
    return rows, index


def tick_type(fields: tuple[str, ...]) -> type:
    """A narrow struct as `FeedDecoder` makes them: symbol plus some number fields."""
    decoder = FeedDecoder()
    for f in fields:
        decoder._learn([], f)
    msg = decoder.decode(msgspec.json.encode({"type": "quotes", "seq": 1, "quotes": [{"symbol": "600000.SH"}]}))
    assert isinstance(msg, Quotes)
    return type(msg.quotes[0])


NUMBERS = ("ts", "last", "volume", "turnover", "iopv", "st", "suspended", "bid_size", "bids")  # bids: a list field
price = st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False), st.integers(0, 10**6))
count = st.one_of(st.none(), st.integers(0, 10**14))
flag = st.one_of(st.none(), st.booleans())
# Decoded text is valid UTF-8: msgspec refuses a lone surrogate.
book = st.one_of(st.none(), st.lists(st.tuples(st.floats(0, 1e9, allow_nan=False), st.integers(0, 10**14)), max_size=5))
text = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=20))


@st.composite
def quote_dicts(draw: st.DrawFn) -> dict:
    return {
        "symbol": draw(st.sampled_from(KNOWN + UNKNOWN)), "ts": draw(count), "last": draw(price),
        "volume": draw(count), "turnover": draw(price), "iopv": draw(price), "st": draw(flag),
        "suspended": draw(flag), "bid_size": draw(count), "bids": draw(book), "name": draw(text), "listed": draw(st.none()),
    }  # fmt: skip


def frame_of(run: columns.Run) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    series, misses = run.take()
    return pl.DataFrame(series), misses


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(st.lists(quote_dicts(), max_size=30), max_size=6), with_long=st.booleans())
def test_the_c_pass_equals_the_python_pass(messages: list[list[dict]], with_long: bool) -> None:
    rows, index = the_rows(with_long)
    wide = [[msgspec.convert(q, Quote) for q in m] for m in messages]
    narrow_type = tick_type(NUMBERS)
    narrow = [[msgspec.convert({k: q[k] for k in ("symbol", *NUMBERS)}, narrow_type) for q in m] for m in messages]
    for kind, batch in ((Quote, wide), (narrow_type, narrow)):
        in_c, in_python = columns.Run(kind, _COLUMNS, rows, index), columns.Run(kind, _COLUMNS, rows, None)
        for message in batch:
            in_c.add(message)
            in_python.add(message)
        assert len(in_c) == len(in_python) == sum(map(len, batch))
        (c_frame, c_misses), (py_frame, py_misses) = frame_of(in_c), frame_of(in_python)
        # Python looks symbols up in the dict; C in its table, which does not hold LONG
        expected = [(i, q.symbol) for i, q in enumerate(q for m in batch for q in m) if q.symbol not in rows]
        assert py_misses == expected
        long_ones = [(i, q.symbol) for i, q in enumerate(q for m in batch for q in m) if q.symbol == LONG]
        assert c_misses == sorted(expected + (long_ones if with_long else []))
        # ... and the store places C's misses from its dict (Store._place): then they agree
        placed = [(i, rows[s]) for i, s in c_misses if s in rows]
        if placed:
            row = c_frame.get_column("row").clone()
            row.scatter([i for i, _ in placed], pl.Series([r for _, r in placed], dtype=pl.UInt32))
            c_frame = c_frame.with_columns(row)
        assert c_frame.schema == py_frame.schema
        assert c_frame.equals(py_frame, null_equal=True)


def test_a_run_starts_empty_again_after_take_and_columns_outlive_it() -> None:
    rows, index = the_rows(False)
    kind = tick_type(("ts", "last"))
    run = columns.Run(kind, _COLUMNS, rows, index)
    run.add([kind("600000.SH", ts=1, last=1.5), kind("300750.SZ", ts=2, last=2.5)])
    first, misses = run.take()
    assert misses == [(1, "300750.SZ")] and len(run) == 0
    run.add([kind("00700.HK", ts=3, last=None)])
    second, misses = run.take()
    del run
    gc.collect()
    assert [s.to_list() for s in first] == [[0, None], [1, 2], [1.5, 2.5]]
    assert [s.name for s in first] == ["row", "ts", "last"]
    assert [s.to_list() for s in second] == [[2], [3], [None]] and misses == []


def test_a_list_with_a_struct_of_another_type_is_refused_and_the_run_keeps_what_it_had() -> None:
    rows, index = the_rows(False)
    kind = tick_type(("last",))
    run = columns.Run(kind, _COLUMNS, rows, index)
    run.add([kind("600000.SH", last=1.0), kind("300750.SZ", last=2.0)])
    with pytest.raises(TypeError):
        run.add([kind("688521.SH", last=3.0), Quote("00700.HK", last=4.0)])
    run.add([kind("002602.SZ", last=5.0)])
    series, misses = run.take()
    assert [s.to_list() for s in series] == [[0, None, None], [1.0, 2.0, 5.0]]
    assert misses == [(1, "300750.SZ"), (2, "002602.SZ")]


def test_the_row_index_grows_and_keys_on_the_text() -> None:
    index = columns.row_index()
    symbols = [f"{i:06d}.SZ" for i in range(5000)]
    for row, s in enumerate(symbols):
        assert index.add(s, row)
    assert len(index) == 5000
    assert all(index.get("".join(s)) == row for row, s in enumerate(symbols))  # equal text, another object
    assert index.get("999999.SZ") is None
    assert index.add("騰訊.HK", 7) and index.get("騰訊.HK") == 7
    assert not index.add(LONG, 8) and index.get(LONG) is None
    index.add("000001.SZ", 9)  # a row moved: the newest wins, no second entry
    assert index.get("000001.SZ") == 9 and len(index) == 5001


def test_the_extension_is_what_runs() -> None:
    """The benchmark figures in docs/performance.md are the C pass's: CI must build it."""
    assert columns.IMPLEMENTATION == "c"


def test_misuse_of_the_extension_raises_instead_of_crashing() -> None:
    """Found in review: each of these crashed the interpreter before."""
    from marketmon.store import _columns

    kind = tick_type(("last",))
    descriptors = tuple(getattr(kind, f) for f in kind.__struct_fields__)
    index = columns.row_index()
    blank = _columns.Columns.__new__(_columns.Columns)
    for use in (blank.export, lambda: blank.append([])):
        with pytest.raises(RuntimeError, match="not initialised"):
            use()
    half = _columns.Columns.__new__(_columns.Columns)
    with pytest.raises(ValueError):
        half.__init__(descriptors, "rx", index)  # a bad kind after a good one
    with pytest.raises(RuntimeError, match="not initialised"):
        half.append([kind("999999.SH", last=1.0)])
    for row in (2**64 + 7, -1):  # no silent wrap to another row
        with pytest.raises(OverflowError):
            index.add("600000.SH", row)
    column = columns._ArrowColumn((object(), object()))
    column.__arrow_c_array__()
    with pytest.raises(ValueError, match="already handed over"):
        column.__arrow_c_array__()  # a second import would read buffers polars already freed


def test_a_finalizer_cannot_reenter_an_append_in_progress() -> None:
    """An allocation inside `append` may run a garbage collection, and with it any
    `__del__`: one that calls back into the same object is refused, not obeyed."""
    from marketmon.store import _columns

    kind = tick_type(("last",))
    appender = _columns.Columns(tuple(getattr(kind, f) for f in kind.__struct_fields__), "rd", columns.row_index())
    refused: list[str] = []
    armed = [True]

    class Reenters:
        """Garbage that calls back into the appender when collected, and leaves more behind."""

        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

        def __del__(self) -> None:
            if armed[0]:
                try:
                    appender.export()
                except RuntimeError as exc:
                    refused.append(str(exc))
                Reenters()

    quotes = [kind(f"{i:06d}.SZ", last=float(i)) for i in range(5000)]
    threshold = gc.get_threshold()
    gc.set_threshold(50)  # collect often: inside append too
    try:
        Reenters()
        # every symbol a miss: an allocation per quote, so collections happen inside append
        appender.append(quotes)
    finally:
        gc.set_threshold(*threshold)
    armed[0] = False
    assert refused and all("re-entered" in r for r in refused)
    gc.collect()
    pairs, misses = appender.export()
    assert len(misses) == 5000  # the append finished whole
    assert pl.Series(columns._ArrowColumn(pairs[1])).to_list() == [float(i) for i in range(5000)]
