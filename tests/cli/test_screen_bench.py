"""The screen half of `marketmon bench`, run small: a stream served by one child
process, the real app painting it in another, and figures that agree with each
other (the real figures, 10,000 instruments at 10,000 updates/s, are in
docs/performance.md)."""

from __future__ import annotations

import math

from marketmon.cli.screen_bench import screen_figures


def test_a_small_screen_bench_measures_a_real_app():
    got = screen_figures(quick=True, n=300, rate=300)
    assert (got["screen_instruments"], got["screen_updates_per_s"]) == (300, 300)
    assert got["tick_to_screen_samples"] > 0  # frames received and painted were paired
    p50, p99 = got["tick_to_screen_p50_ms"], got["tick_to_screen_p99_ms"]
    assert not math.isnan(p50) and 0 <= p50 <= p99
    assert got["screen_cpu_pct"] >= 0 and got["idle_cpu_pct"] >= 0
    assert got["screen_rss_mb"] > 20 and got["startup_s"] > 0
