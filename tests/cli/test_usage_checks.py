"""Bad numbers on the command line (issue 14 item 8): one line, exit 2, no traceback."""

from __future__ import annotations

import pytest

from marketmon.cli.main import main


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--demo", "--port", "99999"], "--port must be from 0 to 65535"),
        (["serve", "--demo", "--port", "-1"], "--port must be from 0 to 65535"),
        (["bridge", "sina", "--symbols", "600519.SH", "--port", "70000"], "--port must be from 0 to 65535"),
        (["serve", "--demo", "--speed", "-5"], "--speed must be a number, 0 or more"),
        (["serve", "--demo", "--speed", "nan"], "--speed must be a number, 0 or more"),
        (["serve", "--demo", "--speed", "inf"], "--speed must be a number, 0 or more"),
        (["watch", "--demo", "--all", "--speed", "-5"], "--speed must be a number, 0 or more"),
        (["--speed", "nan"], "--speed must be a number, 0 or more"),
    ],
)
def test_a_bad_number_is_one_line_and_exit_2(argv, said, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("marketmon: ") and said in err and err.count("\n") == 1, err
