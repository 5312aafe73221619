"""Protocol encode/decode: every message type, bad frames, property tests."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.feed import protocol
from marketmon.feed.protocol import BadFrame, decode_request, decode_server, encode, with_seq

EXAMPLES = [
    {"type": "hello", "protocol": 1, "server": "name/1.0", "trade_date": "2025-09-12", "tz": "Asia/Shanghai"},
    {"type": "snapshot", "seq": 1, "id": 1, "ts": 1757640600000,
     "quotes": [{"symbol": "688521.SH", "name": "VeriSilicon", "kind": "stock", "prev_close": 128.66, "last": 154.39,
                 "volume": 100, "turnover": 1.5e4, "bid": 154.39, "ask": 0, "bid_size": 100, "ask_size": 0,
                 "currency": "CNY", "st": False, "listed": "2020-08-18", "limit_up": 154.39,
                 "limit_down": 102.93, "suspended": False, "ts": 1757640600000}],
     "unknown": ["999999.SH"]},
    {"type": "quotes", "seq": 2, "ts": 1757640603000, "quotes": [{"symbol": "09988.HK", "ts": 1757640603000, "last": 158.0}]},
    {"type": "flow", "seq": 3, "ts": 1757640603000,
     "southbound": {"SH": {"buy_hkd": 2e9, "sell_hkd": 1e9, "net_buy_hkd": 1e9, "quota_cny": 42e9, "quota_left_cny": 41e9},
                    "SZ": {"buy_hkd": 1e9, "sell_hkd": 1e9, "net_buy_hkd": 0.0, "quota_cny": 42e9, "quota_left_cny": 42e9}},
     "top": [{"symbol": "09988.HK", "net_buy_hkd": 1.2e9}]},
    {"type": "flow_history", "seq": 4, "days": [{"date": "2025-09-11", "net_buy_hkd": 8.1e9, "top": [{"symbol": "09988.HK", "net_buy_hkd": 2.3e9}]}]},
    {"type": "status", "seq": 5, "ts": 1757640600000, "market": "CN", "phase": "continuous"},
    {"type": "error", "seq": 6, "code": "bad_request", "message": "..."},
    {"type": "eof", "seq": 7},
]  # fmt: skip


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m["type"])
def test_every_protocol_example_decodes_and_round_trips(message):
    decoded = decode_server(json.dumps(message))
    assert decoded is not None
    again = json.loads(encode(decoded))
    for key, value in message.items():
        assert again[key] == value, key


def test_client_requests():
    req = decode_request(b'{"op": "subscribe", "symbols": ["688521.SH", "09988.HK"], "id": 1}')
    assert (req.op, req.symbols, req.id) == ("subscribe", ["688521.SH", "09988.HK"], 1)
    assert decode_request(protocol.subscribe(["*"], 2)).symbols == ["*"]
    for bad in (b'{"op": "buy", "symbols": []}', b'{"symbols": []}', b"nope", b'{"op":"subscribe","symbols":"x"}'):
        with pytest.raises(BadFrame):
            decode_request(bad)


@pytest.mark.parametrize(
    "frame",
    [
        b"", b"null", b"[]", b"{", b'{"type": "quotes"}', b'{"type": "quotes", "seq": "1"}',
        b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","last":-1}]}',
        b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","last":NaN}]}',
        b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","last":Infinity}]}',
        b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","last":1e400}]}',
        b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","volume":1.5}]}',
        b'{"type":"quotes","seq":1,"quotes":[{"symbol":"","last":1}]}',
        b'{"type":"quotes","seq":1,"quotes":[{"last":1}]}',
        b'{"type":"status","seq":1,"market":"US","phase":"continuous"}',
        b'\xff\xfe\x00garbage', b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","name":"' + b"x" * 500 + b'"}]}',
        b"[" * 10000 + b"]" * 10000,
    ],
)  # fmt: skip
def test_bad_frames_raise_badframe_only(frame):
    with pytest.raises(BadFrame):
        decode_server(frame)


def test_unknown_types_are_skipped_not_bad():
    assert decode_server(b'{"type": "news", "seq": 3, "headline": "x"}') is None


def test_unknown_fields_are_ignored():
    msg = decode_server(b'{"type":"quotes","seq":1,"quotes":[{"symbol":"A","last":1.5,"pe":12}],"extra":{"a":1}}')
    assert msg.quotes[0].last == 1.5


def test_with_seq_numbers_a_shared_body():
    body = encode({"type": "quotes", "quotes": []})
    assert json.loads(with_seq(body, 42)) == {"seq": 42, "type": "quotes", "quotes": []}


prices = st.floats(min_value=0, max_value=1e6, allow_nan=False)
quotes = st.fixed_dictionaries(
    {"symbol": st.sampled_from(["600000.SH", "00700.HK", "589520.SH"])},
    optional={"last": prices, "high": prices, "volume": st.integers(0, 10**12), "name": st.text(max_size=40),
              "st": st.booleans(), "iopv": prices},
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(quotes, max_size=20), st.integers(1, 2**31))
def test_valid_quote_messages_round_trip(qs, seq):
    msg = decode_server(json.dumps({"type": "quotes", "seq": seq, "ts": 1, "quotes": qs}))
    assert msg.seq == seq
    assert [protocol.quote_to_dict(q) for q in msg.quotes] == qs


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200), json_values.map(lambda v: msgspec.json.encode(v)),
    # a known (or a later) type with fields of any shape: mostly invalid, sometimes not
    st.builds(lambda kind, body: msgspec.json.encode({**body, "type": kind}),
              st.sampled_from(sorted(protocol.KNOWN_TYPES) + ["later"]),
              st.dictionaries(st.sampled_from(["seq", "ts", "quotes", "market", "phase", "x"]), json_values, max_size=4)),
))  # fmt: skip
def test_fuzzed_frames_never_escape_as_other_errors(frame):
    try:
        kind = json.loads(frame).get("type")  # what a plain parse makes of it
    except (ValueError, AttributeError, RecursionError):
        kind = False  # not a JSON object
    try:
        msg = decode_server(frame)
    except BadFrame:
        assert kind is False or not isinstance(kind, str) or kind in protocol.KNOWN_TYPES, kind  # an unknown type is skipped
        return
    if msg is None:  # skipped: a well-formed message of a type this client does not know
        assert isinstance(kind, str) and kind not in protocol.KNOWN_TYPES
    else:  # accepted: a message of a known type, which encodes back to itself
        assert kind == type(msg).__struct_config__.tag
        assert decode_server(encode(msg)) == msg


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {"type": st.just("quotes"), "seq": st.integers(1, 10**6)},
        optional={"quotes": st.lists(st.dictionaries(st.sampled_from(["symbol", "last", "volume", "name"]), json_values), max_size=3)},
    )
)  # fmt: skip
def test_fuzzed_quote_fields_either_validate_or_are_bad(message):
    try:
        msg = decode_server(msgspec.json.encode(message))
    except BadFrame:
        return
    for q in msg.quotes:
        assert isinstance(q.symbol, str) and q.symbol
        assert q.last is None or 0 <= q.last <= 1e9


_FIELD_VALUES = {
    "ts": st.integers(-5, 10**14 + 5), "last": st.floats(-1, 2e9) | st.none() | st.just("1.5"),
    "high": st.floats(0, 1e9), "volume": st.integers(-1, 10**15 + 1) | st.floats(0, 10),
    "turnover": st.floats(-1e17, 1e17), "bid": st.floats(0, 1e9), "iopv": st.none() | st.floats(0, 10),
    "name": st.text(max_size=210), "kind": st.sampled_from(["stock", "etf", "bond"]),
    "suspended": st.booleans() | st.just(1), "listed": st.sampled_from(["2024-02-29", "2025-02-29", "x"]),
    "new_field": st.integers() | st.lists(st.integers(), max_size=2),
}  # fmt: skip
_quotes = st.fixed_dictionaries(
    {"symbol": st.sampled_from(["600000.SH", "00700.HK", "", "x" * 17])},
    optional={f: v for f, v in _FIELD_VALUES.items()},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_quotes, max_size=4), min_size=1, max_size=8))
def test_the_feed_decoder_agrees_with_decode_server(batches):
    """FeedDecoder learns each feed's delta fields; whatever it learned, its verdict
    and its quotes are decode_server's."""
    decoder = protocol.FeedDecoder()
    for n, quotes in enumerate(batches):
        frame = json.dumps({"type": "quotes", "seq": n + 1, "ts": 1757640600000, "quotes": quotes}).encode()
        try:
            expected = msgspec.to_builtins(decode_server(frame))
        except BadFrame:
            with pytest.raises(BadFrame):
                decoder.decode(frame)
            continue
        assert msgspec.to_builtins(decoder.decode(frame)) == expected
