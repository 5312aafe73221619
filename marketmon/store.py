"""The market state: one polars frame of instruments, updated in batches.

The receive loop only calls `merge()`, which folds partial quotes into a
pending dict keyed by symbol. `flush()` (a few times a second, and at every
step of market time during a fast replay) turns the pending quotes into one
batch frame, updates the state frame in one operation, recomputes limit
prices for the rows whose inputs changed, derives the computed columns as
expressions and reports limit crossings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from marketmon.feed.protocol import QUOTE_FIELDS, Quote
from marketmon.market import etf
from marketmon.market.rules import is_st, limit_pct, limits_for
from marketmon.market.symbols import SymbolError, classify

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
}  # fmt: skip
BATCH_SCHEMA = pl.Schema({COLUMN_OF[f]: _WIRE_TYPES[f] for f in QUOTE_FIELDS})

# Columns the store adds: what the symbol says, and what rules derive.
_STATIC = {"exchange": pl.String, "board": pl.String, "tick": pl.Float64}
_DERIVED = {
    "limit_up": pl.Float64, "limit_down": pl.Float64, "limit_pct": pl.Float64,
    "change": pl.Float64, "pct": pl.Float64, "limit_state": pl.String,
    "premium_pct": pl.Float64, "sealed_at": pl.Int64, "broken": pl.Boolean,
}  # fmt: skip
SCHEMA = pl.Schema({**BATCH_SCHEMA, **_STATIC, **_DERIVED})
_POSITION = {name: i for i, name in enumerate(SCHEMA)}

_FIELDS = tuple(f for f in QUOTE_FIELDS if f != "symbol")
# Fields whose change means the limit prices must be worked out again.
_LIMIT_FIELDS = frozenset(("prev_close", "st", "name", "listed", "limit_up", "limit_down", "kind"))


def _derived_columns() -> list[pl.Expr]:
    """Built once: change, pct, premium and limit state as polars expressions."""
    last, prev, half_tick = pl.col("last"), pl.col("prev_close"), pl.col("tick") / 2
    traded = last.is_not_null() & (last > 0) & ~pl.col("suspended").fill_null(False)
    return [
        pl.when(traded).then(last - prev).alias("change"),
        pl.when(traded & (prev > 0)).then((last - prev) / prev * 100).alias("pct"),
        pl.when(traded & (pl.col("iopv") > 0))
        .then((last - pl.col("iopv")) / pl.col("iopv") * 100)
        .alias("premium_pct"),
        # At a limit = the last price is that limit, to the tick.
        pl.when(traded & ((last - pl.col("limit_up")).abs() < half_tick))
        .then(pl.lit("up"))
        .when(traded & ((last - pl.col("limit_down")).abs() < half_tick))
        .then(pl.lit("down"))
        .otherwise(pl.lit(None, pl.String))
        .alias("limit_state"),
    ]


_DERIVE = _derived_columns()

# Indices whose turnover adds up to the whole A-share market: SSE, SZSE, BSE.
A_SHARE_TOTAL = ("000001.SH", "399106.SZ", "899050.BJ")

HISTORY_MINUTES = 24 * 60  # bound on 1-minute bars kept per instrument


@dataclass(slots=True, frozen=True)
class LimitEvent:
    """An instrument reached or left a limit: the raw fact alerts are made of."""

    ts: int
    symbol: str
    name: str
    rule: str  # limit_up, limit_down, limit_up_broken, limit_down_broken
    price: float
    pct: float | None


@dataclass(slots=True)
class Bar:
    minute: int  # epoch minutes
    open: float
    high: float
    low: float
    close: float
    volume: int  # cumulative volume at the bar's close


@dataclass
class FlowState:
    latest: dict[str, Any] | None = None
    series: list[tuple[int, float, float]] = field(default_factory=list)  # ts, SH net, SZ net
    history: list[dict[str, Any]] = field(default_factory=list)


class Store:
    def __init__(self) -> None:
        self.frame = pl.DataFrame(schema=SCHEMA)
        self.trade_date: dt.date | None = None
        self.clock: int | None = None  # market time of the newest message, epoch ms
        self.phases: dict[str, str] = {}
        self.flow = FlowState()
        self.history: dict[str, list[Bar]] = {}
        self.stale = True  # until a feed says otherwise
        self.unknown: set[str] = set()  # symbols the feed or we could not place
        self.version = 0  # bumped by every flush that changed the frame
        self._pending: dict[str, Quote] = {}
        self._pending_since: int | None = None
        self._rows: dict[str, int] = {}  # symbol -> row index in frame

    # receive side ------------------------------------------------------------

    def merge(self, quotes: Iterable[Quote], ts: int | None = None) -> None:
        """Fold partial quotes into the pending batch; last value per field wins."""
        pending = self._pending
        for q in quotes:
            old = pending.get(q.symbol)
            if old is None:
                pending[q.symbol] = q
            else:
                for f in QUOTE_FIELDS:
                    v = getattr(q, f)
                    if v is not None:
                        setattr(old, f, v)
        if ts is not None:
            self.clock = ts if self.clock is None else max(self.clock, ts)
            if self._pending_since is None:
                self._pending_since = ts

    def pending_span(self, ts: int) -> int:
        """Market time covered by the pending batch, in ms."""
        return 0 if self._pending_since is None else ts - self._pending_since

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def set_trade_date(self, text: str | None) -> None:
        if text:
            self.trade_date = dt.date.fromisoformat(text)

    def set_phase(self, market: str, phase: str, ts: int | None) -> None:
        self.phases[market] = phase
        if ts:
            self.clock = ts if self.clock is None else max(self.clock, ts)

    def set_flow(self, southbound: dict[str, dict[str, Any]], top: list[dict[str, Any]], ts: int | None) -> None:
        self.flow.latest = {"southbound": southbound, "top": top, "ts": ts}
        if ts is not None:
            sh = southbound.get("SH", {}).get("net_buy_hkd", 0.0)
            sz = southbound.get("SZ", {}).get("net_buy_hkd", 0.0)
            series = self.flow.series
            if series and series[-1][0] >= ts:
                series[-1] = (ts, sh, sz)  # a resync repeats the latest point
            else:
                series.append((ts, sh, sz))
            del series[:-HISTORY_MINUTES]

    def set_flow_history(self, days: list[dict[str, Any]]) -> None:
        self.flow.history = days

    # flush -------------------------------------------------------------------

    def flush(self) -> list[LimitEvent]:
        """Apply the pending batch to the frame; return the limit crossings it caused."""
        if not self._pending:
            return []
        quotes = self._admit(list(self._pending.values()))
        self._pending = {}
        self._pending_since = None
        if not quotes:
            return []
        rows = [self._rows[q.symbol] for q in quotes]
        before = self.frame.get_column("limit_state").gather(rows).to_list()
        frame, limits_touched = self._scatter(self.frame, quotes, rows)
        if limits_touched:
            frame = self._update_limits(frame, sorted(limits_touched))
        frame = frame.with_columns(_DERIVE)
        events = self._crossings(frame, quotes, rows, before)
        if events:
            frame = self._mark_seals(frame, events)
        self.frame = frame
        self._record_history(quotes)
        self.version += 1
        return events

    def _scatter(self, frame: pl.DataFrame, quotes: list[Quote], rows: list[int]) -> tuple[pl.DataFrame, set[int]]:
        """Write each field's new values into its column at the quotes' rows.

        Positional scatter instead of a join: the store knows every symbol's
        row, so an update costs the values written, not the size of the frame.
        """
        frame = frame.clone()  # shares buffers; replaced columns are new
        limits_touched: set[int] = set()
        for f in _FIELDS:
            values = [getattr(q, f) for q in quotes]
            at = [r for r, v in zip(rows, values, strict=True) if v is not None]
            if not at:
                continue
            if len(at) < len(values):
                values = [v for v in values if v is not None]
            name = COLUMN_OF[f]
            column = frame.get_column(name).clone()
            column.scatter(at, pl.Series(values, dtype=column.dtype))
            frame.replace_column(_POSITION[name], column)
            if f in _LIMIT_FIELDS:
                limits_touched.update(at)
        return frame, limits_touched

    def _admit(self, quotes: list[Quote]) -> list[Quote]:
        """Add rows for new symbols; drop quotes whose symbol we cannot place."""
        new: list[dict[str, Any]] = []
        kept = []
        for q in quotes:
            if q.symbol not in self._rows:
                try:
                    inst = classify(q.symbol)
                except SymbolError:
                    self.unknown.add(q.symbol)
                    continue
                tick = 0.001 if inst.kind in ("etf", "fund") and inst.exchange != "HK" else 0.01
                self._rows[q.symbol] = len(self._rows)
                new.append(
                    {"symbol": q.symbol, "kind": inst.kind, "exchange": inst.exchange,
                     "board": str(inst.board), "tick": tick,
                     "currency": "HKD" if inst.exchange == "HK" else "CNY", "broken": False}
                )  # fmt: skip
            kept.append(q)
        if new:
            self.frame = pl.concat([self.frame, pl.DataFrame(new, schema=SCHEMA)], how="vertical")
        return kept

    def _update_limits(self, frame: pl.DataFrame, rows: list[int]) -> pl.DataFrame:
        """Recompute limit prices, exactly, for the rows whose inputs changed."""
        ups, downs, pcts = [], [], []
        for row in frame[rows].iter_rows(named=True):
            up, down, pct = self._limits(row)
            ups.append(up)
            downs.append(down)
            pcts.append(pct)
        for name, values in (("limit_up", ups), ("limit_down", downs), ("limit_pct", pcts)):
            column = frame.get_column(name).clone()
            column.scatter(rows, pl.Series(values, dtype=pl.Float64))
            frame.replace_column(_POSITION[name], column)
        return frame

    def _limits(self, row: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
        inst = classify(row["symbol"])
        st = row["st"] if row["st"] is not None else is_st(row["name"])
        listed = dt.date.fromisoformat(row["listed"]) if row["listed"] else None
        trade_date = self.trade_date or dt.date.today()
        pct = limit_pct(inst, trade_date=trade_date, st=st, listed=listed)
        up = down = None
        if pct is not None and row["prev_close"]:
            lim = limits_for(inst, Decimal(repr(row["prev_close"])), trade_date=trade_date, st=st, listed=listed)
            if lim is not None:
                up, down = float(lim[0]), float(lim[1])
        # Exchange-published limits win over our arithmetic.
        if row["feed_limit_up"] is not None:
            up = row["feed_limit_up"]
        if row["feed_limit_down"] is not None:
            down = row["feed_limit_down"]
        return up, down, float(pct) if pct is not None else None

    def _crossings(
        self, frame: pl.DataFrame, quotes: list[Quote], rows: list[int], before: list[str | None]
    ) -> list[LimitEvent]:
        """Limit states can only change on the rows the batch touched: compare those."""
        after = frame.get_column("limit_state").gather(rows).to_list()
        moved = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
        if not moved:
            return []
        view = frame[[rows[i] for i in moved]].select("symbol", "name", "ts", "last", "pct")
        events = []
        for i, (symbol, name, ts, price, pct) in zip(moved, view.iter_rows(), strict=True):
            ts = ts or self.clock or 0
            old, new = before[i], after[i]
            if old is not None:
                events.append(LimitEvent(ts, symbol, name or symbol, f"limit_{old}_broken", price, pct))
            if new is not None:
                events.append(LimitEvent(ts, symbol, name or symbol, f"limit_{new}", price, pct))
        events.sort(key=lambda e: e.ts)
        return events

    def _mark_seals(self, frame: pl.DataFrame, events: list[LimitEvent]) -> pl.DataFrame:
        """Remember when each instrument first reached a limit, and whether it broke."""
        sealed_at = frame.get_column("sealed_at").clone()
        broken = frame.get_column("broken").clone()
        for e in events:
            row = self._rows[e.symbol]
            if e.rule.endswith("_broken"):
                broken.scatter([row], [True])
            elif sealed_at[row] is None:
                sealed_at.scatter([row], [e.ts])
        frame.replace_column(_POSITION["sealed_at"], sealed_at)
        frame.replace_column(_POSITION["broken"], broken)
        return frame

    def _record_history(self, quotes: list[Quote]) -> None:
        """Fold the batch's prices into 1-minute bars per instrument."""
        history = self.history
        fallback = self.clock or 0
        for q in quotes:
            price = q.last
            if price is None:
                continue
            minute = (q.ts or fallback) // 60000
            bars = history.get(q.symbol)
            if bars is None:
                bars = history[q.symbol] = []
            if bars and bars[-1].minute == minute:
                bar = bars[-1]
                bar.close = price
                if price > bar.high:
                    bar.high = price
                elif price < bar.low:
                    bar.low = price
                if q.volume is not None:
                    bar.volume = q.volume
            elif not bars or minute > bars[-1].minute:
                prior = bars[-1].volume if bars else 0
                bars.append(Bar(minute, price, price, price, price, q.volume if q.volume is not None else prior))
                if len(bars) > HISTORY_MINUTES:
                    del bars[: len(bars) - HISTORY_MINUTES]

    # reading -----------------------------------------------------------------

    def quote(self, symbol: str) -> dict[str, Any] | None:
        row = self._rows.get(symbol)
        return None if row is None else self.frame.row(row, named=True)

    def a_share_turnover(self) -> float | None:
        totals = self.frame.filter(pl.col("symbol").is_in(A_SHARE_TOTAL))["turnover"].drop_nulls()
        return float(totals.sum()) if len(totals) else None

    def premium(self, symbol: str) -> float | None:
        q = self.quote(symbol)
        return None if q is None else etf.premium_pct(q["last"], q["iopv"])
