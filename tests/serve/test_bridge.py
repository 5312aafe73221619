"""A bridge against a local HTTP server that plays a quote source: a 429 with
Retry-After, a garbage body, then recorded responses and a change. A real
FeedClient (through Engine) connected to the bridge must end with the right quotes."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marketmon.engine import Engine, FeedChoice, open_feed
from marketmon.serve.bridge import BridgeServer
from marketmon.serve.sources import get_source
from marketmon.serve.sources.poll import FetchError, Poller

from ..conftest import assert_same_state, wait_for

DATA = Path(__file__).parents[1] / "data" / "sources"
# A local stand-in, not the public host: no request budget to keep to (test_bridge tests the budget).
FAST = {"backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 5.0, "budget": 100_000}


class FakeSource:
    """http.server on port 0 in a thread: scripted answers first, then `body`.
    It plays the quote endpoint only: East Money's flow and pool endpoints
    (sources/extras.py) get a 404 and are not counted."""

    def __init__(self, body: bytes = b"") -> None:
        self.body = body
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith(("/api/qt/kamt", "/getTopic")):
                    self.send_error(404)
                    return
                fake.requests.append((time.monotonic(), self.path, dict(self.headers)))
                status, headers, body = fake.script.pop(0) if fake.script else (200, {}, fake.body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeSource:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def spied(server: BridgeServer) -> list[dict]:
    """Every message the server publishes, in order."""
    published: list[dict] = []
    original = server.publish

    async def spy(body: dict) -> None:
        published.append(body)
        await original(body)

    server.publish = spy  # type: ignore[method-assign]
    return published


CASES = [
    # source, recorded answer, a change (old bytes -> new bytes), the symbol it moves, its new last
    ("sina", "sina-a-share.gbk.txt", (b",14.05,13.98,14.10,", b",14.05,14.00,14.10,"), "600000.SH", 14.0),
    ("tencent", "tencent-a-share.gbk.txt", (b"~600000~13.98~", b"~600000~14.00~"), "600000.SH", 14.0),
    ("eastmoney", "eastmoney-ulist.json", (b'"f2":1398,', b'"f2":1400,'), "600000.SH", 14.0),
]


@pytest.mark.parametrize(("source", "file", "change", "symbol", "new_last"), CASES)
async def test_bridge_survives_429_and_garbage_and_serves_the_right_quotes(source, file, change, symbol, new_last):
    v1 = (DATA / file).read_bytes()
    v2 = v1.replace(*change)
    assert v2 != v1
    parsed = get_source(source).parse(v1)
    symbols = [q["symbol"] for q in parsed.quotes] + ["600001.SH"]  # the last one the source does not have
    with FakeSource(v1) as fake:
        fake.script = [
            (429, {"Retry-After": "1"}, b"slow down"),
            (200, {"Content-Type": "text/html"}, (DATA / "garbage.html").read_bytes()),
        ]
        server = BridgeServer(source, symbols, interval=0.05, base_url=fake.url, poll_options=FAST)
        published = spied(server)
        await server.start()
        engine = Engine(server.url)
        task = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: engine.store.frame.height == len(parsed.quotes), timeout=15)
            fake.body = v2
            await wait_for(lambda: (engine.store.quote(symbol) or {}).get("last") == new_last, timeout=15)
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    assert_same_state(server.quotes, engine.store)
    # Retry-After was honoured: the second request came a full second after the 429.
    (t429, _, _), (t_garbage, _, _) = fake.requests[:2]
    assert t_garbage - t429 >= 1.0
    assert server.poller.stats.errors >= 2
    # The change went out as a delta carrying only what moved.
    deltas = [q for b in published if b["type"] == "quotes" for q in b["quotes"] if q["symbol"] == symbol]
    assert deltas[-1] == {"symbol": symbol, "ts": deltas[-1]["ts"], "last": new_last}
    assert len(deltas) == 2  # the full quote once, the change once: unchanged polls send nothing
    assert "600001.SH" in server.unknown
    if source == "sina":
        assert all(h.get("Referer", "").startswith("https://finance.sina.com.cn") for _, _, h in fake.requests)


async def test_subscribers_are_told_which_symbols_the_source_does_not_know():
    body = (DATA / "sina-a-share.gbk.txt").read_bytes()
    with FakeSource(body) as fake:
        feed = await open_feed(FeedChoice(source="sina", symbols=["600000.SH", "600001.SH"],
                                          source_options={"interval": 0.05, "base_url": fake.url}))  # fmt: skip
        server = feed.server
        try:
            await wait_for(lambda: "600000.SH" in server.quotes and "600001.SH" in server.unknown)
            engine = Engine(server.url, symbols=["600000.SH", "600001.SH"])
            task = asyncio.create_task(engine.run())
            await wait_for(lambda: engine.store.frame.height == 1 and "600001.SH" in engine.store.unknown)
            engine.stop()
            await asyncio.wait_for(task, 10)
        finally:
            await feed.close()
    assert server.host == "127.0.0.1" and feed.url == server.url


async def test_symbols_go_in_batches_of_the_source_size():
    body = (DATA / "tencent-a-share.gbk.txt").read_bytes()
    symbols = [q["symbol"] for q in get_source("tencent").parse(body).quotes]
    source = dataclasses.replace(get_source("tencent"), batch_size=2)
    with FakeSource(body) as fake:
        server = BridgeServer("tencent", [], wait_for_client=False)
        poller = Poller(source, symbols, server, base_url=fake.url)
        await poller.poll_once()
    assert poller.stats.requests == 3 == len(fake.requests)
    assert sorted(p.split("=", 1)[1] for _, p, _ in fake.requests) == sorted(
        ",".join(source.code_of(s) for s in symbols[i : i + 2]) for i in range(0, len(symbols), 2))  # fmt: skip
    assert set(server.quotes) == set(symbols)


async def test_errors_back_off_exponentially():
    with FakeSource(b"") as fake:
        fake.script = [(500, {}, b"oops")] * 6
        server = BridgeServer("sina", ["600000.SH"], wait_for_client=False)
        said: list[str] = []
        poller = Poller(
            get_source("sina"), ["600000.SH"], server, base_url=fake.url, interval=0.01,
            on_event=lambda state, detail: said.append(detail), **FAST,
        )  # fmt: skip
        task = asyncio.create_task(poller.run())
        await wait_for(lambda: len(fake.requests) >= 5, timeout=10)
        task.cancel()
    # The delays the poller chose (wall-clock gaps would measure the machine's load too).
    delays = [float(re.search(r"retrying in ([0-9.]+)s", d).group(1)) for d in said]
    assert delays[0] <= 0.05 and delays[3] >= 0.1  # 0.05 x [0.5, 1], then capped 0.2 x [0.5, 1]
    assert all(d <= 0.2 for d in delays)
    assert poller.stats.errors >= 4


async def test_unreachable_source_is_a_fetch_error():
    server = BridgeServer("tencent", ["600000.SH"], wait_for_client=False)
    poller = Poller(get_source("tencent"), ["600000.SH"], server, base_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(FetchError):
        await poller.poll_once()


async def run_cli(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start `marketmon ARGS` and wait for the line that names its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "marketmon", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    found = re.search(r"(wss?://\S+)", line)
    assert found, line
    return proc, found.group(1)


async def stop_cli(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGINT)
    return await asyncio.wait_for(proc.wait(), 20)


async def test_bridge_command_serves_a_source():
    with FakeSource((DATA / "sina-a-share.gbk.txt").read_bytes()) as fake:
        proc, url = await run_cli("bridge", "sina", "--symbols", "600000,688521", "--port", "0",
                                  "--interval", "1", "--base-url", fake.url)  # fmt: skip
        try:
            engine = Engine(url)
            task = asyncio.create_task(engine.run())
            await wait_for(lambda: engine.store.frame.height == 2, timeout=15)
            engine.stop()
            await asyncio.wait_for(task, 10)
        finally:
            assert await stop_cli(proc) == 0
    assert engine.store.quote("688521.SH")["last"] == 154.39
    assert engine.store.quote("600000.SH")["volume"] == 61_234_500


async def test_a_source_that_fails_is_down_with_its_reason_and_up_again_when_it_answers():
    """Every client sees the source's health: a dead source never looks like a quiet market."""
    body = (DATA / "eastmoney-ulist.json").read_bytes()
    with FakeSource(body) as fake:
        fake.script = [(503, {}, b"busy"), (403, {}, b"no")]
        server = BridgeServer("eastmoney", ["600000.SH"], interval=0.05, base_url=fake.url, poll_options=FAST)
        await server.start()
        engine = Engine(server.url)
        seen: list[tuple[str, str]] = []
        original = engine.store.set_source

        def record(name: str, state: str, detail: str, ts: int | None) -> None:
            seen.append((state, detail))
            original(name, state, detail, ts)

        engine.store.set_source = record  # type: ignore[method-assign]
        task = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: engine.store.source is not None and engine.store.source.state == "up", timeout=15)
            # A client that joins now gets the current health with its snapshot.
            late = Engine(server.url)
            late_task = asyncio.create_task(late.run())
            await wait_for(lambda: late.store.source is not None)
            assert late.store.source.state == "up"
            late.stop()
            await asyncio.wait_for(late_task, 10)
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    downs = [detail for state, detail in seen if state == "down"]
    assert downs and "HTTP 503" in downs[0]  # down at once, with the reason
    assert any("HTTP 403" in d for d in downs)  # a new reason is told too
    assert seen[-1] == ("up", "") and engine.store.source.name == "eastmoney"


