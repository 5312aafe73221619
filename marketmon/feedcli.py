"""CLI for live data: `bridge`, `convert`, `record`, and `serve --replay / --upstream`.

Registered from marketmon/cli.py; heavy imports wait until a command runs,
so `marketmon --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from marketmon.cli import EXIT_OK, EXIT_UNREACHABLE, UsageError, market_time

SOURCE_NAMES = ("sina", "tencent", "eastmoney")  # = marketmon.feed.sources.SOURCE_NAMES
FEED_COMMANDS = ("bridge", "convert", "record")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
MIN_INTERVAL = 1.0  # public sources rate-limit; faster than this only gets a bridge blocked


def add_commands(sub: argparse._SubParsersAction) -> None:
    bridge = sub.add_parser("bridge", help="serve live quotes polled from a public source")
    bridge.add_argument("source", choices=SOURCE_NAMES)
    what = bridge.add_mutually_exclusive_group(required=True)
    what.add_argument("--symbols", help="comma-separated symbols")
    what.add_argument("--watchlist", metavar="FILE")
    bridge.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    bridge.add_argument("--port", type=int, default=8765)
    bridge.add_argument("--interval", type=float, default=3.0, help="seconds between polls (default 3)")
    bridge.add_argument("--base-url", help="the source's base URL (default: its public host)")
    _add_server_security(bridge)

    convert = sub.add_parser("convert", help="print a saved source response as protocol quotes (JSON lines)")
    convert.add_argument("--from", dest="source", choices=SOURCE_NAMES, required=True)
    convert.add_argument("file", metavar="FILE", help="saved response ('-' for stdin)")

    record = sub.add_parser("record", help="record a quote stream to a file (gzip JSON lines)")
    feed = record.add_mutually_exclusive_group(required=True)
    feed.add_argument("--url", help="feed to record")
    feed.add_argument("--demo", action="store_true", help="write the seed day as a recording")
    record.add_argument("--out", required=True, metavar="FILE")
    record.add_argument("--duration", type=float, help="stop after this many seconds")
    record.add_argument("--symbols", help="comma-separated symbols (default: everything)")


def _add_server_security(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="require this token (?token= or Authorization: Bearer)")
    parser.add_argument("--cert", metavar="FILE", help="TLS certificate (PEM): serve wss://")
    parser.add_argument("--key", metavar="FILE", help="TLS private key (PEM)")


def run_command(args: argparse.Namespace) -> int:
    return {"bridge": _bridge, "convert": _convert, "record": _record}[args.command](args)


# helpers ---------------------------------------------------------------------------


def _symbols(args: argparse.Namespace) -> list[str]:
    from marketmon.market.symbols import SymbolError, normalize

    if getattr(args, "watchlist", None):
        from marketmon.config.watchlists import WatchlistError, load

        try:
            return load(args.watchlist).symbols
        except WatchlistError as exc:
            raise UsageError(str(exc)) from None
    try:
        symbols = [normalize(s) for s in (args.symbols or "").split(",") if s.strip()]
    except SymbolError as exc:
        raise UsageError(str(exc)) from None
    if not symbols:
        raise UsageError("--symbols names no symbol")
    return symbols


def _ssl(args: argparse.Namespace) -> Any:
    if not args.cert and not args.key:
        return None
    if not (args.cert and args.key):
        raise UsageError("--cert and --key go together")
    from marketmon.feed.gateway import tls_context

    try:
        return tls_context(args.cert, args.key)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise UsageError(f"cannot load the TLS certificate/key: {exc}") from None


def _warn_exposed(args: argparse.Namespace) -> None:
    if args.host not in _LOOPBACK and not args.token:
        print(f"marketmon: warning: listening on {args.host} with no --token: anyone who can reach it may connect",
              file=sys.stderr)  # fmt: skip


def _run_until_signal(start: Callable[[], Awaitable[Any]]) -> int:
    """Start a server, run until Ctrl-C / SIGTERM, then close it."""

    async def main() -> None:
        server = await start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.close()

    asyncio.run(main())
    return EXIT_OK


async def _listen(server: Any, args: argparse.Namespace) -> None:
    try:
        await server.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


# bridge ------------------------------------------------------------------------------


def _bridge(args: argparse.Namespace) -> int:
    from marketmon.feed.bridge import BridgeServer

    symbols = _symbols(args)
    if args.interval < MIN_INTERVAL:
        raise UsageError(f"--interval must be at least {MIN_INTERVAL:g} s: public sources block fast pollers")
    ssl_context = _ssl(args)
    _warn_exposed(args)

    def event(state: str, detail: str) -> None:
        print(f"marketmon: {args.source}: {state}: {detail}", file=sys.stderr, flush=True)

    async def start() -> BridgeServer:
        server = BridgeServer(
            args.source, symbols, interval=args.interval, base_url=args.base_url, on_event=event,
            host=args.host, port=args.port, token=args.token, ssl_context=ssl_context,
        )  # fmt: skip
        await _listen(server, args)
        print(f"bridging {args.source} ({len(symbols)} symbols, every {args.interval:g}s) on {server.url}", flush=True)
        return server

    return _run_until_signal(start)


# convert -----------------------------------------------------------------------------


def _convert(args: argparse.Namespace) -> int:
    import msgspec

    from marketmon.feed.sources import ParseError, get_source

    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    try:
        parsed = get_source(args.source).parse(body)
    except ParseError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    encode = msgspec.json.Encoder().encode
    out = sys.stdout.buffer
    for quote in parsed.quotes:
        out.write(encode(quote) + b"\n")
    out.flush()
    for code in parsed.unknown:
        print(f"marketmon: {args.source} does not know {code}", file=sys.stderr)
    for line in parsed.errors:
        print(f"marketmon: skipped {line}", file=sys.stderr)
    return EXIT_OK


# record ------------------------------------------------------------------------------


def _record(args: argparse.Namespace) -> int:
    from marketmon.feed import recording

    if args.demo:
        from marketmon.feed.seedday import SEED_DAY

        try:
            n = recording.write_script(SEED_DAY, args.out, source="demo")
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        print(f"wrote the seed day {SEED_DAY.trade_date} ({n} events) to {args.out}", flush=True)
        return EXIT_OK
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be more than 0")
    symbols = _symbols(args) if args.symbols else None

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


# serve --replay / --upstream (and --demo over TLS) -------------------------------------------


def serve_command(args: argparse.Namespace) -> int:
    ssl_context = _ssl(args)
    _warn_exposed(args)
    if args.upstream:
        return _gateway(args, ssl_context)
    from marketmon.feed.server import QuoteServer

    if args.replay:
        from marketmon.feed.recording import Recording, RecordingError

        try:
            script: Any = Recording(args.replay)
        except RecordingError as exc:
            raise UsageError(str(exc)) from None
        what = f"the recording {args.replay} ({script.trade_date})"
    else:
        from marketmon.feed.seedday import SEED_DAY

        script, what = SEED_DAY, f"the seed day {SEED_DAY.trade_date}"
    if args.speed < 0:
        raise UsageError("--speed must be 0 or more")

    async def start() -> QuoteServer:
        server = QuoteServer(
            script, speed=args.speed, host=args.host, port=args.port, token=args.token, ssl_context=ssl_context,
            start_at=market_time(args.start, script.trade_date), until=market_time(args.until, script.trade_date),
        )  # fmt: skip
        await _listen(server, args)
        print(f"serving {what} on {server.url} (speed {args.speed:g})", flush=True)
        return server

    return _run_until_signal(start)


def _gateway(args: argparse.Namespace, ssl_context: Any) -> int:
    from marketmon.feed.client import FeedUnreachable
    from marketmon.feed.gateway import Gateway

    def event(e: Any) -> None:
        if e.state in ("connected", "disconnected", "reconnecting", "resync", "eof", "error"):
            print(f"marketmon: upstream {e.state} {e.detail}".rstrip(), file=sys.stderr, flush=True)

    async def start() -> Gateway:
        gateway = Gateway(args.upstream, host=args.host, port=args.port, token=args.token,
                          ssl_context=ssl_context, on_event=event, give_up_after=float("inf"))  # fmt: skip
        await _listen(gateway, args)
        print(f"gateway for {args.upstream} on {gateway.url}", flush=True)
        return gateway

    try:
        # After an upstream eof the gateway keeps serving the final state (and
        # the eof) to terminals that join late, until Ctrl-C.
        return _run_until_signal(start)
    except FeedUnreachable as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
