"""East Money push2 JSON: `clist` / `ulist.np` lists and `stock/get` (UTF-8).

List answers (`clist/get`, and `ulist.np/get?secids=...` which the poller
uses for a watchlist) hold `data.diff`, a list (or an object keyed "0", "1",
... without `np=1`) of items: f1 decimal places, f2 last, f5 volume, f6
amount, f12 code, f13 market, f14 name, f15 high, f16 low, f17 open, f18 prev
close, f124 quote time (epoch s), f152 decimal places (again), f441 an ETF's IOPV (实时估值, read by akshare's
`fund_etf_spot_em`; no recorded answer carries it: a value more than 50 %
away from the price is not taken as one).
`stock/get` holds one item in `data`: f43 last, f44 high, f45 low, f46 open,
f47 volume, f48 amount, f51/f52 limit up/down, f57 code, f58 name, f59
decimal places, f60 prev close, f86 quote time (epoch s), f107 market,
f19/f20 bid 1 price/size, f39/f40 ask 1 price/size. `"data": null` means an
unknown code.

Scaling: with `fltt=2` prices are decimals; without it (and with `fltt=1`,
which the poller asks for because integers are exact) every price is an
integer times 10**dp, where dp is the item's decimal places (f1, f59 or
f152: 2 for stocks and indices, 3 for ETFs/LOFs and HK stocks). When an item
carries no dp field, 3 is assumed for funds and HK, 2 otherwise. An item
whose prices are all JSON integers is read as scaled; any decimal means fltt=2.

Units: A-share volumes and book sizes are in lots (x100 shares), HK ones in
shares; amounts are in currency units. Market ids: 1 SH, 0 SZ and BSE,
116 HK stocks, 100 (HSI, HSCEI) and 124 (HSTECH) HK indices. `"-"` marks a
missing value: a quote after 09:30 with neither a last price nor volume is
an instrument that is not trading today, marked suspended.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from decimal import Decimal
from collections.abc import Sequence
from typing import Any

import msgspec

from marketmon.market.rules import lot_size, tick_size
from marketmon.market.symbols import SymbolError, classify, normalize
from marketmon.serve.sources.base import Parsed, ParseError, Source, finish, local_time

BASE_URL = "https://push2.eastmoney.com"
BATCH_SIZE = 200  # secids per ulist request
LIST_FIELDS = "f1,f2,f5,f6,f12,f13,f14,f15,f16,f17,f18,f124,f152,f441"
_JSONP = re.compile(r"^\s*[\w$.]+\s*\((.*)\)\s*;?\s*$", re.S)
_OPEN = dt.time(9, 30)
_HK_INDEX_SECIDS = {"HSI": "100.HSI", "HSCEI": "100.HSCEI", "HSTECH": "124.HSTECH", "HSAHP": "100.HSAHP"}
# The HKD/CNY central parity as a public page asks stock/get for it (docs/sources.md; not confirmed in ulist).
_FX_SECIDS = {"HKDCNY.FX": "120.HKDCNYC"}
_decoder = msgspec.json.Decoder()

# (last, high, low, open, prev close, volume, amount, code, market, name, time) per layout
_LIST = ("f2", "f15", "f16", "f17", "f18", "f5", "f6", "f12", "f13", "f14", "f124")
_GET = ("f43", "f44", "f45", "f46", "f60", "f47", "f48", "f57", "f107", "f58", "f86")


def code_of(symbol: str) -> str:
    """Canonical symbol -> East Money `secid` (market.code)."""
    inst = classify(symbol)
    if inst.exchange == "HK":
        return _HK_INDEX_SECIDS.get(inst.code, f"116.{inst.code}")
    if inst.exchange == "FX":
        return _FX_SECIDS[symbol]
    return f"{1 if inst.exchange == 'SH' else 0}.{inst.code}"


def build_url(base: str, codes: Sequence[str]) -> str:
    return f"{base.rstrip('/')}/api/qt/ulist.np/get?fltt=1&invt=2&fields={LIST_FIELDS}&secids={','.join(codes)}"


def symbol_of(market: Any, code: str) -> str:
    if not isinstance(market, int) or isinstance(market, bool) or not isinstance(code, str):
        raise SymbolError(f"market id {market!r} is not one marketmon follows")
    return _symbol_of(market, code)


@lru_cache(maxsize=65536)  # a whole market polled every 3 s asks the same ~9,000 pairs each time
def _symbol_of(market: int, code: str) -> str:
    if market == 1:
        return normalize(f"{code}.SH")
    if market == 0:  # SZ and BSE share market id 0
        try:
            return normalize(f"{code}.SZ")
        except SymbolError:
            return normalize(f"{code}.BJ")
    if market == 116 or (market in (100, 124) and code in _HK_INDEX_SECIDS):
        return normalize(f"{code}.HK")
    fx = next((s for s, secid in _FX_SECIDS.items() if secid == f"{market}.{code}"), None)
    if fx is not None:
        return fx
    raise SymbolError(f"market id {market!r} is not one marketmon follows")


def decode(body: bytes | str) -> dict[str, Any]:
    """A push2 answer as a dict with a 'data' key; ParseError for anything else."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    m = _JSONP.match(text)  # a response saved from a browser may be JSONP-wrapped
    try:
        doc = _decoder.decode(m.group(1) if m else text)
    except msgspec.DecodeError as exc:
        raise ParseError(f"not East Money JSON: {exc}") from None
    if not isinstance(doc, dict) or "data" not in doc:
        raise ParseError("not an East Money push2 answer: no 'data'")
    return doc


