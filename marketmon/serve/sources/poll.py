"""Poll a public quote source and publish what changed to a QuoteServer.

HTTP is the standard library's urllib, run in worker threads
(`asyncio.to_thread`) so the event loop keeps serving clients while a slow
source answers. Symbols go in batches of the source's size, a few batches at
a time. Each poll is diffed against the state so far: the first poll
publishes full quotes (every client's snapshot), later ones only the fields
that changed, and nothing at all for an instrument that did not move.

Errors back off exponentially with jitter, so a fleet of bridges does not
retry in lockstep; HTTP 429 and 503 wait as long as `Retry-After` asks.
Every client is told whether the source answers: a `source` message, "up"
after a round that answered, "down" with the reason after one that did not,
so a dead source never looks like a quiet market.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from typing import TYPE_CHECKING, Any

from marketmon import __version__
from marketmon.feed.safe_text import first_few
from marketmon.market.sessions import phase, trade_date_of
from marketmon.market.symbols import FX_RATES, INDICES, SOURCE_INDICES
from marketmon.serve.sources.base import Parsed, ParseError, Source
from marketmon.serve.sources.market import WholeMarket

if TYPE_CHECKING:
    from marketmon.serve.server import QuoteServer

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 3.0
PROGRESS_EVERY_S = 5.0  # how often a source that is up may say how far its first pass is
MAX_BODY = 32 * 1024 * 1024  # a whole-market answer is a few MB; more is not a quote answer
USER_AGENT = f"Mozilla/5.0 (compatible; marketmon/{__version__})"


class SourceFailed(RuntimeError):
    """A source failed `fail_after` rounds in a row: the bridge moves to the next one."""


class FetchError(RuntimeError):
    """A request that failed; `retry_after` (seconds) when the source said how long to wait."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def retry_after(value: str | None, cap: float = 600.0) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), cap))


def fetch(url: str, headers: dict[str, str], timeout: float) -> bytes:
    """GET `url` (blocking: run it in a thread). Gzip is asked for and undone here."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http/https URLs only)
            body = resp.read(MAX_BODY + 1)
            gzipped = resp.headers.get("Content-Encoding", "").lower() == "gzip"
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} from {url[:80]}", status=exc.code,
                         retry_after=retry_after(exc.headers.get("Retry-After"))) from None  # fmt: skip
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
        raise FetchError(f"{type(exc).__name__}: {exc} ({url[:80]})") from None
    if len(body) > MAX_BODY:
        raise FetchError(f"answer over {MAX_BODY} bytes from {url[:80]}")
    if gzipped:
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = inflater.decompress(body, MAX_BODY)  # bounded: no gzip bomb
        except zlib.error as exc:
            raise FetchError(f"bad gzip from {url[:80]}: {exc}") from None
    return body


def diff(state: dict[str, dict[str, Any]], quotes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge `quotes` into `state`; return each new symbol in full and each known
    one as symbol + ts + the fields that changed (nothing if none did)."""
    changed = []
    for q in quotes:
        old = state.get(q["symbol"])
        if old is None:
            state[q["symbol"]] = dict(q)
            changed.append(dict(q))
            continue
        if old == q:  # the common case for a quiet instrument, decided in C
            continue
        delta = {k: v for k, v in q.items() if k not in ("symbol", "ts") and old.get(k) != v}
        if delta:
            old.update(q)
            changed.append({"symbol": q["symbol"], "ts": q.get("ts", old.get("ts")), **delta})
    return changed


