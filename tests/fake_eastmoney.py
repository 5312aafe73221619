"""A local server that answers like East Money: the whole market, quotes,
Southbound flow and the limit pools, with faults on demand. No network.

Used by the tests, and by hand to look at a live screen:

    .venv/bin/python -m tests.fake_eastmoney --port 8765 --instruments 9000
    .venv/bin/marketmon --source eastmoney --base-url http://127.0.0.1:8765

The market: `serve.universe` instruments (A-shares on every board, ETFs, HK
stocks) plus the strip's indices. Prices move with the wall clock, so every
poll sees changes. Some A-shares sit at their limit-up (sealed: no ask), a few
at limit-down, a few touched the limit and broke; the pools list exactly
those, with seal times, seal amounts and consecutive-limit counts. ETFs carry
an IOPV (f441). Formats follow the recorded answers in shared/samples/live
(clist/ulist `data.diff` with fltt=1 integers, kamt legs in 10k CNY, pools
with prices x1000 and HHMMSS times).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
import time
import urllib.parse
import zlib
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from marketmon.market.rules import limits_for, tick_size
from marketmon.market.sessions import trade_date_of
from marketmon.market.symbols import INDICES, SOURCE_INDICES, classify
from marketmon.serve.sources.market import FILTERS
from marketmon.serve.universe import instruments

# secid of each strip index, and a plausible level
INDEX_SECIDS = {"000001.SH": ("1.000001", 3870.6), "399001.SZ": ("0.399001", 13005.8),
                "399006.SZ": ("0.399006", 3020.1), "000688.SH": ("1.000688", 1325.4),
                "000300.SH": ("1.000300", 4520.2), "HSI.HK": ("100.HSI", 26388.2),
                "HSTECH.HK": ("124.HSTECH", 6169.3), "399106.SZ": ("0.399106", 2480.7),
                "899050.BJ": ("0.899050", 1530.2), "HSAHP.HK": ("100.HSAHP", 131.5)}  # fmt: skip
FAULTS = ("403", "429", "html", "truncated", "frozen")


def hhmmss(seconds_after_0930: int) -> int:
    """A market time as East Money's pools write it: 09:31:00 -> 93100."""
    t = dt.datetime(2000, 1, 1, 9, 30) + dt.timedelta(seconds=seconds_after_0930)
    return t.hour * 10000 + t.minute * 100 + t.second


def market_id(symbol: str) -> int:
    return {"SH": 1, "SZ": 0, "BJ": 0, "HK": 116}[symbol.rsplit(".", 1)[1]]


