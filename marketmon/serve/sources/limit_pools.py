"""East Money's limit pools (push2ex `getTopic*Pool`): the day's limit-ups,
broken boards and limit-downs, as optional quote fields (docs/protocol.md).

Each answer holds `data.pool`, one row per stock: `c` code, `m` market (1
SH, 0 SZ/BJ), `n` name, `p` price x1000. The limit-up pool (`getTopicZTPool`)
adds `lbc` consecutive limit-ups counting today, `fbt`/`lbt` first and last
seal time as an HHMMSS integer, `fund` the seal amount in CNY, `zbc` how often
the board opened. The broken pool (`getTopicZBPool`): `fbt` and `zbc`. The
limit-down pool (`getTopicDTPool`): `days` consecutive limit-downs counting
today, `lbt`, `fund`, `oc` how often it opened. `data: null` is a day with no
pool (a holiday). The pools leave out ST stocks and the STAR Market (their
seals come from quotes, store side). Evidence: docs/sources.md.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from marketmon.market.symbols import SymbolError
from marketmon.serve.sources.base import ParseError
from marketmon.serve.sources.eastmoney import decode, symbol_of

BASE_URL = "https://push2ex.eastmoney.com"
# pool -> (endpoint, sort) as the public clients ask for them
POOLS = {"up": ("getTopicZTPool", "fbt:asc"), "broken": ("getTopicZBPool", "fbt:asc"), "down": ("getTopicDTPool", "fund:asc")}
PAGE_SIZE = 10_000  # one page holds a whole day (a busy day has a few hundred)
UT = "7eea3edcaed734bea9cbfc24409ed989"  # the web page's public token, sent by every client


def pool_url(base: str, pool: str, day: str) -> str:
    """`day` as YYYYMMDD."""
    endpoint, sort = POOLS[pool]
    query = urllib.parse.urlencode({"ut": UT, "dpt": "wz.ztzt", "Pageindex": 0, "pagesize": PAGE_SIZE,
                                    "sort": sort, "date": day})  # fmt: skip
    return f"{base.rstrip('/')}/{endpoint}?{query}"


def _count(row: dict[str, Any], key: str) -> int | None:
    v = row.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000 else None


def _clock(row: dict[str, Any], key: str) -> str | None:
    """92500 -> '09:25:00'; None for a value that is no time of day."""
    v = row.get(key)
    if not (isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 235959):
        return None
    h, m, s = v // 10000, v // 100 % 100, v % 100
    return f"{h:02d}:{m:02d}:{s:02d}" if m < 60 and s < 60 else None


def _amount(row: dict[str, Any], key: str) -> float | None:
    v = row.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1e16 else None


def parse_pool(pool: str, body: bytes | str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """({symbol: the quote fields this pool tells}, rows skipped with the reason)."""
    data = decode(body)["data"]
    if data is None:
        return {}, []
    rows = data.get("pool") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ParseError(f"East Money {POOLS[pool][0]}: no 'pool' list")
    fields: dict[str, dict[str, Any]] = {}
    skipped = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("c"), str):
            skipped.append(f"pool row without a code: {row!r:.60}")
            continue
        try:
            symbol = symbol_of(row.get("m"), row["c"])
        except SymbolError as exc:
            skipped.append(str(exc))
            continue
        if pool == "up":
            boards = _count(row, "lbc")
            got = {"limit_days": boards - 1 if boards else None, "first_seal": _clock(row, "fbt"),
                   "last_seal": _clock(row, "lbt"), "seal_amount": _amount(row, "fund"),
                   "board_opens": _count(row, "zbc")}  # fmt: skip
        elif pool == "broken":
            # Opened and not sealed again: the seal is gone.
            got = {"first_seal": _clock(row, "fbt"), "board_opens": _count(row, "zbc"), "seal_amount": 0.0}
        else:
            days = _count(row, "days")
            got = {"limit_down_days": days - 1 if days else None, "last_seal": _clock(row, "lbt"),
                   "seal_amount": _amount(row, "fund"), "board_opens": _count(row, "oc")}  # fmt: skip
        fields[symbol] = {k: v for k, v in got.items() if v is not None}
    return fields, skipped
