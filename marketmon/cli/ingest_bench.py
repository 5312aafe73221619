"""The figures of `marketmon bench` (cli/bench.py), each beside a baseline from the same run.

- ingest: the engine's whole receive path (decode + validate, merge, batched
  flush into polars with derived columns, limit and threshold alert checks)
  against merely JSON-decoding the same bytes;
- scale: cost per update from 100 to 100,000 instruments;
- memory: RSS with 10,000 instruments and a full day of 1-minute history;
- screen and start-up: the real Textual app painting a real stream
  (see `marketmon.cli.screen_bench`).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from typing import Any

import msgspec

from marketmon.alerts.rules import AlertConfig, RuleSet
from marketmon.engine import Engine
from marketmon.feed import protocol
from marketmon.serve.universe import RandomWalk, full_quote, instruments
from marketmon.store import columns

T0 = 1757640600000  # 2025-09-12 09:30 Asia/Shanghai
FLUSH_EVERY_S = 0.25  # the engine's flush tick


def make_frames(n_instruments: int, updates: int, batch: int = 500, seed: int = 1) -> tuple[bytes, list[bytes]]:
    """A snapshot frame and `updates` partial quotes in frames of `batch`, as a server sends them."""
    universe = instruments(n_instruments, seed)
    encode = msgspec.json.Encoder().encode
    snapshot = encode({"type": "snapshot", "seq": 1, "id": 1, "ts": T0, "quotes": [full_quote(i, T0) for i in universe]})
    walk = RandomWalk(universe, seed + 1)
    frames = []
    seq, ts = 1, T0
    per_step = max(batch, n_instruments // 3)  # about a third of the market moves per 3-s step
    for done in range(0, updates, batch):
        if done and done % per_step < batch:
            ts += 3000
        seq += 1
        frames.append(encode({"type": "quotes", "seq": seq, "ts": ts, "quotes": walk.updates(batch, ts)}))
    return snapshot, frames


def decode_only(frames: list[bytes]) -> tuple[float, str]:
    """Updates/s for merely JSON-decoding the frames: the faster of orjson and msgspec."""
    best, name = 0.0, ""
    decoders: list[tuple[str, Any]] = [("msgspec", msgspec.json.decode)]
    try:
        import orjson

        decoders.append(("orjson", orjson.loads))
    except ImportError:  # orjson is a dev dependency; msgspec alone is still a fair floor
        pass
    updates = _count(frames)
    for label, decode in decoders:
        start = time.perf_counter()
        for f in frames:
            decode(f)
        rate = updates / (time.perf_counter() - start)
        if rate > best:
            best, name = rate, label
    return best, name


def ingest(snapshot: bytes, frames: list[bytes], watched: int = 200) -> dict[str, float]:
    """Updates/s through the engine's receive path, flushing on its wall-clock tick.

    The universe is loaded first (the snapshot: its rows and exact limit prices,
    timed apart as `load_s`); the rate is of the updates that stream after it."""
    alerts = AlertConfig()
    # Threshold rules on a watchlist-sized set of names, as a trader runs it.
    symbols = [q.symbol for q in protocol.decode_server(snapshot).quotes[:watched]]
    alerts.per_symbol = {s: RuleSet(pct_above=5.0, pct_below=-5.0) for s in symbols}
    engine = Engine("ws://unused", alerts=alerts)
    client = engine.client
    client.handle(b'{"type":"hello","protocol":1,"trade_date":"2025-09-12"}')
    loading = time.perf_counter()
    client.handle(snapshot)
    engine.flush()
    load_s = time.perf_counter() - loading
    gc.collect()
    updates = _count(frames)
    flushes = 0
    start = last_flush = time.perf_counter()
    for f in frames:
        client.handle(f)
        now = time.perf_counter()
        if now - last_flush >= FLUSH_EVERY_S:
            engine.flush()
            flushes += 1
            last_flush = now
    engine.flush()
    elapsed = time.perf_counter() - start
    assert client.stats.bad_messages == 0
    return {"updates_per_s": updates / elapsed, "flushes": flushes + 1, "seconds": elapsed, "load_s": load_s}


def _count(frames: list[bytes]) -> int:
    return sum(f.count(b'"symbol"') for f in frames)


def scale_curve(sizes: tuple[int, ...], updates: int) -> list[dict[str, float]]:
    curve = []
    for n in sizes:
        snapshot, frames = make_frames(n, updates)
        result = ingest(snapshot, frames)
        curve.append({"instruments": n, "us_per_update": 1e6 / result["updates_per_s"]})
    return curve


def memory_full_day(n_instruments: int = 10_000, minutes: int = 330) -> float:
    """RSS in MB after a full day of 1-minute history (measured in a fresh process)."""
    code = (
        "import marketmon.cli.ingest_bench as b; print(b._memory_child(%d, %d))" % (n_instruments, minutes)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _memory_child(n_instruments: int, minutes: int) -> float:
    import psutil

    universe = instruments(n_instruments, 1)
    engine = Engine("ws://unused")
    client = engine.client
    encode = msgspec.json.Encoder().encode
    client.handle(b'{"type":"hello","protocol":1,"trade_date":"2025-09-12"}')
    client.handle(encode({"type": "snapshot", "seq": 1, "ts": T0, "quotes": [full_quote(i, T0) for i in universe]}))
    walk = RandomWalk(universe, 2)
    seq = 1
    for minute in range(minutes):
        ts = T0 + minute * 60_000
        # every instrument trades in every minute of the day
        for i in range(0, n_instruments, 2000):
            seq += 1
            batch = walk.move(universe[i : i + 2000], ts)
            client.handle(encode({"type": "quotes", "seq": seq, "ts": ts, "quotes": batch}))
        engine.flush()
    bars = engine.store.history.count()
    assert bars >= n_instruments * minutes * 0.99, bars
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def run(quick: bool = False, screen: bool = True) -> dict[str, Any]:
    n, updates = 10_000, (200_000 if quick else 1_000_000)
    snapshot, frames = make_frames(n, updates)
    decode_rate, decoder = decode_only(frames)
    runs = [ingest(snapshot, frames) for _ in range(1 if quick else 3)]
    best = max(runs, key=lambda r: r["updates_per_s"])
    result: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "instruments": n,
        "updates": _count(frames),
        "ingest_updates_per_s": round(best["updates_per_s"]),
        "decode_only_updates_per_s": round(decode_rate),
        "decode_only_library": decoder,
        "ingest_ratio": round(best["updates_per_s"] / decode_rate, 3),
        "ingest_flushes": best["flushes"],
        "snapshot_load_s": round(best["load_s"], 3),
        "columns": columns.IMPLEMENTATION,
        "scale_curve": scale_curve((100, 1_000, 10_000, 100_000), 100_000 if quick else 300_000),
        "rss_mb": round(memory_full_day(10_000, 120 if quick else 330), 1),
    }
    if screen:
        from marketmon.cli.screen_bench import screen_figures

        result.update(screen_figures(quick=quick))
    return result
