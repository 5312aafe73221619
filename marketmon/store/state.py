"""The market state: one polars frame of instruments, updated in batches.

The receive loop only calls `merge()`, which appends decoded quotes to the
pending batch (`pending_batch.py`). `flush()` turns the batch into one frame,
updates the state frame in one operation per column, recomputes limit
prices for the rows whose inputs changed, derives the computed columns as
expressions and reports limit crossings. A batch spanning several steps of
market time is applied in as few parts as exactness allows (`flush_cuts.py`).
"""

from __future__ import annotations

import datetime as dt
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace, field
from decimal import Decimal
from typing import Any

import polars as pl

from marketmon.feed.sink import add_unknown
from marketmon.market import etf
from marketmon.market.southbound import amounts as southbound_amounts
from marketmon.market.rules import is_st, limit_pct, limits_for, tick_size
from marketmon.market.symbols import Board, SymbolError, classify
from marketmon.store import columns, few_rows, flush_cuts
from marketmon.store.bars import Bar, BarHistory  # noqa: F401  (Bar: re-exported)
from marketmon.store.pending_batch import BATCH_SCHEMA, COLUMN_OF, Pending  # noqa: F401  (COLUMN_OF: re-exported)

# Columns the store adds: what the symbol says, and what rules derive.
_STATIC = {"exchange": pl.String, "board": pl.String, "tick": pl.Float64}
_DERIVED = {
    "limit_up": pl.Float64, "limit_down": pl.Float64, "limit_pct": pl.Float64,
    "change": pl.Float64, "pct": pl.Float64, "limit_state": pl.String,
    "premium_pct": pl.Float64, "sealed_at": pl.Int64, "broken": pl.Boolean,
    "last_sealed_at": pl.Int64, "opens": pl.Int64,  # the ladder's last seal time and 炸板次数 (store/ladder.py)
}  # fmt: skip
SCHEMA = pl.Schema({**BATCH_SCHEMA, **_STATIC, **_DERIVED})
_POSITION = {name: i for i, name in enumerate(SCHEMA)}

# Columns whose change means the limit prices must be worked out again.
_LIMIT_COLUMNS = frozenset(("prev_close", "st", "name", "listed", "feed_limit_up", "feed_limit_down", "kind"))


def _scatter(column: pl.Series, where: pl.Series, new: pl.Series) -> pl.Series:
    """`column` with `new` written at the rows `where` (one row given twice: the later value wins)."""
    if isinstance(column.dtype, pl.Array):  # polars cannot scatter into an array column (a book): gather instead
        n = len(column)
        at = pl.int_range(0, n, eager=True, dtype=pl.UInt32)
        at.scatter(where, pl.int_range(n, n + len(new), eager=True, dtype=pl.UInt32))
        return pl.concat([column, new.cast(column.dtype)]).gather(at)
    column = column.clone()
    column.scatter(where, new)
    return column


def _busy(rows: pl.Series, flags: pl.Series) -> pl.Series | None:
    """Per quote: is its row one with a flagged quote? None when that is all rows or none:
    then the parts apply every quote (splitting would only cost)."""
    flagged = rows.filter(flags).drop_nulls().unique()
    if not len(flagged):
        return None
    busy = rows.is_in(flagged.implode()).fill_null(False)
    return None if busy.all() else busy


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
# What deriving, limit crossings and seals read of a row.
_DERIVE_FROM = ("symbol", "name", "ts", "last", "prev_close", "iopv", "suspended", "tick", "limit_up", "limit_down",
                "limit_state", "sealed_at", "broken", "last_sealed_at", "opens")  # fmt: skip
_DERIVED_NAMES = ["change", "pct", "premium_pct", "limit_state"]

# Indices whose turnover adds up to the whole A-share market: SSE, SZSE, BSE.
A_SHARE_TOTAL = ("000001.SH", "399106.SZ", "899050.BJ")

HISTORY_MINUTES = 24 * 60  # bound on flow points kept


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


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    state: str  # "up" or "down"
    detail: str
    ts: int | None


