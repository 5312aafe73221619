"""Price ticks and daily limit bands (GUIDE section 1). Pure, no I/O.

Money is exact: ``Decimal`` rounded ROUND_HALF_UP, or integer ticks.  Binary
floats get real cases wrong: 1.15 x 1.1 = 1.265 must round to 1.27, while
``round(1.15 * 1.1, 2)`` gives 1.26.

Integer-tick formula (what ``limit_ticks`` does; the store can write it as a
polars expression over integer columns, p = pct in hundredths of a percent):

    up   = (prev * (10000 + p) + 5000) // 10000
    down = (prev * (10000 - p) + 5000) // 10000
    if up <= prev:   up = prev + 1        # one-tick floor
    if down >= prev: down = prev - 1
    down = max(down, 1)                   # never below the smallest price
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .calendars import is_trading_day
from .symbols import Board, Instrument

__all__ = [
    "halt_bands",
    "hk_tick",
    "is_cn_trading_day",
    "is_st",
    "limit_band",
    "limit_pct",
    "limit_prices",
    "limit_ticks",
    "limits_for",
    "lot_size",
    "nth_trading_day",
    "tick_size",
    "to_ticks",
]

CHINEXT_REFORM = date(2020, 8, 24)  # ChiNext registration reform: 20 % band
# SSE and SZSE convertible bond trading rules (可转换公司债券交易实施细则), in
# force from 2022-08-01: listing day +57.3 % / -43.3 % with two intraday halts
# (first move of 20 % and of 30 %), from the second day +/-20 %; tick 0.001.
BOND_RULES_FROM = date(2022, 8, 1)
BOND_LISTING_BAND = (Decimal("57.3"), Decimal("43.3"))
BOND_LISTING_HALTS = (Decimal(20), Decimal(30))
MAIN_REGISTRATION = date(2023, 4, 10)  # main-board registration-era IPOs
ST_10PCT_FROM = date(2026, 7, 6)  # main-board ST band widened from 5 % to 10 %
HK_SPREAD_PHASE1 = date(2025, 8, 4)  # HKEX minimum spread reduction, phase 1

_CENT = Decimal("0.01")
_MILLI = Decimal("0.001")

# HKEX spread table: (upper price bound inclusive, tick).
_HK_SPREADS = (
    (Decimal("0.25"), Decimal("0.001")),
    (Decimal("0.50"), Decimal("0.005")),
    (Decimal("10"), Decimal("0.010")),
    (Decimal("20"), Decimal("0.020")),
    (Decimal("100"), Decimal("0.050")),
    (Decimal("200"), Decimal("0.100")),
    (Decimal("500"), Decimal("0.200")),
    (Decimal("1000"), Decimal("0.500")),
    (Decimal("2000"), Decimal("1.000")),
    (Decimal("5000"), Decimal("2.000")),
)
# Phase 1 (from 2025-08-04, equities/REITs, not ETPs): 10-20 -> 0.01,
# 20-50 -> 0.02, 50-100 unchanged.
_HK_SPREADS_P1 = (
    _HK_SPREADS[:2]
    + ((Decimal("10"), Decimal("0.010")), (Decimal("20"), Decimal("0.010")),
       (Decimal("50"), Decimal("0.020")), (Decimal("100"), Decimal("0.050")))
    + _HK_SPREADS[5:]
)


def _dec(x) -> Decimal:
    """Exact Decimal; a float goes through its shortest repr so 1.15 stays 1.15."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def _date(d) -> date:
    return date.fromisoformat(d) if isinstance(d, str) else d


def hk_tick(price, *, trade_date: date | str | None = None, etp: bool = False) -> Decimal:
    """HKEX minimum spread at ``price``.

    Without ``trade_date`` this is the classic spread table.  With a trade
    date from 2025-08-04 on, non-ETP securities use the phase 1 reduced
    spreads (phase 2, 0.5-10 -> 0.005, is not dated yet and not modelled).
    """
    p = _dec(price)
    table = _HK_SPREADS
    if trade_date is not None and not etp and _date(trade_date) >= HK_SPREAD_PHASE1:
        table = _HK_SPREADS_P1
    for upper, tick in table:
        if p <= upper:
            return tick
    return Decimal("5.000")


