"""Every instrument a feed sends is kept: stocks, ETFs, convertible bonds, REITs,
renumbered BSE codes and codes of a prefix marketmon does not know, end to end
from a real loopback server through `marketmon watch --all`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest

from marketmon.cli.main import main
from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer

from ..conftest import T0, TRADE_DATE

UNKNOWN = [f"0040{i:02d}.SZ" for i in range(10)]  # a prefix no exchange table has


def _quote(symbol: str, prev: float, **extra: object) -> dict:
    return {"symbol": symbol, "ts": T0, "name": f"N {symbol}", "prev_close": prev, "last": prev, **extra}


QUOTES = [
    _quote("600000.SH", 10.0),
    _quote("510300.SH", 4.5),
    _quote("113050.SH", 118.888),  # a convertible bond, listed long ago: +/-20 %
    _quote("123001.SZ", 100.0, listed=TRADE_DATE),  # a bond on its listing day: +57.3 % / -43.3 %
    _quote("508000.SH", 3.456),  # a REIT: +/-10 %
    _quote("180101.SZ", 2.005),
    _quote("920118.BJ", 10.0),  # BSE, the 2024 codes: 30 %
    *(_quote(s, 5.0) for s in UNKNOWN[:-1]),
    _quote(UNKNOWN[-1], 5.0, limit_up=5.5, limit_down=4.5),  # the feed's own limits are kept
]
LIMITS = {  # symbol -> (limit_up, limit_down) as the store works them out
    "600000.SH": (11.0, 9.0),
    "510300.SH": (4.95, 4.05),
    "113050.SH": (142.666, 95.11),
    "123001.SZ": (157.3, 56.7),
    "508000.SH": (3.802, 3.11),
    "180101.SZ": (2.206, 1.805),
    "920118.BJ": (13.0, 7.0),
    **{s: (None, None) for s in UNKNOWN[:-1]},
    UNKNOWN[-1]: (5.5, 4.5),
}


@pytest.fixture
def feed_url() -> Iterator[str]:
    """A real server on a loopback port, in its own thread and event loop."""
    script = ListScript(TRADE_DATE, [Event(T0, {"type": "quotes", "ts": T0, "quotes": QUOTES})])
    loop = asyncio.new_event_loop()
    server = QuoteServer(script, speed=0)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield server.url
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _watch(url: str, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[str, str]:
    assert main(["watch", "--url", url, "--all", "--duration", "20", *flags]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_watch_json_prints_every_instrument_with_its_limits(feed_url, capsys):
    out, _err = _watch(feed_url, capsys, "--json")
    events = [json.loads(line) for line in out.splitlines()]
    quotes = {e["symbol"]: e for e in events if e["event"] == "quote"}
    assert set(quotes) == {q["symbol"] for q in QUOTES}
    assert {s: (q["limit_up"], q["limit_down"]) for s, q in quotes.items()} == LIMITS
    assert {quotes[s]["board"] for s in UNKNOWN} == {"other"}
    assert (quotes["113050.SH"]["board"], quotes["508000.SH"]["board"], quotes["920118.BJ"]["board"]) == (
        "bond", "reit", "bse")  # fmt: skip
    end = events[-1]
    assert end["event"] == "end" and end["quotes"] == len(QUOTES)
    assert end["unclassified"] == len(UNKNOWN) and end["bad_messages"] == 0


def test_watch_names_the_first_unclassified_code_once(feed_url, capsys):
    out, err = _watch(feed_url, capsys)
    lines = [line for line in err.splitlines() if "unclassified" in line]
    assert len(lines) == 1 and UNKNOWN[0] in lines[0] and "board 'other'" in lines[0]
    assert f"{len(QUOTES)} instruments ({len(UNKNOWN)} unclassified)" in out
    for symbol in UNKNOWN:
        assert symbol in out  # every row in the closing table
