"""What East Money publishes beside quotes: Southbound flow, the limit pools
and the A/H pairs.

A bridge whose source list names East Money polls these next to the quotes,
on their own request budget (they live on other hosts: push2 for `kamt`,
push2his for the flow history, push2ex for the pools). Flow goes out as the
protocol's `flow` message with its time; the pools and the pairs as the
optional quote fields of docs/protocol.md, diffed against the same state the quote pollers
keep, so a client gets only what changed. A failure here is told (a log line
and the bridge's event) and retried next round; the quotes go on regardless.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from marketmon.market.sessions import trade_date_of
from marketmon.serve.flow_record import FlowRecord
from marketmon.serve.sources import ah_list, connect_flow, limit_pools
from marketmon.serve.sources.base import ParseError, local_ms
from marketmon.serve.sources.eastmoney import BASE_URL as PUSH2
from marketmon.serve.sources.poll import FetchError, RequestBudget, diff, fetch

if TYPE_CHECKING:
    from marketmon.serve.server import QuoteServer

log = logging.getLogger(__name__)

FLOW_EVERY_S = 15.0  # Southbound figures move by the minute
POOLS_EVERY_S = 30.0  # three requests; the live seal comes from the quotes in between
BUDGET = 10  # requests per minute to these hosts together (~4 flow + ~6 pools): with the quotes' 50, under push2's reported ban line
SAVE_EVERY_S = 60.0  # the flow record is written at most once a minute
SOUTHBOUND_CLOSE = "16:10"  # a figure of an earlier day is as of its close (HK's closing auction)


class MarketExtras:
    def __init__(
        self,
        server: QuoteServer,
        state: dict[str, dict[str, Any]],
        *,
        base_url: str | None = None,
        interval: float = 3.0,
        flow_every: float = FLOW_EVERY_S,
        pools_every: float = POOLS_EVERY_S,
        record: FlowRecord | None = None,
        on_event: Callable[[str, str], None] = lambda kind, detail: None,
        timeout: float = 10.0,
        budget: int = BUDGET,
    ) -> None:
        self.server, self.state = server, state
        # One base URL stands for all three hosts (a local server in tests).
        self.push2 = base_url or PUSH2
        self.push2his = base_url or connect_flow.HISTORY_BASE_URL
        self.push2ex = base_url or limit_pools.BASE_URL
        self.interval, self.timeout = interval, timeout
        self.flow_every, self.pools_every = flow_every, pools_every
        self.record, self.on_event = record, on_event
        # 30 s worth at once: the history, the flow and the three pools at start-up, then 10 a minute.
        self.budget = RequestBudget(budget, burst_s=30.0)
        self.requests = 0
        self.problems: dict[str, str] = {}  # what failed last, per part (flow, history, pools)
        self._flow: dict[str, Any] | None = None
        self._saved_at = 0.0
        self._in_pools: set[str] = set()
        self._pools_applied = False
        self._pairs_day: dt.date | None = None  # the A/H pairs are listed once a day
        self._pairs: list[tuple[str, str, str | None]] = []

    async def run(self) -> None:
        """Seed the flow history once, then poll until cancelled."""
        await self._attempt("history", self.seed_history)
        flow_at = pools_at = pairs_at = -float("inf")
        while True:
            now = time.monotonic()
            if now - flow_at >= self.flow_every:
                flow_at = now
                await self._attempt("flow", self.poll_flow)
            # The first pools as soon as the quote pollers know some instruments, then every so often.
            if self.state and (now - pools_at >= self.pools_every or not self._pools_applied):
                pools_at = now
                await self._attempt("pools", self.poll_pools)
            if self.state and self._pairs_day != trade_date_of(int(time.time() * 1000)) \
                    and now - pairs_at >= self.pools_every:  # fmt: skip
                pairs_at = now
                await self._attempt("pairs", self.poll_pairs)
            await asyncio.sleep(min(self.interval, self.flow_every))

    async def _attempt(self, part: str, poll: Callable[[], Any]) -> None:
        try:
            await poll()
        except FetchError as exc:
            if self.problems.get(part) != str(exc):  # told once per new reason, not every round
                self.on_event("error", f"eastmoney {part}: {exc}")
                log.warning("eastmoney %s: %s", part, exc)
            self.problems[part] = str(exc)
        else:
            self.problems.pop(part, None)

    async def _get(self, url: str) -> bytes:
        await self.budget.take()
        self.requests += 1
        return await asyncio.to_thread(fetch, url, {}, self.timeout)

    # Southbound --------------------------------------------------------------

    async def seed_history(self) -> None:
        record = self.record
        if record is None:
            return
        if record.problem:
            self.on_event("error", record.problem)
        today = trade_date_of(int(time.time() * 1000)).isoformat()
        if len(record.history(today)) < 20:  # a new install: ask the source for the days before
            try:
                days = connect_flow.parse_history(await self._get(connect_flow.history_url(self.push2his)))
            except ParseError as exc:
                raise FetchError(f"unreadable flow history: {exc}") from None
            if record.seed([d for d in days if d["date"] < today]):
                self._save()
        await self._publish_history(today)

    async def _publish_history(self, today: str) -> None:
        if self.record is not None:
            await self.server.publish({"type": "flow_history", "days": self.record.history(today)})

    async def poll_flow(self) -> None:
        try:
            channels, day = connect_flow.parse_flow(await self._get(connect_flow.flow_url(self.push2)))
        except ParseError as exc:
            raise FetchError(f"unreadable Southbound flow: {exc}") from None
        if not channels:
            return
        now = int(time.time() * 1000)
        today = trade_date_of(now).isoformat()
        same = self._flow is not None and self._flow["southbound"] == channels
        if not same:
            # An answer about an earlier day (before the open, a holiday) is as of that day's close.
            ts = now if day in (None, today) else (local_ms(day, SOUTHBOUND_CLOSE) or now)
            self._flow = {"type": "flow", "ts": ts, "southbound": channels, "top": []}
            await self.server.publish(dict(self._flow))
        if self.record is not None and day is not None:
            before = set(self.record.days)
            self.record.record(day, sum(c["net_buy_cny"] for c in channels.values()), "CNY")
            if day not in before and day == today:  # a new day: yesterday joins the history
                await self._publish_history(today)
            if time.monotonic() - self._saved_at >= SAVE_EVERY_S:
                self._save()

    def _save(self) -> None:
        if self.record is None:
            return
        try:
            self.record.save()
            self._saved_at = time.monotonic()
        except OSError as exc:
            self.on_event("error", f"cannot write the flow record: {exc}")

    def close(self) -> None:
        """The last figures of the day are kept."""
        self._save()

    # Limit pools -------------------------------------------------------------

    async def poll_pools(self) -> None:
        day = trade_date_of(int(time.time() * 1000)).strftime("%Y%m%d")
        fields: dict[str, dict[str, Any]] = {}
        for pool in ("broken", "up", "down"):  # an instrument back at its limit: the up pool's fields win
            url = limit_pools.pool_url(self.push2ex, pool, day)
            try:
                found, skipped = limit_pools.parse_pool(pool, await self._get(url))
            except ParseError as exc:
                raise FetchError(f"unreadable {limit_pools.POOLS[pool][0]}: {exc}") from None
            for line in skipped:
                log.info("eastmoney pools: skipped %s", line)
            for symbol, got in found.items():
                fields.setdefault(symbol, {}).update(got)
        # Only instruments the clients already hold (the quote pollers add them);
        # one that left every pool has no seal any more.
        gone = {s: {"seal_amount": 0.0} for s in self._in_pools - fields.keys()}
        now = int(time.time() * 1000)
        quotes = [{"symbol": s, "ts": now, **f} for s, f in (fields | gone).items() if s in self.state]
        self._in_pools = set(fields)
        self._pools_applied = True
        changed = diff(self.state, quotes)
        if changed:
            await self.server.publish({"type": "quotes", "ts": now, "quotes": changed})
        await self._apply_pairs()

    # A/H pairs ---------------------------------------------------------------

    async def poll_pairs(self) -> None:
        """The day's A/H pairs, as each A share's `ah_pair` field."""
        pairs: list[tuple[str, str, str | None]] = []
        for page in range(1, 21):  # ~150 pairs: two pages; 20 is a bound, not a need
            try:
                found, total, skipped = ah_list.parse_page(await self._get(ah_list.list_url(self.push2, page)))
            except ParseError as exc:
                raise FetchError(f"unreadable A/H pair list: {exc}") from None
            for line in skipped:
                log.info("eastmoney pairs: skipped %s", line)
            pairs.extend(found)
            if not found or total is None or len(pairs) >= total:
                break
        self._pairs_day, self._pairs = trade_date_of(int(time.time() * 1000)), pairs
        await self._apply_pairs()

    async def _apply_pairs(self) -> None:
        """Each listed pair to its A share once the quote pollers know it (a market
        polled in turns gets to know its A shares over a few minutes)."""
        now = int(time.time() * 1000)
        quotes = [{"symbol": a, "ts": now, "ah_pair": h} for a, h, _name in self._pairs
                  if a in self.state and self.state[a].get("ah_pair") != h]  # fmt: skip
        changed = diff(self.state, quotes)
        if changed:
            await self.server.publish({"type": "quotes", "ts": now, "quotes": changed})
