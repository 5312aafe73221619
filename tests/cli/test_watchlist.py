"""The headless commands as a script runs them: real processes, real files, exit codes."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.rules import Alert

from ..faultkit import readline

ROOT = Path(__file__).resolve().parents[2]
MARKETMON = Path(sys.executable).parent / "marketmon"
AI_CHIPS = ROOT / "watchlists" / "ai-chips.toml"

LIST = """\
# chips I watch
name = "Mine"
symbols = [
    "688521.SH",  # VeriSilicon
    "688256.SH",  # Cambricon
]

[alerts]   # my defaults
pct_above = 5.0
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def mm(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `marketmon` with its own MARKETMON_HOME: never the user's real folders."""
    env = {**os.environ, "MARKETMON_HOME": str(home)}
    env.pop("MARKETMON_CONFIG", None)
    return subprocess.run([str(MARKETMON), *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def wl(tmp_path: Path) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(LIST)
    return path


def test_list(home: Path, wl: Path) -> None:
    r = mm(home, "watchlist", "list", str(wl))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["# Mine (2 symbols)", "688521.SH", "688256.SH", "# alerts: pct_above=5"]
    r = mm(home, "watchlist", "list", "--json", str(wl))
    data = json.loads(r.stdout)
    assert data["symbols"] == ["688521.SH", "688256.SH"] and data["alerts"]["pct_above"] == 5.0


def test_add_and_remove_keep_comments(home: Path, wl: Path) -> None:
    r = mm(home, "watchlist", "add", str(wl), "603019", "hk9988", "688521")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["added 603019.SH", "added 09988.HK", "688521.SH already in the list"]
    text = wl.read_text()
    assert text == LIST.replace('    "688256.SH",  # Cambricon\n',
                                '    "688256.SH",  # Cambricon\n    "603019.SH",\n    "09988.HK",\n')  # fmt: skip
    r = mm(home, "watchlist", "add", "--at", "0", str(wl), "600519.SH")
    assert r.returncode == 0 and wl.read_text().splitlines()[3] == '    "600519.SH",'
    r = mm(home, "watchlist", "remove", str(wl), "603019.SH", "09988.HK", "600519")
    assert r.returncode == 0, r.stderr
    assert wl.read_text() == LIST


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("add", "{wl}", "600519", "NOTASYMBOL"), "unknown symbol 'NOTASYMBOL'"),
        (("add", "{wl}", "1234567"), "unknown symbol '1234567'"),
        (("remove", "{wl}", "688521", "600519"), "600519.SH is not in the list"),
        (("add", "{missing}", "600519"), "no such file (add --create"),
    ],
)  # fmt: skip
def test_bad_input_is_exit_2_one_line_and_no_change(home: Path, wl: Path, args: tuple[str, ...], expect: str) -> None:
    missing = wl.parent / "missing.toml"
    r = mm(home, "watchlist", *(a.format(wl=wl, missing=missing) for a in args))
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1 and expect in r.stderr and r.stderr.startswith("marketmon: ")
    assert wl.read_text() == LIST and not missing.exists()


