"""Alerts sent to chat services, never holding up the engine or the screen.

`Deliveries.submit(alert)` only appends to a bounded queue per sink and wakes
a worker: the HTTP requests run on one background thread with its own event
loop (httpx, with a timeout), whatever loop the caller runs, so a slow or
dead service costs the engine nothing.

A failed attempt is tried again after a back-off (1, 2, 4 ... s, capped) on
no answer, 5xx and 429; a Retry-After header, in seconds or as a date, wins
over the back-off. An answer that will not get better (4xx, a bad signature
reported as DingTalk's errcode) is not retried. While a sink is down its
queue fills; the oldest waiting alert is then dropped and counted, so the
newest news gets out first when the service is back. Every outcome (sent,
failed, dropped, skipped by the minimum interval) goes to the delivery log.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marketmon.alerts import services
from marketmon.alerts.delivery_log import DeliveryLog, Outcome
from marketmon.alerts.rules import Alert

if TYPE_CHECKING:
    import httpx  # loaded by the delivery thread: a settings file with no sinks never pays for it

BACKOFF_S, BACKOFF_MAX_S = 1.0, 60.0
RETRY_AFTER_MAX_S = 300.0  # a service asking for longer is treated as down for that long, not forever
ATTEMPTS = 5
QUEUE = 100
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SinkSpec:
    """One [sinks.NAME] table of the settings file, its secret resolved."""

    name: str
    service: str  # one of services.SERVICES
    url: str
    secret: str | None = None
    rules: frozenset[str] | None = None  # None: every rule
    lists: frozenset[str] | None = None  # watchlist names; None: any
    symbols: frozenset[str] | None = None
    min_interval_s: float = 0.0  # market seconds between two alerts sent to this sink
    queue: int = QUEUE
    timeout_s: float = TIMEOUT_S
    proxy: str | None = None  # an HTTP proxy for this sink; the environment's proxy settings are not read

    def takes(self, alert: Alert, lists_of: Callable[[str], Collection[str]]) -> bool:
        if self.rules is not None and alert.rule not in self.rules:
            return False
        if self.symbols is not None and alert.symbol not in self.symbols:
            return False
        return self.lists is None or not self.lists.isdisjoint(lists_of(alert.symbol))


Sleep = Callable[[float], Awaitable[None]]


def retry_after(value: str | None, now: float) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), capped; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


async def send_once(client: httpx.AsyncClient, spec: SinkSpec, alert: Alert, now: float) -> tuple[services.Verdict, float | None]:
    """One attempt: the service's verdict, and how long it asked us to wait (Retry-After)."""
    import httpx

    req = services.request(spec.service, spec.url, spec.secret, alert, int(now * 1000))
    try:
        answer = await client.post(req.url, headers=req.headers, content=req.body, timeout=spec.timeout_s)
    except httpx.HTTPError as exc:
        return services.Verdict(False, True, f"no answer: {type(exc).__name__} {exc}".strip()), None
    verdict = services.verdict(spec.service, answer.status_code, answer.text)
    return verdict, retry_after(answer.headers.get("Retry-After"), now)


@dataclass
class Worker:
    """One sink: its queue, its counts, and whether it is failing now."""

    spec: SinkSpec
    pending: deque[Alert] = field(default_factory=deque)
    dropped: int = 0
    skipped: int = 0
    sent: int = 0
    failed: int = 0
    failing: bool = False
    last_error: str = ""
    busy: bool = False  # an alert is being sent (taken off the queue)
    last_ts: int | None = None  # market time of the last alert taken (the minimum interval)


