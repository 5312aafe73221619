"""The board's alert rules: the seal shrinks (封单骤减), a new highest ladder step, an A/H
premium crossing; the same hysteresis and cooldown as the other rules."""

from __future__ import annotations

import pytest

from marketmon.alerts.rules import AlertConfig, AlertEngine, RuleSet
from marketmon.config.watchlists import WatchlistError, parse
from marketmon.feed.protocol import Quote
from marketmon.market import units

from .test_rules import T0, Stream

VERI = "688521.SH"


@pytest.fixture
def cn_units():
    """Amounts in 万/亿, as the screen shows them after key U."""
    units.set_units("cn")
    yield
    units.set_units("intl")


def sealed(stream: Stream, seconds: float, size: int) -> list:
    return stream.quote(VERI, seconds, 120.0, bid=120.0, ask=0.0, bid_size=size, ask_size=0)


def veri(**rules: object) -> Stream:
    s = Stream(AlertConfig(default=RuleSet(**rules), cooldown_s=60), VERI)  # type: ignore[arg-type]
    s.quote(VERI, 1, 110.0, bid=109.99, ask=110.0, bid_size=100, ask_size=100)
    return s


def test_seal_drop_fires_once_per_fall_from_the_largest_seal(cn_units) -> None:
    s = veri(seal_drop_pct=30.0)
    assert [a.rule for a in sealed(s, 10, 1_000_000)] == ["limit_up"]
    sealed(s, 20, 2_000_000)  # the largest today: 240 M CNY
    assert sealed(s, 30, 1_500_000) == []  # -25 %: not yet
    [alert] = sealed(s, 40, 1_300_000)  # -35 %
    assert alert.rule == "seal_drop" and alert.value == 35.0 and "1.56亿" in alert.message
    assert sealed(s, 50, 1_000_000) == []  # still down: disarmed
    sealed(s, 60, 1_990_000)  # back within 30 - 0.5 % of the largest: re-armed
    assert sealed(s, 70, 1_200_000) == []  # the cooldown (60 s) holds it quiet
    sealed(s, 130, 1_990_000)
    assert [a.rule for a in sealed(s, 200, 1_000_000)] == ["seal_drop"]


def test_seal_below_an_amount_and_a_new_seal_starts_afresh(cn_units) -> None:
    s = veri(seal_below=1e8, seal_drop_pct=50.0)
    sealed(s, 10, 2_000_000)  # 240 M
    fired = sealed(s, 20, 800_000)  # 96 M < 100 M, and -60 %
    assert sorted(a.rule for a in fired) == ["seal_below", "seal_drop"]
    assert "9600万 below 1.00亿" in next(a.message for a in fired if a.rule == "seal_below")
    # The board opens: the largest seal is forgotten; a smaller new seal is no fall.
    s.quote(VERI, 30, 119.9, bid=119.89, ask=119.9, bid_size=100, ask_size=100)
    sealed(s, 100, 900_000)
    assert [a.rule for a in s.alerts].count("seal_drop") == 1


def test_a_seal_message_follows_the_units_chosen() -> None:
    # K/M/B (the default): no 亿 in the message; the same amounts as the screen's K/M/B.
    s = veri(seal_below=1e8, seal_drop_pct=50.0)
    sealed(s, 10, 2_000_000)
    fired = sealed(s, 20, 800_000)
    messages = {a.rule: a.message for a in fired}
    assert messages["seal_drop"].endswith("seal down 60% to 96.00M (largest 240.00M)"), messages
    assert messages["seal_below"].endswith("seal 96.00M below 100.00M"), messages
    assert not any(unit in m for m in messages.values() for unit in "万亿")


def test_no_seal_rule_no_alert() -> None:
    s = veri()
    sealed(s, 10, 2_000_000)
    sealed(s, 20, 100)
    assert [a.rule for a in s.alerts] == ["limit_up"]


def test_a_new_highest_ladder_step() -> None:
    s = Stream(AlertConfig(ladder_top=True), "600001.SH", "600002.SH", "600003.SH")
    s.store.merge([Quote("600001.SH", ts=T0, limit_days=1), Quote("600002.SH", ts=T0, limit_days=3)], T0)
    s.store.flush()
    s.quote("600003.SH", 10, 110.0)  # a first board: no ladder
    [two] = s.quote("600001.SH", 20, 110.0)[1:]
    assert two.rule == "ladder_top" and two.value == 2.0 and "2 in a row" in two.message
    assert [a.rule for a in s.quote("600002.SH", 30, 110.0)] == ["limit_up", "ladder_top"]  # 4 in a row
    s.quote("600001.SH", 40, 109.0)
    assert [a.rule for a in s.quote("600001.SH", 50, 110.0)] == ["limit_up"]  # 2 again: not the top
    off = Stream(AlertConfig(), "600001.SH")
    off.store.merge([Quote("600001.SH", ts=T0, limit_days=5)], T0)
    assert [a.rule for a in off.quote("600001.SH", 10, 110.0)] == ["limit_up"]


def test_ah_premium_crosses_with_hysteresis() -> None:
    config = AlertConfig(per_symbol={"688981.SH": RuleSet(ah_premium_above=80.0, ah_premium_below=50.0)})
    s = Stream(config, "688981.SH")  # A at 100 CNY
    assert s.quote("HKDCNY.FX", 1, 0.9, prev_close=0.9) == []  # no H price yet: no premium
    [up] = s.quote("00981.HK", 2, 60.0, prev_close=60.0)  # H = 54 CNY: +85.19 %
    assert (up.rule, up.symbol, up.value, up.ts) == ("ah_premium_above", "688981.SH", 85.19, T0 + 2000)
    assert s.quote("00981.HK", 3, 59.0) == []  # +88.32 %: still above, disarmed
    assert s.quote("00981.HK", 5, 61.0) == []  # +82.15 %: not back by the margin (0.5)
    assert s.quote("00981.HK", 6, 62.0) == []  # +79.21 %: re-armed
    [again] = s.quote("HKDCNY.FX", 400, 0.88)  # the rate alone moves it: +83.28 %
    assert again.rule == "ah_premium_above" and again.value == 83.28
    [down] = s.quote("688981.SH", 800, 81.0)  # -19 %, inside the STAR band
    assert down.rule == "ah_premium_below" and down.value == 48.46


def test_rules_read_from_a_watchlist_and_refused_when_wrong() -> None:
    wl = parse('name = "b"\nsymbols = ["688521.SH"]\n[alerts]\nseal_drop_pct = 30\nseal_below = 5e7\nladder_top = true\n'
               '[alerts."688981.SH"]\nah_premium_above = 80\nah_premium_below = -5\n')  # fmt: skip
    assert (wl.defaults.seal_drop_pct, wl.defaults.seal_below, wl.defaults.ladder_top) == (30.0, 5e7, True)
    assert (wl.overrides["688981.SH"].ah_premium_above, wl.overrides["688981.SH"].ah_premium_below) == (80.0, -5.0)
    for bad, says in (("seal_drop_pct = -3", "above 0"), ("ladder_top = 1", "true or false"), ("seal_below = 'x'", "number")):
        try:
            parse(f'name = "b"\n[alerts]\n{bad}\n')
        except WatchlistError as exc:
            assert says in str(exc) and exc.line == 3
        else:
            raise AssertionError(bad)


def test_engine_is_quiet_without_board_rules() -> None:
    engine = AlertEngine(AlertConfig())
    assert not engine.config.default.watches_seal() and not engine.config.default.watches_ah()
