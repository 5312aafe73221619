"""`marketmon bench`: ingest, screen, start-up and memory figures, each beside a
baseline measured in the same run (docs/performance.md). The measuring code is
in `ingest_bench.py` and `screen_bench.py`, imported only when the bench runs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from marketmon.cli.exit_codes import EXIT_OK


def add_parser(sub: Any) -> None:
    bench = sub.add_parser("bench", help="measure ingest, screen, start-up and memory (docs/performance.md)")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    bench.add_argument("--no-screen", action="store_true", help="skip the figures that run the TUI")


def run(args: argparse.Namespace) -> int:
    from marketmon.cli.ingest_bench import run as measure

    result = measure(quick=args.quick, screen=not args.no_screen)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return EXIT_OK
