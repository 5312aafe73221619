"""Where a flush must cut the pending batch so that no event is lost.

Flushing at every step of market time sees every state the market passed
through: a stock that touches its limit in one step and leaves it in the
next gives a seal and a break. But most steps change nothing that anybody
watches, and a flush has a fixed cost, so the store merges steps and cuts
the batch only after a step in which some quote could change

- a limit state: its last price leaves the band in which the instrument's
  limit state stays what it is (not at a limit: strictly between the
  limits, half a tick off; at a limit: within half a tick of it),
- the limit prices or tradedness (a quote carrying prev_close, name, st,
  listed, kind, feed limits, or suspended),
- an alert rule's state: its price leaves the `Band` of pct and premium
  the alert engine draws around each watched symbol (rules that look at
  bars or volume count every quote; premium rules, every new IOPV).

A step that changes none of these produces no event when flushed alone and
leaves every rule as it was; merged with the steps after it, it gives the
same events they give alone. So the cut batch yields exactly the events of
a flush per step. The bands are kept as prices per row of the frame,
shrunk by a margin far above float rounding, so "quiet" is never wrong;
a quote then costs a gather by row and a comparison. The bands are
recomputed only where they can have moved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from marketmon.store import few_rows

# Quote fields whose arrival may move the limit prices or the tradedness.
RARE = ("prev_close", "st", "name", "listed", "feed_limit_up", "feed_limit_down", "kind", "suspended")


@dataclass(frozen=True, slots=True)
class Band:
    """Where a symbol's pct and premium may go without changing any alert rule's state."""

    pct_lo: float = -math.inf  # exclusive bounds
    pct_hi: float = math.inf
    premium_lo: float = -math.inf
    premium_hi: float = math.inf
    every_quote: bool = False  # rules on more than these values (bars, volume): any quote counts
    watch_iopv: bool = False  # premium rules: a new IOPV counts


@dataclass(frozen=True, slots=True)
class Guard:
    """The alert rules' bands: per symbol, and `default` for every other symbol (None: no rules)."""

    bands: dict[str, Band] = field(default_factory=dict)
    default: Band | None = None

    def band(self, symbol: str) -> Band:
        return self.bands.get(symbol) or self.default or _UNBOUND

    @property
    def reads_bars(self) -> bool:
        """Whether a rule reads bars or volume: then a flush must keep bars up to date part by part."""
        return (self.default is not None and self.default.every_quote) or any(
            b.every_quote for b in self.bands.values()
        )


_UNBOUND = Band()
_ALERT_COLUMNS = {"_alo": pl.Float64, "_ahi": pl.Float64, "every_quote": pl.Boolean, "watch_iopv": pl.Boolean}


