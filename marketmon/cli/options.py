"""What several commands share: reading symbols and times from the command
line, the server options (bind address, token, TLS), and running a server
until Ctrl-C. Light: heavy modules are imported inside the functions."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import datetime as dt
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from marketmon.cli.exit_codes import EXIT_OK, UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def symbols_from(text: str | None) -> list[str]:
    """`--symbols a,b,c` in canonical CODE.EX form; UsageError for a bad one or none."""
    from marketmon.market.symbols import SymbolError, normalize

    try:
        symbols = [normalize(s) for s in (text or "").split(",") if s.strip()]
    except SymbolError as exc:
        raise UsageError(str(exc)) from None
    if not symbols:
        raise UsageError("--symbols names no symbol")
    return symbols


def watchlist_symbols(path: str) -> list[str]:
    """The symbols of a watchlist file; UsageError (file, line, column) for a bad file."""
    from marketmon.config.watchlists import WatchlistError, load

    try:
        return load(path).symbols
    except WatchlistError as exc:
        raise UsageError(str(exc)) from None


def settings_or_usage(given: str | None) -> Any:
    """The settings file (--config, $MARKETMON_CONFIG or the default): a bad one is
    bad input for a command (exit 2); its warnings go to stderr."""
    from marketmon.config.settings import SettingsError, load_settings

    try:
        settings = load_settings(given)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    for warning in settings.warnings:
        print(f"marketmon: warning: {warning}", file=sys.stderr)
    return settings


def clock_time(text: str | None) -> dt.time | None:
    """`--start 10:30` -> a time of day (market time, on the feed's trade date)."""
    if text is None:
        return None
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise UsageError(f"bad time {text!r}: use HH:MM") from None


def check_speed(speed: float | None) -> None:
    """A replay speed: 0 (as fast as it goes) or more; nan and inf are no speed."""
    if speed is not None and not (math.isfinite(speed) and speed >= 0):
        raise UsageError(f"--speed must be a number, 0 or more (got {speed:g})")


def add_server_options(parser: argparse.ArgumentParser, *, port: int = 8765) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--token", help="require this token (?token= or Authorization: Bearer)")
    parser.add_argument("--cert", metavar="FILE", help="TLS certificate (PEM): serve wss://")
    parser.add_argument("--key", metavar="FILE", help="TLS private key (PEM)")


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    """host, port, token and TLS from the command line; warns when a server is
    exposed beyond this machine with no token."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535 (got {args.port})")
    ssl_context = _tls(args)
    if args.host not in LOOPBACK and not args.token:
        print(f"marketmon: warning: listening on {args.host} with no --token: anyone who can reach it may connect",
              file=sys.stderr)  # fmt: skip
    return {"host": args.host, "port": args.port, "token": args.token, "ssl_context": ssl_context}


def _tls(args: argparse.Namespace) -> Any:
    if not args.cert and not args.key:
        return None
    if not (args.cert and args.key):
        raise UsageError("--cert and --key go together")
    from marketmon.serve.gateway import tls_context

    try:
        return tls_context(args.cert, args.key)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise UsageError(f"cannot load the TLS certificate/key: {exc}") from None


def cannot_listen(args: argparse.Namespace, exc: OSError) -> UsageError:
    return UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")


def run_until_signal(start: Callable[[], Awaitable[Any]]) -> int:
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
