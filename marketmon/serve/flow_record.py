"""The Southbound flow history marketmon keeps itself, one entry per day.

Public sources give today's flow but little history (and since 2024-08 some
give none), so a bridge writes each day's last figures to a small JSON file in
the user data folder and serves the days before today as `flow_history`.
A source's history endpoint seeds the days the file does not have yet; a day
the file has is never overwritten by a seed. The file is written whole or
not at all; a torn or foreign file is set aside, never trusted or lost.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from marketmon.serve.sources.base import write_whole

KEEP_DAYS = 250  # about a trading year
AMOUNT_KEYS = ("net_buy_hkd", "net_buy_cny")


def _valid(day: Any) -> bool:
    if not isinstance(day, dict) or not isinstance(day.get("date"), str) or len(day["date"]) != 10:
        return False
    amounts = [day.get(k) for k in AMOUNT_KEYS if day.get(k) is not None]
    return bool(amounts) and all(isinstance(v, int | float) and math.isfinite(v) for v in amounts)


class FlowRecord:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.days: dict[str, dict[str, Any]] = {}
        self.problem: str | None = None  # why the file could not be read, once
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.problem = f"{self.path}: {exc}"
            return
        try:
            data = json.loads(text)
            rows = data["days"]
            if not isinstance(rows, list):
                raise TypeError("'days' is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            # Kept beside it for the user to look at; a new record starts.
            aside = self.path.with_suffix(".unreadable.json")
            try:
                self.path.replace(aside)
            except OSError:
                aside = self.path  # cannot move it: left where it is, and not written over
                self.save = lambda: None  # type: ignore[method-assign]
            self.problem = f"{self.path}: not a flow record ({exc}); kept as {aside.name}"
            return
        self.days = {d["date"]: d for d in rows if _valid(d)}

    def history(self, before: str) -> list[dict[str, Any]]:
        """The days before `before` (YYYY-MM-DD), oldest first."""
        return [self.days[d] for d in sorted(self.days) if d < before]

    def seed(self, days: list[dict[str, Any]]) -> int:
        """Add the days the record lacks; returns how many were added."""
        new = [d for d in days if _valid(d) and d["date"] not in self.days]
        for day in new:
            self.days[day["date"]] = day
        return len(new)

    def record(self, date: str, net_buy: float, currency: str, top: list[dict[str, Any]] | None = None) -> None:
        """Today's figure so far (the last one of the day stays)."""
        day: dict[str, Any] = {"date": date, f"net_buy_{currency.lower()}": net_buy}
        if top:
            day["top"] = top
        self.days[date] = day

    def save(self) -> None:
        keep = sorted(self.days)[-KEEP_DAYS:]
        self.days = {d: self.days[d] for d in keep}
        write_whole(self.path, json.dumps({"days": [self.days[d] for d in keep]}, ensure_ascii=False))
