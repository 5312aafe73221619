"""Screen figures for `marketmon bench`: the real Textual app painting a real stream.

Three processes, so each is measured alone on the 2-core machine:
- a stream server (QuoteServer) sending 10,000 instruments at 10,000 updates/s;
- the app (MarketmonApp, headless driver: it composes and renders every frame,
  the output goes nowhere), which writes a trace of painted frames
  (`MARKETMON_TRACE`): for each paint, how long ago the oldest frame it shows
  was received from the socket;
- this process, sampling the app's CPU with psutil while the stream runs and
  after it stops (idle).
Start-up is timed from spawning `marketmon` on the demo to the trace's first
painted frame with data.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marketmon.serve.script import Event
from marketmon.serve.universe import RandomWalk, full_quote, instruments

STEP_MS = 100  # the stream sends one frame every 100 ms


class Stream:
    """A script of `seconds` of live-looking quotes at `rate` updates/s, timed from now."""

    trade_date = time.strftime("%Y-%m-%d")
    tz = "Asia/Shanghai"

    def __init__(self, n: int, rate: int, seconds: float) -> None:
        self.n, self.rate, self.seconds = n, rate, seconds

    def events(self) -> Iterator[Event]:
        universe = instruments(self.n, 1)
        t0 = int(time.time() * 1000)
        yield Event(t0, {"type": "status", "ts": t0, "market": "CN", "phase": "continuous"})
        yield Event(t0, {"type": "quotes", "ts": t0, "quotes": [full_quote(i, t0) for i in universe]})
        walk = RandomWalk(universe, 2)
        per_frame = max(1, self.rate * STEP_MS // 1000)
        for k in range(1, int(self.seconds * 1000 / STEP_MS) + 1):
            ts = t0 + k * STEP_MS
            yield Event(ts, {"type": "quotes", "ts": ts, "quotes": walk.updates(per_frame, ts)})


def serve_stream(port_file: str, n: int, rate: int, seconds: float) -> None:
    """Run in the server process: serve the stream, write the port, stay up after eof."""
    from marketmon.serve.server import QuoteServer

    async def main() -> None:
        server = QuoteServer(Stream(n, rate, seconds), speed=1.0)
        await server.start()
        Path(port_file).write_text(str(server.port))
        await asyncio.Event().wait()

    asyncio.run(main())


def run_app(url: str | None, view: str | None = None) -> None:
    """Run in the app process: the real app, headless, on the main screen or one view."""
    from marketmon.tui.app import MarketmonApp

    async def show_view(pilot: Any) -> None:
        if view is not None:
            pilot.app.action_view(view)
        await asyncio.Event().wait()  # the bench ends the process

    MarketmonApp(url=url).run(headless=True, size=(160, 48), auto_pilot=show_view)


def _spawn(code: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _read_trace(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("screen bench: the app did not start")
        time.sleep(0.05)


def _cpu(proc: Any, seconds: float) -> float:
    proc.cpu_percent(None)
    time.sleep(seconds)
    return proc.cpu_percent(None)


def startup_seconds(home: str) -> float:
    """Launch to first painted frame with data, on the demo."""
    trace = Path(home) / "startup.jsonl"
    started = time.time()
    app = _spawn("from marketmon.cli.screen_bench import run_app; run_app(None)",
                 {"MARKETMON_TRACE": str(trace), "MARKETMON_HOME": home})  # fmt: skip
    try:
        _wait_for(lambda: any(e["event"] == "paint" and e.get("rows") for e in _read_trace(trace)), 60)
        first = next(e for e in _read_trace(trace) if e["event"] == "paint" and e.get("rows"))
        return first["t"] - started
    finally:
        app.terminate()
        app.wait(10)


def screen_figures(quick: bool = False, n: int = 10_000, rate: int = 10_000, view: str | None = None) -> dict[str, Any]:
    import psutil

    stream_s, warmup_s, idle_s = (20, 5, 6) if quick else (45, 10, 10)
    with tempfile.TemporaryDirectory() as home:
        port_file, trace = Path(home) / "port", Path(home) / "trace.jsonl"
        server = _spawn(
            f"from marketmon.cli.screen_bench import serve_stream; serve_stream({str(port_file)!r}, {n}, {rate}, {stream_s})",
            {},
        )
        app = None
        try:
            _wait_for(port_file.exists, 60)
            url = f"ws://127.0.0.1:{port_file.read_text()}"
            app = _spawn(f"from marketmon.cli.screen_bench import run_app; run_app({url!r}, {view!r})",
                         {"MARKETMON_TRACE": str(trace), "MARKETMON_HOME": home})  # fmt: skip
            proc = psutil.Process(app.pid)
            _wait_for(lambda: any(e.get("rows") for e in _read_trace(trace)), 60)
            time.sleep(warmup_s)
            mark = len(_read_trace(trace))
            busy = _cpu(proc, stream_s - warmup_s - 8)
            latencies = sorted(e["latency_ms"] for e in _read_trace(trace)[mark:] if "latency_ms" in e)
            time.sleep(10)  # the stream ends; let the last frames paint
            idle = _cpu(proc, idle_s)
            rss = proc.memory_info().rss / 2**20
        finally:
            for p in (app, server):
                if p is not None:
                    p.terminate()
                    p.wait(10)
        result = {
            "screen_view": view or "main",
            "screen_instruments": n,
            "screen_updates_per_s": rate,
            "screen_cpu_pct": round(busy, 1),
            "tick_to_screen_p50_ms": round(_percentile(latencies, 50), 1),
            "tick_to_screen_p99_ms": round(_percentile(latencies, 99), 1),
            "tick_to_screen_samples": len(latencies),
            "idle_cpu_pct": round(idle, 1),
            "screen_rss_mb": round(rss, 1),
            "startup_s": round(startup_seconds(home), 2),
        }
    return result


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]