def test_an_unparseable_file_names_line_and_column_and_stays(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = 'name = "x"\nsymbols = [\n    "600519.SH"\n    "00700.HK",\n]\n'
    bad.write_text(text)
    for action in ("add", "remove", "list"):
        r = mm(home, "watchlist", action, str(bad), *(["600519"] if action != "list" else []))
        assert r.returncode == 2
        assert r.stderr.strip().startswith(f"marketmon: {bad}:4:5: ") and len(r.stderr.splitlines()) == 1
        assert bad.read_text() == text


def test_a_wrong_type_is_refused_too(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = 'symbols = ["600519"]\n[alerts]\npct_above = "5"\n'
    bad.write_text(text)
    r = mm(home, "watchlist", "add", str(bad), "00700")
    assert r.returncode == 2 and f"{bad}:3:1: 'pct_above' must be a number" in r.stderr
    assert bad.read_text() == text


def test_add_create(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    r = mm(home, "watchlist", "add", "--create", str(path), "600519", "00700")
    assert r.returncode == 0, r.stderr
    assert path.read_text() == 'name = "new"\nsymbols = ["600519.SH", "00700.HK"]\n'


# alerts --tail ------------------------------------------------------------------------------


def write_history(home: Path, n: int) -> AlertHistory:
    history = AlertHistory(home / "data" / "alerts.jsonl")
    for i in range(n):
        history.append(Alert(1757640600000 + i * 60000, "688521.SH", "VeriSilicon", "pct_above", 135.0 + i, 5.0 + i,
                             f"alert {i}"))  # fmt: skip
    return history


def test_alerts_tail(home: Path) -> None:
    r = mm(home, "alerts", "--tail")
    assert r.returncode == 0 and r.stdout == ""  # no history yet: nothing, not an error
    write_history(home, 30)
    r = mm(home, "alerts", "--tail", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"2025-09-12 09:{57 + i}:00  688521.SH  pct_above          alert {27 + i}" for i in range(3)
    ]
    r = mm(home, "alerts", "--json", "--tail", "2")
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["message"] for e in events] == ["alert 28", "alert 29"] and events[0]["event"] == "alert"
    assert len(mm(home, "alerts").stdout.splitlines()) == 20


def test_alerts_follow(home: Path) -> None:
    history = write_history(home, 2)
    env = {**os.environ, "MARKETMON_HOME": str(home)}
    proc = subprocess.Popen([str(MARKETMON), "alerts", "--tail", "1", "--follow", "--json"],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert json.loads(readline(proc.stdout))["message"] == "alert 1"
        time.sleep(0.3)
        history.append(Alert(1757650000000, "00700.HK", "Tencent", "fast_move", 640.0, 1.8, "later"))
        assert json.loads(readline(proc.stdout))["message"] == "later"  # followed: the line comes, or 30 s fail
    finally:
        proc.terminate()
        proc.wait(10)


# watch with a watchlist, settings, history and sound ------------------------------------------


def test_watch_demo_fires_each_threshold_once_and_records_and_plays(home: Path, tmp_path: Path) -> None:
    """The issue's "done when", headless: a 5 % threshold crossed by the demo alerts once, with a sound."""
    script = tmp_path / "player.py"
    played = tmp_path / "played.txt"
    script.write_text(f"import sys\nopen({str(played)!r}, 'a').write(sys.argv[-1] + '\\n')\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f"[sound]\nplayer = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]\n"
        "min_interval_s = 0\nquiet_outside_trading = false\n"
    )
    r = mm(home, "watch", "--demo", "--watchlist", str(AI_CHIPS), "--speed", "0", "--json",
           "--config", str(config), "--history", "--sound", timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    alerts = [e for e in map(json.loads, r.stdout.splitlines()) if e["event"] == "alert"]
    crossed = collections.Counter(a["symbol"] for a in alerts if a["rule"] == "pct_above")
    assert crossed and set(crossed.values()) == {1}, crossed
    assert {"688521.SH", "688327.SH", "688041.SH", "603019.SH"} <= set(crossed)
    assert crossed.get("688256.SH") == 1  # Cambricon's own 9 % threshold
    recorded = AlertHistory(home / "data" / "alerts.jsonl").tail(1000)
    assert [(a.symbol, a.rule, a.ts) for a in recorded] == [(a["symbol"], a["rule"], a["ts"]) for a in alerts]
    sounds = played.read_text().splitlines()
    assert len(sounds) == len(alerts)
    assert {Path(s).name for s in sounds} == {"threshold.wav", "limit_up.wav"}
    tail = mm(home, "alerts", "--json", "--tail", "1000")
    assert [json.loads(line)["ts"] for line in tail.stdout.splitlines()] == [a["ts"] for a in alerts]


def test_watch_honours_settings_thresholds_and_writes_no_history_unasked(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[alerts]\npct_above = 5.0\nlimit = false\n")
    r = mm(home, "watch", "--demo", "--symbols", "09988.HK,00700.HK", "--speed", "0", "--json",
           "--config", str(config), timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    alerts = [e for e in map(json.loads, r.stdout.splitlines()) if e["event"] == "alert"]
    assert [(a["symbol"], a["rule"]) for a in alerts] == [("09988.HK", "pct_above")]  # 5.4 % close; Tencent 2.3 %
    assert not (home / "data").exists()


def test_watch_with_a_bad_settings_file_is_exit_2(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[alerts]\npct_above = 'high'\n")
    r = mm(home, "watch", "--demo", "--symbols", "600519", "--config", str(config))
    assert r.returncode == 2 and r.stderr == f"marketmon: {config}:2:1: 'pct_above' must be a number (percent)\n"
