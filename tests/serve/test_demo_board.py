"""The bundled day carries the trader's board: ladders, a seal that shrinks, the HKD/CNY rate."""

from __future__ import annotations

from marketmon.serve.demo_day import FX_SYMBOL, HKD_CNY, SEED_DAY, step_of, ts_of


def _quotes(symbol: str) -> list[dict]:
    return [q for ev in SEED_DAY.events() if ev.body["type"] == "quotes" for q in ev.body["quotes"]
            if q["symbol"] == symbol]  # fmt: skip


def test_the_snapshot_says_who_closed_at_a_limit_yesterday() -> None:
    first = {q["symbol"]: q for q in next(iter(SEED_DAY.events())).body["quotes"]}
    days = {s: q["limit_days"] for s, q in first.items() if "limit_days" in q}
    assert days == {"688521.SH": 1, "603019.SH": 2, "688327.SH": 1}  # VeriSilicon 2连板 today, Sugon's 3rd breaks
    assert first["603880.SH"]["limit_down_days"] == 1


def test_verisilicons_seal_grows_through_the_afternoon_but_dips_at_1430() -> None:
    sizes = [(q["ts"], q["bid_size"]) for q in _quotes("688521.SH") if "bid_size" in q and q["ts"] >= ts_of(step_of("13:42"))]
    before = [n for ts, n in sizes if ts_of(step_of("14:20")) <= ts < ts_of(step_of("14:30"))]
    dip = [n for ts, n in sizes if ts_of(step_of("14:30")) <= ts < ts_of(step_of("14:36"))]
    after = [n for ts, n in sizes if ts >= ts_of(step_of("14:40"))]
    assert dip and max(dip) < 0.6 * min(before)  # nearly half the queue pulled at once: 封单骤减
    assert min(after) > max(dip) and sizes[-1][1] >= 2_000_000


def test_the_rate_is_a_quote_that_ends_at_the_quota_rate() -> None:
    rates = _quotes(FX_SYMBOL)
    assert rates[0]["prev_close"] == 0.9131 and "last" not in rates[0]
    lasts = [q["last"] for q in rates if "last" in q]
    assert lasts[-1] == HKD_CNY and all(0.91 < r < 0.92 for r in lasts)
    assert all(abs(r * 10_000 - round(r * 10_000)) < 1e-6 for r in lasts)  # on the pip
