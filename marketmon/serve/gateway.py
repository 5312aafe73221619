"""A desk gateway: one upstream feed, fanned out to many terminals.

The upstream side is the ordinary `FeedClient` (reconnect with backoff, a
fresh snapshot after each reconnect, resync on a seq gap), pointed at a
`Relay` (a `QuoteSink`, like the Store): every message it would merge into a screen is
published to a `QuoteServer` in coalescing mode instead. So each terminal
gets its own numbered stream and a bounded queue, and a slow terminal gets
merged updates rather than holding up the desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from marketmon.feed.client import FeedClient, FeedEvent
from marketmon.feed.protocol import Quote
from marketmon.feed.sink import add_unknown
from marketmon.serve.server import QuoteServer


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """Server-side TLS from a certificate chain and its private key (PEM files)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class Relay:
    """The gateway's `QuoteSink`: what FeedClient writes goes on to the server.

    FeedClient calls these synchronously from its receive loop. Messages go
    through an unbounded FIFO to one pump task that publishes in order; a
    coalescing server never blocks on publish, so the FIFO stays short.
    """

    def __init__(self, server: QuoteServer) -> None:
        self.server = server
        self.stale = False
        self.clock: int | None = None
        self.phases: dict[str, str] = {}
        self.unknown: set[str] = set()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    # the QuoteSink protocol (feed/sink.py) ------------------------------------------

    def merge(self, quotes: Sequence[Quote], ts: int | None = None) -> None:
        body: dict[str, Any] = {"type": "quotes", "quotes": [msgspec.to_builtins(q) for q in quotes]}
        if ts is not None:
            body["ts"] = ts
            self.clock = ts if self.clock is None else max(self.clock, ts)
        if body["quotes"]:
            self.outbox.put_nowait(body)

    def flush(self) -> None:
        pass  # nothing waits: every message is in the outbox already

    def note_unknown(self, symbols: list[str]) -> None:
        add_unknown(self.unknown, symbols)

    def set_trade_date(self, text: str | None, tz: str | None = None) -> None:
        self.server.set_session(text, tz)  # the upstream's hello: terminals get theirs now

    def set_phase(self, market: str, phase: str, ts: int | None) -> None:
        self.phases[market] = phase
        self.outbox.put_nowait(_without_none({"type": "status", "ts": ts, "market": market, "phase": phase}))

    def set_flow(self, southbound: dict[str, Any], top: list[dict[str, Any]], ts: int | None) -> None:
        self.outbox.put_nowait(_without_none({"type": "flow", "ts": ts, "southbound": southbound, "top": top}))

    def set_flow_history(self, days: list[dict[str, Any]]) -> None:
        self.outbox.put_nowait({"type": "flow_history", "days": days})

    def set_source(self, name: str, state: str, detail: str, ts: int | None) -> None:
        self.outbox.put_nowait(_without_none(
            {"type": "source", "ts": ts, "name": name, "state": state, "detail": detail or None}))

    async def pump(self) -> None:
        while True:
            await self.server.publish(await self.outbox.get())
            self.outbox.task_done()


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


class Gateway:
    """`async with Gateway(upstream_url, port=0) as gw:` ... terminals connect to `gw.url`."""

    def __init__(
        self,
        upstream: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        on_event: Callable[[FeedEvent], None] = lambda e: None,
        **client_options: Any,
    ) -> None:
        self.server = QuoteServer(
            None, host=host, port=port, token=token, coalesce=True, ssl_context=ssl_context, wait_for_client=False,
            await_session=True,
        )  # fmt: skip
        self.relay = Relay(self.server)
        self.client = FeedClient(upstream, self.relay, on_event=on_event, **client_options)
        self._tasks: list[asyncio.Task] = []
        self.upstream_task: asyncio.Task[str] | None = None  # ends ("eof") when the upstream session does

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> int:
        port = await self.server.start()
        self._tasks = [asyncio.create_task(self.relay.pump(), name="gateway-pump")]
        self.upstream_task = asyncio.create_task(self._follow(), name="gateway-upstream")
        self._tasks.append(self.upstream_task)
        return port

    async def _follow(self) -> str:
        why = await self.client.run()
        if why == "eof":  # the upstream session is over: pass it on, after what is queued
            await self.relay.outbox.join()
            await self.server.finish()
        return why

    async def close(self) -> None:
        self.client.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.server.close()

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
