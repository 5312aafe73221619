"""`marketmon record`: write a quote stream (or the demo day) to a recording
(gzip JSON lines) that `marketmon serve --replay` plays back."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from marketmon.cli.exit_codes import EXIT_OK, EXIT_UNREACHABLE, UsageError
from marketmon.cli.options import symbols_from


def add_parser(sub: Any) -> None:
    record = sub.add_parser("record", help="record a quote stream to a file (gzip JSON lines)")
    feed = record.add_mutually_exclusive_group(required=True)
    feed.add_argument("--url", help="feed to record")
    feed.add_argument("--demo", action="store_true", help="write the seed day as a recording")
    record.add_argument("--out", required=True, metavar="FILE")
    record.add_argument("--duration", type=float, help="stop after this many seconds")
    record.add_argument("--symbols", help="comma-separated symbols (default: everything)")


def run(args: argparse.Namespace) -> int:
    from marketmon.serve import recording

    if args.demo:
        from marketmon.serve.demo_day import SEED_DAY

        try:
            n = recording.write_script(SEED_DAY, args.out, source="demo")
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        print(f"wrote the seed day {SEED_DAY.trade_date} ({n} events) to {args.out}", flush=True)
        return EXIT_OK
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be more than 0")
    symbols = symbols_from(args.symbols) if args.symbols else None

    async def main() -> recording.RecordStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await recording.record(
            args.url, args.out, symbols=symbols, duration=args.duration, stop=stop,
            on_event=lambda state, detail: print(f"marketmon: feed {state}: {detail}", file=sys.stderr),
        )  # fmt: skip

    try:
        stats = asyncio.run(main())
    except OSError as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"recorded {stats.messages} messages to {args.out} (ended: {stats.ended})", flush=True)
    return EXIT_OK
