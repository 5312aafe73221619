"""Acceptance: `marketmon watch --demo --all --speed 0 --json`, run as a user
would, prints the seed day's alerts and a closing table matching GUIDE section 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from marketmon.market.rules import is_st


@pytest.fixture(scope="module")
def demo_day() -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "marketmon", "watch", "--demo", "--all", "--speed", "0", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    return {
        "alerts": [e for e in lines if e["event"] == "alert"],
        "feed": [e for e in lines if e["event"] == "feed"],
        "quotes": {e["symbol"]: e for e in lines if e["event"] == "quote"},
        "flow": next(e for e in lines if e["event"] == "flow"),
        "breadth": next(e for e in lines if e["event"] == "breadth"),
        "end": lines[-1],
        "order": [e["event"] for e in lines],
    }


def pct(day: dict, symbol: str) -> float:
    return round(day["quotes"][symbol]["pct"], 2)


def high_pct(day: dict, symbol: str) -> float:
    q = day["quotes"][symbol]
    return round((q["high"] - q["prev_close"]) / q["prev_close"] * 100, 2)


def test_output_follows_the_protocol_order(demo_day):
    order = demo_day["order"]
    assert order[-1] == "end" and order[-2] == "flow"
    first_quote = order.index("quote")
    assert set(order[first_quote:-2]) == {"quote"} and order[first_quote - 1] == "breadth"
    assert demo_day["feed"][0]["state"] == "connected" and demo_day["feed"][-1]["state"] == "eof"
    end = demo_day["end"]
    assert end["quotes"] == len(demo_day["quotes"]) >= 60
    assert end["bad_messages"] == 0 and end["reconnects"] == 0 and end["messages"] > 5000


def test_verisilicon_seals_its_star_limit(demo_day):
    q = demo_day["quotes"]["688521.SH"]
    assert q["limit_state"] == "up" and pct(demo_day, "688521.SH") == 20.0
    assert q["last"] == q["limit_up"]
    hits = [a for a in demo_day["alerts"] if a["symbol"] == "688521.SH"]
    assert [a["rule"] for a in hits] == ["limit_up"]
    assert hits[0]["pct"] == 20.0 and hits[0]["price"] == q["limit_up"]


def test_the_day_has_a_broken_seal_a_limit_down_and_an_st_stock(demo_day):
    rules = {(a["symbol"], a["rule"]) for a in demo_day["alerts"]}
    broken = {s for s, r in rules if r == "limit_up_broken"}
    assert any((s, "limit_up") in rules for s in broken)
    assert any(q["limit_state"] == "down" for q in demo_day["quotes"].values())
    st = [q for q in demo_day["quotes"].values() if is_st(q["name"])]
    assert st and all(round((q["limit_up"] / q["prev_close"] - 1) * 100) == 5 for q in st)


def test_guide_section_2_figures_at_the_close(demo_day):
    d = demo_day
    sse = d["quotes"]["000001.SH"]
    assert pct(d, "000001.SH") == -0.12 and sse["high"] > sse["prev_close"]
    assert pct(d, "399006.SZ") == -1.0
    total = sum(d["quotes"][s]["turnover"] for s in ("000001.SH", "399106.SZ", "899050.BJ"))
    assert round(total / 1e12, 2) == 2.55
    assert high_pct(d, "589520.SH") == 3.78 and pct(d, "589520.SH") == 2.47
    assert d["quotes"]["589520.SH"]["turnover"] == 63_510_000
    cambricon = d["quotes"]["688256.SH"]
    assert pct(d, "688256.SH") > 7 and cambricon["turnover"] == 28_695_000_000
    a_shares = [q for s, q in d["quotes"].items() if not s.endswith(".HK") and q["symbol"][:3] not in ("000", "399", "899")]
    assert max(a_shares, key=lambda q: q["turnover"] or 0)["symbol"] == "688256.SH"
    assert pct(d, "688327.SH") > 3 and pct(d, "688107.SH") > 0 and pct(d, "688208.SH") > 0
    assert pct(d, "HSI.HK") > 1
    assert high_pct(d, "09988.HK") == 6.0 and pct(d, "09988.HK") == 5.4
    for s in ("00700.HK", "01024.HK", "09626.HK"):
        assert pct(d, s) > 2, s
    assert 0.8 <= pct(d, "01810.HK") < 1
    assert pct(d, "513770.SH") == 1.13 and d["quotes"]["513770.SH"]["turnover"] == 606_000_000
    assert high_pct(d, "513770.SH") > 2
    assert high_pct(d, "159876.SZ") > 3 and pct(d, "159876.SZ") == 2.29
    assert pct(d, "159707.SZ") > 1
    assert high_pct(d, "562050.SH") > 1 and high_pct(d, "520880.SH") > 1
    assert d["quotes"]["520880.SH"]["premium_pct"] > 0


def test_southbound_closing_flow(demo_day):
    flow = demo_day["flow"]
    for channel in ("SH", "SZ"):
        f = flow["southbound"][channel]
        assert f["net_buy_hkd"] == pytest.approx(f["buy_hkd"] - f["sell_hkd"])
    assert flow["top"][0]["symbol"] == "09988.HK"


def test_human_output_and_usage_errors():
    run = subprocess.run(
        [sys.executable, "-m", "marketmon", "watch", "--demo", "--symbols", "688521,hk09988", "--speed", "0"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "688521.SH" in run.stdout and "limit_up" in run.stdout and "09988.HK" in run.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "marketmon", "watch", "--demo", "--symbols", "12345678", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "12345678" in bad.stderr and bad.stdout == ""
    dead = subprocess.run(
        [sys.executable, "-m", "marketmon", "watch", "--url", "ws://127.0.0.1:9", "--all", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert dead.returncode == 1 and "reach" in dead.stderr


def test_the_breadth_event_carries_the_ladder_breadth_and_pairs(demo_day):
    """docs/protocol.md section 3: one `breadth` event before the closing quotes."""
    order = demo_day["order"]
    assert order.count("breadth") == 1 and order.index("breadth") == order.index("quote") - 1
    b = demo_day["breadth"]
    a_shares = [q for q in demo_day["quotes"].values() if q["board"] in ("main", "star", "chinext", "bse")]
    assert b["up"] + b["down"] + b["flat"] == sum(b["buckets"].values()) == len(a_shares)
    assert b["buckets"]["limit-up"] == 1 and b["buckets"]["limit-down"] == 1
    assert b["limits"]["star"] == {"up": 1, "down": 0} and b["limits"]["main"] == {"up": 0, "down": 1}
    assert b["turnover"] == 2_550_000_000_000
    up = b["ladder_up"]
    # VeriSilicon seals its second board in a row; Sugon's third and ST 华通's first broke.
    assert [(r["symbol"], r["step"], r["sealed"]) for r in up["rungs"]] == [
        ("603019.SH", 3, False), ("688521.SH", 2, True), ("002602.SZ", 1, False)]  # fmt: skip
    veri = up["rungs"][1]
    assert veri["first_seal"] == "13:42:00" and veri["opens"] == 0
    assert veri["seal_amount"] > 2e8  # bid-1 size x 154.39 at the close
    assert (up["sealed"], up["broken"], up["broken_rate"], up["top_step"]) == (1, 2, 66.67, 2)
    assert up["yesterday"] == 3 and up["yesterday_avg_pct"] == 9.89  # VeriSilicon, Sugon, CloudWalk
    assert b["ladder_down"]["rungs"][0]["symbol"] == "603880.SH"
    assert b["hkdcny"] == 0.9128
    smic = next(p for p in b["ah"] if p["a"] == "688981.SH")
    assert (smic["h"], smic["premium_pct"]) == ("00981.HK", 86.18)
    assert [p["premium_pct"] for p in b["ah"]] == sorted((p["premium_pct"] for p in b["ah"]), reverse=True)