class Tripwire:
    """The bands of one store's frame, as prices per row, and the quotes that cross them."""

    def __init__(self) -> None:
        self._limits: pl.DataFrame | None = None  # _lo, _hi per row
        self._limits_moved = True
        self._alerts: pl.DataFrame | None = None  # _alo, _ahi, every_quote, watch_iopv per row; None: no rules
        self._guard: Guard | None = None  # what _alerts was made from
        self._moved_prices: set[int] = set()  # rows whose prev_close or IOPV moved since

    # what the store reports ---------------------------------------------------------

    def limits_moved(self) -> None:
        """A limit state or limit price changed, or rows were added."""
        self._limits_moved = True

    def prices_moved(self, rows: list[int]) -> None:
        """These rows got a new prev_close or IOPV (the alert bands are prices off them)."""
        self._moved_prices.update(rows)

    # -------------------------------------------------------------------------------

    def update(self, frame: pl.DataFrame, rows_of: Mapping[str, int], guard: Guard | None) -> pl.Series | None:
        """Bring the bands up to date; return the rows whose bands may have moved (None: any)."""
        moved: list[pl.Series] = []
        everything = False
        if self._limits_moved or self._limits is None or self._limits.height != frame.height:
            before, self._limits, self._limits_moved = self._limits, _limit_band(frame), False
            if before is None or before.height != frame.height:
                everything = True
            else:
                differs = pl.any_horizontal(pl.col(c).ne_missing(before.get_column(c)) for c in ("_lo", "_hi"))
                moved.append(self._limits.select(differs).to_series().arg_true())
        if guard is None or (not guard.bands and guard.default is None):
            everything = everything or self._alerts is not None
            self._alerts = None
        elif (
            self._alerts is None or self._guard is None or self._alerts.height != frame.height
            or guard.default != self._guard.default
        ):  # fmt: skip
            if guard.default is None:  # rules on watchlists: their rows, every other row unbound
                self._alerts = _unbound(frame.height)
                rows = {rows_of[s]: b for s, b in guard.bands.items() if s in rows_of}
            else:  # rules on every symbol
                self._alerts = _unbound(0)
                rows = {i: guard.band(s) for i, s in enumerate(frame.get_column("symbol").to_list())}
            self._alerts = _set_bands(self._alerts, frame, rows)
            everything = True
        else:
            rows = {}
            if guard is not self._guard:  # a rule fired or re-armed: those symbols only
                old = self._guard.bands
                # A guard keeps the Band objects of symbols whose rules did not move: compare by identity.
                changed = {s for s, b in guard.bands.items() if old.get(s) is not b} | (old.keys() - guard.bands.keys())
                rows = {rows_of[s]: guard.band(s) for s in changed if s in rows_of}
            if self._moved_prices:
                symbols = frame.get_column("symbol").gather(sorted(self._moved_prices)).to_list()
                rows.update((rows_of[s], guard.band(s)) for s in symbols)
            if rows:
                self._alerts = _set_bands(self._alerts, frame, rows)
                moved.append(pl.Series(list(rows), dtype=pl.UInt32))
        self._guard = guard
        self._moved_prices.clear()
        if everything:
            return None
        return pl.concat(moved) if moved else pl.Series(dtype=pl.UInt32)

    def changes(self, quotes: pl.DataFrame, rows: pl.Series) -> pl.Series:
        """Per quote (at `rows` of the frame; null: not placed, changes nothing): whether it
        could change a limit state, a limit or an alert rule's state. After `update`."""
        assert self._limits is not None
        if quotes.height <= few_rows.SMALL:
            return self._changes_small(quotes, rows)
        columns = quotes.columns
        rare = [pl.col(c).is_not_null() for c in RARE if c in columns]
        last = pl.col("last") if "last" in columns else pl.lit(None, pl.Float64)
        # with_columns, not select: a literal must take the batch's height (a batch of
        # volume-only quotes has no column these read, and select would give one row).
        flags = quotes.with_columns(
            last.alias("_last"),
            (pl.any_horizontal(rare) if rare else pl.lit(False)).alias("_rare"),
            (pl.col("iopv").is_not_null() if "iopv" in columns else pl.lit(False)).alias("_new_iopv"),
        ).select("_last", "_rare", "_new_iopv").hstack(self._limits[rows])
        last = pl.col("_last")
        change = pl.col("_rare") | (last.is_not_null() & ~((last > pl.col("_lo")) & (last < pl.col("_hi"))))
        if self._alerts is not None:
            flags = flags.hstack(self._alerts[rows])
            change = (
                change
                | pl.col("every_quote")
                | (pl.col("_new_iopv") & pl.col("watch_iopv"))
                | (last.is_not_null() & ~((last > pl.col("_alo")) & (last < pl.col("_ahi"))))
            )
        return flags.select(change.fill_null(False)).to_series()

    def _changes_small(self, quotes: pl.DataFrame, rows: pl.Series) -> pl.Series:
        """`changes` for a few quotes, in Python (see `few_rows.py`); must give the same flags."""
        assert self._limits is not None
        n, columns = quotes.height, quotes.columns
        rare = [quotes.get_column(c).to_list() for c in RARE if c in columns]
        last = quotes.get_column("last").to_list() if "last" in columns else [None] * n
        iopv = quotes.get_column("iopv").to_list() if "iopv" in columns else [None] * n
        limits = self._limits[rows]
        lo, hi = limits.get_column("_lo").to_list(), limits.get_column("_hi").to_list()
        alerts = None
        if self._alerts is not None:
            gathered = self._alerts[rows]
            alerts = [gathered.get_column(c).to_list() for c in _ALERT_COLUMNS]
        flags = []
        for i, row in enumerate(rows.to_list()):
            change = any(values[i] is not None for values in rare)
            x = last[i]
            if row is not None and not change:  # an unplaced quote changes nothing but by a rare field
                change = x is not None and not lo[i] < x < hi[i]
                if alerts is not None and not change:
                    alo, ahi, every_quote, watch_iopv = (values[i] for values in alerts)
                    change = every_quote or (iopv[i] is not None and watch_iopv) or (x is not None and not alo < x < ahi)
            flags.append(bool(change))
        return pl.Series(flags, dtype=pl.Boolean)


