"""Run the fault and hostile-input suites and tally what they did (docs/reliability.md).

    .venv/bin/python bench/reliability_summary.py            # all five suites
    .venv/bin/python bench/reliability_summary.py --no-tui   # without the terminal ones

Each test records what it injected once its assertions have passed
(tests/faultkit.py `record`), so "survived" counts only faults that were in
fact survived; a failing test records nothing and fails the run. "Data lost"
is zero only when every test passed, since each one asserts the client's
state equals the server's exactly, or the user's file is byte for byte intact.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = {
    "tests/feed/test_faults.py": "feed faults (restarts, half-open, stalls, gaps, duplicates, reordering, size, burst)",
    "tests/feed/test_hostile.py": "hostile and malformed feed input",
    "tests/config/test_file_faults.py": "watchlist and settings files",
    "tests/serve/test_security.py": "security: bind, token, frame size, no shell",
    "tests/tui/test_terminal_faults.py": "terminal: resize, quit, signals, crash, escapes",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tui", action="store_true", help="leave out the terminal suite")
    args = parser.parse_args(argv)
    suites = [s for s in SUITES if not (args.no_tui and "/tui/" in s)]
    with tempfile.TemporaryDirectory() as tmp:
        tally_path, junit = Path(tmp) / "tally.json", Path(tmp) / "junit.xml"
        env = {**os.environ, "MARKETMON_RELIABILITY_JSON": str(tally_path)}
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", *suites, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
            cwd=ROOT, env=env, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        tally = json.loads(tally_path.read_text()) if tally_path.exists() else {}
        per_suite = _per_suite(junit) if junit.exists() else {}
    passed = run.returncode == 0
    print("\n| suite | tests | passed | known open (xfail) | skipped | seconds |\n|---|---:|---:|---:|---:|---:|")
    for suite in suites:
        c = per_suite.get(suite, {})
        print(f"| {suite} | {c.get('tests', 0)} | {c.get('passed', 0)} | {c.get('xfail', 0)} | {c.get('skipped', 0)} "
              f"| {c.get('time', 0):.1f} |")  # fmt: skip
    print(f"\nwall time: {elapsed:.0f}s\n")
    print("| figure | count |\n|---|---:|")
    print(f"| faults injected | {tally.get('faults_injected', 0):,} |")
    print(f"| faults survived | {tally.get('faults_survived', 0):,} |")
    print(f"| bad inputs tried | {tally.get('bad_inputs', 0):,} |")
    print(f"| data lost | {tally.get('data_lost', 0) if passed else 'UNKNOWN: a test failed'} |")
    return run.returncode


def _per_suite(junit: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        path = "/".join(p for p in module if not p[:1].isupper()) + ".py"
        c = out.setdefault(path, {"tests": 0, "passed": 0, "xfail": 0, "skipped": 0, "failed": 0, "time": 0.0})
        c["tests"] += 1
        c["time"] += float(case.get("time", 0))
        skipped = case.find("skipped")
        if skipped is not None:
            c["xfail" if skipped.get("type") == "pytest.xfail" else "skipped"] += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            c["failed"] += 1
        else:
            c["passed"] += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
