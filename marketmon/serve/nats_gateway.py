"""`serve --from nats://...`: a desk gateway fed from NATS instead of a WebSocket upstream.

It is the desk gateway of gateway.py with another front end: the same
coalescing `QuoteServer` (seq numbers, merged updates for a slow terminal,
token, TLS) and the same `Relay` to it; what the Relay is fed comes from the
JetStream bucket the publisher keeps (nats_bus.py) rather than from a
FeedClient. A terminal cannot tell which kind of gateway it talks to.

Following the bucket: a consumer per key pattern delivers the latest value of
every key first (the snapshot), then every new value in the stream's order.
Each value is a key's full state; the gateway compares it with what it has
and passes on only the fields that changed, as an ordinary `quotes` delta.
Gaps: nats-py's ordered consumer checks JetStream's sequence numbers and
resumes after the last message it has; after a reconnect to NATS, and at
the end of the session, the gateway reads the whole bucket again. While NATS
is away the terminals get a `source` message (`nats` down, and up once the
bucket has been read again), once each way: the re-read at the end is not news.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import sys
from collections.abc import Callable
from typing import Any

from marketmon.serve import nats_bus
from marketmon.serve.gateway import Relay
from marketmon.serve.server import QuoteServer

SOURCE_NAME = "nats"
_MISSING = object()


def _note(state: str, detail: str) -> None:
    print(f"marketmon: nats {state} {detail}".rstrip(), file=sys.stderr, flush=True)


class NatsGateway:
    """`async with NatsGateway("nats://host:4222", port=0) as gw:` ... terminals connect to `gw.url`."""

    def __init__(
        self,
        nats_url: str,
        *,
        subjects: list[str] | None = None,
        bucket: str = nats_bus.BUCKET,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        on_event: Callable[[str, str], None] = _note,
    ) -> None:
        self.nats_url, self.bucket_name, self.on_event = nats_url, bucket, on_event
        self.patterns = nats_bus.key_patterns(list(subjects or []))
        self.server = QuoteServer(
            None, host=host, port=port, token=token, coalesce=True, ssl_context=ssl_context, wait_for_client=False,
            await_session=True,
        )  # fmt: skip
        self.relay = Relay(self.server)
        self.values: dict[str, Any] = {}  # key -> the full value last passed on
        self.rereads = 0  # whole-bucket reads after the first (reconnects, the end)
        self.updates = 0  # bucket values taken
        self.synced = asyncio.Event()  # the bucket has been read in full since the last (re)connect
        self.told: str | None = None  # `up` or `down`, as terminals were last told (a re-read at the end is not news)
        self.ended = asyncio.Event()  # the session's eof has been passed on
        self._incoming: dict[str, bytes | None] = {}  # key -> newest value not yet taken (None: deleted)
        self._arrived = asyncio.Event()
        self._subs: list[Any] = []
        self._initial: set[int] = set()  # subscriptions still delivering their first read
        self._eof_seen = False
        self._generation = 0
        self._reading = asyncio.Lock()
        self._reads = 0  # reads of the bucket started and not yet subscribed
        self._nc: Any = None
        self._closing = False
        self._js: Any = None
        self._tasks: list[asyncio.Task] = []

    @property
    def url(self) -> str:
        return self.server.url

    # lifecycle ---------------------------------------------------------------------

    async def start(self) -> int:
        port = await self.server.start()
        self._nc = await nats_bus.connect(
            self.nats_url, lambda what: self.on_event("error", what),
            disconnected_cb=self._disconnected, reconnected_cb=self._reconnected,
        )  # fmt: skip
        self._js = self._nc.jetstream()
        self._tasks = [
            asyncio.create_task(self.relay.pump(), name="nats-gateway-pump"),
            asyncio.create_task(self._take(), name="nats-gateway-take"),
        ]
        self._start_read("nats-gateway-read")
        return port

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._nc is not None:
            self._closing = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), nats_bus.CLOSE_TIMEOUT)
        await self.server.close()

    async def __aenter__(self) -> NatsGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # reading the bucket --------------------------------------------------------------

    def _start_read(self, name: str) -> None:
        self._reads += 1  # counted at once: until the read has begun, the bucket is not read in full
        self._tasks.append(asyncio.create_task(self._read_bucket_until_done(), name=name))

    async def _read_bucket_until_done(self) -> None:
        """Read the bucket; a read cut short by NATS going away again is tried again."""
        try:
            while True:
                try:
                    return await self._read_bucket()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 (whatever NATS said: say it, try again)
                    self.on_event("error", f"reading the bucket: {type(exc).__name__}: {exc}")
                    await asyncio.sleep(nats_bus.RECONNECT_WAIT)
        finally:
            self._reads -= 1

    async def _read_bucket(self) -> None:
        """(Re)subscribe to every pattern from the latest value of each key on."""
        from nats.js.api import DeliverPolicy
        from nats.js.errors import BucketNotFoundError

        async with self._reading:
            self._generation += 1
            generation = self._generation
            self._initial = set(range(len(self.patterns)))
            self.synced.clear()
            for sub in self._subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            self._subs = []
            while True:
                try:
                    await nats_bus.bucket(self._js, self.bucket_name, create=False)
                    break
                except BucketNotFoundError:  # no publisher yet
                    await asyncio.sleep(nats_bus.RECONNECT_WAIT)
            stream, prefix = f"KV_{self.bucket_name}", f"$KV.{self.bucket_name}."
            for n, pattern in enumerate(self.patterns):
                sub = await self._js.subscribe(
                    prefix + pattern, stream=stream, cb=self._callback(generation, n), ordered_consumer=True,
                    deliver_policy=DeliverPolicy.LAST_PER_SUBJECT, inactive_threshold=60,
                )  # fmt: skip
                self._subs.append(sub)
                info = await sub.consumer_info()
                if info.num_pending == 0 and sub.delivered == 0:
                    self._initial.discard(n)  # nothing there yet
            self._arrived.set()

    def _callback(self, generation: int, n: int) -> Callable[[Any], Any]:
        skip = len(self.bucket_name) + 5  # "$KV.<bucket>."

        async def on_msg(msg: Any) -> None:
            if generation != self._generation:
                return  # a subscription replaced by a new read of the bucket
            deleted = bool(msg.headers and msg.headers.get("KV-Operation") in ("DEL", "PURGE"))
            self._incoming[msg.subject[skip:]] = None if deleted else msg.data
            if n in self._initial and msg.metadata.num_pending == 0:
                self._initial.discard(n)
            self._arrived.set()

        return on_msg

    # passing it on -------------------------------------------------------------------

    async def _take(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            batch, self._incoming = self._incoming, {}
            self._apply(batch)
            if not self._initial and not self.synced.is_set() and not self._reads:
                self.synced.set()
                if self.told != "up":
                    self.told = "up"
                    self.relay.set_source(SOURCE_NAME, "up", "", self._ts())
                    if isinstance(self.values.get("source"), dict):
                        self._forward("source", self.values["source"])  # the upstream's own source, after ours
            if self._eof_seen and self.synced.is_set() and not self.ended.is_set():
                await self.relay.outbox.join()
                await self.server.finish()
                self.ended.set()
                self.on_event("eof", f"{len(self.server.quotes)} instruments")
            await asyncio.sleep(0)

    def _apply(self, batch: dict[str, bytes | None]) -> None:
        quotes: list[dict[str, Any]] = []
        ts = None
        # The session first: its trade date lets the terminals' hellos go out, and
        # it comes before any quote they are sent.
        for key, raw in sorted(batch.items(), key=lambda item: item[0] != nats_bus.SESSION):
            self.updates += 1
            if raw is None:
                continue  # a key removed from the bucket: terminals keep what they have
            value = json.loads(raw)
            old = self.values.get(key, _MISSING)
            if value == old:
                continue
            self.values[key] = value
            if nats_bus.symbol_of(key) is not None:
                before = old if isinstance(old, dict) else {}
                delta = {f: v for f, v in value.items() if before.get(f, _MISSING) != v}
                delta["symbol"] = value["symbol"]
                quotes.append(delta)
                if isinstance(value.get("ts"), int):
                    ts = value["ts"] if ts is None else max(ts, value["ts"])
            elif key == nats_bus.SESSION:
                self._session(value)
                if value.get("eof") and not self._eof_seen:
                    self._eof_seen = True
                    self._reread()  # the end: make sure of every key before the eof goes out
            else:
                self._forward(key, value)
        if quotes:
            self.relay.merge(quotes, ts)

    def _session(self, value: dict[str, Any]) -> None:
        ts = value.get("ts")
        if isinstance(ts, int):  # the publisher's market time: a snapshot before any quote has it too
            self.relay.clock = ts if self.relay.clock is None else max(self.relay.clock, ts)
            self.server.clock = self.server.clock or ts
        self.relay.set_trade_date(value.get("trade_date"), value.get("tz"))

    def _ts(self) -> int | None:
        """The time a `source` message of ours says: the market's, and none before
        there is one (a terminal dates it as it dates its other feed events). The
        wall clock here would become the gateway's clock, ahead of a replayed day."""
        return self.relay.clock

    def _forward(self, key: str, body: dict[str, Any]) -> None:
        kind, relay = body.get("type"), self.relay
        if kind == "flow":
            relay.set_flow(body.get("southbound", {}), body.get("top", []), body.get("ts"))
        elif kind == "flow_history":
            relay.set_flow_history(body.get("days", []))
        elif kind == "status":
            relay.set_phase(body["market"], body["phase"], body.get("ts"))
        elif kind == "source":
            relay.set_source(body["name"], body["state"], body.get("detail") or "", body.get("ts"))

    def _reread(self) -> None:
        self.rereads += 1
        self.synced.clear()  # the eof waits for this read: it went out before, on the old one
        self._start_read("nats-gateway-reread")

    # NATS connection -------------------------------------------------------------------

    async def _disconnected(self) -> None:
        if self._closing:
            return
        self.synced.clear()
        self.relay.stale = True
        if self.told != "down":
            self.told = "down"
            self.relay.set_source(SOURCE_NAME, "down", f"{self.nats_url} away", self._ts())
        self.on_event("disconnected", self.nats_url)

    async def _reconnected(self) -> None:
        self.relay.stale = False
        self.on_event("reconnected", f"{self.nats_url}: reading the bucket again")
        self._reread()
