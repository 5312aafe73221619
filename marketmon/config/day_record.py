"""marketmon's own record of each trading day: who closed at a limit (and how
many days in a row), and the A-share turnover minute by minute. One small
JSON file in the user data folder (`days.json`), the last `KEEP` days.

It fills what a source does not send: tomorrow's `limit_days` (consecutive
limit-up closes before the day) and the turnover of the previous day at the
same minute, for breadth. Only a live feed is recorded; the demo brings its
own previous day (serve/demo_day.py), so a replay never poses as a real day.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketmon.config import paths
from marketmon.config.files import atomic_write

KEEP = 10  # days kept in the file


@dataclass
class Day:
    date: dt.date
    limit_up: dict[str, int] = field(default_factory=dict)  # symbol -> consecutive limit-up closes, today's included
    limit_down: dict[str, int] = field(default_factory=dict)
    turnover: dict[int, float] = field(default_factory=dict)  # minute of the day (9:31 = 571) -> A-share turnover so far

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "limit_up": self.limit_up, "limit_down": self.limit_down,
                "turnover": {str(m): v for m, v in sorted(self.turnover.items())}}  # fmt: skip

    @staticmethod
    def from_json(data: dict[str, Any]) -> Day:
        return Day(
            dt.date.fromisoformat(data["date"]),
            {str(s): int(n) for s, n in data.get("limit_up", {}).items()},
            {str(s): int(n) for s, n in data.get("limit_down", {}).items()},
            {int(m): float(v) for m, v in data.get("turnover", {}).items()},
        )

    def turnover_at(self, minute: int) -> float | None:
        """The turnover at `minute`: straight between the recorded minutes around it (a
        record has every minute; the demo's day before has a point each quarter hour)."""
        return turnover_at(self.turnover, minute)


def turnover_at(curve: dict[int, float], minute: int) -> float | None:
    before = [m for m in curve if m <= minute]
    if not before:
        return None
    lo = max(before)
    after = [m for m in curve if m > minute]
    if lo == minute or not after:
        return curve[lo]
    hi = min(after)
    return curve[lo] + (curve[hi] - curve[lo]) * (minute - lo) / (hi - lo)


def day_file() -> Path:
    return paths.data_dir() / "days.json"


def load(path: Path | None = None) -> list[Day]:
    """The recorded days, oldest first; an unreadable file is no record (it is rewritten at the next close)."""
    path = path or day_file()
    try:
        return sorted((Day.from_json(d) for d in json.loads(path.read_text(encoding="utf-8"))), key=lambda d: d.date)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []


def previous(trade_date: dt.date, path: Path | None = None) -> Day | None:
    """The newest recorded day before `trade_date`."""
    before = [d for d in load(path) if d.date < trade_date]
    return before[-1] if before else None


def save(day: Day, path: Path | None = None) -> None:
    path = path or day_file()
    days = {d.date: d for d in load(path)}
    days[day.date] = day
    kept = sorted(days.values(), key=lambda d: d.date)[-KEEP:]
    atomic_write(path, json.dumps([d.to_json() for d in kept], ensure_ascii=False, indent=1))


def minute_of(ts: int) -> int:
    """Epoch ms to the market's minute of the day (09:31 -> 571)."""
    t = dt.datetime.fromtimestamp(ts / 1000, dt.timezone(dt.timedelta(hours=8)))
    return t.hour * 60 + t.minute


def demo_recorder() -> Recorder:
    """The bundled day's day before (serve/demo_day.py), never written."""
    from marketmon.serve import demo_day

    before = Day(dt.date.fromisoformat(demo_day.PREVIOUS_DATE), turnover=demo_day.previous_turnover())
    return Recorder(previous=before, write=False)


WRITE_EVERY_S = 60.0  # after the close, the record is rewritten at most this often (and when the engine stops)
CLOSE_MINUTE = 15 * 60


class Recorder:
    """Follows the store after each flush: hands it the previous day once (its limit
    closes as `limit_days` where the feed sent none, its turnover curve), samples
    the A-share turnover each minute, and after the close writes the day."""

    def __init__(self, *, previous: Day | None = None, path: Path | None = None, write: bool = True) -> None:
        self.previous, self.path, self.write = previous, path, write
        self._applied = False
        self._turnover: dict[int, float] = {}
        self._minute = -1
        self._written_at: float | None = None

    def after_flush(self, store: Any) -> None:
        if store.trade_date is None or not store.frame.height or store.clock is None:
            return
        if not self._applied:
            self._apply(store)
        minute = minute_of(store.clock)
        if minute != self._minute:
            self._minute = minute
            total = store.a_share_turnover()
            if total:
                self._turnover[minute] = total
        if self.write and store.phases.get("CN") == "closed" and minute >= CLOSE_MINUTE:
            import time

            now = time.monotonic()
            if self._written_at is None or now - self._written_at >= WRITE_EVERY_S:
                self._written_at = now
                self.save(store)

    def close(self, store: Any) -> None:
        """The engine stops: a day seen to its close is written once more, with the last quotes."""
        if self.write and self._written_at is not None:
            self.save(store)

    def save(self, store: Any) -> None:
        import polars as pl

        from marketmon.store.ladder import LADDER_BOARDS

        closes = store.frame.filter(pl.col("board").is_in(LADDER_BOARDS) & pl.col("limit_state").is_not_null())
        up, down = {}, {}
        for symbol, state, days, down_days in closes.select("symbol", "limit_state", "limit_days", "limit_down_days").iter_rows():
            if state == "up":
                up[symbol] = (days or 0) + 1
            else:
                down[symbol] = (down_days or 0) + 1
        total = store.a_share_turnover()
        if total:
            self._turnover[max(self._minute, CLOSE_MINUTE)] = total
        try:
            save(Day(store.trade_date, up, down, dict(self._turnover)), self.path)
        except OSError:
            pass  # a record is a convenience: a full disk must not stop the screen

    def _apply(self, store: Any) -> None:
        from marketmon.feed.protocol import Quote

        self._applied = True
        day = self.previous if self.previous is not None else previous(store.trade_date, self.path)
        if day is None:
            return
        store.previous_turnover = day.turnover
        known = store.frame.select("symbol", "limit_days", "limit_down_days")
        have_up = {s for s, d, _ in known.iter_rows() if d is not None}
        have_down = {s for s, _, d in known.iter_rows() if d is not None}
        quotes = [Quote(s, limit_days=n) for s, n in day.limit_up.items() if s not in have_up]
        quotes += [Quote(s, limit_down_days=n) for s, n in day.limit_down.items() if s not in have_down]
        if quotes:
            store.merge(quotes)  # applied by the next flush; a source's own figure, sent later, wins
