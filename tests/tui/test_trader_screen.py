"""The screen as a trader lives in it (issue 14, items 2, 5-10): each test
drives the real app on the held demo and failed before its fix."""

from __future__ import annotations

import datetime as dt
import re
import time
from types import SimpleNamespace

from textual.color import Color

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.rules import Alert
from marketmon.config import paths
from marketmon.config.watchlists import bundled_paths
from marketmon.tui.app import MarketmonApp
from marketmon.tui.dialogs.prompts import Confirm
from marketmon.tui.dialogs.thresholds import Thresholds

from marketmon.tui.fmt import MARKET_TZ
from marketmon.tui.freshness import market_clock

from . import drawn
from .conftest import LISTS, at, demo_app, ready, settle
from .test_keys import codes
from .test_list_edit import add_by_search, notes, two_lists, type_text, wait_for, write_lists

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

        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("home", "j")  # Cambricon, then a filter that ends up matching nothing
        await pilot.pause()
        assert app.detail.symbol == "688256.SH"

        # Key by key: "z" still matches by pinyin (中科曙光, zhong ke...), so the chart
        # follows that row; once nothing matches it goes back to the row selected
        # before the filter, not the last row a prefix happened to match.
        await pilot.press("slash")
        for key in "zzzzq":
            await pilot.press(key)
            await pilot.pause()
            rows = codes(app.watchlists.table)
            assert app.detail.symbol == (rows[0] if rows else "688256.SH")
        await pilot.press("enter")
        await pilot.pause()
        note = app.query_one("#wl-no-match")
        assert codes(app.watchlists.table) == [] and note.display
        assert "No instrument in AI chips matches 'zzzzq'" in shown(app, "#wl-no-match")
        assert app.detail.symbol == "688256.SH"
        await pilot.press("escape")
        await pilot.pause()
        assert not note.display and len(codes(app.watchlists.table)) > 1
        assert app.watchlists.table.selected_symbol == "688256.SH" == app.detail.symbol  # where it was


# units (key U): every amount follows ----------------------------------------------------


async def test_u_puts_the_strip_and_southbound_in_yi_and_hk_amounts_are_marked(home):
    app = demo_app("16:10", start="16:10")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "16:10")
        await pilot.press("2")  # HK tech: every amount there is in HKD, and marked so
        await pilot.pause(0.3)
        table = app.watchlists.table
        amounts = [table.get_cell(s, "turnover").plain.strip() for s in table.symbols]
        assert all(re.fullmatch(r"\$[\d.]+[KMBT]", a) for a in amounts), amounts
        await pilot.press("1")
        await pilot.pause(0.3)
        cny = app.watchlists.table.get_cell("688521.SH", "turnover").plain.strip()
        assert re.fullmatch(r"[\d.]+[KMBT]", cny), cny  # a CNY row: no mark
        assert re.search(r"\d\.\d\dT CNY", shown(app, "#indices"))
        assert re.search(r"HKD [+-]\d+\.\d\d bn", shown(app, "#sb-head"))

        await pilot.press("U")
        await pilot.pause(0.5)
        assert re.search(r"\d\.\d\d万亿 CNY", shown(app, "#indices")), shown(app, "#indices")
        head, sh = shown(app, "#sb-head"), shown(app, "#sb-sh")
        assert re.search(r"HKD [+-]\d+\.?\d* 亿", head) and " bn" not in head, head
        assert re.search(r"net [+-]\d+\.?\d* 亿", sh) and " bn" not in sh, sh
        for selector in ("#sb-top", "#sb-leaders"):
            sb = app.query_one(selector)
            assert "亿" in sb.render_line(0).text and "bn" not in sb.render_line(0).text, selector
            assert sum(c.shown for c in sb.columns.values()) <= sb.scrollable_content_region.width
        top = app.query_one("#sb-top").get_row_at(0)[2].plain.strip()
        assert re.fullmatch(r"[+-]\d+\.?\d*", top) and abs(float(top)) > 10, top  # 4.12 bn: 41.2 亿
        await pilot.press("2")
        await pilot.pause(0.3)
        table = app.watchlists.table
        amounts = [table.get_cell(s, "turnover").plain.strip() for s in table.symbols]
        assert all(re.fullmatch(r"\$[\d.]+(万|亿)", a) for a in amounts), amounts
        for y in range(1, table.row_count + 1):
            assert "$" in table.render_line(y).text and "…" not in table.render_line(y).text

        await pilot.press("u")  # the board's breadth line gives the day's turnover too
        await pilot.pause(1.5)
        assert re.search(r"turnover \d+\.\d\d万亿 CNY", shown(app, "#board-side")), shown(app, "#board-side")
        await pilot.resize_terminal(80, 24)  # the ticker line too
        await pilot.pause(0.5)
        assert re.search(r"A \d+\.\d+万亿", shown(app, "#indices")), shown(app, "#indices")


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
        prompts = [str(options.get_option_at_index(i).prompt).split("\n") for i in range(options.option_count)]
        titles = [p[0] for p in prompts]
        assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
        assert "Quit" in titles and "Help" in titles and "Theme: china" in titles
        # Each entry's help line says something its title does not (its key), never the title again.
        helps = {p[0]: p[1].strip() for p in prompts if len(p) > 1}
        assert not [t for t, h in helps.items() if h.lower() in t.lower()], helps
        assert helps["Quit"] == "key q" and "key /" in helps["Filter the watchlist by code or name"], helps


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


