"""Sina `hq.sinajs.cn`: `var hq_str_<code>="f0,f1,...";` lines, GBK.

A-share / BSE lines (sh600000, sz000001, bj920118), 32+ comma fields:
0 name, 1 open, 2 prev close, 3 last, 4 high, 5 low, 6 bid, 7 ask,
8 volume (shares), 9 amount (CNY), 10-19 five bids (size in shares, price),
20-29 five asks, 30 date, 31 time, 32 status ("00" trading, "01"-"07" halted).
`0.000` means "none" (no trade yet, empty book side, halted), never a price.
`""` is a code Sina does not know: reported as unknown, skipped.
Index lines (sh000001) have the same layout with an empty book; their volume
is left out because Sina reports it in lots for SSE and shares for SZSE
indices, while the amount (CNY) is consistent and kept.

HK lines (rt_hk00700, and rt_hkHSI / rt_hkHSTECH for indices):
0 English name, 1 Chinese name, 2 open, 3 prev close, 4 high, 5 low, 6 last,
7 change, 8 pct, 9 bid, 10 ask, 11 amount (HKD), 12 volume (shares),
15/16 52-week high/low (not limits: HK has none), 17 date, 18 time.
HK lines carry no book sizes and no halt flag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from marketmon.market.symbols import SymbolError, classify, normalize
from marketmon.serve.sources.base import (
    Parsed, ParseError, Source, book, finish, local_ms, number, parse_lines, price, shares,
)  # fmt: skip

BASE_URL = "https://hq.sinajs.cn"
# Sina answers 403 without a Referer from its own finance site.
HEADERS = {"Referer": "https://finance.sina.com.cn/"}
BATCH_SIZE = 800

_LINE = re.compile(r'^\s*var\s+hq_str_(\w+)\s*=\s*"([^"]*)"\s*$')
# Status 00 is normal trading; 01-05 are the halt kinds (an hour, a day, until
# further notice, intraday, half a day), 07 listing suspended.
_HALTED = frozenset({"01", "02", "03", "04", "05", "07"})
_NOT_TRADED = frozenset({"-1", "-2", "-3"})  # no record, not listed yet, delisted


def code_of(symbol: str) -> str:
    inst = classify(symbol)
    if inst.exchange == "HK":
        return f"rt_hk{inst.code}"
    return f"{inst.exchange.lower()}{inst.code}"


def build_url(base: str, codes: Sequence[str]) -> str:
    return f"{base.rstrip('/')}/list={','.join(codes)}"


def symbol_of(var: str) -> str:
    """`sh600000` / `rt_hk00700` / `hkHSI` -> canonical symbol (SymbolError if not one)."""
    code = var[3:] if var.startswith("rt_") else var
    return normalize(code)


def parse(body: bytes | str) -> Parsed:
    return parse_lines(body, _LINE, "Sina", "hq_str_", _read)


def _read(var: str, payload: str, out: Parsed) -> None:
    try:
        symbol = symbol_of(var)
    except SymbolError:
        out.errors.append(f"{var}: not a symbol marketmon knows")
        return
    if not payload.strip():
        out.unknown.append(symbol)
        return
    fields = payload.split(",")
    try:
        quote = _hk(symbol, fields) if symbol.endswith(".HK") else _a_share(symbol, fields)
        if quote is None:
            out.unknown.append(symbol)
            return
        out.quotes.append(finish(quote))
    except ParseError as exc:
        out.errors.append(f"{var}: {exc}")


def _a_share(symbol: str, f: list[str]) -> dict[str, Any] | None:
    if len(f) < 32:
        raise ParseError(f"{len(f)} fields, expected 32 or more")
    status = f[32].strip() if len(f) > 32 else "00"
    if status in _NOT_TRADED:
        return None
    index = classify(symbol).kind == "index"
    q: dict[str, Any] = {
        "symbol": symbol,
        "ts": local_ms(f[30], f[31]),
        "name": f[0],
        "open": price(f[1], "open"),
        "prev_close": price(f[2], "prev close"),
        "last": price(f[3], "last"),
        "high": price(f[4], "high"),
        "low": price(f[5], "low"),
        "volume": None if index else shares(f[8], "volume"),
        "turnover": number(f[9], "amount") if f[9].strip() else None,
    }
    if not index:
        # Level 1 of the book: size 0 with no price is an empty side.
        q["bid_size"] = shares(f[10], "bid size") or 0
        q["bid"] = price(f[11], "bid")
        q["ask_size"] = shares(f[20], "ask size") or 0
        q["ask"] = price(f[21], "ask")
        q["bids"] = book(f, 10, False, "bid")  # fields 10-19: (size, price) x 5
        q["asks"] = book(f, 20, False, "ask")  # fields 20-29
    if not index and status in _HALTED:
        q["suspended"] = True
    elif not index and status == "00":
        q["suspended"] = False  # sent, so that a resumption shows up as a change
    return q


def _hk(symbol: str, f: list[str]) -> dict[str, Any]:
    if len(f) < 19:
        raise ParseError(f"{len(f)} fields, expected 19 or more for HK")
    return {
        "symbol": symbol,
        "ts": local_ms(f[17], f[18]),
        "name": f[1] or f[0],
        "name_en": f[0] if f[1] and f[0] and f[0] != f[1] else None,  # field 0 is the English name
        "open": price(f[2], "open"),
        "prev_close": price(f[3], "prev close"),
        "high": price(f[4], "high"),
        "low": price(f[5], "low"),
        "last": price(f[6], "last"),
        "bid": price(f[9], "bid"),
        "ask": price(f[10], "ask"),
        "turnover": number(f[11], "amount") if f[11].strip() else None,
        "volume": shares(f[12], "volume"),
    }


SOURCE = Source("sina", BASE_URL, BATCH_SIZE, code_of, build_url, parse, HEADERS, budget=300)
