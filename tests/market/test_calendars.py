"""The trading calendars shipped as data (marketmon/data/calendars/), checked
against the exchange notices for 2026 and against the exchange_calendars
package (XSHG, XHKG) as an independent oracle for 2024-2026."""

from __future__ import annotations

from datetime import date, time, timedelta

import exchange_calendars
import pytest

from marketmon.market import calendars
from marketmon.market.calendars import calendar, is_half_day, is_southbound_day, is_trading_day, missing_years
from marketmon.market.sessions import market_ms, phase

ORACLE = {"CN": "XSHG", "HK": "XHKG"}
YEARS = (2024, 2025, 2026)
# Days where our files and the oracle disagree, each with the reason and
# which one wins (docs/sources.md, "Trading calendars"). None today: a new
# disagreement fails the test until it is looked at and written here.
KNOWN_DIFFERENCES: dict[tuple[str, date], str] = {}


def _weekdays(year: int):
    d = date(year, 1, 1)
    while d.year == year:
        if d.weekday() < 5:
            yield d
        d += timedelta(days=1)


@pytest.fixture(scope="module", params=["CN", "HK"])
def oracle(request):
    cal = exchange_calendars.get_calendar(ORACLE[request.param], start="2024-01-01", end="2026-12-31")
    return request.param, {s.date() for s in cal.sessions}, {s.date() for s in cal.early_closes}


def test_every_weekday_of_2024_to_2026_agrees_with_the_oracle(oracle):
    market, sessions, _early = oracle
    differ = {(market, d) for year in YEARS for d in _weekdays(year) if is_trading_day(market, d) != (d in sessions)}
    assert differ == {k for k in KNOWN_DIFFERENCES if k[0] == market}


def test_hong_kong_half_days_agree_with_the_oracle(oracle):
    market, _sessions, early = oracle
    if market == "HK":
        assert calendar("HK").half_days == early


CN_2026_CLOSED = [
    "2026-01-01", "2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
    "2026-02-23", "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19", "2026-09-25",
    "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
]  # fmt: skip
HK_2026_CLOSED = [
    "2026-01-01", "2026-02-17", "2026-02-18", "2026-02-19", "2026-04-03", "2026-04-06", "2026-04-07",
    "2026-05-01", "2026-05-25", "2026-06-19", "2026-07-01", "2026-10-01", "2026-10-19", "2026-12-25",
]  # fmt: skip


@pytest.mark.parametrize(("market", "notice"), [("CN", CN_2026_CLOSED), ("HK", HK_2026_CLOSED)])
def test_2026_matches_the_exchange_notices(market, notice):
    closed = {d for d in _weekdays(2026) if not is_trading_day(market, d)}
    assert closed == {date.fromisoformat(d) for d in notice}


def test_make_up_weekend_days_stay_closed():
    # 2026-02-14 (Sat) and 2026-02-28 (Sat) are make-up working days in the mainland, not trading days.
    for d in (date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)):
        assert d.weekday() >= 5 and not is_trading_day("CN", d)


def test_2026_hong_kong_half_days():
    assert calendar("HK").half_days >= {date(2026, 2, 16), date(2026, 12, 24), date(2026, 12, 31)}
    assert is_half_day("HK", date(2026, 12, 24))
    assert phase("HK", market_ms(date(2026, 12, 24), time(13, 30))) == "closed"


@pytest.mark.parametrize(
    ("day", "cn", "hk", "southbound"),
    [
        ("2026-05-25", True, False, False),  # Buddha's Birthday: HK closed
        ("2026-09-25", False, True, False),  # mainland closed
        ("2026-04-03", True, False, False),  # Good Friday
        ("2026-10-19", True, False, False),  # Chung Yeung
        ("2026-03-02", True, True, True),
    ],
)
def test_southbound_trades_only_when_both_markets_are_open(day, cn, hk, southbound):
    d = date.fromisoformat(day)
    assert (is_trading_day("CN", d), is_trading_day("HK", d), is_southbound_day(d)) == (cn, hk, southbound)


def test_a_year_with_no_file_is_named_not_guessed_silently():
    assert missing_years(date(2026, 6, 1)) == ()
    assert missing_years(date(2027, 1, 4)) == ("CN", "HK")
    assert is_trading_day("CN", date(2027, 1, 4))  # weekdays taken as open, with the warning


def test_a_bad_calendar_file_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "cn-2030.toml").write_text('market = "CN"\nyear = 2030\nclosed = [2030-01-05]\n')  # a Saturday
    monkeypatch.setattr(calendars.resources, "files", lambda _package: tmp_path)
    calendar.cache_clear()
    try:
        with pytest.raises(calendars.CalendarError, match="weekday of 2030"):
            calendar("CN")
    finally:
        calendar.cache_clear()
