"""Alert rules on a scripted stream: a real Store fed Quote objects, flushed, evaluated."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.alerts.rules import SOUTHBOUND, Alert, AlertConfig, AlertEngine, RuleSet
from marketmon.feed.protocol import Quote
from marketmon.store.state import Store

T0 = 1757640600000  # 2025-09-12 09:30:00 Asia/Shanghai
MOUTAI, TENCENT = "600519.SH", "00700.HK"


class Stream:
    """A scripted market: quotes at market seconds after 09:30, one flush each."""

    def __init__(self, config: AlertConfig, *symbols: str) -> None:
        self.store = Store()
        self.store.set_trade_date("2025-09-12")
        self.engine = AlertEngine(config)
        self.alerts: list[Alert] = []
        for symbol in symbols or (MOUTAI,):
            self.quote(symbol, 0, 100.0, volume=0, prev_close=100.0, name=f"name of {symbol}")

    def quote(self, symbol: str, seconds: float, last: float, **fields: object) -> list[Alert]:
        ts = T0 + int(seconds * 1000)
        self.store.merge([Quote(symbol=symbol, ts=ts, last=last, **fields)], ts)
        return self._evaluate(self.store.flush())

    def flow(self, seconds: float, sh: float, sz: float) -> list[Alert]:
        ts = T0 + int(seconds * 1000)
        self.store.set_flow({"SH": {"net_buy_hkd": sh}, "SZ": {"net_buy_hkd": sz}}, [], ts)
        return self._evaluate([])

    def _evaluate(self, events: list) -> list[Alert]:
        fired = self.engine.evaluate(self.store, events)
        self.alerts.extend(fired)
        return fired

    def rules(self, rule: str) -> list[Alert]:
        return [a for a in self.alerts if a.rule == rule]


def config(**rules: object) -> AlertConfig:
    knobs = {k: rules.pop(k) for k in list(rules) if k in ("hysteresis", "cooldown_s", "cooldowns",
                                                            "volume_spike_minutes", "southbound_net_buy_above_hkd")}  # fmt: skip
    return AlertConfig(default=RuleSet(**rules), **knobs)  # type: ignore[arg-type]


def test_hysteresis_rearms_only_after_moving_back_by_the_margin() -> None:
    s = Stream(config(pct_above=5.0, hysteresis=1.0, cooldown_s=0))
    assert s.quote(MOUTAI, 10, 104.9) == []
    fired = s.quote(MOUTAI, 20, 105.0)
    assert [(a.rule, a.symbol, a.value) for a in fired] == [("pct_above", MOUTAI, 5.0)]
    assert fired[0].message == "name of 600519.SH change +5.00% crossed +5.00%"
    # Oscillating at the threshold, never 1 point below it: silence.
    for i, price in enumerate([104.5, 105.2, 104.1, 105.5, 104.05, 106.0]):
        assert s.quote(MOUTAI, 30 + i, price) == []
    assert s.quote(MOUTAI, 40, 103.9) == []  # back by more than the margin: armed again
    assert [a.value for a in s.quote(MOUTAI, 50, 105.1)] == [5.099999999999994]


def test_pct_below_works_downwards() -> None:
    s = Stream(config(pct_below=-3.0, hysteresis=0.5, cooldown_s=0))
    assert s.quote(MOUTAI, 1, 97.1) == []
    assert [a.rule for a in s.quote(MOUTAI, 2, 97.0)] == ["pct_below"]
    assert s.quote(MOUTAI, 3, 97.4) == []  # -2.6: only 0.4 back, still disarmed
    assert s.quote(MOUTAI, 4, 96.0) == []
    assert s.quote(MOUTAI, 5, 97.6) == []  # -2.4: re-armed
    assert [a.rule for a in s.quote(MOUTAI, 6, 96.9)] == ["pct_below"]


def test_cooldown_holds_a_rule_quiet_for_market_time() -> None:
    s = Stream(config(pct_above=5.0, hysteresis=0.0, cooldown_s=600))
    assert len(s.quote(MOUTAI, 0, 105.0)) == 1
    s.quote(MOUTAI, 100, 104.0)
    assert s.quote(MOUTAI, 300, 105.5) == []  # re-armed, but 300 s < 600 s
    s.quote(MOUTAI, 400, 104.0)
    assert len(s.quote(MOUTAI, 700, 105.5)) == 1  # 700 s after the first: fires
    assert len(s.rules("pct_above")) == 2


def test_per_rule_cooldown_overrides_the_default() -> None:
    s = Stream(config(pct_above=5.0, pct_below=-5.0, hysteresis=0.0, cooldown_s=3600, cooldowns={"pct_below": 0}))
    s.quote(MOUTAI, 0, 105.0)
    s.quote(MOUTAI, 10, 95.0)
    s.quote(MOUTAI, 20, 100.0)
    s.quote(MOUTAI, 30, 105.0)
    s.quote(MOUTAI, 40, 95.0)
    assert [a.rule for a in s.alerts] == ["pct_above", "pct_below", "pct_below"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=104.01, max_value=109.0), min_size=1, max_size=25))
def test_any_oscillation_inside_the_margin_alerts_once(prices: list[float]) -> None:
    s = Stream(config(pct_above=5.0, hysteresis=1.0, cooldown_s=0))
    s.quote(MOUTAI, 0, 105.0)
    for i, price in enumerate(prices, 1):
        s.quote(MOUTAI, i, round(price, 2))
    assert len(s.rules("pct_above")) == 1


def test_limit_alerts_still_come_from_the_store_and_can_be_turned_off() -> None:
    cfg = config(pct_above=5.0)
    cfg.per_symbol[TENCENT] = RuleSet(limit=False)
    s = Stream(cfg, MOUTAI, TENCENT)
    s.quote(MOUTAI, 10, 110.0)
    s.quote(MOUTAI, 20, 109.0)
    assert [a.rule for a in s.alerts] == ["limit_up", "pct_above", "limit_up_broken"]


def test_fast_move_both_directions_from_one_minute_bars() -> None:
    s = Stream(config(fast_move_pct=2.0, fast_move_minutes=5, hysteresis=1.0, cooldown_s=0))
    price = 100.0
    for i in range(1, 61):  # half an hour of slow drift: +3 %, never 2 % in 5 minutes
        price = round(100 + i * 0.05, 2)
        s.quote(MOUTAI, i * 30, price)
    assert s.rules("fast_move") == []
    t = 61 * 30
    for step in range(1, 7):  # then +2.4 % in three minutes
        s.quote(MOUTAI, t + step * 30, round(price + step * 0.4, 2))
    up = s.rules("fast_move")
    assert len(up) == 1 and up[0].value is not None and 2.0 <= up[0].value < 2.5
    assert up[0].message.endswith("within 5 min")
    top = round(price + 2.4, 2)
    for step in range(1, 21):  # flat for ten minutes: the window change goes to 0 and re-arms
        s.quote(MOUTAI, t + 180 + step * 30, top)
    t += 180 + 20 * 30
    for step in range(1, 7):  # then -2.4 % in three minutes
        s.quote(MOUTAI, t + step * 30, round(top - step * 0.4, 2))
    moves = s.rules("fast_move")
    assert len(moves) == 2 and moves[1].value is not None and moves[1].value <= -2.0
    assert "moved -" in moves[1].message


def test_fast_move_window_is_configurable_per_symbol() -> None:
    cfg = config(fast_move_pct=2.0, fast_move_minutes=5, hysteresis=1.0, cooldown_s=0)
    cfg.per_symbol[TENCENT] = RuleSet(fast_move_pct=2.0, fast_move_minutes=1)
    s = Stream(cfg, MOUTAI, TENCENT)
    for i in range(1, 6):  # both climb 0.5 % a minute
        s.quote(MOUTAI, i * 60, 100 + i * 0.5)
        s.quote(TENCENT, i * 60, 100 + i * 0.5)
    # 2 % in 5 minutes for Moutai's window; never 2 % in Tencent's one minute.
    assert [a.symbol for a in s.rules("fast_move")] == [MOUTAI]
    s.quote(TENCENT, 6 * 60, 105.2)  # +2.6 % on one minute: now Tencent's window sees it
    assert [a.symbol for a in s.rules("fast_move")] == [MOUTAI, TENCENT]


def test_southbound_net_buy_with_hysteresis() -> None:
    s = Stream(config(southbound_net_buy_above_hkd=10e9, cooldown_s=0))
    assert s.flow(10, 6e9, 3e9) == []
    fired = s.flow(20, 6e9, 4.5e9)
    assert [(a.symbol, a.rule, a.value) for a in fired] == [(SOUTHBOUND, "southbound_net_buy", 10.5e9)]
    assert "HK$10.50bn" in fired[0].message
    assert s.flow(30, 6e9, 3.5e9) == []  # 9.5 bn: less than 10 % back, not re-armed
    assert s.flow(40, 6e9, 4.2e9) == []
    assert s.flow(50, 5e9, 3.9e9) == []  # 8.9 bn: re-armed
    assert len(s.flow(60, 6e9, 4.1e9)) == 1


def test_southbound_is_off_without_a_threshold() -> None:
    s = Stream(config())
    assert s.flow(10, 60e9, 40e9) == []


def test_volume_spike_against_the_previous_minutes() -> None:
    s = Stream(config(volume_spike=3.0, volume_spike_minutes=5, hysteresis=0.5, cooldown_s=0))
    volume = 50_000  # the opening auction: never part of the average
    s.quote(MOUTAI, 1, 100.0, volume=volume)
    for minute in range(1, 8):  # seven quiet minutes of 1,000 shares, three trades each
        for k in range(3):
            volume += 1000 // 3 + (1 if k == 0 else 0)
            s.quote(MOUTAI, minute * 60 + k * 20, 100.0, volume=volume)
    assert s.rules("volume_spike") == []
    minute = 8
    volume += 2000
    assert s.quote(MOUTAI, minute * 60, 100.1, volume=volume) == []  # 2x so far this minute
    volume += 1500
    fired = s.quote(MOUTAI, minute * 60 + 20, 100.2, volume=volume)  # 3.5x: fires mid-minute
    assert [a.rule for a in fired] == ["volume_spike"] and fired[0].value == 3.5
    volume += 3000
    assert s.quote(MOUTAI, minute * 60 + 40, 100.3, volume=volume) == []  # same spike, once
    volume += 500
    s.quote(MOUTAI, (minute + 1) * 60, 100.3, volume=volume)  # next minute: quiet, re-arms
    volume += 20_000
    assert [a.rule for a in s.quote(MOUTAI, (minute + 1) * 60 + 30, 100.3, volume=volume)] == ["volume_spike"]


def test_volume_spike_needs_enough_history() -> None:
    s = Stream(config(volume_spike=2.0, volume_spike_minutes=20, cooldown_s=0))
    for minute in range(1, 6):
        s.quote(MOUTAI, minute * 60, 100.0, volume=minute * 1000 * minute)
    assert s.rules("volume_spike") == []


def test_rules_only_for_the_symbols_that_have_them() -> None:
    cfg = config()
    cfg.per_symbol[TENCENT] = RuleSet(pct_above=3.0)
    s = Stream(cfg, MOUTAI, TENCENT)
    s.quote(MOUTAI, 10, 104.0)
    s.quote(TENCENT, 10, 104.0)
    assert [(a.symbol, a.rule) for a in s.alerts] == [(TENCENT, "pct_above")]
