"""The desk gateway: one upstream, 50 terminals, one of them slow; token auth; TLS.

Every fast terminal must get every update, in order and in time, while the slow
one reads at its own pace; the slow one gets merged updates and still ends in
the upstream's exact final state. The coalescing queue is tested on its own too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from marketmon.engine import Engine
from marketmon.market.sessions import market_ms
from marketmon.serve.demo_day import SEED_DAY
from marketmon.feed import protocol
from marketmon.serve.coalesce import CoalescingQueue
from marketmon.serve.gateway import Gateway, tls_context
from marketmon.serve.server import QuoteServer

from ..conftest import T0, assert_same_state, wait_for

SYMBOLS = [f"{600000 + i:06d}.SH" for i in range(40)]
MARK = SYMBOLS[0]  # its volume numbers the updates: volume i = update i
SEED_DATE = dt.date(2025, 9, 12)
LIMIT_FIELDS = ("limit_up", "limit_down", "limit_state")


class Terminal:
    """A minimal protocol client that checks seq and notes when each update arrives."""

    def __init__(self, url: str, *, delay: float = 0.0, gate: asyncio.Event | None = None,
                 **connect_options: object) -> None:  # fmt: skip
        self.url, self.delay, self.gate, self.options = url, delay, gate, connect_options
        self.state: dict[str, dict] = {}
        self.seq = 0
        self.gaps = 0
        self.messages = 0
        self.arrived: dict[int, float] = {}  # update number -> monotonic arrival
        self.subscribed = asyncio.Event()
        self.ended = False

    async def run(self) -> None:
        async with connect(self.url, compression=None, max_size=protocol.MAX_FRAME_BYTES, **self.options) as ws:
            await ws.send(protocol.subscribe(["*"], 1).decode())
            async for frame in ws:
                msg = json.loads(frame)
                if "seq" in msg:
                    self.gaps += msg["seq"] != self.seq + 1
                    self.seq = msg["seq"]
                self.messages += 1
                if msg["type"] in ("snapshot", "quotes"):
                    for q in msg["quotes"]:
                        self.state.setdefault(q["symbol"], {}).update(q)
                        if q["symbol"] == MARK and "volume" in q:
                            self.arrived.setdefault(q["volume"], time.monotonic())
                    if msg["type"] == "snapshot":
                        self.subscribed.set()
                        if self.gate is not None:
                            await self.gate.wait()  # reads nothing more until the test opens the gate
                elif msg["type"] == "eof":
                    self.ended = True
                    return
                if self.delay:
                    await asyncio.sleep(self.delay)


def small_send_buffer(server: QuoteServer) -> None:
    """Fix the only connection's kernel send buffer at 32 KiB (no autotuning to
    megabytes), so a slow reader's backlog reaches the gateway's queue soon."""
    (conn,) = server._connections
    conn.ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)


def opening() -> list[dict]:
    return [{"symbol": s, "ts": T0, "name": f"N{s}", "prev_close": 10.0, "last": 10.0, "volume": 0} for s in SYMBOLS]


async def test_fifty_terminals_one_slow_every_fast_one_gets_every_update():
    upstream = QuoteServer(wait_for_client=False)
    await upstream.start()
    await upstream.publish({"type": "quotes", "ts": T0, "quotes": opening()})
    async with Gateway(upstream.url) as gateway:
        assert gateway.server.host == "127.0.0.1" and gateway.url.startswith("ws://127.0.0.1:")
        await wait_for(lambda: len(gateway.server.quotes) == len(SYMBOLS))
        gate = asyncio.Event()
        slow = Terminal(gateway.url, delay=0.01, gate=gate, max_queue=1)
        tasks = [asyncio.create_task(slow.run())]
        await asyncio.wait_for(slow.subscribed.wait(), 10)
        small_send_buffer(gateway.server)
        fast = [Terminal(gateway.url) for _ in range(49)]
        tasks += [asyncio.create_task(t.run()) for t in fast]
        await asyncio.wait_for(asyncio.gather(*(t.subscribed.wait() for t in fast)), 20)
        rng = random.Random(4)
        updates = 1000
        for i in range(1, updates + 1):
            ts = T0 + i * 1000
            quotes = [{"symbol": MARK, "ts": ts, "volume": i, "last": round(10 + i / 1000, 3)}]
            for s in rng.sample(SYMBOLS[1:], 30):
                quotes.append({"symbol": s, "ts": ts, "last": round(rng.uniform(9, 11), 2), "volume": i * 100})
            await upstream.publish({"type": "quotes", "ts": ts, "quotes": quotes})
            if i % 20 == 0:
                await asyncio.sleep(0.02)  # a busy market, not a flood: fast terminals keep up
        # Not held back: every fast terminal has every update while the slow one
        # has read nothing since its snapshot (60 s: a hang guard, not a latency bound).
        await wait_for(lambda: all(updates in t.arrived for t in fast), timeout=60)
        assert slow.arrived.keys() <= {0}  # the opening, from its snapshot: not one update
        gate.set()
        await upstream.finish()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    await upstream.close()
    final = upstream.quotes
    for t in fast:
        assert t.ended and t.gaps == 0
        assert set(t.arrived) - {0} == set(range(1, updates + 1)), "a fast terminal missed an update"
        assert t.state == final
    assert slow.ended and slow.gaps == 0
    assert slow.state == final  # converged to the exact final state
    assert slow.messages < updates  # ...on fewer, merged messages


async def test_slow_terminal_is_coalesced_not_buffered():
    """Directly on the server: a terminal that does not read gets merged state, bounded."""
    upstream = QuoteServer(wait_for_client=False)
    await upstream.start()
    await upstream.publish({"type": "quotes", "ts": T0, "quotes": opening()})
    async with Gateway(upstream.url) as gateway:
        await wait_for(lambda: len(gateway.server.quotes) == len(SYMBOLS))
        async with connect(gateway.url, max_queue=1, compression=None) as ws:
            await ws.recv()  # hello
            await ws.send(protocol.subscribe(["*"], 1).decode())
            await wait_for(lambda: any(c.seq for c in gateway.server._connections))
            small_send_buffer(gateway.server)
            (conn,) = gateway.server._connections
            for i in range(1, 2001):
                ts = T0 + i * 1000
                quotes = [{"symbol": s, "ts": ts, "volume": i, "last": 10 + (i % 100) / 100} for s in SYMBOLS]
                await upstream.publish({"type": "quotes", "ts": ts, "quotes": quotes})
            await upstream.finish()
            await wait_for(lambda: conn.queue.merged > 0, timeout=20)
            assert conn.queue.qsize() <= conn.queue.limit + 3  # bounded: queued messages + merged state
            state: dict[str, dict] = {}
            seq = 0
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
                assert msg["seq"] == seq + 1
                seq = msg["seq"]
                if msg["type"] == "eof":
                    break
                for q in msg.get("quotes", []):
                    state.setdefault(q["symbol"], {}).update(q)
    await upstream.close()
    assert state == upstream.quotes
    assert seq < 2000


# the coalescing queue -----------------------------------------------------------------------


def q_body(ts: int, **fields: float) -> dict:
    return {"type": "quotes", "ts": ts, "quotes": [{"symbol": s, "ts": ts, "last": v} for s, v in fields.items()]}


async def test_queue_merges_past_its_limit_and_keeps_order():
    queue = CoalescingQueue(limit=2)
    for i, body in enumerate([q_body(1, A=1.0), q_body(2, A=2.0), q_body(3, A=3.0, B=1.0), q_body(4, A=4.0)]):
        queue.put_nowait(protocol.encode(body), body)
    status = {"type": "status", "ts": 5, "market": "CN", "phase": "closed"}
    queue.put_nowait(protocol.encode(status), status)
    await queue.put(protocol.encode({"type": "snapshot", "quotes": []}))  # must come after the merged state
    queue.put_nowait(b'{"type":"eof"}')
    got = [json.loads(await queue.get()) for _ in range(6)]
    assert [g["type"] for g in got] == ["quotes", "quotes", "quotes", "status", "snapshot", "eof"]
    assert got[2]["quotes"] == [{"symbol": "A", "ts": 4, "last": 4.0}, {"symbol": "B", "ts": 3, "last": 1.0}]
    assert queue.merged == 3


async def test_queue_drops_error_replies_for_a_flooding_client():
    queue = CoalescingQueue(limit=1)
    for _ in range(10):
        await queue.put(b'{"type":"error","code":"bad_request"}')
    assert queue.qsize() == 4 and queue.dropped == 6


# auth and TLS ---------------------------------------------------------------------------------


async def test_a_terminal_before_the_upstream_gets_the_trade_dates_limits():
    """A terminal that connects while the gateway's upstream is not up yet: its
    hello waits for the upstream's session, so an ST stock's limits are the
    trade date's (+/-5 %), not today's rules, exactly as a direct terminal's."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gateway = Gateway(f"ws://127.0.0.1:{port}", give_up_after=30, backoff_max=0.5)
    await gateway.start()
    early = Engine(gateway.url)
    runs = [asyncio.create_task(early.run())]
    upstream = QuoteServer(SEED_DAY, speed=0, port=port, start_at=market_ms(SEED_DATE, dt.time(14, 0)))
    try:
        await wait_for(lambda: early.client.connected)
        await asyncio.sleep(0.5)  # connected, and no session anywhere yet
        await upstream.start()
        direct = Engine(upstream.url)
        runs.append(asyncio.create_task(direct.run()))
        assert await asyncio.wait_for(asyncio.gather(*runs), 60) == ["eof", "eof"]
    finally:
        for run in runs:
            run.cancel()
        await gateway.close()
        await upstream.close()
    st = direct.store.quote("002602.SZ")
    assert st["limit_up"] == 17.41 and st["limit_down"] == 15.75  # 16.58 +/- 5 %
    for symbol in SEED_DAY.closing_state():
        mine, theirs = early.store.quote(symbol), direct.store.quote(symbol)
        assert [mine[f] for f in LIMIT_FIELDS] == [theirs[f] for f in LIMIT_FIELDS], symbol
    assert early.store.trade_date == direct.store.trade_date == SEED_DATE


