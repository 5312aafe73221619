"""The engine: feed client + store + alerts, on one flush tick; and `open_feed`,
the one way a feed is opened (a URL, or the demo day, a recording, a public
source or an upstream served from here).

The headless `watch` and the TUI run exactly this Engine; the TUI only reads
`engine.store` and listens to the callbacks. `marketmon serve` opens its feed
with the same `open_feed`, on the address the user gives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketmon.alerts.rules import Alert, AlertConfig, AlertEngine
from marketmon.config.day_record import Recorder, demo_recorder
from marketmon.feed.client import FeedClient, FeedEvent
from marketmon.serve.publish import FeedChoice, start_feed_server
from marketmon.store.state import Store

__all__ = ["FLUSH_INTERVAL_S", "Engine", "FeedChoice", "OpenFeed", "Recorder", "day_recorder", "open_feed"]

FLUSH_INTERVAL_S = 0.25


class Engine:
    def __init__(
        self,
        url: str,
        *,
        symbols: list[str] | None = None,
        alerts: AlertConfig | None = None,
        on_alert: Callable[[Alert], None] = lambda a: None,
        on_feed: Callable[[FeedEvent], None] = lambda e: None,
        on_flush: Callable[[], None] = lambda: None,
        flush_interval: float | None = FLUSH_INTERVAL_S,
        day: Recorder | None = None,
        **client_options: object,
    ) -> None:
        self.store = Store()
        self.day = day  # the day record: the previous day's limit closes and turnover, today's at the close
        self.alerts = AlertEngine(alerts)
        self.on_alert, self.on_flush, self.on_feed = on_alert, on_flush, on_feed
        self._told_unclassified = False
        self.flush_interval = flush_interval
        self.client = FeedClient(
            url, self.store, symbols=symbols, on_event=on_feed, flush=self.flush, after_flow=self._after_flow,
            **client_options,  # type: ignore[arg-type]
        )

    def flush(self) -> None:
        """Apply the pending quotes, part by part, and run the alert rules after each part."""
        evaluated = False
        for events in self.store.flush_parts(self.alerts.guard):
            for alert in self.alerts.evaluate(self.store, events):
                self.on_alert(alert)
            evaluated = True
        if not evaluated:  # nothing pending: the market-wide rules still look (a new flow)
            for alert in self.alerts.evaluate(self.store, []):
                self.on_alert(alert)
        if self.store.first_unclassified and not self._told_unclassified:
            self._told_unclassified = True  # said once; the count stays on screen and in watch's end line
            self.on_feed(FeedEvent("unclassified", self.store.clock or 0, (
                f"{self.store.first_unclassified} is of a kind marketmon does not know: kept as board 'other', "
                "with limits only where the feed sends them")))
        if self.day is not None:
            self.day.after_flush(self.store)
        self.on_flush()

    def _after_flow(self) -> None:
        # A flow rule must see each flow message, not only the latest at the next flush.
        if self.alerts.watches_flow():
            self.flush()

    async def run(self) -> str:
        """Run until the feed ends (eof) or stop(); returns why it ended.

        With flush_interval=None the owner flushes (the TUI does, right before
        it draws, so data waits for one screen tick, not two).
        """
        ticker = asyncio.create_task(self._tick()) if self.flush_interval else None
        try:
            return await self.client.run()
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            if self.store.has_pending:
                self.flush()
            if self.day is not None:
                self.day.close(self.store)

    def stop(self) -> None:
        self.client.stop()

    async def _tick(self) -> None:
        assert self.flush_interval
        while True:
            await asyncio.sleep(self.flush_interval)
            if self.store.has_pending:
                self.flush()


def day_recorder(choice: FeedChoice, *, write: bool) -> Recorder | None:
    """The day record for a feed: the demo's own day before (never written); a live
    feed's from the user data folder, written at the close when `write` (the screen)."""
    if choice.demo:
        return demo_recorder()
    if choice.url is not None or choice.source is not None:
        return Recorder(write=write)
    return None  # a recording replays its own day: no record


@dataclass
class OpenFeed:
    """A feed to follow at `url`, and the server started for it (None for a URL as given)."""

    url: str
    server: Any = None

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def __aenter__(self) -> OpenFeed:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def open_feed(choice: FeedChoice, **server_options: Any) -> OpenFeed:
    """Open the feed `choice` names: a URL as it is; anything else served from
    this process, on a free loopback port unless `server_options` (host, port,
    token, ssl_context) say where. Close the result when done."""
    if choice.url is not None:
        return OpenFeed(choice.url)
    server = await start_feed_server(choice, **server_options)
    return OpenFeed(server.url, server)
