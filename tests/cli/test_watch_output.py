"""`marketmon watch` output as a script reads it (issue 14 item 10): no float
noise in JSON, one clock (market time) in the text log."""

from __future__ import annotations

import json
import re

from hypothesis import given
from rich.cells import cell_len, set_cell_size
from hypothesis import strategies as st

from marketmon.cli.main import main
from marketmon.cli.watch import PRICE_KEYS, _price_places, _round


PLACES = {"main": 2, "star": 2, "chinext": 2, "bse": 2, "fund": 3, "bond": 3, "reit": 3, "hk": 3}


def _places(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def test_json_figures_are_rounded_to_their_tick(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    assert main(["watch", "--demo", "--all", "--speed", "0", "--json"]) == 0
    quotes = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"event":"quote"' in line]
    assert len(quotes) > 50
    for q in quotes:
        for key in PRICE_KEYS:
            if isinstance(q[key], float):
                assert _places(q[key]) <= PLACES.get(q["board"], 4), (q["symbol"], key, q[key])  # indices, the HKDCNY rate: up to 4
        for key in ("pct", "premium_pct", "iopv"):
            assert q[key] is None or _places(q[key]) <= 4, (q["symbol"], key, q[key])
        for key in ("volume", "turnover"):
            assert q[key] is None or _places(float(q[key])) <= 2, (q["symbol"], key, q[key])
    verisilicon = next(q for q in quotes if q["symbol"] == "688521.SH")
    assert verisilicon["change"] == 25.73 and verisilicon["last"] == 154.39
    assert (verisilicon["name"], verisilicon["name_en"]) == ("芯原股份", "VeriSilicon")  # the feed's name and the second


def test_the_text_log_is_in_market_time_only(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    assert main(["watch", "--demo", "--symbols", "688521.SH,603019.SH", "--speed", "0"]) == 0
    log = capsys.readouterr().out.split("\n\n")[0].splitlines()
    times = [line.split()[0] for line in log]
    assert times[0] == "--:--:--" and "feed connected" in log[0]  # before the first quote: no market time yet
    assert times[1:] == sorted(times[1:]) and all(re.fullmatch(r"\d\d:\d\d:\d\d", t) for t in times[1:])
    assert log[-1].startswith("16:10:00") and "feed eof" in log[-1]  # the replay's end, not the wall clock
    assert all("09:15:00" <= t <= "16:10:00" for t in times[1:])


@given(st.integers(min_value=-10**7, max_value=10**7), st.sampled_from([0.01, 0.001]),
       st.floats(min_value=-1e-9, max_value=1e-9))  # fmt: skip
def test_a_price_with_float_noise_rounds_to_its_tick(ticks: int, tick: float, noise: float) -> None:
    places = _price_places(tick, "main")
    clean = float(f"{ticks * tick:.{places}f}")
    assert _round(ticks * tick + noise, places) == clean


def test_the_closing_table_lines_up_under_its_header_with_chinese_names(capsys, tmp_path, monkeypatch) -> None:
    # Names from the feed are Chinese: two cells a character, so they are padded by cells.
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    assert main(["watch", "--demo", "--symbols", "688521.SH,600519.SH,00700.HK", "--speed", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("symbol "))
    header, rows = lines[at], lines[at + 1 : at + 4]
    assert [r.split()[0] for r in rows] == ["688521.SH", "600519.SH", "00700.HK"]
    assert any(cell_len(r) > len(r) for r in rows), rows  # wide characters, or this test shows nothing
    assert [cell_len(r) for r in rows] == [cell_len(header)] * 3, [header, *rows]
    # Each figure ends under its header's last letter.
    for word in ("last", "pct", "turnover"):
        end = header.index(word) + len(word)
        for r in rows:
            assert set_cell_size(r, end)[-1] != " ", (word, r)