# item 2: lists named alike, bundled lists and their copies ------------------------------


async def test_a_new_list_named_like_a_bundled_one_does_not_replace_it(home):
    bundled = {p.name: p.read_bytes() for p in bundled_paths()}
    app = demo_app(lists=[])  # the bundled lists, as a new user has them
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [t.title for t in app.watchlists.tables]
        etfs = titles.index("ETFs")
        await pilot.press("N")
        await pilot.pause()
        await type_text(pilot, "etfs")  # the same name, in other letters
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert [t.title for t in app.watchlists.tables] == titles  # refused
        assert any("There is a list named ETFs already (tab 3)" in n for n in notes(app))
        assert not paths.user_watchlists_dir().exists() or not list(paths.user_watchlists_dir().glob("*.toml"))

        await pilot.press("N")  # a name whose file would be the ETFs copy's: another file
        await pilot.pause()
        await type_text(pilot, "ETFs!")
        await pilot.press("enter")
        await pilot.pause(0.3)
        new = app.watchlists.table
        assert new.title == "ETFs!" and new.path.name == "etfs-list.toml"
        await pilot.press(str(etfs + 1))
        await pilot.pause()
        assert app.watchlists.table.title == "ETFs"
        await add_by_search(pilot, "Ping An")  # an edit of the bundled ETFs goes to its own copy
        copy = paths.user_watchlists_dir() / "etfs.toml"
        assert copy.is_file() and 'name = "ETFs"' in copy.read_text(encoding="utf-8")
        assert "09988.HK" not in (new.symbols or [])

        await pilot.press(str(len(titles)))  # the new list: R to a taken name is refused
        await pilot.pause()
        assert app.watchlists.table.title == "ETFs!"
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, "AI chips")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.watchlists.table.title == "ETFs!" and 'name = "ETFs!"' in new.path.read_text(encoding="utf-8")
        assert any("There is a list named AI chips already (tab 1)" in n for n in notes(app))
    assert {p.name: p.read_bytes() for p in bundled_paths()} == bundled

    again = demo_app(lists=[])  # after a restart: every tab where it was, ETFs has its symbols and the new one
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        after = [t.title for t in again.watchlists.tables]
        assert after[: len(titles) - 1] == titles[:-1] and after[len(titles) - 1] == "ETFs!"
        assert again.watchlists.tables[etfs].path == copy
        assert len(again.watchlists.tables[etfs].symbols) > 2


