"""Helpers for the app tests: an isolated home, the demo held at fixed moments,
and a wait until the screen has caught up with the held market."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
from textual.pilot import Pilot

from marketmon.market.sessions import market_ms
from marketmon.serve.demo_day import TRADE_DATE
from marketmon.tui.app import MarketmonApp

DATA = Path(__file__).parent / "data"
LISTS = [DATA / "ai.toml", DATA / "hk.toml"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, themes, watchlists and alert history under a fresh folder."""
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    monkeypatch.delenv("MARKETMON_CONFIG", raising=False)
    settings = tmp_path / "config" / "config.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("# tests make no noise\n[sound]\nenabled = false\n", encoding="utf-8")
    return tmp_path


def at(hhmm: str) -> int:
    return market_ms(dt.date.fromisoformat(TRADE_DATE), dt.time.fromisoformat(hhmm))


def demo_app(
    until: str = "09:31", lists: list[Path] | None = None, start: str | None = None, **kwargs
) -> MarketmonApp:
    """The demo replayed as fast as it goes, then held at `until` (market time).

    With `start` the day jumps straight to that moment (one snapshot, no
    intraday history: quick, for tests that read prices, not charts). A held
    feed goes quiet in trading hours; stale_after keeps it 'live' so a slow
    machine cannot turn a snapshot stale.
    """
    return MarketmonApp(
        speed=0,
        demo_start=at(start) if start else None,
        demo_until=at(until),
        watchlists=LISTS if lists is None else lists,
        feed_options={"stale_after": 3600},
        **kwargs,
    )


async def settle(pilot: Pilot, until: str, timeout: float = 180.0) -> None:
    """Wait until the held market has arrived and the screen shows all of it.

    The replay reaches `until`; then no message comes for longer than the
    status bar's rate window (so it reads 0 msg/s and every flash is over),
    and every panel on screen has drawn the last store version.
    """
    app: MarketmonApp = pilot.app  # type: ignore[assignment]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    target = at(until)
    quiet_since, last_count = loop.time(), -1
    waiting_for = "the app to start"
    while True:
        await pilot.pause(0.1)
        assert loop.time() < deadline, f"the demo did not reach its hold in time: waited for {waiting_for}"
        engine, store = app.engine, app.store
        if engine is None or store is None or (store.clock or 0) < target:
            clock = None if store is None else store.clock
            waiting_for = f"the clock to reach {target} (store clock {clock}, feed {app.feed_state!r})"
            continue
        count = engine.client.stats.messages
        if count != last_count:
            quiet_since, last_count = loop.time(), count
            waiting_for = f"messages to stop ({count} so far)"
            continue
        status = app.query_one("#status").render().plain
        behind = [p.id for p in app._live_panels() if p.display and app._seen.get(p.id) != store.version]
        reads_zero = re.search(r"(?<![0-9])0 msg/s", status) is not None  # as drawn
        if loop.time() - quiet_since > 2.5 and reads_zero and not behind and not store.has_pending:
            break
        waiting_for = f"the screen to catch up (status {status!r}, panels behind {behind}, pending {store.has_pending})"
    await pilot.pause()


async def ready(pilot: Pilot, until: str = "09:31", timeout: float = 60.0) -> None:
    """Wait until the replay has reached `until` and the watchlist shows prices."""
    app: MarketmonApp = pilot.app  # type: ignore[assignment]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await pilot.pause(0.05)
        assert loop.time() < deadline, "the demo did not start in time"
        store = app.store
        # The clock is the newest message's; its quotes count once flushed.
        if store is None or (store.clock or 0) < at(until) or store.has_pending:
            continue
        table = app.watchlists.table
        if table.rows_raw and app._seen.get("watchlists") == store.version:
            break
    await pilot.pause()
