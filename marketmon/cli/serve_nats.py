"""`marketmon serve --publish nats://...` and `marketmon serve --from nats://...`:
the two ends of desk gateways fed through NATS (docs/scale.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from marketmon.cli.exit_codes import EXIT_UNREACHABLE, UsageError
from marketmon.cli.options import cannot_listen, clock_time, run_until_signal, server_options


def run_nats(args: argparse.Namespace) -> int:
    from marketmon.serve.nats_bus import NatsMissing, NatsUnavailable, nats_module

    if args.from_nats and args.publish:
        raise UsageError("--publish goes with --demo, --replay or --upstream, not --from")
    if args.subjects and not args.from_nats:
        raise UsageError("--subjects goes with --from")
    try:
        nats_module()
    except NatsMissing as exc:
        raise UsageError(str(exc)) from None
    listen = server_options(args)
    start = _gateway(args, listen) if args.from_nats else _publisher(args, listen)
    try:
        return run_until_signal(start)
    except NatsUnavailable as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _gateway(args: argparse.Namespace, listen: dict[str, Any]) -> Any:
    from marketmon.serve.nats_gateway import NatsGateway

    subjects = [s.strip() for s in (args.subjects or "").split(",") if s.strip()]
    try:
        gateway = NatsGateway(args.from_nats, subjects=subjects, **listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    async def start() -> Any:
        try:
            await gateway.start()  # listens first, then connects to NATS (waiting for it if need be)
        except OSError as exc:
            await gateway.close()
            raise cannot_listen(args, exc) from None
        print(f"gateway for {args.from_nats} on {gateway.url}", flush=True)
        return gateway

    return start


def _publisher(args: argparse.Namespace, listen: dict[str, Any]) -> Any:
    from marketmon.engine import FeedChoice, open_feed
    from marketmon.serve.nats_publish import NatsPublisher
    from marketmon.serve.recording import RecordingError

    choice = FeedChoice(
        demo=args.demo, universe=args.universe, replay=args.replay, upstream=args.upstream, speed=args.speed,
        start=clock_time(args.start), until=clock_time(args.until),
        upstream_options={"give_up_after": float("inf")},
    )  # fmt: skip

    async def start() -> Any:
        try:
            feed = await open_feed(choice, **listen)
        except RecordingError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise cannot_listen(args, exc) from None
        publisher = NatsPublisher(args.publish)
        try:
            await publisher.attach(getattr(feed.server, "server", feed.server))  # a gateway's own QuoteServer
        except NatsUnavailable:
            await publisher.close()
            await feed.close()
            raise
        what = choice.describe(feed.server.trade_date)
        print(f"serving {what} on {feed.url} (speed {args.speed:g}) and publishing to {args.publish}", flush=True)
        return _Both(publisher, feed)

    return start


class _Both:
    def __init__(self, publisher: Any, feed: Any) -> None:
        self.publisher, self.feed = publisher, feed

    async def close(self) -> None:
        await self.publisher.close()
        await self.feed.close()
