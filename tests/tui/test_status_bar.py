"""The status bar says what is uncertain: instruments of an unknown kind, and a
year with no holiday calendar (phases are then taken on weekdays only)."""

from __future__ import annotations


from textual.app import App, ComposeResult

from marketmon.feed.protocol import Quote
from marketmon.store.state import Store
from marketmon.tui.panels.status_bar import StatusBar

T0 = 1757640600000


class Bar(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(demo=False, id="status")


def _store(trade_date: str, symbols: list[str]) -> Store:
    store = Store()
    store.set_trade_date(trade_date)
    store.merge([Quote(symbol=s, ts=T0, prev_close=5.0, last=5.0) for s in symbols], T0)
    store.flush()
    return store


async def _drawn(store: Store) -> str:
    app = Bar()
    async with app.run_test(size=(200, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.update_from(store, "live", 0)
        await pilot.pause()
        return bar.render().plain


async def test_unclassified_instruments_are_counted_on_the_bar():
    store = _store("2026-03-02", ["600000.SH", "004000.SZ", "004001.SZ"])
    assert store.frame.height == 3 and store.unclassified == 2
    text = await _drawn(store)
    assert "2 unclassified" in text and "calendar" not in text


async def test_a_year_with_no_calendar_is_said_on_the_bar():
    text = await _drawn(_store("2027-01-04", ["600000.SH"]))
    assert "no 2027 CN calendar: holidays unknown" in text and "no 2027 HK calendar" in text
    assert "unclassified" not in text


async def test_a_source_that_is_down_is_never_shown_live():
    store = _store("2026-03-02", ["600000.SH"])
    store.stale = False  # the bridge itself answers: the feed is live
    store.set_source("eastmoney", "down", "HTTP 403 from push2.eastmoney.com \x1b[2J", None)
    text = await _drawn(store)
    assert text.startswith("✕ eastmoney down") and "● live" not in text
    assert "HTTP 403 from push2.eastmoney.com" in text and "\x1b" not in text  # the reason, as data
    store.set_source("eastmoney", "up", "", None)
    text = await _drawn(store)
    assert text.startswith("● live") and "down" not in text


async def test_the_live_source_is_named():
    store = _store("2026-03-02", ["600000.SH"])
    store.stale = False
    store.set_source("tencent", "up", "took over from eastmoney: HTTP 403 (3 rounds)", None)
    assert (await _drawn(store)).startswith("● live tencent")


def test_old_prices_name_the_source_that_is_down_and_say_when_none_ever_came():
    from marketmon.tui.freshness import old_prices

    never = Store()
    never.set_trade_date("2026-03-02")
    never.merge([Quote(symbol="600000.SH", ts=T0, name="Pudong")], T0)  # a list's row: a name, no price
    never.flush()
    never.stale = True
    never.set_source("eastmoney", "down", "HTTP 403", T0)
    assert old_prices(never, "live") == "◐ No prices yet: eastmoney is down"
    priced = _store("2026-03-02", ["600000.SH"])
    priced.stale = True
    assert old_prices(priced, "live") == "◐ Old prices, as of 09:30:00: the feed is silent"
    priced.set_source("eastmoney", "down", "HTTP 403", T0)
    assert old_prices(priced, "live") == "◐ Old prices, as of 09:30:00: eastmoney is down"
    assert old_prices(priced, "reconnecting") == "◐ Old prices, as of 09:30:00: the feed is reconnecting"


async def test_a_live_source_says_why_it_took_over_and_how_much_of_the_market_is_quoted():
    store = _store("2026-03-02", ["600000.SH"])
    store.stale = False
    store.set_source("eastmoney", "up", "3,200 of 9,011 quoted \x1b[2J", None)
    text = await _drawn(store)
    assert text.startswith("● live eastmoney") and text.rstrip().endswith("3,200 of 9,011 quoted \ufffd[2J")
    store.set_source("eastmoney", "up", "", None)  # the whole market quoted: nothing more to say
    assert "quoted" not in await _drawn(store)
