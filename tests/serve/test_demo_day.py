"""The bundled seed day (2025-09-12): shape, exchange rules, and GUIDE section 2 at the close.

Expected figures are written out here from the GUIDE, not read from the module's
ACCEPTANCE table, and percentages are computed from the replayed quotes.
"""

from __future__ import annotations

import re

import json
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from marketmon.feed import protocol
from marketmon.market import rules
from marketmon.serve import demo_day
from marketmon.serve.demo_day import ACCEPTANCE, FX_SYMBOL, INSTRUMENTS, SEED_DAY, SeedDay
from marketmon.serve.script import Event

CST = timezone(timedelta(hours=8))


def ms(hhmm: str) -> int:
    h, m, *s = (int(x) for x in hhmm.split(":"))
    return int(datetime(2025, 9, 12, h, m, s[0] if s else 0, tzinfo=CST).timestamp() * 1000)


def D(x: float) -> Decimal:
    return Decimal(repr(x))


def pct(price: float, prev: float) -> Decimal:
    """Percent change as a screen shows it: half up to 2 decimals."""
    return ((D(price) - D(prev)) / D(prev) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def limit(prev: float, band: int, tick: str = "0.01", up: bool = True) -> float:
    p = D(prev) * (1 + (Decimal(band) if up else -Decimal(band)) / 100)
    return float(p.quantize(Decimal(tick), ROUND_HALF_UP))


# HKEX spread table, written out independently of the module: (up to, tick).
HK_SPREADS = [("0.25", "0.001"), ("0.5", "0.005"), ("10", "0.01"), ("20", "0.02"), ("100", "0.05"),
              ("200", "0.1"), ("500", "0.2"), ("1000", "0.5"), ("2000", "1"), ("5000", "2"), ("9995", "5")]


def valid_price(q: dict[str, Any], price: float) -> bool:
    p = D(price)
    if q["kind"] == "index":
        tick = Decimal("0.01")
    elif q["symbol"].endswith(".HK"):
        tick = next(Decimal(t) for top, t in HK_SPREADS if p <= Decimal(top))
    else:
        tick = Decimal("0.001") if q["kind"] == "etf" else Decimal("0.01")
    return p % tick == 0


def a_share_band(q: dict[str, Any]) -> int | None:
    sym = q["symbol"]
    if sym.endswith(".HK") or q["kind"] == "index":
        return None
    if sym.endswith(".BJ"):
        return 30
    if sym.startswith(("688", "689", "300", "301", "302", "588", "589")):
        return 20
    return 5 if q.get("st") else 10


PRICE_FIELDS = ("prev_close", "open", "high", "low", "last", "bid", "ask")
TRACED = ("688521.SH", "603019.SH", "603880.SH", "002602.SZ", "513770.SH", "520880.SH", "HSI.HK", "920118.BJ")


@dataclass
class Replay:
    """One pass over the day: the merged state plus everything the tests look at."""

    events: list[tuple[int, str]] = field(default_factory=list)  # (ts, type)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    trace: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)  # (ts, merged quote)
    problems: list[str] = field(default_factory=list)
    last_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    flows: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, Any] | None = None
    quote_updates: int = 0
    seconds: float = 0.0

    def check_quote(self, ts: int, partial: dict[str, Any], q: dict[str, Any]) -> None:
        sym = q["symbol"]
        if partial.get("ts") != ts:
            self.problems.append(f"{sym}: quote ts {partial.get('ts')} != event ts {ts}")
        if sym == FX_SYMBOL:
            return  # a rate, not a security: test_demo_board.py checks it
        for f in PRICE_FIELDS:
            v = partial.get(f)
            if v is not None and v != 0 and not valid_price(q, v):
                self.problems.append(f"{sym}: {f}={v} off the tick")
        for f in ("open", "last"):
            if f in partial and not (q["low"] <= q[f] <= q["high"]):
                self.problems.append(f"{sym}: {f}={q[f]} outside [{q['low']}, {q['high']}]")
        if "last" in partial:
            lo, hi = self.last_range.get(sym, (q["last"], q["last"]))
            self.last_range[sym] = (min(lo, q["last"]), max(hi, q["last"]))
        band = a_share_band(q)
        if band is not None:
            tick = "0.001" if q["kind"] == "etf" else "0.01"
            up, down = limit(q["prev_close"], band, tick), limit(q["prev_close"], band, tick, up=False)
            for f in ("last", "high", "low", "bid", "ask"):
                v = partial.get(f)
                if v and not (down <= v <= up):
                    self.problems.append(f"{sym}: {f}={v} outside the limits [{down}, {up}]")
        for side, best, worse in (("bids", "bid", -1), ("asks", "ask", 1)):  # the five levels
            levels = partial.get(side)
            if levels is None:
                continue
            prices = [p for p, _ in levels]
            if len(levels) > 5 or any(b * worse <= a * worse for a, b in zip(prices, prices[1:])):
                self.problems.append(f"{sym}: {side} {levels} not best first")
            if any(not valid_price(q, p) or size <= 0 for p, size in levels):
                self.problems.append(f"{sym}: {side} {levels} off the tick or empty")
            if band is not None and any(not down <= p <= up for p in prices):
                self.problems.append(f"{sym}: {side} {levels} outside the limits")
            if best in partial and prices[:1] != ([partial[best]] if partial[best] else []):
                self.problems.append(f"{sym}: {side} {levels} does not start at {best} {partial[best]}")
        if ("volume" in partial or "last" in partial) and ts != ms("09:00"):
            hhmm = datetime.fromtimestamp(ts / 1000, CST).strftime("%H:%M:%S")
            if sym.endswith(".HK"):
                ok = hhmm == "09:20:00" or "09:30:00" <= hhmm < "12:00:00" or "13:00:00" <= hhmm < "16:00:00" \
                    or "16:08:00" <= hhmm < "16:10:00"
            else:
                ok = hhmm == "09:25:00" or "09:30:00" <= hhmm < "11:30:00" or "13:00:00" <= hhmm <= "15:00:00"
                if q["kind"] != "etf" or sym.endswith(".SZ"):  # SSE ETFs trade on through the closing call
                    ok = ok and not ("14:57:00" <= hhmm < "15:00:00")
            if not ok:
                self.problems.append(f"{sym}: trade at {hhmm}")
        if "volume" in partial and sym.endswith((".SH", ".SZ", ".BJ")) and q["kind"] != "index":
            if partial["volume"] % 100:
                self.problems.append(f"{sym}: volume {partial['volume']} not in round lots")

    def feed(self, ev: Event) -> None:
        body = ev.body
        self.events.append((ev.ts, body["type"]))
        if body["type"] == "quotes":
            for partial in body["quotes"]:
                self.quote_updates += 1
                q = self.state.setdefault(partial["symbol"], {})
                before_v, before_t = q.get("volume", 0), q.get("turnover", 0.0)
                q.update(partial)
                if q["volume"] < before_v or q["turnover"] < before_t:
                    self.problems.append(f"{q['symbol']}: volume/turnover went down")
                self.check_quote(ev.ts, partial, q)
                if q["symbol"] in TRACED:
                    self.trace.setdefault(q["symbol"], []).append((ev.ts, dict(q, _changed=tuple(partial))))
        elif body["type"] == "flow":
            self.flows.append(body)
        elif body["type"] == "status":
            self.statuses.append(body)
        elif body["type"] == "flow_history":
            self.history = body


