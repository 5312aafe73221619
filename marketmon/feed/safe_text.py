"""Text from the feed is data: make it safe to show."""

from __future__ import annotations


def printable(text: str | None, limit: int = 200) -> str:
    """Replace control characters (escape sequences included) and cap the length.

    Rich markup is not interpreted here: screens must put feed text into
    `rich.text.Text` objects (or escape it) rather than into markup strings.
    """
    if not text:
        return ""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text[:limit])
