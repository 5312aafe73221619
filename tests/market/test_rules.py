"""Ticks, limit bands and limit prices; ETF premium."""

from datetime import date
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketmon.market.etf import premium_pct
from marketmon.market.calendars import calendar
from marketmon.market.rules import (
    halt_bands,
    limit_band,
    hk_tick,
    is_cn_trading_day,
    is_st,
    limit_pct,
    limit_prices,
    limit_ticks,
    limits_for,
    nth_trading_day,
    tick_size,
    to_ticks,
)
from marketmon.market.symbols import parse

SEED = date(2025, 9, 12)


# --- ticks ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("symbol", "tick"),
    [
        ("600000.SH", D("0.01")),
        ("688521.SH", D("0.01")),
        ("300750.SZ", D("0.01")),
        ("920118.BJ", D("0.01")),
        ("000001.SH", D("0.01")),
        ("589520.SH", D("0.001")),
        ("159876.SZ", D("0.001")),
        ("161725.SZ", D("0.001")),
        ("900901.SH", D("0.001")),
        ("00700.HK", D("0.001")),
    ],
)
def test_tick_size(symbol, tick):
    assert tick_size(parse(symbol)) == tick


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        ("0.01", "0.001"), ("0.25", "0.001"), ("0.251", "0.005"), ("0.50", "0.005"),
        ("0.51", "0.010"), ("10", "0.010"), ("10.02", "0.020"), ("20", "0.020"),
        ("20.05", "0.050"), ("100", "0.050"), ("100.1", "0.100"), ("200", "0.100"),
        ("200.2", "0.200"), ("500", "0.200"), ("500.5", "0.500"), ("1000", "0.500"),
        ("1001", "1.000"), ("2000", "1.000"), ("2002", "2.000"), ("5000", "2.000"),
        ("5005", "5.000"),
    ],
)
def test_hk_tick_table(price, tick):
    assert hk_tick(D(price)) == D(tick)


def test_hk_tick_phase1_reduction():
    # From 2025-08-04 equities priced 10-50 tick finer; ETPs keep the old table.
    assert hk_tick(D("15"), trade_date=SEED) == D("0.010")
    assert hk_tick(D("30"), trade_date=SEED) == D("0.020")
    assert hk_tick(D("80"), trade_date=SEED) == D("0.050")
    assert hk_tick(D("30"), trade_date=SEED, etp=True) == D("0.050")
    assert hk_tick(D("30"), trade_date=date(2025, 8, 1)) == D("0.050")


# --- ST names ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("ST 华通", True), ("ST华通", True), ("*ST国华", True), ("S*ST前锋", True),
        ("SST华新", True), (" *ST 金刚 ", True), ("＊ST中程", True), ("ST Huatong", True),
        ("浦发银行", False), ("VeriSilicon", False), ("STAR 50 ETF", False),
        ("Stanley", False), ("", False), (None, False), ("华通ST", False),
    ],
)
def test_is_st(name, want):
    assert is_st(name) is want


# --- limit percent ----------------------------------------------------------

@pytest.mark.parametrize(
    ("symbol", "trade_date", "st_", "want"),
    [
        ("600000.SH", SEED, False, D(10)),
        ("000001.SZ", SEED, False, D(10)),
        ("600000.SH", SEED, True, D(5)),
        ("600000.SH", date(2026, 7, 3), True, D(5)),  # last 5 % Friday (07-05 is Sunday)
        ("600000.SH", date(2026, 7, 6), True, D(10)),
        ("200002.SZ", SEED, False, D(10)),
        ("688521.SH", SEED, False, D(20)),
        ("688521.SH", SEED, True, D(20)),
        ("300750.SZ", SEED, False, D(20)),
        ("300750.SZ", SEED, True, D(20)),
        ("300750.SZ", date(2020, 8, 21), False, D(10)),
        ("300750.SZ", date(2020, 8, 21), True, D(5)),
        ("300750.SZ", date(2020, 8, 24), True, D(20)),
        ("920118.BJ", SEED, False, D(30)),
        ("920118.BJ", SEED, True, D(30)),
        ("510300.SH", SEED, False, D(10)),
        ("159876.SZ", SEED, False, D(10)),
        ("161725.SZ", SEED, False, D(10)),
        ("589520.SH", SEED, False, D(20)),
        ("588000.SH", SEED, False, D(20)),
        ("159915.SZ", SEED, False, D(20)),
        ("159915.SZ", date(2020, 8, 21), False, D(10)),
        ("000001.SH", SEED, False, None),
        ("399006.SZ", SEED, False, None),
        ("HSI.HK", SEED, False, None),
        ("09988.HK", SEED, False, None),
    ],
)
def test_limit_pct(symbol, trade_date, st_, want):
    assert limit_pct(parse(symbol), trade_date=trade_date, st=st_) == want


