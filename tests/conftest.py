"""Shared helpers: real loopback servers and state comparison."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from marketmon.store.book import levels
from marketmon.store.state import COLUMN_OF, Store

TRADE_DATE = "2025-09-12"
T0 = 1757640600000  # 2025-09-12 09:30:00 Asia/Shanghai


def assert_same_state(server_quotes: dict[str, dict], store: Store) -> None:
    """Every field the server holds is exactly what the client's frame holds."""
    assert store.frame.height == len(server_quotes), (store.frame.height, len(server_quotes))
    for symbol, quote in server_quotes.items():
        row = store.quote(symbol)
        assert row is not None, symbol
        for field, value in quote.items():
            got = row["name_zh" if field == "name" else COLUMN_OF[field]]  # `name`: the one shown
            if field in ("bids", "asks"):  # a book side: a fixed-width cell (store/book.py)
                got, value = levels(got), [(p, float(size)) for p, size in value]
            if isinstance(value, float) and isinstance(got, float):
                assert math.isclose(got, value, rel_tol=0, abs_tol=0), (symbol, field, got, value)
            else:
                assert got == value, (symbol, field, got, value)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 (pytest's hook)
    """The fault suites' tally (tests/faultkit.py): printed after the run and, with
    $MARKETMON_RELIABILITY_JSON, written there (bench/reliability_summary.py reads it)."""
    import os
    import sys

    faultkit = sys.modules.get("tests.faultkit")
    if faultkit is None or not faultkit.TALLY:
        return
    tally = {k: faultkit.TALLY[k] for k in faultkit.KEYS}
    terminalreporter.write_sep("-", "reliability tally")
    terminalreporter.write_line("  ".join(f"{k.replace('_', ' ')}: {v}" for k, v in tally.items()))
    if path := os.environ.get("MARKETMON_RELIABILITY_JSON"):
        faultkit.write_tally(path)
