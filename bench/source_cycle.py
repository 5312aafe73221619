"""One bridge cycle over the whole market, from a local server that answers like
East Money's push2 (no network): requests, wall time and CPU per cycle, bytes
parsed per second, against the 3 s cycle the bridges poll at.

    .venv/bin/python bench/source_cycle.py [--instruments 9000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec

from marketmon.market.sessions import trade_date_of
from marketmon.serve.server import QuoteServer
from marketmon.serve.sources import get_source
from marketmon.serve.sources.market import WholeMarket
from marketmon.serve.sources.poll import Poller, fetch


def universe(n: int) -> list[tuple[int, str]]:
    """n instruments spread over SH, SZ and HK the way a whole market is."""
    out = [(1, f"60{i:04d}") for i in range(n * 4 // 10)] + [(0, f"00{i:04d}") for i in range(n * 4 // 10)]
    return out + [(116, f"{i:05d}") for i in range(1, n - len(out) + 1)]


def serve(n: int, ports: multiprocessing.Queue, sent: Any) -> None:
    """Run in its own process, so its CPU is not counted as the bridge's."""
    rows = universe(n)
    secids = {f"{m}.{c}" for m, c in rows}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            if url.path == "/api/qt/clist/get":
                size, page = int(q["pz"][0]), int(q["pn"][0])
                chunk = rows[(page - 1) * size : page * size] if "t:6" in q["fs"][0] else []
                data = {"total": len(rows), "diff": [{"f12": c, "f13": m, "f14": "N"} for m, c in chunk]}
                body = {"rc": 0, "data": data if chunk else None}
            else:
                now = int(time.time())
                diff = [{"f1": 2, "f2": 1234 + now % 7, "f5": 100, "f6": 123400.0, "f12": s.split(".")[1],
                         "f13": int(s.split(".")[0]), "f14": "名称", "f15": 1250, "f16": 1200, "f17": 1210,
                         "f18": 1220, "f124": now, "f152": 2}
                        for s in q["secids"][0].split(",") if s in secids]  # fmt: skip
                body = {"rc": 0, "data": {"total": len(diff), "diff": diff}}
            payload = json.dumps(body).encode()
            with sent.get_lock():
                sent.value += len(payload)
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ports.put(httpd.server_address[1])
    httpd.serve_forever()


async def measure(n: int, rounds: int) -> dict[str, float]:
    ports: multiprocessing.Queue = multiprocessing.Queue()
    sent = multiprocessing.Value("q", 0)
    process = multiprocessing.Process(target=serve, args=(n, ports, sent), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    server = QuoteServer(None, wait_for_client=False)
    await server.start()
    # A local stand-in: no request budget, so one cycle is the whole market (the public
    # host's 50 a minute would poll it in turns: docs/sources.md).
    poller = Poller(get_source("eastmoney"), [], server, base_url=url, market=WholeMarket(None, url), budget=100_000)
    await poller._list_market(trade_date_of(int(time.time() * 1000)))  # noqa: SLF001 (once a day, not a cycle)
    walls, cpus = [], []
    sent.value = 0
    for _ in range(rounds):
        w, c = time.perf_counter(), time.process_time()
        await poller.poll_once()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    # The baseline, in the same run: the least any reader of these answers does,
    # fetch them and decode the JSON, with no quote made and nothing diffed.
    bodies = [await asyncio.to_thread(fetch, u, {}, 10.0) for u in poller.urls()]
    base_cpus = []
    for _ in range(rounds):
        c = time.process_time()
        for u in poller.urls():
            msgspec.json.decode(await asyncio.to_thread(fetch, u, {}, 10.0))
        base_cpus.append(time.process_time() - c)
    await server.close()
    process.terminate()
    wall, cpu = sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2]
    base = sorted(base_cpus)[len(base_cpus) // 2]
    return {
        "instruments": len(poller.symbols), "list_requests": poller.market.requests,
        "requests_per_cycle": len(poller.urls()), "cycle_wall_s": round(wall, 3), "cycle_cpu_s": round(cpu, 3),
        "cpu_share_of_a_3s_cycle": round(cpu / 3.0, 3), "parsed_mb_per_s": round(sent.value / rounds / wall / 1e6, 1),
        "answer_bytes": sum(map(len, bodies)), "baseline_fetch_and_decode_cpu_s": round(base, 3),
        "cpu_ratio_to_baseline": round(cpu / base, 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instruments", type=int, default=9000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.instruments, args.rounds))))


if __name__ == "__main__":
    main()