def test_limit_pct_accepts_iso_strings():
    assert limit_pct(parse("600000.SH"), trade_date="2025-09-12", st=True) == D(5)


def test_trading_day_count_skips_weekends_and_holidays():
    # Listed Mon 2025-09-29; National Day closes 10-01..10-08.
    listed = date(2025, 9, 29)
    assert nth_trading_day(listed, listed) == 1
    assert nth_trading_day(listed, date(2025, 9, 30)) == 2
    assert nth_trading_day(listed, date(2025, 10, 9)) == 3
    assert nth_trading_day(listed, date(2025, 10, 13)) == 5
    assert nth_trading_day(listed, date(2025, 10, 14)) == 6
    assert nth_trading_day(listed, date(2025, 9, 28)) == 0
    assert nth_trading_day(date(2000, 1, 3), SEED) == 10  # capped


@pytest.mark.parametrize(
    ("symbol", "listed", "trade_date", "want"),
    [
        # STAR: five free days, counted in trading days across a holiday
        ("688999.SH", date(2025, 9, 29), date(2025, 10, 13), None),
        ("688999.SH", date(2025, 9, 29), date(2025, 10, 14), D(20)),
        # ChiNext after the reform: five free days
        ("301999.SZ", date(2025, 9, 8), date(2025, 9, 12), None),
        ("301999.SZ", date(2025, 9, 8), date(2025, 9, 15), D(20)),
        # ChiNext before the reform: day 1 only (44 %/-36 % simplified)
        ("300999.SZ", date(2019, 3, 4), date(2019, 3, 4), None),
        ("300999.SZ", date(2019, 3, 4), date(2019, 3, 5), D(10)),
        # BSE: day 1 only
        ("920999.BJ", date(2025, 9, 11), date(2025, 9, 11), None),
        ("920999.BJ", date(2025, 9, 11), date(2025, 9, 12), D(30)),
        # registration-era main board: five free days
        ("603999.SH", date(2023, 4, 10), date(2023, 4, 14), None),
        ("603999.SH", date(2023, 4, 10), date(2023, 4, 17), D(10)),
        # older main board: only day 1 is special (44 %/-36 %), simplified to None
        ("603998.SH", date(2023, 4, 7), date(2023, 4, 7), None),
        ("603998.SH", date(2023, 4, 7), date(2023, 4, 10), D(10)),
        # long-listed stock
        ("600000.SH", date(1999, 11, 10), SEED, D(10)),
    ],
)
def test_ipo_days(symbol, listed, trade_date, want):
    assert limit_pct(parse(symbol), trade_date=trade_date, listed=listed) == want


def test_cn_holidays():
    closed = calendar("CN").closed
    assert len(closed) > 50
    assert all(d.weekday() < 5 for d in closed)
    assert {d.year for d in closed} == {2024, 2025, 2026}
    assert not is_cn_trading_day(date(2025, 10, 1))
    assert not is_cn_trading_day(date(2026, 2, 16))
    assert not is_cn_trading_day(date(2025, 9, 13))  # Saturday
    assert is_cn_trading_day(SEED)


# --- limit prices -----------------------------------------------------------

@pytest.mark.parametrize(
    ("prev", "pct", "tick", "up", "down"),
    [
        (D("1.15"), 10, D("0.01"), D("1.27"), D("1.04")),  # 1.265 / 1.035 half up
        (1.15, 10, 0.01, D("1.27"), D("1.04")),  # floats via shortest repr
        (D("0.04"), 10, D("0.01"), D("0.05"), D("0.03")),  # one-tick floor
        (D("100.00"), 20, D("0.01"), D("120.00"), D("80.00")),  # VeriSilicon, STAR
        (D("10.00"), 5, D("0.01"), D("10.50"), D("9.50")),
        (D("3.33"), 30, D("0.01"), D("4.33"), D("2.33")),  # 4.329 / 2.331
        (D("1.000"), 20, D("0.001"), D("1.200"), D("0.800")),
        (D("0.01"), 10, D("0.01"), D("0.02"), D("0.01")),  # down stops at one tick
    ],
)
def test_limit_prices(prev, pct, tick, up, down):
    got = limit_prices(prev, pct, tick)
    assert got == (up, down)
    assert str(got[0]) == str(up)  # quantized to the tick's places


