"""Text from the feed is data: make it safe to show."""

from __future__ import annotations

from rich.cells import cell_len


def printable(text: str | None, limit: int = 200) -> str:
    """Replace control characters (escape sequences included) and cap the length.

    Rich markup is not interpreted here: screens must put feed text into
    `rich.text.Text` objects (or escape it) rather than into markup strings.
    """
    if not text:
        return ""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text[:limit])


def first_few(names: list[str], limit: int = 20) -> str:
    """A list of names for one line: the first `limit`, then how many more
    (a source that knows none of 2,600 codes must not fill the screen with them)."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` in exactly `width` terminal cells, cut or padded: a CJK character
    (a Chinese name, 万/亿/手) takes two cells, so str padding would overshoot."""
    out, used = "", 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width:
            break
        out, used = out + ch, used + w
    pad = " " * (width - used)
    return pad + out if right else out + pad
