"""The limit board, Southbound, ETF premium and alert log panels, fed by the real engine.

The seed day is played once per module, to its close, through a real loopback
QuoteServer and the real Engine; each panel is then mounted in a small App
and asked what it shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from rich.color import Color as RichColor
from textual.app import App, ComposeResult
from textual.color import Color
from textual.theme import Theme
from textual.widget import Widget

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.rules import Alert
from marketmon.engine import Engine
from marketmon.feed.protocol import Quote
from marketmon.serve.demo_day import SEED_DAY, step_of, ts_of
from marketmon.serve.server import QuoteServer
from marketmon.store.state import Store
from marketmon.tui import fmt
from marketmon.tui.panels.alert_log import AlertLog
from marketmon.tui.panels.etf_premium import EtfPremiumPanel
from marketmon.tui.panels.limit_board import LimitBoard
from marketmon.tui.panels.southbound import SouthboundPanel
from marketmon.tui.themes import load_all
from marketmon.tui.widgets.live_table import LiveTable
from tests.tui import drawn

TUI = Path(__file__).parents[2] / "marketmon" / "tui"

# The app shell's themes define these; a test app needs them to parse its CSS.
# Chinese convention: red up, green down.
FALLBACK = {
    "price-up": "#ff4d4f", "price-down": "#2fbf71", "price-flat": "#9aa3b2",
    "limit-up": "#d4001a", "limit-down": "#008a3e", "limit-text": "#ffffff", "muted": "#6b7385",
    "flash": "#3a3f1e", "demo": "#7a3cff", "feed-ok": "#2fbf71", "feed-bad": "#ff4d4f",
}  # fmt: skip


class PanelApp(App):
    CSS_PATH = [TUI / "app.tcss", TUI / "panels.tcss"]  # as the app shell loads them
    AUTO_FOCUS = None  # no cursor over the first row: the snapshots show the panels' own colours

    def __init__(self, panel: Widget, store: Store | None = None) -> None:
        super().__init__()
        self.panel, self.store = panel, store

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return FALLBACK

    def compose(self) -> ComposeResult:
        yield self.panel

    def on_mount(self) -> None:
        if self.store is not None:
            self.panel.refresh_from(self.store)


@pytest.fixture(scope="module")
def closing() -> tuple[Store, list[Alert]]:
    """The seed day at its close, and every alert the engine raised on the way."""
    alerts: list[Alert] = []

    async def play() -> Store:
        async with QuoteServer(SEED_DAY, speed=0) as server:
            engine = Engine(server.url, on_alert=alerts.append)
            assert await asyncio.wait_for(engine.run(), 240) == "eof"
        return engine.store

    store = asyncio.run(play())
    assert store.clock == ts_of(step_of("16:10")), "the replay must reach the close"
    return store, alerts


def cells(table: LiveTable) -> list[list[str]]:
    """What each cell says, without the one-cell gap LiveTable puts before it."""
    return [[c.plain.removeprefix(" ") for c in table.get_row_at(i)] for i in range(table.row_count)]


def rgb(hex_colour: str) -> RichColor:
    return Color.parse(hex_colour).rich_color


# Limit board ---------------------------------------------------------------------------


async def test_limit_board_at_the_close(closing):
    store, _ = closing
    board = LimitBoard()
    async with PanelApp(board, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        rows = cells(board.table)
        by_code = {r[0]: r for r in rows}
        assert [r[0] for r in rows] == ["688521.SH", "603019.SH", "002602.SZ", "603880.SH"]
        assert by_code["688521.SH"] == [
            "688521.SH", "VeriSilicon", "STAR 20", "154.39", "+20.00%", "13:42", "sealed 封板"
        ]  # fmt: skip
        assert by_code["603019.SH"][4:] == ["+6.21%", "10:05", "broken 炸板"]  # sealed, then broke
        assert by_code["002602.SZ"][2] == "Main 5" and by_code["002602.SZ"][6] == "broken 炸板"  # ST band in 2025
        assert by_code["603880.SH"][3:] == ["11.21", "-10.03%", "14:20", "sealed 跌停"]  # limit-down: never 封板
        assert board.counts == {"up": 1, "down": 1, "broken": 2, "near": 0}
        head = str(board.query_one("#limit-counts").render())
        assert "涨停 limit-up 1" in head and "跌停 limit-down 1" in head and "炸板 broken 2" in head
        # The colours as drawn, in every theme: test_limit_board_draws_its_colours.


async def test_limit_board_of_a_bridge_started_mid_session_shows_broken_boards_and_the_pools_times():
    # First seen at 14:00: the store never saw these leave or reach their limits.
    store = Store()
    store.set_trade_date("2025-09-12")
    t0 = ts_of(step_of("14:00"))
    store.merge([
        Quote("600001.SH", ts=t0, name="Left", prev_close=10.0, last=10.5, high=11.0, low=10.0),  # high at 11.00
        Quote("600002.SH", ts=t0, name="Low left", prev_close=10.0, last=9.5, high=10.0, low=9.0),  # low at 9.00
        Quote("600003.SH", ts=t0, name="Resealed", prev_close=10.0, last=11.0, high=11.0, low=10.0,
              board_opens=2, first_seal="09:31:00", last_seal="13:05:00"),  # the pool's figures
        Quote("600004.SH", ts=t0, name="Down", prev_close=10.0, last=9.0, high=10.0, low=9.0,
              last_seal="10:20:00"),  # the limit-down pool has no first time
        Quote("600005.SH", ts=t0, name="Quiet", prev_close=10.0, last=10.2, high=10.5, low=9.8),
    ], t0)  # fmt: skip
    store.flush()
    board = LimitBoard()
    async with PanelApp(board, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        shown = {r[0]: (r[5], r[6]) for r in cells(board.table)}
        assert shown == {
            "600003.SH": ("09:31", "sealed 回封"),  # the pool's first seal, not 14:00
            "600001.SH": ("", "broken 炸板"),
            "600002.SH": ("", "broken 翘板"),
            "600004.SH": ("", "sealed 跌停"),  # seen sealed at 14:00, after its last seal at 10:20: time unknown
        }
        assert board.counts == {"up": 1, "down": 1, "broken": 2, "near": 0}


async def test_limit_board_near_and_the_table_is_updated_in_place():
    store = Store()
    store.set_trade_date("2025-09-12")
    t0 = ts_of(step_of("10:00"))
    store.merge([
        Quote("600000.SH", ts=t0, name="Near", prev_close=10.0, last=10.92),  # limit 11.00, within 1 %
        Quote("300750.SZ", ts=t0, name="Far", prev_close=100.0, last=105.0),
        Quote("000001.SZ", ts=t0, name="Low", prev_close=10.0, last=9.07),  # limit 9.00, within 1 %
    ], t0)  # fmt: skip
    store.flush()
    board = LimitBoard()
    async with PanelApp(board, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        shown = [(r[0], r[6]) for r in cells(board.table)]
        assert shown == [("600000.SH", "near 涨停"), ("000001.SZ", "near 跌停")]
        touched: list[tuple] = []
        added: list[tuple] = []
        sorts: list[tuple] = []
        table = board.table
        original_update, original_add, original_reorder = table.update_cell, table.add_row, table.reorder
        table.update_cell = lambda *a, **k: (touched.append(a[:2]), original_update(*a, **k))[1]
        table.add_row = lambda *a, **k: (added.append(k["key"]), original_add(*a, **k))[1]
        # A reorder that changes the order counts as a sort.
        table.reorder = lambda keys: (keys != table.ordered_keys and sorts.append(keys), original_reorder(keys))[1]

        board.refresh_from(store)  # nothing changed: nothing drawn
        assert touched == [] and added == []

        t1 = t0 + 3000
        store.merge([Quote("600000.SH", ts=t1, last=11.0)], t1)  # seals: only its own cells change
        store.flush()
        board.refresh_from(store)
        await pilot.pause()
        assert added == [] and sorts == []
        assert touched == [("600000.SH", c) for c in ("last", "pct", "sealed", "state")]  # its own cells only
        assert cells(board.table)[0][5:] == ["10:00", "sealed 封板"]

        t2 = t1 + 3000
        store.merge([Quote("300750.SZ", ts=t2, last=120.0)], t2)  # seals later: second among the sealed
        store.flush()
        board.refresh_from(store)
        await pilot.pause()
        assert [r[0] for r in cells(board.table)] == ["600000.SH", "300750.SZ", "000001.SZ"]
        assert added == ["300750.SZ"] and len(sorts) == 1  # appended, then one sort puts it in place
        assert board.counts["up"] == 2 and board.counts["near"] == 1
        assert table.key_at(1) == "300750.SZ" and table.row_count == 3


# Southbound ----------------------------------------------------------------------------


async def test_southbound_at_the_close(closing):
    store, _ = closing
    panel = SouthboundPanel()
    async with PanelApp(panel, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        sh = str(panel.query_one("#sb-sh").render())
        sz = str(panel.query_one("#sb-sz").render())
        assert "SH 沪" in sh and "net +11.57 bn" in sh and "buy 61.84" in sh and "sell 50.27" in sh
        quota = str(panel.query_one("#sb-sh-quota").render())
        assert "quota sufficient (25% used)" == quota  # 31.4 of 42 bn left: over 30 %, so "sufficient"
        assert "SZ 深" in sz and "net +9.22 bn" in sz
        head = str(panel.query_one("#sb-head").render())
        assert "HKD +20.79 bn" in head and "as of 16:10:00" in head
        assert len(panel.query_one("#sb-sh-spark").data) == len(store.flow.series) == 401

        top = cells(panel.query_one("#sb-top", LiveTable))
        assert top[0] == ["09988", "BABA-W", "+4.12", ""] and len(top) == 10  # all Hong Kong: no ".HK"; a blank end
        leaders = cells(panel.query_one("#sb-leaders", LiveTable))
        assert [r[1] for r in leaders[:3]] == ["BABA-W", "Tencent", "Meituan-W"]
        assert leaders[0][2:] == ["+37.31", "15d 37.12", ""]  # 15 sessions in a row, over HKD 37.1 bn
        screen = pilot.app.export_screenshot()
        assert "northbound" not in screen.lower() and "北向" not in screen


async def test_southbound_shows_flow_that_comes_after_the_last_quote():
    # The close's last flow minute arrives after the last quote: no flush, so no new store version.
    store = Store()
    store.set_trade_date("2025-09-12")
    top = [{"symbol": "09988.HK", "net_buy_hkd": 1e9}]
    store.set_flow({"SH": {"net_buy_hkd": 1e9}}, top, ts_of(step_of("16:09")))
    panel = SouthboundPanel()
    async with PanelApp(panel, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not panel.needs_sync
        version = store.version
        store.set_flow({"SH": {"net_buy_hkd": 2e9}}, top, ts_of(step_of("16:10")))
        assert store.version == version and panel.needs_sync  # the app's tick asks, and refreshes
        panel.refresh_from(store)
        await pilot.pause()
        assert not panel.needs_sync
        head = str(panel.query_one("#sb-head").render())
        assert "HKD +2.00 bn" in head and "as of 16:10:00" in head


# ETF premium ---------------------------------------------------------------------------


async def test_etf_premium_order_and_threshold(closing):
    store, _ = closing
    panel = EtfPremiumPanel(threshold=0.5)
    async with PanelApp(panel, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        rows = cells(panel.table)
        expected = (
            store.frame.filter(pl.col("premium_pct").is_not_null())
            .sort(pl.col("premium_pct").abs(), descending=True)["symbol"].to_list()
        )
        assert [r[0] for r in rows] == expected and len(rows) == 8
        assert rows[0] == ["520880.SH", "HK Innovative Drug", "1.486", "1.4785", "+0.51%", "+0.88%"]  # no "ETF"
        # Drawn: every character of the row over the threshold on one highlight, none on the next.
        over = drawn.backgrounds(drawn.row_ink(panel.table, "520880.SH"))
        assert len(over) == 1 and not over & drawn.backgrounds(drawn.row_ink(panel.table, rows[1][0]))
        assert "1 at or over ±0.5%" in str(panel.query_one("#etf-head").render())

    quiet = EtfPremiumPanel()  # default threshold 1 %: nothing stands out today
    async with PanelApp(quiet, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert quiet.threshold == 1.0
        backgrounds = {b for key in quiet.table.ordered_keys for b in drawn.backgrounds(drawn.row_ink(quiet.table, key))}
        assert len(backgrounds) == 1  # every row on the panel's own background


async def test_etf_panel_shows_the_largest_gaps_of_many_funds():
    store = Store()
    store.set_trade_date("2025-09-12")
    t0 = ts_of(step_of("10:00"))
    store.merge(
        [Quote(f"5100{n:02d}.SH", ts=t0, name=f"ETF {n}", prev_close=1.0, last=1.0, iopv=1.0 + n / 1000)
         for n in range(12)],
        t0,
    )  # fmt: skip
    store.flush()
    panel = EtfPremiumPanel(max_rows=5)
    async with PanelApp(panel, store).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert [r[0] for r in cells(panel.table)] == [f"5100{n:02d}.SH" for n in (11, 10, 9, 8, 7)]
        head = str(panel.query_one("#etf-head").render())
        assert "top 5 of 12 funds" in head and "1 at or over ±1%" in head  # 510011: -1.09 %


# Alert log -----------------------------------------------------------------------------


async def test_alert_log_shows_history_newest_first_then_new_alerts(closing, tmp_path):
    _, alerts = closing
    assert [a.rule for a in alerts] == [
        "limit_up", "limit_up", "limit_up_broken", "limit_up_broken", "limit_up", "limit_down"
    ]  # fmt: skip
    history = AlertHistory(tmp_path / "alerts.jsonl")
    for alert in alerts:
        history.append(alert)
    with history.path.open("ab") as f:
        f.write(b'{"ts": 17576')  # a crash mid-write
    log = AlertLog(history)
    async with PanelApp(log).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        rows = cells(log.table)
        assert [r[1] for r in rows] == [a.symbol for a in reversed(alerts)]
        # All from the history (earlier runs): each with its date (issue 14 item 9).
        assert rows[0][:5] == ["09-12 14:20", "603880.SH", "南卫股份", "limit_down", "11.21"]
        assert rows[1][:5] == ["09-12 13:42", "688521.SH", "VeriSilicon", "limit_up", "154.39"]
        assert "1 unreadable history line(s) skipped" in str(log.query_one("#alert-head").render())

        later = Alert(ts_of(step_of("14:30")), "520880.SH", "HK Innovative Drug ETF", "premium_above",
                      1.486, 0.88, "HK Innovative Drug ETF premium +0.51% crossed +0.50%", 0.51)  # fmt: skip
        log.add_alert(later)
        await pilot.pause()
        rows = cells(log.table)
        assert rows[0][:5] == ["14:30:00", "520880.SH", "HK Innovative Drug ETF", "premium_above", "1.486"]
        assert "earlier runs" in rows[1][5] and rows[2][0] == "09-12 14:20"  # this run's, a line, then the history's
        assert len(rows) == len(alerts) + 2
        head = str(log.query_one("#alert-head").render())
        assert "2025-09-12 1 this run" in head and f"{len(alerts)} of earlier runs" in head


async def test_alert_log_marks_older_days_with_their_date(tmp_path):
    history = AlertHistory(tmp_path / "alerts.jsonl")
    day_before = ts_of(step_of("14:00")) - 86_400_000
    history.append(Alert(day_before, "688521.SH", "VeriSilicon", "pct_above", 140.0, 8.8, "old"))
    history.append(Alert(ts_of(step_of("10:00")), "688521.SH", "VeriSilicon", "pct_above", 150.0, 16.6, "new"))
    log = AlertLog(history)
    async with PanelApp(log).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert [r[0] for r in cells(log.table)] == ["09-12 10:00", "09-11 14:00"]  # earlier runs': dated


# Feed text is data -------------------------------------------------------------------


HOSTILE = "[bold]x[/]"
ESCAPE = "\x1b[31mred"


async def test_names_from_the_feed_show_literally(tmp_path):
    store = Store()
    store.set_trade_date("2025-09-12")
    t0 = ts_of(step_of("10:00"))
    store.merge([
        Quote("600000.SH", ts=t0, name=HOSTILE, prev_close=10.0, last=11.0),
        Quote("600001.SH", ts=t0, name=ESCAPE, prev_close=10.0, last=9.0),
        Quote("520880.SH", ts=t0, name=HOSTILE, prev_close=1.0, last=1.03, iopv=1.0),
        Quote("09988.HK", ts=t0, name=HOSTILE, prev_close=100.0, last=101.0),
    ], t0)  # fmt: skip
    store.flush()
    store.set_flow({"SH": {"net_buy_hkd": 1e9}}, [{"symbol": "09988.HK", "net_buy_hkd": 1e9}], t0)
    history = AlertHistory(tmp_path / "alerts.jsonl")
    history.append(Alert(t0, "600000.SH", HOSTILE, "limit_up", 11.0, 10.0, f"{HOSTILE} hit {ESCAPE}"))

    for panel, table_id in (
        (LimitBoard(), "#limit-table"),
        (EtfPremiumPanel(), "#etf-table"),
        (SouthboundPanel(), "#sb-top"),
        (AlertLog(history), "#alert-table"),
    ):
        async with PanelApp(panel, store).run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            shown = [c for row in cells(panel.query_one(table_id, LiveTable)) for c in row]
            assert any(HOSTILE in c for c in shown), type(panel).__name__
            assert not any("\x1b" in c for c in shown)
            screen = pilot.app.export_screenshot()
            assert HOSTILE in screen.replace("&#160;", " "), type(panel).__name__
            if isinstance(panel, LimitBoard):
                assert "\ufffd[31mred" in shown


# Themes ------------------------------------------------------------------------------


async def test_a_theme_switch_recolours_the_panels(closing):
    store, _ = closing
    western = Theme(
        name="western-test", primary="#5b8def", dark=True,
        variables={**FALLBACK, "price-up": "#2fbf71", "price-down": "#ff4d4f"},
    )  # fmt: skip
    board = LimitBoard()
    app = PanelApp(board, store)
    async with app.run_test(size=(100, 30)) as pilot:
        app.register_theme(western)
        app.theme = "western-test"
        await pilot.pause()
        await pilot.pause()
        assert drawn.colours(drawn.cell(board.table, "688521.SH", "pct")[1]) == {rgb("#2fbf71")}  # green up now
        assert drawn.colours(drawn.cell(board.table, "603880.SH", "pct")[1]) == {rgb("#ff4d4f")}


# What is drawn, in every bundled theme ---------------------------------------------
#
# The colours are read from the segments the table draws (tests/tui/drawn.py), not
# from its Text objects: a colour lost between the two is what a trader would see.

THEMES, _errors = load_all(user_dir=Path("/nonexistent"))
assert not _errors and len(THEMES) >= 4


class ThemedPanelApp(PanelApp):
    def __init__(self, panel: Widget, store: Store | None, theme: str) -> None:
        super().__init__(panel, store)
        for t in THEMES.values():
            self.register_theme(t)
        self.theme = theme


def expect(theme: str, name: str) -> RichColor:
    return rgb(THEMES[theme].variables[name])


async def cursor_row_is_one_band(pilot, table: LiveTable, key: str) -> None:
    """With the table focused, every cell of the cursor's row is drawn on one
    background that no other row has: the text too, not only the gaps."""
    other = next(k for k in table.ordered_keys if k != key)
    plain = drawn.backgrounds(drawn.row_ink(table, other))
    table.move_cursor(row=table.get_row_index(key))
    table.focus()
    await pilot.pause()
    ink = drawn.row_ink(table, key)
    assert len(ink) > 10
    band = drawn.backgrounds(ink)
    assert len(band) == 1 and None not in band and not band & plain, (band, plain)


@pytest.mark.parametrize("theme", sorted(THEMES))
async def test_limit_board_draws_its_colours(closing, theme):
    board = LimitBoard()
    async with ThemedPanelApp(board, closing[0], theme).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = board.table
        up, down = "688521.SH", "603880.SH"
        for key, column, text, tone in (
            (up, "pct", "+20.00%", "price-up"), (up, "last", "154.39", "price-up"),
            (down, "pct", "-10.03%", "price-down"), (down, "last", "11.21", "price-down"),
        ):  # fmt: skip
            shown, styles = drawn.cell(table, key, column)
            assert shown == text and drawn.colours(styles) == {expect(theme, tone)}, (key, column)
        shown, styles = drawn.cell(table, up, "state")
        assert shown == "sealed 封板" and drawn.backgrounds(styles) == {expect(theme, "limit-up")}
        assert drawn.colours(styles) == {expect(theme, "limit-text")}
        shown, styles = drawn.cell(table, down, "state")  # limit-down: 跌停, never 封板
        assert shown == "sealed 跌停" and drawn.backgrounds(styles) == {expect(theme, "limit-down")}
        await cursor_row_is_one_band(pilot, table, down)


@pytest.mark.parametrize("theme", sorted(THEMES))
async def test_etf_premium_draws_its_colours(closing, theme):
    store = closing[0]
    panel = EtfPremiumPanel(threshold=0.5)
    async with ThemedPanelApp(panel, store, theme).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = panel.table
        rows = table.rows_shown
        up = next(r for r in rows if r[5] > 0)  # chg % up
        down = next(r for r in rows if r[5] < 0)
        for row, tone in ((up, "price-up"), (down, "price-down")):
            shown, styles = drawn.cell(table, row[0], "pct")
            assert shown == fmt.pct(row[5]) and drawn.colours(styles) == {expect(theme, tone)}, row
            shown, styles = drawn.cell(table, row[0], "last")
            assert drawn.colours(styles) == {expect(theme, tone)}, row
        # 520880 is over the threshold: every character of its row on the highlight.
        over = drawn.backgrounds(drawn.row_ink(table, "520880.SH"))
        normal = drawn.backgrounds(drawn.row_ink(table, rows[1][0]))
        head = panel.query_one("#etf-head")
        at_or_over = drawn.backgrounds(drawn.styles_of(head, 0, "1 at or over"))
        assert len(over) == 1 and over == at_or_over and not over & normal, (over, normal)
        shown, styles = drawn.cell(table, "520880.SH", "premium")
        assert shown == "+0.51%" and drawn.colours(styles) == {expect(theme, "price-up")}
        await cursor_row_is_one_band(pilot, table, rows[2][0])


@pytest.mark.parametrize("theme", sorted(THEMES))
async def test_southbound_draws_its_colours(closing, theme):
    store = Store()
    store.set_trade_date("2025-09-12")
    top = [{"symbol": "09988.HK", "name": "BABA-W", "net_buy_hkd": 4.12e9},
           {"symbol": "00700.HK", "name": "Tencent", "net_buy_hkd": -1.5e9},
           {"symbol": "03690.HK", "name": "Meituan-W", "net_buy_hkd": 0.5e9}]  # fmt: skip
    store.set_flow({"SH": {"net_buy_hkd": 1e9}}, top, ts_of(step_of("16:09")))
    panel = SouthboundPanel()
    async with ThemedPanelApp(panel, store, theme).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = panel.query_one("#sb-top", LiveTable)
        for key, text, tone in (("09988.HK", "+4.12", "price-up"), ("00700.HK", "-1.50", "price-down")):
            shown, styles = drawn.cell(table, key, "net")
            assert shown == text and drawn.colours(styles) == {expect(theme, tone)}, key
        await cursor_row_is_one_band(pilot, table, "00700.HK")


@pytest.mark.parametrize("theme", sorted(THEMES))
async def test_alert_log_draws_its_colours(closing, theme, tmp_path):
    history = AlertHistory(tmp_path / "alerts.jsonl")
    for alert in closing[1]:
        history.append(alert)
    log = AlertLog(history)
    async with ThemedPanelApp(log, None, theme).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = log.table
        keys = table.ordered_keys
        by_symbol = {table.get_cell(k, "symbol").plain.strip(): k for k in reversed(keys)}  # the newest of each
        for symbol, price, rule, tone in (
            ("603880.SH", "11.21", "limit_down", "price-down"), ("688521.SH", "154.39", "limit_up", "price-up"),
        ):  # fmt: skip
            key = by_symbol[symbol]
            for column, text in (("price", price), ("rule", rule)):
                shown, styles = drawn.cell(table, key, column)
                assert shown == text and drawn.colours(styles) == {expect(theme, tone)}, (symbol, column)
        await cursor_row_is_one_band(pilot, table, keys[1])


# Snapshots at the close (80x24) ------------------------------------------------------


def _snap(snap_compare, make: Callable[[], Widget], store: Store | None) -> None:
    assert snap_compare(PanelApp(make(), store), terminal_size=(80, 24))


def test_snapshot_limit_board(snap_compare, closing):
    _snap(snap_compare, LimitBoard, closing[0])


def test_snapshot_southbound(snap_compare, closing):
    _snap(snap_compare, SouthboundPanel, closing[0])


def test_snapshot_etf_premium(snap_compare, closing):
    # 0.5 %, so 520880's premium (+0.51 %) shows the highlight; at the default 1 % no row has it today.
    _snap(snap_compare, lambda: EtfPremiumPanel(threshold=0.5), closing[0])


def test_snapshot_alert_log(snap_compare, closing, tmp_path):
    history = AlertHistory(tmp_path / "alerts.jsonl")
    for alert in closing[1]:
        history.append(alert)
    _snap(snap_compare, lambda: AlertLog(history), None)


def test_cn_units_count_a_bonds_volume_in_lots_of_ten_and_a_stocks_in_lots_of_a_hundred():
    from marketmon.tui import fmt

    try:
        fmt.set_units("cn")
        assert fmt.volume(1_234_500, "600000.SH", "stock") == fmt.cn_amount(12_345) + "手"
        assert fmt.volume(1_234_500, "113050.SH", None) == fmt.cn_amount(123_450) + "手"  # 10 bonds (张) a 手
        assert fmt.volume(1_234_500, "00700.HK", "stock").endswith("股")
    finally:
        fmt.set_units("intl")
    assert fmt.volume(1_234_500, "113050.SH", None) == fmt.amount(1_234_500)
