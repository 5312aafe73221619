"""Paint trace for the benchmarks: MARKETMON_TRACE=FILE.

For each tick that shows new data, after Textual has painted that frame,
write how long ago the oldest quote in it came off the socket. `marketmon
bench` reads this to report tick-to-screen latency and start-up time from
the real app, not a model of it. Off (and free) unless the variable is set.
"""

from __future__ import annotations

import json
import os
import time
from typing import IO

from textual.app import App

from marketmon.store.state import Store


class PaintTrace:
    def __init__(self, path: str) -> None:
        self._out: IO[str] = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives with the app)

    @classmethod
    def from_env(cls) -> PaintTrace | None:
        path = os.environ.get("MARKETMON_TRACE")
        return cls(path) if path else None

    def after_tick(self, app: App, store: Store) -> None:
        received = store.take_unshown()
        if received is not None:
            app.call_after_refresh(self._painted, received, store.frame.height)

    def _painted(self, received: float, rows: int) -> None:
        latency_ms = (time.monotonic() - received) * 1000
        self._out.write(json.dumps({"event": "paint", "t": time.time(), "latency_ms": latency_ms, "rows": rows}) + "\n")