def _limit_band(frame: pl.DataFrame) -> pl.DataFrame:
    """Per row of the frame: the open range (_lo, _hi) of last prices that keep its limit state."""
    up, down, state = pl.col("limit_up"), pl.col("limit_down"), pl.col("limit_state")
    # At a limit = within half a tick of it (the store's limit_state); the margin dwarfs float rounding.
    half = pl.col("tick") / 2
    margin = pl.col("tick") * 1e-6 + pl.max_horizontal(up.abs(), down.abs()).fill_null(0) * 1e-12
    return frame.select(
        pl.when(state == "up").then(up - half + margin)
        .when(state == "down").then(down - half + margin)
        .otherwise((down + half + margin).fill_null(0.0)).alias("_lo"),
        pl.when(state == "up").then(up + half - margin)
        .when(state == "down").then(down + half - margin)
        .otherwise((up - half - margin).fill_null(math.inf)).alias("_hi"),
    )  # fmt: skip


def _unbound(height: int) -> pl.DataFrame:
    fill = {"_alo": -math.inf, "_ahi": math.inf, "every_quote": False, "watch_iopv": False}
    return pl.DataFrame([pl.repeat(fill[n], height, dtype=t, eager=True).alias(n) for n, t in _ALERT_COLUMNS.items()])


def _set_bands(alerts: pl.DataFrame, frame: pl.DataFrame, bands: dict[int, Band]) -> pl.DataFrame:
    """`alerts` with the given rows' bands as prices off their prev_close and IOPV (a new
    frame when `alerts` is empty: every row given, in order)."""
    rows = pl.Series(list(bands), dtype=pl.UInt32)
    values: dict[str, list[float | bool]] = {n: [] for n in _ALERT_COLUMNS}
    for (prev, iopv), b in zip(frame[rows, ["prev_close", "iopv"]].iter_rows(), bands.values(), strict=True):
        # pct = (last - prev) / prev * 100, so a pct bound p is the price prev * (1 + p / 100).
        values["_alo"].append(max(_price(prev, b.pct_lo, +1), _price(iopv, b.premium_lo, +1)))
        values["_ahi"].append(min(_price(prev, b.pct_hi, -1), _price(iopv, b.premium_hi, -1)))
        values["every_quote"].append(b.every_quote)
        values["watch_iopv"].append(b.watch_iopv)
    new = [pl.Series(n, values[n], dtype=t) for n, t in _ALERT_COLUMNS.items()]
    if not alerts.height:
        return pl.DataFrame(new)
    return pl.DataFrame([alerts.get_column(c.name).clone().scatter(rows, c) for c in new])


def _price(base: float | None, bound: float, inward: int) -> float:
    """The price at `bound` percent off `base`, moved inward by a relative 1e-9 (no bound without a base)."""
    if base is None or not base > 0 or not math.isfinite(bound):
        return -math.inf if inward > 0 else math.inf
    return base * (1 + bound / 100) + inward * base * 1e-9
