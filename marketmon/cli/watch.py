"""`marketmon watch`: the engine with no screen (PROTOCOL section 3).

Alerts and feed events as they happen, then a closing table (or JSON lines).
The engine is imported when the command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from marketmon.cli.bridge import (
    DEFAULT_INTERVAL, MIN_INTERVAL, SOURCE_HELP, add_base_url_option, add_budget_option, base_url_options,
    check_budget, source_list,
)  # fmt: skip
from marketmon.cli.exit_codes import EXIT_OK, EXIT_UNREACHABLE, UsageError
from marketmon.cli.options import check_speed, settings_or_usage, symbols_from
from marketmon.feed.safe_text import fit
from marketmon.feed.safe_text import printable as _safe
from marketmon.market import units

if TYPE_CHECKING:
    from marketmon.alerts.rules import Alert, AlertConfig
    from marketmon.alerts.sinks import AlertSinks
    from marketmon.config.settings import Settings
    from marketmon.engine import Engine
    from marketmon.feed.client import FeedEvent
    from marketmon.store.state import Store

QUOTE_KEYS = (
    "symbol", "name", "board", "last", "prev_close", "open", "high", "low", "change", "pct", "volume",
    "turnover", "limit_up", "limit_down", "limit_state", "iopv", "premium_pct",
)  # fmt: skip
# The second name and the limit pools' fields (docs/protocol.md), printed where the feed sent them.
OPTIONAL_KEYS = ("name_en", "limit_days", "limit_down_days", "seal_amount", "first_seal", "last_seal", "board_opens")
_FEED_STATES = {"connected", "disconnected", "reconnecting", "resync", "eof"}
SOURCE_GIVE_UP_S = 10.0  # a source that never answers within this is unreachable (exit 1), like a --url


def add_parser(sub: Any) -> None:
    watch = sub.add_parser("watch", help="headless: print alerts and a closing table")
    feed = watch.add_mutually_exclusive_group(required=True)
    feed.add_argument("--url")
    feed.add_argument("--demo", action="store_true", help="play the bundled seed day over loopback")
    feed.add_argument("--source", type=source_list, metavar="NAME[,NAME...]", help=SOURCE_HELP)
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
    watch.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="with --source: seconds between polls")
    add_base_url_option(watch)
    add_budget_option(watch)


def run(args: argparse.Namespace) -> int:
    from marketmon.feed.client import FeedUnreachable

    settings = _settings(args)
    units.set_units(settings.units)  # alert messages give amounts as the screen would (1.09亿 or 109.00M)
    symbols, alerts = _selection(args, settings)
    if args.source and args.interval < MIN_INTERVAL:
        raise UsageError(f"--interval must be at least {MIN_INTERVAL:g} s: public sources block fast pollers")
    check_budget(args.budget)
    check_speed(args.speed)
    out = Output(sys.stdout, as_json=args.json)
    try:
        return asyncio.run(_watch(args, symbols, alerts, out, _sinks(args, settings, alerts)))
    except FeedUnreachable as exc:
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _settings(args: argparse.Namespace) -> Settings:
    """The settings file's rules, sound and sinks; a bad file is bad input here (exit 2)."""
    return settings_or_usage(getattr(args, "config", None))


def _sinks(args: argparse.Namespace, settings: Settings, alerts: AlertConfig) -> AlertSinks:
    """History, sound and notification only when asked: a script's watch stays silent.
    The chat sinks of the settings file are asked for by being there."""
    from marketmon.alerts.delivery import Deliveries
    from marketmon.alerts.delivery_log import DeliveryLog
    from marketmon.alerts.history import AlertHistory
    from marketmon.alerts.notify import Notifier
    from marketmon.alerts.sinks import AlertSinks
    from marketmon.alerts.sound import Player
    from marketmon.config import paths

    history = None
    if getattr(args, "history", None) is not None:
        history = AlertHistory(args.history or paths.alert_history_file())
    player = Player(settings.sound, bell=lambda: print("\a", end="", file=sys.stderr, flush=True)) if args.sound else None
    on_error = lambda message: print(f"marketmon: {message}", file=sys.stderr)  # noqa: E731
    deliveries = None
    if settings.sinks:
        names = _list_names(args)
        deliveries = Deliveries(
            settings.sinks, DeliveryLog(paths.delivery_log_file()), lambda symbol: names.get(symbol, ()), on_error=on_error
        )
    return AlertSinks(
        history=history, player=player, notifier=Notifier(enabled=True) if args.notify else None,
        deliveries=deliveries, rules=alerts.for_symbol, on_error=on_error,
    )  # fmt: skip