@pytest.fixture(scope="module")
def day() -> Replay:
    replay = Replay()
    t0 = time.perf_counter()
    for ev in SEED_DAY.events():
        replay.feed(ev)
    replay.seconds = time.perf_counter() - t0
    return replay


def close(day: Replay, sym: str) -> dict[str, Any]:
    return day.state[sym]


def close_pct(day: Replay, sym: str) -> Decimal:
    q = day.state[sym]
    return pct(q["last"], q["prev_close"])


def high_pct(day: Replay, sym: str) -> Decimal:
    q = day.state[sym]
    return pct(q["high"], q["prev_close"])


# --- shape of the script ---------------------------------------------------------------------


def test_script_protocol_fields() -> None:
    assert SEED_DAY.trade_date == "2025-09-12"
    assert SEED_DAY.tz == "Asia/Shanghai"
    assert isinstance(SEED_DAY, SeedDay)


def test_deterministic_restartable_and_leaves_global_random_alone() -> None:
    random.seed(7)
    before = random.getstate()
    # Two runs of the same script consumed in lockstep: each call restarts, and no state is
    # shared between runs (nor taken from the clock or the global random generator).
    a, b = SEED_DAY.events(), SEED_DAY.events()
    for n, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x == y, n
    assert random.getstate() == before


