"""A/H premium arithmetic: exact, half-up, against an independent Fraction reference."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from marketmon.market import ah_pairs
from marketmon.market.ah_pairs import Pair, h_in_cny, premium_pct, premiums
from marketmon.market.symbols import Board, classify

# Prices on their ticks (A: 0.01 CNY, H: 0.001-0.05 HKD, simplified to 0.001) and a rate to a pip.
A = st.integers(1, 500_000).map(lambda c: Decimal(c) / 100)
H = st.integers(1, 5_000_000).map(lambda m: Decimal(m) / 1000)
RATE = st.integers(8_000, 9_999).map(lambda p: Decimal(p) / 10_000)


def reference(a: Decimal, h: Decimal, rate: Decimal) -> Decimal:
    """Premium in hundredths of a percent, rounded half away from zero, by integers only."""
    q = (Fraction(a) / (Fraction(h) * Fraction(rate)) - 1) * 10_000  # hundredths of a percent
    n, d = abs(q.numerator), q.denominator
    whole = (2 * n + d) // (2 * d)  # floor(n/d + 1/2)
    return Decimal(whole if q >= 0 else -whole) / 100


@given(A, H, RATE)
def test_premium_is_exact_and_half_up(a: Decimal, h: Decimal, rate: Decimal) -> None:
    assert premium_pct(a, h, rate) == reference(a, h, rate)
    # The feed's floats give the same answer: each price is read from its shortest repr.
    assert premium_pct(float(a), float(h), float(rate)) == reference(a, h, rate)


@given(A, H, RATE)
def test_premium_sign_follows_the_prices(a: Decimal, h: Decimal, rate: Decimal) -> None:
    pct = premium_pct(a, h, rate)
    assert pct is not None
    h_cny = h * rate
    assert (pct > 0) <= (a > h_cny) and (pct < 0) <= (a < h_cny)


def test_a_half_rounds_away_from_zero() -> None:
    # 1.00125 / 1 - 1 = 0.125 % -> 0.13 %; the mirror -> -0.13 %
    assert premium_pct(Decimal("1.00125"), 1, 1) == Decimal("0.13")
    assert premium_pct(Decimal("0.99875"), 1, 1) == Decimal("-0.13")
    assert h_in_cny(Decimal("62.85"), Decimal("0.9128")) == Decimal("57.369")  # 57.36948 -> 57.369


def test_missing_or_zero_prices_give_no_premium() -> None:
    assert premium_pct(None, 60.0, 0.91) is None
    assert premium_pct(100.0, 0, 0.91) is None  # 0 = no trade yet on the feeds
    assert premium_pct(100.0, 60.0, None) is None
    assert premium_pct(float("nan"), 60.0, 0.91) is None


def test_smic_at_the_demo_close() -> None:
    # 688981.SH 109.36 CNY, 00981.HK 64.35 HKD, 0.9128 CNY per HKD
    assert premium_pct(109.36, 64.35, 0.9128) == Decimal("86.18")
    smic = Pair("688981.SH", "00981.HK", "SMIC")
    [p] = premiums({"688981.SH": 109.36, "00981.HK": 64.35}, 0.9128, (smic,))
    assert (p.a_price, p.h_cny, p.premium_pct) == (Decimal("109.36"), Decimal("58.739"), Decimal("86.18"))


def test_premiums_sorted_highest_first_and_skip_incomplete_pairs() -> None:
    pairs = (Pair("601318.SH", "02318.HK", "Ping An"), Pair("688981.SH", "00981.HK", "SMIC"),
             Pair("600036.SH", "03968.HK", "CMB"))  # fmt: skip
    prices = {"601318.SH": 56.08, "02318.HK": 53.95, "688981.SH": 109.36, "00981.HK": 64.35, "600036.SH": 43.0}
    got = premiums(prices, 0.9128, pairs)
    assert [p.pair.name for p in got] == ["SMIC", "Ping An"]
    assert premiums(prices, None, pairs) == []


def test_bundled_pairs_are_well_formed() -> None:
    pairs = ah_pairs.bundled_pairs()
    assert len(pairs) >= 10 and Pair("688981.SH", "00981.HK", "SMIC") in pairs
    assert len({p.a for p in pairs}) == len(pairs) == len({p.h for p in pairs})
    for p in pairs:
        assert classify(p.a).exchange in ("SH", "SZ") and classify(p.a).kind == "stock", p
        assert classify(p.h).board is Board.HK, p


def test_the_rate_is_a_symbol_the_store_can_place() -> None:
    inst = classify(ah_pairs.RATE_SYMBOL)
    assert (inst.exchange, inst.board, inst.kind) == ("FX", Board.INDEX, "fx")