def _list_names(args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    """symbol -> the --watchlist's name, for a sink's `lists` filter."""
    from marketmon.config.watchlists import load as load_watchlist

    if not getattr(args, "watchlist", None):
        return {}
    wl = load_watchlist(args.watchlist)  # already read (and checked) by _selection
    return {symbol: (wl.name,) for symbol in wl.symbols}


def _selection(args: argparse.Namespace, settings: Settings) -> tuple[list[str] | None, AlertConfig]:
    from marketmon.config.watchlists import WatchlistError
    from marketmon.config.watchlists import load as load_watchlist

    alerts = settings.alert_config()
    if args.all:
        return None, alerts
    if args.symbols:
        return symbols_from(args.symbols), alerts
    try:
        wl = load_watchlist(args.watchlist, base=settings.rules)
    except WatchlistError as exc:
        raise UsageError(str(exc)) from None
    alerts.default = wl.defaults
    alerts.per_symbol = dict(wl.overrides)
    alerts.ladder_top = alerts.ladder_top or wl.defaults.ladder_top
    return wl.symbols, alerts


async def _watch(
    args: argparse.Namespace, symbols: list[str] | None, alerts: AlertConfig, out: Output, sinks: AlertSinks
) -> int:
    from marketmon.engine import Engine, open_feed
    from marketmon.feed.client import FeedUnreachable

    from marketmon.engine import day_recorder

    choice = _feed_choice(args, symbols)
    feed = await open_feed(choice)

    def on_alert(alert: Alert) -> None:
        out.alert(alert)
        sinks(alert)

    engine = Engine(feed.url, symbols=_with_pairs(symbols, alerts), alerts=alerts, on_alert=on_alert, on_feed=out.feed,
                    day=day_recorder(choice, write=False))  # a script reads the record; the screen writes it
    out.market_clock = lambda: engine.store.clock
    if sinks.player is not None:
        sinks.player.phases = lambda: engine.store.phases
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, engine.stop)
    started = time.monotonic()
    watchdog = asyncio.create_task(_source_watchdog(engine, args.source)) if args.source else None
    try:
        if args.duration is not None:
            try:
                await asyncio.wait_for(engine.run(), args.duration)
            except TimeoutError:
                pass
        else:
            await engine.run()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await feed.close()
        sinks.wait()
    if watchdog is not None and watchdog.done() and not watchdog.cancelled() and watchdog.result():
        raise FeedUnreachable(watchdog.result())
    out.closing(engine, symbols, time.monotonic() - started)
    return EXIT_OK


def _with_pairs(symbols: list[str] | None, alerts: AlertConfig) -> list[str] | None:
    """An A/H premium rule needs both shares of its pair and the rate: subscribed too (not printed)."""
    from marketmon.market import ah_pairs

    if symbols is None:
        return None
    extra = [s for p in ah_pairs.bundled_pairs() if {p.a, p.h} & set(symbols)
             and (alerts.for_symbol(p.a).watches_ah() or alerts.for_symbol(p.h).watches_ah()) for s in (p.a, p.h)]  # fmt: skip
    if not extra:
        return symbols
    return list(dict.fromkeys([*symbols, *extra, ah_pairs.RATE_SYMBOL]))


def _feed_choice(args: argparse.Namespace, symbols: list[str] | None) -> Any:
    from marketmon.engine import FeedChoice

    if args.url:
        return FeedChoice(url=args.url)
    if args.source:
        from marketmon.config import paths

        options = {"interval": args.interval, **base_url_options(args.base_url), "poll_options": {"budget": args.budget},
                   "whole_market": symbols is None, "market_cache": paths.market_lists_dir(),
                   "flow_record": paths.flow_record_file()}  # fmt: skip
        return FeedChoice(source=args.source, symbols=symbols or (), source_options=options)
    return FeedChoice(demo=True, speed=args.speed)


