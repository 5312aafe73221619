"""The whole market: what a live source covers when no symbols are given.

East Money's `api/qt/clist/get` pages through a market by filter (`fs`), so a
few requests list every instrument; Sina and Tencent cannot list, so every
source polls the list East Money gives, kept for the day in a cache file.

The filters, as the public clients that read this endpoint use them (cited in
docs/sources.md): A-shares `m:0 t:6` (SZ main), `m:0 t:80` (ChiNext),
`m:1 t:2` (SH main), `m:1 t:23` (STAR), `m:0 t:81 s:2048` (BSE); ETFs
`b:MK0021..MK0024`; the Southbound-eligible HK stocks `b:MK0146,b:MK0144`.
The indices of the strip are added by name (they are few and fixed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from marketmon.market.symbols import INDICES, SymbolError
from marketmon.serve.sources.base import ParseError, write_whole
from marketmon.serve.sources.eastmoney import BASE_URL, decode, symbol_of

FILTERS: dict[str, str] = {
    "A-shares": "m:0 t:6,m:0 t:80,m:1 t:2,m:1 t:23,m:0 t:81 s:2048",
    "ETFs": "b:MK0021,b:MK0022,b:MK0023,b:MK0024",
    "Southbound HK": "b:MK0146,b:MK0144",
}
# The strip's indices (SSE, SZSE, ChiNext, STAR 50, CSI 300, HSI, HS TECH) and
# the three whose turnover adds up to the A-share market.
STRIP = tuple(INDICES)
PAGE_SIZE = 100  # rows per page: what public clients ask for (the server may give fewer)
MAX_PAGES = 200  # a bound should `total` be absurd: 20,000 rows per filter


def list_url(base: str, fs: str, page: int, size: int = PAGE_SIZE) -> str:
    query = urllib.parse.urlencode({
        "pn": page, "pz": size, "po": 1, "np": 1, "fltt": 2, "invt": 2, "fid": "f12", "fs": fs,
        "fields": "f12,f13,f14",
    })  # fmt: skip
    return f"{base.rstrip('/')}/api/qt/clist/get?{query}"


def parse_page(body: bytes | str) -> tuple[list[str], int | None]:
    """The symbols of one clist page and the filter's `total` (None when not given).
    Rows of a market marketmon does not follow are skipped: a listing, not quotes."""
    data = decode(body).get("data")
    if data is None:
        return [], 0
    if not isinstance(data, dict):
        raise ParseError("East Money 'data' is not an object")
    diff = data.get("diff") or []
    rows = list(diff.values()) if isinstance(diff, dict) else diff
    if not isinstance(rows, list):
        raise ParseError("East Money 'data.diff' is neither a list nor an object")
    symbols = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("f12"), str):
            raise ParseError(f"list row without a code: {row!r:.60}")
        try:
            symbols.append(symbol_of(row.get("f13"), row["f12"]))
        except SymbolError:
            continue
    total = data.get("total")
    return symbols, total if isinstance(total, int) and not isinstance(total, bool) else None


async def list_market(
    fetch: Callable[[str, dict[str, str], float], bytes],
    base_url: str = BASE_URL,
    *,
    timeout: float = 10.0,
    page_size: int = PAGE_SIZE,
    before: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[list[str], int]:
    """Every instrument of the filters, then the strip's indices; and the number
    of requests it took. `fetch` is the poller's (it raises FetchError);
    `before` is awaited before each request, `after` with the count so far."""
    symbols: dict[str, None] = {}
    requests = 0
    for fs in FILTERS.values():
        seen = 0
        for page in range(1, MAX_PAGES + 1):
            if before is not None:
                await before()  # the request budget
            body = await asyncio.to_thread(fetch, list_url(base_url, fs, page, page_size), {}, timeout)
            requests += 1
            found, total = parse_page(body)
            symbols.update(dict.fromkeys(found))
            if after is not None:
                await after(len(symbols))
            seen += len(found)
            if not found or total is None or seen >= total:
                break
    symbols.update(dict.fromkeys(STRIP))
    return list(symbols), requests


class MarketCache:
    """The day's list in a small JSON file per source of the list, so a restart
    (or Sina, Tencent) does not list the market again."""

    def __init__(self, folder: Path, lister: str = "eastmoney") -> None:
        self.folder, self.lister = folder, lister

    def path(self, day: dt.date) -> Path:
        return self.folder / f"{self.lister}-{day.isoformat()}.json"

    def load(self, day: dt.date) -> list[str] | None:
        try:
            data: Any = json.loads(self.path(day).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # none yet, or a torn file: list again
        symbols = data.get("symbols") if isinstance(data, dict) else None
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            return None
        return symbols

    def save(self, day: dt.date, symbols: Sequence[str]) -> None:
        """Written whole or not at all (temp file, then rename); older days removed."""
        text = json.dumps({"date": day.isoformat(), "lister": self.lister, "symbols": list(symbols)})
        write_whole(self.path(day), text)
        for old in self.folder.glob(f"{self.lister}-*.json"):
            if old != self.path(day):
                old.unlink(missing_ok=True)


class WholeMarket:
    """Today's list: from the cache when there is one, else listed and cached."""

    def __init__(
        self, cache: MarketCache | None = None, base_url: str = BASE_URL,
        budget: Callable[[], Awaitable[None]] | None = None,
    ) -> None:  # fmt: skip
        self.cache, self.base_url = cache, base_url
        # East Money's request budget, for a Sina or Tencent poller that lists from it
        # (an East Money poller lists on its own budget: one host, one budget).
        self.budget = budget
        self.requests = 0  # list requests made (0 when the cache served)

    async def symbols(
        self, day: dt.date, fetch: Callable[[str, dict[str, str], float], bytes],
        before: Callable[[], Awaitable[None]] | None = None,
        after: Callable[[int], Awaitable[None]] | None = None,
    ) -> tuple[list[str], str]:
        """The list for `day` and where it came from, for the log and the status."""
        cached = self.cache.load(day) if self.cache is not None else None
        if cached:
            return cached, f"the cached list of {day}"
        symbols, requests = await list_market(fetch, self.base_url, before=before, after=after)
        self.requests += requests
        if self.cache is not None:
            try:
                self.cache.save(day, symbols)
            except OSError:
                pass  # no cache this time: the list is still good for today
        return symbols, f"East Money's list ({requests} requests)"
