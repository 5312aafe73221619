"""Instrument symbols: turn what a trader types into ``CODE.EX`` and classify it.

Pure exchange knowledge, no I/O.  Canonical form (PROTOCOL section 1):
``600000.SH``, ``000001.SZ``, ``920118.BJ``, ``00700.HK``, ``HSI.HK``.

A well-formed ``CODE.EX`` whose prefix no exchange's table knows (a new
board, a new kind of instrument) is kept as board ``other``: a feed's rows
are never dropped for it. A code whose prefix belongs to another exchange
(``600000.SZ``) is a mistake, and refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

__all__ = [
    "Board",
    "GROWTH_FUNDS",
    "HK_ETFS",
    "INDICES",
    "SOURCE_INDICES",
    "Instrument",
    "SymbolError",
    "classify",
    "normalize",
    "parse",
]


class SymbolError(ValueError):
    """A symbol that no exchange rule accepts; the message names the input."""


class Board(StrEnum):
    MAIN = "main"
    STAR = "star"
    CHINEXT = "chinext"
    BSE = "bse"
    FUND = "fund"
    HK = "hk"
    INDEX = "index"
    BOND = "bond"  # convertible bonds (可转债)
    REIT = "reit"  # infrastructure REITs (基础设施基金)
    OTHER = "other"  # a well-formed code of a prefix the tables do not know


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # canonical CODE.EX
    code: str
    exchange: str  # SH, SZ, BJ, HK
    board: Board
    kind: str  # stock, etf, fund, index, bond, reit, other
    growth_fund: bool = False  # fund tracking a STAR/ChiNext index: 20 % band

    @property
    def market(self) -> str:
        """Session calendar this instrument follows: "HK" or "CN"."""
        return "HK" if self.exchange == "HK" else "CN"


# Display names of the indices the app knows (PROTOCOL section 1 plus two).
INDICES: dict[str, str] = {
    "000001.SH": "SSE Composite",
    "399001.SZ": "SZSE Component",
    "399006.SZ": "ChiNext",
    "000688.SH": "STAR 50",
    "000300.SH": "CSI 300",
    "HSI.HK": "Hang Seng",
    "HSTECH.HK": "Hang Seng TECH",
    "399106.SZ": "SZSE Composite",
    "899050.BJ": "BSE 50",
}

# Index aliases traders type (matched upper-case).
_ALIASES: dict[str, str] = {
    "SSE": "000001.SH",
    "SHCOMP": "000001.SH",
    "SZSE": "399001.SZ",
    "CHINEXT": "399006.SZ",
    "STAR50": "000688.SH",
    "CSI300": "000300.SH",
    "HSI": "HSI.HK",
    "HSTECH": "HSTECH.HK",
    "HSCEI": "HSCEI.HK",
}

# Exchange rates sent as quotes (docs/protocol.md): CNY per unit of the first currency.
FX_RATES: dict[str, str] = {"HKDCNY.FX": "HKD/CNY"}

# HK indices have letter codes, not numbers.
_HK_INDEX_CODES = frozenset({"HSI", "HSTECH", "HSCEI", "HSAHP"})
# Indices the strip shows only where a source sends them: the Hang Seng China
# AH premium index (A over H of the pairs, 100 = parity).
SOURCE_INDICES: dict[str, str] = {"HSAHP.HK": "Hang Seng China AH Premium"}

# SZ funds tracking ChiNext indices can't be told from their code (159xxx is
# every SZ ETF), so the known ones are listed; extend as needed.
GROWTH_FUNDS: frozenset[str] = frozenset(
    {
        "159915.SZ",  # E Fund ChiNext ETF
        "159949.SZ",  # Huaan ChiNext 50 ETF
        "159952.SZ",  # GF ChiNext ETF
    }
)

# HK ETFs named in the brief; HKEX also reserves the 02800-02849 and
# 03000-03199 code blocks for ETFs (stock code allocation plan).
HK_ETFS: frozenset[str] = frozenset({"02800", "02828", "03033", "03067"})
_HK_ETF_RANGES = ((2800, 2849), (3000, 3199))

# A-share code prefixes: (prefix, exchange, board, kind, bare_ok).
# bare_ok=False: only with an explicit exchange (indices share 000xxx with
# SZ stocks, so a bare 000001 is Ping An Bank, never the SSE Composite).
# Longest prefix wins.
_PREFIXES: tuple[tuple[str, str, Board, str, bool], ...] = (
    # Shanghai
    ("000", "SH", Board.INDEX, "index", False),
    ("110", "SH", Board.BOND, "bond", True),  # convertible bonds: 110, 111, 113, 118 (STAR issuers)
    ("111", "SH", Board.BOND, "bond", True),
    ("113", "SH", Board.BOND, "bond", True),
    ("118", "SH", Board.BOND, "bond", True),
    ("508", "SH", Board.REIT, "reit", True),
    ("60", "SH", Board.MAIN, "stock", True),
    ("68", "SH", Board.STAR, "stock", True),
    ("900", "SH", Board.MAIN, "stock", True),  # B shares
    ("50", "SH", Board.FUND, "fund", True),
    ("51", "SH", Board.FUND, "etf", True),
    ("52", "SH", Board.FUND, "etf", True),
    ("56", "SH", Board.FUND, "etf", True),
    ("58", "SH", Board.FUND, "etf", True),
    ("5", "SH", Board.FUND, "fund", True),
    # Shenzhen
    ("000", "SZ", Board.MAIN, "stock", True),
    ("001", "SZ", Board.MAIN, "stock", True),
    ("002", "SZ", Board.MAIN, "stock", True),
    ("003", "SZ", Board.MAIN, "stock", True),
    ("300", "SZ", Board.CHINEXT, "stock", True),
    ("301", "SZ", Board.CHINEXT, "stock", True),
    ("302", "SZ", Board.CHINEXT, "stock", True),
    ("159", "SZ", Board.FUND, "etf", True),
    ("15", "SZ", Board.FUND, "fund", True),
    ("16", "SZ", Board.FUND, "fund", True),  # LOFs
    ("123", "SZ", Board.BOND, "bond", True),  # convertible bonds: 123 (ChiNext issuers), 127, 128
    ("127", "SZ", Board.BOND, "bond", True),
    ("128", "SZ", Board.BOND, "bond", True),
    ("180", "SZ", Board.REIT, "reit", True),
    ("200", "SZ", Board.MAIN, "stock", True),  # B shares
    ("399", "SZ", Board.INDEX, "index", False),
    # Beijing
    ("43", "BJ", Board.BSE, "stock", True),
    ("82", "BJ", Board.BSE, "stock", True),
    ("83", "BJ", Board.BSE, "stock", True),
    ("87", "BJ", Board.BSE, "stock", True),
    ("88", "BJ", Board.BSE, "stock", True),
    ("92", "BJ", Board.BSE, "stock", True),  # 920xxx: the 2024 renumbering of BSE stocks
    ("899", "BJ", Board.INDEX, "index", False),
)

_SUFFIXED = re.compile(r"^([0-9A-Z]+)\.(SH|SZ|BJ|HK)$")
_PREFIXED = re.compile(r"^(SH|SZ|BJ|HK)([0-9A-Z]+)$")


def _rule(code: str, exchange: str | None):
    """The longest matching prefix rule, or None."""
    best = None
    for rule in _PREFIXES:
        prefix, ex, _board, _kind, bare_ok = rule
        if not code.startswith(prefix):
            continue
        if exchange is None and not bare_ok:
            continue
        if exchange is not None and ex != exchange:
            continue
        if best is None or len(prefix) > len(best[0]):
            best = rule
    return best


def _hk(code: str, text: str) -> str:
    """HK code to canonical: indices by name, stocks zero-padded to 5 digits."""
    if code in _HK_INDEX_CODES:
        return f"{code}.HK"
    if code.isdigit() and 1 <= len(code) <= 5 and int(code) > 0:
        return f"{int(code):05d}.HK"
    raise SymbolError(f"unknown symbol {text!r}: not a HK code")


def _known_elsewhere(code: str, exchange: str) -> bool:
    """Does another exchange's table know this code's prefix (600000.SZ: yes)?"""
    return any(code.startswith(prefix) and ex != exchange for prefix, ex, *_ in _PREFIXES)


def _a_share(code: str, exchange: str | None, text: str) -> str:
    if not (code.isdigit() and len(code) == 6):
        raise SymbolError(f"unknown symbol {text!r}: A-share codes have 6 digits")
    rule = _rule(code, exchange)
    if rule is None:
        if exchange is not None and not _known_elsewhere(code, exchange):
            return f"{code}.{exchange}"  # a prefix nobody knows yet: board "other"
        where = f"on {exchange}" if exchange else "without an exchange suffix"
        raise SymbolError(f"unknown symbol {text!r}: code {code} is not valid {where}")
    return f"{code}.{rule[1]}"


def normalize(text: str) -> str:
    """Any accepted input form to canonical ``CODE.EX``; SymbolError otherwise."""
    if not isinstance(text, str):
        raise SymbolError(f"unknown symbol {text!r}: not a string")
    s = text.strip().upper()
    if not s:
        raise SymbolError(f"unknown symbol {text!r}: empty")
    if not s.isascii():  # str.isdigit() accepts full-width and other digits
        raise SymbolError(f"unknown symbol {text!r}")
    if s in _ALIASES:
        return _ALIASES[s]
    if s in FX_RATES or f"{s}.FX" in FX_RATES:
        return s if s in FX_RATES else f"{s}.FX"
    m = _SUFFIXED.match(s)
    if m:
        code, ex = m.groups()
    else:
        m = _PREFIXED.match(s)
        if m:
            ex, code = m.groups()
        elif s.isdigit():
            code, ex = s, None
        else:
            raise SymbolError(f"unknown symbol {text!r}")
    if ex == "HK" or (ex is None and len(code) <= 5):
        return _hk(code, text)
    return _a_share(code, ex, text)


@lru_cache(maxsize=65536)
def classify(symbol: str) -> Instrument:
    """Classify a canonical symbol (use parse() for user input)."""
    if symbol in FX_RATES:  # a rate: no board, no limits, quoted like an index
        return Instrument(symbol, symbol.split(".")[0], "FX", Board.INDEX, "fx")
    m = _SUFFIXED.match(symbol) if isinstance(symbol, str) else None
    if m is None:
        raise SymbolError(f"unknown symbol {symbol!r}: not canonical CODE.EX (use parse)")
    code, ex = m.groups()
    if ex == "HK":
        if _hk(code, symbol) != symbol:  # e.g. 700.HK is not canonical
            raise SymbolError(f"unknown symbol {symbol!r}: not canonical CODE.EX (use parse)")
        if code in _HK_INDEX_CODES:
            return Instrument(symbol, code, ex, Board.INDEX, "index")
        n = int(code)
        etf = code in HK_ETFS or any(lo <= n <= hi for lo, hi in _HK_ETF_RANGES)
        return Instrument(symbol, code, ex, Board.HK, "etf" if etf else "stock")
    _a_share(code, ex, symbol)  # validates code against its exchange
    rule = _rule(code, ex)
    if rule is None:
        return Instrument(symbol, code, ex, Board.OTHER, "other")
    _prefix, _ex, board, kind, _bare = rule
    # SH 588/589 are STAR ETFs; SZ ChiNext ETFs only via the explicit list.
    growth = board is Board.FUND and (
        (ex == "SH" and code[:3] in ("588", "589")) or symbol in GROWTH_FUNDS
    )
    return Instrument(symbol, code, ex, board, kind, growth)


def parse(text: str) -> Instrument:
    """User input to a classified Instrument."""
    return classify(normalize(text))