def test_events_time_ordered_inside_the_day(day: Replay) -> None:
    stamps = [ts for ts, _ in day.events]
    assert stamps == sorted(stamps)
    assert stamps[0] == ms("09:00")
    assert ms("16:10") <= stamps[-1] <= ms("16:11")
    assert all(ms("09:00") <= ts <= ms("16:11") for ts in stamps)
    assert day.events[0][1] == "quotes" and day.events[1][1] == "flow_history"
    # At most one quotes event per 3-second step, on the 3-second grid.
    quote_ts = [ts for ts, kind in day.events if kind == "quotes"]
    assert len(quote_ts) == len(set(quote_ts))
    assert all((ts - ms("09:00")) % 3000 == 0 for ts in quote_ts)


def test_first_event_carries_every_instrument_in_full() -> None:
    first = next(iter(SEED_DAY.events()))
    quotes = first.body["quotes"]
    assert first.body["type"] == "quotes" and first.ts == ms("09:00")
    assert [q["symbol"] for q in quotes] == [*(i.symbol for i in INSTRUMENTS), FX_SYMBOL]  # the rate comes last
    for q in quotes:
        for f in ("symbol", "name", "currency", "prev_close", "volume", "turnover", "ts", *(("kind",) if q["symbol"] != FX_SYMBOL else ())):
            assert f in q, (q["symbol"], f)
        assert q["volume"] == 0 and q["turnover"] == 0
        assert "last" not in q  # nothing has traded before the open
        if q.get("kind") == "etf":
            assert "iopv" in q
        if q.get("kind") == "stock" and not q["symbol"].endswith(".HK"):
            assert "st" in q


def test_universe(day: Replay) -> None:
    syms = set(day.state)
    assert 60 <= len(syms) <= 80
    indices = {"000001.SH", "399001.SZ", "399006.SZ", "000688.SH", "000300.SH", "HSI.HK", "HSTECH.HK",
               "399106.SZ", "899050.BJ"}
    guide = {"589520.SH", "688521.SH", "688256.SH", "688327.SH", "688107.SH", "688208.SH", "09988.HK",
             "00700.HK", "01024.HK", "09626.HK", "01810.HK", "513770.SH", "159876.SZ", "159707.SZ",
             "562050.SH", "520880.SH", "03690.HK"}
    assert indices | guide <= syms
    assert {s for s, q in day.state.items() if q.get("kind") == "index"} == indices
    assert day.state["002602.SZ"]["st"] is True and day.state["002602.SZ"]["name"] == "ST 华通"
    for q in day.state.values():
        assert q["currency"] == ("HKD" if q["symbol"].endswith(".HK") else "CNY")


def test_every_quote_on_the_tick_inside_its_range_and_limits(day: Replay) -> None:
    assert day.problems == []
    for sym, (lo, hi) in day.last_range.items():
        q = day.state[sym]
        assert (q["low"], q["high"]) == (lo, hi), sym  # high/low are exactly what traded


def test_every_event_is_a_valid_protocol_message() -> None:
    for seq, ev in enumerate(SEED_DAY.events(), 1):
        msg = protocol.decode_server(json.dumps({"seq": seq, **ev.body}))
        assert msg is not None and msg.seq == seq


def test_the_day_has_a_realistic_number_of_updates(day: Replay) -> None:
    # Generation time is measured in bench/, not asserted here.
    assert 100_000 < day.quote_updates < 400_000


