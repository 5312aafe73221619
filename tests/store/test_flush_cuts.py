"""A flush of many steps of market time gives exactly what a flush per step gives.

The store merges the steps of a batch and cuts it only after a step in which
a quote could change a limit state, a limit or an alert rule's state
(marketmon/store/flush_cuts.py). Here markets that touch limits, cross thresholds,
re-arm, change prev_close and IOPV and send quotes without a ts are played
both ways, and the alerts, the frame and the bars must be the same.
"""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.alerts.rules import AlertConfig, RuleSet
from marketmon.engine import Engine
from marketmon.store import columns

from ..conftest import T0, TRADE_DATE

# symbol -> (prev_close, tick, limit fraction or None)
MARKET = {
    "600000.SH": (10.0, 0.01, 0.10), "688521.SH": (100.0, 0.01, 0.20), "300750.SZ": (5.0, 0.01, 0.20),
    "002602.SZ": (4.0, 0.01, 0.05), "00700.HK": (600.0, 0.01, None), "589520.SH": (1.376, 0.001, 0.20),
    "513770.SH": (0.8, 0.001, 0.10),
}  # fmt: skip
ETFS = ("589520.SH", "513770.SH")


def market_day(seed: int, steps: int, books: bool = False) -> list[list[dict]]:
    """Quotes per 3-second step: prices that wander to the limits and back (with `books`, the
    best bid and ask too: at the limit-up a queue on the bid that grows and shrinks, the ask empty)."""
    rng = random.Random(seed)
    last = {s: prev for s, (prev, _, _) in MARKET.items()}
    day = []
    for n in range(steps):
        ts = T0 + 3000 * (n + 1)
        quotes = []
        for symbol in rng.sample(list(MARKET), rng.randint(1, len(MARKET))):
            prev, tick, band = MARKET[symbol]
            price = last[symbol] + rng.choice((-3, -1, 0, 1, 3, 25)) * tick * rng.choice((1, 1, prev / tick / 100))
            if band is not None:  # snap to a limit now and then
                places = 3 if tick < 0.01 else 2
                up, down = round(prev * (1 + band), places), round(prev * (1 - band), places)
                price = up if price >= up or rng.random() < 0.05 else down if price <= down else price
            last[symbol] = price = round(max(price, tick), 3)
            q: dict = {"symbol": symbol, "last": price, "volume": n * 100}
            if books and band is not None:
                size = rng.randrange(1, 60) * 10_000
                if price == round(prev * (1 + band), 3 if tick < 0.01 else 2):
                    q.update(bid=price, ask=0.0, bid_size=size, ask_size=0)  # sealed: the queue moves
                else:
                    q.update(bid=round(price - tick, 3), ask=price, bid_size=size, ask_size=size)
            if rng.random() < 0.9:
                q["ts"] = ts
            if symbol in ETFS and rng.random() < 0.1:
                q["iopv"] = round(price * (1 + rng.uniform(-0.02, 0.02)), 4)
            if rng.random() < 0.02:
                q["prev_close"] = prev
            if rng.random() < 0.01:
                q["suspended"] = rng.random() < 0.5
            quotes.append(q)
        day.append(quotes)
    return day


def play(day: list[list[dict]], alerts: AlertConfig, per_step: bool) -> tuple[list, list, dict]:
    got: list = []
    engine = Engine("ws://unused", alerts=alerts, on_alert=lambda a: got.append(a.to_event()))
    handle = engine.client.handle
    handle(b'{"type":"hello","protocol":1,"trade_date":"%s"}' % TRADE_DATE.encode())
    full = [{"symbol": s, "name": s, "prev_close": prev, "last": prev, "ts": T0} for s, (prev, _, _) in MARKET.items()]
    handle(msgspec.json.encode({"type": "snapshot", "seq": 1, "ts": T0, "quotes": full}))
    for n, quotes in enumerate(day):
        ts = T0 + 3000 * (n + 1)
        for part in (quotes[: len(quotes) // 2], quotes[len(quotes) // 2 :]):  # a step in two messages
            handle(msgspec.json.encode({"type": "quotes", "seq": engine.client._expected, "ts": ts, "quotes": part}))
        if per_step:
            engine.flush()
    engine.flush()
    bars = {s: list(engine.store.history.get(s, [])) for s in MARKET}
    return got, engine.store.frame.sort("symbol").rows(), bars


def rules(kind: str) -> AlertConfig:
    config = AlertConfig(hysteresis=0.3, cooldown_s=9)
    watched = RuleSet(pct_above=1.5, pct_below=-1.0, premium_above=0.5, discount_below=-0.5)
    if kind == "watchlist":
        config.per_symbol = {s: watched for s in ("600000.SH", "300750.SZ", "589520.SH", "513770.SH", "00700.HK")}
    elif kind == "every symbol":
        config.default = watched
    elif kind == "motion":
        config.per_symbol = {"688521.SH": RuleSet(fast_move_pct=2.0), "600000.SH": watched}
    elif kind == "seal":
        config.per_symbol = {"600000.SH": RuleSet(seal_drop_pct=20.0), "688521.SH": RuleSet(seal_below=2e8, seal_drop_pct=10.0),
                             "300750.SZ": watched}  # fmt: skip
    elif kind == "seal, every symbol":
        config.default = RuleSet(seal_drop_pct=30.0, pct_above=4.0)
    return config


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["limits only", "watchlist", "every symbol", "motion",
                                                              "seal", "seal, every symbol"]))  # fmt: skip
