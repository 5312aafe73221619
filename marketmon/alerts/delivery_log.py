"""The delivery log: one JSON line per outcome of sending an alert to a sink.

Next to the alert history in the user data folder, written the same way (a
single `os.write` on an O_APPEND file, so writers never interleave) and read
the same way (`history._last_lines`: a torn or foreign line is skipped).
`marketmon alerts --tail` shows these under the alerts they belong to.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from marketmon.alerts.history import _last_lines


@dataclass(frozen=True, slots=True)
class Outcome:
    ts: int  # wall clock, ms
    sink: str
    service: str
    outcome: str  # sent, failed, dropped, skipped
    attempts: int
    detail: str
    alert_ts: int  # the alert's market time, ms: with symbol and rule, which alert this was
    symbol: str
    rule: str


class DeliveryLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def append(self, outcome: Outcome) -> None:
        data = (json.dumps(asdict(outcome), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def tail(self, n: int) -> list[Outcome]:
        """The last `n` outcomes, oldest first; unreadable lines skipped."""
        if n <= 0:
            return []
        return [o for o in map(parse_line, _last_lines(self.path, n)) if o is not None]


_TYPES = {f.name: (int if f.type == "int" else str) for f in fields(Outcome)}


def parse_line(raw: bytes) -> Outcome | None:
    try:
        rec: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(rec, dict) or not all(type(rec.get(k)) is t for k, t in _TYPES.items()):
        return None
    return Outcome(**{k: rec[k] for k in _TYPES})