def tick_size(inst: Instrument) -> Decimal:
    """A-share price tick; for HK a display default (the real one is hk_tick).

    Funds, convertible bonds and REITs quote to 0.001 CNY; so does a board we
    do not know (a finer tick never misplaces a limit price the feed sends)."""
    if inst.exchange == "HK":
        return _MILLI
    if inst.exchange == "FX":
        return Decimal("0.0001")  # rates quote to a pip
    if inst.board in (Board.FUND, Board.BOND, Board.REIT, Board.OTHER):
        return _MILLI
    if inst.exchange == "SH" and inst.code.startswith("900"):
        return _MILLI  # SSE B shares quote in USD to 0.001
    return _CENT


def lot_size(inst: Instrument) -> int:
    """Units in one lot (手) of the volumes and book sizes that Tencent and East
    Money send for mainland instruments: 100 shares, or 10 convertible bonds
    (张, 100 CNY face each). HK volumes come in shares: 1."""
    if inst.exchange == "HK":
        return 1
    return 10 if inst.board is Board.BOND else 100


# Risk-warning prefixes; the look-ahead keeps English names like "STAR 50 ETF"
# from counting as ST while "ST 华通" and "*ST国华" do.
_ST = re.compile(r"^(?:S?\*\s*ST|SST|ST)(?![A-Za-z])")


def is_st(name: str | None) -> bool:
    """True for risk-warning names: ST, *ST, S*ST, SST."""
    if not name:
        return False
    return _ST.match(name.strip().replace("＊", "*")) is not None


def is_cn_trading_day(d: date) -> bool:
    """A mainland trading day, by the calendar files (market/calendars.py)."""
    return is_trading_day("CN", d)


@lru_cache(maxsize=4096)
def nth_trading_day(listed: date, day: date, cap: int = 10) -> int:
    """Which trading day since listing ``day`` is (listing day = 1).

    Counting stops at ``cap`` (only the first few days matter), so old
    listings cost nothing.  0 if ``day`` is before ``listed``.
    """
    if day < listed:
        return 0
    n, d = 0, listed
    while d <= day and n < cap:
        if is_cn_trading_day(d):
            n += 1
        d += timedelta(days=1)
    return n if d > day else cap


def _ipo_free(inst: Instrument, trade_date: date, listed: date | None) -> bool:
    """True on the no-limit days after an IPO."""
    if listed is None:
        return False
    n = nth_trading_day(listed, trade_date)
    if n < 1:
        return False
    if inst.board is Board.STAR:
        return n <= 5
    if inst.board is Board.BSE:
        return n == 1
    if inst.board is Board.CHINEXT:
        # Pre-reform ChiNext IPOs had a 44 %/-36 % first day: simplified to None.
        return n <= 5 if listed >= CHINEXT_REFORM else n == 1
    if inst.board is Board.MAIN:
        # Old main-board IPOs: day 1 band was +44 %/-36 % of the offer price
        # (not of a prev close), so it is reported as "no limit" (simplification).
        return n <= 5 if listed >= MAIN_REGISTRATION else n == 1
    return False


def limit_band(
    inst: Instrument,
    *,
    trade_date: date | str,
    st: bool = False,
    listed: date | str | None = None,
) -> tuple[Decimal, Decimal] | None:
    """Daily band as (up %, down %), chosen by the trade date; None = no limit.

    Not modelled: delisting-period days and fund listing days. Bonds before
    the 2022-08-01 rules had no daily band (only intraday halts): None.
    """
    trade_date = _date(trade_date)
    listed = _date(listed) if listed is not None else None
    if inst.board in (Board.INDEX, Board.HK, Board.OTHER) or inst.exchange == "HK":
        return None
    if inst.board is Board.BOND:
        if trade_date < BOND_RULES_FROM:
            return None
        if listed is not None and nth_trading_day(listed, trade_date) == 1:
            return BOND_LISTING_BAND
        return _even(20)
    if inst.board is Board.REIT:
        first = listed is not None and nth_trading_day(listed, trade_date) == 1
        return _even(30 if first else 10)
    if _ipo_free(inst, trade_date, listed):
        return None
    if inst.board is Board.STAR:
        return _even(20)
    if inst.board is Board.BSE:
        return _even(30)
    if inst.board is Board.CHINEXT:
        if trade_date >= CHINEXT_REFORM:
            return _even(20)
        return _even(5 if st else 10)
    if inst.board is Board.FUND:
        if inst.growth_fund and (inst.exchange == "SH" or trade_date >= CHINEXT_REFORM):
            return _even(20)
        return _even(10)
    # Main board (and B shares).
    if st and trade_date < ST_10PCT_FROM:
        return _even(5)
    return _even(10)


