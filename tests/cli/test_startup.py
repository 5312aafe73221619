"""`marketmon --help` and each command's --help load neither textual nor polars:
the parser is built from light modules, and a command imports what it needs
when it runs. Each check runs in a fresh interpreter, as a user's shell would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from marketmon.cli.main import COMMANDS

HEAVY = ("textual", "polars", "msgspec", "websockets", "nats", "marketmon.engine", "marketmon.store", "marketmon.tui")

PROBE = """
import contextlib, io, json, sys
from marketmon.cli.main import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
top = lambda m: ".".join(m.split(".")[:2]) if m.startswith("marketmon") else m.split(".")[0]
print(json.dumps({"code": code, "help": out.getvalue(), "loaded": sorted({top(m) for m in sys.modules})}))
"""


def _probe(*argv: str) -> dict:
    """Run `marketmon ARGV` in a fresh interpreter: its exit code, stdout and the packages it loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("argv", [(), *((name,) for name in COMMANDS)], ids=lambda a: " ".join(a) or "marketmon")
def test_help_loads_neither_textual_nor_polars(argv: tuple[str, ...]) -> None:
    result = _probe(*argv, "--help")
    assert result["code"] == 0 and "usage: marketmon" in result["help"]
    assert not set(HEAVY) & set(result["loaded"]), set(HEAVY) & set(result["loaded"])


def test_the_probe_sees_what_a_running_command_loads() -> None:
    """The check above can fail: a command that runs loads what it needs."""
    result = _probe("convert", "--from", "sina", "/no/such/response.txt")
    assert result["code"] == 2  # cannot read the file: a usage error, after the imports
    assert {"msgspec", "marketmon.serve"} <= set(result["loaded"])
