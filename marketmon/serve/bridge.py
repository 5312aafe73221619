"""A bridge: a public quote source, polled, served over the wire protocol.

`BridgeServer` is a `QuoteServer` with no script: its market state comes from
a `Poller`, which it starts and stops with itself. Clients see an ordinary
protocol server (hello, snapshot, deltas, status), so the TUI, `watch` and a
desk gateway all work on live data unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from marketmon.market.sessions import trade_date_of
from marketmon.market.symbols import normalize
from marketmon.serve.flow_record import FlowRecord
from marketmon.serve.server import QuoteServer
from marketmon.serve.sources import get_source
from marketmon.serve.sources.eastmoney import BASE_URL as EASTMONEY_URL
from marketmon.serve.sources.extras import MarketExtras
from marketmon.serve.sources.market import MarketCache, WholeMarket
from marketmon.serve.sources.poll import DEFAULT_INTERVAL, Poller, RequestBudget, SourceFailed


class BridgeServer(QuoteServer):
    """A public source (or several, `"eastmoney,tencent,sina"`: the first that
    answers, the next when it fails `fail_after` rounds in a row) served over
    the protocol. The sources share the state clients hold, so a failover sends
    only what changed: no gap and no new snapshot in the stream.

    With `whole_market`, every listed A-share, ETF, the strip's indices and the
    Southbound HK names (sources/market.py), plus `symbols`. When East Money is
    one of the sources, its Southbound flow and limit pools come too
    (sources/extras.py), whichever source the quotes come from; with
    `flow_record`, the flow history is kept in that file.
    """

    def __init__(
        self,
        source: str,
        symbols: Sequence[str],
        *,
        interval: float = DEFAULT_INTERVAL,
        base_url: str | None = None,
        base_urls: dict[str, str] | None = None,
        on_event: Callable[[str, str], None] = lambda state, detail: None,
        poll_options: dict[str, Any] | None = None,
        whole_market: bool = False,
        market_cache: Path | None = None,
        list_base_url: str | None = None,
        fail_after: int = 3,
        flow_record: Path | None = None,
        extras_options: dict[str, Any] | None = None,
        **server_options: Any,
    ) -> None:
        server_options.setdefault("wait_for_client", False)
        super().__init__(None, **server_options)
        self.trade_date = trade_date_of(int(time.time() * 1000)).isoformat()
        symbols = [normalize(s) for s in symbols]
        names = [n.strip() for n in source.split(",") if n.strip()]
        urls = {name: (base_urls or {}).get(name, base_url) for name in names}
        market = None
        if whole_market:
            # East Money lists the market, from its own base URL if one is given (a bridge to
            # Tencent alone pointed at a test server or a proxy does not list from the public host).
            lister = list_base_url or (base_urls or {}).get("eastmoney") or base_url or EASTMONEY_URL
            lister_budget = RequestBudget((poll_options or {}).get("budget") or get_source("eastmoney").budget)
            market = WholeMarket(MarketCache(market_cache) if market_cache else None, lister, lister_budget.take)
        state: dict[str, dict[str, Any]] = {}
        self.pollers = [
            Poller(get_source(name), symbols, self, base_url=urls[name], interval=interval, on_event=on_event,
                   market=market, state=state, **(poll_options or {}))
            for name in names
        ]  # fmt: skip
        self.extras = None
        if "eastmoney" in names:
            record = FlowRecord(flow_record) if flow_record is not None else None
            self.extras = MarketExtras(self, state, base_url=urls["eastmoney"], interval=interval, record=record,
                                       on_event=on_event, timeout=(poll_options or {}).get("timeout", 10.0),
                                       **(extras_options or {}))  # fmt: skip
        self._extras_task: asyncio.Task | None = None
        self.active = 0
        self.fail_after = fail_after if len(self.pollers) > 1 else None
        self.on_event = on_event
        self._poll_task: asyncio.Task | None = None

    @property
    def poller(self) -> Poller:
        """The source being polled now."""
        return self.pollers[self.active]

    async def start(self) -> int:
        port = await super().start()
        self._poll_task = asyncio.create_task(self._follow(), name="bridge-sources")
        if self.extras is not None:
            self._extras_task = asyncio.create_task(self.extras.run(), name="bridge-extras")
        return port

    async def _follow(self) -> None:
        """Poll the active source; when it fails for good, the next one takes over."""
        why = ""
        while True:
            try:
                await self.poller.run(self.fail_after, detail_up=why)
            except SourceFailed as exc:
                old = self.poller
                self.active = (self.active + 1) % len(self.pollers)
                self.poller.set_symbols(old.extra)  # a list edited meanwhile goes along
                why = f"took over from {exc}"
                self.on_event("failover", f"{self.poller.source.name} {why}")

    async def close(self) -> None:
        for task in (self._poll_task, self._extras_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.extras is not None:
            self.extras.close()
        await super().close()
