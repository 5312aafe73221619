"""Trading calendars as data: one file per market and year in
`marketmon/data/calendars/` (cn-2026.toml, hk-2026.toml, ...), each citing
the exchange notice it copies. Read once, on first use; the only I/O in
`market/`, and of files the package ships.

A weekday is a trading day unless its year's file lists it closed. A year
with no file is not guessed silently: `missing_years` names it, and the
status bar says the holidays are unknown (weekdays are then taken as open).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

MARKETS = ("CN", "HK")


@dataclass(frozen=True)
class Calendar:
    market: str
    years: frozenset[int]  # the years a file covers
    closed: frozenset[date]  # weekday closures
    half_days: frozenset[date]  # morning session only (HK)


class CalendarError(ValueError):
    """A bundled calendar file that does not say what it must (a packaging mistake)."""


@cache
def calendar(market: str) -> Calendar:
    years: set[int] = set()
    closed: set[date] = set()
    half: set[date] = set()
    folder = resources.files("marketmon.data").joinpath("calendars")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.startswith(f"{market.lower()}-") or not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        year = data.get("year")
        if data.get("market") != market or not isinstance(year, int):
            raise CalendarError(f"{entry.name}: needs market = {market!r} and a year")
        days = [*data.get("closed", []), *data.get("half_days", [])]
        if not all(isinstance(d, date) and d.year == year and d.weekday() < 5 for d in days):
            raise CalendarError(f"{entry.name}: every day must be a weekday of {year}")
        years.add(year)
        closed.update(data.get("closed", []))
        half.update(data.get("half_days", []))
    return Calendar(market, frozenset(years), frozenset(closed), frozenset(half))


def is_trading_day(market: str, d: date) -> bool:
    return d.weekday() < 5 and d not in calendar(market).closed


def is_half_day(market: str, d: date) -> bool:
    return is_trading_day(market, d) and d in calendar(market).half_days


def is_southbound_day(d: date) -> bool:
    """Southbound Stock Connect trades only on days both markets are open."""
    return is_trading_day("CN", d) and is_trading_day("HK", d)


def missing_years(d: date) -> tuple[str, ...]:
    """The markets with no calendar file for `d`'s year (their holidays are unknown)."""
    return tuple(m for m in MARKETS if d.year not in calendar(m).years)
