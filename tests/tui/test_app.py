"""The app shell: layout at every size, themes kept across restarts, the
acceptance figures on screen, feed text shown as data, feed failures."""

from __future__ import annotations

import asyncio

from rich.text import Text

from marketmon.alerts.history import AlertHistory
from marketmon.config import paths
from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer
from marketmon.tui.app import MarketmonApp
from marketmon.tui.panels.detail import Detail
from marketmon.tui.panels.index_strip import IndexStrip
from marketmon.tui.panels.watchlist import WatchTable

from tests.tui import drawn

from .conftest import DATA, at, demo_app, ready, settle

SIZE = (160, 48)


def cell(table: WatchTable, symbol: str, column: str) -> str:
    return table.get_cell(symbol, column).plain.strip()


def panels_shown(app: MarketmonApp) -> list[str]:
    ids = ("watchlists", "detail", "limits", "etf", "southbound", "alerts")
    return [i for i in ids if app.part(f"#{i}").display and app.part(f"#{i}").region.area]


async def test_everything_is_on_screen_at_160x48(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert panels_shown(app) == ["watchlists", "detail", "limits", "etf", "southbound", "alerts"]
        assert app.part(IndexStrip).region.height == 3
        assert not app.part("#views").display


async def test_resize_to_40x12_and_back_keeps_the_watchlist_usable(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for size in ((80, 24), (40, 12), (30, 8), (80, 24), (160, 48), (40, 12), (160, 48)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            compact = size != (160, 48)
            assert app.screen.has_class("-compact") == compact, size
            assert "watchlists" in panels_shown(app), size
            if size[1] >= 12:
                assert app.watchlists.table.region.height >= 3, size
            await pilot.press("j")
            await pilot.press("k")
        assert len(panels_shown(app)) == 6
        await pilot.resize_terminal(40, 12)
        await pilot.press("l")
        await pilot.pause()
        assert panels_shown(app) == ["limits"]
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert panels_shown(app) == ["limits"]  # a chosen panel stays zoomed
        await pilot.press("escape")
        await pilot.pause()
        assert len(panels_shown(app)) == 6


async def test_an_80_column_watchlist_keeps_iopv_and_premium_on_screen(home):
    """All its columns take 90 cells; at 80 Chg and Vol give way, not the right edge."""
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        table = app.watchlists.table  # the AI chips list: stocks and one ETF
        shown = lambda: [c.key for c in table.columns.values() if not c.hidden]  # noqa: E731
        assert shown() == ["code", "name", "last", "pct", "turnover", "to_limit", "mark", "iopv", "premium"]
        assert table.virtual_size.width <= table.scrollable_content_region.width
        header = table.render_line(0).text
        assert "IOPV" in header and "Prem" in header and "Chg" not in header
        etf = table.get_row_index("589520.SH")
        assert "%" in table.render_line(etf + 1 - int(table.scroll_y)).text.split()[-1]  # its premium, on screen
        table.sort("volume", key=lambda t: t.plain)  # a hidden column still sorts: its cells are kept
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.3)
        assert [c.key for c in table.columns.values() if c.hidden] == []
        assert "Chg" in table.render_line(0).text


async def test_verisilicon_reads_plus_20_at_the_close(home):
    app = demo_app("16:10", start="16:10")  # straight to the close (the full day: test_snapshots)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "16:10")
        table = app.watchlists.table
        assert cell(table, "688521.SH", "pct") == "+20.00%"
        assert cell(table, "688521.SH", "last") == "154.39"
        assert cell(table, "688521.SH", "mark") == "LU"
        assert cell(table, "688521.SH", "to_limit") == "0.00%"
        assert cell(table, "589520.SH", "pct") == "+2.47%"
        assert cell(table, "520880.SH", "premium").startswith("+")
        detail = app.part(Detail)
        assert detail.symbol == "688521.SH"
        header = detail.render().plain.splitlines()[0]
        assert "+20.00%" in header and "LIMIT UP" in header
        strip = app.part(IndexStrip).render().plain
        assert "-0.12%" in strip and "-1.00%" in strip and "2.55T CNY" in strip
        status = app.part("#status").render().plain
        assert "16:10:00" in status and "2025-09-12" in status and "DEMO" in status


async def test_theme_choice_is_saved_with_the_users_comments_and_restored(home):
    settings = paths.settings_file()
    settings.write_text('# my desk settings\n[sound]\nenabled = false  # quiet office\n', encoding="utf-8")
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "china"
        assert 'theme' not in settings.read_text()  # the start-up theme is not a change
        await pilot.press("t")
        await pilot.pause()
    chosen = app.theme
    text = settings.read_text(encoding="utf-8")
    assert f'theme = "{chosen}"' in text
    assert "# my desk settings" in text and "enabled = false  # quiet office" in text
    again = demo_app()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == chosen


async def test_the_watchlist_draws_each_themes_colours(home):
    # Read from the drawn segments (tests/tui/drawn.py), in every bundled theme.
    mine = home / "colours.toml"
    mine.write_text('name = "Colours"\nsymbols = ["688521.SH", "688256.SH", "300502.SZ", "603880.SH"]\n')
    app = demo_app("16:10", start="16:10", lists=[mine])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "16:10")
        table = app.watchlists.table
        while table.flashes:  # a changed cell's flash is a background of its own
            await pilot.pause(0.1)
        table.focus()
        table.move_cursor(row=table.get_row_index("688256.SH"))
        up, down = "688521.SH", "300502.SZ"  # +20.00 % (limit-up), -3.62 %
        for theme in sorted(app.own_themes):
            app.theme = theme
            await pilot.pause(0.3)
            colour = app.get_theme(theme).variables
            for symbol, tone in ((up, "price-up"), (down, "price-down")):
                for column in ("last", "pct", "change"):
                    shown, styles = drawn.cell(table, symbol, column)
                    assert shown and drawn.colours(styles) == {drawn.rgb(colour[tone])}, (theme, symbol, column)
            for symbol, mark, side in ((up, "LU", "limit-up"), ("603880.SH", "LD", "limit-down")):
                shown, styles = drawn.cell(table, symbol, "mark")
                assert shown == mark and drawn.backgrounds(styles) == {drawn.rgb(colour[side])}, theme
                assert drawn.colours(styles) == {drawn.rgb(colour["limit-text"])}, theme
            # The cursor's row: every character on the one cursor background, which no other row has.
            band = drawn.backgrounds(drawn.row_ink(table, "688256.SH"))
            others = drawn.backgrounds(drawn.row_ink(table, up)) | drawn.backgrounds(drawn.row_ink(table, down))
            assert len(band) == 1 and not band & others, (theme, band, others)


async def test_a_broken_theme_file_is_named_and_the_others_load(home):
    folder = paths.user_themes_dir()
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text('name = "bad"\nprimary = "#123456"\n[variables\nprice-up = "#fff"\n')
    (folder / "mine.toml").write_text('name = "mine"\nprimary = "#123456"\n[variables]\nprice-up = "#00ffff"\n')
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any("bad.toml:3:" in m for m in notes), notes
        assert {"china", "western", "light", "colorblind", "mine"} <= set(app.available_themes)
        app.theme = "mine"  # missing app colours fall back to the default theme's
        await pilot.pause()
        assert app.theme_variables["price-down"] == app.get_theme("china").variables["price-down"]


async def test_a_broken_settings_file_is_named_and_the_app_runs_on_defaults(home):
    paths.settings_file().write_text('theme = "western"\n[sound]\nenabled = maybe\n')
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "china"  # the file was not read: defaults
        assert any("config.toml:3:" in n.message for n in app._notifications)
        await pilot.press("t")  # and the theme picker does not overwrite what it cannot parse
        assert "enabled = maybe" in paths.settings_file().read_text()
        assert any("not saved" in n.message for n in app._notifications)


async def test_m_mutes_alert_sounds(home):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        assert app.player.muted
        await pilot.press("m")
        assert not app.player.muted


async def test_a_broken_watchlist_is_named_and_the_others_load(home):
    app = demo_app(lists=[DATA / "ai.toml", DATA / "broken.toml"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [t.title for t in app.watchlists.tables] == ["AI chips", "All"]
        assert any("broken.toml" in n.message for n in app._notifications)


async def test_messages_quoting_files_are_not_markup(home, tmp_path):
    odd = tmp_path / "[bold]odd[x].toml"
    odd.write_text('name = "x"\nsymbols = ["[red]nope"]\n')
    app = demo_app(lists=[odd])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notes = [n for n in app._notifications if "odd" in n.message]
        assert notes and "[bold]odd[x].toml" in notes[0].message and not notes[0].markup


async def test_without_list_files_there_is_still_an_all_tab(home, monkeypatch):
    monkeypatch.setattr("marketmon.tui.lists.bundled", lambda: [])
    app = demo_app(lists=[])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert [t.title for t in app.watchlists.tables] == ["All"]
        assert app.watchlists.table.row_count == app.store.frame.height


async def test_bundled_and_user_lists_load_without_flags(home):
    folder = paths.user_watchlists_dir()
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text('name = "Mine"\nsymbols = ["688521.SH"]\n')
    app = demo_app(lists=[])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [t.title for t in app.watchlists.tables]
        # the bundled lists first, each in its place; the user's own after them (issue 14 item 2)
        assert titles[0] == "AI chips" and titles[-2:] == ["Mine", "All"] and len(titles) > 3


async def test_feed_text_is_shown_as_data_never_as_markup(home):
    evil = "[red]EVIL[/red]\x1b[2J"
    ts = 1757640600000
    script = ListScript("2025-09-12", [
        Event(ts, {"type": "quotes", "ts": ts, "quotes": [
            {"symbol": "600000.SH", "ts": ts, "name": evil, "kind": "stock", "prev_close": 10.0, "last": 10.5},
        ]}),
    ])  # fmt: skip
    async with QuoteServer(script, speed=0) as server:
        app = MarketmonApp(url=server.url, watchlists=[DATA / "hk.toml"])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")  # the All tab
            for _ in range(100):
                await pilot.pause(0.05)
                if app.watchlists.table.row_count:
                    break
            name = app.watchlists.table.get_cell("600000.SH", "name")
            assert isinstance(name, Text)
            assert name.plain.strip().startswith("[red]EVIL")  # the brackets are shown (cut to the column)
            assert "\x1b" not in name.plain
            assert not app.part("#status").demo


async def test_an_unreachable_feed_says_so(home):
    app = MarketmonApp(url="ws://127.0.0.1:9", watchlists=[], feed_options={"give_up_after": 0.3})
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.feed_state == "unreachable":
                break
        await pilot.pause(0.3)
        assert app.feed_state == "unreachable"
        assert "unreachable" in app.part("#status").render().plain
        assert any("cannot reach" in n.message for n in app._notifications)


async def test_alerts_are_kept_across_restarts(home):
    app = demo_app("10:06")  # Sugon seals at 10:05
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "10:06")
        fired = list(app.part("#alerts").alerts)
    assert any(a.symbol == "603019.SH" and a.rule == "limit_up" for a in fired)
    assert len(AlertHistory(paths.alert_history_file()).tail(100)) == len(fired)
    again = MarketmonApp(url="ws://127.0.0.1:9", watchlists=[], feed_options={"give_up_after": 0.2})
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [a.symbol for a in again.part("#alerts").alerts] == [a.symbol for a in fired]


async def test_speed_and_hold_reach_the_server(home):
    app = demo_app("09:31")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        server = app.demo_server
        assert (server.speed, server.until) == (0, at("09:31"))  # what the app was asked for
        # Held: the screen's market stops exactly at the hold (a step is 3 s), and the
        # server waits there, not finished, until the hold moves; then it plays on.
        assert app.store.clock == server.clock == at("09:31") and not server.finished.is_set()
        server.hold(at("09:35"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while app.store.clock < at("09:35"):
            assert loop.time() < deadline, "the hold moved but the market did not follow"
            await pilot.pause(0.05)
        assert app.store.clock == at("09:35") and not server.finished.is_set()


def test_the_demo_mark_is_only_on_the_demo(home):
    assert MarketmonApp().demo
    assert not MarketmonApp(url="ws://127.0.0.1:9").demo
    assert not MarketmonApp(source="sina").demo  # a live public source is not a demo