async def test_a_bundled_list_keeps_its_tab_number_once_copied_and_a_symbol_already_there_copies_nothing(home):
    app = demo_app(lists=[])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [t.title for t in app.watchlists.tables]
        hk = titles.index("HK tech")
        await pilot.press(str(hk + 1))
        await pilot.pause()
        table = app.watchlists.table
        first = table.symbols[0]
        await add_by_search(pilot, first)  # already there: said so, nothing copied
        assert any(f"{first} is already in HK tech" in n for n in notes(app))
        assert not (paths.user_watchlists_dir() / table.path.name).exists()
        await pilot.press("j", "K")  # a real edit: the copy is made
        await pilot.pause(0.3)
        assert (paths.user_watchlists_dir() / table.path.name).is_file()

    again = demo_app(lists=[])
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert [t.title for t in again.watchlists.tables] == titles  # HK tech is still tab hk + 1
        assert again.watchlists.tables[hk].symbols[0] != first


# item 5: a broken list fixed while running ----------------------------------------------


async def test_a_broken_list_fixed_while_running_shows_whole_rows_and_no_stale_table(home):
    broken = home / "broken.toml"
    broken.write_text('name = "Fixed"\nsymbols = ["688521.SH", "603019.SH"\n', encoding="utf-8")
    app = demo_app(lists=[broken])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert any("broken.toml" in n for n in notes(app))
        assert [t.title for t in app.watchlists.tables] == ["All"]
        broken.write_text('name = "Fixed"\nsymbols = ["688521.SH", "603019.SH"]\n', encoding="utf-8")
        await wait_for(pilot, lambda: len(app.watchlists.tables) == 2)
        await pilot.pause(0.5)
        fixed, everything = app.watchlists.tables
        # The All tab on screen shows one table, not the new one stacked on it.
        assert app.watchlists.table is everything and everything.display and not fixed.display
        await pilot.press("1")
        await wait_for(pilot, lambda: fixed.get_cell("603019.SH", "last").plain.strip() not in ("", "-"))
        assert fixed.get_cell("688521.SH", "name").plain.strip() == "VeriSilicon"
        assert fixed.get_cell("603019.SH", "name").plain.strip() == "Sugon"
        assert fixed.get_cell("688521.SH", "last").plain.strip() not in ("", "-")


# item 6: a small terminal ------------------------------------------------------------------


