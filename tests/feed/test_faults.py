"""Feed faults against a real loopback server (and a proxy) under the test's
control: restarts, a half-open link, a stalled feed, lost, duplicated and
reordered frames, a frame over the size limit, a burst of a million quotes.

After each, the client's state equals the server's (exactly, float for
float), memory stays bounded, and the feed events say what happened.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import random
import time

import pytest
from websockets.asyncio.client import ClientConnection

from marketmon.cli.watch import closing_rows
from marketmon.engine import Engine
from marketmon.feed import client as client_module
from marketmon.feed.client import FeedClient, FeedEvent
from marketmon.serve.server import QuoteServer
from marketmon.serve.universe import Synthetic, full_quote, instruments
from marketmon.store.state import Store

from ..conftest import T0, assert_same_state, wait_for
from ..faultkit import Proxy, RssProbe, Rule, record, same_state, text_payload
from .test_client import SYMBOLS, deltas, full_quotes

FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "give_up_after": 30.0}


class Market:
    """A loopback server holding a small market, and the random walk that moves it."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.first = full_quotes(self.rng)
        self.state = {q["symbol"]: dict(q) for q in self.first}
        self.server = QuoteServer(wait_for_client=False)

    async def start(self) -> QuoteServer:
        await self.server.start()
        await self.server.publish({"type": "quotes", "ts": T0, "quotes": self.first})
        return self.server

    def deltas(self, n: int) -> list[dict]:
        return deltas(self.rng, self.state, n)

    async def publish(self, n: int) -> None:
        for body in self.deltas(n):
            await self.server.publish(body)


def follow(url: str, store: Store, events: list[FeedEvent], **options) -> tuple[FeedClient, asyncio.Task]:
    client = FeedClient(url, store, on_event=events.append, **{**FAST, **options})
    return client, asyncio.create_task(client.run())


def states(events: list[FeedEvent]) -> list[str]:
    return [e.state for e in events]


async def finish(market: Market, task: asyncio.Task) -> None:
    await market.server.finish()
    assert await asyncio.wait_for(task, 10) == "eof"
    await market.server.close()


# --- restarts ---------------------------------------------------------------------


async def test_server_killed_and_restarted_mid_stream_20_times():
    """Half the kills are clean closes, half drop the TCP connection with no
    close frame. Each time the market moves on while the client is away."""
    market = Market(20)
    server = await market.start()
    port = server.port
    events: list[FeedEvent] = []
    store = Store()
    client, task = follow(server.url, store, events)
    await wait_for(lambda: same_state(server.quotes, store))
    tasks = len(asyncio.all_tasks())
    for round_ in range(20):
        await market.publish(20)  # queued, partly in flight when the server dies
        if round_ % 2:
            for conn in list(server._connections):
                conn.ws.transport.abort()  # killed: no close frame, just a dead socket
        await server.close()
        await wait_for(lambda: states(events).count("disconnected") == round_ + 1)
        assert store.stale  # quotes are marked stale the moment the feed is lost
        restarted = QuoteServer(port=port, wait_for_client=False)
        restarted.quotes = server.quotes
        for body in market.deltas(10):  # the market went on while we were away
            restarted.apply(body)
        market.server = server = restarted
        await server.start()
        await wait_for(lambda: states(events).count("connected") == round_ + 2)
        await wait_for(lambda: same_state(server.quotes, store))  # after every resync: exact
        assert not store.stale
    await market.publish(20)
    await finish(market, task)
    assert_same_state(server.quotes, store)
    seen = states(events)
    assert seen.count("disconnected") == 20 and seen.count("connected") == 21
    assert seen.count("reconnecting") == client.stats.reconnects >= 20
    assert seen[-1] == "eof"
    assert client.stats.bad_messages == 0
    # Nothing left behind by 20 reconnects: no extra task, and (the client has ended)
    # no connection object among the live ones.
    gc.collect()
    assert len(asyncio.all_tasks()) <= tasks
    assert [o for o in gc.get_objects() if isinstance(o, ClientConnection)] == []
    record(faults=20)


# --- a half-open connection ---------------------------------------------------------


