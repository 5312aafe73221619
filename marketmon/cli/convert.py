"""`marketmon convert --from SOURCE FILE`: a saved source response as protocol
quotes, one JSON line each; what the source does not know goes to stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from marketmon.cli.bridge import SOURCE_NAMES
from marketmon.cli.exit_codes import EXIT_OK, UsageError


def add_parser(sub: Any) -> None:
    convert = sub.add_parser("convert", help="print a saved source response as protocol quotes (JSON lines)")
    convert.add_argument("--from", dest="source", choices=SOURCE_NAMES, required=True)
    convert.add_argument("file", metavar="FILE", help="saved response ('-' for stdin)")


def run(args: argparse.Namespace) -> int:
    import msgspec

    from marketmon.serve.sources import ParseError, get_source

    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    try:
        parsed = get_source(args.source).parse(body)
    except ParseError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    encode = msgspec.json.Encoder().encode
    out = sys.stdout.buffer
    for quote in parsed.quotes:
        out.write(encode(quote) + b"\n")
    out.flush()
    for code in parsed.unknown:
        print(f"marketmon: {args.source} does not know {code}", file=sys.stderr)
    for line in parsed.errors:
        print(f"marketmon: skipped {line}", file=sys.stderr)
    return EXIT_OK
