"""On screen: a convertible bond, a REIT and a code of an unknown prefix in a
watchlist, fed over a real loopback server, show with their prices to 0.001
and their distance to the limit where a rule (or the feed) gives one."""

from __future__ import annotations

from pathlib import Path

from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer
from marketmon.tui.app import MarketmonApp

SIZE = (160, 48)
TS = 1757640600000  # 2025-09-12 09:30


def _q(symbol: str, prev: float, last: float, **extra: object) -> dict:
    return {"symbol": symbol, "ts": TS, "name": symbol[:6], "prev_close": prev, "last": last, **extra}


async def test_bonds_reits_and_unknown_codes_are_on_screen(home, tmp_path: Path):
    listing = tmp_path / "mixed.toml"
    listing.write_text('name = "Mixed"\nsymbols = ["113050.SH", "508000.SH", "004000.SZ", "004001.SZ"]\n')
    quotes = [
        _q("113050.SH", 118.888, 120.005),  # +/-20 %: limit up 142.666
        _q("508000.SH", 3.456, 3.5),  # +/-10 %: limit up 3.802
        _q("004000.SZ", 5.0, 5.123),  # no rule, no feed limit: no distance to show
        _q("004001.SZ", 5.0, 5.0, limit_up=5.5, limit_down=4.5),  # the feed's own limit
    ]
    script = ListScript("2025-09-12", [Event(TS, {"type": "quotes", "ts": TS, "quotes": quotes})])
    async with QuoteServer(script, speed=0) as server:
        app = MarketmonApp(url=server.url, watchlists=[listing])
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if app.store is not None and app.store.frame.height == 4 and app.watchlists.table.row_count == 4:
                    break
            await pilot.pause(0.3)
            table = app.watchlists.table
            cell = lambda s, c: table.get_cell(s, c).plain.strip()  # noqa: E731
            assert (cell("113050.SH", "last"), cell("508000.SH", "last"), cell("004000.SZ", "last")) == (
                "120.005", "3.500", "5.123")  # fmt: skip
            assert cell("113050.SH", "to_limit") == f"{(142.666 - 120.005) / 120.005 * 100:.2f}%"
            assert cell("508000.SH", "to_limit") == f"{(3.802 - 3.5) / 3.5 * 100:.2f}%"
            assert cell("004000.SZ", "to_limit") == "-"
            assert cell("004001.SZ", "to_limit") == "10.00%"
            assert "2 unclassified" in app.part("#status").render().plain
            assert any("004000.SZ" in n.message and "board 'other'" in n.message for n in app._notifications)


async def test_etfs_without_an_iopv_are_said_so_in_words(home, tmp_path: Path):
    listing = tmp_path / "funds.toml"
    listing.write_text('name = "Funds"\nsymbols = ["510300.SH", "159659.SZ"]\n')
    quotes = [_q("510300.SH", 4.627, 4.616, kind="etf"), _q("159659.SZ", 2.01, 2.458, kind="etf")]
    script = ListScript("2025-09-12", [Event(TS, {"type": "quotes", "ts": TS, "quotes": quotes})])
    async with QuoteServer(script, speed=0) as server:
        app = MarketmonApp(url=server.url, watchlists=[listing])
        async with app.run_test(size=SIZE) as pilot:
            head = ""
            for _ in range(100):
                await pilot.pause(0.05)
                head = str(app.part("#etf-head").render())
                if "No IOPV" in head:
                    break
            assert "No IOPV for the 2 funds this feed sends" in head
            assert app.part("#etf-table").row_count == 0


async def test_a_bond_at_its_limit_is_on_the_limit_board_as_cb_20(home, tmp_path: Path):
    listing = tmp_path / "none.toml"
    listing.write_text('name = "None"\nsymbols = ["600000.SH"]\n')
    quotes = [_q("113050.SH", 118.888, 142.666, bid=142.666, bid_size=1000, ask=0.0, ask_size=0)]
    script = ListScript("2025-09-12", [Event(TS, {"type": "quotes", "ts": TS, "quotes": quotes})])
    async with QuoteServer(script, speed=0) as server:
        app = MarketmonApp(url=server.url, watchlists=[listing])
        async with app.run_test(size=SIZE) as pilot:
            table = app.part("#limits").table
            for _ in range(100):
                await pilot.pause(0.05)
                if table.row_count:
                    break
            row = [c.plain.strip() for c in table.get_row_at(0)]
            assert row[0] == "113050.SH" and row[2] == "CB 20" and row[3] == "142.666"
