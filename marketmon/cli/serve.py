"""`marketmon serve`: publish the demo day, a recording, a public source (as
`bridge` does) or (as a desk gateway) an upstream feed over the protocol,
until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from marketmon.cli.bridge import SOURCE_HELP, SOURCE_ONLY, add_source_options, source_list
from marketmon.cli.exit_codes import EXIT_UNREACHABLE, UsageError
from marketmon.cli.options import (
    add_server_options, cannot_listen, check_speed, clock_time, run_until_signal, server_options,
)


def add_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve the demo (or a recording) over the protocol")
    served = serve.add_mutually_exclusive_group(required=True)
    served.add_argument("--demo", action="store_true", help="serve the bundled seed day")
    served.add_argument("--replay", metavar="FILE", help="play a recording made by `marketmon record`")
    served.add_argument("--upstream", metavar="URL", help="desk gateway: fan this feed out to many terminals")
    served.add_argument("--source", type=source_list, metavar="NAME[,NAME...]",
                        help=f"as `bridge NAME`: {SOURCE_HELP}")  # fmt: skip
    served.add_argument("--from", dest="from_nats", metavar="NATS_URL",
                        help="desk gateway fed through NATS: serve what `serve --publish` puts there")  # fmt: skip
    serve.add_argument("--publish", metavar="NATS_URL", help="also publish what is served to NATS (docs/scale.md)")
    serve.add_argument("--subjects", metavar="SUBJ[,SUBJ...]",
                       help="with --from: only these quote subjects, e.g. marketmon.q.SH.>,marketmon.q.HK.>")  # fmt: skip
    add_server_options(serve)
    serve.add_argument("--speed", type=float, default=1.0)
    serve.add_argument("--start", metavar="HH:MM", help="begin the day at this market time")
    serve.add_argument("--until", metavar="HH:MM", help="hold the market at this time")
    serve.add_argument("--universe", choices=("seed", "full"), default="seed",
                       help="with --demo: the seed day's names, or the full market (~9,000 instruments)")  # fmt: skip
    add_source_options(serve.add_argument_group("with --source"))


def run(args: argparse.Namespace) -> int:
    from marketmon.engine import FeedChoice, open_feed
    from marketmon.feed.client import FeedUnreachable
    from marketmon.serve.recording import RecordingError

    check_speed(args.speed)
    given = [f"--{d.replace('_', '-')}" for d in SOURCE_ONLY if getattr(args, d) is not None]
    if given and not args.source:
        raise UsageError(f"{', '.join(given)} go with --source")
    if args.from_nats:
        from marketmon.cli.serve_nats import run_gateway

        return run_gateway(args)
    if args.subjects:
        raise UsageError("--subjects goes with --from")
    if args.source:  # `bridge NAME`, the same code
        from marketmon.cli.bridge import run as run_bridge

        if args.start or args.until:
            raise UsageError("--start and --until go with --demo or --replay, not --source")
        return run_bridge(args)
    choice = FeedChoice(
        demo=args.demo, universe=args.universe, replay=args.replay, upstream=args.upstream, speed=args.speed,
        start=clock_time(args.start), until=clock_time(args.until),
        upstream_options={"on_event": _upstream_event, "give_up_after": float("inf")},
    )  # fmt: skip
    listen = server_options(args)

    async def start() -> Any:
        try:
            feed = await open_feed(choice, **listen)
        except RecordingError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise cannot_listen(args, exc) from None
        if args.upstream:
            print(f"gateway for {args.upstream} on {feed.url}", flush=True)
        else:
            what = choice.describe(feed.server.trade_date)
            print(f"serving {what} on {feed.url} (speed {args.speed:g})", flush=True)
        return feed

    try:
        # After an upstream eof the gateway keeps serving the final state (and
        # the eof) to terminals that join late, until Ctrl-C.
        if args.publish:
            from marketmon.cli.serve_nats import run_published

            return run_published(start, args.publish)
        return run_until_signal(start)
    except FeedUnreachable as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _upstream_event(e: Any) -> None:
    if e.state in ("connected", "disconnected", "reconnecting", "resync", "eof", "error"):
        print(f"marketmon: upstream {e.state} {e.detail}".rstrip(), file=sys.stderr, flush=True)