def _even(pct: int) -> tuple[Decimal, Decimal]:
    return Decimal(pct), Decimal(pct)


def limit_pct(
    inst: Instrument,
    *,
    trade_date: date | str,
    st: bool = False,
    listed: date | str | None = None,
) -> Decimal | None:
    """The band's upward percent (what the limit board shows); None = no limit."""
    band = limit_band(inst, trade_date=trade_date, st=st, listed=listed)
    return None if band is None else band[0]


def halt_bands(inst: Instrument, *, trade_date: date | str, listed: date | str | None = None) -> tuple[Decimal, ...]:
    """Percent moves from the previous close at which trading halts for a while
    (a bond's listing day: 30 minutes at the first 20 %, to 14:57 at 30 %)."""
    trade_date = _date(trade_date)
    if inst.board is not Board.BOND or listed is None or trade_date < BOND_RULES_FROM:
        return ()
    return BOND_LISTING_HALTS if nth_trading_day(_date(listed), trade_date) == 1 else ()


def _round_to(x: Decimal, tick: Decimal) -> Decimal:
    """Round half up to a multiple of tick (also works for ticks like 0.005)."""
    return ((x / tick).to_integral_value(ROUND_HALF_UP) * tick).quantize(tick)


def limit_prices(prev_close, pct, tick, down_pct=None) -> tuple[Decimal, Decimal]:
    """(limit_up, limit_down) for a previous close, band percent and tick
    (`down_pct` for an uneven band, e.g. a bond's listing day).

    One-tick floor: when rounding swallows the band the limit is prev +/- one
    tick.  Down never goes below one tick: at prev == tick (the smallest
    quotable price) limit_down equals prev, because 0 is not a price.
    """
    prev, p, t = _dec(prev_close), _dec(pct), _dec(tick)
    d = p if down_pct is None else _dec(down_pct)
    if prev <= 0 or t <= 0:
        raise ValueError(f"prev_close and tick must be positive: {prev_close!r}, {tick!r}")
    up = _round_to(prev * (100 + p) / 100, t)
    down = _round_to(prev * (100 - d) / 100, t)
    if up <= prev:
        up = (prev + t).quantize(t)
    if down >= prev:
        down = (prev - t).quantize(t)
    return up, max(down, t.quantize(t))


def limits_for(
    inst: Instrument,
    prev_close,
    *,
    trade_date: date | str,
    st: bool = False,
    listed: date | str | None = None,
) -> tuple[Decimal, Decimal] | None:
    """Computed limit prices, or None when the instrument has no band today."""
    band = limit_band(inst, trade_date=trade_date, st=st, listed=listed)
    if band is None:
        return None
    return limit_prices(prev_close, band[0], tick_size(inst), band[1])


def to_ticks(price, tick) -> int:
    """Price as a whole number of ticks, half up."""
    return int((_dec(price) / _dec(tick)).to_integral_value(ROUND_HALF_UP))


def limit_ticks(prev_ticks: int, pct_hundredths: int) -> tuple[int, int]:
    """Integer twin of limit_prices: pct in hundredths of a percent (1000 = 10 %)."""
    if prev_ticks <= 0:
        raise ValueError(f"prev_ticks must be positive: {prev_ticks!r}")
    up = (prev_ticks * (10000 + pct_hundredths) + 5000) // 10000
    down = (prev_ticks * (10000 - pct_hundredths) + 5000) // 10000
    if up <= prev_ticks:
        up = prev_ticks + 1
    if down >= prev_ticks:
        down = prev_ticks - 1
    return up, max(down, 1)
