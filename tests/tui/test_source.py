"""`marketmon --source tencent`: the app bridges a public source in-process.

The source is a local HTTP server answering with a recorded Tencent
response; the app polls it, serves it over loopback and shows it."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import polars as pl
import pytest

from marketmon.serve.demo_day import TRADE_DATE
from marketmon.tui.app import MarketmonApp

from ..conftest import wait_for
from ..fake_eastmoney import FakeEastMoney, FakeMarket
from ..serve.test_bridge import FakeSource
from .conftest import at, settle

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


# `marketmon --source eastmoney --base-url URL`: every panel from a live source -----------------

HELD_AT = at("10:30") / 1000  # the fake market and the bridge's clock, held at 2025-09-12 10:30 in Shanghai


class HeldClock:
    """The bridge's `time` module with the wall clock held (monotonic time runs on)."""

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(lambda: HELD_AT)


def live_app(fake: FakeEastMoney, tmp_path: Path) -> MarketmonApp:
    market = fake.market
    sealed, down = market.sealed[0], market.down[0]
    etf = next(s for s, i in sorted(market.insts.items()) if i.kind == "etf")
    hk = next(s for s in sorted(market.insts) if s.endswith(".HK"))
    plain = next(s for s in sorted(market.insts) if s not in market.sealed + market.down and s.endswith(".SH"))
    watchlist = tmp_path / "live.toml"
    watchlist.write_text(f'name = "Live"\nsymbols = {json.dumps([sealed, down, plain, etf, hk])}\n', encoding="utf-8")
    return MarketmonApp(source="eastmoney", watchlists=[watchlist], feed_options={"stale_after": 3600},
                        source_options={"base_url": fake.url, "interval": 0.2, "market_cache": tmp_path / "lists",
                                        "poll_options": {"budget": 100_000},  # a local stand-in: no budget to keep
                                        "extras_options": {"flow_every": 0.2, "pools_every": 0.2, "budget": 100_000}})  # fmt: skip


@pytest.fixture
def held_market(monkeypatch: pytest.MonkeyPatch) -> FakeMarket:
    from marketmon.serve import bridge
    from marketmon.serve.sources import extras, poll

    for module in (poll, extras, bridge):
        monkeypatch.setattr(module, "time", HeldClock)
    market = FakeMarket(400, trade_date=dt.date.fromisoformat(TRADE_DATE))
    market.frozen_at = HELD_AT
    return market


def test_a_live_source_fills_every_panel(snap_compare, home, tmp_path, held_market):
    """At 160x48: the strip's indices, a limit board of names outside the lists, Southbound
    net buy with its time, ETF premiums from IOPV, the list and its chart, alerts."""
    with FakeEastMoney(held_market) as fake:
        app = live_app(fake, tmp_path)

        async def run_before(pilot) -> None:
            sealed = held_market.sealed[0]
            await wait_for(lambda: app.store is not None and app.store.flow.latest is not None
                           and (app.store.quote(sealed) or {}).get("seal_amount") is not None, 20.0)  # fmt: skip
            await settle(pilot, "10:30")
            store = app.store
            assert store.source.name == "eastmoney" and store.source.state == "up"
            # The whole market came, not just the list: the board holds names no list has.
            board = set(store.frame.filter(pl.col("limit_state") == "up")["symbol"])
            assert store.frame.height > 400 and len(board - set(app.list_symbols())) >= 5
            app.clear_notifications()  # "listed" and friends: toasts that time out at their own pace
            await pilot.pause(0.3)

        assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)