async def _source_watchdog(engine: Engine, name: str) -> str | None:
    """Stop the engine when the bridge's source never answers: the reason, else None."""
    deadline = time.monotonic() + SOURCE_GIVE_UP_S * len(name.split(","))  # each source has its turn
    while time.monotonic() < deadline:
        source = engine.store.source
        if source is not None and source.state == "up":
            return None  # it answered once: from now on a failure is an outage to show, not a bad start
        await asyncio.sleep(0.1)
    source = engine.store.source
    engine.stop()
    why = source.detail if source is not None else f"no answer in {SOURCE_GIVE_UP_S:g} s"
    return f"cannot reach {name}: {why}"


class Output:
    """Alerts and feed events as they happen; the closing table at the end."""

    def __init__(self, stream: TextIO, *, as_json: bool) -> None:
        import msgspec

        self.stream, self.as_json = stream, as_json
        self._encode = msgspec.json.Encoder().encode
        # The text log's times are all market time (the feed's clock, Asia/Shanghai):
        # before the first quote there is none, and a feed event says "--:--:--"
        # rather than mix in the wall clock.
        self.market_clock: Callable[[], int | None] = lambda: None

    def _line(self, obj: dict[str, Any]) -> None:
        self.stream.write(self._encode(obj).decode() + "\n")

    def alert(self, alert: Alert) -> None:
        if self.as_json:
            self._line(alert.to_event())
        else:
            self.stream.write(f"{_clock(alert.ts)}  {alert.symbol:<10} {alert.rule:<18} {_safe(alert.message)}\n")
        self.stream.flush()

    def feed(self, event: FeedEvent) -> None:
        if event.state == "source":  # the bridge's public source went up or down, and why
            if self.as_json:
                self._line({"event": "feed", "state": "source", "detail": event.detail, "ts": event.ts})
            else:
                print(f"marketmon: source {_safe(event.detail)}", file=sys.stderr)
            return
        if event.state not in _FEED_STATES:
            if not self.as_json and event.detail:
                print(f"marketmon: feed {event.state}: {_safe(event.detail)}", file=sys.stderr)
            return
        if self.as_json:
            self._line({"event": "feed", "state": event.state, "ts": event.ts})
        else:
            when = _clock(event.ts) if self.market_clock() is not None else "--:--:--"
            self.stream.write(f"{when}  feed {event.state} {_safe(event.detail)}\n".rstrip() + "\n")

    def closing(self, engine: Engine, symbols: list[str] | None, elapsed: float) -> None:
        store = engine.store
        rows = closing_rows(store, symbols)
        stats = engine.client.stats
        flow = store.flow.latest or {"southbound": {}, "top": []}
        end = {
            "event": "end", "quotes": len(rows), "messages": stats.messages,
            "bad_messages": stats.bad_messages, "reconnects": stats.reconnects,
            "unclassified": store.unclassified,
        }  # fmt: skip
        if self.as_json:
            self._line(breadth_event(store))
            for row in rows:
                self._line({"event": "quote", **row})
            self._line({"event": "flow", "ts": flow.get("ts"), "southbound": flow["southbound"], "top": flow["top"]})
            self._line(end)
        else:
            self._table(rows, store)
            self.stream.write(
                f"{len(rows)} instruments ({store.unclassified} unclassified), {stats.messages} messages "
                f"({stats.bad_messages} bad), {stats.reconnects} reconnects, {elapsed:.1f}s\n"
            )
        self.stream.flush()

    def _table(self, rows: list[dict[str, Any]], store: Store) -> None:
        w = self.stream.write
        w(f"\n{'symbol':<10} {'name':<20} {'last':>10} {'pct':>8} {'turnover':>14} {'limit':>6}\n")
        for r in rows:
            pct = "" if r["pct"] is None else f"{r['pct']:+.2f}%"
            last = "" if r["last"] is None else f"{r['last']:.3f}".rstrip("0").rstrip(".")
            turnover = "" if r["turnover"] is None else f"{r['turnover']:,.0f}"
            name = fit(_safe(r["name"] or ""), 20)  # by cells: a Chinese name's characters take two
            w(f"{r['symbol']:<10} {name} {last:>10} {pct:>8} {turnover:>14} {r['limit_state'] or '':>6}\n")
        total = store.a_share_turnover()
        if total is not None:
            w(f"A-share turnover: {total / 1e12:.2f} trillion CNY\n")