async def test_at_80x24_alerts_show_on_the_panel_bar_and_nothing_is_cut_in_half(home):
    app = demo_app("11:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, "11:00")
        alerts = len(app._alert_log.alerts)
        assert alerts >= 2  # Sugon hit its limit and broke it
        tab = str(app.query_one("#view-alerts").label)
        assert tab.split() == ["Alerts", str(alerts)]  # fired while the log was off screen: counted
        status = shown(app, "#status")
        assert status.rstrip().endswith("msg/s") and "2025-09-12" in status  # whole parts only
        strip = shown(app, "#indices")
        assert all(name in strip for name in ("SSE", "HSI", "HS TECH", "A ")), strip  # Hang Seng and turnover kept
        footer = [k.description for k in app.query("FooterKey")]
        assert "Help" in footer and "Reverse" not in footer and not app.query(".-command-palette")

        await pilot.press("a")  # the alert log: seen, the count goes
        await pilot.pause()
        assert str(app.query_one("#view-alerts").label).strip() == "Alerts"
        table = app._alert_log.table
        assert "Sugon broke from limit up" in table.get_cell(table.ordered_keys[0], "message").plain
        assert table.columns["name"].hidden and table.columns["message"].width > 30

        await pilot.press("w", "enter")  # the chart: its header gives whole figures or leaves them out
        await pilot.pause(0.5)
        header = app.detail.render().plain.split("\n")[0]
        assert len(header) <= app.detail.size.width and "…" not in header, header
        assert re.search(r"LU [\d,.]+ LD [\d,.]+$", header), header  # VeriSilicon's limits are off the chart


async def test_at_80x24_six_lists_keep_every_tab_on_screen(home):
    robot = home / "robot.toml"
    robot.write_text('name = "Robot"\nsymbols = ["300750.SZ"]\n', encoding="utf-8")
    app = demo_app(lists=[*bundled_paths(), robot])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        bar = app.query_one("#wl-tabs")
        tabs = list(bar.query("Tab"))

        def labels() -> list[str]:
            return [str(t.label) for t in tabs]

        def all_on_screen() -> None:
            for tab in tabs:  # whole, inside the bar, none scrolled away
                assert bar.region.contains_region(tab.region), (str(tab.label), tab.region, bar.region)

        assert len(tabs) == 7 and [label.split()[0] for label in labels()] == list("1234567"), labels()
        all_on_screen()
        assert "6 Robot" in labels() and "7 All" in labels()
        await pilot.press("6")
        await pilot.pause(0.3)
        assert app.watchlists.table.title == "Robot"
        all_on_screen()
        await pilot.resize_terminal(160, 48)  # room enough: the titles whole again
        await pilot.pause(0.3)
        assert "2 Convertible bonds" in labels() and "5 Innovative drugs" in labels(), labels()


async def test_southbounds_scrollbar_keeps_a_cell_from_the_figures(home):
    app = demo_app("16:10", start="16:10")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "16:10")
        for selector in ("#sb-top", "#sb-leaders"):
            table = app.query_one(selector)
            assert table.row_count > 0 and table.scrollbar_size_vertical == 1  # rows to scroll: a scrollbar
            drawn = table.scrollable_content_region  # the rows' room, beside the scrollbar
            assert sum(c.shown for c in table.columns.values()) <= drawn.width, selector  # every figure whole
            for y in range(1, min(table.row_count, drawn.height) + 1):
                row = table.render_line(y).text
                assert len(row) == drawn.width and row[-1] == " " and row.strip(), (selector, row)


async def test_the_delete_question_is_shown_whole_at_80x24(home):
    mine, other = write_lists(home)
    app = demo_app(lists=[mine, other])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        label = app.screen.query_one(".dialog-title")
        question = label.render().plain if hasattr(label.render(), "plain") else str(label.render())
        assert str(mine.parent / ".trash") in question
        box = app.screen.query_one(".dialog-box")
        assert label.region.right <= box.content_region.right  # inside the box, not cut by its edge
        lines = label.render_lines(label.region.reset_offset)
        drawn = "".join(seg.text for line in lines for seg in line).replace(" ", "")
        assert question.replace(" ", "") in drawn  # every word of it on screen
        await pilot.press("n")


# item 9: time and staleness ---------------------------------------------------------------


def _status_clock(app: MarketmonApp) -> str:
    return re.search(r"\d\d:\d\d:\d\d", shown(app, "#status")).group(0)


async def test_the_clock_moves_through_the_quiet_minutes_before_the_open(home):
    # 09:25-09:30: the auction is over, nothing trades, no quote comes; the clock goes on.
    app = MarketmonApp(speed=30, demo_start=at("09:25:30"), demo_until=at("09:29:30"), watchlists=LISTS,
                       feed_options={"stale_after": 3600})  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store is not None and app.store.clock is not None, timeout=60)
        await pilot.pause(0.5)
        quotes, first = app.store.clock, _status_clock(app)
        await pilot.pause(2.5)
        later = _status_clock(app)
        assert later > first and app.store.clock == quotes  # the clock moved; no quote came
        assert "live" in shown(app, "#status")
        await wait_for(pilot, lambda: _status_clock(app) == "09:29:30", timeout=20)
        await pilot.pause(1.0)
        assert _status_clock(app) == "09:29:30"  # held: it stands still


