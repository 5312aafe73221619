"""The store: batched merge, exact limits, derived columns, crossings, history."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.feed.protocol import Quote
from marketmon.store.book import levels
from marketmon.store.state import Store

from ..conftest import T0


def store_with(*quotes: Quote, trade_date: str = "2025-09-12") -> Store:
    s = Store()
    s.set_trade_date(trade_date)
    s.merge(quotes, T0)
    return s


def test_merge_folds_partials_last_value_wins():
    s = store_with(Quote("600000.SH", ts=T0, name="SPDB", prev_close=10.0, last=10.0))
    s.merge([Quote("600000.SH", ts=T0 + 1, last=10.5), Quote("600000.SH", ts=T0 + 2, volume=300)])
    s.flush()
    row = s.quote("600000.SH")
    assert (row["last"], row["volume"], row["name"], row["prev_close"]) == (10.5, 300, "SPDB", 10.0)
    assert row["change"] == pytest.approx(0.5) and row["pct"] == pytest.approx(5.0)


def test_limits_are_exact_half_up_and_feed_limits_win():
    s = store_with(
        Quote("600000.SH", name="A", prev_close=1.15, last=1.2),  # 1.265 -> 1.27, binary float says 1.26
        Quote("688521.SH", name="VeriSilicon", prev_close=100.0, last=100.0),
        Quote("589520.SH", name="AI ETF", prev_close=1.376, last=1.4),  # fund: 0.001 tick, 20 % (STAR ETF)
        Quote("002602.SZ", name="ST 华通", prev_close=10.01, last=10.0),  # ST main board, 5 % in 2025
        Quote("00700.HK", name="Tencent", prev_close=600.0, last=610.0),  # no limit in Hong Kong
        Quote("600519.SH", name="Moutai", prev_close=1500.0, limit_up=1651.0, limit_down=1349.0),
    )
    s.flush()
    lim = {r["symbol"]: (r["limit_up"], r["limit_down"]) for r in s.frame.iter_rows(named=True)}
    assert lim["600000.SH"] == (1.27, 1.04)
    assert lim["688521.SH"] == (120.0, 80.0)
    assert lim["589520.SH"] == (1.651, 1.101)
    assert lim["002602.SZ"] == (10.51, 9.51)
    assert lim["00700.HK"] == (None, None)
    assert lim["600519.SH"] == (1651.0, 1349.0)


def test_st_band_follows_the_trade_date_not_the_clock():
    before = store_with(Quote("002602.SZ", name="ST 华通", prev_close=10.0), trade_date="2026-07-03")
    after = store_with(Quote("002602.SZ", name="ST 华通", prev_close=10.0), trade_date="2026-07-06")
    before.flush(), after.flush()
    assert before.quote("002602.SZ")["limit_up"] == 10.5
    assert after.quote("002602.SZ")["limit_up"] == 11.0


def test_limit_crossings_fire_once_and_rearm():
    s = store_with(Quote("688521.SH", ts=T0, name="VeriSilicon", prev_close=100.0, last=110.0))
    assert s.flush() == []
    steps = [(1, 120.0), (2, 120.0), (3, 119.99), (4, 120.0), (5, 81.0), (6, 80.0), (7, 80.0), (8, 80.5)]
    rules = []
    for n, price in steps:
        s.merge([Quote("688521.SH", ts=T0 + n * 3000, last=price)], T0 + n * 3000)
        rules += [(e.rule, e.price) for e in s.flush()]
    assert rules == [
        ("limit_up", 120.0), ("limit_up_broken", 119.99), ("limit_up", 120.0),
        ("limit_up_broken", 81.0), ("limit_down", 80.0), ("limit_down_broken", 80.5),
    ]  # fmt: skip
    row = s.quote("688521.SH")
    assert row["sealed_at"] == T0 + 3000 and row["broken"] is True


def test_premium_and_unknown_symbols():
    s = store_with(
        Quote("520880.SH", name="HK Drug ETF", prev_close=1.0, last=1.02, iopv=1.0),
        Quote("NOPE.XX", name="?", last=1.0),
    )
    s.flush()
    assert s.quote("520880.SH")["premium_pct"] == pytest.approx(2.0)
    assert s.quote("NOPE.XX") is None and "NOPE.XX" in s.unknown


def test_one_minute_bars_are_bounded_and_ordered():
    s = store_with(Quote("600000.SH", ts=T0, name="A", prev_close=10.0, last=10.0, volume=0))
    for n in range(1, 200):
        ts = T0 + n * 20_000
        s.merge([Quote("600000.SH", ts=ts, last=10.0 + (n % 7) / 100, volume=n * 100)], ts)
        s.flush()
    bars = s.history["600000.SH"]
    assert [b.minute for b in bars] == sorted({b.minute for b in bars})
    assert len(bars) == (T0 + 199 * 20_000) // 60000 - T0 // 60000 + 1
    assert all(b.low <= b.open <= b.high and b.low <= b.close <= b.high for b in bars)
    assert bars[-1].volume == 199 * 100


@settings(max_examples=60, deadline=None)
@given(prev_ticks=st.integers(min_value=1, max_value=5_000_000))
def test_store_limits_agree_with_the_rules_module(prev_ticks):
    from decimal import Decimal

    from marketmon.market.rules import limits_for
    from marketmon.market.symbols import classify

    prev = prev_ticks / 100
    s = store_with(Quote("600000.SH", name="A", prev_close=prev, last=prev))
    s.flush()
    up, down = limits_for(classify("600000.SH"), Decimal(repr(prev)), trade_date=dt.date(2025, 9, 12))
    row = s.quote("600000.SH")
    assert (row["limit_up"], row["limit_down"]) == (float(up), float(down))


@pytest.mark.parametrize("many", [False, True])  # a few rows (Python lists) and many (polars)
def test_book_levels_and_the_second_name_are_kept_as_columns(many):
    import msgspec

    from marketmon.feed.protocol import FeedDecoder

    symbols = [f"{600000 + i:06d}.SH" for i in range(300 if many else 3)]
    book = [(10.0, 500), (9.99, 1200), (9.98, 300), (9.97, 100), (9.96, 4500)]
    s = store_with(*(Quote(sym, name="浦发银行", name_en="SPDB", prev_close=10.0, bids=book) for sym in symbols))
    # Deltas through the client's narrow decoder: the C pass takes the numbers, the book in Python.
    decoder = FeedDecoder()
    for last, bid in ((10.01, 10.0), (10.02, 10.01)):
        frame = msgspec.json.encode({"type": "quotes", "seq": 1, "quotes": [
            {"symbol": sym, "last": last, "asks": [[last, 700]], "bids": [[bid, 900], [bid - 0.01, 100]]}
            for sym in symbols[1:]]})  # fmt: skip
        s.merge(decoder.decode(frame).quotes, T0)
    s.flush()
    first, other = s.quote(symbols[0]), s.quote(symbols[-1])
    assert (first["name"], first["name_zh"], first["name_en"]) == ("SPDB", "浦发银行", "SPDB")
    assert levels(first["bids"]) == book and levels(first["asks"]) == []
    assert levels(other["bids"]) == [(10.01, 900.0), (10.0, 100.0)] and levels(other["asks"]) == [(10.02, 700.0)]
    assert other["last"] == 10.02 and other["name_en"] == "SPDB"
    s.set_names("zh")  # the switch: the feed's own name, in quotes and in rows_of
    assert s.quote(symbols[0])["name"] == "浦发银行"
    assert s.rows_of(symbols[:1], ["symbol", "name"]).row(0) == (symbols[0], "浦发银行")
    with pytest.raises(ValueError):
        s.set_names("fr")


def test_an_empty_book_side_is_not_a_missing_one():
    s = store_with(Quote("688521.SH", name="芯原股份", prev_close=128.66, bids=[(154.39, 1893400)], asks=[]))
    s.flush()
    q = s.quote("688521.SH")
    assert q["asks"] is not None and levels(q["asks"]) == []  # sent empty: sealed at the limit
    assert levels(q["bids"]) == [(154.39, 1893400.0)]
    s.merge([Quote("688521.SH", last=154.39)], T0)  # a quote without a book changes none
    s.flush()
    assert levels(s.quote("688521.SH")["bids"]) == [(154.39, 1893400.0)]


def test_a_book_of_more_than_five_levels_is_refused():
    from marketmon.feed.protocol import BadFrame, decode_server

    six = [[10.0 - i / 100, 100] for i in range(6)]
    with pytest.raises(BadFrame):
        decode_server(f'{{"type":"quotes","seq":1,"quotes":[{{"symbol":"600000.SH","bids":{six}}}]}}')
