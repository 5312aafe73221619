"""SVG snapshots of the main screen, with the demo held at fixed market moments.

The demo replays as fast as it can and holds at the moment; the screenshot is
taken once the feed has been quiet for longer than the status bar's rate
window, so the clock, the message rate and every flash are settled. Update
with `pytest tests/tui --snapshot-update` and look at the report.
"""

from __future__ import annotations

import pytest

from .conftest import demo_app, settle

MOMENTS = {"1030": "10:30", "close": "16:10"}
# Each panel alone, full width, by its zoom key; the status bar and index strip stay above it,
# and the main screen snapshots below show every panel side by side at the same two moments.
PANELS = {
    "watchlists": "w",
    "chart": "d",  # VeriSilicon, the first row: at the close, sealed at +20 % from 13:42, flat on the limit-up line
    "limit_board": "l",
    "etf_premium": "e",
    "southbound": "b",
    "alert_log": "a",
    "board": "u",  # the ladder (VeriSilicon 2连板 sealed at the close, Sugon's broken 3rd), breadth bars, A/H pairs
}


def held(until: str, *keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot, until)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.2)

    return run_before


def test_main_screen_at_1030(snap_compare, home):
    assert snap_compare(demo_app("10:30"), terminal_size=(160, 48), run_before=held("10:30"))


def test_main_screen_at_the_close(snap_compare, home):
    assert snap_compare(demo_app("16:10"), terminal_size=(160, 48), run_before=held("16:10"))


def test_small_screen_at_the_close(snap_compare, home):
    # The small screen shows no chart: the day can start at the close.
    app = demo_app("16:10", start="16:10")
    assert snap_compare(app, terminal_size=(80, 24), run_before=held("16:10"))


def test_hk_list_and_chart_at_1030(snap_compare, home):
    # The second list, its third row (Kuaishou) charted full screen: HK's axis runs to 16:10.
    assert snap_compare(demo_app("10:30"), terminal_size=(160, 48), run_before=held("10:30", "2", "j", "j", "enter"))


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("panel", PANELS)
def test_panel_at_160x48(snap_compare, home, panel, moment):
    until = MOMENTS[moment]
    assert snap_compare(demo_app(until), terminal_size=(160, 48), run_before=held(until, PANELS[panel]))


@pytest.mark.parametrize("moment", MOMENTS)
def test_small_screen_board(snap_compare, home, moment):
    # The ladder view as a panel of the panel bar at 80x24: both columns stacked, scrolled to the top.
    until = MOMENTS[moment]
    assert snap_compare(demo_app(until), terminal_size=(80, 24), run_before=held(until, "u"))


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_detail_view(snap_compare, home, size):
    # Enter on the first row (VeriSilicon) at 10:30: five levels of ask and bid, the
    # average-price line, prices on the left axis and percent on the right, the figures.
    assert snap_compare(demo_app("10:30"), terminal_size=size, run_before=held("10:30", "enter"))
