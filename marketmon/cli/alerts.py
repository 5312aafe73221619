"""`marketmon alerts --tail [N] [--follow]`: the alert history, headless;
`marketmon alerts test [SINK]`: one test message to the chat sinks.

Prints the last N alerts of the JSONL history (the user data folder, or
--file) oldest first, each with what became of it at the chat sinks (the
delivery log beside the history); with --follow it then prints each alert
appended later, by polling the file's size, like `tail -f`. A truncated or
replaced file is read again from its start; a torn last line waits for its
end. `--deliveries` prints the delivery log itself the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from marketmon.cli.exit_codes import EXIT_OK, EXIT_UNREACHABLE, UsageError
from marketmon.cli.options import settings_or_usage
from marketmon.config import paths
from marketmon.feed.safe_text import printable

if TYPE_CHECKING:
    from marketmon.alerts.delivery_log import Outcome
    from marketmon.alerts.rules import Alert

MARKET_TZ = ZoneInfo("Asia/Shanghai")
FOLLOW_POLL_S = 0.5
DELIVERIES_PER_ALERT = 20  # delivery-log lines read per alert shown: a few sinks, a few outcomes each


def add_parser(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="print the alert history; `alerts test [SINK]` tries the chat sinks")
    alerts.add_argument("action", nargs="?", choices=["test"], help="test: send one test message to each sink (or SINK)")
    alerts.add_argument("sink", nargs="?", help="the [sinks.NAME] to test (default: all)")
    alerts.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="settings file (for test)")
    alerts.add_argument("--deliveries", action="store_true", help="the delivery log (what the chat sinks answered)")
    alerts.add_argument("--tail", type=int, nargs="?", const=20, default=20, metavar="N",
                        help="the last N alerts (default 20)")  # fmt: skip
    alerts.add_argument("--follow", "-f", action="store_true", help="keep printing alerts as they are added")
    alerts.add_argument("--json", action="store_true", help="JSON lines on stdout")
    alerts.add_argument("--file", metavar="PATH", help="history file (default: alerts.jsonl in the data folder)")


def run(args: argparse.Namespace) -> int:
    from marketmon.alerts.delivery_log import DeliveryLog
    from marketmon.alerts.history import AlertHistory  # the engine loads here, not for --help

    if args.action == "test":
        return _test(args)
    if args.sink is not None:
        raise UsageError(f"unexpected argument {args.sink!r} (did you mean `alerts test {args.sink}`?)")
    if args.tail < 0:
        raise UsageError("--tail needs a number, 0 or more")
    try:
        if args.deliveries:
            path = Path(args.file) if args.file else paths.delivery_log_file()
            show_outcome = _outcome_printer(args.json, indent="")
            for outcome in DeliveryLog(path).tail(args.tail):
                show_outcome(outcome)
            sys.stdout.flush()
            if args.follow:
                from marketmon.alerts.delivery_log import parse_line

                _follow(path, show_outcome, parse_line)
            return EXIT_OK
        path = Path(args.file) if args.file else paths.alert_history_file()
        alerts = AlertHistory(path).tail(args.tail)
        # Each alert's outcomes at the sinks: the delivery log's lines for its (ts, symbol, rule).
        outcomes: dict[tuple[int, str, str], list[Any]] = {}
        if not args.file:
            for o in DeliveryLog(paths.delivery_log_file()).tail(max(args.tail, 1) * DELIVERIES_PER_ALERT):
                outcomes.setdefault((o.alert_ts, o.symbol, o.rule), []).append(o)
        show = _printer(args.json)
        show_outcome = _outcome_printer(args.json, indent="    ")
        for alert in alerts:
            found = outcomes.get((alert.ts, alert.symbol, alert.rule), [])
            show(alert, found)
            if not args.json:
                for outcome in found:
                    show_outcome(outcome)
        sys.stdout.flush()
        if args.follow:
            _follow(path, show)
    except BrokenPipeError:
        # `marketmon alerts | head`: the reader left; no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _printer(as_json: bool):
    def show(alert: Alert, outcomes: list[Outcome] = ()) -> None:  # type: ignore[assignment]
        if as_json:
            extra = {"deliveries": [asdict(o) for o in outcomes]} if outcomes else {}
            print(json.dumps({"event": "alert", **_record(alert), **extra}, ensure_ascii=False))
        else:
            when = dt.datetime.fromtimestamp(alert.ts / 1000, MARKET_TZ).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{when}  {alert.symbol:<10} {alert.rule:<18} {printable(alert.message)}")

    return show


def _outcome_printer(as_json: bool, indent: str):
    def show(o: Outcome) -> None:
        if as_json:
            print(json.dumps({"event": "delivery", **asdict(o)}, ensure_ascii=False))
            return
        when = dt.datetime.fromtimestamp(o.ts / 1000, MARKET_TZ).strftime("%Y-%m-%d %H:%M:%S")
        tries = f", {o.attempts} attempt{'s' if o.attempts != 1 else ''}" if o.attempts else ""
        about = "" if indent else f"{o.symbol} {o.rule}: "
        print(f"{indent}{when}  -> {printable(o.sink)} ({o.service}) {o.outcome}{tries}: {about}{printable(o.detail, 300)}")

    return show


def _test(args: argparse.Namespace) -> int:
    """One test message to each sink (or the one named), one attempt each, the answer printed."""
    import asyncio

    from marketmon.alerts.delivery import try_sinks
    from marketmon.alerts.delivery_log import DeliveryLog
    settings = settings_or_usage(getattr(args, "config", None))
    specs = [s for s in settings.sinks if args.sink is None or s.name == args.sink]
    if not settings.sinks:
        raise UsageError(f"no [sinks.NAME] in {settings.path}: see docs/alerts.md")
    if not specs:
        raise UsageError(f"no sink {args.sink!r} in {settings.path} (there are: {', '.join(s.name for s in settings.sinks)})")
    ok = True
    for spec, verdict in asyncio.run(try_sinks(specs, DeliveryLog(paths.delivery_log_file()))):
        ok &= verdict.ok
        print(f"{spec.name} ({spec.service}): {'sent' if verdict.ok else 'FAILED'}: {verdict.detail}")
    return EXIT_OK if ok else EXIT_UNREACHABLE


def _record(alert: Alert) -> dict[str, Any]:
    return {k: getattr(alert, k) for k in ("ts", "symbol", "name", "rule", "price", "pct", "message")}


def _follow(path: Path, show, parse_line=None) -> None:
    if parse_line is None:
        from marketmon.alerts.history import parse_line  # one parser for the file format

    offset = path.stat().st_size if path.exists() else 0
    inode = path.stat().st_ino if path.exists() else None
    pending = b""
    while True:
        time.sleep(FOLLOW_POLL_S)
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if st.st_ino != inode or st.st_size < offset:
            offset, inode, pending = 0, st.st_ino, b""  # replaced or truncated: start over
        if st.st_size == offset:
            continue
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read()
        offset += len(data)
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            item = parse_line(line) if line.strip() else None
            if item is not None:
                show(item)
        sys.stdout.flush()
