"""marketmon's own day record: limit closes and turnover by minute, read back the next day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from marketmon.config.day_record import KEEP, Day, Recorder, load, minute_of, previous, save, turnover_at
from marketmon.feed.protocol import Quote
from marketmon.store.state import Store

T0 = 1757640600000  # 2025-09-12 09:30:00 +08:00
CLOSE = T0 + (5 * 3600 + 30 * 60) * 1000  # 15:00


def test_days_round_trip_and_only_the_last_ones_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "days.json"
    for n in range(KEEP + 3):
        save(Day(dt.date(2025, 9, 1) + dt.timedelta(days=n), {"600001.SH": n + 1}, {}, {570: 1e9 * n}), path)
    days = load(path)
    assert len(days) == KEEP and days[-1].date == dt.date(2025, 9, 13) and days[-1].limit_up == {"600001.SH": 13}
    assert previous(dt.date(2025, 9, 13), path).date == dt.date(2025, 9, 12)
    assert previous(dt.date(2025, 9, 1), path) is None


def test_an_unreadable_record_is_no_record(tmp_path: Path) -> None:
    bad = tmp_path / "days.json"
    bad.write_text("{not json")
    assert load(bad) == [] and load(tmp_path / "missing.json") == []
    bad.write_text('[{"date": "2025-13-01"}]')
    assert load(bad) == []


def test_turnover_between_points_is_straight() -> None:
    curve = {570: 100.0, 600: 400.0}
    assert turnover_at(curve, 569) is None
    assert (turnover_at(curve, 570), turnover_at(curve, 580), turnover_at(curve, 700)) == (100.0, 200.0, 400.0)
    assert minute_of(T0) == 570 and minute_of(CLOSE) == 900


def _day(store: Store, recorder: Recorder, *quotes: Quote, ts: int) -> None:
    store.merge(quotes, ts)
    store.flush()
    recorder.after_flush(store)


def test_a_day_recorded_at_the_close_gives_the_next_days_limit_days_and_turnover(tmp_path: Path) -> None:
    path = tmp_path / "days.json"
    today, rec = Store(), Recorder(path=path)
    today.set_trade_date("2025-09-12")
    _day(today, rec, Quote("600001.SH", prev_close=10.0, last=10.5, ts=T0, limit_days=2),
         Quote("600002.SH", prev_close=10.0, last=10.2, ts=T0), Quote("600003.SH", prev_close=10.0, last=9.5, ts=T0),
         Quote("000001.SH", prev_close=3800.0, last=3810.0, turnover=1e11, ts=T0), ts=T0)  # fmt: skip
    _day(today, rec, Quote("000001.SH", turnover=5e11, ts=T0 + 60_000), ts=T0 + 60_000)
    today.set_phase("CN", "closed", CLOSE)
    _day(today, rec, Quote("600001.SH", last=11.0, ts=CLOSE), Quote("600002.SH", last=11.0, ts=CLOSE),
         Quote("600003.SH", last=9.0, ts=CLOSE), Quote("000001.SH", turnover=2.5e12, ts=CLOSE), ts=CLOSE)  # fmt: skip
    [day] = load(path)
    assert (day.limit_up, day.limit_down) == ({"600001.SH": 3, "600002.SH": 1}, {"600003.SH": 1})
    assert day.turnover[570] == 1e11 and day.turnover[571] == 5e11 and day.turnover[900] == 2.5e12

    nxt, rec2 = Store(), Recorder(path=path)
    nxt.set_trade_date("2025-09-15")
    _day(nxt, rec2, Quote("600001.SH", prev_close=11.0, ts=T0), Quote("600002.SH", prev_close=11.0, ts=T0, limit_days=4),
         Quote("600003.SH", prev_close=9.0, ts=T0), ts=T0)  # fmt: skip
    nxt.flush()  # the record's limit_days, merged by the recorder, land here
    days = {r["symbol"]: (r["limit_days"], r["limit_down_days"]) for r in nxt.frame.iter_rows(named=True)}
    assert days == {"600001.SH": (3, None), "600002.SH": (4, None), "600003.SH": (None, 1)}  # the feed's 4 wins
    assert nxt.previous_turnover[571] == 5e11


def test_a_replay_that_does_not_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "days.json"
    store, rec = Store(), Recorder(previous=Day(dt.date(2025, 9, 11), turnover={570: 1.0}), path=path, write=False)
    store.set_trade_date("2025-09-12")
    store.set_phase("CN", "closed", CLOSE)
    _day(store, rec, Quote("600001.SH", prev_close=10.0, last=11.0, ts=CLOSE), ts=CLOSE)
    rec.close(store)
    assert not path.exists() and store.previous_turnover == {570: 1.0}
