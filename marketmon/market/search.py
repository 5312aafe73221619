"""Finding an instrument the ways traders type it: a code in any form, the
Chinese name, the English name, pinyin initials (`gzmt` for 贵州茅台) or full
pinyin (`guizhoumaotai`).

Pinyin comes from pypinyin (its phrase table reads 银行 as yin hang), worked out
once per name and cached, never at a key press: `keys()` is what a search
compares against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from marketmon.market.symbols import SymbolError, normalize

MAX_HITS = 40
_HAN = re.compile(r"[\u3400-\u9fff]")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    name: str  # the feed's own name (Chinese from Chinese sources)
    name_en: str = ""


@dataclass(frozen=True, slots=True)
class Keys:
    """What a query is compared with, all lower case."""

    code: str  # "600519.sh"
    names: tuple[str, ...]  # the names as written
    initials: str  # "gzmt"; letters and digits of non-Chinese parts kept whole ("stht" for ST 华通)
    pinyin: str  # "guizhoumaotai"


@lru_cache(maxsize=65536)
def pinyin_of(name: str) -> tuple[str, str]:
    """(initials, full pinyin) of a name, letters and digits only; ("", "") without Chinese."""
    if not _HAN.search(name):
        return "", ""
    full = "".join(lazy_pinyin(name)).lower()
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()
    return _NOT_ALNUM.sub("", initials), _NOT_ALNUM.sub("", full)


@lru_cache(maxsize=65536)
def keys(inst: Instrument) -> Keys:
    initials, full = pinyin_of(inst.name) if inst.name else ("", "")
    names = tuple(n.lower() for n in (inst.name, inst.name_en) if n)
    return Keys(inst.symbol.lower(), names, initials, full)


def rank(inst: Instrument, query: str) -> int | None:
    """How well `query` (stripped, lower case) finds the instrument: 0 best; None: not at all."""
    k = keys(inst)
    if k.code.startswith(query):
        return 0
    if query in k.code:
        return 1
    if any(n.startswith(query) for n in k.names):
        return 2
    if any(query in n for n in k.names):
        return 3
    compact = _NOT_ALNUM.sub("", query)
    if compact and compact == query.replace(" ", "") and k.initials:  # pinyin: Latin letters and digits only
        if k.initials.startswith(compact) or k.pinyin.startswith(compact):
            return 4
        if compact in k.initials or compact in k.pinyin:
            return 5
    return None


def matches(inst: Instrument, query: str) -> bool:
    q = query.strip().lower()
    return not q or rank(inst, q) is not None


def search(instruments: Sequence[Instrument], query: str, limit: int = MAX_HITS) -> list[Instrument]:
    """The instruments the query finds, best first (codes, then names, then pinyin;
    list order within each). A well-formed code the feed does not have (yet) comes
    first, so any valid code can be added."""
    q = query.strip()
    if not q:
        return list(instruments[:limit])
    low = q.lower()
    ranked = [(r, n, inst) for n, inst in enumerate(instruments) if (r := rank(inst, low)) is not None]
    hits = [inst for _, _, inst in sorted(ranked, key=lambda t: t[:2])]
    try:
        exact = normalize(q)
    except SymbolError:
        exact = None
    if exact is not None:
        known = next((i for i in instruments if i.symbol == exact), Instrument(exact, ""))
        hits = [known, *(h for h in hits if h.symbol != exact)]
    return hits[:limit]
