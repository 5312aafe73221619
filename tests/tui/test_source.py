"""`marketmon --source tencent`: the app bridges a public source in-process.

The source is a local HTTP server answering with a recorded Tencent
response; the app polls it, serves it over loopback and shows it."""

from __future__ import annotations

from pathlib import Path

from marketmon.tui.app import MarketmonApp

from ..conftest import wait_for
from ..serve.test_bridge import FakeSource

SOURCES = Path(__file__).parent.parent / "data" / "sources"


def bridged_app(fake: FakeSource, watchlist: Path) -> MarketmonApp:
    """`marketmon --source tencent --watchlist FILE`, the source being `fake`, polled every 0.2 s."""
    return MarketmonApp(source="tencent", watchlists=[watchlist],  # the lists only: no whole-market listing here
                        source_options={"base_url": fake.url, "interval": 0.2, "whole_market": False})  # fmt: skip


async def test_app_shows_quotes_bridged_from_a_source(home: Path, tmp_path: Path) -> None:
    watchlist = tmp_path / "mine.toml"
    watchlist.write_text('name = "Mine"\nsymbols = ["600000.SH", "300750.SZ"]\n', encoding="utf-8")
    with FakeSource((SOURCES / "tencent-a-share.gbk.txt").read_bytes()) as fake:
        app = bridged_app(fake, watchlist)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(lambda: app.store is not None and (app.store.quote("600000.SH") or {}).get("last"), 10.0)
            row = app.store.quote("600000.SH")
            assert row["last"] == 13.98 and row["prev_close"] == 14.05
            assert row["name"] == "浦发银行"
            await pilot.pause(0.5)
            assert "浦发银行" in "".join(str(s) for s in app.screen._compositor.render_update(full=True).strips)  # noqa: SLF001
    assert fake.requests, "the app never polled the source"


async def test_a_symbol_added_to_a_list_is_polled_from_the_next_round(home: Path, tmp_path: Path) -> None:
    watchlist = tmp_path / "mine.toml"
    watchlist.write_text('name = "Mine"\nsymbols = ["600000.SH"]\n', encoding="utf-8")
    with FakeSource((SOURCES / "tencent-a-share.gbk.txt").read_bytes()) as fake:
        app = bridged_app(fake, watchlist)
        async with app.run_test(size=(160, 48)):
            await wait_for(lambda: bool(fake.requests), 10.0)
            assert not any("300750" in path for _, path, _ in fake.requests)
            watchlist.write_text('name = "Mine"\nsymbols = ["600000.SH", "300750.SZ"]\n', encoding="utf-8")
            # the watcher polls every 0.5 s, the source every 0.2 s
            await wait_for(lambda: any("300750" in path for _, path, _ in fake.requests), 5.0)
            assert app.source_server.poller.symbols == ["300750.SZ", "600000.SH"]
