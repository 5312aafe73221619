"""`marketmon alerts --tail [N] [--follow]`: the alert history, headless.

Prints the last N alerts of the JSONL history (the user data folder, or
--file) oldest first; with --follow it then prints each alert appended
later, by polling the file's size, like `tail -f`. A truncated or replaced
file is read again from its start; a torn last line waits for its end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from marketmon.cli.exit_codes import EXIT_OK, UsageError
from marketmon.config import paths
from marketmon.feed.safe_text import printable

if TYPE_CHECKING:
    from marketmon.alerts.rules import Alert

MARKET_TZ = ZoneInfo("Asia/Shanghai")
FOLLOW_POLL_S = 0.5


def add_parser(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="print the alert history")
    alerts.add_argument("--tail", type=int, nargs="?", const=20, default=20, metavar="N",
                        help="the last N alerts (default 20)")  # fmt: skip
    alerts.add_argument("--follow", "-f", action="store_true", help="keep printing alerts as they are added")
    alerts.add_argument("--json", action="store_true", help="JSON lines on stdout")
    alerts.add_argument("--file", metavar="PATH", help="history file (default: alerts.jsonl in the data folder)")


def run(args: argparse.Namespace) -> int:
    from marketmon.alerts.history import AlertHistory  # the engine loads here, not for --help

    if args.tail < 0:
        raise UsageError("--tail needs a number, 0 or more")
    path = Path(args.file) if args.file else paths.alert_history_file()
    show = _printer(args.json)
    try:
        for alert in AlertHistory(path).tail(args.tail):
            show(alert)
        sys.stdout.flush()
        if args.follow:
            _follow(path, show)
    except BrokenPipeError:
        # `marketmon alerts | head`: the reader left; no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _printer(as_json: bool):
    def show(alert: Alert) -> None:
        if as_json:
            print(json.dumps({"event": "alert", **_record(alert)}, ensure_ascii=False))
        else:
            when = dt.datetime.fromtimestamp(alert.ts / 1000, MARKET_TZ).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{when}  {alert.symbol:<10} {alert.rule:<18} {printable(alert.message)}")

    return show


def _record(alert: Alert) -> dict[str, Any]:
    return {k: getattr(alert, k) for k in ("ts", "symbol", "name", "rule", "price", "pct", "message")}


def _follow(path: Path, show) -> None:
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
            alert = parse_line(line) if line.strip() else None
            if alert is not None:
                show(alert)
        sys.stdout.flush()
