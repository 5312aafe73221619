"""The whole market as a live source covers it: East Money's clist pages, the
day's cache, and a bridge that polls every listed instrument, against a local
HTTP server that answers like push2 (paged lists by filter, quotes by secid)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marketmon.engine import Engine
from marketmon.market.sessions import trade_date_of
from marketmon.market.symbols import FX_RATES
from marketmon.serve.bridge import BridgeServer
from marketmon.serve.sources import market
from marketmon.serve.sources.market import FILTERS, STRIP, MarketCache, list_market, parse_page
from marketmon.serve.sources.poll import fetch

from ..conftest import wait_for

SAMPLES = Path(__file__).parents[3] / "shared" / "samples" / "live"
# A local stand-in, not the public host: no request budget to keep to (test_bridge tests the budget).
FAST = {"backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 5.0, "budget": 100_000}

# A constructed market: (market id, code) per filter.
UNIVERSE = {
    FILTERS["A-shares"]: [(1, f"600{i:03d}") for i in range(150)] + [(0, f"000{i:03d}") for i in range(1, 80)]
    + [(0, f"300{i:03d}") for i in range(40)] + [(1, f"688{i:03d}") for i in range(30)] + [(0, "920118")],
    FILTERS["ETFs"]: [(1, f"510{i:03d}") for i in range(60)] + [(0, f"159{i:03d}") for i in range(45)],
    FILTERS["Southbound HK"]: [(116, f"{i:05d}") for i in (700, 9988, 1810, 3690, 1024)],
}
SYMBOLS = 150 + 79 + 40 + 30 + 1 + 60 + 45 + 5


def market_today() -> dt.date:
    """The day the bridge lists for: Shanghai's date, not this machine's."""
    return trade_date_of(int(time.time() * 1000))


class Push2:
    """http.server on port 0 in a thread: clist pages by `fs` (at most 100 rows a
    page, as the public host answers), ulist quotes by secid."""

    def __init__(self, page_cap: int = 100) -> None:
        self.requests: list[str] = []
        push2 = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                push2.requests.append(self.path)
                url = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(url.query)
                if url.path == "/api/qt/clist/get":
                    rows = UNIVERSE.get(q["fs"][0], [])
                    size, page = min(int(q["pz"][0]), page_cap), int(q["pn"][0])
                    chunk = rows[(page - 1) * size : page * size]
                    diff = [{"f12": code, "f13": m, "f14": f"N{code}"} for m, code in chunk]
                    body = {"rc": 0, "data": {"total": len(rows), "diff": diff} if chunk else None}
                else:  # ulist.np/get: a quote per secid
                    secids = q["secids"][0].split(",")
                    diff = [{"f1": 2, "f2": 1234, "f5": 10, "f6": 12340.0, "f12": s.split(".")[1],
                             "f13": int(s.split(".")[0]), "f14": "N", "f18": 1200, "f124": int(time.time())}
                            for s in secids if not s.startswith(("100.", "124."))]  # fmt: skip
                    body = {"rc": 0, "data": {"total": len(diff), "diff": diff}}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def lists(self) -> list[str]:
        """The market's list pages (not the A/H board, which the bridge's extras list)."""
        return [r for r in self.requests if r.startswith("/api/qt/clist/get") and "DLMK0101" not in r]

    def __enter__(self) -> Push2:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_real_list_page_reads_its_symbols_and_total():
    symbols, total = parse_page((SAMPLES / "eastmoney-clist-sh-a-page1.jsonp").read_bytes())
    assert total == 2384 and len(symbols) == 20 and symbols[0] == "600107.SH"
    assert all(s.endswith(".SH") for s in symbols)


async def test_listing_pages_every_filter_to_its_total():
    with Push2() as push2:
        symbols, requests = await list_market(fetch, push2.url)
    assert len(symbols) == SYMBOLS + len(STRIP)
    assert set(STRIP) <= set(symbols) and "920118.BJ" in symbols and "00700.HK" in symbols
    pages = sum(math.ceil(len(rows) / 100) for rows in UNIVERSE.values())
    assert requests == len(push2.lists()) == pages  # stops at the total: no empty page asked for


async def test_a_server_that_gives_fewer_rows_than_asked_is_paged_to_the_end():
    with Push2(page_cap=40) as push2:
        symbols, requests = await list_market(fetch, push2.url, page_size=100)
    assert len(symbols) == SYMBOLS + len(STRIP)
    assert requests == sum(math.ceil(len(rows) / 40) for rows in UNIVERSE.values())


def test_the_cache_keeps_one_day_whole(tmp_path):
    cache = MarketCache(tmp_path)
    day, next_day = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    assert cache.load(day) is None
    cache.save(day, ["600000.SH", "00700.HK"])
    assert cache.load(day) == ["600000.SH", "00700.HK"] and cache.load(next_day) is None
    cache.save(next_day, ["600000.SH"])
    assert [p.name for p in tmp_path.iterdir()] == ["eastmoney-2026-03-03.json"]  # yesterday's removed
    cache.path(next_day).write_text('{"symbols": ["600000.SH"', encoding="utf-8")  # torn by a crash elsewhere
    assert cache.load(next_day) is None  # listed again rather than trusted


@pytest.mark.parametrize("cached", [False, True])
async def test_a_bridge_polls_the_whole_market_and_lists_it_once_a_day(tmp_path, cached):
    if cached:  # a list made earlier today: no listing request at all
        MarketCache(tmp_path).save(market_today(), [f"{c}.SH" for _, c in UNIVERSE[FILTERS["A-shares"]][:150]])
    with Push2() as push2:
        server = BridgeServer("eastmoney", ["300750.SZ"], interval=0.05, base_url=push2.url, poll_options=FAST,
                              whole_market=True, market_cache=tmp_path)  # fmt: skip
        await server.start()
        engine = Engine(server.url)
        task = asyncio.create_task(engine.run())
        # The fake quotes no HK index; it does answer the HKD/CNY rate East Money's bridge asks for.
        a_share_indices = sum(1 for s in STRIP if not s.endswith(".HK")) + len(FX_RATES)
        # + the watchlist's 300750.SZ; the strip's indices are polled whatever the list says
        want = 150 + a_share_indices + 1 if cached else SYMBOLS + a_share_indices + 1
        try:
            await wait_for(lambda: engine.store.frame.height >= want, timeout=20)
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    assert engine.store.frame.height == want
    assert "300750.SZ" in server.poller.symbols and engine.store.quote("300750.SZ") is not None
    if cached:
        assert push2.lists() == []
    else:
        assert len(push2.lists()) == sum(math.ceil(len(rows) / 100) for rows in UNIVERSE.values())
        assert MarketCache(tmp_path).load(market_today()) == server.poller.market_symbols
    # Quotes: batches of 200 secids per ulist request, the strip's HK indices included.
    quote_requests = [r for r in push2.requests if r.startswith("/api/qt/ulist.np/get")]
    per_round = math.ceil(len(server.poller.symbols) / 200)
    assert len(quote_requests) >= per_round


async def test_a_market_that_cannot_be_listed_is_a_source_down(tmp_path, monkeypatch):
    with Push2() as push2:
        monkeypatch.setitem(market.FILTERS, "A-shares", "m:9 t:99")  # a filter the server does not know: empty
        server = BridgeServer("eastmoney", [], interval=0.05, base_url=push2.url + "/nowhere", poll_options=FAST,
                              whole_market=True, list_base_url="http://127.0.0.1:9")  # fmt: skip
        await server.start()
        engine = Engine(server.url)
        task = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: engine.store.source is not None, timeout=10)
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    assert engine.store.source.state == "down" and "127.0.0.1:9" in engine.store.source.detail


def test_watch_source_all_is_the_whole_market_and_caches_its_list(tmp_path, monkeypatch, capsys):
    from marketmon.cli.main import main
    from marketmon.config import paths

    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    with Push2() as push2:
        code = main(["watch", "--source", "eastmoney", "--all", "--base-url", push2.url, "--interval", "1", "--budget", "100000",
                     "--duration", "3", "--json"])  # fmt: skip
    out, _err = capsys.readouterr()
    assert code == 0
    end = json.loads(out.splitlines()[-1])
    a_share_indices = sum(1 for s in STRIP if not s.endswith(".HK")) + len(FX_RATES)
    assert end["event"] == "end" and end["quotes"] == SYMBOLS + a_share_indices
    assert MarketCache(paths.market_lists_dir()).load(market_today()) is not None


def test_a_budget_too_small_for_the_market_polls_the_lists_every_round_and_the_rest_in_turns():
    from marketmon.serve.sources import get_source
    from marketmon.serve.sources.poll import Poller

    # East Money's 50 a minute at a 3 s interval: 2 requests a round, 200 symbols each.
    poller = Poller(get_source("eastmoney"), ["300750.SZ", "00700.HK"], None, interval=3.0,  # type: ignore[arg-type]
                    market=market.WholeMarket(None))  # fmt: skip
    poller.market_symbols = [f"600{i:03d}.SH" for i in range(1000)] + list(STRIP)
    poller.set_symbols(poller.extra)
    assert poller.budget.rate * poller.interval == 2.5
    seen: dict[str, int] = {}
    for n in range(1, 11):
        batches = poller.round_batches()
        assert len(batches) == 2  # what the budget allows, never more
        assert {"300750.SZ", "00700.HK", "000001.SH", "HSI.HK"} <= set(batches[0])  # the lists and the strip, each round
        for symbol in (s for b in batches for s in b):
            seen.setdefault(symbol, n)
    # 1,000 other symbols in batches of 200 (the first batch's spare room takes a few): all polled within 5 rounds.
    assert len(seen) == len(poller.symbols) and max(seen.values()) <= 6
    wide = Poller(get_source("eastmoney"), ["300750.SZ"], None, interval=3.0, budget=100_000)  # type: ignore[arg-type]
    wide.market_symbols = poller.market_symbols
    wide.set_symbols(["300750.SZ"])
    assert wide.round_batches() == wide._batches  # noqa: SLF001 (a budget that allows it: everything, every round)