class Store:
    """The market state; the `QuoteSink` (feed/sink.py) of a screen or of `watch`."""

    def __init__(self) -> None:
        self.frame = pl.DataFrame(schema=SCHEMA)
        self.trade_date: dt.date | None = None
        self.clock: int | None = None  # market time of the newest message, epoch ms
        self.phases: dict[str, str] = {}
        self.flow = FlowState()
        self._rows: dict[str, int] = {}  # symbol -> row index in frame
        self._index = columns.row_index()  # the same, for the column pass (None: it uses _rows)
        self._symbols: list[str] = []  # row index -> symbol
        self.history = BarHistory(self._rows)
        self._tripwire = flush_cuts.Tripwire()  # where a flush must cut a batch of many steps
        self.stale = True  # until a feed says otherwise
        self.unknown: set[str] = set()  # symbols the feed or we could not place (at most MAX_UNKNOWN)
        self.unplaced = 0  # quotes dropped because their symbol could not be placed
        self.unclassified = 0  # rows of a code whose prefix the rules do not know (board "other")
        self.first_unclassified: str | None = None
        self.source: SourceHealth | None = None  # the bridge's public source, when the feed is one
        # The A-share turnover of the day before by minute of the day, when marketmon knows it
        # (config/day_record.py): breadth compares today's with it at the same minute.
        self.previous_turnover: dict[int, float] = {}
        self.version = 0  # bumped by every flush that changed the frame
        self.names = "en"  # the name shown and put in alerts: "en" (name_en where sent) or "zh" (the feed's name)
        self._pending = Pending(self._rows, self._index)
        self._touched: pl.Series = pl.Series(dtype=pl.UInt32)  # rows the last flush (or part of one) changed
        self._pending_received: float | None = None  # monotonic time the batch's first frame came in
        # When the oldest frame flushed since the screen last looked was
        # received: the screen measures tick-to-screen latency from it.
        self._unshown_since: float | None = None

    # receive side ------------------------------------------------------------

    def merge(self, quotes: Sequence[Any], ts: int | None = None) -> None:
        """Take partial quotes (Quote or Tick structs) into the pending batch.

        This is all the receive loop does per message: the merge (last value
        of each field wins) happens for the whole batch at once, in `flush`.
        """
        if not len(self._pending):
            self._pending_received = time.monotonic()
        self._pending.add(quotes, ts, self.clock)
        if ts is not None:
            self.clock = ts if self.clock is None else max(self.clock, ts)

    @property
    def touched(self) -> set[str]:
        """The symbols the last flush (or part of one) changed."""
        return set(map(self._symbols.__getitem__, self._touched.to_list()))

    def touched_among(self, symbols: Iterable[str]) -> set[str]:
        """Those of these symbols that the last flush (or part of one) changed."""
        rows = {self._rows[s]: s for s in symbols if s in self._rows}
        if len(rows) * 8 < len(self._touched):  # a few watched names in a big part: look each up
            hit = self._touched.is_in(pl.Series(list(rows), dtype=pl.UInt32).implode())
            return {rows[r] for r in self._touched.filter(hit).to_list()}
        return {rows[r] for r in self._touched.to_list() if r in rows}

    @property
    def has_pending(self) -> bool:
        return len(self._pending) > 0

    def note_unknown(self, symbols: list[str]) -> None:
        """Remember symbols that could not be placed, up to MAX_UNKNOWN of them."""
        add_unknown(self.unknown, symbols)

    def set_trade_date(self, text: str | None, tz: str | None = None) -> None:
        # tz: the market's own (Asia/Shanghai, UTC+8 as Hong Kong): the store keeps none.
        if text:
            self.trade_date = dt.date.fromisoformat(text)

    def set_phase(self, market: str, phase: str, ts: int | None) -> None:
        self.phases[market] = phase
        if ts:
            self.clock = ts if self.clock is None else max(self.clock, ts)

    def listed_pairs(self) -> list[tuple[str, str, str | None]]:
        """(A, H, name) of the A/H pairs the feed named (`ah_pair`), for ah_pairs.with_listed."""
        rows = self.frame.filter(pl.col("ah_pair").is_not_null()).select("symbol", "ah_pair", self.shown_name())
        return list(rows.iter_rows())

    def set_flow(self, southbound: dict[str, dict[str, Any]], top: list[dict[str, Any]], ts: int | None) -> None:
        self.flow.latest = {"southbound": southbound, "top": top, "ts": ts}
        if ts is not None:
            sh = southbound_amounts(southbound.get("SH") or {})[1] or 0.0
            sz = southbound_amounts(southbound.get("SZ") or {})[1] or 0.0
            series = self.flow.series
            if series and series[-1][0] >= ts:
                series[-1] = (ts, sh, sz)  # a resync repeats the latest point
            else:
                series.append((ts, sh, sz))
            del series[:-HISTORY_MINUTES]

    def set_flow_history(self, days: list[dict[str, Any]]) -> None:
        self.flow.history = days

    def set_source(self, name: str, state: str, detail: str, ts: int | None) -> None:
        self.source = SourceHealth(name, state, detail, ts)

    # flush -------------------------------------------------------------------

    def flush(self) -> list[LimitEvent]:
        """Apply the pending batch to the frame; return the limit crossings it caused."""
        return [event for events in self.flush_parts() for event in events]

    def flush_parts(self, guard: Callable[[], flush_cuts.Guard] | None = None) -> Iterator[list[LimitEvent]]:
        """Apply the pending batch in parts; yield each part's limit crossings.

        A part ends only after a step of market time that could change a
        limit state, a limit, or (by `guard`, asked before each cut) an alert
        rule's state, so the parts give the events of a flush per step, with
        the store's clock as it was at the end of each. The caller looks at
        each part (alert rules) before the next is applied, and must consume
        the whole iterator: the pending batch is taken at the first step.
        """
        pending = self._pending
        self._pending = Pending(self._rows, self._index, max(4096, len(pending)))
        if not len(pending):
            return
        if self._unshown_since is None:
            self._unshown_since = self._pending_received
        raw = self._place(pending)
        rows = raw.get_column("row")
        clock, done = self.clock, 0
        # Bars place a quote without a ts at its step's time, as a flush per step did.
        untimed = "ts" not in raw.columns or raw.get_column("ts").null_count() > 0
        clocks = pending.clocks(clock) if untimed else None
        starts = [step.start for step in pending.steps]
        flags: pl.Series | None = None  # per quote: could it change something (tripwire)?
        busy: pl.Series | None = None  # per quote: is it of a row that some quote of the batch could change?
        # Bars are read in a flush only by rules on them (fast move, volume spike): without
        # one, the whole batch goes into the bars at once, as part by part would give.
        bars_by_part = guard is not None and guard().reads_bars
        if not bars_by_part:
            self._record_bars(raw, clocks)
        if starts[-1] > 0:
            flags = self._flags(raw, rows, None, 0, guard)
            busy = _busy(rows, flags)
        # The parts apply the quotes that can change something: all of them, or only the
        # busy rows' (`at`: their positions in the batch; the quiet rows' come at the end).
        view, view_rows, at = raw, rows, None
        if busy is not None:
            assert flags is not None
            view, flags, at = raw.filter(busy), flags.filter(busy), busy.arg_true().to_list()
            view_rows = view.get_column("row")
        v = 0  # the view's first quote at or after `done`
        single = 0  # parts in a row that were one step: when every step counts, checking costs more than it saves
        while done < raw.height:
            cut = len(starts)  # the part ends before this step (len: at the end)
            if starts[-1] > done:  # more than one step left: cut after the first that could change something
                after = bisect_right(starts, done)  # the step after the one the part begins in
                if single < 2:
                    if done:
                        flags = self._flags(view, view_rows, flags, v, guard)
                    assert flags is not None
                    first = flags.slice(v).arg_true()
                    if len(first):
                        flagged = v + first[0] if at is None else at[v + first[0]]
                        cut = bisect_right(starts, flagged)
                else:  # a part per step, as a flush per step did
                    cut = after
                single = single + 1 if cut == after else 0
            end = starts[cut] if cut < len(starts) else raw.height
            ended = pending.steps[cut - 1].clock
            self.clock = clock if ended is None else ended  # as a flush at the step's end saw it
            v_end = end if at is None else bisect_left(at, end)
            events = self._apply(view[v:v_end], view_rows[v:v_end])
            if bars_by_part:
                self._record_bars(raw[done:end], None if clocks is None else clocks[done:end])
            done, v = end, v_end
            yield events
        self.clock = clock
        if busy is not None:
            # The quiet rows' quotes, all at once: no quote of theirs crossed a band (nor
            # could their bands move, that takes a quote of theirs), so they give no event.
            events = self._apply(raw.filter(~busy), rows.filter(~busy))
            assert not events, events
            yield events

    def _flags(
        self, raw: pl.DataFrame, rows: pl.Series, flags: pl.Series | None, done: int,
        guard: Callable[[], flush_cuts.Guard] | None,
    ) -> pl.Series:
        """The tripwire's flags for the quotes from `done` on, against the frame as it is now.

        Worked out once per flush; after a part, redone only for the quotes of
        rows whose bands moved (a limit state, a rule's arming, a new prev_close).
        """  # fmt: skip
        moved = self._tripwire.update(self.frame, self._rows, guard() if guard else None)
        if flags is None or moved is None:
            return self._tripwire.changes(raw, rows)
        if len(moved):
            if len(rows) - done <= 4 * few_rows.SMALL:  # few quotes left: a Python scan beats `is_in`
                rows_moved = set(moved.to_list())
                hits = [i for i, r in enumerate(rows.slice(done).to_list(), done) if r in rows_moved]
                at = pl.Series(hits, dtype=pl.UInt32)
            else:
                at = rows.slice(done).is_in(moved.implode()).arg_true() + done
            if len(at):
                flags = flags.clone()
                flags.scatter(at, self._tripwire.changes(raw[at], rows[at]))
        return flags

    def _place(self, pending: Pending) -> pl.DataFrame:
        """The batch as a frame whose `row` is each quote's row in the frame, adding rows
        for new symbols; null for a quote whose symbol cannot be placed."""
        raw, misses = pending.frame()
        if misses:
            self._add_rows([s for s in dict.fromkeys(symbol for _, symbol in misses) if s not in self._rows])
            placed = [(i, self._rows[s]) for i, s in misses if s in self._rows]
            if placed:
                rows = raw.get_column("row").clone()
                rows.scatter([i for i, _ in placed], pl.Series([row for _, row in placed], dtype=pl.UInt32))
                raw = raw.with_columns(rows)
        return raw

    def _apply(self, raw: pl.DataFrame, rows: pl.Series) -> list[LimitEvent]:
        """Apply raw quotes (arrival order, and their rows) to the frame.

        Each field is scattered into its column by row, in arrival order, so
        the last non-null value wins. Then, on the touched rows only: recompute
        limits where their inputs changed, derive the computed columns, compare
        limit states, and scatter the derived columns back.
        """
        if rows.null_count():  # quotes for symbols that could not be placed: dropped, counted
            placed = rows.is_not_null()
            self.unplaced += rows.null_count()
            raw, rows = raw.filter(placed), rows.filter(placed)
        if not raw.height:
            self._touched = pl.Series(dtype=pl.UInt32)
            return []
        fields = [c for c in raw.columns if c != "row"]
        frame = self.frame.clone()  # shares buffers; replaced columns are new
        few = raw.height <= few_rows.SMALL
        for name in fields:
            new = raw.get_column(name)
            if new.null_count():
                if few and not isinstance(new.dtype, pl.Array):  # a book's cells are slow as Python lists
                    new, where = few_rows.given(new, rows)
                else:
                    given = new.is_not_null()
                    new, where = new.filter(given), rows.filter(given)
            else:
                where = rows
            column = _scatter(frame.get_column(name), where, new)
            frame.replace_column(_POSITION[name], column)
        at = few_rows.row_order(rows) if few else rows.unique().sort()  # touched rows, in row order
        old = self.frame[at, ["symbol", "limit_state"]]
        self._touched = at
        changed = []
        inputs = _LIMIT_COLUMNS.intersection(fields)
        if inputs:  # rare (snapshots, new listings): whole rows, limits worked out in Python
            hit = raw.select(pl.any_horizontal(pl.col(c).is_not_null() for c in inputs)).to_series()
            hit_rows = pl.repeat(False, frame.height, eager=True).scatter(rows.filter(hit), True)
            merged = self._update_limits(frame[at], hit_rows[at])
            changed += ["limit_up", "limit_down", "limit_pct"]
        else:
            merged = frame[at, list(_DERIVE_FROM)]
        merged = few_rows.derive(merged) if len(at) <= few_rows.SMALL else merged.with_columns(_DERIVE)
        changed += _DERIVED_NAMES
        events = self._crossings(old, merged)
        if events and self.names == "en":  # alerts name an instrument as the screen does
            name_en = frame.get_column("name_en")
            events = [replace(e, name=name_en[self._rows[e.symbol]] or e.name) for e in events]
        if events:
            merged = self._mark_seals(merged, events)
            changed += ["sealed_at", "broken", "last_sealed_at", "opens"]
        if events or inputs:
            self._tripwire.limits_moved()
        for name in ("prev_close", "iopv"):  # the alert bands are prices off these
            if name in fields:
                self._tripwire.prices_moved(rows.filter(raw.get_column(name).is_not_null()).unique().to_list())
        for name in changed:
            column = frame.get_column(name).clone()
            column.scatter(at, merged.get_column(name))
            frame.replace_column(_POSITION[name], column)
        self.frame = frame
        self.version += 1
        return events

    def _record_bars(self, raw: pl.DataFrame, clocks: pl.Series | None) -> None:
        """Add priced quotes to the bars (a quote without a ts at `clocks`, or the clock)."""
        if "last" not in raw.columns:
            return
        if raw.get_column("row").null_count():
            placed = raw.get_column("row").is_not_null()
            raw, clocks = raw.filter(placed), None if clocks is None else clocks.filter(placed)
        self.history.record(raw, (self.clock or 0) if clocks is None else clocks)

    def _add_rows(self, symbols: list[str]) -> bool:
        """Add a row for each new symbol that can be placed; remember the others. Whether any was added."""
        new: list[dict[str, Any]] = []
        for symbol in symbols:
            try:
                inst = classify(symbol)
            except SymbolError:
                self.note_unknown([symbol])
                continue
            tick = 0.01 if inst.exchange == "HK" else float(tick_size(inst))
            if inst.board is Board.OTHER:  # kept and shown; limits only if the feed sends them
                self.unclassified += 1
                self.first_unclassified = self.first_unclassified or symbol
            self._rows[symbol] = row = len(self._rows)
            if self._index is not None:
                self._index.add(symbol, row)
            self._symbols.append(symbol)
            new.append(
                {"symbol": symbol, "kind": inst.kind, "exchange": inst.exchange,
                 "board": str(inst.board), "tick": tick,
                 "currency": "HKD" if inst.exchange == "HK" else "CNY", "broken": False}
            )  # fmt: skip
        if new:
            self.frame = pl.concat([self.frame, pl.DataFrame(new, schema=SCHEMA)], how="vertical")
            self._tripwire.limits_moved()
        return bool(new)

    def _update_limits(self, merged: pl.DataFrame, touched: pl.Series) -> pl.DataFrame:
        """Recompute limit prices, exactly, for the rows whose inputs changed (`touched`)."""
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
        """Limit states can only change on the rows the batch touched: compare those.

        Events are in time order, and at one time in the frame's row order (the
        touched rows come in it), which does not depend on how the flush was cut."""
        before, after = old.get_column("limit_state"), merged.get_column("limit_state")
        moved = few_rows.moved(before, after) if len(before) <= few_rows.SMALL else before.ne_missing(after)
        if not moved.any():
            return []
        view = merged.select("symbol", "name", "ts", "last", "pct").with_columns(was=before, now=after).filter(moved)
        events = []
        for symbol, name, ts, price, pct, was, now in view.iter_rows():
            ts = ts or self.clock or 0
            if was is not None:
                events.append(LimitEvent(ts, symbol, name or symbol, f"limit_{was}_broken", price, pct))
            if now is not None:
                events.append(LimitEvent(ts, symbol, name or symbol, f"limit_{now}", price, pct))
        events.sort(key=lambda e: e.ts)
        return events

    def _mark_seals(self, merged: pl.DataFrame, events: list[LimitEvent]) -> pl.DataFrame:
        """Remember when each instrument first and last reached a limit, whether it broke
        and how often (the board opened: 炸板次数)."""
        position = {s: i for i, s in enumerate(merged.get_column("symbol").to_list())}
        sealed_at = merged.get_column("sealed_at").clone()
        last_sealed = merged.get_column("last_sealed_at").clone()
        broken = merged.get_column("broken").clone()
        opens = merged.get_column("opens").clone()
        for e in events:
            i = position[e.symbol]
            if e.rule.endswith("_broken"):
                broken.scatter([i], [True])
                opens.scatter([i], [(opens[i] or 0) + 1])
            else:
                last_sealed.scatter([i], [e.ts])
                if sealed_at[i] is None:
                    sealed_at.scatter([i], [e.ts])
        return merged.with_columns(sealed_at, broken, last_sealed, opens)

    # reading -----------------------------------------------------------------

    def take_unshown(self) -> float | None:
        """Monotonic receive time of the oldest data flushed since the last call."""
        since, self._unshown_since = self._unshown_since, None
        return since

    def rows_of(self, symbols: Iterable[str], columns: Sequence[str]) -> pl.DataFrame:
        """These columns of the rows of these symbols (those the frame has), in row order;
        `name` is the name shown (`shown_name`)."""
        at = sorted({self._rows[s] for s in symbols if s in self._rows})
        return self.frame[at].select(self.shown_name() if c == "name" else c for c in columns)

    def quote(self, symbol: str) -> dict[str, Any] | None:
        """The instrument's row; `name` is the name shown, the feed's own is `name_zh`."""
        row = self._rows.get(symbol)
        if row is None:
            return None
        q = self.frame.row(row, named=True)
        q["name_zh"] = q["name"]
        if self.names == "en":
            q["name"] = q["name_en"] or q["name"]
        return q

    def shown_name(self) -> pl.Expr:
        """The `name` column as the screen shows it: the English name where the feed
        sends one (`names` "en"), else the feed's own name (Chinese from Chinese sources)."""
        if self.names == "en":
            return pl.coalesce("name_en", "name").alias("name")
        return pl.coalesce("name", "name_en").alias("name")

    def set_names(self, which: str) -> None:
        """Show English ("en") or the feed's own, Chinese ("zh") names."""
        if which not in ("en", "zh"):
            raise ValueError(f"names are 'en' or 'zh', not {which!r}")
        if which != self.names:
            self.names = which
            self.version += 1  # every panel draws its names again

    def a_share_turnover(self) -> float | None:
        totals = self.frame.filter(pl.col("symbol").is_in(A_SHARE_TOTAL))["turnover"].drop_nulls()
        return float(totals.sum()) if len(totals) else None

    def premium(self, symbol: str) -> float | None:
        q = self.quote(symbol)
        return None if q is None else etf.premium_pct(q["last"], q["iopv"])
