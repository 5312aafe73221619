"""A per-connection outbound queue that folds updates for a slow client.

A gateway must never let one slow terminal hold up the others, and must not
buffer without bound for it either. While a connection keeps up, messages
queue as they are (up to `limit`). Once `limit` messages wait, later market
updates are merged into one pending state instead: quotes per symbol (the
last value of each field wins, exactly as a client merges them), flow,
flow history and each market's status latest-wins. When the client has
drained what was queued, it gets the merged state as a few ordinary
messages. So a slow client sees fewer, larger updates and still ends in the
same state as everybody else.

Ordering: pending state is always older than anything queued after it. A
message that must keep its place (a snapshot, eof, an error reply) first
turns the pending state into queued messages ("seals" it), then queues
itself. `seq` is numbered by the connection's writer as messages leave, so
it stays gap-free whatever was merged.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from marketmon.feed import protocol

QUOTES_PER_MESSAGE = 5000  # same split as a snapshot
_COALESCIBLE = frozenset({"quotes", "flow", "flow_history", "status"})


class CoalescingQueue:
    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self.merged = 0  # messages folded into pending state, not queued
        self.dropped = 0  # error replies dropped for a client that floods us and never reads
        self._ready: deque[bytes] = deque()
        self._quotes: dict[str, dict[str, Any]] = {}
        self._quotes_ts: int | None = None
        self._latest: dict[str, bytes] = {}  # "flow", "flow_history", "status:CN", ...
        self._wakeup = asyncio.Event()

    def qsize(self) -> int:
        return len(self._ready) + bool(self._quotes) + len(self._latest)

    def put_nowait(self, encoded: bytes, body: dict[str, Any] | None = None) -> None:
        """Queue a message; `body` (the decoded message) lets market updates merge."""
        kind = body.get("type") if body is not None else None
        pending = bool(self._quotes or self._latest)
        if kind not in _COALESCIBLE:
            self._seal()
            self._ready.append(encoded)
        elif not pending and len(self._ready) < self.limit:
            self._ready.append(encoded)
        else:
            self._merge(kind, encoded, body)  # type: ignore[arg-type]
        self._wakeup.set()

    async def put(self, encoded: bytes) -> None:
        """Queue a reply that must keep its place (snapshot, error, eof).

        It never waits: a snapshot is encoded from the live state, and waiting
        between encoding and queueing would let newer deltas slip before it.
        """
        if encoded.startswith(b'{"type":"error"') and len(self._ready) >= 4 * self.limit:
            self.dropped += 1
            return
        self.put_nowait(encoded)

    async def get(self) -> bytes | None:
        while not self._ready:
            if self._quotes or self._latest:
                self._seal()
                break
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._ready.popleft()

    # ---------------------------------------------------------------------------

    def _merge(self, kind: str, encoded: bytes, body: dict[str, Any]) -> None:
        self.merged += 1
        if kind == "quotes":
            for q in body["quotes"]:
                self._quotes.setdefault(q["symbol"], {}).update(q)
            if body.get("ts") is not None:
                self._quotes_ts = body["ts"]
        elif kind == "status":
            self._latest[f"status:{body.get('market')}"] = encoded
        else:
            self._latest[kind] = encoded

    def _seal(self) -> None:
        """Turn the pending state into ordinary queued messages, oldest state first."""
        if "flow_history" in self._latest:
            self._ready.append(self._latest.pop("flow_history"))
        if self._quotes:
            quotes = list(self._quotes.values())
            for i in range(0, len(quotes), QUOTES_PER_MESSAGE):
                body: dict[str, Any] = {"type": "quotes", "quotes": quotes[i : i + QUOTES_PER_MESSAGE]}
                if self._quotes_ts is not None:
                    body["ts"] = self._quotes_ts
                self._ready.append(protocol.encode(body))
            self._quotes.clear()
            self._quotes_ts = None
        self._ready.extend(self._latest.values())
        self._latest.clear()
