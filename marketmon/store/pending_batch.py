"""The store's pending batch: quotes as they came, in steps of market time.

The receive loop only adds each message's decoded quotes here, to a run of
their struct type (`columns.Run`: with the C extension a message of `Tick`s
is taken apart into column buffers as it is added; otherwise the structs
wait). At flush the runs become one polars frame with a column per field
the quotes' struct has: a `Tick` from `protocol.FeedDecoder` has only the
fields the feed sends, so a delta of five fields makes five columns, not
twenty-two. Columns that every quote left empty are dropped.

A step is the messages within one second of market time of the step's
first: a replay sends the market's 3-second steps in bursts, and a flush
must be able to cut the batch between them (see `flush_cuts.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

import polars as pl

from marketmon.feed.protocol import QUOTE_FIELDS
from marketmon.store import book
from marketmon.store import columns as columns_of

STEP_MS = 1000

# Wire field -> frame column. The feed's own limits are kept apart from the
# effective ones so that "feed wins" stays visible and recomputable.
_RENAMED = {"limit_up": "feed_limit_up", "limit_down": "feed_limit_down"}
COLUMN_OF = {f: _RENAMED.get(f, f) for f in QUOTE_FIELDS}

_WIRE_TYPES: dict[str, pl.DataType] = {
    "symbol": pl.String, "ts": pl.Int64, "name": pl.String, "kind": pl.String,
    "prev_close": pl.Float64, "open": pl.Float64, "high": pl.Float64, "low": pl.Float64,
    "last": pl.Float64, "volume": pl.Int64, "turnover": pl.Float64, "bid": pl.Float64,
    "ask": pl.Float64, "bid_size": pl.Int64, "ask_size": pl.Int64, "iopv": pl.Float64,
    "currency": pl.String, "st": pl.Boolean, "listed": pl.String, "limit_up": pl.Float64,
    "limit_down": pl.Float64, "suspended": pl.Boolean,
    "limit_days": pl.Int64, "limit_down_days": pl.Int64, "seal_amount": pl.Float64,
    "first_seal": pl.String, "last_seal": pl.String, "board_opens": pl.Int64, "ah_pair": pl.String,
    "name_en": pl.String, "bids": book.DTYPE, "asks": book.DTYPE, "float_shares": pl.Int64, "avg_volume_5d": pl.Int64,
}  # fmt: skip
BATCH_SCHEMA = pl.Schema({COLUMN_OF[f]: _WIRE_TYPES[f] for f in QUOTE_FIELDS})


@dataclass(slots=True)
class Step:
    start: int  # index of its first quote in the batch
    ts: int | None  # market time of its first message
    clock: int | None = None  # the store's clock when the next step began (None: the step is open)


class Pending:
    """The batch: quotes in runs of one struct type, and the steps of market time."""

    __slots__ = ("rows_of", "index", "expect", "runs", "steps", "count")

    def __init__(self, rows_of: dict[str, int], index: Any, expect: int = 4096) -> None:
        self.rows_of, self.index = rows_of, index  # the store's symbol -> row (`columns.row_index`)
        self.expect = expect  # about how many quotes will come: the last batch's count
        self.runs: list[tuple[int, columns_of.Run]] = []  # (first index, run) of each run of one type
        self.steps: list[Step] = []
        self.count = 0

    def add(self, quotes: list[Any], ts: int | None, clock: int | None) -> None:
        """Append one message's quotes (of one struct type); `clock` is the store's clock before it."""
        n = self.count
        steps = self.steps
        if not steps:
            steps.append(Step(n, ts))
        elif ts is not None:
            if steps[-1].ts is None:
                steps[-1].ts = ts
            elif ts - steps[-1].ts >= STEP_MS:
                steps[-1].clock = clock
                steps.append(Step(n, ts))
        if quotes:
            kind = type(quotes[0])
            if not self.runs or self.runs[-1][1].kind is not kind:
                self.runs.append((n, columns_of.Run(kind, _COLUMNS, self.rows_of, self.index, self.expect)))
            self.runs[-1][1].add(quotes)
            self.count += len(quotes)

    def __len__(self) -> int:
        return self.count

    def clocks(self, now: int | None) -> pl.Series:
        """Per quote, the clock at the end of its step (`now` for the open one): the
        market time a quote without a ts of its own is taken to have."""
        ends = [step.start for step in self.steps[1:]] + [self.count]
        times = [(now if step.clock is None else step.clock) or 0 for step in self.steps]
        counts = [end - step.start for step, end in zip(self.steps, ends, strict=True)]
        return pl.Series(list(chain.from_iterable(map(repeat, times, counts))), dtype=pl.Int64)

    def frame(self) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
        """The quotes as one frame, arrival order, with only the fields they carry and,
        first, `row`: the quote's row in the store's frame (null where its symbol has
        none), and (position, symbol) of each quote whose symbol has none. Once."""
        frames, misses = [], []
        for start, run in self.runs:
            columns, missed = run.take()
            frames.append(pl.DataFrame(columns[:1] + [c for c in columns[1:] if c.null_count() < len(c)]))
            misses += [(start + i, symbol) for i, symbol in missed]
        return (frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal")), misses


_COLUMNS = {f: (COLUMN_OF[f], BATCH_SCHEMA[COLUMN_OF[f]]) for f in QUOTE_FIELDS}
