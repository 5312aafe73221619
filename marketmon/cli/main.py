"""Command line: the screen by default, and the headless commands (PROTOCOL section 3).

The parser is built from each command module's `add_parser`; a command's
heavy imports (polars, textual, the engine) happen in its `run`, so
`marketmon --help` stays fast (tests/cli/test_startup.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from marketmon import __version__
from marketmon.cli import alerts, bench, bridge, convert, record, serve, watch, watchlist
from marketmon.cli.exit_codes import EXIT_OK, EXIT_USAGE, UsageError
from marketmon.cli.options import check_speed

# Each module adds its subcommand and runs it; the order is the one --help shows.
COMMANDS = {
    "watch": watch, "watchlist": watchlist, "alerts": alerts, "serve": serve, "bench": bench,
    "bridge": bridge, "convert": convert, "record": record,
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marketmon", description="Terminal market monitor for A-shares and HK stocks.")
    parser.add_argument("--version", action="version", version=f"marketmon {__version__}")
    parser.add_argument("--url", help="quote feed WebSocket URL (default: the bundled demo)")
    parser.add_argument("--watchlist", action="append", default=[], metavar="FILE", help="watchlist file (repeatable)")
    parser.add_argument("--speed", type=float, default=None, help="demo replay speed (1 = real time)")
    parser.add_argument("--config", metavar="FILE", help="settings file")
    parser.add_argument("--source", type=bridge.source_list, metavar="NAME[,NAME...]",
                        help="live quotes, in-process: " + bridge.SOURCE_HELP)  # fmt: skip
    bridge.add_base_url_option(parser)
    parser.add_argument("--interval", type=float, default=bridge.DEFAULT_INTERVAL,
                        help=f"with --source: seconds between polls (default {bridge.DEFAULT_INTERVAL:g})")  # fmt: skip
    bridge.add_budget_option(parser)
    sub = parser.add_subparsers(dest="command")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in COMMANDS:
            return COMMANDS[args.command].run(args)
        return run_screen(args)
    except UsageError as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def run_screen(args: argparse.Namespace) -> int:
    """The TUI, built from typed arguments: the app knows no argparse."""
    check_speed(args.speed)
    if args.source and args.url:
        raise UsageError("--source and --url are two feeds: give one")
    if not args.source and (args.base_url or args.budget is not None):
        raise UsageError("--base-url and --budget go with --source")
    if args.interval < bridge.MIN_INTERVAL:
        raise UsageError(f"--interval must be at least {bridge.MIN_INTERVAL:g} s: public sources block fast pollers")
    bridge.check_budget(args.budget)
    from marketmon.tui.app import MarketmonApp

    app = MarketmonApp(
        url=args.url,
        source=args.source,
        source_options={**bridge.base_url_options(args.base_url), "interval": args.interval,
                        "poll_options": {"budget": args.budget}},
        watchlists=args.watchlist or (),
        speed=args.speed,
        settings_path=Path(args.config) if args.config else None,  # None: $MARKETMON_CONFIG or the default
        handle_signals=True,
    )
    app.run()
    return app.return_code or 0
