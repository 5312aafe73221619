"""Line coverage per package, from the data `pytest --cov` left in .coverage, and
the floors in pyproject.toml ([tool.marketmon.coverage-floors]): `make test` fails
when a package falls under its floor (the total's floor is coverage's own
`fail_under`, [tool.coverage.report])."""

from __future__ import annotations

import json
import sys
import tempfile
import tomllib
from collections import defaultdict
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[1]


def package_of(path: str) -> str:
    """marketmon/store/state.py -> store; marketmon/engine.py -> engine; __main__ is the command line."""
    parts = Path(path).parts
    parts = parts[len(parts) - 1 - parts[::-1].index("marketmon") + 1 :]  # after the last "marketmon"
    if len(parts) > 1:
        return parts[0]
    return {"__main__.py": "cli", "__init__.py": "cli"}.get(parts[0], Path(parts[0]).stem)


def per_package() -> dict[str, tuple[int, int]]:
    cov = coverage.Coverage(data_file=str(ROOT / ".coverage"), config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(out))
        files = json.loads(out.read_text())["files"]
    lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, report in files.items():
        summary = report["summary"]
        counted = lines[package_of(path)]
        counted[0] += summary["covered_lines"]
        counted[1] += summary["num_statements"]
    return {name: (covered, total) for name, (covered, total) in lines.items()}


def main() -> int:
    floors = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["marketmon"]["coverage-floors"]
    shown = per_package()
    low = []
    print("\nline coverage per package (floor)")
    for name, (covered, total) in sorted(shown.items()):
        pct = 100 * covered / total if total else 100.0
        floor = floors.get(name)
        print(f"  {name:<8} {pct:5.1f} %  {covered:>5}/{total:<5}" + (f"  (floor {floor} %)" if floor else ""))
        if floor is not None and pct < floor:
            low.append(f"{name} {pct:.1f} % < {floor} %")
    if low:
        print("under the floor: " + ", ".join(low), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
