"""`marketmon bridge SOURCE`: poll a public quote source and serve it over the
protocol, so the screen, `watch` and a desk gateway work on live data."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from marketmon.cli.exit_codes import UsageError
from marketmon.cli.options import (
    add_server_options, cannot_listen, run_until_signal, server_options, symbols_from, watchlist_symbols,
)  # fmt: skip

# = marketmon.serve.sources.SOURCE_NAMES, not imported: --help stays light (tests/cli/test_startup.py)
SOURCE_NAMES = ("sina", "tencent", "eastmoney")
MIN_INTERVAL = 1.0  # public sources rate-limit; faster than this only gets a bridge blocked
DEFAULT_INTERVAL = 3.0
SOURCE_HELP = ("a public source, or several in order of preference (eastmoney,tencent,sina): "
               "the next takes over when one fails 3 rounds in a row")  # fmt: skip


def add_budget_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", type=int, metavar="N",
                        help="requests per minute to a source, at most (default: eastmoney 50, under the 200 a "
                             "minute a public client reports it banning at; tencent 600, sina 300: a judgment)")  # fmt: skip


def add_base_url_option(parser: argparse.ArgumentParser, lead: str = "with --source: ") -> None:
    parser.add_argument("--base-url", action="append", type=base_url_arg, metavar="[NAME=]URL",
                        help=lead + "a base URL for every source (default: their public hosts), or NAME=URL for one "
                             "(repeatable: a failover's sources on two servers). East Money's serves the market "
                             "list, the Southbound flow and the limit pools")  # fmt: skip


def base_url_arg(text: str) -> tuple[str | None, str]:
    """argparse type: `URL` (every source) or `NAME=URL` (that source) -> (name or None, url)."""
    name, _, url = text.partition("=") if "=" in text.split("://")[0] else ("", "", text)
    name = name.strip().lower()
    if name and name not in SOURCE_NAMES:
        raise argparse.ArgumentTypeError(f"{text!r}: {name!r} is not a source ({', '.join(SOURCE_NAMES)})")
    if not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r}: a base URL starts with http:// or https://")
    return name or None, url.rstrip("/")


def base_url_options(values: list[tuple[str | None, str]] | None) -> dict[str, Any]:
    """The --base-url values as the bridge's options: one for every source, and per source."""
    values = values or []
    every = [url for name, url in values if name is None]
    if len(every) > 1:
        raise UsageError("--base-url: one URL for every source, or NAME=URL per source")
    return {"base_url": every[0] if every else None, "base_urls": {name: url for name, url in values if name}}


def check_budget(budget: int | None) -> None:
    if budget is not None and budget < 1:
        raise UsageError("--budget must be 1 or more requests per minute")


def source_list(text: str) -> str:
    """argparse type: `eastmoney` or `eastmoney,tencent,sina`, each a known source, none twice."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SOURCE_NAMES]
    if not names or unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give one or more of {', '.join(SOURCE_NAMES)}, comma-separated, each once")
    return ",".join(names)


def add_parser(sub: Any) -> None:
    bridge = sub.add_parser("bridge", help="serve live quotes polled from a public source")
    bridge.add_argument("source", type=source_list, help=SOURCE_HELP)
    add_source_options(bridge)
    add_server_options(bridge)
    bridge.add_argument("--publish", metavar="NATS_URL", help="also publish the quotes to NATS (docs/scale.md)")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """What to poll and how: `bridge SOURCE` and `serve --source SOURCE` take the same."""
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--symbols", help="comma-separated symbols (default: the whole market)")
    what.add_argument("--watchlist", metavar="FILE", help="a watchlist's symbols (default: the whole market)")
    parser.add_argument("--interval", type=float, help=f"seconds between polls (default {DEFAULT_INTERVAL:g})")
    add_base_url_option(parser, lead="")
    add_budget_option(parser)


SOURCE_ONLY = ("symbols", "watchlist", "interval", "base_url", "budget")  # dests of add_source_options


def run(args: argparse.Namespace) -> int:
    """`bridge SOURCE` and `serve --source SOURCE` (the issue's form of the same thing)."""
    from marketmon.config import paths
    from marketmon.engine import FeedChoice, open_feed

    whole = not args.watchlist and not args.symbols
    symbols = [] if whole else watchlist_symbols(args.watchlist) if args.watchlist else symbols_from(args.symbols)
    if args.interval is None:
        args.interval = DEFAULT_INTERVAL
    if args.interval < MIN_INTERVAL:
        raise UsageError(f"--interval must be at least {MIN_INTERVAL:g} s: public sources block fast pollers")
    check_budget(args.budget)
    listen = server_options(args)

    def event(state: str, detail: str) -> None:
        print(f"marketmon: {args.source}: {state}: {detail}", file=sys.stderr, flush=True)

    choice = FeedChoice(source=args.source, symbols=symbols, source_options={
        "interval": args.interval, **base_url_options(args.base_url), "on_event": event,
        "whole_market": whole, "market_cache": paths.market_lists_dir(),
        "flow_record": paths.flow_record_file(), "poll_options": {"budget": args.budget},
    })  # fmt: skip

    async def start() -> Any:
        try:
            feed = await open_feed(choice, **listen)
        except OSError as exc:
            raise cannot_listen(args, exc) from None
        what = "the whole market" if whole else f"{len(symbols)} symbols"
        print(f"bridging {args.source} ({what}, every {args.interval:g}s) on {feed.url}", flush=True)
        return feed

    if args.publish:
        from marketmon.cli.serve_nats import run_published

        return run_published(start, args.publish)
    return run_until_signal(start)