class Deliveries:
    """The sinks of the settings file; `submit` from any thread, `close` at exit."""

    def __init__(
        self,
        specs: Sequence[SinkSpec],
        log: DeliveryLog | None = None,
        lists_of: Callable[[str], Collection[str]] = lambda symbol: (),
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        attempts: int = ATTEMPTS,
        on_error: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.workers = [Worker(spec) for spec in specs]
        self.log, self.lists_of, self.clock, self.sleep, self.attempts = log, lists_of, clock, sleep, attempts
        self.on_error = on_error
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: list[asyncio.Event] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        if self.workers:
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(ready,), name="marketmon-deliveries", daemon=True)
            self._thread.start()
            ready.wait()

    # -- the caller's side (engine thread) --------------------------------------

    def submit(self, alert: Alert) -> None:
        if self._closed:
            return  # at exit: an alert fired after close has nobody to send it
        for i, worker in enumerate(self.workers):
            spec = worker.spec
            if not spec.takes(alert, self.lists_of):
                continue
            with self._lock:
                if worker.last_ts is not None and alert.ts - worker.last_ts < spec.min_interval_s * 1000:
                    worker.skipped += 1
                    self._record(spec, alert, "skipped", 0, f"within min_interval_s={spec.min_interval_s:g}")
                    continue
                worker.last_ts = alert.ts
                if len(worker.pending) >= max(spec.queue, 1):
                    oldest = worker.pending.popleft()
                    worker.dropped += 1
                    self._record(spec, oldest, "dropped", 0, f"queue full ({spec.queue}): {worker.dropped} dropped")
                worker.pending.append(alert)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._wake[i].set)

    def failing(self) -> list[str]:
        """The sinks whose last attempt failed (the status bar shows them)."""
        return [w.spec.name for w in self.workers if w.failing]

    def drain(self, timeout: float) -> bool:
        """Wait until every queue is empty (at exit, and in tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while any(w.pending or w.busy for w in self.workers):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self._closed = True
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    # -- the delivery thread -------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._wake = [asyncio.Event() for _ in self.workers]
        self._loop = loop
        clients = {w.spec.proxy: _client(w.spec.proxy) for w in self.workers}  # one per proxy
        tasks = [
            loop.create_task(self._serve(worker, wake, clients[worker.spec.proxy]))
            for worker, wake in zip(self.workers, self._wake, strict=True)
        ]
        ready.set()
        try:
            loop.run_forever()
        finally:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            for client in clients.values():
                loop.run_until_complete(client.aclose())
            loop.close()

    async def _serve(self, worker: Worker, wake: asyncio.Event, client: httpx.AsyncClient) -> None:
        while True:
            await wake.wait()
            wake.clear()
            while True:
                with self._lock:
                    if not worker.pending:
                        break
                    alert = worker.pending.popleft()
                    worker.busy = True
                try:
                    await self._deliver(worker, alert, client)
                except Exception as exc:  # a bug here must not end the sink's worker
                    self.on_error(f"alert sink {worker.spec.name}: {exc!r}")
                finally:
                    worker.busy = False

    async def _deliver(self, worker: Worker, alert: Alert, client: httpx.AsyncClient) -> None:
        spec = worker.spec
        for attempt in range(1, self.attempts + 1):
            verdict, wait = await send_once(client, spec, alert, self.clock())
            if verdict.ok:
                worker.sent += 1
                worker.failing, worker.last_error = False, ""
                self._record(spec, alert, "sent", attempt, verdict.detail)
                return
            worker.failing, worker.last_error = True, verdict.detail
            if not verdict.retry or attempt == self.attempts:
                break
            await self.sleep(wait if wait is not None else min(BACKOFF_S * 2 ** (attempt - 1), BACKOFF_MAX_S))
        worker.failed += 1
        self._record(spec, alert, "failed", attempt, verdict.detail)

    def _record(self, spec: SinkSpec, alert: Alert, outcome: str, attempts: int, detail: str) -> None:
        if self.log is None:
            return
        try:
            self.log.append(Outcome(int(self.clock() * 1000), spec.name, spec.service, outcome, attempts, detail,
                                    alert.ts, alert.symbol, alert.rule))  # fmt: skip
        except OSError as exc:
            self.on_error(f"delivery log not written: {exc}")


def sample_alert(now: float) -> Alert:
    return Alert(int(now * 1000), "TEST", "marketmon", "test", None, None, "a test message from `marketmon alerts test`")


async def try_sinks(specs: Sequence[SinkSpec], log: DeliveryLog | None = None) -> list[tuple[SinkSpec, services.Verdict]]:
    """`marketmon alerts test`: one test message to each sink, one attempt, no queue; logged."""
    results = []
    for spec in specs:
        now = time.time()
        alert = sample_alert(now)
        async with _client(spec.proxy) as client:
            verdict, _ = await send_once(client, spec, alert, now)
        results.append((spec, verdict))
        if log is not None:
            with contextlib.suppress(OSError):
                log.append(Outcome(int(now * 1000), spec.name, spec.service, "sent" if verdict.ok else "failed",
                                   1, verdict.detail, alert.ts, alert.symbol, alert.rule))  # fmt: skip
    return results


def _client(proxy: str | None) -> httpx.AsyncClient:
    """No redirects (a robot URL that moves is a configuration to fix, not to follow), and
    only the sink's own proxy: HTTP(S)_PROXY from the environment is not read."""
    import httpx

    return httpx.AsyncClient(follow_redirects=False, trust_env=False, proxy=proxy)
