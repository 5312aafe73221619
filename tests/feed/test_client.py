"""The client against a real loopback server on port 0: snapshot, deltas,
restarts, seq gaps and bad frames. The final state must equal the server's."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator

import pytest
import websockets

from marketmon.engine import Engine
from marketmon.feed.client import FeedClient, FeedUnreachable
from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer
from marketmon.store.state import Store

from ..conftest import T0, TRADE_DATE, assert_same_state, wait_for

SYMBOLS = ["600000.SH", "600519.SH", "000001.SZ", "300750.SZ", "688521.SH", "589520.SH", "00700.HK", "09988.HK"]


def full_quotes(rng: random.Random) -> list[dict]:
    out = []
    for s in SYMBOLS:
        fund = s.startswith("58")
        prev = round(rng.uniform(1, 3), 3) if fund else round(rng.uniform(5, 200), 2)
        out.append(
            {"symbol": s, "ts": T0, "name": f"Name {s}", "prev_close": prev, "last": prev, "open": prev,
             "high": prev, "low": prev, "volume": 0, "turnover": 0.0}
        )  # fmt: skip
    return out


def deltas(rng: random.Random, state: dict[str, dict], steps: int) -> list[dict]:
    """Random partial quotes; prices stay inside the limit band."""
    bodies = []
    for step in range(1, steps + 1):
        ts = T0 + step * 3000
        quotes = []
        for s in rng.sample(SYMBOLS, rng.randint(1, len(SYMBOLS))):
            q = state[s]
            tick = 0.001 if s.startswith("58") else 0.01
            price = round(q["prev_close"] * (1 + rng.uniform(-0.05, 0.05)) / tick) * tick
            price = round(price, 3)
            q["volume"] += rng.randint(1, 50) * 100
            change = {"symbol": s, "ts": ts, "last": price, "volume": q["volume"]}
            if price > q["high"]:
                change["high"] = q["high"] = price
            q["last"] = price
            quotes.append(change)
        bodies.append({"type": "quotes", "ts": ts, "quotes": quotes})
    return bodies


def make_script(seed: int = 7, steps: int = 200) -> ListScript:
    rng = random.Random(seed)
    first = full_quotes(rng)
    state = {q["symbol"]: dict(q) for q in first}
    events = [Event(T0, {"type": "quotes", "ts": T0, "quotes": first})]
    events += [Event(b["ts"], b) for b in deltas(rng, state, steps)]
    return ListScript(TRADE_DATE, events)


async def test_snapshot_then_deltas_reach_the_servers_state():
    async with QuoteServer(make_script(), speed=0) as server:
        engine = Engine(server.url)
        assert await asyncio.wait_for(engine.run(), 20) == "eof"
    assert_same_state(server.quotes, engine.store)
    assert engine.client.stats.bad_messages == 0
    assert engine.client.stats.messages > 200


class SlowScript:
    """A script that takes its time to make each event, as the demo day does (seconds for a day)."""

    def __init__(self, script: ListScript, pause: float) -> None:
        self.script, self.pause = script, pause
        self.trade_date, self.tz = script.trade_date, script.tz

    def events(self) -> Iterator[Event]:
        for event in self.script.events():
            time.sleep(self.pause)  # blocks the loop, as making a real event does
            yield event


async def test_clients_connect_during_a_fast_forward_and_get_the_whole_opening_state():
    script = make_script(steps=300)
    last = script.event_list[-1].ts
    # Fast-forward to the last event: about 1.5 s of work before the replay opens.
    async with QuoteServer(SlowScript(script, 0.005), speed=0, start_at=last) as server:
        engine = Engine(server.url)
        following = asyncio.create_task(engine.run())
        started = time.monotonic()
        async with websockets.connect(server.url, open_timeout=0.5) as ws:  # the loop is not held
            assert json.loads(await ws.recv())["type"] == "hello"
        assert time.monotonic() - started < 1.0
        assert await asyncio.wait_for(following, 20) == "eof"
    # The engine subscribed mid-way; its snapshot waited for the opening state, all of it.
    assert_same_state(server.quotes, engine.store)
    assert engine.store.clock == last


async def test_subscription_to_some_symbols_gets_only_those_and_names_unknown():
    async with QuoteServer(make_script(), speed=0) as server:
        engine = Engine(server.url, symbols=["600519.SH", "hk00700", "999999.SH"])
        events = []
        engine.client.on_event = events.append
        await asyncio.wait_for(engine.run(), 20)
    assert set(engine.store.frame["symbol"]) == {"600519.SH", "00700.HK"}
    assert_same_state({s: server.quotes[s] for s in ("600519.SH", "00700.HK")}, engine.store)
    assert "999999.SH" in engine.store.unknown
    assert any(e.state == "unknown" and "999999.SH" in e.detail for e in events)


async def test_server_killed_and_restarted_mid_stream():
    """The client reconnects, resubscribes, takes a new snapshot and ends equal."""
    rng = random.Random(3)
    first = full_quotes(rng)
    state = {q["symbol"]: dict(q) for q in first}
    server = QuoteServer(wait_for_client=False)
    await server.start()
    port = server.port
    await server.publish({"type": "quotes", "ts": T0, "quotes": first})
    events = []
    store = Store()
    client = FeedClient(server.url, store, on_event=events.append, backoff_initial=0.05, backoff_max=0.2)
    task = asyncio.create_task(client.run())
    await wait_for(lambda: store.has_pending or store.frame.height > 0)
    for round_ in range(3):
        for body in deltas(rng, state, 20):
            await server.publish(body)
        await server.close()  # killed mid-stream: the client sees the socket die
        await wait_for(lambda: any(e.state == "reconnecting" for e in events))
        restarted = QuoteServer(port=port, wait_for_client=False)
        restarted.quotes = server.quotes  # the market went on while we were away
        for body in deltas(rng, state, 10):
            restarted.apply(body)
        server = restarted
        await server.start()
        await wait_for(lambda: sum(e.state == "connected" for e in events) == round_ + 2)
    for body in deltas(rng, state, 20):
        await server.publish(body)
    await server.finish()
    assert await asyncio.wait_for(task, 10) == "eof"
    await server.close()
    assert_same_state(server.quotes, store)
    assert client.stats.reconnects >= 3
    states = [e.state for e in events]
    assert states.count("disconnected") >= 3 and states[-1] == "eof"


async def test_seq_gap_triggers_resync_and_state_recovers():
    server = QuoteServer(wait_for_client=False)
    await server.start()
    rng = random.Random(11)
    first = full_quotes(rng)
    state = {q["symbol"]: dict(q) for q in first}
    await server.publish({"type": "quotes", "ts": T0, "quotes": first})
    events = []
    store = Store()
    client = FeedClient(server.url, store, on_event=events.append)
    task = asyncio.create_task(client.run())
    await wait_for(lambda: bool(server._connections) and next(iter(server._connections)).seq >= 1)
    conn = next(iter(server._connections))
    for n, body in enumerate(deltas(rng, state, 60)):
        if n == 30:
            conn.seq += 1  # the server "loses" a message: a gap the client must see
            server.apply(body)  # ...and this update never goes out
            continue
        await server.publish(body)
    await server.finish()
    assert await asyncio.wait_for(task, 10) == "eof"
    await server.close()
    assert client.stats.resyncs == 1
    assert any(e.state == "resync" for e in events)
    assert_same_state(server.quotes, store)


async def test_bad_frames_are_counted_and_skipped():
    server = QuoteServer(wait_for_client=False)
    await server.start()
    rng = random.Random(5)
    first = full_quotes(rng)
    state = {q["symbol"]: dict(q) for q in first}
    await server.publish({"type": "quotes", "ts": T0, "quotes": first})
    store = Store()
    client = FeedClient(server.url, store)
    task = asyncio.create_task(client.run())
    await wait_for(lambda: store.frame.height == len(SYMBOLS))
    conn = next(iter(server._connections))
    garbage = [
        "not json", "{", "[]", '{"type": 5}', '{"type":"quotes","quotes":[{"symbol":"600000.SH","last":-3}]}',
        '{"type":"quotes","seq":"x"}', '{"type":"quotes","quotes":[{"symbol":"600000.SH","last":1e999}]}',
        '{"type":"quotes","quotes":[{"symbol":"600000.SH","volume":"many"}]}', "\x00\x01", "null",
    ]  # fmt: skip
    bad = 0
    for body in deltas(rng, state, 50):
        await server.publish(body)
        for raw in rng.sample(garbage, 3):
            await conn.ws.send(raw)  # outside the numbered stream, as a broken relay would
            bad += 1
    await server.finish()
    assert await asyncio.wait_for(task, 10) == "eof"
    await server.close()
    assert client.stats.bad_messages == bad
    assert_same_state(server.quotes, store)


async def test_unreachable_feed_gives_up():
    client = FeedClient("ws://127.0.0.1:9", Store(), give_up_after=0.3, backoff_initial=0.05)
    with pytest.raises(FeedUnreachable):
        await asyncio.wait_for(client.run(), 10)


async def test_silent_feed_goes_stale_and_recovers():
    server = QuoteServer(wait_for_client=False)
    await server.start()
    rng = random.Random(1)
    await server.publish({"type": "quotes", "ts": T0, "quotes": full_quotes(rng)})
    events = []
    store = Store()
    client = FeedClient(server.url, store, on_event=events.append, stale_after=0.3)
    task = asyncio.create_task(client.run())
    await wait_for(lambda: any(e.state == "stale" for e in events), timeout=5)
    assert store.stale
    await server.publish({"type": "quotes", "ts": T0 + 3000, "quotes": [{"symbol": "600000.SH", "ts": T0 + 3000, "last": 9.99}]})
    await wait_for(lambda: not store.stale, timeout=5)
    client.stop()
    assert await asyncio.wait_for(task, 5) == "stopped"
    await server.close()


async def test_a_source_down_keeps_quotes_stale_while_frames_arrive_until_it_is_up():
    """A bridge's public source, a NATS gateway's NATS: the link is fine, the quotes are not live."""
    server = QuoteServer(wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": full_quotes(random.Random(2))})
    store = Store()
    events = []
    client = FeedClient(server.url, store, on_event=events.append)
    task = asyncio.create_task(client.run())
    await wait_for(lambda: store.source is None and not store.stale and client.connected, timeout=5)
    await server.publish({"type": "source", "ts": T0 + 1, "name": "nats", "state": "down", "detail": "away"})
    await wait_for(lambda: store.stale, timeout=5)
    await server.publish({"type": "quotes", "ts": T0 + 3000, "quotes": [{"symbol": "600000.SH", "ts": T0 + 3000, "volume": 1}]})
    await asyncio.sleep(0.1)
    assert store.stale  # a frame arrived, and the quotes are still not live
    await server.publish({"type": "source", "ts": T0 + 3001, "name": "nats", "state": "up"})
    await wait_for(lambda: not store.stale, timeout=5)
    assert [e.state for e in events].count("live") >= 1
    client.stop()
    assert await asyncio.wait_for(task, 5) == "stopped"
    await server.close()
