"""A/H premium: one company's A share (CNY) against its H share (HKD). Pure, no I/O
beyond the pairs file the package ships (`marketmon/data/pairs/ah.csv`).

The premium is the A price over the H price in CNY, less one, in percent:
(A / (H x HKDCNY) - 1) x 100. The rate comes over the wire as the quote of
`HKDCNY.FX` (docs/protocol.md): CNY per HKD. Arithmetic is exact (Decimal
from each price's shortest repr), shown rounded half-up: H in CNY to 0.001,
the premium to 0.01 %.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

RATE_SYMBOL = "HKDCNY.FX"  # CNY per HKD, a quote like any other
MILLI = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class Pair:
    a: str  # A share, CNY
    h: str  # H share, HKD
    name: str


@dataclass(frozen=True, slots=True)
class Premium:
    pair: Pair
    a_price: Decimal
    h_cny: Decimal  # the H price in CNY, to 0.001
    premium_pct: Decimal  # to 0.01 %


@cache
def bundled_pairs() -> tuple[Pair, ...]:
    text = resources.files("marketmon.data").joinpath("pairs", "ah.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    return tuple(Pair(r["a"], r["h"], r["name"]) for r in rows)


def with_listed(listed: Iterable[tuple[str, str, str | None]]) -> tuple[Pair, ...]:
    """The bundled pairs, refreshed by what a source lists: (A, H, name) rows from
    the quotes' `ah_pair` field. A listed A share's pair wins over the file's; the
    file's other pairs stay (a source that lists only some loses none)."""
    listed_pairs = {a: Pair(a, h, name or a) for a, h, name in listed}
    kept = [p for p in bundled_pairs() if p.a not in listed_pairs]
    return (*kept, *listed_pairs.values())


def _exact(x: float | Decimal | None) -> Decimal | None:
    """A usable positive price, exactly as the feed wrote it; None for missing or 0 (no trade)."""
    if x is None:
        return None
    d = x if isinstance(x, Decimal) else Decimal(repr(float(x)))
    return d if d.is_finite() and d > 0 else None


def h_in_cny(h_hkd: float | Decimal, rate: float | Decimal) -> Decimal | None:
    h, r = _exact(h_hkd), _exact(rate)
    return None if h is None or r is None else (h * r).quantize(MILLI, ROUND_HALF_UP)


def premium_pct(a_cny: float | Decimal | None, h_hkd: float | Decimal | None,
                rate: float | Decimal | None) -> Decimal | None:  # fmt: skip
    """(A / (H x rate) - 1) x 100, exact, half-up to 0.01; None when a price or the rate is missing."""
    a, h, r = _exact(a_cny), _exact(h_hkd), _exact(rate)
    if a is None or h is None or r is None:
        return None
    # As a fraction, so the rounding sees the exact quotient (a Decimal division rounds first).
    exact = (Fraction(a) / (Fraction(h) * Fraction(r)) - 1) * 100
    return half_up(exact, 2)


def half_up(x: Fraction, places: int) -> Decimal:
    """x rounded to `places` decimals, halves away from zero (Decimal's ROUND_HALF_UP)."""
    scaled = abs(x) * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    return Decimal(whole if x >= 0 else -whole).scaleb(-places)


def premiums(prices: dict[str, float | None], rate: float | Decimal | None,
             pairs: tuple[Pair, ...] | None = None) -> list[Premium]:  # fmt: skip
    """Every pair with both prices and a rate, highest premium first (then by A symbol)."""
    out = []
    for pair in bundled_pairs() if pairs is None else pairs:
        a, h = _exact(prices.get(pair.a)), prices.get(pair.h)
        pct = premium_pct(a, h, rate)
        if a is None or pct is None:
            continue
        h_cny = h_in_cny(h, rate)  # type: ignore[arg-type]
        assert h_cny is not None
        out.append(Premium(pair, a, h_cny, pct))
    out.sort(key=lambda p: (-p.premium_pct, p.pair.a))
    return out
