"""What every source shares: the result type, field helpers, validation.

Parsers are pure: bytes in, protocol quote dicts out. A body that is not the
source's format at all raises `ParseError`; a single bad line inside a good
body is reported in `Parsed.errors` and skipped, so one odd instrument never
costs the others their update.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from marketmon.feed.protocol import WIRE_KINDS, Quote
from marketmon.market.symbols import SymbolError, classify

MARKET_TZ = ZoneInfo("Asia/Shanghai")  # HK keeps the same UTC+8 clock


class ParseError(ValueError):
    """The body is not in the source's format; the message says what was wrong."""


@dataclass
class Parsed:
    quotes: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # codes the source says it does not know
    errors: list[str] = field(default_factory=list)  # lines skipped, with the reason


@dataclass(frozen=True)
class Source:
    """One public quote source: naming, request building, parsing, limits."""

    name: str
    base_url: str
    batch_size: int  # symbols per request
    code_of: Callable[[str], str]  # canonical symbol -> the source's code
    build_url: Callable[[str, Sequence[str]], str]  # (base_url, codes) -> request URL
    parse: Callable[[bytes | str], Parsed]
    headers: dict[str, str] = field(default_factory=dict)
    # Requests per minute a bridge makes at most: a judgment, far below the
    # rates public scrapers run at (no source publishes its limit).
    budget: int = 600
    rates: bool = False  # quotes HKDCNY.FX (the A/H premium's rate)
    more_indices: bool = False  # quotes market.symbols.SOURCE_INDICES (the AH premium index)


def decode(body: bytes | str, encoding: str) -> str:
    # GB18030 is a superset of GBK: the rare name outside GBK still decodes.
    if isinstance(body, str):
        return body
    return body.decode("gb18030" if encoding.lower() in ("gbk", "gb2312") else encoding, errors="replace")


def parse_lines(
    body: bytes | str, line: re.Pattern[str], source: str, kind: str, read: Callable[[str, str, Parsed], None]
) -> Parsed:
    """The `var NAME="..."`-lines formats (Sina, Tencent): split the GBK body on
    `;`, match each line, hand its (name, payload) to `read`; a body with no
    such line at all is not this source's answer (an error page, a captcha)."""
    text = decode(body, "gbk")
    out = Parsed()
    segments = [s for s in text.split(";") if s.strip()]
    matched = 0
    for seg in segments:
        m = line.match(seg)
        if m is None:
            out.errors.append(f"not a {kind} line: {seg.strip()[:60]!r}")
            continue
        matched += 1
        read(*m.groups(), out)
    if segments and not matched:
        raise ParseError(f"not a {source} response: {text.strip()[:80]!r}")
    return out


def number(text: str, what: str) -> float:
    """A decimal field; ParseError if it is not one (inf and nan are not)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ParseError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ParseError(f"{what}: {text!r} is not a finite number")
    return value


def price(text: str, what: str) -> float | None:
    """A price field; 0 (or empty) means "none" in every source, never a price."""
    if text.strip() in ("", "-"):
        return None
    value = number(text, what)
    return value if value > 0 else None


def shares(text: str, what: str, unit: int = 1) -> int | None:
    """A volume field in `unit` shares (100 for lots), as whole shares."""
    if text.strip() in ("", "-"):
        return None
    value = number(text, what)
    if value < 0:
        raise ParseError(f"{what}: negative volume {text!r}")
    return round(value * unit)


def book(f: list[str], first: int, price_first: bool, what: str, unit: int = 1) -> list[tuple[float, int]]:
    """Five levels of one side from fields `first`.. (pairs of price and size, or size
    and price), best first; a level with no price (0) ends the side."""
    levels = []
    for i in range(first, first + 10, 2):
        if i + 1 >= len(f):
            break
        p_text, s_text = (f[i], f[i + 1]) if price_first else (f[i + 1], f[i])
        level_price = price(p_text, f"{what} price (field {i})")
        if level_price is None:
            break
        levels.append((level_price, shares(s_text, f"{what} size (field {i})", unit) or 0))
    return levels


def local_ms(day: str, clock: str) -> int | None:
    """'2025-09-12' or '2025/09/12' plus 'HH:MM[:SS]' in market time -> epoch ms."""
    try:
        d = dt.date.fromisoformat(day.strip().replace("/", "-"))
        t = dt.time.fromisoformat(clock.strip())
        ms = int(dt.datetime.combine(d, t, MARKET_TZ).timestamp() * 1000)
    except (ValueError, OverflowError, OSError):
        return None
    return ms if ms > 0 else None


def local_time(ts_ms: int) -> dt.time | None:
    """Market clock time of an epoch-ms timestamp; None if it is no real moment."""
    try:
        return dt.datetime.fromtimestamp(ts_ms / 1000, MARKET_TZ).time()
    except (OverflowError, ValueError, OSError):
        return None


def finish(quote: dict[str, Any]) -> dict[str, Any]:
    """Fill in what the symbol tells (kind, currency), drop empty fields, validate.

    Validation uses the protocol's own `Quote` type, so a parser can never hand
    the server a quote that a client would reject as a bad frame.
    """
    symbol = quote["symbol"]
    try:
        inst = classify(symbol)
    except SymbolError as exc:
        raise ParseError(str(exc)) from None
    if inst.kind in WIRE_KINDS:  # bonds, REITs, unknown boards: no `kind` (docs/protocol.md)
        quote.setdefault("kind", inst.kind)
    quote.setdefault("currency", "HKD" if inst.exchange == "HK" else "CNY")
    name = quote.get("name")
    quote["name"] = name.strip()[:64] if isinstance(name, str) else None
    out = {k: v for k, v in quote.items() if v is not None and v != ""}
    try:
        msgspec.convert(out, Quote)
    except msgspec.ValidationError as exc:
        raise ParseError(f"{symbol}: {exc}") from None
    return out


def write_whole(path: Path, text: str) -> None:
    """Write a bridge's own file whole or not at all (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
