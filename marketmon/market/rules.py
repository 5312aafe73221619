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

from .symbols import Board, Instrument

__all__ = [
    "CN_HOLIDAYS",
    "hk_tick",
    "is_cn_trading_day",
    "is_st",
    "limit_pct",
    "limit_prices",
    "limit_ticks",
    "limits_for",
    "nth_trading_day",
    "tick_size",
    "to_ticks",
]

# Weekday closures of the mainland exchanges (weekends are always closed).
CN_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        # 2024: SSE/SZSE 2024 holiday notice (CSRC 2023 arrangement)
        "2024-01-01",
        "2024-02-09", "2024-02-12", "2024-02-13", "2024-02-14", "2024-02-15", "2024-02-16",
        "2024-04-04", "2024-04-05",
        "2024-05-01", "2024-05-02", "2024-05-03",
        "2024-06-10",
        "2024-09-16", "2024-09-17",
        "2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07",
        # 2025: SSE/SZSE 2025 holiday notice (State Council 2024-11-12)
        "2025-01-01",
        "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-03", "2025-02-04",
        "2025-04-04",
        "2025-05-01", "2025-05-02", "2025-05-05",
        "2025-06-02",
        "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-06", "2025-10-07", "2025-10-08",
        # 2026: SSE/SZSE/BSE notice of 2025-12-22 on 2026 holidays
        "2026-01-01", "2026-01-02",
        "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
        "2026-04-06",
        "2026-05-01", "2026-05-04", "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
    )
)

CHINEXT_REFORM = date(2020, 8, 24)  # ChiNext registration reform: 20 % band
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
    """A-share price tick; for HK a display default (the real one is hk_tick)."""
    if inst.exchange == "HK":
        return _MILLI
    if inst.board is Board.FUND:
        return _MILLI
    if inst.exchange == "SH" and inst.code.startswith("900"):
        return _MILLI  # SSE B shares quote in USD to 0.001
    return _CENT


# Risk-warning prefixes; the look-ahead keeps English names like "STAR 50 ETF"
# from counting as ST while "ST 华通" and "*ST国华" do.
_ST = re.compile(r"^(?:S?\*\s*ST|SST|ST)(?![A-Za-z])")


def is_st(name: str | None) -> bool:
    """True for risk-warning names: ST, *ST, S*ST, SST."""
    if not name:
        return False
    return _ST.match(name.strip().replace("＊", "*")) is not None


def is_cn_trading_day(d: date) -> bool:
    return d.weekday() < 5 and d not in CN_HOLIDAYS


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


def limit_pct(
    inst: Instrument,
    *,
    trade_date: date | str,
    st: bool = False,
    listed: date | str | None = None,
) -> Decimal | None:
    """Daily band in percent, chosen by the trade date; None = no limit.

    Not modelled: delisting-period days and fund listing days.
    """
    trade_date = _date(trade_date)
    listed = _date(listed) if listed is not None else None
    if inst.board in (Board.INDEX, Board.HK) or inst.exchange == "HK":
        return None
    if _ipo_free(inst, trade_date, listed):
        return None
    if inst.board is Board.STAR:
        return Decimal(20)
    if inst.board is Board.BSE:
        return Decimal(30)
    if inst.board is Board.CHINEXT:
        if trade_date >= CHINEXT_REFORM:
            return Decimal(20)
        return Decimal(5) if st else Decimal(10)
    if inst.board is Board.FUND:
        if inst.growth_fund and (inst.exchange == "SH" or trade_date >= CHINEXT_REFORM):
            return Decimal(20)
        return Decimal(10)
    # Main board (and B shares).
    if st and trade_date < ST_10PCT_FROM:
        return Decimal(5)
    return Decimal(10)


def _round_to(x: Decimal, tick: Decimal) -> Decimal:
    """Round half up to a multiple of tick (also works for ticks like 0.005)."""
    return ((x / tick).to_integral_value(ROUND_HALF_UP) * tick).quantize(tick)


def limit_prices(prev_close, pct, tick) -> tuple[Decimal, Decimal]:
    """(limit_up, limit_down) for a previous close, band percent and tick.

    One-tick floor: when rounding swallows the band the limit is prev +/- one
    tick.  Down never goes below one tick: at prev == tick (the smallest
    quotable price) limit_down equals prev, because 0 is not a price.
    """
    prev, p, t = _dec(prev_close), _dec(pct), _dec(tick)
    if prev <= 0 or t <= 0:
        raise ValueError(f"prev_close and tick must be positive: {prev_close!r}, {tick!r}")
    up = _round_to(prev * (100 + p) / 100, t)
    down = _round_to(prev * (100 - p) / 100, t)
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
    pct = limit_pct(inst, trade_date=trade_date, st=st, listed=listed)
    if pct is None:
        return None
    return limit_prices(prev_close, pct, tick_size(inst))


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