class FakeMarket:
    def __init__(self, n: int = 300, seed: int = 7, trade_date: dt.date | None = None) -> None:
        self.trade_date = trade_date or trade_date_of(int(time.time() * 1000))
        self.insts = {i.symbol: i for i in instruments(n, seed)}
        stocks = sorted(s for s, i in self.insts.items() if i.kind == "stock" and not s.endswith(".HK"))
        # Fixed roles: sealed limit-ups (a ladder of 1..4 boards), limit-downs, broken boards.
        self.sealed = stocks[: max(1, len(stocks) // 25)]
        self.down = stocks[len(self.sealed) : len(self.sealed) + max(1, len(stocks) // 100)]
        self.broken = stocks[len(self.sealed) + len(self.down) :][: max(1, len(stocks) // 80)]
        self.names = {s: f"名{s[:6].lstrip('0') or '0'}" for s in self.insts}
        self.faults: list[str] = []  # consumed one per quote request: "403", "429", "html", "truncated", "frozen"
        self.fault_paths: tuple[str, ...] = ("/api/qt/ulist.np/get", "/q=")
        self.flow_date: str | None = None  # the kamt answer's date (None: the trade date)
        self.list_delay = 0.0  # seconds each market-list page takes
        self.frozen_at: float | None = None  # "frozen": answers stop changing
        self.requests: list[str] = []

    # prices ----------------------------------------------------------------

    def limits(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        inst = classify(symbol)
        prev = Decimal(str(self.insts[symbol].prev_close))
        return limits_for(inst, prev, trade_date=self.trade_date)

    def clock(self) -> float:
        return self.frozen_at if self.frozen_at is not None else time.time()

    def last(self, symbol: str) -> Decimal:
        prev = Decimal(str(self.insts[symbol].prev_close))
        limits = None if symbol.endswith(".HK") else self.limits(symbol)
        if symbol in self.sealed and limits:
            return limits[0]
        if symbol in self.down and limits:
            return limits[1]
        tick = tick_size(classify(symbol))
        wiggle = (zlib.crc32(symbol.encode()) % 7 - 3) + int(self.clock()) % 5  # moves every second
        pct = Decimal(wiggle) / 100 if symbol not in self.broken else Decimal("0.06")
        return max(tick, (prev * (1 + pct) / tick).quantize(Decimal(1)) * tick)

    def quote_item(self, secid: str) -> dict[str, Any] | None:
        now = int(self.clock())
        for symbol, (sid, level) in INDEX_SECIDS.items():
            if sid == secid:
                move = 1 + ((now % 11) - 5) / 1000
                dp = 2
                return {"f1": dp, "f2": round(level * move * 100), "f5": 10_000_000 + now % 1000,
                        "f6": 9.1e11 + now % 1000, "f12": sid.split(".")[1], "f13": int(sid.split(".")[0]),
                        "f14": {**INDICES, **SOURCE_INDICES}[symbol], "f15": round(level * 1.01 * 100), "f16": round(level * 0.99 * 100),
                        "f17": round(level * 100), "f18": round(level * 100), "f124": now, "f152": dp}  # fmt: skip
        if secid == "120.HKDCNYC":  # the HKD/CNY central parity, four places
            return {"f1": 4, "f2": 9131, "f12": "HKDCNYC", "f13": 120, "f14": "HKD/CNY", "f18": 9128, "f124": now}
        m, code = secid.split(".")
        symbol = next((s for s in (f"{code}.SH", f"{code}.SZ", f"{code}.BJ", f"{code}.HK")
                       if s in self.insts and market_id(s) == int(m)), None)  # fmt: skip
        if symbol is None:
            return None
        inst = self.insts[symbol]
        dp = 3 if inst.kind == "etf" or symbol.endswith(".HK") else 2
        scale = 10**dp
        last, prev = self.last(symbol), Decimal(str(inst.prev_close))
        limits = self.limits(symbol) if symbol in self.broken else None
        high = limits[0] if limits else max(last, prev)  # a broken board touched its limit
        item = {"f1": dp, "f2": int(last * scale), "f5": 12_345 + now % 100, "f6": float(last) * 1_234_500,
                "f12": code, "f13": int(m), "f14": self.names[symbol], "f15": int(high * scale),
                "f16": int(min(last, prev) * scale), "f17": int(prev * scale), "f18": int(prev * scale),
                "f124": now, "f152": dp}  # fmt: skip
        if inst.kind == "etf":
            item["f441"] = int(last * scale) - 2  # a small premium over the IOPV
        return item

    # answers ---------------------------------------------------------------

    def ah_pairs(self) -> list[tuple[str, str]]:
        """Three A shares paired with three HK stocks: the AH board's rows."""
        a_shares = [s for s in sorted(self.insts) if s.endswith(".SH") and self.insts[s].kind == "stock"]
        hk = [s for s in sorted(self.insts) if s.endswith(".HK")]
        return list(zip(a_shares[:3], hk[:3], strict=False))

    def clist(self, fs: str, page: int, size: int) -> dict[str, Any]:
        if fs == "b:DLMK0101":  # the A/H board: H code f12, A code f191, name f193
            rows = self.ah_pairs()[(page - 1) * size : page * size]
            diff = [{"f12": h[:-3], "f13": 116, "f14": self.names[h], "f191": a[:6], "f193": self.names[a]}
                    for a, h in rows]  # fmt: skip
            return {"rc": 0, "data": {"total": len(self.ah_pairs()), "diff": diff} if diff else None}
        kinds = {FILTERS["A-shares"]: ("stock", False), FILTERS["ETFs"]: ("etf", False),
                 FILTERS["Southbound HK"]: ("stock", True)}  # fmt: skip
        kind, hk = kinds.get(fs, (None, False))
        rows = sorted(s for s, i in self.insts.items() if i.kind == kind and s.endswith(".HK") == hk)
        chunk = rows[(page - 1) * size : page * size]
        diff = [{"f12": s[:-3], "f13": market_id(s), "f14": self.names[s]} for s in chunk]
        return {"rc": 0, "data": {"total": len(rows), "diff": diff} if chunk else None}

    def kamt(self) -> dict[str, Any]:
        minutes = int(self.clock()) // 60 % 240
        legs = {}
        for leg, base in (("sh2hk", 1_200_000.0), ("sz2hk", 700_000.0)):
            buy, sell = base + minutes * 1000, base * 0.9 + minutes * 600
            legs[leg] = {"status": 1, "dayNetAmtIn": 4_200_000.0, "dayAmtRemain": 0.0, "dayAmtThreshold": 4_200_000.0,
                         "date2": self.flow_date or self.trade_date.isoformat(), "buyAmt": buy, "sellAmt": sell,
                         "netBuyAmt": round(buy - sell, 2)}  # fmt: skip
        return {"rc": 0, "data": legs}

    def kamt_kline(self) -> dict[str, Any]:
        days, day = [], self.trade_date
        while len(days) < 30:
            day -= dt.timedelta(days=1)
            if day.weekday() < 5:
                days.append(f"{day.isoformat()},{(len(days) % 7 - 2) * 150_000.0:.2f}")
        return {"rc": 0, "data": {"n2s": list(reversed(days))}}

    def pool(self, endpoint: str) -> dict[str, Any]:
        rows = []
        if endpoint == "getTopicZTPool":
            for n, s in enumerate(self.sealed):
                limits = self.limits(s)
                up = int(limits[0] * 1000) if limits else 0
                rows.append({"c": s[:6], "m": market_id(s), "n": self.names[s], "p": up, "zdp": 10.0,
                             "lbc": n % 4 + 1, "fbt": hhmmss(n * 60), "lbt": hhmmss(1800 + n * 60),
                             "fund": 50_000_000 + n * 1_000_000, "zbc": n % 3, "hybk": "半导体",
                             "zttj": {"days": n % 4 + 1, "ct": n % 4 + 1}})  # fmt: skip
        elif endpoint == "getTopicZBPool":
            for n, s in enumerate(self.broken):
                rows.append({"c": s[:6], "m": market_id(s), "n": self.names[s], "p": 0, "fbt": hhmmss(900 + n * 60),
                             "zbc": n + 1, "hybk": "软件开发"})  # fmt: skip
        elif endpoint == "getTopicDTPool":
            for n, s in enumerate(self.down):
                rows.append({"c": s[:6], "m": market_id(s), "n": self.names[s], "p": 0, "lbt": hhmmss(16200 + n),
                             "fund": 20_000_000.0 + n, "days": n % 2 + 1, "oc": n % 2})  # fmt: skip
        qdate = int(self.trade_date.strftime("%Y%m%d"))
        return {"rc": 0, "data": {"tc": len(rows), "qdate": qdate, "pool": rows}}

    def tencent(self, codes: list[str]) -> bytes:
        """Tencent's `v_CODE="..."` lines (the A-share layout of tests/data/sources)
        for the A-shares and ETFs; anything else is `v_pv_none_match`."""
        lines = []
        for code in codes:
            symbol = f"{code[2:]}.{code[:2].upper()}"
            if symbol not in self.insts or symbol.endswith(".HK"):
                lines.append('v_pv_none_match="1";')
                continue
            inst = self.insts[symbol]
            last, prev = self.last(symbol) + tick_size(classify(symbol)), Decimal(str(inst.prev_close))
            limits = self.limits(symbol)
            if limits and symbol in self.sealed:
                last = limits[0]
            f = [""] * 80
            stamp = dt.datetime.fromtimestamp(self.clock(), dt.timezone(dt.timedelta(hours=8)))
            f[0:7] = ["1", self.names[symbol], code[2:], str(last), str(prev), str(prev), "12345"]
            f[30], f[33], f[34] = stamp.strftime("%Y%m%d%H%M%S"), str(max(last, prev)), str(min(last, prev))
            f[35], f[36], f[37] = f"{last}/12345/{float(last) * 1_234_500:.0f}", "12345", "0"
            if limits:
                f[47], f[48] = str(limits[0]), str(limits[1])
            if inst.kind == "etf":
                f[61], f[78] = "ETF", str(last)
            lines.append(f'v_{code}="{"~".join(f)}";')
        return "\n".join(lines).encode("gbk")

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(path)
        if self.faults and path.startswith(self.fault_paths):
            fault = self.faults.pop(0)
            if fault == "403":
                return 403, {}, b"Forbidden"
            if fault == "429":
                return 429, {"Retry-After": "1"}, b"Too Many Requests"
            if fault == "html":
                return 200, {"Content-Type": "text/html"}, "<html><body>请输入验证码</body></html>".encode()
            if fault == "truncated":
                return 200, {}, b'{"rc":0,"data":{"total":3,"diff":[{"f12":"600'
            if fault == "frozen":
                self.frozen_at = time.time()
        url = urllib.parse.urlsplit(path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/api/qt/clist/get":
            time.sleep(self.list_delay)
            body = self.clist(q["fs"], int(q["pn"]), int(q["pz"]))
        elif url.path == "/api/qt/ulist.np/get":
            diff = [item for s in q["secids"].split(",") if (item := self.quote_item(s)) is not None]
            body = {"rc": 0, "data": {"total": len(diff), "diff": diff}}
        elif url.path == "/api/qt/kamt/get":
            body = self.kamt()
        elif url.path == "/api/qt/kamt.kline/get":
            body = self.kamt_kline()
        elif url.path.startswith("/getTopic"):
            body = self.pool(url.path[1:])
        elif url.path.startswith("/q="):  # Tencent
            return 200, {"Content-Type": "text/plain; charset=GBK"}, self.tencent(url.path[3:].split(","))
        else:
            return 404, {}, b"not found"
        return 200, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode()


class FakeEastMoney:
    """The market behind http.server on a port of its own (0: any free one), in a thread."""

    def __init__(self, market: FakeMarket | None = None, port: int = 0) -> None:
        self.market = market or FakeMarket()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                status, headers, body = fake.market.answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.closed = False

    def __enter__(self) -> FakeEastMoney:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self.closed:  # closing twice (by hand, then by `with`) is fine
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--instruments", type=int, default=9000)
    args = parser.parse_args()
    with FakeEastMoney(FakeMarket(args.instruments), args.port) as fake:
        print(f"fake East Money on {fake.url}", flush=True)
        try:
            fake.thread.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
