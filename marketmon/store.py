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
import functools
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
import polars as pl

from marketmon.feed.protocol import QUOTE_FIELDS, Quote
from marketmon.history import Bar, BarHistory  # noqa: F401  (Bar: re-exported)
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

# Columns whose change means the limit prices must be worked out again.
_LIMIT_COLUMNS = frozenset(("prev_close", "st", "name", "listed", "feed_limit_up", "feed_limit_down", "kind"))


def _batch_frame(quotes: list[Quote]) -> pl.DataFrame:
    """Pending quotes as one frame, in arrival order, with only the fields they carry.

    One C call per quote pulls its fields out; columns that every quote left
    empty (most fields of most deltas) are not built at all.
    """
    columns = zip(*map(msgspec.structs.astuple, quotes), strict=True)
    data = {}
    for name, values in zip(BATCH_SCHEMA, columns, strict=True):
        if values.count(None) != len(values):
            data[name] = pl.Series(name, values, dtype=BATCH_SCHEMA[name])
    return pl.DataFrame(data)


@functools.cache
def _last_values(columns: tuple[str, ...]) -> list[pl.Expr]:
    """Per symbol, the last non-null value of each field (built once per column set)."""
    return [pl.col(c).drop_nulls().last() for c in columns]


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
_DERIVED_NAMES = ["change", "pct", "premium_pct", "limit_state"]

# Indices whose turnover adds up to the whole A-share market: SSE, SZSE, BSE.
A_SHARE_TOTAL = ("000001.SH", "399106.SZ", "899050.BJ")

HISTORY_MINUTES = 24 * 60  # bound on flow points kept
MAX_UNKNOWN = 10_000  # unknown symbols remembered by name; a hostile feed cannot grow this without end


