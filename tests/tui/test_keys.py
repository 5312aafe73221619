"""Every key action of the monitor, driven through Pilot on the held demo."""

from __future__ import annotations

import pytest

from marketmon.tui import keys
from marketmon.tui.app import MarketmonApp
from marketmon.tui.dialogs.help import HelpScreen
from marketmon.tui.panels.detail import Detail
from marketmon.tui.panels.watchlist import COLUMNS, SORT_CYCLE, WatchTable

from .conftest import demo_app, ready

SIZE = (160, 48)


def codes(table: WatchTable) -> list[str]:
    return [table.get_row_at(i)[0].plain.strip() for i in range(table.row_count)]


def cell(table: WatchTable, symbol: str, column: str) -> str:
    return table.get_cell(symbol, column).plain.strip()


async def test_q_quits(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


async def test_ctrl_c_quits_too(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash", "ctrl+c")  # even from the filter box
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


async def test_question_mark_lists_every_key_and_closes(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys")
        shown = {table.get_row_at(i)[0].plain for i in range(table.row_count)}
        for key in keys.KEYS:
            assert key.shown in shown, key
        # Every app binding has a line in the help screen.
        assert {b.key for b in app.BINDINGS} <= {k for key in keys.KEYS for k in key.keys.split(",")}
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_number_keys_and_tab_switch_watchlists(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.watchlists
        assert [t.title for t in panel.tables] == ["AI chips", "HK tech", "All"]
        assert panel.table.title == "AI chips"
        await pilot.press("2")
        await pilot.pause()
        assert panel.table.title == "HK tech"
        assert codes(panel.table)[0] == "09988.HK"
        await pilot.press("3")
        await pilot.pause(0.4)
        assert panel.table.title == "All" and panel.table.row_count == app.store.frame.height
        await pilot.press("9")  # no ninth list: nothing happens
        assert panel.table.title == "All"
        await pilot.press("tab")
        assert panel.table.title == "AI chips"
        await pilot.press("shift+tab")
        assert panel.table.title == "All"
        await pilot.press("1")
        assert panel.table.title == "AI chips"


async def test_j_k_move_and_the_chart_follows_and_enter_opens_it(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table, detail = app.watchlists.table, app.query_one(Detail)
        assert table.cursor_row == 0 and detail.symbol == "688521.SH"
        await pilot.press("j", "j")
        await pilot.pause()
        assert table.cursor_row == 2 and detail.symbol == "603019.SH"
        await pilot.press("k")
        await pilot.pause()
        assert table.cursor_row == 1 and detail.symbol == "688256.SH"
        await pilot.press("enter")
        await pilot.pause()
        assert app.view == "detail" and detail.display and not app.watchlists.display
        assert detail.size.height > 30  # the chart has the whole screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.view is None and app.watchlists.display and detail.display


async def test_s_cycles_the_sort_column_and_r_reverses(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.watchlists.table
        listed = codes(table)
        await pilot.press("s")  # list order -> Pct, biggest gain first (issue 14 item 10)
        assert table.sort_key == "pct" and table.reverse
        pcts = [app.store.quote(s)["pct"] for s in codes(table)]
        assert pcts == sorted(pcts, reverse=True)
        assert "▼" in table.columns["pct"].label.plain  # the header says which column, which way
        assert not any("▼" in c.label.plain or "▲" in c.label.plain for k, c in table.columns.items() if k != "pct")
        await pilot.press("r")
        pcts = [app.store.quote(s)["pct"] for s in codes(table)]
        assert pcts == sorted(pcts) and "▲" in table.columns["pct"].label.plain
        await pilot.press("s")  # then Amount, biggest first
        assert table.sort_key == "turnover" and table.reverse and "▲" not in table.columns["pct"].label.plain
        for _ in range(len(SORT_CYCLE) - 2):
            await pilot.press("s")
        assert table.sort_key == "name" and not table.reverse and codes(table) == sorted(
            listed, key=lambda s: app.store.quote(s)["name"])
        await pilot.press("s")  # ... round to the list order again
        assert table.sort_key is None and codes(table) == listed
        assert all("▲" not in c.label.plain and "▼" not in c.label.plain for c in table.columns.values())


def test_s_goes_through_every_column_once() -> None:
    assert sorted(SORT_CYCLE) == sorted(c.key for c in COLUMNS)


async def test_slash_filters_by_code_or_name_and_escape_clears(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.watchlists.table
        await pilot.press("slash")
        box = app.query_one("#wl-filter")
        assert box.display and box.has_focus
        await pilot.press(*"veri")
        assert codes(table) == ["688521.SH"]
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"6883")
        assert codes(table) == ["688327.SH"]
        await pilot.press("enter")  # keep the filter, back to the table
        assert table.has_focus and box.display and codes(table) == ["688327.SH"]
        await pilot.press("escape")
        await pilot.pause()
        assert not box.display and len(codes(table)) == 6


async def test_view_keys_zoom_one_panel_and_v_cycles(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key, panel_id in (("l", "limits"), ("e", "etf"), ("b", "southbound"), ("a", "alerts"), ("d", "detail")):
            await pilot.press(key)
            await pilot.pause()
            shown = [p for p in ("watchlists", "detail", "limits", "etf", "southbound", "alerts")
                     if app.query_one(f"#{p}").display and app.query_one(f"#{p}").region.area]  # fmt: skip
            assert shown == [panel_id], key
        await pilot.press("d")  # the same key again: every panel back
        await pilot.pause()
        assert app.view is None
        await pilot.press("v")
        assert app.view == "detail"
        await pilot.press("v")
        assert app.view == "limits"
        await pilot.press("w")
        await pilot.pause()
        assert app.view == "watch" and app.watchlists.table.has_focus
        await pilot.press("escape")
        assert app.view is None


async def test_t_cycles_themes(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "china"
        seen = []
        for _ in range(4):
            await pilot.press("t")
            seen.append(app.theme)
        assert sorted(seen) == ["china", "colorblind", "light", "western"]
        assert set(app.available_themes) == {"china", "colorblind", "light", "western"}


async def test_command_palette_runs_actions(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"western")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.theme == "western"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"show limit")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.view == "limits"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"list hk")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.watchlists.table.title == "HK tech" and app.view == "watch"


@pytest.mark.parametrize("title", ["Help", "Quit", "Filter", "Sort", "Reverse", "Next theme", "Next panel",
                                   "Next watchlist", "Previous watchlist"])  # fmt: skip
async def test_every_action_is_in_the_palette(home, title):
    from marketmon.tui.commands import MarketmonCommands

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [t for t, _cb, _help in MarketmonCommands(app.screen)._commands()]
        assert any(t.startswith(title) for t in titles), titles


async def test_mouse_clicks_a_tab_a_header_and_a_row(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.click("#wl-tab-1")
        await pilot.pause()
        table = app.watchlists.table
        assert table.title == "HK tech"
        header_x = sum(c.width for c in list(table.columns.values())[:3]) + 2  # the Pct header
        await pilot.click(table, offset=(header_x, 0))
        await pilot.pause()
        assert table.sort_key == "pct"
        await pilot.click(table, offset=(3, 3))  # the third row
        await pilot.pause()
        assert table.cursor_row == 2
        assert app.query_one(Detail).symbol == codes(table)[2]


async def test_small_terminal_switches_panels_with_keys(home):
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.screen.has_class("-compact") and app.view is None
        assert app.watchlists.display and not app.query_one("#limits").display
        await pilot.press("l")
        await pilot.pause()
        assert app.query_one("#limits").display and not app.watchlists.display
        await pilot.press("escape")
        await pilot.pause()
        assert app.watchlists.display and not app.query_one("#limits").display
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(Detail).display and not app.watchlists.display


def test_keys_table_has_no_duplicates():
    seen: list[str] = []
    for key in keys.KEYS:
        for k in key.keys.split(","):
            assert k not in seen, k
            seen.append(k)
    # Each key of the table is bound on the app to its action (priority as the table says).
    bound = {b.key: (b.action, b.priority) for b in MarketmonApp.BINDINGS}
    expected = {name: (k.action, k.priority) for k in keys.KEYS if k.action and k.keys != "ctrl+p"
                for name in k.keys.split(",")}  # fmt: skip
    assert bound == expected


async def views_seen(pilot, seconds: float) -> set[str | None]:
    seen = set()
    for _ in range(int(seconds / 0.1)):
        await pilot.pause(0.1)
        seen.add(pilot.app.view)
    return seen


@pytest.mark.parametrize("size", [SIZE, (80, 24)])
async def test_two_view_changes_in_one_turn_settle_on_the_last(home, size):
    # Each change activates the panel bar's tab, and the tab's message comes back
    # later: a stale one must not switch the view again (they used to bounce
    # between the two views for ever, at 90 % of a core).
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        app.action_view("board")  # before the panel bar's first activation has come back
        assert await views_seen(pilot, 1.0) == {"board"}
        app.action_view("limits")
        app.action_view("board")
        app.action_view("alerts")
        assert await views_seen(pilot, 1.0) == {"alerts"}
        assert app.query_one("#views").active == "view-alerts"


async def test_a_table_hidden_while_its_rows_change_draws_them_when_it_is_shown_again(home):
    from tests.tui import drawn

    from .conftest import at, settle

    app = demo_app("10:30", start="10:30")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "10:30")
        table = app.query_one("#limit-table")
        await pilot.press("u")  # the ladder view: the limit board is hidden...
        await pilot.pause(0.3)
        app.demo_server.hold(at("10:45"))  # ...while its prices move (its rows keep their order)
        await settle(pilot, "10:45")
        await pilot.press("u")
        await pilot.pause(0.5)
        assert table.region.area
        for i in range(table.row_count):
            cells = [c.plain.strip() for c in table.get_row_at(i)]
            line = "".join(ch for ch, _ in drawn.chars(table, i + 1))  # line 0 is the header
            assert all(c in line for c in cells), (cells, line)  # what is drawn is what the row holds now