def test_decimal_beats_float_counterexample():
    # The float way gets 1.15 x 1.1 wrong: the product is 1.2649999... and
    # round() is half-even on top, so it says 1.26; the exchange says 1.27.
    assert round(1.15 * 1.1, 2) == 1.26
    assert limit_prices(1.15, 10, "0.01")[0] == D("1.27")
    assert limit_ticks(115, 1000) == (127, 104)


def test_limit_prices_rejects_non_positive():
    with pytest.raises(ValueError):
        limit_prices(D(0), 10, D("0.01"))
    with pytest.raises(ValueError):
        limit_ticks(0, 1000)


def test_limits_for():
    verisilicon = parse("688521.SH")
    assert limits_for(verisilicon, D("100.00"), trade_date=SEED) == (D("120.00"), D("80.00"))
    assert limits_for(parse("589520.SH"), D("1.000"), trade_date=SEED) == (D("1.200"), D("0.800"))
    assert limits_for(parse("600000.SH"), D("1.15"), trade_date=SEED, st=True) == (D("1.21"), D("1.09"))
    assert limits_for(parse("00700.HK"), D("600"), trade_date=SEED) is None
    assert limits_for(parse("000001.SH"), D("3870.60"), trade_date=SEED) is None
    assert limits_for(parse("688999.SH"), D("50"), trade_date=SEED, listed=SEED) is None


def test_to_ticks():
    assert to_ticks(D("1.15"), D("0.01")) == 115
    assert to_ticks(1.15, 0.01) == 115
    assert to_ticks(D("1.2345"), D("0.001")) == 1235  # half up
    assert to_ticks("0.005", "0.01") == 1


@given(prev=st.integers(1, 10**7), pct=st.sampled_from([5, 10, 20, 30]),
       tick=st.sampled_from([D("0.01"), D("0.001")]))
def test_integer_twin_matches_decimal(prev, pct, tick):
    prev_price = prev * tick
    up, down = limit_prices(prev_price, pct, tick)
    up_t, down_t = limit_ticks(prev, pct * 100)
    assert (to_ticks(up, tick), to_ticks(down, tick)) == (up_t, down_t)
    # Always on the tick grid.
    assert up % tick == 0 and down % tick == 0
    assert up == up_t * tick and down == down_t * tick
    # At least one tick of band each way (down stops at one tick).
    assert up >= prev_price + tick
    if prev > 1:
        assert down <= prev_price - tick
    else:
        assert down == tick
    assert down >= tick
    # Within half a tick of the exact band, unless the one-tick floor applied.
    if up_t != prev + 1:
        assert abs(up_t * 100 - prev * (100 + pct)) <= 50
    if down_t not in (prev - 1, 1):
        assert abs(down_t * 100 - prev * (100 - pct)) <= 50


@given(prev=st.integers(1, 10**7), p=st.integers(0, 9999))
def test_integer_twin_any_pct(prev, p):
    up, down = limit_ticks(prev, p)
    assert up > prev and (down < prev or down == 1) and down >= 1
    ref_up, ref_down = limit_prices(D(prev), D(p) / 100, D(1))
    assert (up, down) == (int(ref_up), int(ref_down))


# --- ETF premium ------------------------------------------------------------

@pytest.mark.parametrize(
    ("last", "iopv", "want"),
    [
        (1.02, 1.0, 2.0),
        (0.98, 1.0, -2.0),
        (D("1.234"), D("1.234"), 0.0),
        (1.4, 1.0, 40.0),
        (None, 1.0, None),
        (1.0, None, None),
        (1.0, 0.0, None),
        (1.0, -1.0, None),
        (0.0, 1.0, None),  # 0 is "no trade yet", not -100 %
        (float("nan"), 1.0, None),
    ],
)
def test_premium_pct(last, iopv, want):
    got = premium_pct(last, iopv)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want)


