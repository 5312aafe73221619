"""Soak: many trading days, back to back, through a real QuoteServer and Engine.

The seed day is replayed again and again, each time as the next calendar day
(every timestamp moved on by a day), over a real loopback WebSocket into one
long-lived Engine (feed client + store + alerts), as a terminal left running
for weeks would see it. Every few seconds the process's resident memory
(RSS) and CPU are sampled; at the end come the series and a verdict: the RSS
slope per replayed day, and CPU early against CPU late.

    .venv/bin/python bench/soak.py                 # 30 minutes, a day a minute
    .venv/bin/python bench/soak.py --minutes 3      # a quick check
    .venv/bin/python bench/soak.py --speed 0        # as fast as it goes

Not part of the test suite (it takes as long as you let it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketmon.engine import Engine  # noqa: E402
from marketmon.serve.demo_day import SEED_DAY  # noqa: E402
from marketmon.serve.script import Event, Script  # noqa: E402
from marketmon.serve.server import QuoteServer  # noqa: E402

DAY_MS = 86_400_000
SESSION_S = 25_800  # the seed day runs 09:00-16:10 market time
FILL_DAYS = 4  # replayed days until the bounded 24-hour histories are full (3.3 for bars, 3.6 for flow)


class NextDay:
    """The seed day moved on by `n` calendar days: same session, later dates."""

    def __init__(self, base: Script, n: int) -> None:
        self.base, self.shift = base, n * DAY_MS
        self.trade_date = str(dt.date.fromisoformat(base.trade_date) + dt.timedelta(days=n))
        self.tz = base.tz

    def events(self) -> Iterator[Event]:
        shift = self.shift
        for event in self.base.events():
            body = dict(event.body)
            if "ts" in body:
                body["ts"] += shift
            if "quotes" in body:
                body["quotes"] = [{**q, "ts": q["ts"] + shift} if "ts" in q else q for q in body["quotes"]]
            yield Event(event.ts + shift, body)


@dataclass
class Sample:
    t: float  # seconds since start
    rss_mb: float
    cpu_pct: float  # of one core, over the last interval
    day: int
    messages: int
    cpu_s: float = 0.0  # process CPU time so far (user + system)


@dataclass
class Soak:
    interval: float
    samples: list[Sample] = field(default_factory=list)
    day: int = 0
    engine: Engine | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def sampler(self) -> None:
        proc = psutil.Process()
        proc.cpu_percent(None)
        t0 = time.monotonic()
        while not self._stop.wait(self.interval):
            messages = self.engine.client.stats.messages if self.engine else 0
            cpu = proc.cpu_times()
            s = Sample(time.monotonic() - t0, proc.memory_info().rss / 2**20, proc.cpu_percent(None), self.day, messages,
                       cpu.user + cpu.system)  # fmt: skip
            self.samples.append(s)
            print(f"{s.t:8.0f}s  day {s.day:3d}  RSS {s.rss_mb:7.1f} MB  CPU {s.cpu_pct:5.1f}%  messages {s.messages:>10,}",
                  flush=True)  # fmt: skip


async def run(minutes: float, speed: float, interval: float) -> tuple[Soak, list[dict[str, Any]]]:
    soak = Soak(interval)
    alerts = 0
    days: list[dict[str, Any]] = []

    def on_alert(_alert: object) -> None:
        nonlocal alerts
        alerts += 1

    server = QuoteServer(NextDay(SEED_DAY, 0), speed=speed)
    port = await server.start()
    soak.engine = engine = Engine(server.url, on_alert=on_alert, stale_after=3600)
    thread = threading.Thread(target=soak.sampler, daemon=True)
    thread.start()
    deadline = time.monotonic() + minutes * 60
    try:
        while True:
            started, before, alerts = time.monotonic(), engine.client.stats.messages, 0
            why = await engine.run()
            await server.close()
            days.append({
                "day": soak.day, "trade_date": server.trade_date, "ended": why, "seconds": round(time.monotonic() - started, 1),
                "messages": engine.client.stats.messages - before, "alerts": alerts,
                "instruments": engine.store.frame.height, "bad": engine.client.stats.bad_messages,
            })  # fmt: skip
            print(f"-- day {soak.day} ({server.trade_date}) {why}: {days[-1]}", flush=True)
            if time.monotonic() > deadline or why != "eof":
                break
            soak.day += 1
            gc.collect()
            server = QuoteServer(NextDay(SEED_DAY, soak.day), speed=speed, port=port)
            await server.start()
    finally:
        soak._stop.set()
        thread.join()
    return soak, days


def slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def daily(samples: list[Sample]) -> list[dict[str, float]]:
    """Per replayed day: mean and peak RSS, mean CPU, and CPU time per message.

    A day has quiet spells, so whole days are compared, not moments. CPU per
    message is the fair measure of "the same work costs the same": CPU percent
    also moves with the pace a busy machine lets the replay keep.
    """
    days: dict[int, list[Sample]] = {}
    for s in samples:
        days.setdefault(s.day, []).append(s)
    out = []
    for d, group in sorted(days.items()):
        done = group[-1].messages - group[0].messages
        out.append({
            "day": d, "rss_mean_mb": round(statistics.fmean(x.rss_mb for x in group), 2),
            "rss_max_mb": round(max(x.rss_mb for x in group), 2),
            "cpu_mean_pct": round(statistics.fmean(x.cpu_pct for x in group), 1),
            "cpu_ms_per_message": round((group[-1].cpu_s - group[0].cpu_s) / done * 1000, 3) if done > 0 else None,
        })  # fmt: skip
    return out


def _trend(drift: float, mean: float) -> str:
    """Over the judged days: a change of more than 15 % of the mean either way counts."""
    if drift > 0.15 * mean:
        return "RISING"
    return "FALLING" if drift < -0.15 * mean else "FLAT"


def verdict(soak: Soak, days: list[dict[str, Any]]) -> dict[str, Any]:
    per_day = daily(soak.samples)
    # Day 0 warms up (imports, polars' pools, the frame's first rows), and the
    # bounded histories fill for the first days (1-minute bars keep 24 h per
    # instrument: 3.3 replayed sessions; the flow series 3.6). Judge the later
    # half of the run, and only once there are days after the fill.
    judged = len(per_day) >= FILL_DAYS + 2
    first = max(FILL_DAYS, len(per_day) // 2) if judged else 1
    steady = per_day[first:] or per_day
    rss_per_day = slope([d["day"] for d in steady], [d["rss_mean_mb"] for d in steady])
    later = [s for s in soak.samples if s.day >= steady[0]["day"]] or soak.samples
    rss_per_hour = slope([s.t / 3600 for s in later], [s.rss_mb for s in later])
    costs = [(d["day"], d["cpu_ms_per_message"]) for d in steady if d["cpu_ms_per_message"] is not None]
    cost_mean = statistics.fmean(c for _, c in costs) if costs else 0.0
    cost_slope = slope([d for d, _ in costs], [c for _, c in costs])
    cost_drift = cost_slope * (costs[-1][0] - costs[0][0]) if len(costs) > 1 else 0.0  # over the judged days
    same_day = len({(d["messages"], d["alerts"]) for d in days[1:] if d["ended"] == "eof"}) <= 1  # day 0 starts cold
    return {
        "days": len(days), "samples": len(soak.samples),
        "seconds_per_day": round(statistics.fmean(d["seconds"] for d in days), 1) if days else None,
        "rss_start_mb": round(soak.samples[0].rss_mb, 1) if soak.samples else None,
        "rss_end_mb": round(soak.samples[-1].rss_mb, 1) if soak.samples else None,
        "rss_max_mb": round(max(s.rss_mb for s in soak.samples), 1) if soak.samples else None,
        "judged_from_day": steady[0]["day"] if steady else 0,
        "rss_slope_mb_per_day": round(rss_per_day, 3), "rss_slope_mb_per_hour": round(rss_per_hour, 2),
        "cpu_mean_pct": round(statistics.fmean(d["cpu_mean_pct"] for d in steady), 1) if steady else None,
        "cpu_ms_per_message": round(cost_mean, 3), "cpu_ms_per_message_slope_per_day": round(cost_slope, 4),
        "judged": judged,  # False: too short to say (the histories were still filling)
        "rss_flat": abs(rss_per_day) < 1.0 if judged else None,
        # A leak shows as cost rising; a falling cost (less load from elsewhere) is no fault.
        "cpu_flat": cost_drift <= 0.15 * cost_mean if judged else None,
        "cpu_trend": _trend(cost_drift, cost_mean) if judged else None,
        "every_day_the_same": same_day, "per_day": per_day,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="wall time to run (default 30)")
    parser.add_argument("--day-seconds", type=float, default=60.0, help="wall seconds per replayed day (default 60)")
    parser.add_argument("--speed", type=float, help="replay speed instead (0: as fast as it goes)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--json", metavar="FILE", help="write the series and the verdict here")
    args = parser.parse_args(argv)
    speed = args.speed if args.speed is not None else SESSION_S / args.day_seconds
    print(f"soak: {args.minutes:g} min, replay speed {speed:g}x, a sample every {args.interval:g}s", flush=True)
    soak, days = asyncio.run(run(args.minutes, speed, args.interval))
    result = verdict(soak, days)
    print("\nverdict:", json.dumps(result, indent=2))
    ok = result["rss_flat"] is not False and result["cpu_flat"] is not False and result["every_day_the_same"]
    if not result["judged"]:
        print(f"\n{result['days']} days are too few to judge: the bounded histories fill for the first {FILL_DAYS}"
              f" replayed days (run {FILL_DAYS + 2}+ days, e.g. the default 30 minutes). Figures so far:")  # fmt: skip
    flat = {True: "FLAT", False: "GROWING", None: "?"}
    print(f"\nfrom day {result['judged_from_day']}: memory {flat[result['rss_flat']]}"
          f" ({result['rss_slope_mb_per_day']:+.3f} MB per day replayed, peak {result['rss_max_mb']} MB);"
          f" CPU {result['cpu_trend'] or '?'} ({result['cpu_ms_per_message']} ms per message,"
          f" {result['cpu_ms_per_message_slope_per_day']:+.4f} per day; {result['cpu_mean_pct']}% of a core)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"verdict": result, "days": days,
                                               "samples": [vars(s) for s in soak.samples]}, indent=1))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
