"""Southbound Stock Connect arithmetic (GUIDE section 1). Pure, no I/O."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

__all__ = [
    "DAILY_QUOTA_CNY",
    "amounts",
    "QUOTA_DISPLAY_RULE_FROM",
    "leaders",
    "net_buy",
    "quota_display",
    "quota_left",
    "quota_used_pct",
    "streak",
]

DAILY_QUOTA_CNY = 42e9  # per channel (SH and SZ)

# From this date the balance reads "sufficient" until under 30 % remains.
QUOTA_DISPLAY_RULE_FROM = date(2024, 8, 19)
_SUFFICIENT_SHARE = 0.30


def quota_left(quota: float, buy_orders: float, sell_trades: float) -> float:
    """Balance = quota - buy orders + sell trades."""
    return quota - buy_orders + sell_trades


def quota_used_pct(quota: float, left: float) -> float | None:
    """Share of the daily quota used, in percent; None without a quota."""
    if not quota or quota <= 0:
        return None
    return (quota - left) / quota * 100.0


def quota_display(quota: float, left: float, trade_date: date | str) -> str:
    """What the exchange shows for the balance on ``trade_date``."""
    d = date.fromisoformat(trade_date) if isinstance(trade_date, str) else trade_date
    if d >= QUOTA_DISPLAY_RULE_FROM and left >= quota * _SUFFICIENT_SHARE:
        return "sufficient"
    return f"RMB {left / 1e9:.1f} bn"


def amounts(channel: dict) -> tuple[str, float | None, float | None, float | None]:
    """(currency, net buy, buy, sell) of one channel's flow: HKD where the feed
    gives HKD (HKEX's count), else CNY (what East Money publishes)."""
    for currency in ("hkd", "cny"):
        net, buy, sell = (channel.get(f"{k}_{currency}") for k in ("net_buy", "buy", "sell"))
        if net is not None or buy is not None or sell is not None:
            if net is None and buy is not None and sell is not None:
                net = buy - sell
            return currency.upper(), net, buy, sell
    return "HKD", None, None, None


def net_buy(buy: float, sell: float) -> float:
    return buy - sell


def _top_value(day: dict, symbol: str) -> float | None:
    for row in day.get("top") or ():
        if row.get("symbol") == symbol:
            return row.get("net_buy_hkd")
    return None


def streak(days: list[dict], symbol: str) -> tuple[int, float]:
    """(consecutive most recent days net bought, summed net buy over them).

    ``days`` is flow_history, oldest first.  A day where the symbol is absent
    from the top list ends the streak: its net buy that day is not known.
    """
    count, total = 0, 0.0
    for day in reversed(days):
        v = _top_value(day, symbol)
        if v is None or v <= 0:
            break
        count += 1
        total += v
    return count, total


def leaders(days: list[dict], n: int) -> list[tuple[str, float]]:
    """Top ``n`` symbols by summed net buy over ``days`` (ties by symbol)."""
    sums: dict[str, float] = defaultdict(float)
    for day in days:
        for row in day.get("top") or ():
            v = row.get("net_buy_hkd")
            if v is not None:
                sums[row["symbol"]] += v
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[: max(n, 0)]
