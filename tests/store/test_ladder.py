"""The ladder (连板天梯) and breadth, read from a real Store fed Quote objects."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from marketmon.feed.protocol import Quote
from marketmon.store.breadth import BUCKETS, breadth, bucket
from marketmon.store.ladder import ladder, percent, seal_amount
from marketmon.store.state import Store

T0 = 1757640600000  # 2025-09-12 09:30:00 Asia/Shanghai


def market(*quotes: Quote) -> Store:
    s = Store()
    s.set_trade_date("2025-09-12")
    s.merge(quotes, T0)
    s.flush()
    return s


def at(s: Store, seconds: int, *quotes: Quote) -> None:
    s.merge(quotes, T0 + seconds * 1000)
    s.flush()


def stock(symbol: str, prev: float, last: float, **kw: object) -> Quote:
    return Quote(symbol, name=kw.pop("name", symbol), kind="stock", prev_close=prev, last=last, high=last, low=last,
                 ts=T0, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_steps_counts_broken_rate_and_yesterdays_premium() -> None:
    s = market(
        stock("688521.SH", 128.66, 154.39, limit_days=1, bid=154.39, ask=0, bid_size=2_400_000, ask_size=0),
        stock("600001.SH", 10.00, 11.00, limit_days=3, bid=11.0, ask=0, bid_size=50_000, ask_size=0),
        stock("600002.SH", 10.00, 11.00, bid=11.0, ask=0, bid_size=10_000, ask_size=0),  # first board
        stock("603019.SH", 77.43, 82.24, limit_days=2),  # yesterday's 2-board, not at the limit today
        stock("688327.SH", 43.18, 44.68, limit_days=1),
        stock("603880.SH", 12.46, 11.21, limit_down_days=1, bid=0, ask=11.21, bid_size=0, ask_size=2_600_000),
        Quote("589520.SH", kind="etf", prev_close=1.0, last=1.2, ts=T0),  # a fund at its limit: no ladder
    )
    up = ladder(s.frame, "up")
    assert [(step, [r.symbol for r in rungs]) for step, rungs in up.steps()] == [
        (4, ["600001.SH"]), (2, ["688521.SH"]), (1, ["600002.SH"])]  # fmt: skip
    assert (up.sealed, up.broken, up.top_step) == (3, 0, 4)
    # 涨停溢价: the average change today of the four that closed at the limit yesterday
    pcts = [Decimal(repr(s.quote(x)["pct"])) for x in ("688521.SH", "600001.SH", "603019.SH", "688327.SH")]
    assert up.yesterday == 4 and up.yesterday_avg_pct == (sum(pcts) / 4).quantize(Decimal("0.01"))
    # The seal: bid-1 size x limit price, exactly (2.4 M x 154.39 = 370,536,000)
    seals = {r.symbol: r.seal for r in up.rungs}
    assert seals["688521.SH"] == Decimal("370536000.00") and seals["600002.SH"] == Decimal("110000.0")
    down = ladder(s.frame, "down")
    assert [r.symbol for r in down.rungs] == ["603880.SH"] and down.rungs[0].step == 2
    assert down.rungs[0].seal == Decimal(2_600_000) * Decimal("11.21")


def test_a_board_that_opens_counts_as_broken_with_its_times_and_opens() -> None:
    s = market(stock("603019.SH", 77.43, 80.00, limit_days=2))
    at(s, 60, Quote("603019.SH", ts=T0 + 60_000, last=85.17, high=85.17, bid=85.17, ask=0, bid_size=900, ask_size=0))
    at(s, 120, Quote("603019.SH", ts=T0 + 120_000, last=85.15, bid=85.15, ask=85.17, bid_size=100, ask_size=300))
    at(s, 180, Quote("603019.SH", ts=T0 + 180_000, last=85.17, bid=85.17, ask=0, bid_size=500, ask_size=0))
    sealed = ladder(s.frame, "up").rungs[0]
    assert (sealed.sealed, sealed.first_seal, sealed.last_seal, sealed.opens) == (True, "09:31:00", "09:33:00", 1)
    at(s, 240, Quote("603019.SH", ts=T0 + 240_000, last=84.0, bid=83.99, ask=84.0, bid_size=100, ask_size=100))
    board = ladder(s.frame, "up")
    [broken] = board.rungs
    assert (broken.sealed, broken.opens, broken.seal, broken.step) == (False, 2, None, 3)
    assert (board.sealed, board.broken, board.broken_rate) == (0, 1, Decimal("100.00"))


def test_a_sources_published_figures_win_over_the_tracked_ones() -> None:
    s = market(stock("688521.SH", 128.66, 154.39, bid=154.39, ask=0, bid_size=100, ask_size=0, seal_amount=5.5e8,
                     first_seal="13:42:00", last_seal="14:31:03", board_opens=2))  # fmt: skip
    [r] = ladder(s.frame, "up").rungs
    assert (r.seal, r.first_seal, r.last_seal, r.opens) == (Decimal("550000000.0"), "13:42:00", "14:31:03", 2)


@given(st.integers(0, 10**9), st.integers(1, 10**7))
def test_seal_is_queue_times_limit_exactly_and_only_with_the_other_side_empty(size: int, cents: int) -> None:
    limit = cents / 100
    assert seal_amount("up", "up", limit, 0, size, 0, limit) == (Decimal(size) * Decimal(cents) / 100 if size else None)
    assert seal_amount("up", "up", limit, limit, size, 100, limit) is None  # someone still sells at the limit
    assert seal_amount("up", None, limit, 0, size, 0, limit) is None  # not at the limit
    assert seal_amount("down", "down", 0, limit, 0, size, limit) == (Decimal(size) * Decimal(cents) / 100 if size else None)


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_broken_rate_is_exact_half_up(broken: int, sealed: int) -> None:
    if broken + sealed == 0:
        return
    got = percent(broken, broken + sealed)
    exact = Decimal(broken * 100) / Decimal(broken + sealed)
    assert abs(got - exact) <= Decimal("0.005") and got == got.quantize(Decimal("0.01"))
    assert Decimal(0) <= got <= Decimal(100)


# Breadth ---------------------------------------------------------------------------------------


def test_breadth_counts_and_buckets() -> None:
    s = market(
        stock("600001.SH", 10.00, 11.00),  # limit-up
        stock("600002.SH", 10.00, 10.70),  # +7.00 % exactly: ">= 7"
        stock("600003.SH", 10.00, 10.69),  # +6.90 %
        stock("600004.SH", 10.00, 10.00),  # unchanged
        stock("600005.SH", 10.00, 9.30),  # -7.00 %: "<= -7"
        stock("300001.SZ", 10.00, 8.00),  # ChiNext limit-down (-20 %)
        stock("688001.SH", 10.00, 10.05),
        Quote("600006.SH", kind="stock", prev_close=10.0, ts=T0),  # no trade yet: not counted
        Quote("510300.SH", kind="etf", prev_close=4.0, last=4.4, ts=T0),  # a fund: not an A-share stock
        Quote("000001.SH", kind="index", prev_close=3800.0, last=3900.0, ts=T0),
    )
    b = breadth(s.frame)
    assert (b.up, b.down, b.flat) == (4, 2, 1)
    assert b.limits["main"] == (1, 0) and b.limits["chinext"] == (0, 1) and b.limits["star"] == (0, 0)
    assert {k: v for k, v in b.buckets.items() if v} == {"limit-up": 1, ">=7": 1, "5~7": 1, "0": 1, "<=-7": 1,
                                                        "limit-down": 1, "0~1": 1}  # fmt: skip
    assert list(b.buckets) == list(BUCKETS) and sum(b.buckets.values()) == 7


@given(st.integers(100, 100_000), st.integers(-2_000, 2_000))
def test_bucket_reads_the_change_as_shown(prev_cents: int, move_cents: int) -> None:
    """The bucket of a float pct equals the bucket of the exact change rounded half-up to 0.01 %."""
    last_cents = prev_cents + move_cents
    if last_cents <= 0:
        return
    pct = (last_cents / 100 - prev_cents / 100) / (prev_cents / 100) * 100
    shown = (Decimal(move_cents) * 100 / Decimal(prev_cents)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    edges = [(-7, "<=-7"), (-5, "-7~-5"), (-3, "-5~-3"), (-1, "-3~-1")]
    if shown == 0:
        want = "0"
    elif shown > 0:
        want = next((label for edge, label in ((1, "0~1"), (3, "1~3"), (5, "3~5"), (7, "5~7")) if shown < edge), ">=7")
    else:
        want = next((label for edge, label in edges if shown <= edge), "-1~0")
    assert bucket(pct, None) == want
    assert bucket(pct, "up") == "limit-up" and bucket(pct, "down") == "limit-down"


def test_first_seal_is_the_sources_else_as_seen_unless_seen_after_the_last_seal() -> None:
    from marketmon.store.ladder import first_seal

    seen = T0 + 30 * 60_000  # 10:00:00
    assert first_seal("09:31:00", seen, "13:05:00") == "09:31:00"
    assert first_seal(None, seen, "13:05:00") == "10:00:00"
    assert first_seal(None, seen, None) == "10:00:00"
    assert first_seal(None, seen, "09:45:00") is None  # seen sealed only after its last seal: when it first sealed is unknown
    assert first_seal(None, None, "09:45:00") is None
