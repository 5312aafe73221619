"""Intraday drawing helpers: a session time axis, sparklines and braille lines.

Pure functions that return characters with tone names; widgets turn tones
into theme styles. The x axis is trading time, so lunch takes no room and a
chart at 10:30 fills only the first quarter of a CN day.
"""

from __future__ import annotations

from collections.abc import Sequence

from marketmon.store.state import Bar

BLOCKS = "▁▂▃▄▅▆▇█"
# (start, end) minutes of the local day for each continuous session; HK's
# closing auction (16:00-16:10) is given room so the closing print shows.
SESSIONS = {
    "CN": ((9 * 60 + 30, 11 * 60 + 30), (13 * 60, 15 * 60)),
    "HK": ((9 * 60 + 30, 12 * 60), (13 * 60, 16 * 60 + 10)),
}
UTC_OFFSET_MIN = 8 * 60  # Asia/Shanghai and Hong Kong: UTC+8, no DST


def market_of(symbol: str) -> str:
    return "HK" if symbol.endswith(".HK") else "CN"


def session_length(market: str) -> int:
    return sum(end - start for start, end in SESSIONS[market])


def session_offset(epoch_minute: int, market: str) -> int:
    """Trading minutes elapsed at this minute (0 before the open, the day's total after the close)."""
    local = (epoch_minute + UTC_OFFSET_MIN) % (24 * 60)
    elapsed = 0
    for start, end in SESSIONS[market]:
        if local < start:
            return elapsed
        if local < end:
            return elapsed + local - start
        elapsed += end - start
    return elapsed


def columns(bars: Sequence[Bar], width: int, market: str, now: int | None = None) -> list[Bar | None]:
    """The bar that ends each column of a `width`-wide session axis (None: not reached yet).

    Columns between two bars repeat the earlier one, and so do the columns up
    to `now` (market time, epoch ms): a quiet stretch, or a stock sealed at
    its limit with nobody trading, draws flat instead of stopping.
    """
    total = session_length(market)
    out: list[Bar | None] = [None] * width
    last_col = -1
    prev: Bar | None = None
    for bar in bars:
        col = min(width - 1, session_offset(bar.minute, market) * width // total)
        for c in range(last_col + 1, col):
            out[c] = prev
        out[col] = bar
        last_col, prev = max(last_col, col), bar
    if now is not None and prev is not None:
        end = min(width - 1, session_offset(now // 60000, market) * width // total)
        for c in range(last_col + 1, end + 1):
            out[c] = prev
    return out


def tone_of(value: float, base: float | None) -> str:
    if base is None or abs(value - base) < 1e-9:
        return "flat"
    return "up" if value > base else "down"


def sparkline(
    bars: Sequence[Bar], width: int, market: str, base: float | None, now: int | None = None
) -> list[tuple[str, str]]:
    """One line of block characters for the day so far; blanks for time not reached."""
    if width <= 0:
        return []
    cols = columns(bars, width, market, now)
    closes = [b.close for b in cols if b is not None]
    if not closes:
        return [(" ", "flat")] * width
    lo, hi = min(closes), max(closes)
    span = hi - lo
    out = []
    for bar in cols:
        if bar is None:
            out.append((" ", "flat"))
            continue
        level = 0 if span <= 0 else round((bar.close - lo) / span * (len(BLOCKS) - 1))
        out.append((BLOCKS[level], tone_of(bar.close, base)))
    return out


# Braille: each character is a 2x4 grid of dots.
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


class Braille:
    """A width x height character canvas drawn in braille dots (2 x 4 per cell)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.bits = [[0] * width for _ in range(height)]

    def dot(self, x: int, y: int) -> None:
        if 0 <= x < self.width * 2 and 0 <= y < self.height * 4:
            self.bits[y // 4][x // 2] |= _DOT[x % 2][y % 4]

    def line(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """A vertical-run line: every x gets the dots between its y and the next one's."""
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps))

    def char(self, col: int, row: int) -> str | None:
        bits = self.bits[row][col]
        return chr(0x2800 + bits) if bits else None


def volume_blocks(per_column: Sequence[int | None], rows: int) -> list[list[str]]:
    """Volume bars, `rows` lines high, bottom-aligned; returns rows top to bottom."""
    peak = max((v for v in per_column if v), default=0)
    grid = [[" "] * len(per_column) for _ in range(rows)]
    if not peak:
        return grid
    eighths = rows * 8
    for x, v in enumerate(per_column):
        if not v:
            continue
        height = max(1, round(v / peak * eighths))
        for r in range(rows):
            fill = height - (rows - 1 - r) * 8
            if fill >= 8:
                grid[r][x] = "█"
            elif fill > 0:
                grid[r][x] = BLOCKS[fill - 1]
    return grid
