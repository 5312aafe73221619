"""Command line: the TUI by default, and the headless commands (PROTOCOL section 3)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from marketmon import __version__

EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2
MARKET_TZ = ZoneInfo("Asia/Shanghai")


class UsageError(Exception):
    """Bad usage or bad input: one clear line on stderr, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marketmon", description="Terminal market monitor for A-shares and HK stocks.")
    parser.add_argument("--version", action="version", version=f"marketmon {__version__}")
    parser.add_argument("--url", help="quote feed WebSocket URL (default: the bundled demo)")
    parser.add_argument("--watchlist", action="append", default=[], metavar="FILE", help="watchlist file (repeatable)")
    parser.add_argument("--speed", type=float, default=None, help="demo replay speed (1 = real time)")
    parser.add_argument("--config", metavar="FILE", help="settings file")
    parser.add_argument("--source", choices=("sina", "tencent", "eastmoney"), help="live quotes: run a bridge to this public source in-process")
    sub = parser.add_subparsers(dest="command")

    watch = sub.add_parser("watch", help="headless: print alerts and a closing table")
    feed = watch.add_mutually_exclusive_group(required=True)
    feed.add_argument("--url")
    feed.add_argument("--demo", action="store_true", help="play the bundled seed day over loopback")
    what = watch.add_mutually_exclusive_group(required=True)
    what.add_argument("--symbols", help="comma-separated symbols")
    what.add_argument("--watchlist", metavar="FILE")
    what.add_argument("--all", action="store_true", help="every instrument the feed has")
    watch.add_argument("--json", action="store_true", help="JSON lines on stdout")
    watch.add_argument("--speed", type=float, default=1.0, help="demo speed: 1 real time, 0 as fast as possible")
    watch.add_argument("--duration", type=float, help="stop after this many seconds")
    watch.add_argument("--config", metavar="FILE")
    watch.add_argument("--history", nargs="?", const="", metavar="FILE",
                       help="append alerts to the history (default file: alerts.jsonl in the data folder)")  # fmt: skip
    watch.add_argument("--sound", action="store_true", help="play alert sounds ([sound] settings)")
    watch.add_argument("--notify", action="store_true", help="desktop notifications for alerts")

    from marketmon import alerts_cli, watchlist_cli  # light: they import the engine only to run

    watchlist_cli.add_parser(sub)
    alerts_cli.add_parser(sub)

    serve = sub.add_parser("serve", help="serve the demo (or a recording) over the protocol")
    served = serve.add_mutually_exclusive_group(required=True)
    served.add_argument("--demo", action="store_true", help="serve the bundled seed day")
    served.add_argument("--replay", metavar="FILE", help="play a recording made by `marketmon record`")
    served.add_argument("--upstream", metavar="URL", help="desk gateway: fan this feed out to many terminals")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--speed", type=float, default=1.0)
    serve.add_argument("--start", metavar="HH:MM", help="begin the day at this market time")
    serve.add_argument("--until", metavar="HH:MM", help="hold the market at this time")
    serve.add_argument("--token", help="require this token (?token= or Authorization: Bearer)")
    serve.add_argument("--cert", metavar="FILE", help="TLS certificate (PEM): serve wss://")
    serve.add_argument("--key", metavar="FILE", help="TLS private key (PEM)")
    serve.add_argument("--universe", choices=("seed", "full"), default="seed",
                       help="with --demo: the seed day's names, or the full market (~9,000 instruments)")  # fmt: skip

    bench = sub.add_parser("bench", help="measure ingest, screen, start-up and memory (docs/performance.md)")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    bench.add_argument("--no-screen", action="store_true", help="skip the figures that run the TUI")
    from marketmon.feedcli import add_commands

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "watch":
            from marketmon.watch import run_watch

            return run_watch(args)
        if args.command == "serve":
            return _serve(args)
        if args.command in ("bridge", "convert", "record"):
            from marketmon.feedcli import run_command

            return run_command(args)
        if args.command == "watchlist":
            from marketmon.watchlist_cli import run

            return run(args)
        if args.command == "bench":
            from marketmon.bench import run_bench

            return run_bench(args)
        if args.command == "alerts":
            from marketmon.alerts_cli import run as run_alerts

            return run_alerts(args)
        return _tui(args)
    except UsageError as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def market_time(text: str | None, trade_date: str) -> int | None:
    """'10:30' on the script's trade date -> epoch ms."""
    if text is None:
        return None
    try:
        t = dt.time.fromisoformat(text)
    except ValueError:
        raise UsageError(f"bad time {text!r}: use HH:MM") from None
    day = dt.date.fromisoformat(trade_date)
    return int(dt.datetime.combine(day, t, MARKET_TZ).timestamp() * 1000)


def _serve(args: argparse.Namespace) -> int:
    if not args.demo or args.cert or args.key:  # --replay, --upstream, or TLS: marketmon/feedcli.py
        from marketmon.feedcli import serve_command

        return serve_command(args)
    from marketmon.feed.seedday import SEED_DAY
    from marketmon.feed.server import QuoteServer
    from marketmon.feedcli import _warn_exposed

    _warn_exposed(args)  # as every other serve mode does

    script = SEED_DAY
    if args.universe == "full":
        from marketmon.feed.universe import FullUniverse

        script = FullUniverse(SEED_DAY)

    async def run() -> None:
        server = QuoteServer(
            script,
            speed=args.speed,
            host=args.host,
            port=args.port,
            start_at=market_time(args.start, SEED_DAY.trade_date),
            until=market_time(args.until, SEED_DAY.trade_date),
            token=args.token,
        )
        try:
            await server.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        what = "the full market" if args.universe == "full" else "the seed day"
        print(f"serving {what} {SEED_DAY.trade_date} on {server.url} (speed {args.speed:g})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.close()

    asyncio.run(run())
    return EXIT_OK


def _tui(args: argparse.Namespace) -> int:
    from marketmon.tui.app import run_app

    return run_app(args)


def config_path(given: str | None) -> Path | None:
    text = given or os.environ.get("MARKETMON_CONFIG")
    return Path(text) if text else None
