"""Symbols: every PROTOCOL input form, every board, and the rejects."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketmon.market.symbols import (
    INDICES,
    Board,
    Instrument,
    SymbolError,
    classify,
    normalize,
    parse,
)

NORMALIZE_CASES = [
    # A-share suffix / prefix / bare forms
    ("600000.SH", "600000.SH"),
    ("600000.sh", "600000.SH"),
    ("sh600000", "600000.SH"),
    ("SH600000", "600000.SH"),
    ("600000", "600000.SH"),
    ("  600000  ", "600000.SH"),
    ("688521", "688521.SH"),
    ("689009", "689009.SH"),
    ("900901", "900901.SH"),
    ("510300", "510300.SH"),
    ("589520", "589520.SH"),
    ("501018", "501018.SH"),
    ("000001", "000001.SZ"),  # Ping An Bank, not the SSE Composite
    ("001979", "001979.SZ"),
    ("002594", "002594.SZ"),
    ("003816", "003816.SZ"),
    ("300750", "300750.SZ"),
    ("301236", "301236.SZ"),
    ("302132", "302132.SZ"),
    ("159876", "159876.SZ"),
    ("161725", "161725.SZ"),
    ("200002", "200002.SZ"),
    ("sz300750", "300750.SZ"),
    ("920118", "920118.BJ"),
    ("bj920118", "920118.BJ"),
    ("430047", "430047.BJ"),
    ("830799", "830799.BJ"),
    ("872925", "872925.BJ"),
    ("888888", "888888.BJ"),
    # indices need a suffix or an alias
    ("000001.SH", "000001.SH"),
    ("sh000001", "000001.SH"),
    ("399001.SZ", "399001.SZ"),
    ("899050.BJ", "899050.BJ"),
    ("SSE", "000001.SH"),
    ("shcomp", "000001.SH"),
    ("SZSE", "399001.SZ"),
    ("ChiNext", "399006.SZ"),
    ("STAR50", "000688.SH"),
    ("csi300", "000300.SH"),
    ("HSI", "HSI.HK"),
    ("HSI.HK", "HSI.HK"),
    ("hsi.hk", "HSI.HK"),
    ("HSTECH", "HSTECH.HK"),
    ("hkHSI", "HSI.HK"),
    ("hkHSTECH", "HSTECH.HK"),
    ("HSCEI.HK", "HSCEI.HK"),
    # HK
    ("hk00700", "00700.HK"),
    ("700.HK", "00700.HK"),
    ("00700", "00700.HK"),
    ("0700.HK", "00700.HK"),
    ("700", "00700.HK"),
    ("5", "00005.HK"),
    ("09988.HK", "09988.HK"),
    ("9988.hk", "09988.HK"),
    ("HK2800", "02800.HK"),
]


@pytest.mark.parametrize(("text", "want"), NORMALIZE_CASES)
def test_normalize(text, want):
    assert normalize(text) == want


BAD = [
    "",
    "   ",
    "abc",
    "600000.SZ",  # suffix does not match the code
    "000001.BJ",
    "300750.SH",
    "920118.SZ",
    "60000.SH",  # 5 digits would be HK, not SH
    "6000000",  # 7 digits
    "600000.HK",
    "124000",  # no board starts with 124 (a bare code needs a known prefix)
    "399001",  # indices need a suffix
    "899050",
    "00000",
    "0.HK",
    "ABC.HK",
    "sh60000a",
    "600000.SS",
    "６００００",  # full-width digits
    "HSI.SH",
]


@pytest.mark.parametrize("text", BAD)
def test_normalize_rejects(text):
    with pytest.raises(SymbolError) as e:
        normalize(text)
    assert repr(text) in str(e.value)


def test_symbol_error_is_value_error_and_names_input():
    with pytest.raises(ValueError, match=r"unknown symbol 'abc'"):
        normalize("abc")


CLASSIFY_CASES = [
    # symbol, exchange, board, kind, growth
    ("600000.SH", "SH", Board.MAIN, "stock", False),
    ("900901.SH", "SH", Board.MAIN, "stock", False),
    ("688521.SH", "SH", Board.STAR, "stock", False),
    ("689009.SH", "SH", Board.STAR, "stock", False),
    ("000001.SZ", "SZ", Board.MAIN, "stock", False),
    ("002594.SZ", "SZ", Board.MAIN, "stock", False),
    ("200002.SZ", "SZ", Board.MAIN, "stock", False),
    ("300750.SZ", "SZ", Board.CHINEXT, "stock", False),
    ("301236.SZ", "SZ", Board.CHINEXT, "stock", False),
    ("920118.BJ", "BJ", Board.BSE, "stock", False),
    ("430047.BJ", "BJ", Board.BSE, "stock", False),
    ("510300.SH", "SH", Board.FUND, "etf", False),
    ("520880.SH", "SH", Board.FUND, "etf", False),
    ("562050.SH", "SH", Board.FUND, "etf", False),
    ("513770.SH", "SH", Board.FUND, "etf", False),
    ("588000.SH", "SH", Board.FUND, "etf", True),
    ("589520.SH", "SH", Board.FUND, "etf", True),
    ("501018.SH", "SH", Board.FUND, "fund", False),
    ("159876.SZ", "SZ", Board.FUND, "etf", False),
    ("159707.SZ", "SZ", Board.FUND, "etf", False),
    ("159915.SZ", "SZ", Board.FUND, "etf", True),
    ("159952.SZ", "SZ", Board.FUND, "etf", True),
    ("161725.SZ", "SZ", Board.FUND, "fund", False),
    ("000001.SH", "SH", Board.INDEX, "index", False),
    ("000300.SH", "SH", Board.INDEX, "index", False),
    ("000688.SH", "SH", Board.INDEX, "index", False),
    ("399001.SZ", "SZ", Board.INDEX, "index", False),
    ("399006.SZ", "SZ", Board.INDEX, "index", False),
    ("899050.BJ", "BJ", Board.INDEX, "index", False),
    ("HSI.HK", "HK", Board.INDEX, "index", False),
    ("HSTECH.HK", "HK", Board.INDEX, "index", False),
    ("HSCEI.HK", "HK", Board.INDEX, "index", False),
    ("00700.HK", "HK", Board.HK, "stock", False),
    ("09988.HK", "HK", Board.HK, "stock", False),
    ("03690.HK", "HK", Board.HK, "stock", False),
    ("02800.HK", "HK", Board.HK, "etf", False),
    ("03033.HK", "HK", Board.HK, "etf", False),
    ("02828.HK", "HK", Board.HK, "etf", False),
    ("03067.HK", "HK", Board.HK, "etf", False),
    # convertible bonds: SH 110/111/113/118, SZ 123/127/128
    ("110059.SH", "SH", Board.BOND, "bond", False),
    ("111010.SH", "SH", Board.BOND, "bond", False),
    ("113050.SH", "SH", Board.BOND, "bond", False),
    ("118003.SH", "SH", Board.BOND, "bond", False),
    ("123001.SZ", "SZ", Board.BOND, "bond", False),
    ("127018.SZ", "SZ", Board.BOND, "bond", False),
    ("128081.SZ", "SZ", Board.BOND, "bond", False),
    # REITs: SH 508, SZ 180
    ("508000.SH", "SH", Board.REIT, "reit", False),
    ("180101.SZ", "SZ", Board.REIT, "reit", False),
    # BSE, the 2024 renumbering beside the old codes
    ("920118.BJ", "BJ", Board.BSE, "stock", False),
    ("430047.BJ", "BJ", Board.BSE, "stock", False),
    ("830799.BJ", "BJ", Board.BSE, "stock", False),
    ("870299.BJ", "BJ", Board.BSE, "stock", False),
    # a prefix no exchange's table knows: kept as "other"
    ("004000.SZ", "SZ", Board.OTHER, "other", False),
    ("004999.SZ", "SZ", Board.OTHER, "other", False),
    ("119000.SZ", "SZ", Board.OTHER, "other", False),
    ("700000.SH", "SH", Board.OTHER, "other", False),
    ("990001.BJ", "BJ", Board.OTHER, "other", False),
]


@pytest.mark.parametrize(
    ("text", "want"),
    [("113050", "113050.SH"), ("sz123001", "123001.SZ"), ("128081", "128081.SZ"), ("508000", "508000.SH"),
     ("180101", "180101.SZ"), ("920118", "920118.BJ"), ("bj430047", "430047.BJ"), ("004000.sz", "004000.SZ")],
)
def test_normalize_new_boards(text, want):
    assert normalize(text) == want


@pytest.mark.parametrize("text", ["004000", "700000", "600000.SZ", "113050.SZ", "123001.SH", "508000.SZ", "920118.SH"])
def test_a_known_prefix_on_the_wrong_exchange_or_a_bare_unknown_code_is_refused(text):
    """Only a code that no table knows is "other"; one another exchange owns is a mistake."""
    with pytest.raises(SymbolError):
        normalize(text)


@pytest.mark.parametrize(("symbol", "ex", "board", "kind", "growth"), CLASSIFY_CASES)
def test_classify(symbol, ex, board, kind, growth):
    inst = classify(symbol)
    assert inst == Instrument(symbol, symbol.split(".")[0], ex, board, kind, growth)
    assert inst.market == ("HK" if ex == "HK" else "CN")


def test_board_values():
    assert [b.value for b in Board] == ["main", "star", "chinext", "bse", "fund", "hk", "index", "bond", "reit", "other"]
    assert Board.STAR == "star"


@pytest.mark.parametrize("symbol", ["600000", "sh600000", "700.HK", "0700.HK", "600000.sh", "600000.SZ"])
def test_classify_wants_canonical(symbol):
    with pytest.raises(SymbolError):
        classify(symbol)


def test_classify_is_cached_and_frozen():
    a = classify("688521.SH")
    assert classify("688521.SH") is a
    with pytest.raises(AttributeError):
        a.board = Board.MAIN  # type: ignore[misc]


def test_parse():
    assert parse(" hk9988 ").symbol == "09988.HK"
    assert parse("000001").board is Board.MAIN
    assert parse("sh000001").board is Board.INDEX
    assert parse("CSI300").kind == "index"


def test_indices_table():
    assert len(INDICES) == 9
    assert INDICES["000001.SH"] == "SSE Composite"
    assert INDICES["399106.SZ"] == "SZSE Composite"
    assert INDICES["899050.BJ"] == "BSE 50"
    for sym in INDICES:
        assert normalize(sym) == sym
        assert classify(sym).kind == "index"


# --- properties -----------------------------------------------------------

A_SHARE_PREFIXES = {
    "SH": ["60", "68", "900", "50", "51", "52", "56", "58", "000"],
    "SZ": ["000", "001", "002", "003", "300", "301", "302", "159", "16", "200", "399"],
    "BJ": ["43", "82", "83", "87", "88", "92", "899"],
}


@st.composite
def a_share_symbols(draw):
    ex = draw(st.sampled_from(sorted(A_SHARE_PREFIXES)))
    prefix = draw(st.sampled_from(A_SHARE_PREFIXES[ex]))
    rest = draw(st.text("0123456789", min_size=6 - len(prefix), max_size=6 - len(prefix)))
    return f"{prefix}{rest}.{ex}"


hk_symbols = st.integers(1, 99999).map(lambda n: f"{n:05d}.HK")
canonical = st.one_of(a_share_symbols(), hk_symbols, st.sampled_from(sorted(INDICES)))


@given(canonical)
def test_round_trip_every_form(symbol):
    code, ex = symbol.split(".")
    forms = [symbol, symbol.lower(), f" {symbol} ", f"{ex}{code}", f"{ex.lower()}{code}"]
    if ex == "HK" and code.isdigit():
        forms += [str(int(code)) + ".HK", str(int(code))]
    for form in forms:
        assert normalize(form) == symbol, form
    inst = classify(symbol)
    assert inst.symbol == symbol and inst.code == code and inst.exchange == ex


user_text = st.one_of(
    st.text(max_size=12),
    st.text("0123456789", min_size=1, max_size=7),
    st.builds(lambda c, e: c + e, st.text("0123456789", min_size=1, max_size=7),
              st.sampled_from([".SH", ".sz", ".BJ", ".HK", ""])),
)


@given(user_text)
def test_normalize_idempotent(text):
    try:
        once = normalize(text)
    except SymbolError:
        return
    assert normalize(once) == once
    assert classify(once).symbol == once
