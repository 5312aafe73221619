"""`serve --publish nats://...`: put the market a server plays on NATS.

The publisher is a tap on a QuoteServer (the demo day, a recording, a bridge
or a desk gateway's): every message the server publishes reaches it, in order.
It keeps the full state of every key (nats_bus.py) and

- sends each change at once on its plain subject (`marketmon.q.SH.688521`),
  fire and forget: these are for programs that want changes only;
- marks the key dirty; one writer task puts the dirty keys' full values into
  the JetStream bucket and waits for JetStream's acknowledgements. A key whose
  put was not acknowledged (NATS away, a timeout) stays dirty and is put
  again; several changes to a key while a put is under way become one put of
  the latest value. So the bucket always converges to the exact state, and
  the publisher's memory is bounded by the number of keys, not by how long
  NATS is away.

After a reconnect every key is put again (a NATS server that lost its disk
gets the whole state back). At the end of the session, once every key is in
the bucket, `session` says `eof`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import Any

from marketmon.feed import protocol
from marketmon.serve import nats_bus
from marketmon.serve.server import QuoteServer

ACK_TIMEOUT = 5.0  # seconds to wait for JetStream to acknowledge a round of puts
MAX_IN_FLIGHT = 2000  # puts awaiting their acknowledgement at once


def _note(state: str, detail: str) -> None:
    print(f"marketmon: nats {state} {detail}".rstrip(), file=sys.stderr, flush=True)


class NatsPublisher:
    """`await NatsPublisher(url).attach(server)`; `await close()` when done."""

    def __init__(
        self,
        url: str,
        *,
        bucket: str = nats_bus.BUCKET,
        prefix: str = nats_bus.PREFIX,
        on_event: Callable[[str, str], None] = _note,
    ) -> None:
        self.url, self.bucket_name, self.prefix, self.on_event = url, bucket, prefix, on_event
        self.values: dict[str, dict[str, Any]] = {}  # key -> full value, as gateways will read it
        self.dirty: dict[str, None] = {}  # keys whose latest value is not yet acknowledged (insertion order)
        self.changes: list[tuple[str, bytes]] = []  # (subject, message) for the plain subjects
        self.changes_dropped = 0  # change messages not sent because NATS was away (the bucket has their state)
        self.puts = 0  # acknowledged puts
        self.eof = False  # the session ended; written once every key is in
        self.done = asyncio.Event()  # the bucket holds the final state and the eof
        self.server: QuoteServer | None = None
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._nc: Any = None
        self._closing = False
        self._js: Any = None
        self._writer: asyncio.Task | None = None
        self._trade_date: str | None = None
        self._in_flight: list[asyncio.Future] = []  # puts awaiting their acknowledgement

    # lifecycle ---------------------------------------------------------------------

    async def attach(self, server: QuoteServer) -> None:
        """Connect, take the server's state as it is now, and follow it."""
        self._nc = await nats_bus.connect(
            self.url, lambda what: self.on_event("error", what),
            disconnected_cb=self._disconnected, reconnected_cb=self._reconnected,
        )  # fmt: skip
        self._js = self._nc.jetstream(timeout=ACK_TIMEOUT)
        await nats_bus.bucket(self._js, self.bucket_name, create=True)
        self._connected.set()
        # A demo starting at --start is still fast-forwarding: what it applies
        # until then never reaches a tap, so the state is taken once it is whole.
        await server.opening()
        self.server = server
        self._take_state(server)
        server.add_tap(self.on_message)
        self._writer = asyncio.create_task(self._write(), name="nats-publisher")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._nc is not None:
            self._closing = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), nats_bus.CLOSE_TIMEOUT)

    def _take_state(self, server: QuoteServer) -> None:
        for quote in server.quotes.values():
            self._set(nats_bus.key_of(quote), dict(quote))
        for body in (server.flow_history, server.flow, *server.status.values(), server.source):
            if body is not None:
                self._set(nats_bus.key_of(body), body)
        if server.finished.is_set():
            self.eof = True

    # the tap: called by the server for every message, in order ----------------------

    def on_message(self, body: dict[str, Any]) -> None:
        kind = body["type"]
        if kind == "eof":
            self.eof = True
        elif kind == "quotes":
            for quote in body["quotes"]:
                key = nats_bus.key_of(quote)
                self.values.setdefault(key, {}).update(quote)
                self._change(key, {"type": "quotes", "ts": body.get("ts", quote.get("ts")), "quotes": [quote]})
                self.dirty[key] = None
        else:
            self._set(nats_bus.key_of(body), body)
            self._change(nats_bus.key_of(body), body)
        self._wake.set()

    def _set(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = value
        self.dirty[key] = None
        self._wake.set()

    def _change(self, key: str, body: dict[str, Any]) -> None:
        if not self._connected.is_set():
            self.changes_dropped += 1  # the bucket will have it; the plain subjects are best effort
            return
        self.changes.append((f"{self.prefix}.{key}", protocol.encode({k: v for k, v in body.items() if v is not None})))

    # NATS ------------------------------------------------------------------------------

    async def _disconnected(self) -> None:
        if self._closing:
            return
        self._connected.clear()
        for future in self._in_flight:
            future.cancel()  # their acks will not come: the keys stay dirty, put again once back
        self.on_event("disconnected", self.url)

    async def _reconnected(self) -> None:
        # The server may have lost the bucket (no disk, a new server): put it all again.
        self.dirty.update(dict.fromkeys(self.values))
        self._trade_date = None
        self._connected.set()
        self._wake.set()
        dropped = f"; {self.changes_dropped} change messages not sent while away" if self.changes_dropped else ""
        self.on_event("reconnected", f"{self.url}: putting {len(self.values)} keys again{dropped}")

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._connected.wait()
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS went away mid-round: the keys stay dirty
                self.on_event("error", f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(nats_bus.RECONNECT_WAIT)
                self._wake.set()

    async def _round(self) -> None:
        changes, self.changes = self.changes, []
        for subject, payload in changes:
            await self._nc.publish(subject, payload)
        if self._trade_date is None or (self.server and self.server.trade_date != self._trade_date):
            with contextlib.suppress(Exception):  # re-created after a server lost it
                await nats_bus.bucket(self._js, self.bucket_name, create=True)
            trade_date = self.server.trade_date if self.server else None
            await self._put(nats_bus.SESSION, self._session(eof=self.done.is_set()))
            self._trade_date = trade_date
        keys = list(self.dirty)[:MAX_IN_FLIGHT]
        for key in keys:
            del self.dirty[key]
        failed = await self._put_all(keys)
        for key in failed:
            self.dirty.setdefault(key, None)
        if self.dirty or self.changes:
            self._wake.set()
        elif self.eof and not failed and not self.done.is_set():
            await self._put(nats_bus.SESSION, self._session(eof=True))
            self.done.set()
            self.on_event("eof", f"{len(self.values)} keys in bucket {self.bucket_name}")

    async def _put_all(self, keys: list[str]) -> list[str]:
        """Put these keys' latest values; return those JetStream did not acknowledge."""
        subject = f"$KV.{self.bucket_name}."
        futures = self._in_flight = []
        for key in keys:
            futures.append(await self._js.publish_async(subject + key, protocol.encode(self.values[key])))
        _, pending = await asyncio.wait(futures, timeout=ACK_TIMEOUT) if futures else (set(), set())
        for future in pending:
            future.cancel()  # frees its place among the puts in flight
        self._in_flight = []
        failed = [key for key, f in zip(keys, futures, strict=True) if f.cancelled() or f.exception() is not None]
        self.puts += len(keys) - len(failed)
        return failed

    async def _put(self, key: str, value: dict[str, Any]) -> None:
        await self._js.publish(f"$KV.{self.bucket_name}.{key}", protocol.encode(value))

    def _session(self, *, eof: bool) -> dict[str, Any]:
        server = self.server
        # ts: the market's time as the session is put, so a gateway (and its
        # terminals) know market time before the first quote reaches them.
        return {"type": nats_bus.SESSION, "trade_date": server and server.trade_date, "tz": server and server.tz,
                "ts": server and server.clock, "eof": eof}  # fmt: skip
