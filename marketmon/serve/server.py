"""A protocol server that plays any script (the seed day, a recording, a test).

The server keeps the market's full state (every quote, the latest flow and
phase) so a client joining at any moment gets a consistent snapshot followed
by deltas. Each connection has its own numbered stream (`seq`) and one writer
task, so messages leave in exactly the order they were queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import ssl
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from marketmon import __version__
from marketmon.feed import protocol
from marketmon.market.symbols import SymbolError, normalize
from marketmon.serve.coalesce import CoalescingQueue
from marketmon.serve.script import Event, Script

log = logging.getLogger(__name__)

SNAPSHOT_CHUNK = 5000  # quotes per snapshot message; larger snapshots say "more"
QUEUE_DEPTH = 256  # messages a connection may have waiting before playback waits for it


class _Connection:
    """One client: what it subscribed to and its ordered outbound queue."""

    def __init__(self, ws: ServerConnection, coalesce: bool = False) -> None:
        self.ws = ws
        self.all = False
        self.symbols: set[str] = set()
        # Replay paces to the slowest client (a bounded Queue blocks publish);
        # a gateway must not, so it merges updates for a slow client instead.
        self.queue: asyncio.Queue[bytes | None] | CoalescingQueue = (
            CoalescingQueue(QUEUE_DEPTH) if coalesce else asyncio.Queue(QUEUE_DEPTH)
        )
        self.seq = 0

    @property
    def subscribed(self) -> bool:
        return self.all or bool(self.symbols)

    async def writer(self) -> None:
        while (body := await self.queue.get()) is not None:
            self.seq += 1
            await self.ws.send(protocol.with_seq(body, self.seq).decode())


class QuoteServer:
    def __init__(
        self,
        script: Script | None = None,
        *,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        start_at: int | None = None,
        until: int | None = None,
        token: str | None = None,
        max_size: int = protocol.MAX_REQUEST_BYTES,  # of a client's messages
        wait_for_client: bool = True,
        coalesce: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        await_session: bool = False,
    ) -> None:
        self.script = script
        self.speed = speed
        self.host, self.port = host, port
        self.start_at, self.until = start_at, until
        self.token = token
        self.max_size = max_size
        self.wait_for_client = wait_for_client
        self.coalesce = coalesce
        self.ssl_context = ssl_context
        self.unknown: set[str] = set()  # symbols a live source said it does not know
        self.trade_date = script.trade_date if script else None
        self.tz = script.tz if script else "Asia/Shanghai"
        # A gateway learns its session (trade date, tz) from upstream: until then its
        # hello waits. A hello without a trade date would stand for the connection,
        # and a client would take today's limit rules for the trade date's.
        self.session_known = asyncio.Event()
        if not await_session:
            self.session_known.set()
        # Full market state, as every client should end up seeing it.
        self.quotes: dict[str, dict[str, Any]] = {}
        self.flow: dict[str, Any] | None = None
        self.flow_history: dict[str, Any] | None = None
        self.status: dict[str, dict[str, Any]] = {}
        self.source: dict[str, Any] | None = None  # a bridge's source health, replayed to every new client
        self.clock: int | None = None  # ts of the last event played
        self.finished = asyncio.Event()
        self._pace: tuple[float, int] | None = None  # (loop time, market ms) the replay is paced from
        self._next_ts: int | None = None  # the next event's time: a replay that falls behind its pace waits there
        self.messages_sent = 0
        self._connections: set[_Connection] = set()
        self._taps: list[Callable[[dict[str, Any]], None]] = []
        self._first_subscriber = asyncio.Event()
        # Set once the replay has fast-forwarded to its opening moment: a snapshot
        # before that would be a part of the state, and the rest never comes as news.
        self._opened = asyncio.Event()
        if script is None:
            self._opened.set()
        self._hold_moved = asyncio.Event()
        self._server: Server | None = None
        self._player: asyncio.Task | None = None

    # lifecycle -----------------------------------------------------------------

    async def start(self) -> int:
        self._server = await serve(
            self._handle, self.host, self.port, max_size=self.max_size, compression=None, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.script is not None:
            self._player = asyncio.create_task(self.play(), name="replay")
        return self.port

    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl_context else 'ws'}://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._player:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> QuoteServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # state and broadcast ---------------------------------------------------------

    def apply(self, body: dict[str, Any]) -> None:
        """Merge one message body into the server's market state."""
        kind = body["type"]
        if kind == "quotes":
            for q in body["quotes"]:
                self.quotes.setdefault(q["symbol"], {}).update(q)
        elif kind == "flow":
            self.flow = body
        elif kind == "flow_history":
            self.flow_history = body
        elif kind == "status":
            self.status[body["market"]] = body
        elif kind == "source":
            self.source = body
        if "ts" in body:
            self.clock = body["ts"]

    async def opening(self) -> None:
        """Wait until the replay's opening state is whole (at once for a server without a script)."""
        await self._opened.wait()

    def add_tap(self, tap: Callable[[dict[str, Any]], None]) -> None:
        """Hand every later message (and the eof) to `tap` as well, in order.

        A tap reads the state it starts from off the server (`quotes`, `flow`,
        ...) when it is added, which must be after `opening()` (the fast-forward
        to the opening moment applies state without publishing it). It counts
        as a subscriber to everything and never holds playback back (the NATS
        publisher is one).
        """
        self._taps.append(tap)
        self._first_subscriber.set()

    async def publish(self, body: dict[str, Any]) -> None:
        """Apply a message to the state and send it to every subscriber."""
        self.apply(body)
        for tap in self._taps:
            tap(body)
        encoded = protocol.encode(body)
        for conn in list(self._connections):
            if not conn.subscribed:
                continue
            if body["type"] == "quotes" and not conn.all:
                mine = [q for q in body["quotes"] if q["symbol"] in conn.symbols]
                if not mine:
                    continue
                mine_body = {**body, "quotes": mine}
                await self._put(conn, protocol.encode(mine_body), mine_body)
            else:
                await self._put(conn, encoded, body)

    async def finish(self) -> None:
        """The session is over: tell every client, and every later one."""
        self.finished.set()
        for tap in self._taps:
            tap({"type": "eof"})
        for conn in list(self._connections):
            await self._put(conn, b'{"type":"eof"}')

    async def _put(self, conn: _Connection, body: bytes, message: dict[str, Any] | None = None) -> None:
        if conn in self._connections:
            if isinstance(conn.queue, CoalescingQueue):
                conn.queue.put_nowait(body, message)  # never waits for a slow client
            else:
                await conn.queue.put(body)
            self.messages_sent += 1

    # playback --------------------------------------------------------------------

    async def play(self) -> None:
        assert self.script is not None
        loop = asyncio.get_running_loop()
        events = iter(self.script.events())
        first = next(events, None)
        opening = self.start_at if self.start_at is not None else (first.ts if first else 0)
        pending: Event | None = None
        # Everything up to the opening moment is state, not news: clients get it
        # in their snapshot. This is also how `start_at` fast-forwards: a whole day
        # takes seconds, so the loop gets a turn every 20 ms of it (a client's
        # handshake must not time out meanwhile; its subscription waits for _opened).
        turn = loop.time()
        try:
            for event in _chain(first, events):
                if event.ts > opening:
                    pending = event
                    break
                self.apply(event.body)
                if loop.time() - turn > 0.02:
                    await asyncio.sleep(0)
                    turn = loop.time()
        finally:
            self._opened.set()  # also if the script fails: clients get what there is
        if self.wait_for_client:
            await self._first_subscriber.wait()
        wall0 = loop.time()
        # The day goes on from the opening moment: a quiet stretch after it (09:25:30
        # to the 09:30 open) passes at the replay's speed, as it would live.
        ts0 = opening if pending else 0
        self._pace = (wall0, ts0)
        sent = 0
        for event in _chain(pending, events):
            self._next_ts = event.ts
            while self.until is not None and event.ts > self.until:
                # Hold the market at `until`: no eof, clients stay, until hold() moves it.
                self._hold_moved.clear()
                await self._hold_moved.wait()
                wall0, ts0 = loop.time(), event.ts  # the pace starts again from here
                self._pace = (wall0, ts0)
            if self.speed > 0:
                delay = wall0 + (event.ts - ts0) / 1000 / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif (sent := sent + 1) % 64 == 0:
                await asyncio.sleep(0)  # let clients and writers run
            await self.publish(event.body)
        self._pace = None
        await self.finish()

    def replay_clock(self) -> int | None:
        """The replayed market time now (epoch ms), also between messages: a quiet
        stretch (09:25-09:30, the lunch break) passes at the replay's speed.
        Held or ended, it stands still at the last message's time."""
        if self._pace is None or self.speed <= 0:
            return self.clock
        wall0, ts0 = self._pace
        now = ts0 + (asyncio.get_running_loop().time() - wall0) * 1000 * self.speed
        if self.until is not None:
            now = min(now, self.until)
        if self._next_ts is not None:
            now = min(now, self._next_ts)  # too fast to keep up (--speed 1000): the clock waits for the data
        return max(self.clock or 0, int(now))

    def hold(self, until: int | None) -> None:
        """Move the hold: play on to `until` (market ms), or to the end with None."""
        self.until = until
        self._hold_moved.set()

    # connections -------------------------------------------------------------------

    def _authorised(self, ws: ServerConnection) -> bool:
        if not self.token:
            return True
        query = parse_qs(urlsplit(ws.request.path).query) if ws.request else {}
        header = ws.request.headers.get("Authorization", "") if ws.request else ""
        token = self.token.encode()
        # compare_digest: constant time, so response timing leaks nothing of the token
        by_query = hmac.compare_digest(query.get("token", [""])[0].encode(), token)
        by_header = header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token)
        return by_query or by_header

    def set_session(self, trade_date: str | None, tz: str | None = None) -> None:
        """The upstream's session, as its hello (or the NATS bucket) says: hellos go out now."""
        if trade_date:
            self.trade_date = trade_date
        if tz:
            self.tz = tz
        self.session_known.set()

    async def _handle(self, ws: ServerConnection) -> None:
        if not self._authorised(ws):
            await ws.close(4401, "unauthorised")
            return
        if not self.session_known.is_set() and not await self._session_before_close(ws):
            return
        conn = _Connection(ws, self.coalesce)
        self._connections.add(conn)
        writer = asyncio.create_task(conn.writer())
        try:
            hello = {
                "type": "hello",
                "protocol": protocol.PROTOCOL_VERSION,
                "server": f"marketmon/{__version__}",
                "trade_date": self.trade_date,
                "tz": self.tz,
            }
            # hello carries no seq: send it before the numbered stream starts.
            await ws.send(protocol.encode(hello).decode())
            async for frame in ws:
                await self._request(conn, frame)
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await writer

    async def _session_before_close(self, ws: ServerConnection) -> bool:
        """Wait for the session; False when the client leaves (or the server closes) first."""
        known = asyncio.ensure_future(self.session_known.wait())
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            await asyncio.wait({known, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            known.cancel()
            closed.cancel()
        return self.session_known.is_set() and ws.state is State.OPEN

    async def _request(self, conn: _Connection, frame: str | bytes) -> None:
        try:
            req = protocol.decode_request(frame)
        except protocol.BadFrame as exc:
            await conn.queue.put(protocol.encode({"type": "error", "code": "bad_request", "message": str(exc)}))
            return
        await self._opened.wait()
        wanted, unknown = self._resolve(req.symbols)
        if req.op == "unsubscribe":
            if "*" in req.symbols:
                conn.all, conn.symbols = False, set()
            conn.symbols -= wanted
            return
        if "*" in req.symbols:
            conn.all = True
        conn.symbols |= wanted
        await self._send_snapshot(conn, None if "*" in req.symbols else wanted, unknown, req.id)
        self._first_subscriber.set()

    def _resolve(self, symbols: Iterable[str]) -> tuple[set[str], list[str]]:
        wanted, unknown = set(), []
        for raw in symbols:
            if raw == "*":
                continue
            try:
                symbol = normalize(raw)
            except SymbolError:
                unknown.append(raw)
                continue
            if symbol in self.quotes or (self.script is None and symbol not in self.unknown):
                wanted.add(symbol)
            else:
                unknown.append(raw)
        return wanted, unknown

    async def _send_snapshot(
        self, conn: _Connection, symbols: set[str] | None, unknown: list[str], request_id: int | None
    ) -> None:
        quotes = [q for s, q in self.quotes.items() if symbols is None or s in symbols]
        chunks = [quotes[i : i + SNAPSHOT_CHUNK] for i in range(0, len(quotes), SNAPSHOT_CHUNK)] or [[]]
        for n, chunk in enumerate(chunks):
            body: dict[str, Any] = {"type": "snapshot", "id": request_id, "ts": self.clock, "quotes": chunk}
            if unknown and n == 0:
                body["unknown"] = unknown
            if n < len(chunks) - 1:
                body["more"] = True
            await conn.queue.put(protocol.encode({k: v for k, v in body.items() if v is not None}))
        for extra in (self.flow_history, self.flow, *self.status.values(), self.source):
            if extra is not None:
                await conn.queue.put(protocol.encode(extra))
        if self.finished.is_set():
            await conn.queue.put(b'{"type":"eof"}')


def _chain(first: Event | None, rest: Iterator[Event]) -> Iterator[Event]:
    # itertools.chain, not a generator with `yield from`: leaving a generator
    # early closes it, and `yield from` would close the shared iterator too.
    return itertools.chain([first] if first is not None else [], rest)