# --- GUIDE section 2 at the close ------------------------------------------------------------


def test_sse_composite_and_chinext(day: Replay) -> None:
    assert close_pct(day, "000001.SH") == Decimal("-0.12")
    assert close(day, "000001.SH")["high"] > close(day, "000001.SH")["prev_close"]  # after intraday highs
    assert close_pct(day, "399006.SZ") == Decimal("-1.00")


def test_a_share_turnover_is_2_55_trillion(day: Replay) -> None:
    total = sum(close(day, s)["turnover"] for s in ("000001.SH", "399106.SZ", "899050.BJ"))
    assert total == 2.55e12


def test_ai_etf(day: Replay) -> None:
    assert high_pct(day, "589520.SH") == Decimal("3.78")
    assert close_pct(day, "589520.SH") == Decimal("2.47")
    assert close(day, "589520.SH")["turnover"] == 63_510_000


def test_verisilicon_sealed_at_the_star_limit_from_the_afternoon(day: Replay) -> None:
    q = close(day, "688521.SH")
    up = limit(q["prev_close"], 20)
    assert q["last"] == up == 154.39
    assert q["bid"] == up and q["ask"] == 0 and q["ask_size"] == 0 and q["bid_size"] >= 100_000
    trace = day.trace["688521.SH"]
    first = next(ts for ts, s in trace if s.get("last") == up)
    assert first >= ms("13:00")
    assert all(s["last"] == up and s["ask"] == 0 for ts, s in trace if ts >= first)


def test_cambricon_tops_a_share_turnover(day: Replay) -> None:
    assert close_pct(day, "688256.SH") > 7
    assert close(day, "688256.SH")["turnover"] == 28_695_000_000
    a_shares = [q for s, q in day.state.items() if q.get("kind") == "stock" and not s.endswith(".HK")]
    assert max(a_shares, key=lambda q: q["turnover"])["symbol"] == "688256.SH"


def test_ai_constituents(day: Replay) -> None:
    assert close_pct(day, "688327.SH") > 3
    assert close_pct(day, "688107.SH") > 0
    assert close_pct(day, "688208.SH") > 0


def test_hang_seng_closes_at_its_high(day: Replay) -> None:
    q = close(day, "HSI.HK")
    assert close_pct(day, "HSI.HK") > 1
    assert q["last"] >= q["high"] * (1 - 0.0005)


def test_hk_tech(day: Replay) -> None:
    assert high_pct(day, "09988.HK") == Decimal("6.00")
    assert close_pct(day, "09988.HK") == Decimal("5.40")
    for sym in ("00700.HK", "01024.HK", "09626.HK"):
        assert close_pct(day, sym) > 2, sym
    assert Decimal("0.8") <= close_pct(day, "01810.HK") <= Decimal("0.99")


def test_hk_internet_etf(day: Replay) -> None:
    prev = close(day, "513770.SH")["prev_close"]
    first_hour_high = max(s["high"] for ts, s in day.trace["513770.SH"] if ts <= ms("10:30") and "high" in s)
    assert pct(first_hour_high, prev) > 2
    assert close_pct(day, "513770.SH") == Decimal("1.13")
    assert close(day, "513770.SH")["turnover"] == 606_000_000


def test_commodity_real_estate_and_drug_etfs(day: Replay) -> None:
    assert high_pct(day, "159876.SZ") > 3
    assert close_pct(day, "159876.SZ") == Decimal("2.29")
    assert close_pct(day, "159707.SZ") > 1
    assert high_pct(day, "562050.SH") > 1
    assert high_pct(day, "520880.SH") > 1


def test_innovative_drug_etf_at_a_premium_all_session(day: Replay) -> None:
    trace = day.trace["520880.SH"]
    assert trace[0][1]["iopv"] < trace[0][1]["prev_close"]  # yesterday's IOPV, yesterday's premium
    updates = [s for ts, s in trace if ts > ms("09:00") and "iopv" in s["_changed"]]
    assert len(updates) > 500  # about every 15 s from 09:30 to 15:00
    assert all(s["last"] > s["iopv"] for s in updates)


