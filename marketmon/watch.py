"""`marketmon watch`: the engine with no screen (PROTOCOL section 3)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
import time
from typing import Any, TextIO

import msgspec

from marketmon.alerts.engine import Alert, AlertConfig
from marketmon.alerts.history import AlertHistory
from marketmon.alerts.notify import Notifier
from marketmon.alerts.sinks import AlertSinks
from marketmon.alerts.sound import Player
from marketmon.cli import EXIT_OK, EXIT_UNREACHABLE, UsageError
from marketmon.config import paths
from marketmon.config.settings import Settings, SettingsError, load_settings
from marketmon.config.watchlists import WatchlistError
from marketmon.config.watchlists import load as load_watchlist
from marketmon.engine import Engine
from marketmon.feed.client import FeedEvent, FeedUnreachable
from marketmon.market.symbols import SymbolError, normalize
from marketmon.store import Store
from marketmon.text import printable as _safe

QUOTE_KEYS = (
    "symbol", "name", "last", "prev_close", "open", "high", "low", "change", "pct", "volume",
    "turnover", "limit_up", "limit_down", "limit_state", "iopv", "premium_pct",
)  # fmt: skip
_FEED_STATES = {"connected", "disconnected", "reconnecting", "resync", "eof"}


def run_watch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    symbols, alerts = _selection(args, settings)
    out = Output(sys.stdout, as_json=args.json)
    try:
        return asyncio.run(_watch(args, symbols, alerts, out, _sinks(args, settings, alerts)))
    except FeedUnreachable as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _settings(args: argparse.Namespace) -> Settings:
    """The settings file's rules and sound; a bad file is bad input here (exit 2)."""
    try:
        return load_settings(getattr(args, "config", None))
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def _sinks(args: argparse.Namespace, settings: Settings, alerts: AlertConfig) -> AlertSinks:
    """History, sound and notification only when asked: a script's watch stays silent."""
    history = None
    if getattr(args, "history", None) is not None:
        history = AlertHistory(args.history or paths.alert_history_file())
    player = Player(settings.sound, bell=lambda: print("\a", end="", file=sys.stderr, flush=True)) if args.sound else None
    return AlertSinks(
        history=history, player=player, notifier=Notifier(enabled=True) if args.notify else None,
        rules=alerts.for_symbol, on_error=lambda message: print(f"marketmon: {message}", file=sys.stderr),
    )  # fmt: skip


def _selection(args: argparse.Namespace, settings: Settings) -> tuple[list[str] | None, AlertConfig]:
    alerts = settings.alert_config()
    if args.all:
        return None, alerts
    if args.symbols:
        try:
            symbols = [normalize(s) for s in args.symbols.split(",") if s.strip()]
        except SymbolError as exc:
            raise UsageError(str(exc)) from None
        if not symbols:
            raise UsageError("--symbols names no symbol")
        return symbols, alerts
    try:
        wl = load_watchlist(args.watchlist, base=settings.rules)
    except WatchlistError as exc:
        raise UsageError(str(exc)) from None
    alerts.default = wl.defaults
    alerts.per_symbol = dict(wl.overrides)
    return wl.symbols, alerts


async def _watch(
    args: argparse.Namespace, symbols: list[str] | None, alerts: AlertConfig, out: Output, sinks: AlertSinks
) -> int:
    server = None
    url = args.url
    if args.demo:
        from marketmon.feed.seedday import SEED_DAY
        from marketmon.feed.server import QuoteServer

        server = QuoteServer(SEED_DAY, speed=args.speed)
        await server.start()
        url = server.url
    def on_alert(alert: Alert) -> None:
        out.alert(alert)
        sinks(alert)

    engine = Engine(url, symbols=symbols, alerts=alerts, on_alert=on_alert, on_feed=out.feed)
    if sinks.player is not None:
        sinks.player.phases = lambda: engine.store.phases
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, engine.stop)
    started = time.monotonic()
    try:
        if args.duration is not None:
            try:
                await asyncio.wait_for(engine.run(), args.duration)
            except TimeoutError:
                pass
        else:
            await engine.run()
    finally:
        if server is not None:
            await server.close()
        sinks.wait()
    out.closing(engine, symbols, time.monotonic() - started)
    return EXIT_OK