async def first_message(url: str, **options: object) -> dict:
    async with connect(url, compression=None, **options) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_token_is_required_when_set():
    upstream = QuoteServer(wait_for_client=False)
    await upstream.start()
    async with Gateway(upstream.url, token="s3cret") as gateway:
        for url, options in ((gateway.url, {}), (gateway.url + "/?token=wrong", {}),
                             (gateway.url, {"additional_headers": {"Authorization": "Bearer wrong"}})):  # fmt: skip
            with pytest.raises(ConnectionClosed) as exc:
                await first_message(url, **options)
            assert exc.value.rcvd.code == 4401
        assert (await first_message(gateway.url + "/?token=s3cret"))["type"] == "hello"
        hello = await first_message(gateway.url, additional_headers={"Authorization": "Bearer s3cret"})
        assert hello["type"] == "hello"
    await upstream.close()


@pytest.fixture
def self_signed(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("TLS test needs the openssl binary to make a self-signed certificate (cryptography is not installed)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_tls_gateway_serves_wss(self_signed, monkeypatch):
    cert, key = self_signed
    upstream = QuoteServer(wait_for_client=False)
    await upstream.start()
    await upstream.publish({"type": "quotes", "ts": T0, "quotes": opening()})
    async with Gateway(upstream.url, ssl_context=tls_context(str(cert), str(key)), token="t") as gateway:
        assert gateway.url.startswith("wss://127.0.0.1:")
        await wait_for(lambda: len(gateway.server.quotes) == len(SYMBOLS))
        trusted = ssl.create_default_context(cafile=str(cert))
        assert (await first_message(gateway.url + "/?token=t", ssl=trusted))["type"] == "hello"
        with pytest.raises(ssl.SSLError):  # an unknown certificate is refused
            await first_message(gateway.url + "/?token=t", ssl=ssl.create_default_context())
        # A terminal trusts the desk's certificate through SSL_CERT_FILE.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        engine = Engine(gateway.url + "/?token=t")
        task = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.store.frame.height == len(SYMBOLS), timeout=10)
        engine.stop()
        await asyncio.wait_for(task, 10)
    await upstream.close()
    assert_same_state(upstream.quotes, engine.store)


# the whole chain from the command line ---------------------------------------------------------


async def test_recorded_day_through_a_gateway_to_watch(tmp_path):
    """record --demo | serve --replay | serve --upstream | watch: the closing table is the seed day's."""
    from marketmon.cli.main import main
    from marketmon.serve.demo_day import SEED_DAY

    from .test_bridge import run_cli, stop_cli

    path = tmp_path / "seed.jsonl.gz"
    assert main(["record", "--demo", "--out", str(path)]) == 0
    replay, replay_url = await run_cli("serve", "--replay", str(path), "--speed", "0", "--port", "0")
    gateway, gateway_url = await run_cli("serve", "--upstream", replay_url, "--port", "0", "--token", "t")
    try:
        watch = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "marketmon", "watch", "--url", gateway_url + "/?token=t", "--all", "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(watch.communicate(), 120)
        assert watch.returncode == 0, err.decode()
    finally:
        assert await stop_cli(gateway) == 0
        assert await stop_cli(replay) == 0
    events = [json.loads(line) for line in out.decode().splitlines()]
    quotes = {e["symbol"]: e for e in events if e["event"] == "quote"}
    closing = SEED_DAY.closing_state()
    assert set(quotes) == set(closing)
    for symbol, q in closing.items():
        assert quotes[symbol]["last"] == q["last"] and quotes[symbol]["volume"] == q["volume"], symbol
    assert events[-1]["event"] == "end"
