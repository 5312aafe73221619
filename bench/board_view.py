"""The trader's board on screen against the main screen, on one stream.

    .venv/bin/python bench/board_view.py [--runs N] [--quick]

10,000 instruments at 10,000 updates/s (the screen bench's stream); the app
shows either the main screen (the baseline) or the ladder/breadth/A-H view
(`u`), which rereads the whole frame once a second. The two run in turns, so
a machine that slows down during the run slows both; each figure is printed
with its ratio to the baseline of the same round.
"""

import argparse
import statistics

from marketmon.cli.screen_bench import screen_figures

FIGURES = ("screen_cpu_pct", "tick_to_screen_p50_ms", "tick_to_screen_p99_ms", "screen_rss_mb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"main": [], "board": []}
    for run in range(1, args.runs + 1):
        for view in ("main", "board"):
            got = screen_figures(quick=args.quick, view=None if view == "main" else view)
            rows[view].append(got)
            print(f"run {run} {view:5}: " + ", ".join(f"{k} {got[k]}" for k in FIGURES), flush=True)
    print("median, board / main:")
    for key in FIGURES:
        main_v = statistics.median(r[key] for r in rows["main"])
        board_v = statistics.median(r[key] for r in rows["board"])
        print(f"  {key:24} main {main_v:8.1f}  board {board_v:8.1f}  ratio {board_v / main_v:5.2f}")


if __name__ == "__main__":
    main()
