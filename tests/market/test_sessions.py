"""Trading phases at every boundary, both markets, in Asia/Shanghai time."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from marketmon.market.calendars import calendar
from marketmon.market.sessions import (
    PHASES,
    is_hk_half_day,
    is_trading,
    phase,
    trade_date_of,
)

SH = ZoneInfo("Asia/Shanghai")


def ts(text: str) -> int:
    """'2025-09-12 09:30:00' local Shanghai time -> epoch ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=SH).timestamp() * 1000)


def test_phases_tuple():
    assert PHASES == ("pre_open", "call_auction", "continuous", "lunch_break", "closing_auction", "closed")


def test_ts_helper_is_utc_plus_8():
    assert ts("2025-09-12 08:00:00") == 1757635200000  # 00:00 UTC


CN_DAY = "2025-09-12"  # Friday, the seed day

CN_CASES = [
    ("00:00:00", "pre_open"),
    ("09:14:59", "pre_open"),
    ("09:15:00", "call_auction"),
    ("09:24:59", "call_auction"),
    ("09:25:00", "pre_open"),
    ("09:29:59", "pre_open"),
    ("09:30:00", "continuous"),
    ("11:29:59", "continuous"),
    ("11:30:00", "lunch_break"),
    ("12:59:59", "lunch_break"),
    ("13:00:00", "continuous"),
    ("14:56:59", "continuous"),
    ("14:57:00", "closing_auction"),
    ("14:59:59", "closing_auction"),
    ("15:00:00", "closed"),
    ("23:59:59", "closed"),
]


@pytest.mark.parametrize(("hms", "want"), CN_CASES)
def test_cn_boundaries(hms, want):
    assert phase("CN", ts(f"{CN_DAY} {hms}")) == want
    assert phase("CN", ts(f"{CN_DAY} {hms}"), symbol="600000.SH") == want


@pytest.mark.parametrize(
    ("day", "hms", "symbol", "want"),
    [
        # SSE ETFs trade continuously to 15:00 before 2026-07-06 ...
        ("2025-09-12", "14:57:00", "589520.SH", "continuous"),
        ("2025-09-12", "14:59:59", "513770.SH", "continuous"),
        ("2025-09-12", "15:00:00", "589520.SH", "closed"),
        ("2026-07-03", "14:58:00", "589520.SH", "continuous"),
        # ... and have the closing auction from then on
        ("2026-07-06", "14:57:00", "589520.SH", "closing_auction"),
        ("2026-07-06", "14:56:59", "589520.SH", "continuous"),
        # SZ ETFs and SH stocks always had it
        ("2025-09-12", "14:58:00", "159876.SZ", "closing_auction"),
        ("2025-09-12", "14:58:00", "688521.SH", "closing_auction"),
        ("2025-09-12", "14:58:00", None, "closing_auction"),
    ],
)
def test_sse_etf_exception(day, hms, symbol, want):
    assert phase("CN", ts(f"{day} {hms}"), symbol=symbol) == want


@pytest.mark.parametrize(
    "when",
    ["2025-09-13 10:00:00", "2025-09-14 10:00:00", "2025-10-01 10:00:00",
     "2026-02-16 10:00:00", "2024-02-09 10:00:00", "2026-10-07 14:00:00"],
)
def test_cn_closed_days(when):
    assert phase("CN", ts(when)) == "closed"


HK_DAY = "2025-09-12"

HK_CASES = [
    ("00:00:00", "pre_open"),
    ("08:59:59", "pre_open"),
    ("09:00:00", "call_auction"),
    ("09:29:59", "call_auction"),
    ("09:30:00", "continuous"),
    ("11:59:59", "continuous"),
    ("12:00:00", "lunch_break"),
    ("12:59:59", "lunch_break"),
    ("13:00:00", "continuous"),
    ("15:59:59", "continuous"),
    ("16:00:00", "closing_auction"),
    ("16:09:59", "closing_auction"),
    ("16:10:00", "closed"),
    ("23:59:59", "closed"),
]


@pytest.mark.parametrize(("hms", "want"), HK_CASES)
def test_hk_boundaries(hms, want):
    assert phase("HK", ts(f"{HK_DAY} {hms}")) == want
    assert phase("hk", ts(f"{HK_DAY} {hms}"), symbol="00700.HK") == want


HALF_CASES = [
    ("08:59:59", "pre_open"),
    ("09:00:00", "call_auction"),
    ("09:30:00", "continuous"),
    ("11:59:59", "continuous"),
    ("12:00:00", "closing_auction"),
    ("12:09:59", "closing_auction"),
    ("12:10:00", "closed"),
    ("13:30:00", "closed"),
    ("16:05:00", "closed"),
]


@pytest.mark.parametrize("day", ["2025-12-24", "2025-12-31", "2026-02-16", "2024-02-09"])
@pytest.mark.parametrize(("hms", "want"), HALF_CASES)
def test_hk_half_days(day, hms, want):
    assert phase("HK", ts(f"{day} {hms}")) == want


def test_hk_half_day_rules():
    assert is_hk_half_day(date(2027, 12, 24))  # a Friday: by rule, not by table
    assert not is_hk_half_day(date(2028, 12, 24))  # a Sunday
    assert not is_hk_half_day(date(2025, 12, 23))
    assert all(d.weekday() < 5 for d in calendar("HK").half_days)


@pytest.mark.parametrize(
    "when",
    ["2025-04-18 10:00:00", "2025-10-29 10:00:00", "2026-02-17 10:00:00",
     "2025-09-13 10:00:00", "2026-04-07 10:00:00"],
)
def test_hk_closed_days(when):
    assert phase("HK", ts(when)) == "closed"


def test_markets_have_separate_calendars():
    good_friday = ts("2025-04-18 10:00:00")
    assert phase("HK", good_friday) == "closed"
    assert phase("CN", good_friday) == "continuous"
    golden_week = ts("2025-10-02 10:00:00")
    assert phase("HK", golden_week) == "continuous"
    assert phase("CN", golden_week) == "closed"
    assert all(d.weekday() < 5 for d in calendar("HK").closed)


def test_unknown_market():
    with pytest.raises(ValueError, match="'US'"):
        phase("US", ts("2025-09-12 10:00:00"))


def test_is_trading():
    assert [p for p in PHASES if is_trading(p)] == ["call_auction", "continuous", "closing_auction"]
    assert not is_trading("bogus")


def test_trade_date_of():
    # 16:30 UTC on the 11th is 00:30 on the 12th in Shanghai.
    assert trade_date_of(ts("2025-09-12 00:30:00")) == date(2025, 9, 12)
    assert trade_date_of(1757608200000) == date(2025, 9, 12)
    assert trade_date_of(ts("2025-09-12 23:59:59")) == date(2025, 9, 12)
    assert trade_date_of(ts("2025-09-12 23:59:59") + 1000) == date(2025, 9, 13)
