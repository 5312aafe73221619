"""ETF premium / discount to IOPV (GUIDE section 1). Pure, no I/O."""

from __future__ import annotations

import math

__all__ = ["premium_pct"]


def _price(x) -> float | None:
    """A usable positive price as float, else None (0 means "none" on feeds)."""
    if x is None:
        return None
    v = float(x)
    if math.isnan(v) or v <= 0:
        return None
    return v


def premium_pct(last, iopv) -> float | None:
    """(last - iopv) / iopv * 100; negative is a discount.

    None if either is missing, NaN or not positive: a 0 last is "no trade
    yet" on the Sina/Tencent feeds, not a -100 % discount.
    """
    p, nav = _price(last), _price(iopv)
    if p is None or nav is None:
        return None
    return (p - nav) / nav * 100.0
