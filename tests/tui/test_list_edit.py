"""Watchlists edited in the running app (issue 4): every key on real files in
a temp folder, through the real app on the demo feed; live reload of a file
an editor changed; the whole "add a stock, set 5 %, hear it once" story."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from marketmon.config import paths
from marketmon.config.watchlists import bundled_paths
from marketmon.serve.demo_day import INSTRUMENTS
from marketmon.tui.app import MarketmonApp
from marketmon.tui.dialogs.help import HelpScreen
from marketmon.tui.dialogs.prompts import AskText, ChooseList, Confirm
from marketmon.tui.dialogs.symbol_search import Instrument, SymbolSearch, search
from marketmon.tui.dialogs.thresholds import Thresholds, parse_rule, show_rule

from .conftest import at, demo_app, ready

SIZE = (160, 48)
MINE = """\
# My chips: the ones I trade.
name = "Mine"   # shown on the tab
symbols = [
  "688521.SH",  # VeriSilicon: watch the 20% limit
  "688256.SH",  # Cambricon
]

[alerts]
limit = true
"""
OTHER = 'name = "Other"\nsymbols = ["09988.HK"]\n'


def write_lists(home: Path) -> tuple[Path, Path]:
    folder = home / "lists"
    folder.mkdir()
    mine, other = folder / "mine.toml", folder / "other.toml"
    mine.write_text(MINE, encoding="utf-8")
    other.write_text(OTHER, encoding="utf-8")
    return mine, other


@asynccontextmanager
async def two_lists(home: Path) -> AsyncIterator[tuple[MarketmonApp, Any, Path, Path]]:
    """The app on the demo with two list files of the trader's, ready."""
    mine, other = write_lists(home)
    app = demo_app(lists=[mine, other])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        yield app, pilot, mine, other


def notes(app: MarketmonApp) -> list[str]:
    return [n.message for n in app._notifications]


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


async def add_by_search(pilot, query: str, key: str = "plus") -> None:
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, SymbolSearch)
    await type_text(pilot, query)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause(0.2)


