"""A live day from East Money, end to end: Southbound flow with its time, the
flow history marketmon keeps, the limit pools as quote fields, IOPV, faults,
and a failover when the first source's server dies. Against a local server
that answers like East Money (tests/fake_eastmoney.py) and like Tencent."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.engine import Engine
from marketmon.feed.protocol import Quote
from marketmon.serve.bridge import BridgeServer
from marketmon.serve.flow_record import FlowRecord
from marketmon.serve.sources import connect_flow, limit_pools
from marketmon.serve.sources.base import ParseError

from ..conftest import wait_for
from ..fake_eastmoney import INDEX_SECIDS, FakeEastMoney, FakeMarket
from .test_bridge import spied

SAMPLES = Path(__file__).parents[3] / "shared" / "samples" / "live"
# A local stand-in, not the public host: no request budget to keep to (test_bridge tests the budget).
FAST = {"backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 5.0, "budget": 100_000}
EXTRAS = {"flow_every": 0.1, "pools_every": 0.2, "budget": 100_000}  # the flow and pools, as often as the quotes


# The formats, from recorded answers ---------------------------------------------


def test_the_recorded_limit_up_pool_becomes_quote_fields():
    fields, skipped = limit_pools.parse_pool("up", (SAMPLES / "eastmoney-ztpool-20240923-page1.jsonp").read_bytes())
    assert skipped == [] and len(fields) == 20
    # 双成药业 002693: lbc 7 (seven boards counting today), sealed at 09:25:00 with 597,981,160 CNY, never opened.
    assert fields["002693.SZ"] == {"limit_days": 6, "first_seal": "09:25:00", "last_seal": "09:25:00",
                                   "seal_amount": 597981160.0, "board_opens": 0}  # fmt: skip
    assert fields["600130.SH"]["first_seal"] == "09:25:01"  # m 1: Shanghai
    for got in fields.values():  # every one is a valid protocol quote
        msgspec.convert({"symbol": "600000.SH", **got}, Quote)


def test_broken_and_limit_down_pools_read_their_own_fields():
    broken = {"rc": 0, "data": {"pool": [{"c": "300059", "m": 0, "n": "东方财富", "p": 24500, "ztp": 25500,
                                          "fbt": 93512, "zbc": 3, "zf": 9.1, "zs": -0.5}]}}  # fmt: skip
    fields, _ = limit_pools.parse_pool("broken", json.dumps(broken))
    assert fields == {"300059.SZ": {"first_seal": "09:35:12", "board_opens": 3, "seal_amount": 0.0}}
    down = {"rc": 0, "data": {"pool": [{"c": "603126", "m": 1, "n": "中材节能", "p": 8920, "lbt": 145209,
                                        "days": 2, "oc": 1, "fund": 12345678}]}}  # fmt: skip
    fields, _ = limit_pools.parse_pool("down", json.dumps(down))
    assert fields == {"603126.SH": {"limit_down_days": 1, "last_seal": "14:52:09", "seal_amount": 12345678.0,
                                    "board_opens": 1}}  # fmt: skip
    assert limit_pools.parse_pool("up", '{"rc":0,"data":null}') == ({}, [])  # a holiday: no pool


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
                    max_leaves=30),
       st.sampled_from(sorted(limit_pools.POOLS)))  # fmt: skip
def test_any_pool_answer_is_read_or_refused_in_words(doc, pool):
    body = json.dumps({"rc": 0, "data": {"pool": doc}} if not isinstance(doc, dict) else {"rc": 0, "data": doc})
    try:
        fields, _ = limit_pools.parse_pool(pool, body)
    except ParseError:
        return
    for symbol, got in fields.items():
        msgspec.convert({"symbol": symbol, **got}, Quote)  # never a field a client would refuse


def test_the_2026_kamt_answer_gives_each_channels_flow_in_cny():
    text = (SAMPLES / "eastmoney-kamt-get-southbound-2026-pydict.txt").read_text(encoding="utf-8")
    real = ast.literal_eval(text.split("=", 1)[1].split("\nrepo:")[0])  # a Python dict literal, as recorded
    channels, day = connect_flow.parse_flow(json.dumps({"rc": 0, "data": real}))
    assert day == "2026-09-21"
    assert channels["SH"] == {"net_buy_cny": 3096559400.0, "buy_cny": 30475858300.0, "sell_cny": 27379299000.0,
                              "quota_cny": 42e9}  # fmt: skip
    assert channels["SZ"]["net_buy_cny"] == pytest.approx(1052988200.0)
    # dayNetAmtIn (= the quota since 2024-08) and dayAmtRemain (0.0) are not read as flow or balance.
    assert all("quota_left_cny" not in c for c in channels.values())


def test_an_old_kamt_answer_without_buy_and_sell_gives_no_flow_rather_than_a_guess():
    channels, _ = connect_flow.parse_flow((SAMPLES / "eastmoney-kamt-get.json").read_bytes())
    assert channels == {}
    with pytest.raises(ParseError):
        connect_flow.parse_flow('{"rc":0,"data":{"hk2sh":1}}')


def test_the_flow_history_reads_n2s_days_and_skips_empty_ones():
    body = {"rc": 0, "data": {"n2s": ["2025-09-10,150000.00", "2025-09-11,-", "2025-09-09,NaN", "junk",
                                      "2025-09-08,-20000.5"]}}  # fmt: skip
    assert connect_flow.parse_history(json.dumps(body)) == [
        {"date": "2025-09-08", "net_buy_cny": -200005000.0}, {"date": "2025-09-10", "net_buy_cny": 1.5e9}]
    # The recorded answer is Northbound only (hk2sh, hk2sz, s2n): not taken for Southbound.
    with pytest.raises(ParseError):
        connect_flow.parse_history((SAMPLES / "eastmoney-kamt-kline-daily-2021.json").read_bytes())


def test_the_flow_record_keeps_days_whole_and_sets_a_torn_file_aside(tmp_path):
    path = tmp_path / "flow.json"
    record = FlowRecord(path)
    assert record.seed([{"date": "2025-09-10", "net_buy_cny": 1.0}, {"date": "2025-09-11", "net_buy_cny": 2.0}]) == 2
    record.record("2025-09-11", 5.0, "CNY")  # its own figure wins over a seed...
    assert record.seed([{"date": "2025-09-11", "net_buy_cny": 9.0}]) == 0  # ...and a later seed does not replace it
    record.save()
    again = FlowRecord(path)
    assert again.history("2025-09-12") == [{"date": "2025-09-10", "net_buy_cny": 1.0},
                                           {"date": "2025-09-11", "net_buy_cny": 5.0}]  # fmt: skip
    assert again.history("2025-09-11") == [{"date": "2025-09-10", "net_buy_cny": 1.0}]
    path.write_text('{"days": [{"date": "2025-09', encoding="utf-8")  # torn by a crash elsewhere
    torn = FlowRecord(path)
    assert torn.days == {} and "not a flow record" in torn.problem
    assert (tmp_path / "flow.unreadable.json").read_text(encoding="utf-8").startswith('{"days"')


# A bridge against the local East Money -----------------------------------------


async def run_engine(server: BridgeServer, until, timeout: float = 20.0) -> Engine:
    await server.start()
    engine = Engine(server.url)
    task = asyncio.create_task(engine.run())
    try:
        await wait_for(lambda: until(engine), timeout=timeout)
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
        await server.close()
    return engine


async def test_a_live_day_fills_flow_history_pools_and_iopv(tmp_path):
    market = FakeMarket(300)
    market.flow_date = "2025-09-11"  # an answer about an earlier day is as of its close
    with FakeEastMoney(market) as fake:
        server = BridgeServer("eastmoney", [], interval=0.1, base_url=fake.url, poll_options=FAST,
                              whole_market=True, market_cache=tmp_path, flow_record=tmp_path / "flow.json",
                              extras_options=EXTRAS)  # fmt: skip
        sealed = market.sealed[1]

        def filled(engine: Engine) -> bool:
            store = engine.store
            return (store.flow.latest is not None and store.flow.history is not None
                    and (store.quote(sealed) or {}).get("seal_amount") is not None)  # fmt: skip

        engine = await run_engine(server, filled)
    store = engine.store
    sh = store.flow.latest["southbound"]["SH"]
    assert sh["net_buy_cny"] == pytest.approx(sh["buy_cny"] - sh["sell_cny"]) and "net_buy_hkd" not in sh
    assert store.flow.latest["ts"] == 1757578200000  # 2025-09-11 16:10 in Shanghai: the figures' own time
    assert len(store.flow.history) == 30 and all("net_buy_cny" in d for d in store.flow.history)
    row = store.quote(sealed)
    assert (row["limit_days"], row["first_seal"], row["seal_amount"], row["board_opens"]) == (1, "09:31:00", 51e6, 1)
    assert (store.quote(market.down[0]) or {}).get("limit_down_days") == 0
    etf = next(s for s, i in market.insts.items() if i.kind == "etf")
    assert store.quote(etf)["iopv"] is not None
    assert store.quote("000001.SH")["last"] and store.quote("HSI.HK")["last"]
    saved = json.loads((tmp_path / "flow.json").read_text(encoding="utf-8"))["days"]
    # The source's own figure is kept beside the 30 seeded days, on the day it belongs to.
    total = sum(c["net_buy_cny"] for c in store.flow.latest["southbound"].values())
    assert len(saved) == 31 and {"date": "2025-09-11", "net_buy_cny": pytest.approx(total)} in saved


@pytest.mark.parametrize("fault", ["403", "429", "html", "truncated"])
async def test_a_fault_is_a_source_down_with_its_reason_then_up(tmp_path, fault):
    market = FakeMarket(60)
    with FakeEastMoney(market) as fake:
        server = BridgeServer("eastmoney", [], interval=0.1, base_url=fake.url, poll_options=FAST,
                              whole_market=True, market_cache=tmp_path)  # fmt: skip
        published = spied(server)
        market.faults = [fault, fault]
        engine = await run_engine(server, lambda e: e.store.source is not None and e.store.source.state == "up"
                                  and not market.faults and e.store.frame.height > 60)  # fmt: skip
    health = [(b["state"], b.get("detail", "")) for b in published if b["type"] == "source"]
    reason = {"403": "HTTP 403", "429": "HTTP 429", "html": "unreadable answer", "truncated": "unreadable answer"}
    downs = [detail for state, detail in health if state == "down"]  # (the listing's pages answered: up first)
    assert downs and reason[fault] in downs[0]
    assert health[-1][0] == "up" and engine.store.source.state == "up"


async def test_an_answer_that_stops_changing_in_trading_hours_is_a_failure(tmp_path, monkeypatch):
    from marketmon.serve.sources import poll

    monkeypatch.setattr(poll, "phase", lambda market, ts: "continuous")
    market = FakeMarket(60)
    market.faults = ["frozen"]
    with FakeEastMoney(market) as fake:
        server = BridgeServer("eastmoney", [], interval=0.1, base_url=fake.url, whole_market=True,
                              market_cache=tmp_path, poll_options={**FAST, "stale_after": 0.5})  # fmt: skip
        published = spied(server)
        await run_engine(server, lambda e: any(b["type"] == "source" and b["state"] == "down" for b in published))
    down = [b for b in published if b["type"] == "source" and b["state"] == "down"]
    assert "nothing changed for 0.5 s of trading" in down[0]["detail"]


@pytest.mark.parametrize("fault", ["gone", "403", "html", "truncated"])
async def test_the_first_source_dies_and_the_second_takes_over_with_no_lost_state(tmp_path, fault):
    market = FakeMarket(120)
    first, second = FakeEastMoney(market), FakeEastMoney(market)
    with second, first:
        server = BridgeServer("eastmoney,tencent", [], interval=0.1, fail_after=2, poll_options=FAST,
                              whole_market=True, market_cache=tmp_path, extras_options=EXTRAS,
                              base_urls={"eastmoney": first.url, "tencent": second.url})  # fmt: skip
        published = spied(server)
        await server.start()
        engine = Engine(server.url)
        task = asyncio.create_task(engine.run())
        sealed = market.sealed[0]
        try:
            await wait_for(lambda: (engine.store.quote(sealed) or {}).get("seal_amount") is not None, timeout=20)
            before = engine.store.frame.height
            if fault == "gone":
                first.close()  # the first source's server is gone: connection refused from now on
            else:  # East Money's quote answers turn bad for good (an error page, a ban, a cut answer)
                market.fault_paths = ("/api/qt/ulist.np/get",)
                market.faults = [fault] * 10_000
            stock = next(s for s in market.insts if s not in market.sealed + market.down + market.broken
                         and not s.endswith(".HK") and market.insts[s].kind == "stock")  # fmt: skip

            def tencent_live() -> bool:  # the fake Tencent answers one tick above East Money
                got = (engine.store.quote(stock) or {}).get("last")
                return engine.store.source is not None and engine.store.source.name == "tencent" and got is not None \
                    and abs(got - float(market.last(stock)) - 0.01) < 1e-9

            await wait_for(tencent_live, timeout=20)
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    stats = engine.client.stats
    assert (stats.reconnects, stats.resyncs, stats.bad_messages) == (0, 0, 0)  # one unbroken stream
    assert engine.store.frame.height == before  # nothing lost: every instrument still there
    kept = engine.store.quote(sealed)
    assert kept["seal_amount"] is not None and kept["limit_days"] == 0  # the pools' fields survive the failover
    health = [(b["name"], b["state"], b.get("detail", "")) for b in published if b["type"] == "source"]
    assert health[-1][:2] == ("tencent", "up") and "took over from eastmoney" in health[-1][2]


async def test_the_lists_are_quoted_while_the_market_is_still_being_listed(tmp_path, monkeypatch):
    from marketmon.serve.sources import poll

    monkeypatch.setattr(poll, "PROGRESS_EVERY_S", 0.3)
    market = FakeMarket(300)
    market.list_delay = 0.4  # ~8 pages: the listing takes seconds, as East Money's ~90 pages at 50 a minute do
    watched = market.sealed[0]
    with FakeEastMoney(market) as fake:
        server = BridgeServer("eastmoney", [watched], interval=0.1, base_url=fake.url, poll_options=FAST,
                              whole_market=True, market_cache=tmp_path)  # fmt: skip
        published = spied(server)
        await server.start()
        engine = Engine(server.url)
        task = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: engine.store.quote(watched) is not None, timeout=20)
            early = engine.store.frame.height
            await wait_for(lambda: engine.store.frame.height > 300, timeout=30)
            await wait_for(lambda: engine.store.source is not None and engine.store.source.detail == "", timeout=30)
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
            await server.close()
    assert early < 20  # the list's symbol (and the strip) first...
    assert engine.store.frame.height == len(market.insts) + len(INDEX_SECIDS) + 1  # ...then the whole market and the rate
    # Every client is told how far the first pass is, then that it is done (an "up" that says nothing more).
    told = [b.get("detail", "") for b in published if b["type"] == "source"]
    assert told[0].startswith("listing the market: ") and told[0].endswith(" so far")
    assert len([d for d in told if d.startswith("listing")]) >= 2  # it moves on while listing
    assert told[-1] == "" and engine.store.source.detail == ""


def test_watch_source_all_json_prints_the_market_the_flow_and_limit_events(tmp_path, monkeypatch, capsys):
    from marketmon.cli.main import main

    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    market = FakeMarket(200)
    with FakeEastMoney(market) as fake:
        code = main(["watch", "--source", "eastmoney", "--all", "--base-url", fake.url, "--interval", "1",
                     "--budget", "100000", "--duration", "5", "--json"])  # fmt: skip
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    quotes = {e["symbol"]: e for e in events if e["event"] == "quote"}
    assert len(quotes) == len(market.insts) + len(INDEX_SECIDS) + 1  # the whole served market, the HKD/CNY rate too
    flow = next(e for e in events if e["event"] == "flow")
    assert flow["ts"] and flow["southbound"]["SH"]["net_buy_cny"] > 0
    limit_ups = {e["symbol"] for e in events if e["event"] == "alert" and e["rule"] == "limit_up"}
    assert limit_ups >= set(market.sealed)  # every sealed limit-up, none of them on a list
    sealed = quotes[market.sealed[2]]
    assert (sealed["limit_state"], sealed["limit_days"], sealed["first_seal"]) == ("up", 2, "09:32:00")
    assert (tmp_path / "data" / "southbound-flow.json").exists()  # the day kept for tomorrow's history


def test_the_hkd_cny_rate_is_a_quote_from_tencent_and_east_money():
    from marketmon.serve.sources import eastmoney, tencent

    # The line as a public client's test records it (docs/sources.md).
    line = 'v_whHKDCNY="310~HKD/CNY~HKDCNY~0.8569~0~20260820152723";'.encode("gbk")
    assert tencent.code_of("HKDCNY.FX") == "whHKDCNY"
    (rate,) = tencent.parse(line).quotes
    assert (rate["symbol"], rate["last"], rate["name"]) == ("HKDCNY.FX", 0.8569, "HKD/CNY")
    assert eastmoney.code_of("HKDCNY.FX") == "120.HKDCNYC"
    item = {"f1": 4, "f2": 9131, "f12": "HKDCNYC", "f13": 120, "f14": "HKD/CNY", "f18": 9128, "f124": 1757640600}
    (rate,) = eastmoney.parse(json.dumps({"rc": 0, "data": {"diff": [item]}})).quotes
    assert (rate["symbol"], rate["last"], rate["prev_close"]) == ("HKDCNY.FX", 0.9131, 0.9128)
    assert "suspended" not in rate  # a rate is not a security that trades or halts


async def test_the_ah_pairs_east_money_lists_reach_the_screen_with_the_rate(tmp_path):
    from marketmon.market import ah_pairs

    market = FakeMarket(300)
    listed = market.ah_pairs()
    with FakeEastMoney(market) as fake:
        server = BridgeServer("eastmoney", [], interval=0.1, base_url=fake.url, poll_options=FAST,
                              whole_market=True, market_cache=tmp_path, extras_options=EXTRAS)  # fmt: skip
        engine = await run_engine(server, lambda e: len(e.store.listed_pairs()) == len(listed)
                                  and e.store.quote("HKDCNY.FX") is not None)  # fmt: skip
    store = engine.store
    assert {(a, h) for a, h, _ in store.listed_pairs()} == set(listed)
    known = ah_pairs.with_listed(store.listed_pairs())
    assert set(listed) <= {(p.a, p.h) for p in known} and ("688981.SH", "00981.HK") in {(p.a, p.h) for p in known}
    prices = dict(store.rows_of({s for p in known for s in (p.a, p.h)}, ("symbol", "last")).iter_rows())
    shown = ah_pairs.premiums(prices, store.quote("HKDCNY.FX")["last"], known)
    assert {p.pair.a for p in shown} == {a for a, _ in listed}  # the listed pairs, priced with the live rate


def test_a_pair_row_that_is_not_an_a_and_an_h_share_is_skipped():
    from marketmon.serve.sources import ah_list

    body = {"rc": 0, "data": {"total": 3, "diff": [
        {"f12": "00981", "f191": "688981", "f193": "中芯国际"},
        {"f12": "00700", "f191": "00700", "f193": "not an A share"},
        {"f12": None, "f191": "600000"},
    ]}}  # fmt: skip
    pairs, total, skipped = ah_list.parse_page(json.dumps(body))
    assert pairs == [("688981.SH", "00981.HK", "中芯国际")] and total == 3 and len(skipped) == 2


def test_watch_fails_over_between_two_servers_named_per_source(tmp_path, monkeypatch, capsys):
    import threading

    from marketmon.cli.main import main

    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    market = FakeMarket(150)
    first, second = FakeEastMoney(market), FakeEastMoney(market)
    with second, first:
        threading.Timer(5.0, first.close).start()  # East Money's server goes away mid-run
        code = main(["watch", "--source", "eastmoney,tencent", "--all", "--base-url", f"eastmoney={first.url}",
                     "--base-url", f"tencent={second.url}", "--interval", "1", "--budget", "100000",
                     "--duration", "25", "--json"])  # fmt: skip
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    feed = [(e["state"], e.get("detail", "")) for e in events if e["event"] == "feed"]
    assert any(state == "source" and "tencent up" in detail and "took over from eastmoney" in detail
               for state, detail in feed), feed
    quotes = {e["symbol"]: e for e in events if e["event"] == "quote"}
    assert len(quotes) == len(market.insts) + len(INDEX_SECIDS) + 1  # nothing lost in the failover
    sources = [detail for state, detail in feed if state == "source"]
    assert "tencent up" in sources[-1]  # and Tencent stayed live to the end


def test_base_url_options_name_a_source_or_all_of_them():
    import argparse

    from marketmon.cli.bridge import base_url_arg, base_url_options
    from marketmon.cli.exit_codes import UsageError

    assert base_url_arg("http://127.0.0.1:8765/") == (None, "http://127.0.0.1:8765")
    assert base_url_arg("Tencent=http://h:1/q?a=b") == ("tencent", "http://h:1/q?a=b")
    for bad in ("yahoo=http://h", "h:8765", "eastmoney=ftp://h"):
        with pytest.raises(argparse.ArgumentTypeError):
            base_url_arg(bad)
    assert base_url_options([(None, "http://a"), ("tencent", "http://b")]) == {
        "base_url": "http://a", "base_urls": {"tencent": "http://b"}}
    with pytest.raises(UsageError):
        base_url_options([(None, "http://a"), (None, "http://b")])
