"""Public quote sources: a pure parser per source plus one shared poller.

Each source module exposes a `SOURCE` (see `base.Source`): how to name a
symbol for that source, how to build a request for a batch of symbols, and
`parse(body) -> Parsed` that turns a raw HTTP body into protocol quote dicts.
The poller (`poll.py`) does the HTTP, the diffing and the publishing for all.
"""

from __future__ import annotations

from marketmon.serve.sources.base import Parsed, ParseError, Source

SOURCE_NAMES = ("sina", "tencent", "eastmoney")


def get_source(name: str) -> Source:
    """The source called `name`; ValueError for a name we do not know."""
    if name == "sina":
        from marketmon.serve.sources.sina import SOURCE
    elif name == "tencent":
        from marketmon.serve.sources.tencent import SOURCE
    elif name == "eastmoney":
        from marketmon.serve.sources.eastmoney import SOURCE
    else:
        raise ValueError(f"unknown source {name!r}: expected one of {', '.join(SOURCE_NAMES)}")
    return SOURCE


__all__ = ["SOURCE_NAMES", "Parsed", "ParseError", "Source", "get_source"]
