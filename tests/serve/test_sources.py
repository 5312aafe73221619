"""Source parsers on recorded responses (tests/data/sources/README.md says which
are real): units, prices, limits, halts, empty fields, GBK names, unknown codes;
and property tests that no input makes a parser fail other than with ParseError."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketmon.feed.protocol import Quote
from marketmon.serve.sources import ParseError, eastmoney, get_source, sina, tencent
from marketmon.serve.sources.poll import diff, retry_after

DATA = Path(__file__).parents[1] / "data" / "sources"
T_1430 = 1757658603000  # 2025-09-12 14:30:03 +08:00


def load(source: str, name: str):
    return get_source(source).parse((DATA / name).read_bytes())


def by_symbol(parsed) -> dict[str, dict]:
    return {q["symbol"]: q for q in parsed.quotes}


def assert_valid(quotes) -> None:
    for q in quotes:
        msgspec.convert(q, Quote)  # every quote is a valid protocol quote
        assert all(v is not None and v != "" for v in q.values()), q


# Sina ---------------------------------------------------------------------------------


def test_sina_real_2019_lines_units_and_no_trade_yet():
    parsed = load("sina", "sina-sz-2019.gbk.txt")
    q = by_symbol(parsed)
    assert parsed.unknown == ["160923.SZ"] and parsed.errors == []
    lof = q["162411.SZ"]
    assert lof["name"] == "华宝油气"  # GBK decoded
    assert lof["kind"] == "fund" and lof["currency"] == "CNY"
    assert (lof["open"], lof["prev_close"], lof["last"], lof["high"], lof["low"]) == (0.489, 0.488, 0.491, 0.492, 0.488)
    assert lof["volume"] == 133_819_867  # shares, as Sina sends them
    assert lof["turnover"] == 65_623_147.285  # CNY
    assert (lof["bid"], lof["bid_size"], lof["ask"], lof["ask_size"]) == (0.49, 2_422_992, 0.491, 5_386_166)
    assert lof["ts"] == 1552374003000  # 2019-03-12 15:00:03 +08:00
    early = q["160922.SZ"]  # 09:41, no trade yet: 0.000 is "none", never a price
    for field in ("open", "last", "high", "low"):
        assert field not in early
    assert early["prev_close"] == 1.074 and early["volume"] == 0
    assert (early["bid"], early["ask"]) == (1.053, 1.11)
    assert_valid(parsed.quotes)


def test_sina_a_shares_etf_index_halt_auction_and_unknown():
    parsed = load("sina", "sina-a-share.gbk.txt")
    q = by_symbol(parsed)
    assert parsed.unknown == ["600001.SH"] and parsed.errors == []
    assert q["600000.SH"]["name"] == "浦发银行" and q["600000.SH"]["last"] == 13.98
    assert q["600000.SH"]["volume"] == 61_234_500 and q["600000.SH"]["ts"] == T_1430
    sealed = q["688521.SH"]  # at the limit, nobody sells: ask side empty
    assert sealed["bid"] == 154.39 and sealed["ask_size"] == 0 and "ask" not in sealed
    etf = q["510300.SH"]
    assert etf["kind"] == "etf" and etf["last"] == 4.538 and etf["prev_close"] == 4.512
    index = q["000001.SH"]
    assert index["kind"] == "index" and index["last"] == 3870.6012
    assert "volume" not in index and index["turnover"] == 1_234_567_890_123.0  # lots vs shares differ by exchange
    assert "bid" not in index and "suspended" not in index
    halted = q["603019.SH"]
    assert halted["suspended"] is True and halted["prev_close"] == 77.43
    assert not {"open", "last", "high", "low", "bid", "ask"} & halted.keys()
    assert q["600000.SH"]["suspended"] is False
    auction = q["300750.SZ"]  # 09:20 call auction
    assert "last" not in auction and "open" not in auction and auction["bid"] == auction["ask"] == 280.1
    assert q["920118.BJ"]["kind"] == "stock" and q["920118.BJ"]["currency"] == "CNY"
    assert_valid(parsed.quotes)


def test_sina_hk_shares_hkd_index_etf_and_no_limits():
    parsed = load("sina", "sina-hk.gbk.txt")
    q = by_symbol(parsed)
    assert parsed.unknown == ["00001.HK"]
    tencent_hk = q["00700.HK"]
    assert tencent_hk["name"] == "腾讯控股" and tencent_hk["currency"] == "HKD"
    assert tencent_hk["volume"] == 19_234_567 and tencent_hk["turnover"] == 12_345_678_901.0
    assert (tencent_hk["last"], tencent_hk["prev_close"], tencent_hk["bid"], tencent_hk["ask"]) == (645.0, 640.5, 644.5, 645.0)
    assert "limit_up" not in tencent_hk and "limit_down" not in tencent_hk  # 15/16 are 52-week figures
    assert tencent_hk["ts"] == T_1430 + (16 * 3600 + 8 * 60 - (14 * 3600 + 30 * 60 + 3)) * 1000
    assert q["09988.HK"]["name"] == "阿里巴巴－Ｗ"
    assert q["02800.HK"]["kind"] == "etf"
    assert q["HSI.HK"]["kind"] == "index" and q["HSI.HK"]["last"] == 26388.2
    assert_valid(parsed.quotes)


def test_sina_naming_and_url():
    assert [sina.code_of(s) for s in ("600000.SH", "000001.SZ", "920118.BJ", "00700.HK", "HSI.HK")] == [
        "sh600000", "sz000001", "bj920118", "rt_hk00700", "rt_hkHSI"]  # fmt: skip
    assert sina.build_url("https://hq.sinajs.cn/", ["sh600000", "rt_hk00700"]) == "https://hq.sinajs.cn/list=sh600000,rt_hk00700"
    assert sina.SOURCE.headers["Referer"].startswith("https://finance.sina.com.cn")
    assert sina.SOURCE.batch_size == 800


# Tencent ------------------------------------------------------------------------------


def test_tencent_real_hk_volume_in_shares_amount_in_hkd_no_limits():
    parsed = load("tencent", "tencent-hk-2018.gbk.txt")
    q = by_symbol(parsed)
    assert parsed.errors == [] and parsed.unknown == []
    t = q["00700.HK"]
    assert t["name"] == "腾讯控股" and t["currency"] == "HKD" and t["kind"] == "stock"
    assert t["volume"] == 41_115_421  # shares on HK lines (not x100)
    assert t["turnover"] == 16_899_465_578.3  # field 37 in HKD; field 6 is the volume, not the amount
    assert (t["last"], t["prev_close"], t["open"], t["high"], t["low"]) == (409.6, 412.2, 414.0, 417.0, 405.2)
    assert "limit_up" not in t and "limit_down" not in t  # 48/49 are the 52-week high/low (476.6 / 222.4)
    assert t["ts"] == 1522310891000  # 2018/03/29 16:08:11 +08:00
    assert q["00980.HK"]["name"] == "联华超市" and q["00980.HK"]["volume"] == 825_000
    assert_valid(parsed.quotes)


def test_tencent_a_shares_lots_amounts_and_exchange_limits():
    parsed = load("tencent", "tencent-a-share.gbk.txt")
    q = by_symbol(parsed)
    assert parsed.errors == [] and parsed.unknown == []  # v_pv_none_match names no code
    pf = q["600000.SH"]
    assert pf["volume"] == 61_234_500  # 612,345 lots x 100
    assert pf["bid_size"] == 152_300 and pf["ask_size"] == 12_300  # book sizes in lots too
    assert pf["turnover"] == 857_123_456.0  # exact CNY from field 35, not 85712 x 1e4
    assert (pf["limit_up"], pf["limit_down"]) == (15.46, 12.65)  # fields 47/48
    assert pf["ts"] == T_1430 and pf["name"] == "浦发银行"
    assert (q["300750.SZ"]["limit_up"], q["300750.SZ"]["limit_down"]) == (336.0, 224.0)
    etf = q["588000.SH"]
    assert etf["kind"] == "etf" and etf["last"] == 1.412 and etf["limit_up"] == 1.658
    index = q["000001.SH"]
    assert index["kind"] == "index" and "limit_up" not in index and "bid" not in index
    halted = q["000002.SZ"]
    assert halted["suspended"] is True and "open" not in halted and halted["volume"] == 0
    assert pf["suspended"] is False
    assert_valid(parsed.quotes)


def test_tencent_amount_falls_back_to_field_37_in_10k_cny():
    line = (DATA / "tencent-a-share.gbk.txt").read_bytes().decode("gbk").splitlines()[0]
    fields = line.split('"')[1].split("~")
    fields[35] = ""
    parsed = tencent.parse(f'v_sh600000="{"~".join(fields)}";'.encode("gbk"))
    assert parsed.quotes[0]["turnover"] == 85_712 * 1e4


def test_tencent_constructed_hk_index_and_naming():
    q = by_symbol(load("tencent", "tencent-hk-2025.gbk.txt"))
    assert q["09988.HK"]["bid_size"] == 12_000 and q["09988.HK"]["volume"] == 66_789_012
    assert q["HSI.HK"]["kind"] == "index" and "limit_up" not in q["HSI.HK"]
    assert [tencent.code_of(s) for s in ("600000.SH", "300750.SZ", "00700.HK", "HSI.HK")] == [
        "sh600000", "sz300750", "r_hk00700", "r_hkHSI"]  # fmt: skip
    assert tencent.build_url("https://qt.gtimg.cn", ["sh600000", "r_hk00700"]) == "https://qt.gtimg.cn/q=sh600000,r_hk00700"


def test_tencent_short_line_is_an_error_not_a_crash():
    parsed = tencent.parse(b'v_sh600000="1~x~600000~9.40";v_r_hk00700="";')
    assert parsed.quotes == [] and parsed.unknown == ["00700.HK"]
    assert len(parsed.errors) == 1 and "fields" in parsed.errors[0]


# East Money ---------------------------------------------------------------------------


def test_eastmoney_ulist_scaled_integers_lots_and_markets():
    parsed = load("eastmoney", "eastmoney-ulist.json")
    q = by_symbol(parsed)
    assert parsed.errors == []
    assert q["600000.SH"]["last"] == 13.98 and q["600000.SH"]["prev_close"] == 14.05  # 1398 / 10**2
    assert q["600000.SH"]["volume"] == 61_234_500  # 612,345 lots
    assert q["510300.SH"]["last"] == 4.538 and q["510300.SH"]["kind"] == "etf"  # f1 = 3 for the ETF
    hk = q["00700.HK"]
    assert hk["last"] == 645.0 and hk["volume"] == 19_234_567 and hk["currency"] == "HKD"  # HK: shares
    assert q["000001.SH"]["kind"] == "index" and q["000001.SH"]["last"] == 3870.6  # market 1 + 000001
    halted = q["000002.SZ"]  # "-" everywhere but the previous close
    assert halted["suspended"] is True and halted["prev_close"] == 6.85 and "last" not in halted
    assert "volume" not in halted and "turnover" not in halted
    assert q["920118.BJ"]["last"] == 23.5  # BSE shares market id 0 with SZ
    assert q["HSI.HK"]["kind"] == "index" and q["HSI.HK"]["last"] == 26388.2
    assert q["600000.SH"]["ts"] == T_1430
    assert_valid(parsed.quotes)


def test_eastmoney_fltt2_jsonp_object_diff():
    q = by_symbol(load("eastmoney", "eastmoney-clist-fltt2.json"))
    assert q["600000.SH"]["last"] == 13.98 and q["600000.SH"]["high"] == 14.1
    assert q["09988.HK"]["last"] == 148.3 and q["09988.HK"]["name"] == "阿里巴巴-W"


def test_eastmoney_stock_get_limits_and_book():
    parsed = load("eastmoney", "eastmoney-stock-get.json")
    (q,) = parsed.quotes
    assert q["symbol"] == "688521.SH" and q["name"] == "芯原股份"
    assert (q["limit_up"], q["limit_down"]) == (154.39, 102.93)
    assert q["last"] == q["high"] == 154.39 and q["prev_close"] == 128.66
    assert q["volume"] == 21_456_800 and q["turnover"] == 3_158_000_000.0
    assert q["bid"] == 154.39 and q["bid_size"] == 1_523_400 and "ask" not in q and q["ask_size"] == 0
    assert load("eastmoney", "eastmoney-stock-get-unknown.json").quotes == []


def test_eastmoney_decimal_places_default_when_absent():
    body = {"data": {"diff": [{"f2": 1412, "f12": "588000", "f13": 1, "f14": "ETF"},
                              {"f2": 1398, "f12": "600000", "f13": 1, "f14": "PF"}]}}  # fmt: skip
    q = by_symbol(eastmoney.parse(json.dumps(body)))
    assert q["588000.SH"]["last"] == 1.412 and q["600000.SH"]["last"] == 13.98


def test_eastmoney_naming_and_url():
    assert [eastmoney.code_of(s) for s in ("600000.SH", "000001.SZ", "920118.BJ", "00700.HK", "HSI.HK", "000001.SH")] == [
        "1.600000", "0.000001", "0.920118", "116.00700", "100.HSI", "1.000001"]  # fmt: skip
    url = eastmoney.build_url("https://push2.eastmoney.com", ["1.600000", "116.00700"])
    assert url.startswith("https://push2.eastmoney.com/api/qt/ulist.np/get?") and "secids=1.600000,116.00700" in url
    assert "fltt=1" in url


@pytest.mark.parametrize("source", ["sina", "tencent", "eastmoney"])
def test_garbage_body_is_a_parse_error(source):
    with pytest.raises(ParseError):
        load(source, "garbage.html")


def test_one_bad_line_does_not_cost_the_others():
    body = (DATA / "sina-a-share.gbk.txt").read_bytes() + b"<html>oops</html>;var hq_str_sh600000=\"x,1,2\";\n"
    parsed = sina.parse(body)
    assert len(parsed.quotes) == 8 and len(parsed.errors) == 2


# property tests -------------------------------------------------------------------------

_field = st.one_of(
    st.sampled_from(["", "0", "0.000", "-", "1", "13.98", "-5", "1e999", "nan", "inf", "12345678901234567890",
                     "2025-09-12", "15:00:03", "20250912150003", "2018/03/29 16:08:11", "00", "03", "-1", "abc"]),
    st.text(max_size=8),
)  # fmt: skip
_var = st.sampled_from(["sh600000", "sz000001", "bj920118", "rt_hk00700", "hkHSI", "sh000001", "sz999999", "xx1", "r_hk09988"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(var=_var, fields=st.lists(_field, max_size=60), sep=st.sampled_from([",", "~"]))
def test_line_parsers_never_crash_on_odd_fields(var, fields, sep):
    payload = sep.join(fields).replace('"', "").replace(";", "")
    for parse, line in ((sina.parse, f'var hq_str_{var}="{payload}";'), (tencent.parse, f'v_{var}="{payload}";')):
        try:
            parsed = parse(line.encode("gb18030"))
        except ParseError:
            continue
        assert_valid(parsed.quotes)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_every_parser_takes_any_bytes(body):
    for source in ("sina", "tencent", "eastmoney"):
        try:
            parsed = get_source(source).parse(body)
        except ParseError:
            continue
        assert_valid(parsed.quotes)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6) | st.sampled_from(["-", "600000", "00700", "HSI"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
_fkey = st.sampled_from(["f1", "f2", "f5", "f6", "f12", "f13", "f14", "f15", "f18", "f43", "f51", "f57", "f59",
                         "f60", "f86", "f107", "f124", "f152", "f19", "f20"])  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.dictionaries(_fkey, _json, max_size=12), max_size=4), get=st.booleans())
def test_eastmoney_never_crashes_on_odd_json(items, get):
    doc = {"rc": 0, "data": (items[0] if items else None) if get else {"diff": items}}
    try:
        parsed = eastmoney.parse(json.dumps(doc))
    except ParseError:
        return
    assert_valid(parsed.quotes)


# diffing and HTTP helpers -------------------------------------------------------------------


def test_diff_sends_full_quote_first_then_only_changes():
    state: dict = {}
    first = [{"symbol": "600000.SH", "ts": 1, "last": 10.0, "volume": 100, "name": "PF"}]
    assert diff(state, first) == first
    assert diff(state, [{"symbol": "600000.SH", "ts": 2, "last": 10.0, "volume": 100, "name": "PF"}]) == []
    assert diff(state, [{"symbol": "600000.SH", "ts": 3, "last": 10.1, "volume": 300, "name": "PF"}]) == [
        {"symbol": "600000.SH", "ts": 3, "last": 10.1, "volume": 300}]  # fmt: skip
    assert state["600000.SH"] == {"symbol": "600000.SH", "ts": 3, "last": 10.1, "volume": 300, "name": "PF"}


def test_retry_after_seconds_and_dates():
    assert retry_after("7") == 7.0
    assert retry_after("99999") == 600.0  # capped
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after("soon") is None and retry_after(None) is None


def test_convert_prints_json_lines_and_reports_unknown(capsys):
    from marketmon.cli.main import main

    assert main(["convert", "--from", "sina", str(DATA / "sina-sz-2019.gbk.txt")]) == 0
    out, err = capsys.readouterr()
    quotes = [json.loads(line) for line in out.splitlines()]
    assert [q["symbol"] for q in quotes] == ["162411.SZ", "160922.SZ", "160924.SZ"]
    assert quotes[0]["name"] == "华宝油气"
    assert "160923.SZ" in err
    assert main(["convert", "--from", "tencent", str(DATA / "garbage.html")]) == 2
    assert "not a Tencent response" in capsys.readouterr().err


def test_tencent_and_eastmoney_bond_volumes_are_in_bonds_not_lots():
    """A convertible bond trades in lots of 10 bonds (张): its volume and book sizes
    become bonds, as a stock's become shares. Constructed from the recorded stock
    line with the code changed (no recorded bond answer yet: docs/sources.md)."""
    line = (DATA / "tencent-a-share.gbk.txt").read_bytes().decode("gbk").splitlines()[0]
    fields = line.split('"')[1].split("~")
    fields[2], fields[6], fields[10], fields[20] = "113050", "1234", "56", "7"
    q = tencent.parse(f'v_sh113050="{"~".join(fields)}";'.encode("gbk")).quotes[0]
    assert q["symbol"] == "113050.SH" and "kind" not in q  # the wire names only the four old kinds
    assert (q["volume"], q["bid_size"], q["ask_size"]) == (12_340, 560, 70)
    body = (DATA / "eastmoney-ulist.json").read_text()
    data = json.loads(body)
    item = next(i for i in data["data"]["diff"] if i["f12"] == "600000")
    bond = {**item, "f12": "123001", "f13": 0, "f1": 3, "f152": 3, "f2": 118888, "f5": 4321}
    data["data"]["diff"] = [bond]
    q = by_symbol(eastmoney.parse(json.dumps(data).encode()))["123001.SZ"]
    assert q["last"] == 118.888 and q["volume"] == 43_210


def test_tencent_reads_the_iopv_of_etf_lines_from_real_answers():
    """Field 78 of an ETF line is its IOPV (77 the premium over it); a LOF has none."""
    raw = (DATA / "tencent-etf-iopv.gbk.txt").read_bytes().decode("gbk")
    lines = [line.split('"')[1].split("~") for line in raw.splitlines()]
    parsed = load("tencent", "tencent-etf-iopv.gbk.txt")
    assert parsed.errors == []
    by_line = list(parsed.quotes)
    assert [q["symbol"] for q in by_line] == ["510300.SH", "513100.SH", "159659.SZ", "510300.SH", "161725.SZ",
                                              "113050.SH"]  # fmt: skip
    for q, f in zip(by_line, lines, strict=True):
        if f[61] == "ETF":
            assert q["iopv"] == float(f[78])
            # The premium we derive agrees with the one Tencent printed, to its two decimals.
            assert round((q["last"] - q["iopv"]) / q["iopv"] * 100, 2) == pytest.approx(float(f[77]), abs=0.011)
        else:
            assert "iopv" not in q
    assert by_line[0]["iopv"] == 4.6122 and by_line[2]["iopv"] == 2.2224
    assert by_line[5]["last"] == 144.967  # the bond's price, to its 0.001 tick
    assert_valid(parsed.quotes)


# The five-level book and the free float, from the recorded 2026 lines of one stock ------------

LIVE = Path(__file__).resolve().parents[3] / "shared" / "samples" / "live"


def test_tencent_and_sina_send_the_same_five_level_book_of_the_recorded_day():
    # Both samples are stored as UTF-8 text; the sources read GBK, as sent.
    def of(source: str, name: str) -> dict:
        text = (LIVE / name).read_text(encoding="utf-8")
        return by_symbol(get_source(source).parse(text.encode("gbk")))["600000.SH"]

    t = of("tencent", "tencent-stock-sh600000-20260825.txt")
    s = of("sina", "sina-stock-sh600000-20260825.txt")
    assert_valid([t, s])
    assert [p for p, _ in t["bids"]] == [p for p, _ in s["bids"]] == [9.07, 9.06, 9.05, 9.04, 9.03]
    assert [p for p, _ in t["asks"]] == [p for p, _ in s["asks"]] == [9.08, 9.09, 9.10, 9.11, 9.12]
    assert s["bids"][1] == (9.06, 1538500) and t["bids"][1] == (9.06, 1538500)  # Tencent's lots x 100
    assert (t["bids"][0], t["asks"][0]) == ((t["bid"], t["bid_size"]), (t["ask"], t["ask_size"]))
    assert t["float_shares"] == 33305838300  # field 72: field 38's 0.26 % turnover rate agrees
    assert round(t["volume"] / t["float_shares"] * 100, 2) == 0.26
    assert "float_shares" not in s  # Sina does not send it: the screen says so


def test_sina_hk_sends_the_english_name_beside_the_chinese_one():
    text = (LIVE / "sina-hq-mixed-frame-rt_hk-bond-reit.txt").read_text(encoding="utf-8")
    q = by_symbol(get_source("sina").parse(text.encode("gbk")))["00700.HK"]
    assert (q["name"], q["name_en"]) == ("腾讯控股", "TENCENT")
