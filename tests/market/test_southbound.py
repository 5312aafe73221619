"""Southbound quota and flow-history arithmetic."""

from datetime import date

import pytest

from marketmon.market.southbound import (
    DAILY_QUOTA_CNY,
    leaders,
    net_buy,
    quota_display,
    quota_left,
    quota_used_pct,
    streak,
)

Q = DAILY_QUOTA_CNY


def test_quota_constant():
    assert Q == 42e9


def test_quota_left_and_used():
    left = quota_left(Q, buy_orders=30e9, sell_trades=2e9)
    assert left == pytest.approx(14e9)
    assert quota_used_pct(Q, left) == pytest.approx(100 * 28 / 42)
    assert quota_used_pct(Q, Q) == 0.0
    assert quota_used_pct(0, 0) is None


@pytest.mark.parametrize(
    ("left", "day", "want"),
    [
        (Q, date(2025, 9, 12), "sufficient"),
        (12.6e9, date(2025, 9, 12), "sufficient"),  # exactly 30 % left
        (12.5e9, date(2025, 9, 12), "RMB 12.5 bn"),  # under 30 %
        (11.2e9, "2025-09-12", "RMB 11.2 bn"),
        (11.2e9, date(2024, 8, 19), "RMB 11.2 bn"),  # rule starts that day
        (30e9, date(2024, 8, 19), "sufficient"),
        (30e9, date(2024, 8, 16), "RMB 30.0 bn"),  # before: always the figure
        (Q, date(2024, 8, 16), "RMB 42.0 bn"),
    ],
)
def test_quota_display(left, day, want):
    assert quota_display(Q, left, day) == want


def test_net_buy():
    assert net_buy(5.5e9, 2.0e9) == pytest.approx(3.5e9)
    assert net_buy(1.0, 3.0) == -2.0


def day(d, *rows):
    return {"date": d, "net_buy_hkd": sum(v for _, v in rows), "top": [{"symbol": s, "net_buy_hkd": v} for s, v in rows]}


DAYS = [
    day("2025-09-05", ("09988.HK", 1.0e9), ("00700.HK", 2.0e9)),
    day("2025-09-08", ("09988.HK", -0.5e9), ("00700.HK", 1.0e9)),  # streak breaker
    day("2025-09-09", ("09988.HK", 2.0e9), ("03690.HK", 0.5e9)),  # 00700 absent
    day("2025-09-10", ("09988.HK", 3.0e9), ("00700.HK", 0.2e9)),
    day("2025-09-11", ("09988.HK", 4.0e9), ("00700.HK", 0.3e9), ("03690.HK", -0.1e9)),
]


def test_streak():
    assert streak(DAYS, "09988.HK") == (3, pytest.approx(9.0e9))
    assert streak(DAYS, "00700.HK") == (2, pytest.approx(0.5e9))
    assert streak(DAYS, "03690.HK") == (0, 0.0)  # sold on the latest day
    assert streak(DAYS, "01810.HK") == (0, 0.0)
    assert streak([], "09988.HK") == (0, 0.0)


def test_streak_whole_history():
    days = [day(f"2025-08-{i:02d}", ("09988.HK", 2.5e9)) for i in range(1, 16)]
    n, total = streak(days, "09988.HK")
    assert n == 15 and total == pytest.approx(37.5e9)


def test_leaders():
    got = leaders(DAYS, 2)
    assert got == [("09988.HK", pytest.approx(9.5e9)), ("00700.HK", pytest.approx(3.5e9))]
    assert [s for s, _ in leaders(DAYS, 10)] == ["09988.HK", "00700.HK", "03690.HK"]
    assert leaders(DAYS, 0) == []
    assert leaders([], 3) == []


def test_leaders_tie_is_deterministic():
    days = [day("2025-09-11", ("09988.HK", 1.0), ("00700.HK", 1.0))]
    assert leaders(days, 2) == [("00700.HK", 1.0), ("09988.HK", 1.0)]
