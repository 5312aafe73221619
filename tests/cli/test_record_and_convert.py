"""`record`, `convert` and the screen's own checks, in-process, as a user's shell
runs them: real files in a temp dir, a real loopback server, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketmon.cli.main import main
from marketmon.serve.recording import Recording

from .test_every_instrument import QUOTES, feed_url  # noqa: F401  (feed_url: the fixture)

SOURCES = Path(__file__).parents[1] / "data" / "sources"


def test_record_a_feed_then_it_replays(feed_url, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "day.jsonl.gz"
    assert main(["record", "--url", feed_url, "--out", str(out), "--symbols", "600000,113050.SH"]) == 0
    said = capsys.readouterr().out
    assert f"to {out} (ended: eof)" in said
    recording = Recording(out)
    symbols = {q["symbol"] for _t, m in recording._messages() for q in m.get("quotes", [])}  # noqa: SLF001
    assert symbols == {"600000.SH", "113050.SH"} and recording.trade_date == "2025-09-12"


def test_record_says_when_the_feed_cannot_be_reached(tmp_path, capsys):
    """A feed never reached within the recorder's give-up time (10 s) is exit 1, not an empty recording."""
    code = main(["record", "--url", "ws://127.0.0.1:9", "--out", str(tmp_path / "x.gz")])
    assert code == 1 and "cannot reach the feed at ws://127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["record", "--url", "ws://x", "--out", "x.gz", "--duration", "0"], "--duration must be more than 0"),
        (["record", "--demo", "--out", "/no/such/folder/x.gz"], "cannot write /no/such/folder/x.gz"),
        (["convert", "--from", "tencent", "/no/such/file.txt"], "cannot read /no/such/file.txt"),
        (["convert", "--from", "eastmoney", str(SOURCES / "garbage.html")], "not East Money JSON"),
        (["--speed", "-1"], "--speed must be a number, 0 or more"),
        (["--source", "sina", "--url", "ws://x"], "--source and --url are two feeds"),
        (["bridge", "sina", "--symbols", "600000", "--cert", "c.pem"], "--cert and --key go together"),
        (["bridge", "sina", "--symbols", "600000", "--budget", "0"], "--budget must be 1 or more"),
        (["bridge", "sina", "--symbols", "600000", "--interval", "0.5"], "--interval must be at least 1 s"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_a_bad_watchlist_names_its_file_line_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nsymbols = ["600000.SH",\n')
    assert main(["bridge", "sina", "--watchlist", str(bad)]) == 2
    assert f"{bad}:3:" in capsys.readouterr().err


def test_convert_prints_protocol_quotes_and_names_what_the_source_does_not_know(capsys):
    assert main(["convert", "--from", "sina", str(SOURCES / "sina-a-share.gbk.txt")]) == 0
    out, err = capsys.readouterr()
    quotes = [json.loads(line) for line in out.splitlines()]
    assert {q["symbol"] for q in quotes} >= {"600000.SH", "688521.SH", "920118.BJ"}
    assert "sina does not know 600001.SH" in err
    assert len(QUOTES) > 0  # the shared feed module is importable from here
