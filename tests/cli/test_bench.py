"""`marketmon bench --quick --no-screen`, run as a user would: the figures it
prints are there and agree with each other (the screen figures need a TUI run
of minutes: docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_quick_prints_consistent_figures():
    run = subprocess.run(
        [sys.executable, "-m", "marketmon", "bench", "--quick", "--no-screen", "--json"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["machine"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert got["ingest_updates_per_s"] > 0 and got["decode_only_updates_per_s"] > 0
    # The ratio is the two rates' own quotient (printed to 0.001, the rates rounded to integers).
    assert abs(got["ingest_ratio"] - got["ingest_updates_per_s"] / got["decode_only_updates_per_s"]) < 0.0015
    assert got["updates"] == 200_000 and got["instruments"] == 10_000  # --quick
    assert got["decode_only_library"] in ("orjson", "msgspec") and got["columns"] in ("c", "python")
    assert [p["instruments"] for p in got["scale_curve"]] == [100, 1000, 10_000, 100_000]
    assert all(p["us_per_update"] > 0 for p in got["scale_curve"])
    assert got["rss_mb"] > 0 and got["snapshot_load_s"] > 0
