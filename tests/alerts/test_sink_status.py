"""A failing chat sink shows on the status bar, and goes away once it delivers again.
(The status bar's other tests are in tests/tui/test_status_bar.py.)"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult

from marketmon.alerts.sinks import AlertSinks
from marketmon.tui.panels.status_bar import StatusBar
from tests.alerts.standin import StandIn
from tests.alerts.test_delivery import Sleeps, alert, deliveries, wait_until


class Bar(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(demo=False, id="status")


async def _drawn(app: Bar, pilot, sinks: AlertSinks) -> str:  # noqa: ANN001 (textual's Pilot)
    bar = app.query_one(StatusBar)
    bar.update_from(None, "live", 0, failing=sinks.failing())  # as the app's tick does
    await pilot.pause()
    return bar.render().plain


async def test_a_failing_sink_is_on_the_status_bar_until_it_delivers(tmp_path: Path) -> None:
    sleeps = Sleeps()
    sleeps.gate.clear()  # hold the retry so the test sees the failing state
    with StandIn("dingtalk") as stand_in:
        stand_in.always = (503, {}, b"down")
        sinks = AlertSinks(deliveries=deliveries(stand_in, tmp_path, sleeps=sleeps))
        app = Bar()
        async with app.run_test(size=(200, 3)) as pilot:
            assert "alert sink" not in await _drawn(app, pilot, sinks)
            sinks(alert())
            wait_until(lambda: sleeps.delays)
            assert (await _drawn(app, pilot, sinks)).endswith("✕ alert sink failing: phone")
            stand_in.always = None
            sleeps.gate.set()
            assert sinks.deliveries is not None and sinks.deliveries.drain(10)
            assert "alert sink" not in await _drawn(app, pilot, sinks)
        sinks.close()
