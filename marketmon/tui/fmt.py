"""Number formatting for the screen: fixed widths, signs, K/M/B/T or 万/亿 units.

Only formatting lives here; every figure shown (pct, limits, premium) comes
computed from the store's frame.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from marketmon.market.rules import lot_size
from marketmon.market.symbols import SymbolError, classify
# Amounts in K/M/B/T or 万/亿 live in market/: alert messages (below the screen) share them.
from marketmon.market.units import UNITS, amount, cn_amount, money, set_units  # noqa: F401

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


def volume(value: float | None, symbol: str = "", kind: str | None = None, compact: bool = False) -> str:
    """A volume in the chosen units: with "cn", A-share stocks and funds in 手 (lots of 100
    shares; of 10 bonds for convertible bonds), Hong Kong (lot sizes vary) and indices in shares; `compact` (a table cell,
    whose header says the unit) without the unit word."""
    if value is None or UNITS["units"] != "cn":
        return amount(value)
    if symbol.endswith(".HK") or kind == "index":
        return cn_amount(value, compact) + ("" if compact or kind == "index" else "股")
    try:
        lot = lot_size(classify(symbol))  # 100 shares; a convertible bond's 手 is 10 bonds (张)
    except SymbolError:
        lot = 100
    return cn_amount(value / lot, compact) + ("" if compact else "手")


def clock(ms: int | None) -> str:
    if ms is None:
        return "--:--:--"
    return dt.datetime.fromtimestamp(ms / 1000, MARKET_TZ).strftime("%H:%M:%S")


def direction(value: float | None) -> str:
    """Tone name for a signed move: up, down or flat."""
    if value is None or abs(value) < 1e-12:
        return "flat"
    return "up" if value > 0 else "down"