def test_a_flush_of_many_steps_gives_what_a_flush_per_step_gives(seed: int, kind: str) -> None:
    day = market_day(seed, 120, books=kind.startswith("seal"))  # six minutes: bars roll too
    per_step = play(day, rules(kind), per_step=True)
    merged = play(day, rules(kind), per_step=False)
    assert merged[0] == per_step[0]  # the alerts, in order
    assert merged[1] == per_step[1]  # the frame: prices, limits, states, seals
    assert merged[2] == per_step[2]  # the bars


def _steps(symbol: str, *quotes: dict) -> list[list[dict]]:
    return [[{"symbol": symbol, "ts": T0 + 3000 * (n + 1), **q}] for n, q in enumerate(quotes)]


def test_a_seal_and_a_break_in_consecutive_steps_both_alert() -> None:
    day = _steps("600000.SH", {"last": 10.5}, {"last": 11.0}, {"last": 10.99}, {"last": 10.9})
    alerts, _, _ = play(day, AlertConfig(), per_step=False)
    assert [(a["rule"], a["ts"], a["price"]) for a in alerts] == [
        ("limit_up", T0 + 6000, 11.0), ("limit_up_broken", T0 + 9000, 10.99),
    ]  # fmt: skip


def test_a_rule_re_armed_inside_a_batch_fires_again() -> None:
    """Fires at +2.5 %, re-arms at +1 % (2 - 0.5), fires again at +2.5 %: the band must follow the arming."""
    day = _steps("600000.SH", {"last": 10.25}, {"last": 10.1}, {"last": 10.18}, {"last": 10.25}, {"last": 10.18})

    def config() -> AlertConfig:
        return AlertConfig(per_symbol={"600000.SH": RuleSet(pct_above=2.0)}, hysteresis=0.5, cooldown_s=0)

    alerts, _, _ = play(day, config(), per_step=False)
    assert [(a["rule"], a["ts"]) for a in alerts] == [("pct_above", T0 + 3000), ("pct_above", T0 + 12000)]
    assert play(day, config(), per_step=True)[0] == alerts


def test_a_new_iopv_inside_a_batch_moves_the_premium_band() -> None:
    """The IOPV drops (premium +0.5 %), then the price rises to a +1.2 % premium and falls back."""
    day = _steps("589520.SH", {"iopv": 1.368}, {"last": 1.385}, {"last": 1.376}, {"last": 1.377})

    def config() -> AlertConfig:
        return AlertConfig(per_symbol={"589520.SH": RuleSet(premium_above=1.0)}, cooldown_s=0)

    alerts, _, _ = play(day, config(), per_step=False)
    assert [(a["rule"], a["ts"]) for a in alerts] == [("premium_above", T0 + 6000)]
    assert play(day, config(), per_step=True)[0] == alerts


def test_a_batch_without_prices_gets_one_flag_per_quote() -> None:
    # Volume-only quotes read no column of the checks: each must still get its own flag
    # (the app crashed here once, at the demo's start, with a one-row result).
    import polars as pl

    from marketmon.store.flush_cuts import Guard, Tripwire

    frame = pl.DataFrame({
        "symbol": ["600000.SH", "000001.SZ", "300750.SZ"], "limit_up": [11.0, 11.0, 120.0],
        "limit_down": [9.0, 9.0, 80.0], "limit_state": [None, None, None], "tick": [0.01] * 3,
        "prev_close": [10.0, 10.0, 100.0], "iopv": [None, None, None],
    }, schema_overrides={"limit_state": pl.String, "iopv": pl.Float64})  # fmt: skip
    wire = Tripwire()
    wire.update(frame, {s: i for i, s in enumerate(frame["symbol"])}, Guard())
    batch = pl.DataFrame({"symbol": ["600000.SH", "300750.SZ"], "volume": [100, 200]})
    flags = wire.changes(batch, pl.Series([0, 2], dtype=pl.UInt32))
    assert flags.to_list() == [False, False]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["watchlist", "motion"]))
def test_without_the_c_extension_a_flush_gives_the_same(seed: int, kind: str) -> None:
    """A machine with no compiler runs the Python column pass (`columns.py`): same alerts, frame, bars."""
    day = market_day(seed, 60)
    with_c = play(day, rules(kind), per_step=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "row_index", lambda: None)  # the store then keeps structs, as without `_columns`
        without = play(day, rules(kind), per_step=False)
    assert without == with_c
