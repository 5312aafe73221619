"""Sounds and notifications through real child processes: small scripts that record their argv."""

from __future__ import annotations

import json
import os
import sys
import wave
from pathlib import Path

import pytest

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.notify import Notifier
from marketmon.alerts.rules import Alert, RuleSet
from marketmon.alerts.sinks import AlertSinks
from marketmon.alerts.sound import TONES, Player, SoundSettings, bundled, generate, sound_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX player scripts")

RECORDER = """\
import json, sys, time
record, delay = sys.argv[1], float(sys.argv[2])
with open(record, "a") as f:
    f.write(json.dumps(sys.argv[3:]) + "\\n")
time.sleep(delay)
"""


@pytest.fixture
def recorder(tmp_path: Path):
    """A player command: [python, script, record file, delay]; the .wav path gets appended."""
    script = tmp_path / "player.py"
    script.write_text(RECORDER)
    record = tmp_path / "played.jsonl"

    def command(delay: float = 0.0) -> list[str]:
        return [sys.executable, str(script), str(record), str(delay)]

    command.record = record  # type: ignore[attr-defined]
    return command


def played(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def fake_tool(folder: Path, name: str, record: Path) -> None:
    """An executable called `name` on a PATH of our own, recording its argv."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!{sys.executable}\nimport json, sys\nopen({str(record)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n")
    tool.chmod(0o755)


def alert(rule: str = "limit_up", symbol: str = "688521.SH") -> Alert:
    return Alert(1757655720000, symbol, "VeriSilicon", rule, 154.39, 20.0, "VeriSilicon <b>hit</b> limit up & more")


def assert_wav(path: str | Path) -> wave._wave_params:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        assert w.readframes(params.nframes)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22050) and params.nframes > 1000
    return params


def test_bundled_sounds_are_valid_distinct_and_match_the_generator(tmp_path: Path) -> None:
    frames = {}
    for name in TONES:
        assert_wav(bundled(name))
        with wave.open(str(bundled(name))) as w:
            frames[name] = w.readframes(w.getnframes())
    assert len(set(frames.values())) == len(TONES)  # limit up, limit down, threshold all differ
    for path in generate(tmp_path):
        assert_wav(path)
        with wave.open(str(path)) as w:
            fresh = w.readframes(w.getnframes())
        checked_in = frames[path.stem]
        assert len(fresh) == len(checked_in)
        # Sample by sample within one step: libm may round a sine differently elsewhere.
        diffs = [abs(int.from_bytes(fresh[i:i + 2], "little", signed=True)
                     - int.from_bytes(checked_in[i:i + 2], "little", signed=True)) for i in range(0, len(fresh), 2)]  # fmt: skip
        assert max(diffs) <= 1, path.stem


def test_sound_for_rule_and_list_setting(tmp_path: Path) -> None:
    assert sound_for("limit_up") == bundled("limit_up")
    assert sound_for("limit_down") == bundled("limit_down")
    assert sound_for("pct_above") == sound_for("fast_move") == bundled("threshold")
    assert sound_for("limit_up", "off") is None
    assert sound_for("pct_above", "limit_down") == bundled("limit_down")
    assert sound_for("pct_above", str(tmp_path / "mine.wav")) == tmp_path / "mine.wav"


def test_a_configured_player_gets_the_wav_appended(recorder) -> None:
    player = Player(SoundSettings(player=recorder(), min_interval_s=0))
    assert player.play(sound_for("limit_up")) == "played"
    assert player.play(sound_for("limit_down")) == "played"
    player.wait()
    got = played(recorder.record)
    assert sorted(Path(args[-1]).name for args in got) == ["limit_down.wav", "limit_up.wav"]
    for args in got:
        assert_wav(args[-1])


def test_play_never_blocks(tmp_path: Path) -> None:
    # A player that runs until the test lets it end: play() must be back while it still runs.
    release, done = tmp_path / "release", tmp_path / "done"
    script = tmp_path / "slow_player.py"
    script.write_text(
        "import pathlib, sys, time\n"
        "release, done = map(pathlib.Path, sys.argv[1:3])\n"
        "for _ in range(600):  # at most 60 s, so a blocking play() ends, and fails below\n"
        "    if release.exists(): break\n"
        "    time.sleep(0.1)\n"
        "done.touch()\n"
    )
    player = Player(SoundSettings(player=[sys.executable, str(script), str(release), str(done)]))
    assert player.play(bundled("threshold")) == "played"
    assert not done.exists()  # play() returned while the player was still waiting
    release.touch()
    player.wait()
    assert done.exists()  # and the player was really started


def test_auto_takes_the_first_player_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "auto.jsonl"
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "aplay", record)
    fake_tool(bin_dir, "afplay", record)
    monkeypatch.setenv("PATH", str(bin_dir))
    player = Player(SoundSettings(player="auto"))
    assert player.command() == [str(bin_dir / "aplay"), "-q"]
    player.play(bundled("threshold"))
    player.wait()
    (argv,) = played(record)
    assert argv[1] == "-q" and Path(argv[2]).name == "threshold.wav"
    assert_wav(argv[2])
    fake_tool(bin_dir, "pw-play", record)
    assert Player(SoundSettings(player="auto")).command() == [str(bin_dir / "pw-play")]


def test_no_player_rings_the_bell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    bells = []
    player = Player(SoundSettings(player="auto"), bell=lambda: bells.append(1))
    assert player.play(bundled("limit_up")) == "bell"
    assert bells == [1]


def test_mute_quiet_hours_and_rate_limit(recorder) -> None:
    now = [100.0]
    phases = {"CN": "lunch_break", "HK": "continuous"}
    player = Player(SoundSettings(player=recorder(), min_interval_s=5), phases=lambda: phases, clock=lambda: now[0])
    wav = bundled("threshold")
    assert player.toggle_mute() is True
    assert player.play(wav, market="HK") == "muted"
    player.toggle_mute()
    assert player.play(wav, market="CN") == "quiet"  # A shares at lunch
    assert player.play(wav, market="CN", force=True) == "played"  # unless asked
    now[0] += 1
    assert player.play(wav, market="HK") == "limited"  # within min_interval_s of the last sound
    now[0] += 5
    assert player.play(wav, market="HK") == "played"
    phases.update(CN="closed", HK="closed")
    now[0] += 10
    assert player.play(wav) == "quiet"
    player.settings.quiet_outside_trading = False
    assert player.play(wav) == "played"
    player.settings.enabled = False
    now[0] += 10
    assert player.play(wav) == "off"
    player.wait()
    assert len(played(recorder.record)) == 3


def test_notifications_are_off_by_default_and_pass_text_as_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "notify.jsonl"
    fake_tool(tmp_path / "bin", "notify-send", record)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert Notifier().notify(alert()) is False
    notifier = Notifier(enabled=True)
    assert notifier.notify(alert()) is True
    notifier.wait()
    (argv,) = played(record)
    assert argv[1:] == ["--app-name=marketmon", "--", "688521.SH limit_up",
                        "VeriSilicon &lt;b&gt;hit&lt;/b&gt; limit up &amp; more"]  # fmt: skip


def test_sinks_fan_out_to_history_sound_and_notification(
    tmp_path: Path, recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notify.jsonl"
    fake_tool(tmp_path / "bin", "notify-send", notes)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ.get("PATH", ""))
    own_wav = tmp_path / "gong.wav"
    own_wav.write_bytes(bundled("limit_down").read_bytes())
    rules = {"688521.SH": RuleSet(), "09988.HK": RuleSet(sound="off"), "600519.SH": RuleSet(sound=str(own_wav))}
    history = AlertHistory(tmp_path / "data" / "alerts.jsonl")
    sinks = AlertSinks(
        history=history, player=Player(SoundSettings(player=recorder(), min_interval_s=0)),
        notifier=Notifier(enabled=True), rules=lambda s: rules.get(s, RuleSet()),
    )  # fmt: skip
    sinks(alert("limit_up", "688521.SH"))
    sinks(alert("pct_above", "09988.HK"))
    sinks(alert("pct_below", "600519.SH"))
    sinks.wait()
    assert [(a.symbol, a.rule) for a in history.tail(10)] == [
        ("688521.SH", "limit_up"), ("09988.HK", "pct_above"), ("600519.SH", "pct_below")]  # fmt: skip
    # Two players run at once, so they may record in either order; "off" played nothing.
    assert sorted(Path(args[-1]) for args in played(recorder.record)) == sorted([bundled("limit_up"), own_wav])
    assert len(played(notes)) == 3


def test_a_failing_history_does_not_stop_the_sound(tmp_path: Path, recorder) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    errors: list[str] = []
    sinks = AlertSinks(
        history=AlertHistory(blocker / "alerts.jsonl"), player=Player(SoundSettings(player=recorder())),
        on_error=errors.append,
    )  # fmt: skip
    sinks(alert())
    sinks.wait()
    assert len(errors) == 1 and errors[0].startswith("alert history not written")
    assert len(played(recorder.record)) == 1
