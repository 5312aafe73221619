"""连板天梯: today's limit-ups by consecutive limit-up days, and the limit-down mirror.

Read from the store's frame when someone looks (the ladder view, `watch`'s
`breadth` event), never on the flush path. Per instrument it takes what a
source publishes (`limit_days`, `seal_amount`, `first_seal`, `last_seal`,
`board_opens`: docs/protocol.md) and otherwise what the store tracked from
quotes (`sealed_at`, `last_sealed_at`, `opens`), or works it out:

- the seal (封单额) is the queue at the limit times the limit price while
  the other side of the book is empty: bid size x limit-up (ask empty), ask
  size x limit-down (bid empty); exact, in Decimal;
- a step is `limit_days` + 1 (today's board counts): 2 = 二连板.

The counts: sealed, broken (touched the limit today, not at it now), the
broken rate 炸板率 = broken / (sealed + broken), and 涨停溢价: the average
change today of yesterday's limit-ups (the instruments whose `limit_days`
says they closed at the limit yesterday).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from marketmon.market.sessions import TZ

# Only stocks have boards that count: funds, bonds and REITs at a limit are not on a ladder.
LADDER_BOARDS = ("main", "star", "chinext", "bse")

_COLUMNS = ("symbol", "name", "board", "kind", "last", "pct", "high", "low", "tick", "limit_up", "limit_down",
            "limit_state", "broken", "bid", "ask", "bid_size", "ask_size", "sealed_at", "last_sealed_at", "opens",
            "limit_days", "limit_down_days", "seal_amount", "first_seal", "last_seal", "board_opens")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rung:
    """One instrument on the ladder."""

    symbol: str
    name: str
    board: str
    step: int  # consecutive limit days including today (1: first board); broken ones count what they reached
    last: float | None
    pct: float | None
    sealed: bool  # at the limit now
    first_seal: str | None  # HH:MM:SS
    last_seal: str | None
    opens: int  # times the board opened today (炸板次数)
    seal: Decimal | None  # 封单额, quote currency; None when not sealed or unknown


@dataclass(frozen=True, slots=True)
class Ladder:
    side: str  # "up" or "down"
    rungs: tuple[Rung, ...]  # highest step first, then by first seal time
    sealed: int
    broken: int
    yesterday: int  # instruments that closed at this limit yesterday
    yesterday_avg_pct: Decimal | None  # their average change today (涨停溢价), to 0.01

    @property
    def broken_rate(self) -> Decimal | None:
        """炸板率, percent to 0.01: broken / (sealed + broken)."""
        total = self.sealed + self.broken
        return None if not total else percent(self.broken, total)

    @property
    def top_step(self) -> int:
        """The day's highest sealed step (0: none sealed)."""
        return max((r.step for r in self.rungs if r.sealed), default=0)

    def steps(self) -> list[tuple[int, list[Rung]]]:
        """(step, rungs) from the highest step down."""
        out: dict[int, list[Rung]] = {}
        for r in self.rungs:
            out.setdefault(r.step, []).append(r)
        return sorted(out.items(), reverse=True)


def percent(part: int, whole: int) -> Decimal:
    """part / whole x 100, half-up to 0.01, exact."""
    return _half_up(Decimal(part) * 100 / Decimal(whole)) if whole else Decimal(0)


def _half_up(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), ROUND_HALF_UP)


def seal_amount(side: str, state: str | None, bid: float | None, ask: float | None,
                bid_size: int | None, ask_size: int | None, limit: float | None) -> Decimal | None:  # fmt: skip
    """The queue at the limit x the limit price while the other side is empty; exact."""
    if state != side or not limit:
        return None
    queue, other = (bid_size, ask) if side == "up" else (ask_size, bid)
    if other or not queue:  # someone still sells at the limit-up (or buys at the limit-down): no seal
        return None
    return Decimal(int(queue)) * Decimal(repr(float(limit)))