async def test_add_by_name_keeps_every_comment_and_shows_the_row(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await add_by_search(pilot, "Sugon")
        text = mine.read_text(encoding="utf-8")
        assert text == MINE.replace('  "688256.SH",  # Cambricon\n', '  "688256.SH",  # Cambricon\n  "603019.SH",\n')
        table = app.watchlists.table
        assert table.symbols == ["688521.SH", "688256.SH", "603019.SH"]
        assert table.selected_symbol == "603019.SH"
        await pilot.pause(0.5)
        assert table.get_cell("603019.SH", "name").plain.strip() == "Sugon"
        assert table.get_cell("603019.SH", "last").plain.strip() not in ("", "—")
        assert any("Added 603019.SH to Mine" in n for n in notes(app))


async def test_an_editors_save_just_before_an_app_edit_keeps_both(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("plus")
        await pilot.pause()
        # The trader's editor saves while the search dialog is open: the app
        # has not seen this version when it writes.
        mine.write_text(MINE.replace("# Cambricon", "# Cambricon\n  \"688327.SH\",  # editor's"), encoding="utf-8")
        await type_text(pilot, "603019")
        await pilot.press("enter")
        await pilot.pause(0.2)
        text = mine.read_text(encoding="utf-8")
        assert '"688327.SH",  # editor\'s' in text and '"603019.SH"' in text
        assert app.watchlists.table.symbols == ["688521.SH", "688256.SH", "688327.SH", "603019.SH"]


async def test_search_takes_any_code_form_and_refuses_nonsense(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("plus")
        await type_text(pilot, "no such thing")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SymbolSearch)
        assert "No instrument matches 'no such thing'" in str(screen.query_one("#search-note").render())
        await pilot.press("enter")  # nothing to add: the dialog stays, the file too
        assert app.screen is screen and mine.read_text(encoding="utf-8") == MINE
        await pilot.press("escape")
        await add_by_search(pilot, "9988.hk")  # already there: said so, nothing written
        await pilot.press("2")
        await add_by_search(pilot, "9988.hk")
        assert other.read_text(encoding="utf-8") == OTHER
        assert any("09988.HK is already in Other" in n for n in notes(app))
        await add_by_search(pilot, "sh688521", key="insert")
        assert '"688521.SH"' in other.read_text(encoding="utf-8")


async def test_remove_reorder_and_move_between_lists(home):
    async with two_lists(home) as (app, pilot, mine, other):
        table = app.watchlists.table
        assert table.selected_symbol == "688521.SH"
        await pilot.press("J")  # VeriSilicon one place down, with its comment
        await pilot.pause(0.2)
        text = mine.read_text(encoding="utf-8")
        assert text.index('"688256.SH",  # Cambricon') < text.index('"688521.SH",  # VeriSilicon: watch the 20% limit')
        assert table.symbols == ["688256.SH", "688521.SH"]
        assert table.selected_symbol == "688521.SH"
        await pilot.press("K")
        await pilot.pause(0.2)
        assert mine.read_text(encoding="utf-8") == MINE
        await pilot.press("M")
        await pilot.pause()
        assert isinstance(app.screen, ChooseList)
        await pilot.press("enter")  # the only other list
        await pilot.pause(0.2)
        assert '"688521.SH"' not in mine.read_text(encoding="utf-8")
        assert '"688521.SH"' in other.read_text(encoding="utf-8")
        assert table.symbols == ["688256.SH"]
        assert app.watchlists.tables[1].symbols == ["09988.HK", "688521.SH"]
        await pilot.press("delete")
        await pilot.pause(0.2)
        assert table.symbols == [] and table.row_count == 0
        assert mine.read_text(encoding="utf-8").startswith("# My chips: the ones I trade.\nname = \"Mine\"   # shown on the tab\n")


async def test_new_rename_and_delete_a_list(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("N")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await type_text(pilot, "Robotics")
        await pilot.press("enter")
        await pilot.pause(0.3)
        created = paths.user_watchlists_dir() / "robotics.toml"
        assert created.is_file()
        assert [t.title for t in app.watchlists.tables] == ["Mine", "Other", "Robotics", "All"]
        assert app.watchlists.table.title == "Robotics"
        await add_by_search(pilot, "Sugon")
        assert app.watchlists.table.symbols == ["603019.SH"]

        await pilot.press("R")
        await pilot.pause()
        await pilot.press("ctrl+u")  # the box holds the old name
        await type_text(pilot, "Robots 2")
        await pilot.press("enter")
        await pilot.pause(0.3)
        renamed = created.with_name("robots-2.toml")
        assert renamed.is_file() and not created.exists()
        assert 'name = "Robots 2"' in renamed.read_text(encoding="utf-8")
        assert app.watchlists.table.title == "Robots 2" and app.watchlists.table.path == renamed

        await pilot.press("D")
        await pilot.pause()
        await pilot.press("n")  # no: nothing happens
        assert renamed.is_file()
        await pilot.press("D")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause(0.3)
        assert not renamed.exists()
        trashed = list((renamed.parent / ".trash").glob("robots-2.*.toml"))
        assert len(trashed) == 1 and '"603019.SH"' in trashed[0].read_text(encoding="utf-8")
        assert [t.title for t in app.watchlists.tables] == ["Mine", "Other", "All"]
        assert app.watchlists.table.title == "Mine"


async def test_all_cannot_be_edited_and_says_why(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("3")
        await pilot.press("plus")
        await pilot.pause()
        assert app.screen is app._main
        assert any("'All' is every instrument" in n for n in notes(app))


async def test_thresholds_for_a_symbol_and_for_the_list(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, Thresholds)
        await type_text(pilot, "5")  # pct_above has the focus
        await pilot.press("enter")
        await pilot.pause(0.2)
        text = mine.read_text(encoding="utf-8")
        assert text.startswith(MINE) and text.endswith('[alerts."688521.SH"]\npct_above = 5\n')
        assert app.alert_config.for_symbol("688521.SH").pct_above == 5.0
        assert app.engine.alerts.config.for_symbol("688521.SH").pct_above == 5.0

        await pilot.press("T")  # a bad value: said where it is, nothing written
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, "lots")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, Thresholds)
        assert "Not saved: 'pct_above' must be a number" in str(app.screen.query_one("#rule-note").render())
        assert mine.read_text(encoding="utf-8") == text

        await pilot.click("#scope-list")  # the list's defaults now
        await pilot.pause()
        assert app.screen.query_one("#rule-pct_above").value == ""
        await pilot.click("#rule-pct_below")
        await type_text(pilot, "-4")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert "[alerts]\nlimit = true\npct_below = -4\n" in mine.read_text(encoding="utf-8")
        assert app.alert_config.for_symbol("688256.SH").pct_below == -4.0
        assert app.alert_config.for_symbol("688521.SH").pct_above == 5.0


async def test_editing_a_bundled_list_edits_the_users_copy(home):
    bundled = {p.name: p.read_bytes() for p in bundled_paths()}
    app = demo_app(lists=[])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.watchlists.table
        name = table.path.name
        await add_by_search(pilot, "000001.SZ")  # not in AI chips yet
        copy = paths.user_watchlists_dir() / name
        assert copy.is_file() and '"000001.SZ"' in copy.read_text(encoding="utf-8")
        assert {p.name: p.read_bytes() for p in bundled_paths()} == bundled
        assert table.path == copy and "000001.SZ" in table.symbols
        assert any("bundled example" in n for n in notes(app))


async def test_an_editors_change_is_reloaded_and_a_broken_save_keeps_the_last_good_list(home):
    async with two_lists(home) as (app, pilot, mine, other):
        table = app.watchlists.table
        saved = MINE.replace("# Cambricon", "# Cambricon\n  \"603019.SH\",")
        tmp = mine.with_suffix(".tmp")
        tmp.write_text(saved, encoding="utf-8")
        os.replace(tmp, mine)  # as editors save
        await wait_for(pilot, lambda: "603019.SH" in table.symbols)
        broken = saved.replace("[alerts]", "[alerts")
        mine.write_text(broken, encoding="utf-8")
        await wait_for(pilot, lambda: any("mine.toml:9:" in n for n in notes(app)))
        await pilot.pause(1.5)
        assert sum("mine.toml" in n for n in notes(app)) == 1  # one message, not one a poll
        assert table.symbols == ["688521.SH", "688256.SH", "603019.SH"]  # the last good state
        assert mine.read_text(encoding="utf-8") == broken  # never rewritten by the app
        await pilot.press("plus")  # an edit on a broken file is refused, file untouched
        await type_text(pilot, "Cambricon")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert mine.read_text(encoding="utf-8") == broken
        mine.write_text(MINE, encoding="utf-8")
        await wait_for(pilot, lambda: table.symbols == ["688521.SH", "688256.SH"])


async def wait_for(pilot, condition, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("the screen did not follow the file in time")


RECORDER = """import json, sys
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(sys.argv[2:]) + "\\n")
"""


async def test_add_a_stock_set_5_percent_and_hear_it_once(home):
    """Issue 4's done-when: a stock added in the app, the comment still in the
    file, a 5 % threshold set, and the demo crossing it: one sound."""
    script = home / "player.py"
    script.write_text(RECORDER)
    record = home / "played.jsonl"
    (home / "config" / "config.toml").write_text(
        f"[sound]\nplayer = {json.dumps([sys.executable, str(script), str(record)])}\nmin_interval_s = 0\n")
    mine, other = write_lists(home)
    app = demo_app(until="09:31", lists=[mine, other])  # Sugon is at +2 % here; +5.1 % at 09:46:33
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "09:31")
        await add_by_search(pilot, "Sugon")
        assert "# VeriSilicon: watch the 20% limit" in mine.read_text(encoding="utf-8")
        await pilot.press("T")
        await pilot.pause()
        await type_text(pilot, "5")
        await pilot.press("enter")
        await pilot.pause(0.2)
        app.demo_server.hold(at("10:00"))  # the market plays on through the crossing
        await wait_for(pilot, lambda: (app.store.clock or 0) >= at("10:00") and not app.store.has_pending, 120)
        await pilot.pause(0.5)
        app.sinks.wait()
        fired = [a for a in app._alert_log.alerts if a.rule == "pct_above"]
        assert [(a.symbol, a.rule) for a in fired] == [("603019.SH", "pct_above")]
        plays = [json.loads(line) for line in record.read_text().splitlines()]
        threshold_plays = [p for p in plays if "threshold" in Path(p[-1]).name]
        assert len(threshold_plays) == 1
        assert Path(threshold_plays[0][-1]).read_bytes()[:4] == b"RIFF"


# parsers, as properties --------------------------------------------------------------

NUMBERS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: abs(x) > 1e-6)


@given(NUMBERS)
def test_a_shown_threshold_reads_back_as_itself(value: float) -> None:
    assert parse_rule("pct_above", show_rule(value)) == float(f"{value:g}")


@given(st.text(max_size=20))
def test_any_typed_threshold_is_a_number_off_or_an_error(text: str) -> None:
    try:
        value = parse_rule("pct_below", text)
    except ValueError:
        return
    assert value is None or value is False or (isinstance(value, int | float) and math.isfinite(value))


@given(st.sampled_from(["nan", "inf", "-inf", "NaN", "Infinity", "+inf%"]))
def test_nan_and_inf_are_no_threshold(text: str) -> None:
    for key in ("pct_above", "pct_below", "volume_spike"):
        try:
            parse_rule(key, text)
        except ValueError as exc:
            assert "finite" in str(exc)
        else:
            raise AssertionError(f"{text!r} taken as a {key}")


SEED_INSTRUMENTS = [Instrument(i.symbol, i.name) for i in INSTRUMENTS]


@given(st.sampled_from(SEED_INSTRUMENTS), st.sampled_from([str.lower, str.upper, str.strip]))
def test_a_code_typed_in_full_comes_first_and_a_name_finds_its_stock(inst: Instrument, case) -> None:
    assert search(SEED_INSTRUMENTS, case(inst.symbol))[0] == inst
    assert inst in search(SEED_INSTRUMENTS, case(inst.name), limit=len(SEED_INSTRUMENTS))


# Keys inside a dialog stay in it (issue 14 item 1) -------------------------------------

DIALOGS = (("T", Thresholds), ("plus", SymbolSearch), ("N", AskText), ("R", AskText),
           ("M", ChooseList), ("D", Confirm), ("question_mark", HelpScreen))  # fmt: skip


async def test_keys_inside_every_dialog_act_only_inside_it(home):
    async with two_lists(home) as (app, pilot, mine, other):
        files = (mine.read_bytes(), other.read_bytes())
        behind = (app.watchlists.table, app.watchlists.table.title, app.theme)
        assert behind[1] == "Mine"
        for open_key, dialog in DIALOGS:
            await pilot.press(open_key)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, dialog), open_key
            chain = screen.focus_chain
            for key in ("tab", "shift+tab", "tab", "2", "3", "t", "q"):
                was = app.focused
                await pilot.press(key)
                await pilot.pause()
                assert app.is_running and app.return_code is None, (open_key, key)
                if dialog is HelpScreen and key == "q":  # the help screen's own key closes it
                    assert app.screen is app._main
                    break
                assert app.screen is screen, (open_key, key)
                assert app.focused is None or app.focused.screen is screen, (open_key, key)
                if key in ("tab", "shift+tab") and len(chain) > 1:
                    assert app.focused is not was and app.focused in chain, (open_key, key)
                assert (app.watchlists.table, app.watchlists.table.title, app.theme) == behind, (open_key, key)
            if app.screen is screen:
                await pilot.press("escape")
                await pilot.pause()
            assert app.screen is app._main, open_key
        assert (mine.read_bytes(), other.read_bytes()) == files  # every dialog was cancelled
        assert [t.title for t in app.watchlists.tables] == ["Mine", "Other", "All"]


