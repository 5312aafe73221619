"""Bounded intraday history: 1-minute bars per instrument, stored by column.

Each flush appends its priced quotes (instrument id, minute, last, volume)
to the rows of the minute in progress. When market time passes into a new minute,
the finished minutes become bars in one polars step and are kept as one
frame, a "chunk", sorted by instrument: nothing is done per instrument as
the day goes on. An instrument's bars are gathered from the chunks only when
somebody reads them (a chart, a motion alert rule) and kept, so reading a
symbol again only looks at the chunks that came since.

A full day for 10,000 instruments is about three million bars; a chunk
holds them in 36 bytes a bar (32-bit instrument id and minute, 32-bit float
prices, which only draw charts, 64-bit cumulative volume; 36 with the
cumulative turnover as a 32-bit float, which only draws the average-price line). Money arithmetic
never reads bars: limits come from the frame.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from typing import NamedTuple, overload

import polars as pl

MAX_BARS = 24 * 60  # a whole calendar day of minutes: a bound no session reaches
_TRIM = 60  # drop this many at once when over the bound, so trimming is rare


class Bar(NamedTuple):
    minute: int  # epoch minutes
    open: float
    high: float
    low: float
    close: float
    volume: int  # cumulative volume at the bar's close
    turnover: float = 0.0  # cumulative traded amount at the bar's close: turnover / volume is the average price


class Bars:
    """One instrument's bars, oldest first."""

    __slots__ = ("minute", "open", "high", "low", "close", "volume", "turnover")

    def __init__(self) -> None:
        self.minute, self.volume, self.turnover = array("i"), array("q"), array("d")
        self.open, self.high, self.low, self.close = array("f"), array("f"), array("f"), array("f")

    def __len__(self) -> int:
        return len(self.minute)

    @overload
    def __getitem__(self, i: int) -> Bar: ...
    @overload
    def __getitem__(self, i: slice) -> list[Bar]: ...
    def __getitem__(self, i: int | slice) -> Bar | list[Bar]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Bar(self.minute[i], self.open[i], self.high[i], self.low[i], self.close[i], self.volume[i],
                   self.turnover[i])  # fmt: skip

    def __iter__(self) -> Iterator[Bar]:
        return map(Bar, self.minute, self.open, self.high, self.low, self.close, self.volume, self.turnover)

    def add(
        self, minute: int, o: float, h: float, lo: float, c: float, volume: int | None, turnover: float | None = None
    ) -> None:
        """Fold one minute's prices in; a minute older than the newest bar is ignored."""
        n = len(self.minute)
        if n and minute == self.minute[-1]:
            if h > self.high[-1]:
                self.high[-1] = h
            if lo < self.low[-1]:
                self.low[-1] = lo
            self.close[-1] = c
            if volume is not None:
                self.volume[-1] = volume
            if turnover is not None:
                self.turnover[-1] = turnover
            return
        if n and minute < self.minute[-1]:
            return
        self.minute.append(minute)
        self.open.append(o)
        self.high.append(h)
        self.low.append(lo)
        self.close.append(c)
        self.volume.append(volume if volume is not None else (self.volume[-1] if n else 0))
        self.turnover.append(turnover if turnover is not None else (self.turnover[-1] if n else 0.0))
        if n + 1 > MAX_BARS + _TRIM:
            for column in (self.minute, self.open, self.high, self.low, self.close, self.volume, self.turnover):
                del column[:_TRIM]


