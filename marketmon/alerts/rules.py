"""Alert rules: limit crossings and thresholds, with hysteresis and cooldown.

A threshold rule fires when its value crosses the threshold while armed,
then disarms; it re-arms only after the value has moved back past the
threshold by `hysteresis`, and never fires again within `cooldown_s` of
market time. A price oscillating around a threshold therefore alerts once.

The same arming applies to the rules that measure motion rather than level:
`fast_move` (the change of the last price over a window of 1-minute bars,
both directions), `volume_spike` (this minute's volume against the average
of the previous minutes) and the market-wide `southbound_net_buy` (SH + SZ
net buy of the day against a threshold in HKD).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketmon.market import ah_pairs, southbound, units
from marketmon.store.flush_cuts import Band, Guard
from marketmon.store.ladder import seal_amount
from marketmon.store.state import Bar, LimitEvent, Store

LIMIT_RULES = ("limit_up", "limit_down", "limit_up_broken", "limit_down_broken")
# rule -> (frame column, direction): +1 fires at or above, -1 at or below.
THRESHOLD_RULES: dict[str, tuple[str, int]] = {
    "pct_above": ("pct", +1),
    "pct_below": ("pct", -1),
    "premium_above": ("premium_pct", +1),
    "discount_below": ("premium_pct", -1),
}
MOTION_RULES = ("fast_move", "volume_spike")
# The short-term trader's board (store/ladder.py): the seal of a limit-up (封单) falls by more
# than N % of its largest today or below an amount; a watched A/H pair's premium crosses a level.
SEAL_RULES = ("seal_drop", "seal_below")
AH_RULES: dict[str, int] = {"ah_premium_above": +1, "ah_premium_below": -1}
MARKET_RULES = ("southbound_net_buy", "ladder_top")
SOUTHBOUND = "SOUTHBOUND"  # the symbol of market-wide flow alerts
# Southbound re-arms once the net buy is back below the threshold by this share
# of it: flows move in steps of tens of millions, the percent margin would be noise.
FLOW_REARM_FRACTION = 0.1


@dataclass(slots=True, frozen=True)
class Alert:
    ts: int
    symbol: str
    name: str
    rule: str
    price: float | None
    pct: float | None
    message: str
    value: float | None = None  # the measured value for threshold rules

    def to_event(self) -> dict[str, Any]:
        return {
            "event": "alert", "ts": self.ts, "symbol": self.symbol, "rule": self.rule,
            "price": self.price, "pct": None if self.pct is None else round(self.pct, 2),
            "message": self.message,
        }  # fmt: skip


@dataclass
class RuleSet:
    """The thresholds for one symbol (None = rule off)."""

    limit: bool = True
    pct_above: float | None = None
    pct_below: float | None = None
    premium_above: float | None = None
    discount_below: float | None = None
    sound: str = "default"
    fast_move_pct: float | None = None  # |change| over the window, percent
    fast_move_minutes: int = 5
    volume_spike: float | None = None  # this minute's volume / average of the previous minutes
    seal_drop_pct: float | None = None  # the seal falls this many % below its largest today
    seal_below: float | None = None  # the seal falls below this amount (quote currency)
    ah_premium_above: float | None = None  # the A/H premium of the pair this symbol is in, percent
    ah_premium_below: float | None = None
    ladder_top: bool = False  # a new highest ladder step, market-wide (any list turning it on)

    def active(self) -> bool:
        """Whether any per-symbol rule beyond limits needs the symbol evaluated."""
        return (any(self.thresholds()) or self.fast_move_pct is not None or self.volume_spike is not None
                or self.watches_seal())  # fmt: skip

    def watches_seal(self) -> bool:
        return self.seal_drop_pct is not None or self.seal_below is not None

    def watches_ah(self) -> bool:
        return self.ah_premium_above is not None or self.ah_premium_below is not None

    def thresholds(self) -> Iterable[tuple[str, float]]:
        for rule in THRESHOLD_RULES:
            value = getattr(self, rule)
            if value is not None:
                yield rule, value


@dataclass
class AlertConfig:
    default: RuleSet = field(default_factory=RuleSet)
    per_symbol: dict[str, RuleSet] = field(default_factory=dict)
    hysteresis: float = 0.5  # percentage points to move back before re-arming
    cooldown_s: float = 300.0  # market seconds between two alerts of one rule and symbol
    cooldowns: dict[str, float] = field(default_factory=dict)  # per-rule cooldown_s overrides
    volume_spike_minutes: int = 20  # the average a minute's volume is compared with
    southbound_net_buy_above_hkd: float | None = None
    ladder_top: bool = False  # alert on a new highest step of the limit-up ladder

    def for_symbol(self, symbol: str) -> RuleSet:
        return self.per_symbol.get(symbol, self.default)


class AlertEngine:
    def __init__(self, config: AlertConfig | None = None) -> None:
        self.config = config or AlertConfig()
        self._armed: dict[tuple[str, str], bool] = {}
        self._last_fired: dict[tuple[str, str], int] = {}
        self._rearmed: set[str] = set()  # symbols a rule of which was armed or disarmed since the last guard
        self._guard: tuple[tuple[object, ...], float, Guard] | None = None
        self._watched_for: tuple[tuple[object, ...], set[str]] | None = None
        self._seal_peak: dict[str, float] = {}  # symbol -> largest seal since it last sealed
        self._top_step = 0  # the highest limit-up step sealed today
        self._ah_for: tuple[tuple[object, ...], list[tuple[ah_pairs.Pair, RuleSet]]] | None = None  # watched pairs

    def evaluate(self, store: Store, limit_events: list[LimitEvent]) -> list[Alert]:
        alerts = [self._limit_alert(e) for e in limit_events if self.config.for_symbol(e.symbol).limit]
        alerts.extend(self._ladder_top(store, limit_events))
        alerts.extend(self._thresholds(store))
        alerts.extend(self._southbound(store))
        alerts.extend(self._ah(store))
        alerts.sort(key=lambda a: a.ts)
        return alerts

    def guard(self) -> Guard:
        """For the store's flush: per symbol with rules, the band of pct and premium
        inside which a new price changes no rule's state (see `flush_cuts.py`).

        The same object comes back until a rule is armed or disarmed (then only
        those symbols' bands are redone) or the rules are replaced (a new config,
        per-symbol map or default, as the app does on an edit), so the store can
        keep what it derived from it."""
        cfg = self.config
        rules = (cfg, cfg.per_symbol, cfg.default)
        cached = self._guard
        replaced = cached is None or any(a is not b for a, b in zip(cached[0], rules, strict=True))
        if cached is None or replaced or cached[1] != cfg.hysteresis:
            self._guard = cached = (rules, cfg.hysteresis, self._make_guard())
        elif self._rearmed:
            bands = dict(cached[2].bands)
            for symbol in self._rearmed:
                rule = cfg.per_symbol.get(symbol)
                if rule is not None and rule.active():
                    bands[symbol] = self._band(symbol, rule)
                elif rule is None and cfg.default.active() and symbol != SOUTHBOUND:
                    bands[symbol] = self._band(symbol, cfg.default)
            self._guard = cached = (rules, cfg.hysteresis, Guard(bands, cached[2].default))
        self._rearmed.clear()
        return cached[2]

    def _make_guard(self) -> Guard:
        cfg = self.config
        bands = {s: self._band(s, r) for s, r in cfg.per_symbol.items() if r.active()}
        default = None
        if cfg.default.active():
            default = self._band(None, cfg.default)
            # A default rule once fired for them (their own arming), or they are sealed (seal rules).
            for symbol in {s for s, _ in self._armed} | set(self._seal_peak):
                if symbol not in cfg.per_symbol and symbol != SOUTHBOUND:
                    bands[symbol] = self._band(symbol, cfg.default)
        return Guard(bands, default)

    def watches_flow(self) -> bool:
        return self.config.southbound_net_buy_above_hkd is not None

    def _band(self, symbol: str | None, rules: RuleSet) -> Band:
        if rules.fast_move_pct is not None or rules.volume_spike is not None:
            return Band(every_quote=True)  # these read bars and volume, not only the price
        if rules.watches_seal() and symbol in self._seal_peak:
            return Band(every_quote=True)  # sealed: every change of the queue counts
        # Not sealed, a seal rule waits for the limit-up, which cuts the flush by itself.
        lo, hi = {"pct": -math.inf, "premium_pct": -math.inf}, {"pct": math.inf, "premium_pct": math.inf}
        h = self.config.hysteresis
        for rule, t in rules.thresholds():
            column, direction = THRESHOLD_RULES[rule]
            if symbol is None or self._armed.get((symbol, rule), True):
                # Armed, it fires at (value - t) * direction >= 0: quiet strictly on the near side.
                if direction > 0:
                    hi[column] = min(hi[column], t)
                else:
                    lo[column] = max(lo[column], t)
            else:
                # Disarmed, it re-arms at (t - value) * direction >= h; the margin covers rounding.
                margin = h - 1e-9 * (1 + abs(t) + abs(h))
                if direction > 0:
                    lo[column] = max(lo[column], t - margin)
                else:
                    hi[column] = min(hi[column], t + margin)
        premium = rules.premium_above is not None or rules.discount_below is not None
        return Band(lo["pct"], hi["pct"], lo["premium_pct"], hi["premium_pct"], watch_iopv=premium)

    def _limit_alert(self, e: LimitEvent) -> Alert:
        words = {
            "limit_up": "hit limit up", "limit_down": "hit limit down",
            "limit_up_broken": "broke from limit up", "limit_down_broken": "lifted off limit down",
        }  # fmt: skip
        pct = "" if e.pct is None else f" ({e.pct:+.2f}%)"
        return Alert(e.ts, e.symbol, e.name, e.rule, e.price, e.pct, f"{e.name} {words[e.rule]} at {e.price:g}{pct}")

    def _watched(self) -> set[str]:
        """The symbols with a rule of their own (kept until the rules are replaced)."""
        cfg = self.config
        rules = (cfg, cfg.per_symbol, cfg.default)
        if self._watched_for is None or any(a is not b for a, b in zip(self._watched_for[0], rules, strict=True)):
            self._watched_for = (rules, {s for s, r in cfg.per_symbol.items() if r.active()})
        return self._watched_for[1]

    def _thresholds(self, store: Store) -> list[Alert]:
        cfg = self.config
        watched = self._watched()
        if not watched and not cfg.default.active():
            return []
        # Values only change on the rows the last flush touched: look at those.
        candidates = store.touched if cfg.default.active() else store.touched_among(watched)
        if not candidates:
            return []
        alerts = []
        cols = ("symbol", "name", "ts", "last", "pct", "premium_pct", "limit_state", "bid", "ask", "bid_size",
                "ask_size", "limit_up")  # fmt: skip
        for symbol, name, ts, last, pct, premium, *book in store.rows_of(candidates, cols).iter_rows():
            values = {"pct": pct, "premium_pct": premium}
            rules = cfg.for_symbol(symbol)
            alerts.extend(self._motion(store, symbol, name or symbol, ts or store.clock or 0, rules, last, pct))
            if rules.watches_seal():
                alerts.extend(self._seal(symbol, name or symbol, ts or store.clock or 0, rules, last, pct, *book))
            for rule, threshold in rules.thresholds():
                column, direction = THRESHOLD_RULES[rule]
                value = values[column]
                if value is None:
                    continue
                alert = self._check(symbol, name or symbol, ts or store.clock or 0, rule, value, threshold, direction, last, pct)
                if alert:
                    alerts.append(alert)
        return alerts

    def _seal(
        self, symbol: str, name: str, ts: int, rules: RuleSet, last: float | None, pct: float | None,
        state: str | None, bid: float | None, ask: float | None, bid_size: int | None, ask_size: int | None,
        limit_up: float | None,
    ) -> list[Alert]:  # fmt: skip
        """封单骤减: the seal of a limit-up shrinks (the board is about to break)."""
        amount = seal_amount("up", state, bid, ask, bid_size, ask_size, limit_up)
        if amount is None:
            if self._seal_peak.pop(symbol, None) is not None:  # off the board: the next seal starts afresh
                self._rearmed.add(symbol)  # and its flush band is the price's again
            return []
        seal = float(amount)
        if symbol not in self._seal_peak:
            self._rearmed.add(symbol)  # sealed: its flush band becomes every quote
        peak = self._seal_peak[symbol] = max(self._seal_peak.get(symbol, 0.0), seal)
        alerts: list[Alert | None] = []
        if rules.seal_drop_pct is not None and peak > 0:
            drop = (1 - seal / peak) * 100
            message = f"{name} seal down {drop:.0f}% to {_money(seal)} (largest {_money(peak)})"
            alerts.append(self._check(symbol, name, ts, "seal_drop", drop, rules.seal_drop_pct, +1, last, pct,
                                      message=message))  # fmt: skip
        if rules.seal_below is not None:
            message = f"{name} seal {_money(seal)} below {_money(rules.seal_below)}"
            alerts.append(self._check(symbol, name, ts, "seal_below", seal, rules.seal_below, -1, last, pct,
                                      margin=rules.seal_below * FLOW_REARM_FRACTION, message=message))  # fmt: skip
        return [a for a in alerts if a is not None]

    def _ladder_top(self, store: Store, limit_events: list[LimitEvent]) -> list[Alert]:
        """A stock seals a limit-up at a step higher than any sealed today (连板新高)."""
        ups = [e for e in limit_events if e.rule == "limit_up"]
        if not ups:
            return []
        days = dict(store.rows_of([e.symbol for e in ups], ("symbol", "limit_days")).iter_rows())
        alerts = []
        for e in ups:
            step = (days.get(e.symbol) or 0) + 1
            if step <= self._top_step:
                continue
            self._top_step = step
            if self.config.ladder_top and step >= 2:  # a first board is no ladder
                alerts.append(Alert(e.ts, e.symbol, e.name, "ladder_top", e.price, e.pct,
                                    f"{e.name} seals the day's highest board: {step} in a row", float(step)))  # fmt: skip
        return alerts

    def _ah(self, store: Store) -> list[Alert]:
        """A watched A/H pair's premium crosses a level (either share of the pair can carry the rule)."""
        cfg = self.config
        rules_now = (cfg, cfg.per_symbol, cfg.default)
        if self._ah_for is None or any(a is not b for a, b in zip(self._ah_for[0], rules_now, strict=True)):
            pairs = [(p, r) for p in ah_pairs.bundled_pairs()
                     for r in (cfg.per_symbol.get(p.a) or cfg.for_symbol(p.h),) if r.watches_ah()]  # fmt: skip
            self._ah_for = (rules_now, pairs)
        watched = self._ah_for[1]
        if not watched:
            return []
        touched = store.touched_among([s for p, _ in watched for s in (p.a, p.h)] + [ah_pairs.RATE_SYMBOL])
        if not touched:
            return []
        rate = store.quote(ah_pairs.RATE_SYMBOL)
        alerts = []
        for pair, rules in watched:
            if ah_pairs.RATE_SYMBOL not in touched and pair.a not in touched and pair.h not in touched:
                continue
            a, h = store.quote(pair.a), store.quote(pair.h)
            premium = ah_pairs.premium_pct(a and a["last"], h and h["last"], rate and rate["last"])
            if premium is None or a is None:
                continue
            for rule, direction in AH_RULES.items():
                threshold = getattr(rules, rule)
                if threshold is None:
                    continue
                message = f"{pair.name} A/H premium {premium:+.2f}% crossed {threshold:+.2f}%"
                alert = self._check(pair.a, a["name"] or pair.name, store.clock or a["ts"] or 0, rule, float(premium),
                                    threshold, direction, a["last"], a["pct"], message=message)  # fmt: skip
                if alert:
                    alerts.append(alert)
        return alerts

    def _motion(
        self, store: Store, symbol: str, name: str, ts: int, rules: RuleSet, last: float | None, pct: float | None
    ) -> list[Alert]:
        if (rules.fast_move_pct is None and rules.volume_spike is None) or last is None:
            return []  # no motion rule here: do not look the bars up at all
        bars = store.history.get(symbol)
        if not bars:
            return []
        alerts: list[Alert | None] = []
        if rules.fast_move_pct is not None and rules.fast_move_pct > 0:
            move, minutes = _window_change(bars, last, rules.fast_move_minutes), rules.fast_move_minutes
            if move is not None:
                # Up and down arm separately (state keys), but share the rule name.
                for direction, state in ((+1, "fast_move_up"), (-1, "fast_move_down")):
                    threshold = rules.fast_move_pct * direction
                    message = f"{name} moved {move:+.2f}% within {minutes} min"
                    alerts.append(self._check(
                        symbol, name, ts, "fast_move", move, threshold, direction, last, pct, state=state, message=message
                    ))  # fmt: skip
        if rules.volume_spike is not None:
            n = self.config.volume_spike_minutes
            ratio = _volume_ratio(bars, n)
            if ratio is not None:
                message = f"{name} volume this minute {ratio:.1f}x the {n}-minute average"
                threshold = rules.volume_spike
                alerts.append(self._check(
                    symbol, name, ts, "volume_spike", ratio, threshold, +1, last, pct, message=message
                ))  # fmt: skip
        return [a for a in alerts if a is not None]

    def _southbound(self, store: Store) -> list[Alert]:
        threshold = self.config.southbound_net_buy_above_hkd
        latest = store.flow.latest
        if threshold is None or not latest:
            return []
        channels = latest.get("southbound") or {}
        figures = [southbound.amounts(channels.get(ch) or {}) for ch in ("SH", "SZ")]
        total = sum(float(net or 0.0) for _, net, _, _ in figures)
        # The threshold is set in HKD; a source that publishes CNY (~0.92 HKD) is compared as it is, and says so.
        unit = "HK$" if figures[0][0] == "HKD" else "CNY "
        message = f"Southbound net buy {unit}{total / 1e9:,.2f}bn crossed {unit}{threshold / 1e9:,.2f}bn"
        alert = self._check(
            SOUTHBOUND, "Southbound", latest.get("ts") or store.clock or 0, "southbound_net_buy", total, threshold,
            +1, None, None, margin=abs(threshold) * FLOW_REARM_FRACTION, message=message,
        )  # fmt: skip
        return [alert] if alert else []

    def _check(
        self, symbol: str, name: str, ts: int, rule: str, value: float, threshold: float,
        direction: int, last: float | None, pct: float | None,
        *, state: str | None = None, margin: float | None = None, message: str | None = None,
    ) -> Alert | None:  # fmt: skip
        key = (symbol, state or rule)
        crossed = (value - threshold) * direction >= 0
        armed = self._armed.get(key, True)
        if not armed:
            # Re-arm only once the value is back past the threshold by the margin.
            if (threshold - value) * direction >= (self.config.hysteresis if margin is None else margin):
                self._armed[key] = True
                self._rearmed.add(symbol)
            return None
        if not crossed:
            return None
        self._armed[key] = False
        self._rearmed.add(symbol)
        last_fired = self._last_fired.get(key)
        cooldown = self.config.cooldowns.get(rule, self.config.cooldown_s)
        if last_fired is not None and ts - last_fired < cooldown * 1000:
            return None
        self._last_fired[key] = ts
        if message is None:
            what = "premium" if rule.startswith(("premium", "discount")) else "change"
            message = f"{name} {what} {value:+.2f}% crossed {threshold:+.2f}%"
        return Alert(ts, symbol, name, rule, last, pct, message, value)