def closing_rows(store: Store, symbols: list[str] | None) -> list[dict[str, Any]]:
    frame = store.frame
    out = []
    for row in frame.iter_rows(named=True):
        if symbols is not None and row["symbol"] not in symbols:
            continue
        item = {k: _clean(row[k]) for k in QUOTE_KEYS}
        # No float noise (-55.80999999999949): prices to their tick, IOPV to 4
        # places (exchanges publish it finer than the tick), percents to 4, amounts to the cent.
        places = _price_places(row["tick"], row["board"])
        for key in PRICE_KEYS:
            item[key] = _round(item[key], places)
        for key, n in (("iopv", 4), ("pct", 4), ("premium_pct", 4), ("volume", 2), ("turnover", 2)):
            item[key] = _round(item[key], n)
        item["stale"] = store.stale
        item |= {k: row[k] for k in OPTIONAL_KEYS if row.get(k) is not None}
        out.append(item)
    return out


def breadth_event(store: Store) -> dict[str, Any]:
    """The market-wide figures (docs/protocol.md section 3): breadth, both ladders, the A/H pairs."""
    from marketmon.market import ah_pairs
    from marketmon.store.breadth import breadth
    from marketmon.store.ladder import ladder, rung_summary

    frame = store.frame
    wide = breadth(frame, store.a_share_turnover(), _previous_turnover(store))
    event: dict[str, Any] = {"event": "breadth", "ts": store.clock, **wide.to_event()}
    for side in ("up", "down"):
        board = ladder(frame, side)
        event[f"ladder_{side}"] = {
            "sealed": board.sealed, "broken": board.broken,
            "broken_rate": _number(board.broken_rate), "top_step": board.top_step,
            "yesterday": board.yesterday, "yesterday_avg_pct": _number(board.yesterday_avg_pct),
            "rungs": rung_summary(board.rungs),
        }  # fmt: skip
    rate = store.quote(ah_pairs.RATE_SYMBOL)
    rate_last = rate["last"] if rate else None
    known = ah_pairs.with_listed(store.listed_pairs())
    symbols = {s for p in known for s in (p.a, p.h)}
    prices = dict(store.rows_of(symbols, ("symbol", "last")).iter_rows())
    event["hkdcny"] = rate_last
    event["ah"] = [
        {"a": p.pair.a, "h": p.pair.h, "name": p.pair.name, "a_price": float(p.a_price),
         "h_cny": float(p.h_cny), "premium_pct": float(p.premium_pct)}
        for p in ah_pairs.premiums(prices, rate_last, known)
    ]  # fmt: skip
    return event


def _previous_turnover(store: Store) -> float | None:
    from marketmon.config.day_record import minute_of, turnover_at

    if not store.previous_turnover or store.clock is None:
        return None
    return turnover_at(store.previous_turnover, minute_of(store.clock))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


PRICE_KEYS = ("last", "prev_close", "open", "high", "low", "change", "limit_up", "limit_down")


def _price_places(tick: float | None, board: str | None) -> int:
    """Decimal places of a price: its tick's (0.01 -> 2, 0.001 -> 3); Hong Kong
    quotes a stock under 0.25 HKD in 0.001, so HK keeps 3."""
    places = max(0, -math.floor(math.log10(tick) + 1e-9)) if tick and tick > 0 else 3
    return max(places, 3) if board == "hk" else places


def _round(value: Any, places: int) -> Any:
    if not isinstance(value, float):
        return value
    return round(value, places)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _clock(ts: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts / 1000 + 8 * 3600))
