"""Alert rules: limit crossings and thresholds, with hysteresis and cooldown.

A threshold rule fires when its value crosses the threshold while armed,
then disarms; it re-arms only after the value has moved back past the
threshold by `hysteresis`, and never fires again within `cooldown_s` of
market time. A price oscillating around a threshold therefore alerts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from marketmon.store import LimitEvent, Store

LIMIT_RULES = ("limit_up", "limit_down", "limit_up_broken", "limit_down_broken")
# rule -> (frame column, direction): +1 fires at or above, -1 at or below.
THRESHOLD_RULES: dict[str, tuple[str, int]] = {
    "pct_above": ("pct", +1),
    "pct_below": ("pct", -1),
    "premium_above": ("premium_pct", +1),
    "discount_below": ("premium_pct", -1),
}


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

    def for_symbol(self, symbol: str) -> RuleSet:
        return self.per_symbol.get(symbol, self.default)


class AlertEngine:
    def __init__(self, config: AlertConfig | None = None) -> None:
        self.config = config or AlertConfig()
        self._armed: dict[tuple[str, str], bool] = {}
        self._last_fired: dict[tuple[str, str], int] = {}

    def evaluate(self, store: Store, limit_events: list[LimitEvent]) -> list[Alert]:
        alerts = [self._limit_alert(e) for e in limit_events if self.config.for_symbol(e.symbol).limit]
        alerts.extend(self._thresholds(store))
        alerts.sort(key=lambda a: a.ts)
        return alerts

    def _limit_alert(self, e: LimitEvent) -> Alert:
        words = {
            "limit_up": "hit limit up", "limit_down": "hit limit down",
            "limit_up_broken": "broke from limit up", "limit_down_broken": "lifted off limit down",
        }  # fmt: skip
        pct = "" if e.pct is None else f" ({e.pct:+.2f}%)"
        return Alert(e.ts, e.symbol, e.name, e.rule, e.price, e.pct, f"{e.name} {words[e.rule]} at {e.price:g}{pct}")

    def _thresholds(self, store: Store) -> list[Alert]:
        cfg = self.config
        watched = {s for s, r in cfg.per_symbol.items() if any(r.thresholds())}
        if not watched and not any(cfg.default.thresholds()):
            return []
        frame = store.frame
        if watched and not any(cfg.default.thresholds()):
            frame = frame.filter(pl.col("symbol").is_in(list(watched)))
        alerts = []
        cols = ("symbol", "name", "ts", "last", "pct", "premium_pct")
        for symbol, name, ts, last, pct, premium in frame.select(cols).iter_rows():
            values = {"pct": pct, "premium_pct": premium}
            for rule, threshold in cfg.for_symbol(symbol).thresholds():
                column, direction = THRESHOLD_RULES[rule]
                value = values[column]
                if value is None:
                    continue
                alert = self._check(symbol, name or symbol, ts or store.clock or 0, rule, value, threshold, direction, last, pct)
                if alert:
                    alerts.append(alert)
        return alerts

    def _check(
        self, symbol: str, name: str, ts: int, rule: str, value: float, threshold: float,
        direction: int, last: float | None, pct: float | None,
    ) -> Alert | None:  # fmt: skip
        key = (symbol, rule)
        crossed = (value - threshold) * direction >= 0
        armed = self._armed.get(key, True)
        if not armed:
            # Re-arm only once the value is back past the threshold by the margin.
            if (threshold - value) * direction >= self.config.hysteresis:
                self._armed[key] = True
            return None
        if not crossed:
            return None
        self._armed[key] = False
        last_fired = self._last_fired.get(key)
        if last_fired is not None and ts - last_fired < self.config.cooldown_s * 1000:
            return None
        self._last_fired[key] = ts
        what = "premium" if rule.startswith(("premium", "discount")) else "change"
        return Alert(
            ts, symbol, name, rule, last, pct,
            f"{name} {what} {value:+.2f}% crossed {threshold:+.2f}%", value,
        )  # fmt: skip
