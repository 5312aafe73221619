"""Chinese names (issue 14, names and search): the add dialog and `/` find an
instrument by Chinese name, English name and pinyin; `n` switches the names
the screen shows, and so does the [display] names setting."""

from __future__ import annotations

from pathlib import Path

from marketmon.tui.app import MarketmonApp
from marketmon.tui.dialogs.symbol_search import SymbolSearch

from .conftest import demo_app, ready

SIZE = (160, 48)


def write_list(home: Path) -> Path:
    path = home / "mine.toml"
    path.write_text('name = "Mine"\nsymbols = ["00700.HK"]\n', encoding="utf-8")
    return path


async def hits_for(pilot, query: str) -> list[str]:
    """Open `+`, type the query key by key, read the hits as drawn, leave with Esc."""
    await pilot.press("plus")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SymbolSearch)
    for ch in query:
        await pilot.press(ch)
    await pilot.pause()
    box = screen.query_one("#search-hits")
    lines = [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]
    await pilot.press("escape")
    await pilot.pause()
    return lines


async def test_add_dialog_finds_chinese_names_and_pinyin_initials(home):
    app = demo_app(lists=[write_list(home)])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        smic = await hits_for(pilot, "中芯")
        assert smic and all("中芯国际" in line for line in smic)
        assert {line.split()[0] for line in smic} == {"688981.SH", "00981.HK"}
        assert "SMIC" in smic[0]  # the English name beside the Chinese one
        assert (await hits_for(pilot, "芯原"))[0].startswith("688521.SH  芯原股份")
        assert (await hits_for(pilot, "茅台"))[0].startswith("600519.SH  贵州茅台")
        assert (await hits_for(pilot, "gzmt"))[0].startswith("600519.SH  贵州茅台  Kweichow Moutai")
        # and Enter adds the one found by pinyin
        await pilot.press("plus")
        for ch in "xygf":
            await pilot.press(ch)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert '"688521.SH"' in (home / "mine.toml").read_text(encoding="utf-8")


async def test_slash_filters_by_chinese_name_english_name_and_pinyin(home):
    path = home / "three.toml"
    path.write_text('name = "Three"\nsymbols = ["600519.SH", "688041.SH", "00700.HK"]\n', encoding="utf-8")
    app = demo_app(lists=[path])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.watchlists.table
        assert table.symbols == ["600519.SH", "688041.SH", "00700.HK"]
        for query, expected in (("茅台", "600519.SH"), ("gzmt", "600519.SH"), ("Moutai", "600519.SH"),
                                ("hgxx", "688041.SH"), ("腾讯", "00700.HK"), ("txkg", "00700.HK")):  # fmt: skip
            await pilot.press("slash")
            for ch in query:
                await pilot.press(ch)
            await pilot.pause()
            assert list(table.rows) == [expected], query
            await pilot.press("escape")
            await pilot.pause()
        assert len(table.rows) == 3


async def test_n_switches_english_and_chinese_names_everywhere(home):
    app: MarketmonApp = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.watchlists.table
        symbol = table.symbols[0]
        english = table.get_cell(symbol, "name").plain.strip()
        await pilot.press("n")
        await pilot.pause(0.5)
        chinese = table.get_cell(symbol, "name").plain.strip()
        assert chinese != english and app.store.quote(symbol)["name_zh"].startswith(chinese.rstrip("…"))
        assert ("Names: 中文", ) in [(n.message,) for n in app._notifications]
        await pilot.press("n")
        await pilot.pause(0.5)
        assert table.get_cell(symbol, "name").plain.strip() == english


async def test_the_display_setting_starts_on_chinese_names_and_cn_units(home):
    config = home / "config.toml"
    config.write_text('[display]\nnames = "zh"\nunits = "cn"\n', encoding="utf-8")
    app = demo_app(settings_path=config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.watchlists.table
        names = [table.get_cell(s, "name").plain.strip() for s in table.symbols[:3]]
        assert any("芯原" in n or "寒武纪" in n for n in names), names
        amounts = [table.get_cell(s, "turnover").plain.strip() for s in table.symbols[:3]]
        assert all(a == "-" or a[-1] in "万亿" or a.isdigit() for a in amounts), amounts
