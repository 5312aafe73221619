"""Tencent `qt.gtimg.cn`: `v_<code>="f0~f1~...";` lines, GBK.

Fields (`~`-separated): 0 market (1 SH, 51 SZ, 62 BJ, 100 HK), 1 name,
2 code, 3 last, 4 prev close, 5 open, 6 volume, 9-18 five bids (price, size),
19-28 five asks (price, size), 30 time, 33 high, 34 low, 35 `last/volume/amount`
(A-shares), 36 volume, 37 amount, 38 turnover rate %, 47 limit up, 48 limit
down, 72 shares in free float (stocks).

Units differ by market:
- A-shares, BSE, A-share indices: volumes and book sizes in lots (x100
  shares); field 37 is the amount in 10k CNY, rounded to the unit, so the
  exact amount in CNY from field 35 is used when present (37 x 1e4 if not).
  Fields 47/48 are the exchange's limit prices. Field 61 names the type
  (GP-A, ETF, LOF, ZQ-KZZ for a convertible bond); on an ETF line field 78 is
  the IOPV and 77 the premium % over it (recorded 2026 lines in
  shared/samples/live/tencent-etf-*: last / (1 + f77/100) = f78 on each);
  a LOF's 78 is empty (it has no IOPV).
- HK: volumes in shares, field 37 the amount in HKD, and 48/49 are 52-week
  high/low: HK has no price limits, so nothing is read as one.

Unknown codes come back as `v_pv_none_match="1";` (the code is not named, so
the poller reports every requested code missing from the answer). Tencent has
no halt flag: an A-share line after 09:30 with no open, no volume and an empty
book on both sides is marked suspended.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from marketmon.market.rules import lot_size
from marketmon.market.symbols import SymbolError, classify, normalize
from marketmon.serve.sources.base import (
    Parsed, ParseError, Source, book, finish, local_ms, local_time, number, parse_lines, price, shares,
)  # fmt: skip

BASE_URL = "https://qt.gtimg.cn"
BATCH_SIZE = 60  # long lines (~90 fields): keep responses small and URLs short
_LINE = re.compile(r'^\s*v_(\w+)\s*=\s*"([^"]*)"\s*$')
_OPEN = dt.time(9, 30)


def code_of(symbol: str) -> str:
    inst = classify(symbol)
    if inst.exchange == "HK":
        return f"r_hk{inst.code}"  # r_: the real-time HK line, not the delayed one
    if inst.exchange == "FX":
        return f"wh{inst.code}"  # whHKDCNY: a rate line (docs/sources.md)
    return f"{inst.exchange.lower()}{inst.code}"


def build_url(base: str, codes: Sequence[str]) -> str:
    return f"{base.rstrip('/')}/q={','.join(codes)}"


def symbol_of(var: str) -> str:
    code = var[2:] if var.startswith(("r_", "wh")) else var
    return normalize(code)


def parse(body: bytes | str) -> Parsed:
    return parse_lines(body, _LINE, "Tencent", "v_", _read)


def _read(var: str, payload: str, out: Parsed) -> None:
    if var == "pv_none_match":
        return  # an unknown code, unnamed: the poller sees it missing
    try:
        symbol = symbol_of(var)
    except SymbolError:
        out.errors.append(f"{var}: not a symbol marketmon knows")
        return
    fields = payload.split("~")
    if not payload.strip() or len(fields) < 3:
        out.unknown.append(symbol)
        return
    try:
        if symbol.endswith(".FX"):
            quote = _rate(symbol, fields)
        else:
            quote = _hk(symbol, fields) if symbol.endswith(".HK") else _a_share(symbol, fields)
        out.quotes.append(finish(quote))
    except ParseError as exc:
        out.errors.append(f"{var}: {exc}")


def _rate(symbol: str, f: list[str]) -> dict[str, Any]:
    """`v_whHKDCNY="310~HKD/CNY~HKDCNY~0.8569~0~20260820152723"`: 1 name, 3 the rate, 5 its time."""
    if len(f) < 6:
        raise ParseError(f"{len(f)} fields, expected 6 for a rate")
    return {"symbol": symbol, "name": f[1], "last": price(f[3], "rate"), "ts": _ts(f[5])}


def _field(f: list[str], i: int) -> str:
    return f[i] if i < len(f) else ""


def _ts(text: str) -> int | None:
    text = text.strip()
    if len(text) == 14 and text.isdigit():  # A-shares: YYYYMMDDhhmmss
        return local_ms(f"{text[:4]}-{text[4:6]}-{text[6:8]}", f"{text[8:10]}:{text[10:12]}:{text[12:]}")
    day, _, clock = text.partition(" ")  # HK: YYYY/MM/DD hh:mm:ss
    return local_ms(day, clock) if clock else None


def _a_share(symbol: str, f: list[str]) -> dict[str, Any]:
    if len(f) < 38:
        raise ParseError(f"{len(f)} fields, expected 38 or more")
    amount = None
    parts = _field(f, 35).split("/")
    if len(parts) == 3 and parts[2].strip():
        amount = number(parts[2], "amount (field 35)")
    elif f[37].strip():
        amount = number(f[37], "amount (field 37)") * 1e4
    lot = lot_size(classify(symbol))  # lots of 100 shares, or of 10 bonds
    q: dict[str, Any] = {
        "symbol": symbol,
        "ts": _ts(f[30]),
        "name": f[1],
        "last": price(f[3], "last"),
        "prev_close": price(f[4], "prev close"),
        "open": price(f[5], "open"),
        "volume": shares(f[6], "volume", lot),
        "high": price(f[33], "high"),
        "low": price(f[34], "low"),
        "turnover": amount,
        "limit_up": price(_field(f, 47), "limit up"),
        "limit_down": price(_field(f, 48), "limit down"),
    }
    if classify(symbol).kind != "index":
        q["bid"] = price(f[9], "bid")
        q["bid_size"] = (shares(f[10], "bid size", lot) or 0) if q["bid"] else 0
        q["ask"] = price(f[19], "ask")
        q["ask_size"] = (shares(f[20], "ask size", lot) or 0) if q["ask"] else 0
        q["bids"] = book(f, 9, True, "bid", lot)  # fields 9-18: (price, lots) x 5
        q["asks"] = book(f, 19, True, "ask", lot)  # fields 19-28
        clock = local_time(q["ts"]) if q["ts"] is not None else None
        opened_time = clock is not None and clock >= _OPEN
        idle = not q["open"] and not q["volume"] and not q["bid"] and not q["ask"]
        q["suspended"] = bool(opened_time and idle)
    if _field(f, 61).startswith("GP") and _field(f, 72).strip():
        # Shares in free float (流通股本): field 38, the turnover rate, is field 6 x 100 / this
        # (shared/samples/live/tencent-stock-sh600000-20260825: 881756 lots / 33305838300 = 0.26 %).
        q["float_shares"] = shares(f[72], "float shares (field 72)") or None
    if _field(f, 61) == "ETF":
        iopv = price(_field(f, 78), "IOPV")
        if iopv:  # 0 or empty: none published (yet)
            q["iopv"] = iopv
    return q


def _hk(symbol: str, f: list[str]) -> dict[str, Any]:
    if len(f) < 38:
        raise ParseError(f"{len(f)} fields, expected 38 or more for HK")
    q: dict[str, Any] = {
        "symbol": symbol,
        "ts": _ts(f[30]),
        "name": f[1],
        "last": price(f[3], "last"),
        "prev_close": price(f[4], "prev close"),
        "open": price(f[5], "open"),
        "volume": shares(f[6], "volume"),
        "high": price(f[33], "high"),
        "low": price(f[34], "low"),
        "turnover": number(f[37], "amount") if f[37].strip() else None,
    }
    if classify(symbol).kind != "index":
        q["bid"] = price(f[9], "bid")
        q["bid_size"] = shares(f[10], "bid size") or 0
        q["ask"] = price(f[19], "ask")
        q["ask_size"] = shares(f[20], "ask size") or 0
        q["bids"] = book(f, 9, True, "bid")  # fields 9-18: (price, shares) x 5
        q["asks"] = book(f, 19, True, "ask")
    return q


SOURCE = Source("tencent", BASE_URL, BATCH_SIZE, code_of, build_url, parse, rates=True)
