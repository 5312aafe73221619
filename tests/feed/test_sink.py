"""The client writes to a QuoteSink and needs nothing else of it.

The Store and the desk gateway's Relay must each implement the protocol
(feed/sink.py): every attribute with its type, every method with the same
parameters. And the client must follow a real loopback feed into a sink that
is nothing but the protocol.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, get_type_hints

import pytest

from marketmon.feed import sink as sink_module
from marketmon.feed.client import FeedClient
from marketmon.feed.sink import MAX_UNKNOWN, QuoteSink
from marketmon.serve.gateway import Relay
from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer
from marketmon.store.state import Store

from ..conftest import T0, TRADE_DATE

METHODS = sorted(
    name for name, member in vars(QuoteSink).items() if callable(member) and not name.startswith("_")
)
ATTRIBUTES = get_type_hints(QuoteSink, vars(sink_module))


def _params(function: Any) -> list[tuple[str, Any, bool]]:
    """Name, kind and whether it has a default, for each parameter but self."""
    return [(p.name, p.kind, p.default is not p.empty) for p in inspect.signature(function).parameters.values()
            if p.name != "self"]  # fmt: skip


def _runtime_types(hint: Any) -> tuple[type, ...]:
    """`int | None` -> (int, NoneType); `dict[str, str]` -> (dict,)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(t for arg in typing.get_args(hint) for t in _runtime_types(arg))
    return (typing.get_origin(hint) or hint,)


def _sinks() -> list[Any]:
    return [Store(), Relay(QuoteServer(None, wait_for_client=False))]


def test_the_protocol_names_what_the_client_uses() -> None:
    assert METHODS == ["flush", "merge", "note_unknown", "set_flow", "set_flow_history", "set_phase",
                       "set_source", "set_trade_date"]  # fmt: skip
    assert set(ATTRIBUTES) == {"stale", "clock", "phases", "unknown"}


@pytest.mark.parametrize("make", [0, 1], ids=["Store", "Relay"])
def test_store_and_relay_implement_the_sink(make: int) -> None:
    sink = _sinks()[make]
    for name in METHODS:
        assert _params(getattr(type(sink), name)) == _params(getattr(QuoteSink, name)), name
    for name, hint in ATTRIBUTES.items():
        assert isinstance(getattr(sink, name), _runtime_types(hint)), (name, hint)


@pytest.mark.parametrize("make", [0, 1], ids=["Store", "Relay"])
def test_unknown_symbols_are_bounded(make: int) -> None:
    sink = _sinks()[make]
    sink.note_unknown([f"{i:06d}.XX" for i in range(MAX_UNKNOWN + 50)])
    sink.note_unknown(["999999.XX"])
    assert len(sink.unknown) == MAX_UNKNOWN


class Recorder:
    """A sink that is nothing but the protocol: it records each call."""

    def __init__(self) -> None:
        self.stale = True
        self.clock: int | None = None
        self.phases: dict[str, str] = {}
        self.unknown: set[str] = set()
        self.calls: list[tuple[str, Any]] = []

    def merge(self, quotes: Any, ts: int | None = None) -> None:
        self.calls.append(("merge", [q.symbol for q in quotes]))
        if ts is not None:
            self.clock = ts

    def flush(self) -> object:
        self.calls.append(("flush", None))
        return None

    def note_unknown(self, symbols: list[str]) -> None:
        self.unknown.update(symbols)

    def set_trade_date(self, text: str | None, tz: str | None = None) -> None:
        self.calls.append(("trade_date", (text, tz)))

    def set_phase(self, market: str, phase: str, ts: int | None) -> None:
        self.phases[market] = phase

    def set_flow(self, southbound: Any, top: Any, ts: int | None) -> None:
        self.calls.append(("flow", southbound["SH"]["net_buy_hkd"]))

    def set_flow_history(self, days: Any) -> None:
        self.calls.append(("flow_history", len(days)))

    def set_source(self, name: str, state: str, detail: str, ts: int | None) -> None:
        self.calls.append(("source", (name, state)))


async def test_the_client_follows_a_real_feed_into_a_bare_sink() -> None:
    quote = {"symbol": "600000.SH", "ts": T0, "name": "PF Bank", "prev_close": 10.0, "last": 10.0}
    script = ListScript(TRADE_DATE, [
        Event(T0, {"type": "quotes", "ts": T0, "quotes": [quote]}),
        Event(T0, {"type": "status", "ts": T0, "market": "CN", "phase": "continuous"}),
        Event(T0 + 3000, {"type": "quotes", "ts": T0 + 3000, "quotes": [{"symbol": "600000.SH", "last": 10.1}]}),
        Event(T0 + 6000, {"type": "flow", "ts": T0 + 6000, "southbound": {"SH": {"net_buy_hkd": 1.5e9}}, "top": []}),
    ])  # fmt: skip
    async with QuoteServer(script, speed=0) as server:
        recorder = Recorder()
        client = FeedClient(server.url, recorder)
        assert await client.run() == "eof"
    assert ("trade_date", (TRADE_DATE, "Asia/Shanghai")) in recorder.calls  # the hello's session, its zone too
    merged = [symbols for call, symbols in recorder.calls if call == "merge"]
    assert merged[0] == ["600000.SH"] and ["600000.SH"] in merged[1:]  # the snapshot, then the delta
    assert ("flow", 1.5e9) in recorder.calls
    assert recorder.calls[-1] == ("flush", None)  # the client flushes before it reports the eof
    assert recorder.phases == {"CN": "continuous"}
    assert recorder.clock == T0 + 3000  # the newest quotes' time (the client reads it to stamp its events)
    assert recorder.stale is False  # the client marked the feed live while frames came in
