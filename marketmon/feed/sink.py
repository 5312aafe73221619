"""Where the feed client puts what it receives: the `QuoteSink` protocol.

`FeedClient` (client.py) writes every message into a sink and reads back the
little it needs to report (the market clock for timestamps, the phases to
know whether silence is suspicious, the symbols that could not be placed).
The Store (`store/state.py`) is the sink of a screen or of `watch`; the desk
gateway's `Relay` (`serve/gateway.py`) is one that publishes instead. Both are
checked against this protocol by `tests/feed/test_sink.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# A sink remembers at most this many unplaced symbols by name: a hostile feed
# cannot grow the set without end.
MAX_UNKNOWN = 10_000


def add_unknown(unknown: set[str], symbols: Sequence[str]) -> None:
    """A sink's `note_unknown`: add to its set, up to MAX_UNKNOWN names."""
    room = MAX_UNKNOWN - len(unknown)
    if room > 0:
        unknown.update(symbols[:room])


class QuoteSink(Protocol):
    stale: bool  # set by the client: the feed is down or silent in trading hours
    clock: int | None  # market time of the newest message, epoch ms (the client stamps its events with it)
    phases: dict[str, str]  # market -> trading phase, from status messages
    unknown: set[str]  # symbols the feed or the sink could not place

    def merge(self, quotes: Sequence[Any], ts: int | None = None) -> None:
        """Take a message's (partial) quotes; applying them may wait for `flush`."""
        ...

    def flush(self) -> object:
        """Apply what merge took: the client calls it at the end of a snapshot,
        before an eof, and when too many quotes are waiting."""
        ...

    def note_unknown(self, symbols: list[str]) -> None:
        """Remember symbols the feed could not place (at most MAX_UNKNOWN)."""
        ...

    def set_trade_date(self, text: str | None, tz: str | None = None) -> None:
        """The session the hello names: its trade date and time zone (a gateway passes both on)."""
        ...

    def set_phase(self, market: str, phase: str, ts: int | None) -> None: ...

    def set_flow(self, southbound: dict[str, dict[str, Any]], top: list[dict[str, Any]], ts: int | None) -> None: ...

    def set_flow_history(self, days: list[dict[str, Any]]) -> None: ...

    def set_source(self, name: str, state: str, detail: str, ts: int | None) -> None:
        """A bridge's public source is up, or down and why."""
        ...