class Output:
    """Alerts and feed events as they happen; the closing table at the end."""

    def __init__(self, stream: TextIO, *, as_json: bool) -> None:
        self.stream, self.as_json = stream, as_json
        self._encode = msgspec.json.Encoder().encode

    def _line(self, obj: dict[str, Any]) -> None:
        self.stream.write(self._encode(obj).decode() + "\n")

    def alert(self, alert: Alert) -> None:
        if self.as_json:
            self._line(alert.to_event())
        else:
            self.stream.write(f"{_clock(alert.ts)}  {alert.symbol:<10} {alert.rule:<18} {_safe(alert.message)}\n")
        self.stream.flush()

    def feed(self, event: FeedEvent) -> None:
        if event.state not in _FEED_STATES:
            if not self.as_json and event.detail:
                print(f"marketmon: feed {event.state}: {_safe(event.detail)}", file=sys.stderr)
            return
        if self.as_json:
            self._line({"event": "feed", "state": event.state, "ts": event.ts})
        else:
            self.stream.write(f"{_clock(event.ts)}  feed {event.state} {_safe(event.detail)}\n")

    def closing(self, engine: Engine, symbols: list[str] | None, elapsed: float) -> None:
        store = engine.store
        rows = _rows(store, symbols)
        stats = engine.client.stats
        flow = store.flow.latest or {"southbound": {}, "top": []}
        end = {
            "event": "end", "quotes": len(rows), "messages": stats.messages,
            "bad_messages": stats.bad_messages, "reconnects": stats.reconnects,
        }  # fmt: skip
        if self.as_json:
            for row in rows:
                self._line({"event": "quote", **row})
            self._line({"event": "flow", "southbound": flow["southbound"], "top": flow["top"]})
            self._line(end)
        else:
            self._table(rows, store)
            self.stream.write(
                f"{len(rows)} instruments, {stats.messages} messages ({stats.bad_messages} bad), "
                f"{stats.reconnects} reconnects, {elapsed:.1f}s\n"
            )
        self.stream.flush()

    def _table(self, rows: list[dict[str, Any]], store: Store) -> None:
        w = self.stream.write
        w(f"\n{'symbol':<10} {'name':<20} {'last':>10} {'pct':>8} {'turnover':>14} {'limit':>6}\n")
        for r in rows:
            pct = "" if r["pct"] is None else f"{r['pct']:+.2f}%"
            last = "" if r["last"] is None else f"{r['last']:.3f}".rstrip("0").rstrip(".")
            turnover = "" if r["turnover"] is None else f"{r['turnover']:,.0f}"
            name = _safe(r["name"] or "")[:20]
            w(f"{r['symbol']:<10} {name:<20} {last:>10} {pct:>8} {turnover:>14} {r['limit_state'] or '':>6}\n")
        total = store.a_share_turnover()
        if total is not None:
            w(f"A-share turnover: {total / 1e12:.2f} trillion CNY\n")


def _rows(store: Store, symbols: list[str] | None) -> list[dict[str, Any]]:
    frame = store.frame
    out = []
    for row in frame.iter_rows(named=True):
        if symbols is not None and row["symbol"] not in symbols:
            continue
        item = {k: _clean(row[k]) for k in QUOTE_KEYS}
        item["pct"] = None if item["pct"] is None else round(item["pct"], 4)
        item["premium_pct"] = None if item["premium_pct"] is None else round(item["premium_pct"], 4)
        item["stale"] = store.stale
        out.append(item)
    return out


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _clock(ts: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts / 1000 + 8 * 3600))