class RequestBudget:
    """At most `per_minute` requests, spread evenly: a token bucket that holds
    `burst_s` seconds' worth, so a cycle may start with a burst, never more."""

    def __init__(self, per_minute: int, burst_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:  # fmt: skip
        if per_minute <= 0:
            raise ValueError(f"a request budget must be above 0 per minute, not {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self.tokens, self.clock, self.sleep = self.capacity, clock, sleep
        self._at = clock()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for the next request's turn."""
        async with self._lock:  # one waiter at a time: turns are given in order
            while True:
                now = self.clock()
                self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
                self._at = now
                if self.tokens >= 1 - 1e-9:  # a hair under 1 is float rounding, not a missing token
                    self.tokens = max(0.0, self.tokens - 1)
                    return
                await self.sleep((1 - self.tokens) / self.rate)


@dataclass
class PollStats:
    polls: int = 0
    requests: int = 0
    errors: int = 0
    bad_lines: int = 0
    quotes_sent: int = 0


class Poller:
    def __init__(
        self,
        source: Source,
        symbols: Sequence[str],
        server: QuoteServer,
        *,
        base_url: str | None = None,
        interval: float = DEFAULT_INTERVAL,
        timeout: float = 10.0,
        concurrency: int = 4,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        on_event: Callable[[str, str], None] = lambda state, detail: None,
        market: WholeMarket | None = None,
        state: dict[str, dict[str, Any]] | None = None,
        stale_after: float = 60.0,
        budget: int | None = None,
    ) -> None:
        self.source, self.server = source, server
        self.base_url = base_url or source.base_url
        # With `market`, the whole market (listed once a day) plus `symbols`;
        # without, just `symbols`.
        self.market = market
        self.market_symbols: list[str] = []
        self._market_day: dt.date | None = None
        self.set_symbols(symbols)
        self.interval, self.timeout = interval, timeout
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.on_event = on_event
        # What the clients hold, to diff against: shared by the sources of one
        # bridge, so the next one after a failover sends only what changed.
        self.state: dict[str, dict[str, Any]] = {} if state is None else state
        self.stale_after = stale_after  # seconds of trading with no change that count as a failure
        self._still_since = time.monotonic()
        self._moved = False
        self.stats = PollStats()
        self.health: str | None = None  # "up" or "down", as last told to the clients
        self._gate = asyncio.Semaphore(concurrency)
        self.budget = RequestBudget(budget or source.budget)  # requests per minute to this source
        self._turn = 0  # where the market's turn is, when a round cannot poll it all
        self._listing: asyncio.Task | None = None
        self._detail_up = ""  # what the first "up" says (a failover's reason)
        self._listed_so_far = 0  # instruments the day's listing has found yet
        self._told_at = 0.0  # monotonic time of the last source message

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Poll these (and the market, if any) from the next round on (a watchlist edited while running)."""
        self.extra = list(dict.fromkeys(symbols))
        # The lists' symbols and the strip's indices first: they go out every round.
        # (With the whole market the strip's indices are known before it is listed: they go from the first round.)
        strip = [*INDICES, *(FX_RATES if self.source.rates else ()),
                 *(SOURCE_INDICES if self.source.more_indices else ())] if self.market is not None else []  # fmt: skip
        first = list(dict.fromkeys([*self.extra, *strip]))
        self.symbols = list(dict.fromkeys([*first, *self.market_symbols]))
        self._wanted = set(self.symbols)
        n = self.source.batch_size
        batches = [self.symbols[i : i + n] for i in range(0, len(self.symbols), n)]
        self._every_round = -(-len(first) // n) if first else 0  # batches that hold the first ones
        self._batches = batches
        self._markets = sorted({"HK" if s.endswith(".HK") else "CN" for s in self.symbols})

    def round_batches(self) -> list[list[str]]:
        """This round's batches of symbols. When the request budget cannot poll
        everything every round (East Money's 50 a minute and a whole market),
        the lists and the indices still go every round and the rest of the
        market in turns, as many batches as the budget allows."""
        per_round = max(1, int(self.budget.rate * self.interval))
        batches = self._batches
        if len(batches) <= per_round:
            return batches
        head, rest = batches[: self._every_round], batches[self._every_round :]
        take = max(1, per_round - len(head))  # the market moves on, however long the lists
        start = self._turn % len(rest)
        self._turn = start + take
        return head + [rest[(start + i) % len(rest)] for i in range(min(take, len(rest)))]

    def urls(self, batches: list[list[str]] | None = None) -> list[str]:
        code_of = self.source.code_of
        return [self.source.build_url(self.base_url, [code_of(s) for s in b]) for b in batches or self._batches]

    async def run(self, fail_after: int | None = None, detail_up: str = "") -> None:
        """Poll forever (until cancelled), backing off while the source fails;
        with `fail_after`, raise SourceFailed after that many failed rounds in a row."""
        loop = asyncio.get_running_loop()
        failures = 0
        self._detail_up = detail_up
        try:
            while True:
                started = loop.time()
                try:
                    await self._listing_step()
                    self._check_moving(await self.poll_once())
                    failures = 0
                    delay = self.interval - (loop.time() - started)
                    await self._tell("up", self._up_detail())
                except FetchError as exc:
                    failures += 1
                    self.stats.errors += 1
                    if exc.retry_after is not None:
                        delay = exc.retry_after * (1 + random.random() / 10)  # never sooner than asked
                    else:
                        delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
                        delay *= 0.5 + random.random() / 2
                    await self._tell("down", str(exc))
                    if fail_after is not None and failures >= fail_after:
                        raise SourceFailed(f"{self.source.name}: {exc} ({failures} rounds)") from None
                    self.on_event("error", f"{exc}; retrying in {delay:.2f}s")
                    log.warning("%s: %s; retrying in %.1fs", self.source.name, exc, delay)
                await asyncio.sleep(max(0.0, delay))
        finally:
            if self._listing is not None:  # cancelled (a failover, the bridge closing): the listing too
                self._listing.cancel()
                self._listing = None

    async def poll_once(self) -> list[dict[str, Any]]:
        """One round over every batch; publishes and returns the changed quotes.

        Batches that answered are published even when another failed; the
        failure is raised afterwards so that `run` backs off.
        """
        self.stats.polls += 1
        batches = self.round_batches()
        asked = {s for b in batches for s in b}
        results = await asyncio.gather(*(self._batch(u) for u in self.urls(batches)), return_exceptions=True)
        failure: BaseException | None = None
        quotes: list[dict[str, Any]] = []
        unknown: set[str] = set()
        seen: set[str] = set()
        clean = True
        for result in results:
            if isinstance(result, BaseException):
                failure = failure or result
                clean = False
                continue
            for line in result.errors:
                log.info("%s: skipped %s", self.source.name, line)
            self.stats.bad_lines += len(result.errors)
            clean = clean and not result.errors
            # Only what was asked for: a source may answer more (an index it adds, a stale line).
            mine = [q for q in result.quotes if q["symbol"] in self._wanted]
            quotes.extend(mine)
            unknown.update(s for s in result.unknown if s in self._wanted)
            seen.update(q["symbol"] for q in mine)
        if clean:  # a code left out of a clean answer is one the source does not know
            unknown |= asked - seen
        await self._publish(quotes, unknown)
        if failure is not None:
            if isinstance(failure, FetchError):
                raise failure
            raise FetchError(f"{type(failure).__name__}: {failure}")
        return quotes

    def _check_moving(self, quotes: list[dict[str, Any]]) -> None:
        """An answer that stops changing while a market trades is a failure too
        (a cached page, a source frozen on one moment)."""
        now = time.monotonic()
        trading = any(phase(m, int(time.time() * 1000)) == "continuous" for m in self._markets)
        if self._moved or not trading or not quotes:
            self._still_since = now
        elif now - self._still_since > self.stale_after:
            self._still_since = now
            raise FetchError(f"answers, but nothing changed for {self.stale_after:g} s of trading")

    async def _listing_step(self) -> None:
        """Today's market list: listed in the background while the lists'
        symbols are polled (at 50 requests a minute East Money's ~90 list
        pages take two minutes), or waited for when there is nothing else to
        poll. A listing that failed is this round's failure."""
        today = trade_date_of(int(time.time() * 1000))
        if self.market is None or self._market_day == today:
            return
        if self._listing is None:
            self._listing = asyncio.create_task(self._list_market(today), name="list-market")
        if not self.extra:
            await asyncio.wait({self._listing})
        if self._listing.done():
            listing, self._listing = self._listing, None
            listing.result()  # its FetchError, if it failed

    async def _list_market(self, today: dt.date) -> None:
        """The whole market, once a day (the cache, or East Money's list)."""

        async def page_read(count: int) -> None:  # a source that answers is up, listing or not
            self._listed_so_far = count
            await self._tell("up", self._up_detail())

        try:
            own = self.source.name == "eastmoney" or self.market.budget is None
            symbols, where = await self.market.symbols(today, fetch, self.budget.take if own else self.market.budget,
                                                       page_read)  # fmt: skip
        except ParseError as exc:
            raise FetchError(f"cannot list the market: {exc}") from None
        self.market_symbols, self._market_day = symbols, today
        self.set_symbols(self.extra)
        self.on_event("listed", f"{len(symbols)} instruments from {where}")
        log.info("%s: %d instruments from %s", self.source.name, len(symbols), where)

    def _up_detail(self) -> str:
        """What "up" says: a failover's reason, and until the whole market has a
        quote, how far it is (a first pass takes minutes at East Money's budget:
        empty panels must not look like a quiet market)."""
        progress = ""
        if self.market is not None and self._market_day is None:
            progress = f"listing the market: {self._listed_so_far:,} so far"
        elif self.market is not None:
            unknown = self.server.unknown
            quoted = sum(1 for s in self.symbols if s in self.state or s in unknown)
            if quoted < len(self.symbols):
                progress = f"{quoted:,} of {len(self.symbols):,} quoted"
        return " · ".join(x for x in (self._detail_up, progress) if x)

    async def _tell(self, state: str, detail: str) -> None:
        """Publish the source's health when it changes, or what it says does (progress
        at most every PROGRESS_EVERY_S: each message goes to every client)."""
        detail = detail[:200]
        if state == self.health and detail == (self.server.source or {}).get("detail", ""):
            return
        if state == self.health == "up" and detail and time.monotonic() - self._told_at < PROGRESS_EVERY_S:
            return
        self.health, self._told_at = state, time.monotonic()
        body = {"type": "source", "ts": int(time.time() * 1000), "name": self.source.name, "state": state}
        if detail:
            body["detail"] = detail
        await self.server.publish(body)

    async def _batch(self, url: str) -> Parsed:
        async with self._gate:
            await self.budget.take()
            self.stats.requests += 1
            body = await asyncio.to_thread(fetch, url, self.source.headers, self.timeout)
        try:
            return self.source.parse(body)
        except ParseError as exc:  # an error page, a captcha, a truncated answer
            raise FetchError(f"unreadable answer from {self.source.name}: {exc}") from None

    async def _publish(self, quotes: list[dict[str, Any]], unknown: set[str]) -> None:
        now = int(time.time() * 1000)
        server = self.server
        server.trade_date = trade_date_of(now).isoformat()  # the hello of a bridge running overnight
        new_unknown = unknown - server.unknown
        server.unknown = (server.unknown | unknown) - {q["symbol"] for q in quotes}
        if new_unknown:
            self.on_event("unknown", first_few(sorted(new_unknown)))
        for market in self._markets:
            now_phase = phase(market, now)
            if server.status.get(market, {}).get("phase") != now_phase:
                await server.publish({"type": "status", "ts": now, "market": market, "phase": now_phase})
        for q in quotes:
            q.setdefault("ts", now)
        changed = diff(self.state, quotes)
        self._moved = bool(changed)
        if changed:
            ts = max(q["ts"] for q in changed)
            await server.publish({"type": "quotes", "ts": ts, "quotes": changed})
            self.stats.quotes_sent += len(changed)