def test_a_live_feed_of_today_shows_the_wall_clock_and_a_down_one_its_last_moment() -> None:
    now = int(time.time() * 1000)
    today = dt.datetime.fromtimestamp(now / 1000, MARKET_TZ).date()
    store = SimpleNamespace(clock=now - 120_000, stale=False, trade_date=today)  # lunch: the last quote 2 min ago
    assert market_clock(store, "live", now_ms=now) == now
    assert market_clock(store, "reconnecting", now_ms=now) == store.clock
    store.trade_date = today - dt.timedelta(days=3)  # a recording served live: its own time
    assert market_clock(store, "live", now_ms=now) == store.clock


async def test_rows_are_drawn_faint_and_marked_old_while_the_feed_is_down(home):
    app = demo_app("10:30", start="10:30")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "10:30")
        table, strip = app.watchlists.table, app.query_one("#indices")

        def strip_ink() -> list:
            return [seg for seg in strip.render().render(app.console) if seg.text.strip()]

        def cursor_bar() -> Color:  # the cursor row's background, as drawn
            return Color.from_rich_color(drawn.line(table, 1)[1].style.bgcolor)

        assert not table.dimmed and not app.query_one("#wl-old").display
        assert not any(seg.style and seg.style.dim for seg in table.render_line(2))
        assert strip_ink() and not any(seg.style.dim for seg in strip_ink())
        assert table.cursor_row == 0 and table.has_focus
        bar, surface = cursor_bar(), Color.from_rich_color(table.rich_style.bgcolor)
        await app.demo_server.close()  # the feed goes away
        await wait_for(pilot, lambda: app.feed_state in ("reconnecting", "disconnected"), timeout=20)
        await pilot.pause(0.5)
        assert table.dimmed and app.query_one("#limit-table" if app.query("#limit-table") else "LiveTable").dimmed
        note = shown(app, "#wl-old")
        assert note.startswith("◐ Old prices, as of 10:30") and app.feed_state in note
        assert all(seg.style and seg.style.dim for seg in table.render_line(2) if seg.text.strip())
        # The cursor row too: its bright bar would keep the row at full strength, so it fades
        # toward the panel's background; and the index strip's figures are as old as the rows.
        assert all(seg.style and seg.style.dim for seg in table.render_line(1) if seg.text.strip())
        faded = cursor_bar()
        assert faded != bar and _distance(faded, surface) < _distance(bar, surface) * 0.7, (bar, faded)
        assert all(seg.style.dim for seg in strip_ink())


def _distance(a: Color, b: Color) -> float:
    return sum((x - y) ** 2 for x, y in zip(a.rgb, b.rgb, strict=True)) ** 0.5


async def test_alerts_of_earlier_runs_are_kept_apart_and_dated(home):
    history = AlertHistory(paths.alert_history_file())
    history.append(Alert(at("14:00") - 86_400_000, "688256.SH", "Cambricon", "pct_above", 1300.0, 6.0,
                         "Cambricon change +6.00% crossed +5.00%"))  # the day before  # fmt: skip
    history.append(Alert(at("10:05"), "603019.SH", "Sugon", "limit_up", 85.17, 10.0,
                         "Sugon hit limit up at 85.17 (+10.00%)"))  # an earlier run of this day  # fmt: skip
    app = demo_app("10:06")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "10:06")
        log = app._alert_log
        table = log.table
        keys = table.ordered_keys
        this_run = [k for k in keys[: keys.index("earlier")]]
        assert this_run and all(table.get_cell(k, "time").plain.strip().count(":") == 2 for k in this_run)
        earlier = keys[keys.index("earlier") + 1 :]
        assert [table.get_cell(k, "time").plain.strip() for k in earlier] == ["09-12 10:05", "09-11 14:00"]
        assert "earlier runs" in table.get_cell("earlier", "message").plain
        head = shown(app, "#alert-head")
        assert "2025-09-12" in head and f"{len(this_run)} this run" in head and "2 of earlier runs" in head