async def test_tab_in_the_add_dialog_then_enter_adds_to_the_list_on_screen(home):
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("plus")
        await pilot.pause()
        await type_text(pilot, "moutai")
        await pilot.press("tab")  # to the hits
        await pilot.pause()
        assert app.focused is app.screen.query_one("#search-hits")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.watchlists.table.title == "Mine"
        assert '"600519.SH"' in mine.read_text(encoding="utf-8")
        assert other.read_text(encoding="utf-8") == OTHER
        assert any("Added 600519.SH to Mine" in n for n in notes(app))


async def test_thresholds_saved_after_tab_tab_write_the_value_and_keep_other_overrides(home):
    mine, other = write_lists(home)
    override = '\n[alerts."688256.SH"]\npct_below = -6\n'
    mine.write_text(MINE + override, encoding="utf-8")
    app = demo_app(lists=[mine, other])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("T")  # for the selected symbol, 688521.SH
        await pilot.pause()
        first = app.focused
        await pilot.press("tab", "tab")
        await pilot.pause()
        assert isinstance(app.screen, Thresholds) and app.focused is not first
        field = app.focused.id.removeprefix("rule-")
        await type_text(pilot, "7")
        await pilot.press("enter")
        await pilot.pause(0.2)
        text = mine.read_text(encoding="utf-8")
        assert text.startswith(MINE + override)  # the other symbol's override is kept, byte for byte
        assert text.endswith(f'[alerts."688521.SH"]\n{field} = 7\n')
        assert app.watchlists.table.title == "Mine" and other.read_text(encoding="utf-8") == OTHER


async def test_the_thresholds_dialog_sets_the_boards_rules(home):
    # The seal, ladder and A/H rules (issue 16) are set in the dialog like the others.
    async with two_lists(home) as (app, pilot, mine, other):
        await pilot.press("T")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, Thresholds)
        for key, typed in (("seal_drop_pct", "30"), ("seal_below", "5e7"), ("ah_premium_above", "80"),
                           ("ladder_top", "yes")):  # fmt: skip
            box = dialog.query_one(f"#rule-{key}")
            box.focus()
            await pilot.pause()
            await type_text(pilot, typed)
        await pilot.press("enter")
        await pilot.pause(0.2)
        text = mine.read_text(encoding="utf-8")
        assert text.startswith(MINE)
        assert ('[alerts."688521.SH"]\nseal_drop_pct = 30\nseal_below = 50000000\nah_premium_above = 80\n'
                'ladder_top = true\n') in text  # fmt: skip
        rules = app.engine.alerts.config.for_symbol("688521.SH")
        assert (rules.seal_drop_pct, rules.seal_below, rules.ah_premium_above, rules.ladder_top) == (30.0, 5e7, 80.0, True)