def test_acceptance_table_matches_the_replay(day: Replay) -> None:
    for sym, figures in ACCEPTANCE.items():
        for key, want in figures.items():
            if key == "close_pct":
                assert close_pct(day, sym) == D(want).quantize(Decimal("0.01")), sym
            elif key == "high_pct":
                assert high_pct(day, sym) == D(want).quantize(Decimal("0.01")), sym
            elif key == "turnover":
                assert close(day, sym)["turnover"] == want, sym
            elif key == "close_pct_above":
                assert close_pct(day, sym) > D(want), sym
            elif key == "close_pct_below":
                assert close_pct(day, sym) < D(want), sym
            elif key == "high_pct_above":
                assert high_pct(day, sym) > D(want), sym


# --- exchange rules on the day ---------------------------------------------------------------


def test_sugon_seals_then_breaks(day: Replay) -> None:
    trace = day.trace["603019.SH"]
    up = limit(trace[0][1]["prev_close"], 10)
    assert up == 85.17
    sealed = [ts for ts, s in trace if s.get("last") == up and s["bid"] == up and s["ask"] == 0]
    assert sealed and min(sealed) < ms("11:30")
    broken = [ts for ts, s in trace if ts > max(sealed) and "last" in s and s["last"] < up]
    assert broken
    assert close(day, "603019.SH")["last"] < up


def test_limit_down_close(day: Replay) -> None:
    q = close(day, "603880.SH")
    down = limit(q["prev_close"], 10, up=False)
    assert q["last"] == q["low"] == down == 11.21
    assert q["bid"] == 0 and q["ask"] == down and q["ask_size"] > 0


def test_st_stock_touches_its_5_percent_band(day: Replay) -> None:
    q = close(day, "002602.SZ")
    assert q["st"] is True
    assert q["high"] == limit(q["prev_close"], 5) == 17.41
    assert q["last"] < q["high"]


def test_bse_stock_inside_30_percent(day: Replay) -> None:
    q = close(day, "920118.BJ")
    assert limit(q["prev_close"], 30, up=False) <= q["low"] <= q["high"] <= limit(q["prev_close"], 30)
    assert q["high"] > limit(q["prev_close"], 10)  # a move only the BSE band allows


def test_limits_agree_with_market_rules() -> None:
    checked = 0
    for inst in INSTRUMENTS:
        band = demo_day.limit_pct(inst)
        if band is None:
            continue
        tick = "0.001" if inst.kind == "etf" else "0.01"
        up, down = rules.limit_prices(inst.prev, band, tick)
        assert demo_day.limits(inst) == (int(up * 1000), int(down * 1000)), inst.symbol
        checked += 1
    assert checked > 30


# --- sessions ---------------------------------------------------------------------------------


def test_status_phases(day: Replay) -> None:
    by_market = {m: [(s["ts"], s["phase"]) for s in day.statuses if s["market"] == m] for m in ("CN", "HK")}
    assert by_market["CN"] == [
        (ms("09:00"), "pre_open"), (ms("09:15"), "call_auction"), (ms("09:25"), "pre_open"),
        (ms("09:30"), "continuous"), (ms("11:30"), "lunch_break"), (ms("13:00"), "continuous"),
        (ms("14:57"), "closing_auction"), (ms("15:00"), "closed"),
    ]
    assert by_market["HK"] == [
        (ms("09:00"), "call_auction"), (ms("09:30"), "continuous"), (ms("12:00"), "lunch_break"),
        (ms("13:00"), "continuous"), (ms("16:00"), "closing_auction"), (ms("16:10"), "closed"),
    ]


def test_opens_print_at_the_auctions(day: Replay) -> None:
    vs = day.trace["688521.SH"]
    first_trade = next(ts for ts, s in vs if "last" in s)
    assert first_trade == ms("09:25")
    hsi = day.trace["HSI.HK"]
    assert next(ts for ts, s in hsi if "last" in s) == ms("09:20")


# --- Southbound -------------------------------------------------------------------------------