async def test_half_open_connection_is_found_by_the_ping_timeout():
    """The link freezes: no byte moves and nothing is closed. Only the client's
    keepalive ping can tell; it must, then the client reconnects and resyncs."""
    market = Market(21)
    server = await market.start()
    await server.publish({"type": "status", "ts": T0, "market": "CN", "phase": "continuous"})
    proxy = Proxy(server.port)
    await proxy.start()
    events: list[FeedEvent] = []
    store = Store()
    options = {"ping_interval": 0.2, "ping_timeout": 0.3, "close_timeout": 0.2, "stale_after": 0.3}
    client, task = follow(proxy.url, store, events, **options)
    await wait_for(lambda: same_state(server.quotes, store))
    for _ in range(3):
        proxy.freeze()
        connected = states(events).count("connected")
        await market.publish(10)  # sent into the frozen link: never arrives
        await wait_for(lambda: "disconnected" in states(events)[-3:], timeout=10)
        # Found by the keepalive, not by chance: this round's disconnect names the ping.
        lost = [e for e in events if e.state == "disconnected"][-1]
        assert "ping" in lost.detail, lost.detail
        await wait_for(lambda: states(events).count("connected") == connected + 1, timeout=10)
        await wait_for(lambda: same_state(server.quotes, store))
        proxy.cut_frozen()
    seen = states(events)
    assert "stale" in seen  # the silence showed before the ping verdict
    await market.publish(5)
    await finish(market, task)
    await proxy.close()
    assert_same_state(server.quotes, store)
    record(faults=3)


# --- a stalled server -----------------------------------------------------------------


async def test_a_stalled_server_goes_stale_in_trading_hours_and_recovers():
    market = Market(22)
    server = await market.start()
    await server.publish({"type": "status", "ts": T0, "market": "CN", "phase": "continuous"})
    events: list[FeedEvent] = []
    store = Store()
    client, task = follow(server.url, store, events, stale_after=0.3)
    await wait_for(lambda: same_state(server.quotes, store))
    assert not store.stale
    await wait_for(lambda: "stale" in states(events), timeout=5)  # connected, and silent
    assert store.stale and client.connected
    assert all(row["stale"] for row in closing_rows(store, None))  # `watch` prints "stale": true
    await market.publish(5)
    await wait_for(lambda: "live" in states(events), timeout=5)
    await wait_for(lambda: same_state(server.quotes, store))
    assert not store.stale
    # Silence after the close is normal: no stale alarm then.
    await server.publish({"type": "status", "ts": T0 + 10**6, "market": "CN", "phase": "closed"})
    await wait_for(lambda: store.phases.get("CN") == "closed")
    stale_events = states(events).count("stale")
    await asyncio.sleep(1.0)
    assert states(events).count("stale") == stale_events and not store.stale
    await finish(market, task)
    assert_same_state(server.quotes, store)
    assert client.stats.reconnects == 0
    record(faults=1)


# --- lost, duplicated and reordered frames ------------------------------------------------


def _seq(frame: bytes) -> int | None:
    payload = text_payload(frame)
    return int(payload[7 : payload.index(b",")]) if payload.startswith(b'{"seq":') else None


