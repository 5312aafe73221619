"""Chat sinks from the command line, against a stand-in service on 127.0.0.1:
the bundled day's VeriSilicon limit-up reaches a signed DingTalk robot once;
`alerts test` sends one message and prints the answer; `alerts --tail` shows
what each sink made of each alert. Real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.alerts.standin import StandIn

MARKETMON = Path(sys.executable).parent / "marketmon"
SECRET = "SEC0123456789abcdef"


def _settings(tmp_path: Path, stand_in: StandIn, *, secret_line: str = 'secret_env = "DINGTALK_SECRET"') -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[sinks.desk]\ntype = "dingtalk"\nurl = "{stand_in.url}"\n{secret_line}\n\n'
        f'[sinks.team]\ntype = "slack"\nurl = "{stand_in.url}"\nrules = ["pct_below"]\n'
    )
    path.chmod(0o600)
    return path


def _run(tmp_path: Path, *argv: str, secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARKETMON_HOME": str(tmp_path / "home"), "DINGTALK_SECRET": secret}
    env.pop("MARKETMON_CONFIG", None)
    return subprocess.run([str(MARKETMON), *argv], capture_output=True, text=True, timeout=120, env=env)


def test_the_bundled_days_verisilicon_limit_up_reaches_a_signed_dingtalk_robot_once(tmp_path: Path) -> None:
    with StandIn("dingtalk", secret=SECRET) as stand_in:
        config = _settings(tmp_path, stand_in)
        done = _run(tmp_path, "watch", "--demo", "--speed", "0", "--symbols", "688521.SH", "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines() if '"alert"' in line]
    assert [(a["symbol"], a["rule"]) for a in printed] == [("688521.SH", "limit_up")]
    [request] = stand_in.seen  # the slack sink takes only pct_below: nothing for it
    assert request.signed is True and request.query["access_token"] == "abc"
    text = request.json()["markdown"]["text"]
    for field in ("688521.SH", "VeriSilicon", "limit\\_up", "154.39", "+20.00%", "2025-09-12 13:42:00"):
        assert field in text, (field, text)
    # ... and the delivery log says so, under the alert, in `alerts --tail`.
    tail = _run(tmp_path, "alerts", "--deliveries", "--json")
    [outcome] = [json.loads(line) for line in tail.stdout.splitlines()]
    assert (outcome["sink"], outcome["outcome"], outcome["attempts"], outcome["symbol"]) == ("desk", "sent", 1, "688521.SH")


def test_a_wrong_secret_is_dingtalks_errcode_in_the_delivery_log_and_alerts_tail(tmp_path: Path) -> None:
    with StandIn("dingtalk", secret=SECRET) as stand_in:
        config = _settings(tmp_path, stand_in)
        done = _run(tmp_path, "watch", "--demo", "--speed", "0", "--symbols", "688521.SH", "--history", "--config", str(config), secret="SECwrong")
    assert done.returncode == 0, done.stderr
    assert [r.signed for r in stand_in.seen] == [False]  # not retried: a bad signature will not heal
    tail = _run(tmp_path, "alerts", "--tail", "5")
    lines = tail.stdout.splitlines()
    assert "688521.SH" in lines[0] and "limit_up" in lines[0]
    assert lines[1].lstrip().endswith("-> desk (dingtalk) failed, 1 attempt: error 310000: sign not match"), lines
    [as_json] = [json.loads(line) for line in _run(tmp_path, "alerts", "--tail", "5", "--json").stdout.splitlines()]
    [delivery] = as_json["deliveries"]
    assert (as_json["symbol"], delivery["sink"], delivery["outcome"], delivery["alert_ts"]) == (
        "688521.SH", "desk", "failed", as_json["ts"])  # fmt: skip


def test_alerts_test_sends_one_message_per_sink_and_prints_the_answer(tmp_path: Path) -> None:
    with StandIn("dingtalk", secret=SECRET) as stand_in:
        config = _settings(tmp_path, stand_in)
        done = _run(tmp_path, "alerts", "test", "desk", "--config", str(config))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == 'desk (dingtalk): sent: HTTP 200: {"errcode": 0, "errmsg": "ok"}'
        assert [r.signed for r in stand_in.seen] == [True]
        assert "TEST" in stand_in.seen[0].json()["markdown"]["text"]
        failed = _run(tmp_path, "alerts", "test", "--config", str(config), secret="SECwrong")
    # Both sinks tried (the second one is a slack sink pointed at a DingTalk robot: its answer is not "ok").
    assert failed.returncode == 1
    assert failed.stdout.splitlines()[0] == "desk (dingtalk): FAILED: error 310000: sign not match"
    assert failed.stdout.splitlines()[1].startswith("team (slack): FAILED: HTTP 200:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("alerts", "test", "nope"), "no sink 'nope' in"),
        (("alerts", "stray"), "argument action: invalid choice"),
    ],
)
def test_alerts_test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    with StandIn("dingtalk") as stand_in:
        config = _settings(tmp_path, stand_in)
        done = _run(tmp_path, *argv, "--config", str(config))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert stand_in.seen == []


def test_a_secret_in_a_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    with StandIn("dingtalk", secret=SECRET) as stand_in:
        config = _settings(tmp_path, stand_in, secret_line=f'secret = "{SECRET}"')
        config.chmod(0o644)
        loud = _run(tmp_path, "alerts", "test", "desk", "--config", str(config))
        config.chmod(0o600)
        quiet = _run(tmp_path, "alerts", "test", "desk", "--config", str(config))
    assert loud.returncode == quiet.returncode == 0
    assert "holds a sink secret and others can read it (mode 644)" in loud.stderr
    assert quiet.stderr == ""
    assert [r.signed for r in stand_in.seen] == [True, True]


def test_alerts_deliveries_follow_prints_outcomes_as_they_are_logged(tmp_path: Path) -> None:
    import time

    from marketmon.alerts.delivery_log import DeliveryLog, Outcome
    from tests.faultkit import readline

    log = DeliveryLog(tmp_path / "home" / "data" / "deliveries.jsonl")
    log.append(Outcome(1757655721000, "desk", "dingtalk", "sent", 1, "HTTP 200", 1757655720000, "688521.SH", "limit_up"))
    env = {**os.environ, "MARKETMON_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([str(MARKETMON), "alerts", "--deliveries", "--follow", "--json"],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert json.loads(readline(proc.stdout))["outcome"] == "sent"
        time.sleep(0.3)
        log.append(Outcome(1757655790000, "desk", "dingtalk", "dropped", 0, "queue full (100): 1 dropped",
                           1757655780000, "688256.SH", "pct_above"))  # fmt: skip
        later = json.loads(readline(proc.stdout))
        assert (later["event"], later["outcome"], later["symbol"]) == ("delivery", "dropped", "688256.SH")
    finally:
        proc.terminate()
        proc.wait(10)
