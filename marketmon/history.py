"""Bounded intraday history: 1-minute bars per instrument, stored by column.

A full day for 10,000 instruments is about three million bars; as Python
objects that alone would cost over 300 MB, so each instrument keeps six
compact arrays (28 bytes a bar: 32-bit minute, 32-bit floats for the prices,
which only draw charts, 64-bit cumulative volume) and hands out `Bar` tuples
on demand. Money arithmetic never reads bars: limits come from the frame.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
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


class Bars:
    """One instrument's bars, oldest first."""

    __slots__ = ("minute", "open", "high", "low", "close", "volume")

    def __init__(self) -> None:
        self.minute, self.volume = array("i"), array("q")
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
        return Bar(self.minute[i], self.open[i], self.high[i], self.low[i], self.close[i], self.volume[i])

    def __iter__(self) -> Iterator[Bar]:
        return map(Bar, self.minute, self.open, self.high, self.low, self.close, self.volume)

    def add(self, minute: int, o: float, h: float, lo: float, c: float, volume: int | None) -> None:
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
            return
        if n and minute < self.minute[-1]:
            return
        self.minute.append(minute)
        self.open.append(o)
        self.high.append(h)
        self.low.append(lo)
        self.close.append(c)
        self.volume.append(volume if volume is not None else (self.volume[-1] if n else 0))
        if n + 1 > MAX_BARS + _TRIM:
            for column in (self.minute, self.open, self.high, self.low, self.close, self.volume):
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
    pl.col("volume").drop_nulls().last(),
)


class BarHistory:
    """symbol -> bars, filled from each flush's raw quotes.

    Each flush only appends its priced quotes (symbol, minute, last, volume)
    to the rows of the minute in progress, vectorised. When market time
    passes into a new minute, the finished minutes are grouped into bars in
    one polars step and moved into each instrument's arrays: a Python step
    per instrument per minute, not per update or per flush.
    """

    def __init__(self) -> None:
        self._bars: dict[str, Bars] = {}
        self._parts: list[pl.DataFrame] = []  # raw rows of the minute in progress
        self._minute: int | None = None  # the newest minute seen

    def get(self, symbol: str, default: BarsView | list | None = None) -> BarsView | list | None:
        done = self._bars.get(symbol)
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
        """Bars held in all, the minute in progress included."""
        done = sum(len(b) for b in self._bars.values())
        return done + (self._rows().get_column("symbol").n_unique() if self._parts else 0)

    def record(self, quotes: pl.DataFrame, fallback_ts: int) -> None:
        """Add a batch of raw quotes (symbol, last, and ts/volume if present; arrival order)."""
        columns = quotes.columns
        ts = pl.col("ts").fill_null(fallback_ts) if "ts" in columns else pl.lit(fallback_ts, pl.Int64)
        volume = pl.col("volume") if "volume" in columns else pl.lit(None, pl.Int64).alias("volume")
        part = quotes.select("symbol", (ts // 60_000).alias("minute"), "last", volume).filter(
            pl.col("last").is_not_null()
        )
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
        """Close every minute before `newest`: group it into bars, file them away."""
        rows = self._rows()
        current = pl.col("minute") == newest
        finished = (
            rows.lazy()
            .filter(~current)
            .group_by("symbol", "minute", maintain_order=True)
            .agg(_MINUTE_BARS)
            .collect()
        )
        self._parts = [rows.filter(current)]
        self._minute = newest
        series_of = self._bars
        for symbol, minute, o, h, lo, c, volume in finished.iter_rows():
            series = series_of.get(symbol)
            if series is None:
                series = series_of[symbol] = Bars()
            series.add(minute, o, h, lo, c, volume)

    def _open_bar(self, symbol: str) -> Bar | None:
        if not self._parts:
            return None
        mine = self._rows().filter(pl.col("symbol") == symbol)
        if not mine.height:
            return None
        prices = mine.get_column("last")
        volume = mine.get_column("volume").drop_nulls()
        done = self._bars.get(symbol)
        prior = done.volume[-1] if done is not None and len(done) else 0
        return Bar(
            mine.get_column("minute")[0], prices[0], prices.max(), prices.min(), prices[-1],
            volume[-1] if len(volume) else prior,
        )  # fmt: skip
