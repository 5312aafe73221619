"""The ladder, breadth and A/H view (`u`): the real app on the held demo, driven by Pilot."""

from __future__ import annotations

from marketmon.tui import keys

from .conftest import demo_app, settle

PANELS = ("watchlists", "detail", "limits", "etf", "southbound", "alerts", "board")


def shown(app) -> list[str]:
    return [p for p in PANELS if app.query_one(f"#{p}").display and app.query_one(f"#{p}").region.area]


def text(app, part: str) -> str:
    return str(app.query_one(f"#board-{part}").render())


async def test_u_shows_the_ladder_breadth_and_pairs_at_the_close_and_again_goes_back(home):
    app = demo_app("16:10", start="16:10")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, "16:10")
        assert "board" not in shown(app)  # not part of the main screen
        await pilot.press("u")
        await pilot.pause(0.3)
        assert shown(app) == ["board"] and app.view == "board"
        ladder, side = text(app, "ladder"), text(app, "side")
        assert "涨停 1  跌停 1  炸板 2  炸板率 66.67%  涨停溢价 +9.89% (3)" in ladder
        assert "2连板 (1)" in ladder and "688521 VeriSilicon" in ladder
        assert "3连板 (1)" in ladder and "603019 Sugon" in ladder and "炸板 broken" in ladder
        assert "亿" in ladder.split("688521")[1].splitlines()[0]  # VeriSilicon's seal, in 亿 CNY
        assert "上涨 21  下跌 12  平 0" in side and "turnover 2.55T CNY" in side
        assert "HKD/CNY 0.9128" in side and "688981 SMIC" in side and "+86.18%" in side
        bars = [line for line in side.splitlines() if "█" in line]
        assert len(bars) == 10 and any(line.strip().startswith("1~3%") for line in bars)
        await pilot.press("u")
        await pilot.pause(0.3)
        assert app.view is None and "board" not in shown(app)


async def test_on_a_small_screen_the_board_is_a_panel_of_the_panel_bar(home):
    app = demo_app("16:10", start="16:10")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, "16:10")
        await pilot.press("u")
        await pilot.pause(0.3)
        assert shown(app) == ["board"] and app.query_one("#views").active == "view-board"
        assert "2连板" in text(app, "ladder") and "+86.18%" in text(app, "side")
        await pilot.press("v")  # the next panel of the bar: round to the watchlists
        await pilot.pause()
        assert shown(app) == ["watchlists"]


async def test_the_board_is_in_the_help_and_the_palette(home):
    from marketmon.tui.commands import MarketmonCommands

    assert ("board", "Ladder 连板天梯, breadth, A/H premium", "u", "Ladder") in keys.VIEWS
    assert ("u", "Show Ladder 连板天梯, breadth, A/H premium") in keys.help_rows()
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        titles = [t for t, _cb, _help in MarketmonCommands(app.screen)._commands()]
        assert any("Ladder" in t for t in titles), titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"ladder")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.view == "board"
