"""Where a TOML file is broken: tomllib's error as a message, a line and a column."""

from __future__ import annotations

import re
import tomllib

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[str, int, int]:
    """tomllib's message without its "(at line L, column C)", and that line and
    column; for "at end of document", which has none, the end of the text."""
    found = _POSITION.search(str(exc))
    message = _POSITION.sub("", str(exc)).strip()
    if found:
        return message, int(found.group(1)), int(found.group(2))
    lines = text.split("\n")
    return message, len(lines), len(lines[-1]) + 1
