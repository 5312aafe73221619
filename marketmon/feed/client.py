"""The quote-stream client: connect, subscribe, take the snapshot, follow deltas.

It reconnects with exponential backoff and jitter, subscribes again and takes
a new snapshot after every (re)connect, resyncs on a `seq` gap, and marks the
market stale when the feed is down or silent in trading hours. The receive
loop only decodes and hands each message to a `QuoteSink` (feed/sink.py: the
Store, or the desk gateway's relay); flushing is somebody else's tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.protocol import State

from marketmon.feed import protocol
from marketmon.feed.safe_text import first_few
from marketmon.feed.sink import QuoteSink
from marketmon.market.sessions import is_trading

# Merge at most this many quotes into one flush: a burst (or a replay at full
# speed) must not pile up in memory until the next tick.
MAX_PENDING_QUOTES = 50_000


class FeedUnreachable(RuntimeError):
    """The feed could not be reached at all within the give-up time."""


@dataclass(slots=True, frozen=True)
class FeedEvent:
    state: str  # connected, disconnected, reconnecting, resync, eof, stale, live, error, unknown, source, unclassified
    ts: int  # epoch ms, market time where known
    detail: str = ""


@dataclass(slots=True)
class FeedStats:
    messages: int = 0
    bad_messages: int = 0
    duplicates: int = 0
    quotes: int = 0
    reconnects: int = 0
    resyncs: int = 0


class FeedClient:
    def __init__(
        self,
        url: str,
        sink: QuoteSink,
        *,
        symbols: list[str] | None = None,
        on_event: Callable[[FeedEvent], None] = lambda e: None,
        flush: Callable[[], None] | None = None,
        after_flow: Callable[[], None] = lambda: None,
        stale_after: float = 15.0,
        give_up_after: float = 10.0,
        backoff_initial: float = 0.25,
        backoff_max: float = 15.0,
        ping_interval: float | None = 10.0,
        ping_timeout: float | None = 10.0,
        max_size: int = protocol.MAX_FRAME_BYTES,
        close_timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.sink = sink
        self.symbols = symbols or ["*"]
        self.on_event = on_event
        self.flush = flush or sink.flush
        self.after_flow = after_flow  # called once a flow message is in the sink
        self.stale_after = stale_after
        self.give_up_after = give_up_after
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.max_size = max_size
        self.close_timeout = close_timeout
        self._told: set[str] = set()  # unknown symbols already reported
        self._merged = 0  # quotes merged since this client last flushed (an upper bound on the pending batch)
        self.stats = FeedStats()
        self.decoder = protocol.FeedDecoder()  # learns the fields of this feed's deltas
        self.connected = False
        self._last_rx = time.monotonic()
        self._request_id = 0
        self._expected = 1  # the next seq on this connection
        self._source_down = False  # the server says what it serves is down: quotes stay stale
        self._stopping = asyncio.Event()

    # public ------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> str:
        """Follow the feed until eof ("eof") or stop() ("stopped")."""
        attempt = 0
        started = time.monotonic()
        ever_connected = False
        while not self._stopping.is_set():
            try:
                async with connect(
                    self.url,
                    max_size=self.max_size,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_timeout,
                    open_timeout=5,
                    close_timeout=self.close_timeout,
                    compression=None,
                ) as ws:
                    attempt = 0
                    ever_connected = True
                    if await self._follow(ws) == "eof":
                        return "eof"
            except InvalidURI as exc:
                raise FeedUnreachable(f"bad feed URL {redact(self.url)!r}: {exc}") from None
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                self._lost(str(exc) or type(exc).__name__)
            if self._stopping.is_set():
                break
            if not ever_connected and time.monotonic() - started > self.give_up_after:
                raise FeedUnreachable(f"cannot reach the feed at {redact(self.url)}")
            delay = min(self.backoff_max, self.backoff_initial * 2**attempt)
            delay *= 0.5 + random.random() / 2  # jitter: terminals must not reconnect in lockstep
            attempt += 1
            self.stats.reconnects += 1
            self._emit("reconnecting", f"in {delay:.1f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        return "stopped"

    # one connection ------------------------------------------------------------

    async def _follow(self, ws: ClientConnection) -> str | None:
        self.connected = True
        self._source_down = False  # the server says it again after the snapshot if so
        self._last_rx = time.monotonic()
        self._emit("connected", redact(self.url))  # shown and logged: never the token
        watchdog = asyncio.create_task(self._watch_silence())
        stop = asyncio.create_task(self._stopping.wait())
        receiver: asyncio.Task[str | None] | None = None
        try:
            await self._subscribe(ws)
            receiver = asyncio.create_task(self._receive(ws))
            # Its error is read below, unless we are cancelled first (the app quits):
            # then nobody is left to read it, and asyncio would print it on exit.
            receiver.add_done_callback(lambda t: t.cancelled() or t.exception())
            done, _ = await asyncio.wait({receiver, stop}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                return receiver.result()
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
            return "stopped"
        finally:
            watchdog.cancel()
            stop.cancel()
            if receiver is not None:
                receiver.cancel()  # a no-op when it is done; else we were cancelled: it goes too
            if self.connected:
                self._lost(_why_closed(ws))

    async def _subscribe(self, ws: ClientConnection) -> None:
        self._request_id += 1
        await ws.send(protocol.subscribe(self.symbols, self._request_id).decode())

    async def _receive(self, ws: ClientConnection) -> str | None:
        self._expected = 1
        async for frame in ws:
            self._last_rx = time.monotonic()
            if self.sink.stale and self.connected and not self._source_down:
                self.sink.stale = False
                self._emit("live")
            outcome = self.handle(frame)
            if outcome == "resync":
                await self._subscribe(ws)
            elif outcome == "eof":
                self.connected = False
                self._emit("eof")
                return "eof"
        return None

    def handle(self, frame: str | bytes) -> str | None:
        """Take one frame into the sink; say "resync" or "eof" when that must follow.

        Decoding validates; merging only appends quotes to the pending batch.
        """
        sink, stats = self.sink, self.stats
        stats.messages += 1
        try:
            msg = self.decoder.decode(frame)
        except protocol.BadFrame:
            stats.bad_messages += 1
            return None
        if msg is None:
            return None
        seq = getattr(msg, "seq", None)
        if seq is not None:
            if seq < self._expected:  # a duplicate or a straggler: already seen
                stats.duplicates += 1
                return None
            if seq > self._expected:  # lost messages: start over from a snapshot
                stats.resyncs += 1
                self._emit("resync", f"expected seq {self._expected}, got {seq}")
                self._expected = seq + 1
                return "resync"
            self._expected += 1
        if isinstance(msg, protocol.Quotes):
            if self._merged >= MAX_PENDING_QUOTES:
                self._flush()
            sink.merge(msg.quotes, msg.ts)
            stats.quotes += len(msg.quotes)
            self._merged += len(msg.quotes)
        elif isinstance(msg, protocol.Snapshot):
            if self._merged >= MAX_PENDING_QUOTES:
                self._flush()
            sink.merge(msg.quotes, msg.ts)
            stats.quotes += len(msg.quotes)
            self._merged += len(msg.quotes)
            if msg.unknown:
                sink.note_unknown(list(msg.unknown))
                self._told.update(sink.unknown.intersection(msg.unknown))
                self._emit("unknown", first_few(msg.unknown))
            if not msg.more:
                self._flush()
        elif isinstance(msg, protocol.FlowMsg):
            sink.set_flow(msgspec.to_builtins(msg.southbound), msgspec.to_builtins(msg.top), msg.ts)
            self.after_flow()
        elif isinstance(msg, protocol.FlowHistory):
            sink.set_flow_history(msgspec.to_builtins(msg.days))
        elif isinstance(msg, protocol.Status):
            sink.set_phase(msg.market, msg.phase, msg.ts)
        elif isinstance(msg, protocol.SourceState):
            sink.set_source(msg.name, msg.state, msg.detail, msg.ts)
            # A bridge whose public source fails, a NATS gateway whose NATS is
            # away: the connection is fine, the quotes are not live.
            self._source_down = msg.state == "down"
            if self._source_down:
                sink.stale = True
            elif sink.stale and self.connected:
                sink.stale = False
                self._emit("live")
            self._emit("source", f"{msg.name} {msg.state}" + (f": {msg.detail}" if msg.detail else ""))
        elif isinstance(msg, protocol.Hello):
            sink.set_trade_date(msg.trade_date, msg.tz)
            self._expected = 1
        elif isinstance(msg, protocol.Error):
            self._emit("error", f"{msg.code}: {msg.message}")
        elif isinstance(msg, protocol.Eof):
            self._flush()
            self._report_unknown()
            return "eof"
        return None

    async def _watch_silence(self) -> None:
        """Mark quotes stale when a connected feed goes quiet in trading hours;
        name the symbols whose quotes the sink could not place (once each)."""
        while True:
            await asyncio.sleep(min(1.0, self.stale_after / 4))
            silent = time.monotonic() - self._last_rx > self.stale_after
            trading = not self.sink.phases or any(is_trading(p) for p in self.sink.phases.values())
            if silent and trading and not self.sink.stale:
                self.sink.stale = True
                self._emit("stale", f"no data for {self.stale_after:g}s")
            self._report_unknown()

    def _flush(self) -> None:
        self._merged = 0
        self.flush()

    def _report_unknown(self) -> None:
        """Quotes for symbols the sink could not place were dropped: say which (once each)."""
        if len(self.sink.unknown) > len(self._told):
            new = sorted(self.sink.unknown - self._told)
            self._told.update(new)
            self._emit("unknown", first_few(new))

    def _lost(self, why: str) -> None:
        if self.connected:
            self.connected = False
            self.sink.stale = True
            self._emit("disconnected", why)

    def _emit(self, state: str, detail: str = "") -> None:
        self.on_event(FeedEvent(state, self.sink.clock or int(time.time() * 1000), detail))


def _why_closed(ws: ClientConnection) -> str:
    """What ended a connection, in websockets' words: "sent 1011 (internal error)
    keepalive ping timeout; no close frame received", "received 1009 ...", ..."""
    if ws.protocol.state is State.CLOSED:
        return str(ws.protocol.close_exc)
    return "connection closed"


def redact(url: str) -> str:
    """The URL as it may be shown: a `token=` in the query (or a password) as `***`."""
    return re.sub(r"(?i)([?&]token=)[^&#]*", r"\1***", re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url))
