"""A scripted market session: what a replay server plays.

A script is a trade date plus a time-ordered stream of events. Each event is
one protocol message body without `seq` (the server numbers messages per
connection). The seed day, recordings and test scripts all take this shape,
so one server serves them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class Event:
    """One timed message: `ts` is epoch ms, `body` a protocol message without seq.

    body["type"] is one of "quotes", "flow", "flow_history", "status".
    A "quotes" body is {"type": "quotes", "ts": ms, "quotes": [partial quote, ...]};
    the first quotes event of a session carries every instrument in full.
    """

    ts: int
    body: dict[str, Any] = field(default_factory=dict)


class Script(Protocol):
    trade_date: str  # YYYY-MM-DD
    tz: str

    def events(self) -> Iterator[Event]:
        """Yield the session's events in time order; calling again restarts it."""
        ...


@dataclass
class ListScript:
    """A script held in memory (tests, small recordings)."""

    trade_date: str
    event_list: list[Event]
    tz: str = "Asia/Shanghai"

    def events(self) -> Iterator[Event]:
        return iter(self.event_list)
