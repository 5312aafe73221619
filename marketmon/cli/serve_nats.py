"""The two ends of desk gateways fed through NATS (docs/scale.md):
`--publish nats://...` on `serve` and `bridge` (what they serve also goes to
NATS), and `serve --from nats://...` (a desk gateway fed from there)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from marketmon.cli.exit_codes import EXIT_UNREACHABLE, UsageError
from marketmon.cli.options import cannot_listen, run_until_signal, server_options


def _nats_or_usage() -> None:
    from marketmon.serve.nats_bus import NatsMissing, nats_module

    try:
        nats_module()
    except NatsMissing as exc:
        raise UsageError(str(exc)) from None


def run_gateway(args: argparse.Namespace) -> int:
    """`serve --from NATS_URL`: serve terminals what the bucket holds, until Ctrl-C."""
    from marketmon.serve.nats_gateway import NatsGateway

    if args.publish:
        raise UsageError("--publish goes with --demo, --replay, --upstream or --source, not --from")
    _nats_or_usage()
    subjects = [s.strip() for s in (args.subjects or "").split(",") if s.strip()]
    try:
        gateway = NatsGateway(args.from_nats, subjects=subjects, **server_options(args))
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

    return run_until_signal(start)


def run_published(start: Callable[[], Awaitable[Any]], nats_url: str) -> int:
    """Run what `start` opens (an `OpenFeed`: the demo, a recording, a gateway,
    a bridge) until Ctrl-C, publishing everything its server serves to NATS."""
    from marketmon.serve.nats_bus import NatsUnavailable
    from marketmon.serve.nats_publish import NatsPublisher

    _nats_or_usage()

    async def start_and_publish() -> Any:
        feed = await start()
        publisher = NatsPublisher(nats_url)
        try:
            await publisher.attach(getattr(feed.server, "server", feed.server))  # a gateway's own QuoteServer
        except NatsUnavailable:
            await publisher.close()
            await feed.close()
            raise
        print(f"publishing to {nats_url}", flush=True)
        return _Both(publisher, feed)

    try:
        return run_until_signal(start_and_publish)
    except NatsUnavailable as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


class _Both:
    def __init__(self, publisher: Any, feed: Any) -> None:
        self.publisher, self.feed = publisher, feed

    async def close(self) -> None:
        await self.publisher.close()
        await self.feed.close()
