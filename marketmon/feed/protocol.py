"""Wire protocol v1 (docs/protocol.md): typed decode and encode of every message.

msgspec validates while it decodes, in C, so a frame is checked for the cost
of parsing it. A frame that fails is a `BadFrame`: the client counts it and
skips it; the stream goes on. Unknown fields are ignored (the protocol grows
additively), unknown message types are reported as `None` and skipped.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, Literal

import msgspec

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024  # PROTOCOL section 2: at least 16 MiB
# What a server accepts from a client: a subscribe for the whole market is
# ~100 KB, so 1 MiB is ample and keeps a stranger from making it parse 16 MiB.
MAX_REQUEST_BYTES = 1024 * 1024

# Bounds that reject nonsense without rejecting any real market: no price is
# negative or above a billion, no name is longer than a line.
Price = Annotated[float, msgspec.Meta(ge=0, le=1e9)]
Amount = Annotated[float, msgspec.Meta(ge=-1e16, le=1e16)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10**15)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=10**14)]
Symbol = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Text = Annotated[str, msgspec.Meta(max_length=200)]
# A real calendar date, YYYY-MM-DD, checked in the decoder (the store parses it
# with date.fromisoformat, which must never see "2025-02-30", "0000-01-01",
# non-ASCII digits or a trailing newline: `$` would allow one, `\Z` does not).
_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_LEAP = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29"
Date = Annotated[str, msgspec.Meta(pattern=rf"^(?!0000)(?:[0-9]{{4}}-{_DAY}|{_LEAP})\Z")]
# A market time of day, HH:MM:SS (a seal time of the limit pools).
TimeOfDay = Annotated[str, msgspec.Meta(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\Z")]
Days = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
# An order book side, best first: up to five [price, size] levels (size in shares,
# bonds for convertible bonds), as Tencent and Sina publish them.
Level = tuple[Price, Count]
Book = Annotated[list[Level], msgspec.Meta(max_length=5)]


# The kinds the wire names. Closed, since clients validate it: a newer kind
# (bond, reit, other) is sent without `kind`, and the client classifies by code.
WireKind = Literal["stock", "etf", "index", "fund"]
WIRE_KINDS: frozenset[str] = frozenset(WireKind.__args__)  # type: ignore[attr-defined]


class Quote(msgspec.Struct, omit_defaults=True, gc=False):
    """A full (snapshot) or partial (quotes) quote; absent fields are None.

    gc=False: a quote holds only scalars, so the cycle collector need not
    track the hundreds of thousands made per second.
    """

    symbol: Symbol
    ts: Millis | None = None
    name: Text | None = None
    kind: WireKind | None = None  # a bond, REIT or unknown board goes without: the code says what it is
    prev_close: Price | None = None
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    last: Price | None = None
    volume: Count | None = None
    turnover: Amount | None = None
    bid: Price | None = None
    ask: Price | None = None
    bid_size: Count | None = None
    ask_size: Count | None = None
    iopv: Price | None = None
    currency: Annotated[str, msgspec.Meta(max_length=8)] | None = None
    st: bool | None = None
    listed: Date | None = None
    limit_up: Price | None = None
    limit_down: Price | None = None
    suspended: bool | None = None
    # The limit pools (docs/protocol.md), sent by sources that publish them:
    limit_days: Days | None = None  # consecutive limit-up closes before today
    limit_down_days: Days | None = None  # consecutive limit-down closes before today
    seal_amount: Amount | None = None  # the published seal (封单额), quote currency
    first_seal: TimeOfDay | None = None  # first time at the limit today
    last_seal: TimeOfDay | None = None  # last time it sealed the limit today
    board_opens: Days | None = None  # times the sealed board opened today (炸板次数)
    ah_pair: Symbol | None = None  # an A share's H share (A/H pair), from a source that lists pairs
    # Added, optional (docs/protocol.md): a second name, the book's five levels, and
    # what turnover rate and volume ratio are worked out from.
    name_en: Text | None = None  # English name beside `name` (the source's, often Chinese)
    bids: Book | None = None  # best first: [[price, size], ...], up to 5
    asks: Book | None = None
    float_shares: Count | None = None  # shares in free float (流通股本): turnover rate = volume / this
    avg_volume_5d: Count | None = None  # average daily volume of the last 5 days: volume ratio (量比)


QUOTE_FIELDS: tuple[str, ...] = Quote.__struct_fields__


class Flow(msgspec.Struct, omit_defaults=True):
    # HKD as HKEX counts the turnover, or (added) CNY as the public mainland
    # sources publish it: absent means unknown, never 0.
    buy_hkd: Amount | None = None
    sell_hkd: Amount | None = None
    net_buy_hkd: Amount | None = None
    quota_cny: Amount | None = None
    quota_left_cny: Amount | None = None
    buy_cny: Amount | None = None
    sell_cny: Amount | None = None
    net_buy_cny: Amount | None = None


class TopName(msgspec.Struct):
    symbol: Symbol
    net_buy_hkd: Amount


class FlowDay(msgspec.Struct, omit_defaults=True):
    date: Date
    net_buy_hkd: Amount | None = None
    top: list[TopName] = []
    net_buy_cny: Amount | None = None  # added: a day as a mainland source gives it


class Hello(msgspec.Struct, tag="hello", tag_field="type"):
    protocol: int = PROTOCOL_VERSION
    server: Text = ""
    trade_date: Date | None = None
    tz: Text = "Asia/Shanghai"


class Snapshot(msgspec.Struct, tag="snapshot", tag_field="type", omit_defaults=True):
    seq: int
    quotes: list[Quote] = []
    id: int | None = None
    ts: Millis | None = None
    unknown: list[Text] = []
    more: bool = False


class Quotes(msgspec.Struct, tag="quotes", tag_field="type", omit_defaults=True):
    seq: int
    quotes: list[Quote] = []
    ts: Millis | None = None


class FlowMsg(msgspec.Struct, tag="flow", tag_field="type", omit_defaults=True):
    seq: int
    southbound: dict[Literal["SH", "SZ"], Flow] = {}
    top: list[TopName] = []
    ts: Millis | None = None


class FlowHistory(msgspec.Struct, tag="flow_history", tag_field="type"):
    seq: int
    days: list[FlowDay] = []


class Status(msgspec.Struct, tag="status", tag_field="type", omit_defaults=True):
    seq: int
    market: Literal["CN", "HK"]
    phase: Literal[
        "pre_open", "call_auction", "continuous", "lunch_break", "closing_auction", "closed"
    ]
    ts: Millis | None = None


class Error(msgspec.Struct, tag="error", tag_field="type", omit_defaults=True):
    seq: int | None = None
    code: Text = "error"
    message: Text = ""
    id: int | None = None


class Eof(msgspec.Struct, tag="eof", tag_field="type"):
    seq: int | None = None


class SourceState(msgspec.Struct, tag="source", tag_field="type", omit_defaults=True):
    """A bridge's public source: answering ("up") or not ("down", and why). Added
    later than the rest: older clients skip it as a type they do not know."""

    seq: int
    name: Text
    state: Literal["up", "down"]
    detail: Text = ""
    ts: Millis | None = None


ServerMessage = Hello | Snapshot | Quotes | FlowMsg | FlowHistory | Status | Error | Eof | SourceState
KNOWN_TYPES = frozenset(("hello", "snapshot", "quotes", "flow", "flow_history", "status", "error", "eof", "source"))

_server_decoder = msgspec.json.Decoder(ServerMessage)
_encoder = msgspec.json.Encoder()


class BadFrame(ValueError):
    """A frame that is not a valid protocol message; the reason says why."""


class _TypeOnly(msgspec.Struct):
    type: str


_type_decoder = msgspec.json.Decoder(_TypeOnly)


def decode_server(frame: bytes | str) -> ServerMessage | None:
    """Decode one server frame. None for a well-formed message of a type we do not know."""
    try:
        return _server_decoder.decode(frame)
    except msgspec.ValidationError as exc:
        # A newer server may send types we do not know yet: skip, do not count.
        try:
            kind = _type_decoder.decode(frame).type
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            raise BadFrame(str(exc)) from None
        if kind not in KNOWN_TYPES:
            return None
        raise BadFrame(str(exc)) from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        # RecursionError: absurdly deep nesting is hostile, not a market message.
        # UnicodeDecodeError: a binary frame whose strings are not UTF-8.
        raise BadFrame(str(exc) or "nesting too deep") from None


class FeedDecoder:
    """`decode_server` for a client that follows one feed, with cheaper quotes.

    The quotes of a `quotes` message decode into a struct that has only the
    fields this feed's deltas were seen to carry (a `Tick`), not all 22 of a
    `Quote`: whoever takes the quotes apart then pays for those fields only.
    The fields are learned: a quote with a field the `Tick` lacks fails the
    narrow decode (`forbid_unknown_fields`), the frame goes through
    `decode_server` as before, and the fields its quotes carry join the
    `Tick`. Every frame the narrow decoder refuses gets exactly
    `decode_server`'s verdict, and the narrow one accepts nothing that
    `decode_server` would refuse (same types, same bounds), so validation is
    unchanged. A field outside the protocol in every delta keeps a feed on
    the slow path (decoded twice): correct, just slower.
    """

    def __init__(self) -> None:
        self.fields: frozenset[str] = frozenset(("symbol",))
        self._decode = _narrow_decoder(self.fields).decode

    def decode(self, frame: bytes | str) -> ServerMessage | None:
        try:
            return self._decode(frame)  # type: ignore[no-any-return]
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
            msg = decode_server(frame)  # the verdict, or BadFrame
            field = _UNKNOWN_FIELD.search(str(exc))
            if isinstance(msg, Quotes) and field is not None and field.group(1) in _QUOTE_TYPES:
                self._learn(msg.quotes, field.group(1))
            return msg

    def _learn(self, quotes: list[Quote], named: str) -> None:
        """Add the field the narrow decoder tripped on, and every field these quotes carry."""
        seen = {f for q in quotes for f, value in zip(QUOTE_FIELDS, msgspec.structs.astuple(q)) if value is not None}
        seen.add(named)
        if not seen <= self.fields:
            self.fields = self.fields | seen
            self._decode = _narrow_decoder(self.fields).decode


_QUOTE_TYPES = typing.get_type_hints(Quote, include_extras=True)
_UNKNOWN_FIELD = re.compile(r"unknown field `([a-z_]+)`")


def _narrow_decoder(fields: frozenset[str]) -> msgspec.json.Decoder:
    """The server decoder with `quotes` messages holding Ticks of these fields."""
    tick = msgspec.defstruct(
        "Tick",
        [(f, _QUOTE_TYPES[f]) if f == "symbol" else (f, _QUOTE_TYPES[f], None) for f in QUOTE_FIELDS if f in fields],
        omit_defaults=True, forbid_unknown_fields=True, gc=False,
    )  # fmt: skip
    quotes = msgspec.defstruct("Quotes", [("quotes", list[tick], [])], bases=(Quotes,))  # type: ignore[valid-type]
    return msgspec.json.Decoder(Hello | Snapshot | quotes | FlowMsg | FlowHistory | Status | Error | Eof)


# Client -> server ---------------------------------------------------------------


class ClientRequest(msgspec.Struct, omit_defaults=True):
    op: Literal["subscribe", "unsubscribe"]
    symbols: list[Annotated[str, msgspec.Meta(max_length=32)]]
    id: int | None = None
    token: str | None = None


_request_decoder = msgspec.json.Decoder(ClientRequest)


def decode_request(frame: bytes | str) -> ClientRequest:
    try:
        return _request_decoder.decode(frame)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise BadFrame(str(exc)) from None


def encode(message: Any) -> bytes:
    """Encode a message (a Struct or a plain dict) as compact JSON."""
    return _encoder.encode(message)


def subscribe(symbols: list[str], request_id: int) -> bytes:
    return encode({"op": "subscribe", "symbols": symbols, "id": request_id})


def with_seq(body: bytes, seq: int) -> bytes:
    """Number an encoded message for one connection without re-encoding it.

    The server encodes a message body once and sends it to many connections,
    each with its own seq, by splicing `"seq":N` in front of the body's fields.
    """
    return b'{"seq":%d,%s' % (seq, body[1:]) if body != b"{}" else b'{"seq":%d}' % seq


def quote_to_dict(quote: Quote) -> dict[str, Any]:
    """The quote as a plain dict with only the fields it carries."""
    return msgspec.to_builtins(quote)
