"""The screen as a trader lives in it (issue 14, items 2, 5-10): each test
drives the real app on the held demo and failed before its fix."""

from __future__ import annotations

from marketmon.tui.app import MarketmonApp
from marketmon.tui.dialogs.thresholds import Thresholds

from .conftest import demo_app, ready
from .test_keys import codes
from .test_list_edit import notes, two_lists, type_text

SIZE = (160, 48)


def shown(app: MarketmonApp, selector: str) -> str:
    return str(app.query_one(selector).render())


# item 7 and item 10: the filter ----------------------------------------------------------


async def test_the_chart_follows_the_row_a_filter_lands_on_and_no_match_says_so(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.detail.symbol == "688521.SH"  # VeriSilicon, the first row
        await pilot.press("slash", *"cloud", "enter")
        await pilot.pause()
        assert codes(app.watchlists.table) == ["688327.SH"]
        assert app.detail.symbol == "688327.SH"  # the chart shows CloudWalk, not VeriSilicon
        assert not app.query_one("#wl-no-match").display

        await pilot.press("slash", *"zzz")
        await pilot.pause()
        note = app.query_one("#wl-no-match")
        assert codes(app.watchlists.table) == [] and note.display
        assert "No instrument in AI chips matches 'zzz'" in shown(app, "#wl-no-match")
        assert app.detail.symbol == "688327.SH"  # nothing matched: the chart stays
        await pilot.press("escape")
        await pilot.pause()
        assert not note.display and len(codes(app.watchlists.table)) > 1


# item 10: small things -------------------------------------------------------------------


async def test_k_on_the_top_row_says_why_nothing_moved(home):
    async with two_lists(home) as (app, pilot, mine, _other):
        before = mine.read_bytes()
        await pilot.press("K")
        await pilot.pause()
        assert mine.read_bytes() == before
        assert any("688521.SH is already first in Mine" in n for n in notes(app))
        await pilot.press("j", "J")
        await pilot.pause()
        assert any("688256.SH is already last in Mine" in n for n in notes(app))


async def test_the_palette_lists_each_command_once(home):
    from textual.widgets import OptionList

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.5)
        options = app.screen.query_one(OptionList)
        titles = [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]
        assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
        assert "Quit" in titles and "Help" in titles and "Theme: china" in titles


# item 8: the thresholds dialog --------------------------------------------------------------


async def test_the_thresholds_dialog_refuses_nan_and_inf(home):
    async with two_lists(home) as (app, pilot, mine, _other):
        before = mine.read_bytes()
        for bad in ("nan", "inf", "-Infinity"):
            await pilot.press("T")
            await pilot.pause()
            assert isinstance(app.screen, Thresholds)
            await type_text(pilot, bad)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, Thresholds), f"{bad} was saved"
            assert "must be a finite number" in shown(app.screen, "#rule-note")
            await pilot.press("escape")
            await pilot.pause()
        assert mine.read_bytes() == before