def first_seal(published: str | None, seen: int | None, last_published: str | None) -> str | None:
    """When it first sealed today (HH:MM:SS): the source's figure, else when the store
    first saw it sealed, unless that is after the source's last seal (a bridge started
    later than the seal; the limit-down pool has no first time): then unknown."""
    if published is not None:
        return published
    own = clock(seen)
    return None if own is not None and last_published is not None and own > last_published else own


def clock(ts: int | None) -> str | None:
    """Epoch ms to HH:MM:SS market time."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts / 1000, TZ).strftime("%H:%M:%S")


def ladder(frame: pl.DataFrame, side: str = "up") -> Ladder:
    """The ladder of one side from the store's frame (see the module's doc)."""
    days_col = "limit_days" if side == "up" else "limit_down_days"
    limit_col = "limit_up" if side == "up" else "limit_down"
    stocks = frame.filter(pl.col("board").is_in(LADDER_BOARDS) & (pl.col("kind") == "stock"))
    yesterday = stocks.filter((pl.col(days_col) >= 1) & pl.col("pct").is_not_null())
    rungs = [_rung(row, side, days_col, limit_col) for row in _touched(stocks, side).select(_COLUMNS).iter_rows(named=True)]
    rungs.sort(key=lambda r: (-r.step, not r.sealed, r.first_seal or "99", r.symbol))
    pcts = [Decimal(repr(p)) for p in yesterday.get_column("pct").to_list()]
    return Ladder(
        side=side,
        rungs=tuple(rungs),
        sealed=sum(r.sealed for r in rungs),
        broken=sum(not r.sealed for r in rungs),
        yesterday=len(pcts),
        yesterday_avg_pct=_half_up(sum(pcts, Decimal(0)) / len(pcts)) if pcts else None,
    )


def touched(side: str) -> pl.Expr:
    """The day's high (low) reached the limit-up (limit-down): it was at that limit today.

    Also true of an instrument first seen after it left the limit (a bridge
    started mid-session, a broken-board pool's names), which the store's own
    `broken` flag, set when it sees the limit left, cannot know."""
    limit, extreme = ("limit_up", "high") if side == "up" else ("limit_down", "low")
    return ((pl.col(extreme) - pl.col(limit)).abs() < pl.col("tick") / 2).fill_null(False)


def _touched(stocks: pl.DataFrame, side: str) -> pl.DataFrame:
    """At this limit now, or touched it today and left (broken)."""
    sealed = pl.col("limit_state") == side
    return stocks.filter(sealed.fill_null(False) | (touched(side) & pl.col("limit_state").is_null()))


def _rung(row: dict[str, Any], side: str, days_col: str, limit_col: str) -> Rung:
    sealed = row["limit_state"] == side
    published = row["seal_amount"]
    seal = None
    if sealed:
        seal = Decimal(repr(published)) if published is not None else seal_amount(
            side, row["limit_state"], row["bid"], row["ask"], row["bid_size"], row["ask_size"], row[limit_col])
    opens = row["board_opens"] if row["board_opens"] is not None else (row["opens"] or 0)
    return Rung(
        symbol=row["symbol"], name=row["name"] or row["symbol"], board=row["board"] or "",
        step=(row[days_col] or 0) + 1, last=row["last"], pct=row["pct"], sealed=sealed,
        first_seal=first_seal(row["first_seal"], row["sealed_at"], row["last_seal"]),
        last_seal=row["last_seal"] or clock(row["last_sealed_at"]),
        opens=int(opens), seal=seal,
    )  # fmt: skip


def rung_summary(rungs: Sequence[Rung]) -> list[dict[str, Any]]:
    """The rungs as plain JSON values (seal in the quote currency, as a number)."""
    return [
        {"symbol": r.symbol, "step": r.step, "sealed": r.sealed, "first_seal": r.first_seal,
         "last_seal": r.last_seal, "opens": r.opens, "seal_amount": None if r.seal is None else float(r.seal)}
        for r in rungs
    ]  # fmt: skip
