"""The alert history: one JSON line per alert, append-only, read from the end.

Each alert is written with a single `os.write` on a file opened with
O_APPEND, so lines from concurrent writers never interleave and a crash can
at worst leave the last line torn. Reading skips (and counts) any line that
does not parse, so a torn line never hides the good ones. `tail` reads
backwards in blocks and stops once it has enough lines: a history of years
costs the same to show as one of a day.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from marketmon.alerts.rules import Alert

FIELDS = ("ts", "symbol", "name", "rule", "price", "pct", "message")
BLOCK = 64 * 1024
MAX_LINE = 64 * 1024  # longer lines are garbage, not alerts: stop reading back past this


class AlertHistory:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.skipped = 0  # lines the last `tail` could not read (torn or foreign)
        self._checked_end = False

    def append(self, alert: Alert) -> None:
        record = {f: getattr(alert, f) for f in FIELDS}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if not self._checked_end:
                # A crash may have left a torn line without its newline: start
                # on a fresh line so the new alert is not glued onto the wreck.
                self._checked_end = True
                if _ends_torn(self.path):
                    data = b"\n" + data
            os.write(fd, data)
        finally:
            os.close(fd)

    def tail(self, n: int) -> list[Alert]:
        """The last `n` alerts, oldest first; unreadable lines are skipped and counted."""
        self.skipped = 0
        if n <= 0:
            return []
        alerts: list[Alert] = []
        for raw in _last_lines(self.path, n):
            alert = parse_line(raw)
            if alert is None:
                self.skipped += 1
            else:
                alerts.append(alert)
        return alerts


def _ends_torn(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False


def _last_lines(path: Path, n: int) -> list[bytes]:
    """The last `n` non-empty lines, reading backwards block by block."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return []
    with f:
        end = f.seek(0, os.SEEK_END)
        pos, buf = end, b""
        limit = n * MAX_LINE
        # One more newline than lines wanted: the first piece may be a partial line.
        while pos > 0 and buf.count(b"\n") <= n and end - pos < limit:
            step = min(BLOCK, pos)
            pos -= step
            f.seek(pos)
            buf = f.read(step) + buf
    lines = buf.split(b"\n")
    if pos > 0:
        lines = lines[1:]  # cut mid-line by the block boundary
    return [line for line in lines if line.strip()][-n:]


def parse_line(raw: bytes) -> Alert | None:
    try:
        rec: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(rec, dict):
        return None
    ts, symbol, rule = rec.get("ts"), rec.get("symbol"), rec.get("rule")
    if not (type(ts) is int and isinstance(symbol, str) and isinstance(rule, str)):
        return None
    price, pct, name, message = rec.get("price"), rec.get("pct"), rec.get("name"), rec.get("message")
    return Alert(
        ts=ts,
        symbol=symbol,
        name=name if isinstance(name, str) else symbol,
        rule=rule,
        price=float(price) if isinstance(price, (int, float)) else None,
        pct=float(pct) if isinstance(pct, (int, float)) else None,
        message=message if isinstance(message, str) else "",
    )