# Convertible bonds (SSE/SZSE rules from 2022-08-01), REITs, unknown boards -----------------


@pytest.mark.parametrize(
    ("prev", "up", "down"),
    [
        ("100", "120.000", "80.000"),
        ("118.888", "142.666", "95.110"),  # 142.6656 and 95.1104: half up to 0.001
        ("123.4565", "148.148", "98.765"),  # 148.1478, 98.7652
        ("101.0025", "121.203", "80.802"),  # 121.2030, 80.8020
        ("130.0005", "156.001", "104.000"),  # 156.0006 -> .001, 104.0004 -> .000
    ],
)
def test_bond_band_from_the_second_day(prev, up, down):
    got = limits_for(parse("113050.SH"), D(prev), trade_date="2025-09-12", listed="2024-01-10")
    assert got == (D(up), D(down))


@pytest.mark.parametrize("symbol", ["110059.SH", "111010.SH", "113050.SH", "118003.SH", "123001.SZ", "127018.SZ",
                                    "128081.SZ"])  # fmt: skip
def test_bond_listing_day(symbol):
    inst = parse(symbol)
    listed = date(2025, 9, 12)
    assert limit_band(inst, trade_date=listed, listed=listed) == (D("57.3"), D("43.3"))
    assert limits_for(inst, D(100), trade_date=listed, listed=listed) == (D("157.300"), D("56.700"))
    assert halt_bands(inst, trade_date=listed, listed=listed) == (D(20), D(30))
    # the next trading day (a Monday): +/-20 %, no listing-day halts
    assert limit_band(inst, trade_date=date(2025, 9, 15), listed=listed) == (D(20), D(20))
    assert halt_bands(inst, trade_date=date(2025, 9, 15), listed=listed) == ()


def test_bonds_had_no_daily_band_before_the_2022_rules():
    assert limit_band(parse("113050.SH"), trade_date="2022-07-29") is None
    assert limit_band(parse("113050.SH"), trade_date="2022-08-01") == (D(20), D(20))


@pytest.mark.parametrize(
    ("symbol", "prev", "listed", "up", "down"),
    [
        ("508000.SH", "3.456", None, "3.802", "3.110"),  # 3.8016, 3.1104
        ("180101.SZ", "2.005", None, "2.206", "1.805"),  # 2.2055 half up, 1.8045 half up
        ("508000.SH", "3.456", "2025-09-12", "4.493", "2.419"),  # listing day: +/-30 %
    ],
)
def test_reit_limits(symbol, prev, listed, up, down):
    assert limits_for(parse(symbol), D(prev), trade_date="2025-09-12", listed=listed) == (D(up), D(down))


@pytest.mark.parametrize("symbol", ["113050.SH", "123001.SZ", "508000.SH", "180101.SZ", "004000.SZ"])
def test_bonds_reits_and_unknown_boards_quote_to_a_tenth_of_a_fen(symbol):
    assert tick_size(parse(symbol)) == D("0.001")


def test_an_unknown_board_gets_no_computed_limit():
    assert limit_band(parse("004000.SZ"), trade_date="2025-09-12") is None
    assert limits_for(parse("004000.SZ"), D(10), trade_date="2025-09-12") is None


def test_bse_renumbered_codes_keep_the_30_pct_band():
    assert limits_for(parse("920118.BJ"), D("10.00"), trade_date="2025-09-12") == (D("13.00"), D("7.00"))
    assert limit_pct(parse("430047.BJ"), trade_date="2025-09-12") == D(30)


@given(prev=st.integers(min_value=1, max_value=10_000_000))
def test_uneven_band_matches_exact_arithmetic(prev):
    """limit_prices with a down percent: exactly prev x (1 + up) and prev x (1 - down), half up."""
    p = D(prev) / 1000
    up, down = limit_prices(p, D("57.3"), D("0.001"), D("43.3"))
    exact_up = (p * D("1.573")).quantize(D("0.001"), rounding=ROUND_HALF_UP)
    exact_down = (p * D("0.567")).quantize(D("0.001"), rounding=ROUND_HALF_UP)
    assert up == max(exact_up, p + D("0.001"))
    assert down == max(min(exact_down, p - D("0.001")), D("0.001"))