def test_watch_source_exits_1_when_the_source_never_answers(capsys, monkeypatch):
    from marketmon.cli import watch
    from marketmon.cli.main import main

    monkeypatch.setattr(watch, "SOURCE_GIVE_UP_S", 1.0)
    with FakeSource() as fake:
        fake.body = b"<html>captcha</html>"  # answers, but never with quotes
        code = main(["watch", "--source", "eastmoney", "--symbols", "600000", "--base-url", fake.url,
                     "--interval", "1", "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert "cannot reach eastmoney: unreadable answer from eastmoney" in err
    assert '"state":"source"' in out and "eastmoney down" in out


async def test_the_next_source_takes_over_with_no_gap_in_the_stream():
    """eastmoney answers, then sends an error page; after 2 failed rounds tencent
    takes over: clients see no reconnect, no resync, only what changed."""
    em = (DATA / "eastmoney-ulist.json").read_bytes()
    tc = (DATA / "tencent-a-share.gbk.txt").read_bytes().replace(b"~600000~13.98~", b"~600000~14.00~")
    with FakeSource(em) as first, FakeSource(tc) as second:
        server = BridgeServer("eastmoney,tencent", ["600000.SH"], interval=0.05, fail_after=2, poll_options=FAST,
                              base_urls={"eastmoney": first.url, "tencent": second.url})  # fmt: skip
        published = spied(server)
        await server.start()
        engine = Engine(server.url)
        task = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: (engine.store.quote("600000.SH") or {}).get("last") == 13.98, timeout=15)
            first.body = (DATA / "garbage.html").read_bytes()  # the first source breaks
            await wait_for(lambda: (engine.store.quote("600000.SH") or {}).get("last") == 14.0, timeout=15)
            await wait_for(lambda: engine.store.source is not None and engine.store.source.name == "tencent")
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    assert server.poller.source.name == "tencent"
    stats = engine.client.stats
    assert (stats.reconnects, stats.resyncs, stats.bad_messages) == (0, 0, 0)  # one unbroken stream
    health = [(b["name"], b["state"], b.get("detail", "")) for b in published if b["type"] == "source"]
    assert ("eastmoney", "up", "") in health
    assert [h for h in health if h[1] == "down"][-1][0] == "eastmoney"
    assert health[-1][:2] == ("tencent", "up") and "took over from eastmoney" in health[-1][2]
    # After the takeover only changes go out: no full quote again (name, prev close are the same).
    quotes = [q for b in published if b["type"] == "quotes" for q in b["quotes"] if q["symbol"] == "600000.SH"]
    assert "name" in quotes[0] and all("name" not in q and "prev_close" not in q for q in quotes[1:])
    assert quotes[-1]["last"] == 14.0


async def test_the_request_budget_spreads_requests_evenly():
    """600 a minute with a 5 s burst: 50 at once, then one every 0.1 s, never faster."""
    from marketmon.serve.sources.poll import RequestBudget

    now = [0.0]
    starts: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    budget = RequestBudget(600, burst_s=5.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(80):
        await budget.take()
        starts.append(now[0])
    assert starts[:50] == [0.0] * 50
    gaps = [b - a for a, b in zip(starts[50:], starts[51:], strict=False)]
    assert all(g == pytest.approx(0.1) for g in gaps) and starts[-1] == pytest.approx(3.0)
    with pytest.raises(ValueError):
        RequestBudget(0)


def test_bridge_help_names_each_sources_budget(capsys):
    from marketmon.cli.main import main

    with pytest.raises(SystemExit):
        main(["bridge", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "eastmoney 50, under the 200 a minute" in text and "tencent 600, sina 300" in text
    assert get_source("sina").budget == 300 and get_source("eastmoney").budget == 50 and get_source("tencent").budget == 600


async def test_codes_a_source_does_not_know_are_named_a_few_then_counted():
    v1 = (DATA / "tencent-a-share.gbk.txt").read_bytes()
    missing = [f"{600100 + i}.SH" for i in range(60)]  # Tencent answers none of these
    events: list[tuple[str, str]] = []
    with FakeSource(v1) as fake:
        server = BridgeServer("tencent", [*missing, "600000.SH"], interval=0.05, base_url=fake.url, poll_options=FAST,
                              on_event=lambda state, detail: events.append((state, detail)))  # fmt: skip
        await server.start()
        try:
            await wait_for(lambda: any(state == "unknown" for state, _ in events), timeout=15)
        finally:
            await server.close()
    [detail] = [d for state, d in events if state == "unknown"]
    assert detail.startswith("600100.SH, 600101.SH") and detail.endswith(" and 40 more")  # one line, not 60 codes
    assert len(server.unknown) == 60
