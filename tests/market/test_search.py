"""Search (market/search.py): every instrument is found by each of its names, its
code in any form, its pinyin initials and its full pinyin; pinyin is worked out
once per name, not at every key press."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import Style, lazy_pinyin

from marketmon.market import search as search_module
from marketmon.market.search import Instrument, keys, pinyin_of, search
from marketmon.serve.demo_day import INSTRUMENTS, full_quote

SEED = [Instrument(q["symbol"], q["name"], q.get("name_en", "")) for q in map(full_quote, INSTRUMENTS)]
HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@st.composite
def markets(draw: st.DrawFn) -> list[Instrument]:
    """Instruments with Chinese names (sometimes with ST, -W or digits) and English ones."""
    codes = draw(st.lists(st.integers(600000, 605999), min_size=1, max_size=30, unique=True))
    out = []
    for code in codes:
        han = draw(st.text(HAN, min_size=2, max_size=6))
        name = draw(st.sampled_from(["{}", "ST {}", "{}-W", "{}50ETF"])).format(han)
        english = draw(st.text(st.characters(min_codepoint=0x41, max_codepoint=0x7A, categories=("Lu", "Ll")),
                               min_size=0, max_size=12))  # fmt: skip
        out.append(Instrument(f"{code}.SH", name, english))
    return out


def finds(market: list[Instrument], inst: Instrument, query: str) -> bool:
    return inst in search(market, query, limit=len(market))


@settings(max_examples=200, deadline=None)
@given(market=markets(), data=st.data())
def test_search_finds_every_instrument_by_each_of_its_names_and_its_pinyin(market, data) -> None:
    inst = data.draw(st.sampled_from(market))
    code = inst.symbol[:6]
    for query in (inst.symbol, code, "sh" + code, inst.symbol.lower(), inst.name, inst.name[-2:]):
        assert finds(market, inst, query), query
    if inst.name_en:
        assert finds(market, inst, inst.name_en) and finds(market, inst, inst.name_en.upper())
    initials = "".join(lazy_pinyin(inst.name, style=Style.FIRST_LETTER))
    full = "".join(lazy_pinyin(inst.name))
    squash = search_module._NOT_ALNUM.sub
    assert finds(market, inst, squash("", initials.lower())), initials
    assert finds(market, inst, squash("", full.lower())), full
    assert finds(market, inst, squash("", initials.lower()).upper())  # GZMT as gzmt
    assert search(market, inst.symbol)[0] == inst  # a code typed in full comes first


@given(st.sampled_from(SEED))
def test_the_bundled_day_by_code_chinese_english_and_pinyin(inst: Instrument) -> None:
    assert search(SEED, inst.symbol)[0] == inst
    assert finds(SEED, inst, inst.name)
    initials, full = pinyin_of(inst.name)
    assert finds(SEED, inst, initials) and finds(SEED, inst, full)
    if inst.name_en:
        assert finds(SEED, inst, inst.name_en.lower())


def test_what_traders_type_finds_the_real_names_first() -> None:
    def first(query: str) -> str:
        return search(SEED, query)[0].symbol

    assert first("gzmt") == "600519.SH" and first("茅台") == "600519.SH" and first("maotai") == "600519.SH"
    assert first("芯原") == "688521.SH" and first("xygf") == "688521.SH"
    assert {i.symbol for i in search(SEED, "中芯")} == {"688981.SH", "00981.HK"}
    assert first("zxgj") in ("688981.SH", "00981.HK")
    assert first("Moutai") == "600519.SH" and first("700.hk") == "00700.HK"
    assert first("zsyh") == "600036.SH"  # 招商银行: 行 read as hang, not xing
    assert search(SEED, "")[: len(SEED)] == SEED[:40]
    assert search(SEED, "qqqqq") == []


def test_pinyin_is_worked_out_once_per_name() -> None:
    keys.cache_clear()
    pinyin_of.cache_clear()
    for query in ("g", "gz", "gzm", "gzmt"):
        search(SEED, query)
    assert keys.cache_info().misses == len(SEED) and keys.cache_info().hits == 3 * len(SEED)
    assert pinyin_of.cache_info().misses == len({i.name for i in SEED})
