"""Amounts as the user chose to read them: K/M/B/T, or 万/亿 as Chinese quote
screens write them (the [display] units setting, key U on the screen).

Here rather than in the screen's formatting so that alert messages, built below
the screen, follow the same choice with the same text (tui/fmt uses these).
"""

from __future__ import annotations

# "intl": K/M/B/T; "cn": amounts in 万/亿 (and, on the screen, A-share volumes in 手).
UNITS = {"units": "intl"}


def set_units(units: str) -> None:
    if units not in ("intl", "cn"):
        raise ValueError(f"units are 'intl' or 'cn', not {units!r}")
    UNITS["units"] = units


def amount(value: float | None, narrow: bool = False) -> str:
    """Turnover or volume in K/M/B/T (2.55T, 63.51M); `narrow`: three digits at most
    (26.5B, 352M), for a table cell that also carries a currency mark."""
    if value is None:
        return "-"
    size = abs(value)
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if size >= scale:
            x = value / scale
            return f"{x:.{places(x, 3) if narrow else 2}f}{unit}"
    return f"{value:.0f}"


def cn_amount(value: float, compact: bool = False, narrow: bool = False) -> str:
    """An amount in 亿 (1e8) or 万 (1e4), as Chinese quote screens write it: 286.95亿,
    6351.00万; `compact`: four digits at most (286.9亿, 6351万), for a table cell;
    `narrow`: three where they can be (287亿, 21.4亿), for a cell with a currency mark."""
    size = abs(value)
    for unit, scale in (("万亿", 1e12), ("亿", 1e8), ("万", 1e4)):
        if size >= scale:
            x = value / scale
            dp = places(x, 3) if narrow else places(x, 4) if compact else 2
            return f"{x:.{dp}f}{unit}"
    return f"{value:.0f}"


def places(x: float, digits: int) -> int:
    """Decimals that keep `x` to `digits` digits (two at most; whole numbers keep theirs)."""
    whole = len(str(int(abs(round(x, 2)))))
    return max(0, min(2, digits - whole))


def money(value: float | None, compact: bool = False, narrow: bool = False) -> str:
    """A traded amount in the chosen units (`compact`, `narrow`: see cn_amount)."""
    if value is not None and UNITS["units"] == "cn":
        return cn_amount(value, compact, narrow)
    return amount(value, narrow)
