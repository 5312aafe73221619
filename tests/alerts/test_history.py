"""The alert history file: append-only JSON lines, read from the end, torn lines skipped."""

from __future__ import annotations

import json
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.rules import Alert
from marketmon.config import paths

from ..conftest import T0


def alert(n: int = 0, name: str = "VeriSilicon", symbol: str = "688521.SH") -> Alert:
    return Alert(T0 + n * 1000, symbol, name, "limit_up", 154.39, 19.998, f"{name} hit limit up at 154.39 ({n})")


def test_round_trip_keeps_every_field_and_unicode(tmp_path):
    history = AlertHistory(tmp_path / "deep" / "er" / "alerts.jsonl")  # folders made on first write
    written = [
        alert(0),
        Alert(T0 + 5, "603880.SH", "南卫股份", "limit_down", 11.21, -10.03, "南卫股份 hit limit down at 11.21"),
        Alert(T0 + 9, "002602.SZ", "ST 华通", "limit_up_broken", None, None, "ST 华通 broke 🚨"),
    ]
    for a in written:
        history.append(a)
    assert history.tail(10) == written and history.skipped == 0
    text = history.path.read_text(encoding="utf-8")
    assert "南卫股份" in text  # readable in an editor, not \u escapes
    lines = text.splitlines()
    assert len(lines) == 3
    assert set(json.loads(lines[1])) == {"ts", "symbol", "name", "rule", "price", "pct", "message"}


def test_tail_is_the_newest_n_oldest_first(tmp_path):
    history = AlertHistory(tmp_path / "alerts.jsonl")
    for n in range(50):
        history.append(alert(n))
    assert [a.ts - T0 for a in history.tail(3)] == [47000, 48000, 49000]
    assert len(history.tail(500)) == 50
    assert history.tail(0) == []


def test_missing_file_is_an_empty_history(tmp_path):
    history = AlertHistory(tmp_path / "nothing.jsonl")
    assert history.tail(10) == [] and history.skipped == 0


def test_a_torn_last_line_is_skipped_and_counted_and_the_next_append_is_whole(tmp_path):
    history = AlertHistory(tmp_path / "alerts.jsonl")
    history.append(alert(0))
    history.append(alert(1))
    with history.path.open("ab") as f:
        f.write(json.dumps({"ts": T0, "symbol": "603880.SH", "name": "南卫股份"}, ensure_ascii=False).encode()[:-9])
    assert [a.ts for a in history.tail(10)] == [T0, T0 + 1000]
    assert history.skipped == 1

    later = AlertHistory(history.path)  # a restart after the crash
    later.append(alert(2))
    assert [a.ts for a in later.tail(10)] == [T0, T0 + 1000, T0 + 2000]
    assert later.skipped == 1  # the torn line stays torn; it no longer swallows a good one


def test_foreign_and_broken_lines_are_skipped(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(
        b"not json\n[1, 2]\n{\"symbol\": \"x\"}\n\xff\xfe\n\n"
        + json.dumps({"ts": T0, "symbol": "600000.SH", "rule": "pct_above"}).encode()
        + b"\n"
    )
    history = AlertHistory(path)
    [only] = history.tail(10)
    assert (only.symbol, only.name, only.price, only.message) == ("600000.SH", "600000.SH", None, "")
    assert history.skipped == 4


def test_tail_reads_only_the_end_of_a_huge_file(tmp_path):
    """A 1 GB sparse prefix of NULs: tail must not read it, nor take long."""
    path = tmp_path / "alerts.jsonl"
    with path.open("wb") as f:
        f.truncate(1 << 30)
    history = AlertHistory(path)
    for n in range(5):
        history.append(alert(n))
    assert [a.ts - T0 for a in history.tail(2)] == [3000, 4000]
    assert history.skipped == 0


def test_concurrent_appends_never_interleave(tmp_path):
    history = AlertHistory(tmp_path / "alerts.jsonl")
    names = ["南卫股份" * 40, "VeriSilicon" * 40, "ST 华通" * 40, "BABA-W" * 40]

    def write(name: str) -> None:
        for n in range(200):
            AlertHistory(history.path).append(alert(n, name=name))

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alerts = history.tail(10_000)
    assert len(alerts) == 800 and history.skipped == 0
    assert {a.name for a in alerts} == set(names)


def test_default_location_is_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    history = AlertHistory(paths.alert_history_file())
    history.append(alert(0))
    assert (tmp_path / "data" / "alerts.jsonl").is_file()


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=40), message=st.text(max_size=80))
def test_any_text_survives_as_one_line(tmp_path_factory, name, message):
    history = AlertHistory(tmp_path_factory.mktemp("h") / "alerts.jsonl")
    a = Alert(T0, "688521.SH", name, "pct_above", 1.0, 2.0, message)
    history.append(a)
    history.append(a)
    assert history.tail(5) == [a, a] and history.skipped == 0
    assert history.path.read_bytes().count(b"\n") == 2  # newlines in the text are escaped