def _money(amount: float) -> str:
    """A seal in the units the user reads amounts in (1.09亿, 9600万; or 109.00M)."""
    return units.money(amount, compact=True)


def _window_change(bars: Sequence[Bar], last: float, minutes: int) -> float | None:
    """Percent change of `last` against the price `minutes` minutes of market time ago.

    The reference is the close of the newest bar at or before the window's
    start (over lunch, the last bar of the morning); with less history than
    the window, the open of the first bar. The scan stops at the window's
    start, so it costs about `minutes` steps however long the day.
    """
    cutoff = bars[-1].minute - minutes
    ref = bars[0].open
    for bar in reversed(bars):
        if bar.minute <= cutoff:
            ref = bar.close
            break
    return (last - ref) / ref * 100 if ref > 0 else None


def _volume_ratio(bars: Sequence[Bar], n: int) -> float | None:
    """This minute's volume over the average of the previous `n` traded minutes.

    Bars hold cumulative volume at their close, so a minute's volume is the
    difference to the bar before; the first bar (the opening auction) has no
    "before" and never counts. None until there are `n` minutes to compare with.
    """
    if n < 1 or len(bars) < n + 2:
        return None
    current = bars[-1].volume - bars[-2].volume
    average = (bars[-2].volume - bars[-2 - n].volume) / n
    return current / average if average > 0 else None
