"""Number formatting for the screen: fixed widths, signs, K/M/B/T units.

Only formatting lives here; every figure shown (pct, limits, premium) comes
computed from the store's frame.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

MARKET_TZ = ZoneInfo("Asia/Shanghai")  # also Hong Kong's offset: UTC+8, no DST
DASH = "-"


def decimals(tick: float | None, price: float | None = None) -> int:
    """Price decimals: funds trade in 0.001, stocks and indices in 0.01;
    HK pennies below HKD 0.25 trade in 0.001."""
    if tick is not None and tick < 0.005:
        return 3
    if price is not None and 0 < price < 0.25:
        return 3
    return 2


def price(value: float | None, tick: float | None = 0.01) -> str:
    return DASH if value is None else f"{value:,.{decimals(tick, value)}f}"


def change(value: float | None, tick: float | None = 0.01) -> str:
    return DASH if value is None else f"{value:+,.{decimals(tick)}f}"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value:+.2f}%"


def amount(value: float | None) -> str:
    """Turnover or volume in K/M/B/T (2.55T, 63.51M)."""
    if value is None:
        return DASH
    size = abs(value)
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if size >= scale:
            return f"{value / scale:.2f}{unit}"
    return f"{value:.0f}"


def clock(ms: int | None) -> str:
    if ms is None:
        return "--:--:--"
    return dt.datetime.fromtimestamp(ms / 1000, MARKET_TZ).strftime("%H:%M:%S")


def direction(value: float | None) -> str:
    """Tone name for a signed move: up, down or flat."""
    if value is None or abs(value) < 1e-12:
        return "flat"
    return "up" if value > 0 else "down"
