"""Trading phases by the clock (GUIDE section 1), on the calendars of market/calendars.py.

All times are Asia/Shanghai (= Asia/Hong_Kong, UTC+8, no DST).  Boundaries
are half-open: a phase starts at its first minute, so 09:30:00 is continuous
and 11:30:00 is lunch.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from .calendars import calendar, is_half_day, is_trading_day
from .rules import is_cn_trading_day

__all__ = [
    "PHASES",
    "SSE_ETF_CLOSE_AUCTION_FROM",
    "TZ",
    "is_hk_half_day",
    "is_hk_trading_day",
    "is_trading",
    "market_ms",
    "phase",
    "trade_date_of",
]

TZ = ZoneInfo("Asia/Shanghai")

PHASES = ("pre_open", "call_auction", "continuous", "lunch_break", "closing_auction", "closed")
_TRADING = frozenset({"call_auction", "continuous", "closing_auction"})

# From this date SSE ETFs also have the 14:57-15:00 closing call auction.
SSE_ETF_CLOSE_AUCTION_FROM = date(2026, 7, 6)


def _hm(h: int, m: int) -> time:
    return time(h, m)


def trade_date_of(ts_ms: int) -> date:
    """Calendar date of an epoch-ms timestamp in Asia/Shanghai."""
    return datetime.fromtimestamp(ts_ms // 1000, TZ).date()


def market_ms(day: date, t: time) -> int:
    """A market time of day on `day` (Asia/Shanghai) as epoch ms."""
    return int(datetime.combine(day, t, TZ).timestamp() * 1000)


def is_hk_trading_day(d: date) -> bool:
    return is_trading_day("HK", d)


def is_hk_half_day(d: date) -> bool:
    """Morning session only: the calendar file's half days; for a year with no
    file, Christmas Eve and New Year's Eve when they fall on a weekday."""
    if not is_hk_trading_day(d):
        return False
    if d.year in calendar("HK").years:
        return is_half_day("HK", d)
    return d.month == 12 and d.day in (24, 31)


def _cn_phase(d: date, t: time, symbol: str | None) -> str:
    if not is_cn_trading_day(d):
        return "closed"
    if t < _hm(9, 15):
        return "pre_open"
    if t < _hm(9, 25):
        return "call_auction"
    if t < _hm(9, 30):
        return "pre_open"  # auction done, orders queue for 09:30
    if t < _hm(11, 30):
        return "continuous"
    if t < _hm(13, 0):
        return "lunch_break"
    if t < _hm(14, 57):
        return "continuous"
    if t < _hm(15, 0):
        # SSE ETFs had no closing auction before the 2026 rule change.
        sse_etf = symbol is not None and symbol.startswith("5") and symbol.endswith(".SH")
        if sse_etf and d < SSE_ETF_CLOSE_AUCTION_FROM:
            return "continuous"
        return "closing_auction"
    return "closed"


def _hk_phase(d: date, t: time) -> str:
    if not is_hk_trading_day(d):
        return "closed"
    if t < _hm(9, 0):
        return "pre_open"
    if t < _hm(9, 30):
        return "call_auction"  # pre-opening session
    if t < _hm(12, 0):
        return "continuous"
    if is_hk_half_day(d):
        # Morning only; the closing auction runs 12:00 to 12:08-12:10.
        return "closing_auction" if t < _hm(12, 10) else "closed"
    if t < _hm(13, 0):
        return "lunch_break"
    if t < _hm(16, 0):
        return "continuous"
    if t < _hm(16, 10):
        return "closing_auction"  # random close between 16:08 and 16:10
    return "closed"


def phase(market: str, ts_ms: int, *, symbol: str | None = None) -> str:
    """Trading phase of ``market`` ("CN" or "HK") at ``ts_ms``.

    ``symbol`` matters only for CN: SSE ETFs (5xxxxx.SH) trade continuously
    to 15:00 before 2026-07-06.
    """
    dt = datetime.fromtimestamp(ts_ms // 1000, TZ)
    d, t = dt.date(), dt.time()
    m = market.upper()
    if m == "CN":
        return _cn_phase(d, t, symbol)
    if m == "HK":
        return _hk_phase(d, t)
    raise ValueError(f"unknown market {market!r}: expected 'CN' or 'HK'")


def is_trading(phase: str) -> bool:
    """True while orders can match: auctions and continuous trading."""
    return phase in _TRADING