@dataclass(slots=True, frozen=True)
class LimitEvent:
    """An instrument reached or left a limit: the raw fact alerts are made of."""

    ts: int
    symbol: str
    name: str
    rule: str  # limit_up, limit_down, limit_up_broken, limit_down_broken
    price: float
    pct: float | None


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
        self.history = BarHistory()
        self.stale = True  # until a feed says otherwise
        self.unknown: set[str] = set()  # symbols the feed or we could not place (at most MAX_UNKNOWN)
        self.unplaced = 0  # quotes dropped because their symbol could not be placed
        self.version = 0  # bumped by every flush that changed the frame
        self._pending: list[Quote] = []
        self.touched: set[str] = set()  # symbols the last flush changed
        self._pending_received: float | None = None  # monotonic time the batch's first frame came in
        # When the oldest frame flushed since the screen last looked was
        # received: the screen measures tick-to-screen latency from it.
        self._unshown_since: float | None = None
        self._pending_since: int | None = None
        self._rows: dict[str, int] = {}  # symbol -> row index in frame

    # receive side ------------------------------------------------------------

    def merge(self, quotes: list[Quote], ts: int | None = None) -> None:
        """Take partial quotes into the pending batch.

        This is all the receive loop does per message: the per-symbol merge
        (last value of each field wins) happens for the whole batch at once,
        as one vectorised group-by in `flush`.
        """
        if not self._pending:
            self._pending_received = time.monotonic()
        self._pending.extend(quotes)
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

    def note_unknown(self, symbols: list[str]) -> None:
        """Remember symbols that could not be placed, up to MAX_UNKNOWN of them."""
        room = MAX_UNKNOWN - len(self.unknown)
        if room > 0:
            self.unknown.update(symbols[:room])

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
        """Apply the pending batch to the frame; return the limit crossings it caused.

        Work is done on the touched rows only: gather them, merge the batch in,
        recompute limits where their inputs changed, derive the computed
        columns, then scatter the changed columns back by row position.
        """
        if not self._pending:
            return []
        raw = _batch_frame(self._pending)
        self._pending = []
        self._pending_since = None
        if self._unshown_since is None:
            self._unshown_since = self._pending_received
        # Merge per symbol: the last non-null value of every field, in arrival order.
        batch = raw.group_by("symbol", maintain_order=True).agg(_last_values(tuple(raw.columns[1:])))
        rows = self._admit(batch.get_column("symbol").to_list())
        if rows is None:  # some symbols could not be placed: drop them
            batch = batch.filter(pl.col("symbol").is_in(list(self._rows)))
            height = raw.height
            raw = raw.filter(pl.col("symbol").is_in(batch.get_column("symbol").implode()))
            self.unplaced += height - raw.height
            rows = [self._rows[s] for s in batch.get_column("symbol").to_list()]
            if not rows:
                return []
        at = pl.Series(rows, dtype=pl.UInt32)
        self.touched = set(batch.get_column("symbol").to_list())
        old = self.frame[at]
        merged = old.clone()
        changed = list(batch.columns[1:])
        for name in changed:
            new = batch.get_column(name)
            merged.replace_column(_POSITION[name], new.zip_with(new.is_not_null(), old.get_column(name)))
        if _LIMIT_COLUMNS.intersection(changed):
            merged = self._update_limits(merged, batch)
            changed += ["limit_up", "limit_down", "limit_pct"]
        merged = merged.with_columns(_DERIVE)
        changed += _DERIVED_NAMES
        events = self._crossings(old, merged)
        if events:
            merged = self._mark_seals(merged, events)
            changed += ["sealed_at", "broken"]
        frame = self.frame.clone()  # shares buffers; replaced columns are new
        for name in changed:
            column = frame.get_column(name).clone()
            column.scatter(at, merged.get_column(name))
            frame.replace_column(_POSITION[name], column)
        self.frame = frame
        if "last" in raw.columns:
            self.history.record(raw, self.clock or 0)
        self.version += 1
        return events

    def _admit(self, symbols: list[str]) -> list[int] | None:
        """Rows of the batch's symbols, adding rows for new ones; None if some are unknown."""
        rows_of = self._rows
        rows = list(map(rows_of.get, symbols))  # the common case: every symbol known
        if None not in rows:
            return rows  # type: ignore[return-value]
        new: list[dict[str, Any]] = []
        complete = True
        for symbol, row in zip(symbols, rows, strict=True):
            if row is not None or symbol in rows_of:
                continue
            try:
                inst = classify(symbol)
            except SymbolError:
                self.note_unknown([symbol])
                complete = False
                continue
            tick = 0.001 if inst.kind in ("etf", "fund") and inst.exchange != "HK" else 0.01
            rows_of[symbol] = len(rows_of)
            new.append(
                {"symbol": symbol, "kind": inst.kind, "exchange": inst.exchange,
                 "board": str(inst.board), "tick": tick,
                 "currency": "HKD" if inst.exchange == "HK" else "CNY", "broken": False}
            )  # fmt: skip
        if new:
            self.frame = pl.concat([self.frame, pl.DataFrame(new, schema=SCHEMA)], how="vertical")
        return [rows_of[s] for s in symbols] if complete else None

    def _update_limits(self, merged: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
        """Recompute limit prices, exactly, for the rows whose inputs changed."""
        inputs = [c for c in batch.columns if c in _LIMIT_COLUMNS]
        touched = batch.select(pl.any_horizontal(pl.col(c).is_not_null() for c in inputs)).to_series()
        limits: dict[str, list[float | None]] = {"limit_up": [], "limit_down": [], "limit_pct": []}
        for row, hit in zip(merged.iter_rows(named=True), touched, strict=True):
            up, down, pct = self._limits(row) if hit else (row["limit_up"], row["limit_down"], row["limit_pct"])
            limits["limit_up"].append(up)
            limits["limit_down"].append(down)
            limits["limit_pct"].append(pct)
        for name, values in limits.items():
            merged.replace_column(_POSITION[name], pl.Series(name, values, dtype=pl.Float64))
        return merged

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

    def _crossings(self, old: pl.DataFrame, merged: pl.DataFrame) -> list[LimitEvent]:
        """Limit states can only change on the rows the batch touched: compare those."""
        before, after = old.get_column("limit_state"), merged.get_column("limit_state")
        moved = before.ne_missing(after)
        if not moved.any():
            return []
        view = merged.filter(moved).select("symbol", "name", "ts", "last", "pct")
        events = []
        for (symbol, name, ts, price, pct), was, now in zip(
            view.iter_rows(), before.filter(moved), after.filter(moved), strict=True
        ):
            ts = ts or self.clock or 0
            if was is not None:
                events.append(LimitEvent(ts, symbol, name or symbol, f"limit_{was}_broken", price, pct))
            if now is not None:
                events.append(LimitEvent(ts, symbol, name or symbol, f"limit_{now}", price, pct))
        events.sort(key=lambda e: e.ts)
        return events

    def _mark_seals(self, merged: pl.DataFrame, events: list[LimitEvent]) -> pl.DataFrame:
        """Remember when each instrument first reached a limit, and whether it broke."""
        position = {s: i for i, s in enumerate(merged.get_column("symbol").to_list())}
        sealed_at = merged.get_column("sealed_at").clone()
        broken = merged.get_column("broken").clone()
        for e in events:
            i = position[e.symbol]
            if e.rule.endswith("_broken"):
                broken.scatter([i], [True])
            elif sealed_at[i] is None:
                sealed_at.scatter([i], [e.ts])
        merged.replace_column(_POSITION["sealed_at"], sealed_at)
        merged.replace_column(_POSITION["broken"], broken)
        return merged

    # reading -----------------------------------------------------------------

    def take_unshown(self) -> float | None:
        """Monotonic receive time of the oldest data flushed since the last call."""
        since, self._unshown_since = self._unshown_since, None
        return since

    def quote(self, symbol: str) -> dict[str, Any] | None:
        row = self._rows.get(symbol)
        return None if row is None else self.frame.row(row, named=True)

    def a_share_turnover(self) -> float | None:
        totals = self.frame.filter(pl.col("symbol").is_in(A_SHARE_TOTAL))["turnover"].drop_nulls()
        return float(totals.sum()) if len(totals) else None

    def premium(self, symbol: str) -> float | None:
        q = self.quote(symbol)
        return None if q is None else etf.premium_pct(q["last"], q["iopv"])