class BarsView:
    """An instrument's finished bars plus the minute still in progress."""

    __slots__ = ("_done", "_tail")

    def __init__(self, done: Bars | None, tail: Bar | None) -> None:
        self._done, self._tail = done, tail

    def __len__(self) -> int:
        return (len(self._done) if self._done is not None else 0) + (self._tail is not None)

    def __getitem__(self, i: int | slice) -> Bar | list[Bar]:
        if isinstance(i, slice):
            return list(self)[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        if self._tail is not None and i == n - 1:
            return self._tail
        assert self._done is not None
        return self._done[i]

    def __iter__(self) -> Iterator[Bar]:
        if self._done is not None:
            yield from self._done
        if self._tail is not None:
            yield self._tail


_MINUTE_BARS = (
    pl.col("last").first().alias("open"),
    pl.col("last").max().alias("high"),
    pl.col("last").min().alias("low"),
    pl.col("last").last().alias("close"),
    pl.col("volume").last(ignore_nulls=True),
    pl.col("turnover").last(ignore_nulls=True),
)
_PRICES = [pl.col(c).cast(pl.Float32) for c in ("open", "high", "low", "close")]  # after the group-by: cheaper


class _Read:
    """The bars of one instrument read so far, and the next chunk to read."""

    __slots__ = ("bars", "next")

    def __init__(self) -> None:
        self.bars, self.next = Bars(), 0


class BarHistory:
    """symbol -> bars, filled from each flush's raw quotes (see the module's doc).

    Quotes come with their instrument's id (the store's row); `ids` maps a
    symbol to it when bars are read.
    """

    def __init__(self, ids: Mapping[str, int]) -> None:
        self._ids = ids
        self._parts: list[pl.DataFrame] = []  # raw rows of the minute in progress
        self._minute: int | None = None  # the newest minute seen
        # Finished bars: (newest minute in it, chunk sorted by id then minute).
        self._chunks: list[tuple[int, pl.DataFrame]] = []
        self._dropped = 0  # chunks dropped from the front (bounds the day), so reads can tell
        self._read: dict[str, _Read] = {}

    def get(self, symbol: str, default: BarsView | list | None = None) -> BarsView | list | None:
        done = self._done(symbol)
        tail = self._open_bar(symbol)
        if done is None and tail is None:
            return default
        return BarsView(done, tail)

    def __getitem__(self, symbol: str) -> BarsView:
        view = self.get(symbol)
        if view is None:
            raise KeyError(symbol)
        return view  # type: ignore[return-value]

    def __contains__(self, symbol: object) -> bool:
        return self.get(symbol) is not None  # type: ignore[arg-type]

    def count(self) -> int:
        """Bars held in all, the minute in progress included (a late quote's minute may count twice)."""
        done = sum(chunk.height for _, chunk in self._chunks)
        return done + (self._rows().get_column("id").n_unique() if self._parts else 0)

    def record(self, quotes: pl.DataFrame, fallback_ts: int | pl.Series) -> None:
        """Add a batch of raw quotes (row: the instrument's id, last, and ts/volume if present;
        arrival order); a quote without a ts is placed at `fallback_ts` (one for all, or one per quote)."""
        columns = quotes.columns
        fallback = pl.lit(fallback_ts, pl.Int64)
        ts = pl.col("ts").fill_null(fallback) if "ts" in columns else fallback
        volume = pl.col("volume") if "volume" in columns else pl.lit(None, pl.Int64).alias("volume")
        turnover = pl.col("turnover") if "turnover" in columns else pl.lit(None, pl.Float64).alias("turnover")
        part = quotes.select(pl.col("row").alias("id"), (ts // 60_000).alias("minute"), "last", volume, turnover)
        if part.get_column("last").null_count():
            part = part.filter(pl.col("last").is_not_null())
        if not part.height:
            return
        self._parts.append(part)
        newest = part.get_column("minute").max()
        if self._minute is None:
            self._minute = newest
        elif newest > self._minute:
            self._roll(newest)

    def _rows(self) -> pl.DataFrame:
        if len(self._parts) > 1:
            self._parts = [pl.concat(self._parts, rechunk=False)]
        return self._parts[0]

    def _roll(self, newest: int) -> None:
        """Close every minute before `newest`: group it into bars, keep them as one chunk."""
        rows = self._rows()
        current = pl.col("minute") == newest
        finished = (  # eager: polars' lazy group-by measured twice as slow here
            rows.filter(~current)
            .group_by("id", "minute")
            .agg(_MINUTE_BARS)
            .select("id", pl.col("minute").cast(pl.Int32), *_PRICES, "volume", pl.col("turnover").cast(pl.Float32))
            .sort("id", "minute")
        )
        self._parts = [rows.filter(current)]
        self._minute = newest
        if finished.height:
            self._chunks.append((int(finished.get_column("minute").max()), finished))
        while self._chunks and self._chunks[0][0] <= newest - MAX_BARS:  # older than a whole day: bound memory
            self._chunks.pop(0)
            self._dropped += 1

    def _done(self, symbol: str) -> Bars | None:
        """The symbol's finished bars, reading only the chunks added since it was last read."""
        key = self._ids.get(symbol)
        if key is None:
            return None
        read = self._read.get(symbol)
        if read is None:
            read = self._read[symbol] = _Read()
        start = max(read.next - self._dropped, 0)
        for _, chunk in self._chunks[start:]:
            ids = chunk.get_column("id")
            lo, hi = ids.search_sorted(key, "left"), ids.search_sorted(key, "right")
            if hi > lo:
                for bar in chunk.slice(lo, hi - lo).iter_rows():
                    read.bars.add(*bar[1:])
        read.next = self._dropped + len(self._chunks)
        return read.bars if len(read.bars) else None

    def _open_bar(self, symbol: str) -> Bar | None:
        if not self._parts:
            return None
        key = self._ids.get(symbol)
        if key is None:
            return None
        mine = self._rows().filter(pl.col("id") == key)
        if not mine.height:
            return None
        prices = mine.get_column("last")
        volume = mine.get_column("volume").drop_nulls()
        turnover = mine.get_column("turnover").drop_nulls()
        done = self._done(symbol)
        prior = done.volume[-1] if done is not None and len(done) else 0
        prior_turnover = done.turnover[-1] if done is not None and len(done) else 0.0
        return Bar(
            mine.get_column("minute")[0], prices[0], prices.max(), prices.min(), prices[-1],
            volume[-1] if len(volume) else prior, turnover[-1] if len(turnover) else prior_turnover,
        )  # fmt: skip
