"""Southbound Stock Connect flow from East Money: today's legs and past days.

`kamt/get` answers one object per leg: `sh2hk` (港股通(沪)) and `sz2hk`
(港股通(深)) are the Southbound ones. Amounts are in 10k CNY (万元). Since
2024-08-19 the exchanges no longer publish the intraday quota balance, and
the 2026 answer shows what that did to the old fields: `dayNetAmtIn` equals
the daily quota, `dayAmtRemain` reads 0; the flow is `buyAmt`, `sellAmt` and
`netBuyAmt` (= buy - sell). So only those three are read as flow, and the
quota (`dayAmtThreshold`) as the quota; the balance is not sent (the panel
shows "sufficient" as the exchange does). Evidence and doubts: docs/sources.md.

`kamt.kline/get` with `fields1=f2,f4,f6` answers `n2s` (Southbound in all),
rows of `"YYYY-MM-DD,net"` in 10k CNY: the days before today that seed the
flow history marketmon keeps (serve/flow_record.py). Since 2024-08 public
clients report these net figures empty or NaN; such days are skipped.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from marketmon.serve.sources.base import ParseError
from marketmon.serve.sources.eastmoney import decode

WAN = 10_000  # East Money's Stock Connect amounts are in 万元
LEGS = {"SH": "sh2hk", "SZ": "sz2hk"}  # protocol channel -> East Money leg

FLOW_PATH = "/api/qt/kamt/get?fields1=f1,f2,f3,f4&fields2=f51,f52,f53,f54,f56,f57,f58,f59,f60,f61,f62,f63,f64,f65"
HISTORY_PATH = "/api/qt/kamt.kline/get?fields1=f2,f4,f6&fields2=f51,f52&klt=101&lmt={days}"
HISTORY_BASE_URL = "https://push2his.eastmoney.com"


def flow_url(base: str) -> str:
    return base.rstrip("/") + FLOW_PATH


def history_url(base: str, days: int = 30) -> str:
    return base.rstrip("/") + HISTORY_PATH.format(days=days)


def _amount(leg: dict[str, Any], key: str) -> float | None:
    """A 万元 figure as CNY; None when absent, "-", NaN or not a number."""
    v = leg.get(key)
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v) * WAN


def parse_flow(body: bytes | str) -> tuple[dict[str, dict[str, float]], str | None]:
    """({"SH": FLOW, "SZ": FLOW}, the answer's trade date or None).

    A leg without buy/sell/net figures is left out rather than sent as zeros.
    """
    data = decode(body)["data"]
    if not isinstance(data, dict):
        raise ParseError("East Money kamt: 'data' is not an object")
    channels: dict[str, dict[str, float]] = {}
    day = None
    for channel, key in LEGS.items():
        leg = data.get(key)
        if not isinstance(leg, dict):
            continue
        buy, sell, net = (_amount(leg, k) for k in ("buyAmt", "sellAmt", "netBuyAmt"))
        if net is None and buy is not None and sell is not None:
            net = buy - sell
        if net is None:
            continue
        flow = {"net_buy_cny": net}
        if buy is not None and sell is not None:
            flow |= {"buy_cny": buy, "sell_cny": sell}
        quota = _amount(leg, "dayAmtThreshold")
        if quota:
            flow["quota_cny"] = quota
        channels[channel] = flow
        if isinstance(leg.get("date2"), str):
            day = leg["date2"]
    if not channels and not any(isinstance(data.get(k), dict) for k in LEGS.values()):
        raise ParseError("East Money kamt: no Southbound leg (sh2hk, sz2hk)")
    return channels, day


def parse_history(body: bytes | str) -> list[dict[str, Any]]:
    """Past days, oldest first: [{"date", "net_buy_cny"}]; rows that are not a
    date and a finite number are skipped."""
    data = decode(body)["data"]
    if data is None:
        return []
    rows = data.get("n2s") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ParseError("East Money kamt.kline: no 'n2s' rows")
    days: dict[str, float] = {}
    for row in rows:
        if not isinstance(row, str):
            continue
        day, _, value = row.partition(",")
        try:
            dt.date.fromisoformat(day)
            net = float(value.split(",")[0])
        except ValueError:
            continue
        if math.isfinite(net):
            days[day] = net * WAN
    return [{"date": d, "net_buy_cny": days[d]} for d in sorted(days)]
