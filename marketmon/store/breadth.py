"""Market breadth: how the whole A-share market moves, from the store's frame.

Over the A-share stocks (main, STAR, ChiNext, BSE; no funds, bonds or
indices) that traded today: advancers, decliners and unchanged; stocks at
each limit per board; and today's changes in buckets, East Money's way
(涨跌分布): limit-down, <= -7 %, -7..-5, -5..-3, -3..-1, -1..0, unchanged,
0..1, 1..3, 3..5, 5..7, >= 7 %, limit-up. A stock at a limit is counted in
the limit bucket only. Buckets read the change as it is shown, rounded
half-up to 0.01 %, so +7.00 % is ">= 7" however the float came out.

Read when someone looks (the ladder view, `watch`'s `breadth` event), never
on the flush path.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from marketmon.store.ladder import LADDER_BOARDS

# (label, low, high): low < pct <= high for the falls, low <= pct < high for the rises.
BUCKETS: tuple[str, ...] = ("limit-down", "<=-7", "-7~-5", "-5~-3", "-3~-1", "-1~0", "0",
                            "0~1", "1~3", "3~5", "5~7", ">=7", "limit-up")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Breadth:
    up: int
    down: int
    flat: int
    limits: dict[str, tuple[int, int]]  # board -> (at limit-up, at limit-down)
    buckets: dict[str, int]  # BUCKETS -> count
    turnover: float | None  # A-share turnover so far, CNY (the three market indices)
    turnover_prev: float | None = None  # the day before's at the same minute, when known

    @property
    def turnover_change_pct(self) -> float | None:
        """Today's turnover against the day before's at the same minute, percent (放量 / 缩量)."""
        if not self.turnover or not self.turnover_prev:
            return None
        return (self.turnover / self.turnover_prev - 1) * 100

    def to_event(self) -> dict:
        return {"up": self.up, "down": self.down, "flat": self.flat,
                "limits": {b: {"up": u, "down": d} for b, (u, d) in self.limits.items()},
                "buckets": self.buckets, "turnover": self.turnover, "turnover_prev": self.turnover_prev}  # fmt: skip


def bucket(pct: float, state: str | None) -> str:
    """The bucket of one change (percent) and limit state; the reference for `breadth`."""
    if state == "up":
        return "limit-up"
    if state == "down":
        return "limit-down"
    x = _shown(pct)
    if x == 0:
        return "0"
    if x > 0:
        for label, edge in (("0~1", 1.0), ("1~3", 3.0), ("3~5", 5.0), ("5~7", 7.0)):
            if x < edge:
                return label
        return ">=7"
    for label, edge in (("<=-7", -7.0), ("-7~-5", -5.0), ("-5~-3", -3.0), ("-3~-1", -1.0)):
        if x <= edge:
            return label
    return "-1~0"


def _shown(pct: float) -> float:
    """The change as the screen shows it: half-up (away from zero) to 0.01."""
    scaled = abs(pct) * 100
    whole = int(scaled + 0.5 + 1e-9 * max(1.0, scaled))  # 1e-9: a float meant as an exact half
    return (whole if pct >= 0 else -whole) / 100


def breadth(frame: pl.DataFrame, turnover: float | None = None, turnover_prev: float | None = None) -> Breadth:
    stocks = frame.filter(
        pl.col("board").is_in(LADDER_BOARDS) & (pl.col("kind") == "stock") & pl.col("pct").is_not_null()
    ).select("board", "pct", "limit_state")
    counts = dict.fromkeys(BUCKETS, 0)
    limits: dict[str, list[int]] = {b: [0, 0] for b in LADDER_BOARDS}
    up = down = flat = 0
    for board, pct, state in stocks.iter_rows():
        label = bucket(pct, state)
        counts[label] += 1
        if label == "0":
            flat += 1
        elif label.startswith(("limit-down", "<", "-")):
            down += 1
        else:
            up += 1
        if state in ("up", "down"):
            limits[board][0 if state == "up" else 1] += 1
    return Breadth(up, down, flat, {b: (u, d) for b, (u, d) in limits.items()}, counts, turnover, turnover_prev)
