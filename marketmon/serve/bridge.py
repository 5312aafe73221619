"""A bridge: a public quote source, polled, served over the wire protocol.

`BridgeServer` is a `QuoteServer` with no script: its market state comes from
a `Poller`, which it starts and stops with itself. Clients see an ordinary
protocol server (hello, snapshot, deltas, status), so the TUI, `watch` and a
desk gateway all work on live data unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from marketmon.market.symbols import normalize
from marketmon.serve.server import QuoteServer
from marketmon.serve.sources import get_source
from marketmon.serve.sources.base import MARKET_TZ
from marketmon.serve.sources.eastmoney import BASE_URL as EASTMONEY_URL
from marketmon.serve.sources.market import MarketCache, WholeMarket
from marketmon.serve.sources.poll import DEFAULT_INTERVAL, Poller


class BridgeServer(QuoteServer):
    """With `whole_market`, the source polls every listed A-share, ETF, the strip's
    indices and the Southbound HK names (sources/market.py), plus `symbols`."""

    def __init__(
        self,
        source: str,
        symbols: Sequence[str],
        *,
        interval: float = DEFAULT_INTERVAL,
        base_url: str | None = None,
        on_event: Callable[[str, str], None] = lambda state, detail: None,
        poll_options: dict[str, Any] | None = None,
        whole_market: bool = False,
        market_cache: Path | None = None,
        list_base_url: str | None = None,
        **server_options: Any,
    ) -> None:
        server_options.setdefault("wait_for_client", False)
        super().__init__(None, **server_options)
        self.trade_date = dt.datetime.now(MARKET_TZ).date().isoformat()
        symbols = [normalize(s) for s in symbols]
        market = None
        if whole_market:
            # East Money lists the market; a bridge to it lists from the same host.
            lister = list_base_url or (base_url if source == "eastmoney" else None) or EASTMONEY_URL
            market = WholeMarket(MarketCache(market_cache) if market_cache else None, lister)
        self.poller = Poller(
            get_source(source), symbols, self, base_url=base_url, interval=interval, on_event=on_event,
            market=market, **(poll_options or {}),
        )  # fmt: skip
        self._poll_task: asyncio.Task | None = None

    async def start(self) -> int:
        port = await super().start()
        self._poll_task = asyncio.create_task(self.poller.run(), name=f"poll-{self.poller.source.name}")
        return port

    async def close(self) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        await super().close()
