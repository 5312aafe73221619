"""The shell's own widgets on a store filled by hand: diff updates, flashes,
sorting with missing values, the status bar's feed states, the chart maths."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult

from marketmon.feed.protocol import Quote
from marketmon.store.state import Bar, Store
from marketmon.tui import themes
from marketmon.tui.panels.status_bar import StatusBar
from marketmon.tui.panels.watchlist import WatchTable
from marketmon.tui.widgets import chart

TCSS = Path(__file__).parents[2] / "marketmon" / "tui" / "app.tcss"
T0 = 1757640600000  # 2025-09-12 09:30 Asia/Shanghai


class Bench(App):
    CSS_PATH = TCSS

    def __init__(self, *widgets) -> None:
        self.own, _ = themes.load_all()
        super().__init__()
        self.widgets = widgets
        for theme in self.own.values():
            self.register_theme(theme)
        self.theme = "china"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(self.own["china"].variables)

    def compose(self) -> ComposeResult:
        yield from self.widgets


def store_with(*quotes: Quote) -> Store:
    store = Store()
    store.set_trade_date("2025-09-12")
    store.merge(quotes, T0)
    store.flush()
    return store


def quote(symbol: str, last: float, **kw) -> Quote:
    return Quote(symbol, ts=kw.pop("ts", T0), last=last, **kw)


async def test_only_changed_cells_are_written_and_they_flash():
    store = store_with(
        quote("688521.SH", 130.0, name="VeriSilicon", prev_close=128.66, volume=100),
        quote("600519.SH", 1500.0, name="Kweichow Moutai", prev_close=1509.0, volume=100),
    )
    table = WatchTable("t", ["688521.SH", "600519.SH", "00700.HK"])
    async with Bench(table).run_test() as pilot:
        table.sync(store, now=0.0)
        assert table.row_count == 3  # a listed symbol without data yet keeps its row
        assert table.get_cell("00700.HK", "last").plain.strip() == "-"
        assert not table.flashes  # the first fill is not a change
        writes: list[tuple[str, str]] = []
        original = table.update_cell
        table.update_cell = lambda r, c, v, **kw: (writes.append((r, c)), original(r, c, v, **kw))  # type: ignore[method-assign]
        store.merge([quote("688521.SH", 131.0, ts=T0 + 3000)], T0 + 3000)
        store.flush()
        table.sync(store, now=1.0)
        assert {r for r, _ in writes} == {"688521.SH"}  # Moutai did not change: not touched
        assert {c for _, c in writes} == {"last", "change", "pct", "to_limit"}
        flash = table.tone("flash").bgcolor
        assert table.get_cell("688521.SH", "last").spans[-1].style.bgcolor == flash
        assert table.get_cell("600519.SH", "last").spans[-1].style.bgcolor != flash
        table.expire_flashes(now=1.5)
        assert table.flashes  # still flashing
        table.expire_flashes(now=2.0)
        assert not table.flashes and table.get_cell("688521.SH", "last").spans[-1].style.bgcolor != flash
        await pilot.pause()


async def test_sorting_keeps_missing_values_last_and_follows_the_selected_row():
    store = store_with(
        quote("688521.SH", 130.0, name="VeriSilicon", prev_close=128.66),
        quote("600519.SH", 1500.0, name="Kweichow Moutai", prev_close=1509.0),
        quote("688256.SH", 1400.0, name="Cambricon", prev_close=1352.0),
    )
    table = WatchTable("t", ["688521.SH", "600519.SH", "00700.HK", "688256.SH"])
    async with Bench(table).run_test() as pilot:
        table.sync(store)
        table.move_cursor(row=1)  # Moutai
        table.sort_by("pct", reverse=True)
        order = [table.get_row_at(i)[0].plain.strip() for i in range(table.row_count)]
        assert order == ["688256.SH", "688521.SH", "600519.SH", "00700.HK"]
        assert table.selected_symbol == "600519.SH"
        table.sort_by("pct", reverse=False)
        order = [table.get_row_at(i)[0].plain.strip() for i in range(table.row_count)]
        assert order == ["600519.SH", "688521.SH", "688256.SH", "00700.HK"]
        # A new price that changes the ranking re-sorts the table.
        store.merge([quote("600519.SH", 1700.0, ts=T0 + 3000)], T0 + 3000)
        store.flush()
        table.sync(store)
        assert table.get_row_at(2)[0].plain.strip() == "600519.SH"
        await pilot.pause()


async def test_wide_names_fit_their_column_in_cells():
    store = store_with(quote("603880.SH", 11.21, name="南卫股份南卫股份", prev_close=12.46))
    table = WatchTable("t", ["603880.SH"])
    async with Bench(table).run_test():
        table.sync(store)
        from rich.cells import cell_len

        assert cell_len(table.get_cell("603880.SH", "name").plain) == table.columns["name"].width


async def test_status_bar_states():
    bar = StatusBar(demo=True, speed=20)
    async with Bench(bar).run_test(size=(120, 3)) as pilot:
        store = store_with(quote("600000.SH", 10.0, prev_close=10.0))
        store.set_phase("CN", "continuous", T0)
        store.stale = False
        bar.update_from(store, "connected", 0, now=0.0)
        bar.update_from(store, "connected", 100, now=1.0)
        text = bar.render().plain
        assert "DEMO 20×" in text and "live" in text and "09:30:00" in text and "CN trading" in text
        assert "100 msg/s" in text
        store.stale = True
        bar.update_from(store, "connected", 100, now=3.5)
        assert "stale" in bar.render().plain and "0 msg/s" in bar.render().plain
        bar.update_from(store, "reconnecting", 100, now=4.0)
        assert "reconnecting" in bar.render().plain
        await pilot.pause()


def test_session_axis_skips_lunch():
    def minute(hhmm: str) -> int:
        h, m = map(int, hhmm.split(":"))
        return (T0 - (9 * 60 + 30) * 60000) // 60000 + h * 60 + m

    assert chart.session_offset(minute("09:30"), "CN") == 0
    assert chart.session_offset(minute("11:29"), "CN") == 119
    assert chart.session_offset(minute("12:15"), "CN") == 120  # lunch takes no room
    assert chart.session_offset(minute("13:00"), "CN") == 120
    assert chart.session_offset(minute("15:00"), "CN") == 240
    assert chart.session_offset(minute("16:10"), "HK") == chart.session_length("HK") == 340
    bars = [Bar(minute("09:30"), 1, 1, 1, 1.0, 10), Bar(minute("10:30"), 1, 2, 1, 2.0, 30)]
    cols = chart.columns(bars, 8, "CN", now=(minute("11:29")) * 60000)
    assert cols[0] is bars[0] and cols[1] is bars[0] and cols[2] is bars[1] and cols[3] is bars[1]
    assert cols[4:] == [None] * 4
    line = chart.sparkline(bars, 8, "CN", base=1.5)
    assert [t for _c, t in line[:3]] == ["down", "down", "up"]
    assert chart.volume_blocks([None, 8, 4], 1) == [[" ", "█", "▄"]]