async def _through_proxy(seed: int, rule: Rule, rounds: int = 300) -> tuple:
    """A client behind a proxy applying `rule` to the server's frames, after the first snapshot."""
    market = Market(seed)
    server = await market.start()
    proxy = Proxy(server.port)
    await proxy.start()
    events: list[FeedEvent] = []
    store = Store()
    client, task = follow(proxy.url, store, events)
    await wait_for(lambda: same_state(server.quotes, store))
    proxy.rule = rule
    for _ in range(rounds // 10):
        await market.publish(10)
        await asyncio.sleep(0.005)  # let frames reach the client between bursts
    return market, client, store, events, proxy, task


async def test_lost_frames_are_seen_as_seq_gaps_and_resynced():
    dropped: list[int] = []
    dropping = True

    def drop_every_25th(n: int, frame: bytes) -> list[bytes]:
        if dropping and n % 25 == 0:
            dropped.append(_seq(frame))
            return []
        return [frame]

    market, client, store, events, proxy, task = await _through_proxy(23, drop_every_25th)
    dropping = False
    await market.publish(3)  # a gap shows on the next message: send some after the last loss
    await wait_for(lambda: same_state(market.server.quotes, store))
    await finish(market, task)
    await proxy.close()
    assert_same_state(market.server.quotes, store)
    assert len(dropped) >= 10
    assert client.stats.resyncs == len(dropped) == states(events).count("resync")
    assert all(f"expected seq {s}," in e.detail for s, e in zip(dropped, (e for e in events if e.state == "resync")))
    record(faults=len(dropped))


async def test_duplicated_frames_are_dropped_and_counted():
    duplicated = 0

    def duplicate_every_7th(n: int, frame: bytes) -> list[bytes]:
        nonlocal duplicated
        if n > 1 and n % 7 == 0:
            duplicated += 1
            return [frame, frame]
        return [frame]

    market, client, store, events, proxy, task = await _through_proxy(24, duplicate_every_7th)
    await finish(market, task)
    await proxy.close()
    assert_same_state(market.server.quotes, store)
    assert duplicated >= 40
    assert client.stats.duplicates == duplicated
    assert client.stats.resyncs == 0 and client.stats.bad_messages == 0
    record(faults=duplicated)


async def test_reordered_frames_resync_and_end_exact():
    swaps = 0
    held: list[bytes] = []
    reordering = True

    def swap_every_30th(n: int, frame: bytes) -> list[bytes]:
        nonlocal swaps
        if held:
            return [frame, held.pop()]
        if reordering and n % 30 == 0:
            held.append(frame)
            swaps += 1
            return []
        return [frame]

    market, client, store, events, proxy, task = await _through_proxy(25, swap_every_30th)
    reordering = False
    await market.publish(3)
    await wait_for(lambda: same_state(market.server.quotes, store))
    await finish(market, task)
    await proxy.close()
    assert_same_state(market.server.quotes, store)
    assert swaps >= 5
    # Each swap: the later frame shows a gap (resync), the earlier one then comes late (dropped).
    assert client.stats.resyncs == swaps == states(events).count("resync")
    assert client.stats.duplicates == swaps
    record(faults=swaps)


# --- a frame over the size limit ------------------------------------------------------------


async def test_a_frame_over_the_size_limit_closes_the_link_and_the_client_resyncs():
    market = Market(26)
    server = await market.start()
    events: list[FeedEvent] = []
    store = Store()
    limit = 64 * 1024
    client, task = follow(server.url, store, events, max_size=limit)
    await wait_for(lambda: same_state(server.quotes, store))
    for round_ in range(3):
        # One legitimate but huge message: 1,200 updates of the 8 symbols (~90 KB).
        body = {"type": "quotes", "ts": T0 + 10**6 + round_, "quotes": []}
        for _ in range(150):
            body["quotes"] += market.deltas(1)[0]["quotes"]
            body["quotes"] += [{"symbol": s, "ts": body["ts"], "turnover": market.rng.uniform(0, 1e9)} for s in SYMBOLS]
        await server.publish(body)
        await wait_for(lambda: states(events).count("connected") == round_ + 2)
        await wait_for(lambda: same_state(server.quotes, store))  # what the big frame said came in the snapshot
    too_big = [e for e in events if e.state == "disconnected"]
    assert len(too_big) == 3 and all("1009" in e.detail or "too big" in e.detail for e in too_big), too_big
    await market.publish(10)
    await finish(market, task)
    assert_same_state(server.quotes, store)
    record(faults=3)


# --- a million quotes to a slow client ---------------------------------------------------


def burst(universe: list[Synthetic], k: int, size: int, ts: int) -> list[dict]:
    """Frame k of a burst: `size` updates walking round the universe, cheap to make."""
    n, volume = len(universe), (k + 1) * 100
    prices = _levels(tuple(universe))
    return [
        {"symbol": universe[j % n].symbol, "ts": ts, "last": prices[j % n][(k + j) % 7], "volume": volume}
        for j in range(k * size, (k + 1) * size)
    ]


@functools.cache
def _levels(universe: tuple[Synthetic, ...]) -> list[list[float]]:
    return [[round(i.prev_close + d * i.tick, 3) for d in range(-3, 4)] for i in universe]


@pytest.mark.parametrize("ts_step", [0, 3000], ids=["one-instant", "3s-steps"])
async def test_a_million_quotes_to_a_slow_client_keep_memory_bounded(ts_step):
    """1,000 frames of 1,000 updates over 5,000 instruments, all at one instant
    or 5,000 updates per 3-second step. The client is slow (every flush costs
    an extra 5 ms); the server must wait for it, and the client must not
    hoard: its pending batch stays under a bound."""
    universe = instruments(5000, seed=3)
    server = QuoteServer(wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": [full_quote(i, T0) for i in universe]})
    engine = Engine(server.url, on_flush=lambda: time.sleep(0.005), backoff_initial=0.05)
    store = engine.store
    most = 0
    merge = store.merge

    def watched_merge(quotes, ts=None):
        nonlocal most
        merge(quotes, ts)
        most = max(most, len(store._pending))

    store.merge = watched_merge
    runner = asyncio.create_task(engine.run())
    await wait_for(lambda: store.frame.height == len(universe), timeout=20)
    started = time.perf_counter()
    with RssProbe() as mem:
        ts = T0
        for n in range(1000):
            ts += ts_step if n % 5 == 0 else 0
            await server.publish({"type": "quotes", "ts": ts, "quotes": burst(universe, n, 1000, ts)})
        await server.finish()
        assert await asyncio.wait_for(runner, 120) == "eof"
    elapsed = time.perf_counter() - started
    await server.close()
    assert_same_state(server.quotes, store)
    assert engine.client.stats.quotes >= 1_000_000 + len(universe)
    # The bound that matters, from the client's own parameter (RSS is reported, not asserted:
    # on a busy machine it measures the allocator as much as the code).
    assert most <= client_module.MAX_PENDING_QUOTES + 1000, most
    print(f"\n1M quotes ({'same ts' if not ts_step else '3 s steps'}): {elapsed:.1f}s, "
          f"RSS growth {mem.growth_mb:.0f} MB, largest pending batch {most}")  # fmt: skip
    record(faults=1)