def test_southbound_flow_every_minute(day: Replay) -> None:
    assert [f["ts"] for f in day.flows] == list(range(ms("09:30"), ms("16:10") + 1, 60_000))
    prev: dict[str, tuple[float, float]] = {}
    for f in day.flows:
        for ch in ("SH", "SZ"):
            c = f["southbound"][ch]
            assert c["net_buy_hkd"] == c["buy_hkd"] - c["sell_hkd"]
            assert c["quota_cny"] == 42e9
            assert abs(c["quota_left_cny"] - (42e9 - (c["buy_hkd"] - c["sell_hkd"]) * 0.9128)) <= 1
            b, s = prev.get(ch, (0.0, 0.0))
            assert c["buy_hkd"] >= b and c["sell_hkd"] >= s
            prev[ch] = (c["buy_hkd"], c["sell_hkd"])
        nets = [t["net_buy_hkd"] for t in f["top"]]
        assert len(f["top"]) <= 10 and nets == sorted(nets, reverse=True)
    last = day.flows[-1]
    assert last["top"][0]["symbol"] == "09988.HK"
    total = sum(last["southbound"][ch]["net_buy_hkd"] for ch in ("SH", "SZ"))
    assert 10e9 <= total < 100e9


def test_southbound_history(day: Replay) -> None:
    days = day.history["days"]
    assert len(days) == 20
    dates = [date.fromisoformat(d["date"]) for d in days]
    assert dates == sorted(dates) and dates[-1] == date(2025, 9, 11) and dates[0] == date(2025, 8, 15)
    assert all(d.weekday() < 5 for d in dates)

    def net(d: dict, sym: str) -> float | None:
        return next((t["net_buy_hkd"] for t in d["top"] if t["symbol"] == sym), None)

    baba = [net(d, "09988.HK") for d in days]
    assert all(v is not None and v > 0 for v in baba[-15:])
    assert baba[-16] is None or baba[-16] <= 0  # the streak is exactly 15 sessions
    assert sum(baba[-15:]) > 37.1e9

    sums: dict[str, float] = {}
    for d in days:
        assert len(d["top"]) <= 10
        for t in d["top"]:
            sums[t["symbol"]] = sums.get(t["symbol"], 0.0) + t["net_buy_hkd"]
    leaders = sorted(sums, key=sums.get, reverse=True)[:3]
    assert leaders == ["09988.HK", "00700.HK", "03690.HK"]


def test_every_instrument_has_its_chinese_name_and_the_english_one_beside_it() -> None:
    from marketmon.serve.demo_day import FX_SYMBOL

    # every instrument; the HKD/CNY rate is named as Tencent names it ("HKD/CNY")
    first = {q["symbol"]: q for q in next(iter(SEED_DAY.events())).body["quotes"] if q["symbol"] != FX_SYMBOL}
    han = re.compile(r"[\u4e00-\u9fff]")
    assert all(han.search(q["name"]) for q in first.values()), [q["name"] for q in first.values() if not han.search(q["name"])]
    named = {s: (q["name"], q.get("name_en")) for s, q in first.items()}
    assert named["688521.SH"] == ("芯原股份", "VeriSilicon")
    assert named["600519.SH"] == ("贵州茅台", "Kweichow Moutai")
    assert named["688981.SH"] == ("中芯国际", "SMIC") and named["00981.HK"] == ("中芯国际", "SMIC")
    assert named["688256.SH"] == ("寒武纪", "Cambricon") and named["09988.HK"] == ("阿里巴巴-W", "BABA-W")
    assert named["002602.SZ"] == ("ST 华通", None)  # the Chinese-only names of the table keep no English one


def test_the_book_has_five_levels_where_it_trades(day: Replay) -> None:
    moutai, verisilicon = close(day, "600519.SH"), close(day, "688521.SH")
    assert len(moutai["bids"]) == len(moutai["asks"]) == 5
    assert verisilicon["asks"] == [] and verisilicon["bids"][0][0] == 154.39  # sealed at the limit
    assert "bids" not in close(day, "000001.SH")  # an index has no book