def parse(body: bytes | str) -> Parsed:
    data = decode(body)["data"]
    out = Parsed()
    if data is None:
        return out  # stock/get for an unknown code; a list answer with no hits
    if not isinstance(data, dict):
        raise ParseError("East Money 'data' is not an object")
    if "diff" in data:
        diff = data["diff"]
        items = list(diff.values()) if isinstance(diff, dict) else diff
        if not isinstance(items, list):
            raise ParseError("East Money 'data.diff' is neither a list nor an object")
        layout = _LIST
    else:
        items, layout = [data], _GET
    for item in items:
        try:
            if not isinstance(item, dict):
                raise ParseError(f"item is not an object: {item!r:.60}")
            out.quotes.append(finish(_item(item, layout)))
        except (ParseError, SymbolError) as exc:
            out.errors.append(str(exc))
    return out


# The price fields of each layout (list, stock/get); f441 is an ETF's IOPV.
_PRICE_KEYS = {
    False: ("f2", "f15", "f16", "f17", "f18", "f441"),
    True: ("f43", "f44", "f45", "f46", "f60", "f51", "f52", "f19", "f39", "f441"),
}


def _num(item: dict[str, Any], key: str) -> float | int | None:
    v = item.get(key)
    kind = type(v)
    if kind is int:  # the common cases first: a whole market is ~100,000 fields a cycle
        return v
    if kind is float and v - v == 0:  # finite (inf - inf and nan - nan are nan)
        return v
    if v is None or v == "-" or v == "":
        return None
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise ParseError(f"{key}: {v!r} is not a number") from None
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v in (float("inf"), float("-inf")):
        raise ParseError(f"{key}: {v!r} is not a number")
    return v


def _item(item: dict[str, Any], layout: tuple[str, ...]) -> dict[str, Any]:
    k_last, k_high, k_low, k_open, k_prev, k_vol, k_amt, k_code, k_mkt, k_name, k_time = layout
    code = str(item.get(k_code, "")).strip()
    if not code:
        raise ParseError(f"item without a code ({k_code})")
    market = item.get(k_mkt)
    symbol = symbol_of(market, code) if market is not None else normalize(code)
    inst = classify(symbol)
    hk = inst.exchange == "HK"
    dp = None
    for k in ("f1", "f59", "f152"):
        v = item.get(k)
        if type(v) is int and 0 <= v <= 6:
            dp = v
            break
    if dp is None and inst.kind == "fx":
        dp = 4  # a rate to four places, as the public page reads it
    if dp is None:
        dp = 3 if (hk and inst.kind != "index") or (not hk and tick_size(inst) < Decimal("0.01")) else 2
    raw = {k: _num(item, k) for k in _PRICE_KEYS[layout is _GET]}
    # Scaled integers (fltt=1) or decimals (fltt=2): all the prices say which; the IOPV does not decide it.
    present = [v for k, v in raw.items() if v is not None and k != "f441"]
    scaled = bool(present) and all(type(v) is int for v in present)
    scale = 10**dp

    def px(key: str) -> float | None:
        v = raw[key]
        if v is None or v <= 0:
            return None
        # An int over a power of ten, divided once, is already the double nearest the
        # decimal (IEEE division rounds correctly): 1234 / 100 == 12.34, no round() needed.
        return v / scale if scaled and type(v) is int else float(v)

    lot = lot_size(inst)  # lots of 100 shares, or of 10 bonds; HK in shares
    volume = _num(item, k_vol)
    amount = _num(item, k_amt)
    seconds = _num(item, k_time)
    ts = int(seconds * 1000) if seconds and seconds > 0 else None
    q: dict[str, Any] = {
        "symbol": symbol,
        "ts": ts,
        "name": str(item[k_name]) if item.get(k_name) not in (None, "-") else None,
        "last": px(k_last),
        "high": px(k_high),
        "low": px(k_low),
        "open": px(k_open),
        "prev_close": px(k_prev),
        "volume": round(volume * lot) if volume is not None and volume >= 0 else None,
        "turnover": float(amount) if amount is not None else None,
    }
    iopv = px("f441") if inst.kind == "etf" else None
    near = q["last"] or q["prev_close"]
    if iopv is not None and near and abs(iopv / near - 1) <= 0.5:
        q["iopv"] = iopv
    if layout is _GET:
        q["limit_up"], q["limit_down"] = px("f51"), px("f52")
        if inst.kind != "index":
            for side, kp, ks in (("bid", "f19", "f20"), ("ask", "f39", "f40")):
                q[side] = px(kp)
                size = _num(item, ks)
                q[f"{side}_size"] = round(size * lot) if q[side] and size and size > 0 else 0
    tradable = inst.kind not in ("index", "fx")
    if tradable and q["last"] is not None:
        q["suspended"] = False
    elif tradable and ts is not None and not q["volume"]:
        clock = local_time(ts)
        if clock is not None:
            q["suspended"] = clock >= _OPEN
    return q


# 50 requests a minute: one public client reports East Money's push2 hosts banning
# an address for hours at 200 a minute or 300 in five (docs/sources.md, Politeness).
SOURCE = Source("eastmoney", BASE_URL, BATCH_SIZE, code_of, build_url, parse, budget=50, rates=True,
                more_indices=True)
