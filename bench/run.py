"""All the figures of docs/performance.md: the same as `marketmon bench`.

    .venv/bin/python bench/run.py [--json] [--quick] [--no-screen]

Each figure is printed beside its baseline from the same run (ingest beside
plain JSON decoding of the same bytes; the scale curve as cost per update).
"""

import sys

from marketmon.cli.main import main

raise SystemExit(main(["bench", *sys.argv[1:]]))
