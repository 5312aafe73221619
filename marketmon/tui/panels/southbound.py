"""Southbound Stock Connect (港股通): mainland money buying Hong Kong stocks.

Per channel (Shanghai 沪 and Shenzhen 深): net buy so far today with a
sparkline of the day, buy and sell turnover (HKD, or CNY when the source is
a mainland one that publishes CNY: the head names it), and the quota as the
exchange shows it (since 2024-08-19 only "sufficient" until under 30 % is
left). Below: today's top net-bought names and the 20-day leaders with their
buying streaks, from the feed's flow history. Northbound has no live data
since 2024, so this panel has no Northbound figures at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from marketmon.feed.safe_text import printable
from marketmon.market import southbound, units
from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets.live_table import Col, LiveTable, Row

CHANNELS = (("SH", "沪"), ("SZ", "深"))  # 港股通(沪) via Shanghai, 港股通(深) via Shenzhen
LEADER_DAYS = 20


def unit() -> str:
    """The panel's unit: billions (how English-language desks quote Southbound), or
    亿 with key U (how mainland screens do)."""
    return "亿" if fmt.UNITS["units"] == "cn" else "bn"


def figure(value: float | None, sign: bool = True) -> str:
    """An amount in the panel's unit, the unit word left to the header: +37.12 (bn),
    or +371.2 (亿: four digits at most, as the table columns have room for)."""
    if value is None:
        return fmt.DASH
    if unit() == "bn":
        x, dp = value / 1e9, 2
    else:
        x = value / 1e8
        dp = units.places(x, 4)
    return f"{x:+.{dp}f}" if sign else f"{x:.{dp}f}"


def hk_code(symbol: str) -> str:
    """09988.HK -> 09988: the panel only ever shows Hong Kong stocks."""
    return symbol.removesuffix(".HK")


class SouthboundPanel(palette.Tones, Vertical):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    # Side by side in 65 cells at 160x48 (2fr : 3fr = 26 + 39), each with a scrollbar.
    # Every name here is a Hong Kong stock: the code goes without ".HK", as on a 港股通 screen.
    # Each ends in an empty column (its one-cell gap): the scrollbar sits beside a
    # blank, so "37.12" never reads as "37.12▄".
    # "bn" in a label is the panel's unit(): 亿 with key U.
    TOP_COLUMNS = (Col("code", "code", 5), Col("name", "name", 10), Col("net", "net bn", 6, True), Col("end", "", 0))
    LEADER_COLUMNS = (
        Col("code", "code", 5), Col("name", "name", 13), Col("net", f"{LEADER_DAYS}d bn", 6, True),
        Col("streak", "streak bn", 9, True), Col("end", "", 0),  # "15d 37.12"
    )  # fmt: skip

    def __init__(self, *, top_n: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.top_n = top_n
        self._shown: dict[str, Any] = {}  # what each static part last showed
        self._history: list | None = None
        self._leader_stats: list[tuple[str, float, int, float]] = []  # symbol, net, streak days, streak net
        self.leaders: list[Row] = []  # (symbol, name, net 20d, streak days, streak net)
        self._store: Store | None = None
        self._latest: dict | None = None  # the flow update last shown
        self._unit = "bn"  # the unit the figures on screen are in

    def compose(self) -> ComposeResult:
        yield Static(id="sb-head", classes="panel-head")
        for ch, _ in CHANNELS:
            yield Static(id=f"sb-{ch.lower()}", classes="sb-channel")
            # The quota sits beside the day's net-buy line: the channel line has no room for it.
            with Horizontal(classes="sb-spark-row"):
                yield Sparkline([], id=f"sb-{ch.lower()}-spark", classes="sb-spark")
                yield Static(id=f"sb-{ch.lower()}-quota", classes="sb-quota")
        with Horizontal(id="sb-tables"):
            with Vertical(id="sb-top-box"):
                yield Static("Top net buy today", id="sb-top-caption", classes="sb-caption")
                yield LiveTable(self.TOP_COLUMNS, self._render_top, id="sb-top")
            with Vertical(id="sb-leaders-box"):
                yield Static(f"{LEADER_DAYS}-day leaders · net-buy streak", id="sb-leaders-caption", classes="sb-caption")
                yield LiveTable(self.LEADER_COLUMNS, self._render_leader, id="sb-leaders")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    @property
    def needs_sync(self) -> bool:
        """A flow update bumps no store version (only quote flushes do): the close's last
        minute comes after the last quote, and without this would never be shown."""
        store = self._store
        return store is not None and (store.flow.latest is not self._latest or store.flow.history is not self._history)

    def refresh_from(self, store: Store) -> None:
        if unit() != self._unit:  # key U: every figure, and the headers that name the unit
            self._unit = unit()
            self._shown.clear()
            for selector, columns in (("#sb-top", self.TOP_COLUMNS), ("#sb-leaders", self.LEADER_COLUMNS)):
                table = self.query_one(selector, LiveTable)
                for col in columns:
                    if col.label.endswith(" bn"):
                        table.relabel(col, col.label.removesuffix("bn") + self._unit)
                table.restyle()
        flow = store.flow
        self._store, self._latest = store, flow.latest
        latest = flow.latest or {}
        channels = latest.get("southbound") or {}
        if flow.history is not self._history:  # a new history arrives once a day, at most
            self._history = flow.history
            self._leader_stats = [
                (sym, net, *southbound.streak(flow.history, sym))
                for sym, net in southbound.leaders(flow.history[-LEADER_DAYS:], self.top_n)
            ]
        names = self._names(store, latest)
        trade_date = store.trade_date or dt.date.today()

        figures = {ch: southbound.amounts(channels.get(ch) or {}) for ch, _ in CHANNELS}
        nets = [f[1] for f in figures.values() if f[1] is not None]
        currency = figures["SH"][0]
        self._set("sb-head", (currency, sum(nets) if nets else None, latest.get("ts")), self._head)
        for n, (ch, label) in enumerate(CHANNELS, start=1):
            data = channels.get(ch) or {}
            self._set(f"sb-{ch.lower()}", (ch, label, *figures[ch][1:]), self._channel)
            self._set(f"sb-{ch.lower()}-quota", (trade_date, data.get("quota_cny"), data.get("quota_left_cny")),
                      self._quota)  # fmt: skip
            self._spark(ch, flow.series, n)

        # A source with channel totals but no names (East Money) says so instead of an empty table.
        self._set("sb-top-caption", (bool(channels) and not latest.get("top"),), self._top_caption)
        no_names = bool(flow.history) and not any(day.get("top") for day in flow.history)
        self._set("sb-leaders-caption", (no_names,), self._leaders_caption)
        top = sorted(latest.get("top") or (), key=lambda r: -(r.get("net_buy_hkd") or 0.0))[: self.top_n]
        self.query_one("#sb-top", LiveTable).sync(
            [(r["symbol"], names.get(r["symbol"]), r.get("net_buy_hkd")) for r in top]
        )
        self.leaders = [(sym, names.get(sym), net, *streak) for sym, net, *streak in self._leader_stats]
        self.query_one("#sb-leaders", LiveTable).sync(self.leaders)

    # parts ---------------------------------------------------------------------

    def _names(self, store: Store, latest: dict) -> dict[str, str | None]:
        wanted = {r["symbol"] for r in latest.get("top") or ()} | {r[0] for r in self._leader_stats}
        if not wanted:
            return {}
        rows = store.frame.filter(pl.col("symbol").is_in(list(wanted))).select("symbol", store.shown_name())
        return dict(rows.iter_rows())

    def _set(self, id: str, key: tuple, draw: Any, force: bool = False) -> None:
        """Redraw one static part only when what it shows has changed."""
        if self._shown.get(id) == key and not force:
            return
        self._shown[id] = key
        part = self.query_one(f"#{id}", Static)
        # One-line parts of a fixed width repaint alone; the quota is as wide as its text.
        part.update(draw(*key), layout=part.has_class("sb-quota"))

    def _head(self, currency: str, total: float | None, ts: int | None) -> Text:
        return Text.assemble(
            ("Southbound 港股通 · net buy ", self.tone("label")),
            (fmt.DASH if total is None else f"{currency} {figure(total)} {unit()}", self.tone(fmt.direction(total))),
            (f" · as of {fmt.clock(ts)}" if ts else " · no flow data yet", self.tone("muted")),
        )

    def _channel(self, ch: str, label: str, net: Any, buy: Any, sell: Any) -> Text:
        return Text.assemble(
            (f"{ch} {label} ", self.tone("title")),
            ("net ", self.tone("muted")), (fmt.DASH if net is None else f"{figure(net)} {unit()}", self.tone(fmt.direction(net))),
            ("  buy ", self.tone("muted")), figure(buy, sign=False),
            ("  sell ", self.tone("muted")), figure(sell, sign=False),
        )  # fmt: skip

    def _top_caption(self, none_from_source: bool) -> Text:
        if none_from_source:  # said in the width of the caption (25 cells at 160x48)
            return Text("Top: no per-name data", style=self.tone("muted"))
        return Text("Top net buy today")

    def _leaders_caption(self, none_from_source: bool) -> Text:
        if none_from_source:
            return Text(f"{LEADER_DAYS}-day leaders: no names in history", style=self.tone("muted"))
        return Text(f"{LEADER_DAYS}-day leaders · net-buy streak")

    def _quota(self, trade_date: dt.date, quota: Any, left: Any) -> Text:
        if quota and left is not None:
            used = southbound.quota_used_pct(quota, left)
            quota_text = f"{southbound.quota_display(quota, left, trade_date)} ({used:.0f}% used)"
        else:
            quota_text = fmt.DASH
        return Text.assemble(("quota ", self.tone("muted")), quota_text)

    def _spark(self, ch: str, series: list[tuple[int, float, float]], column: int) -> None:
        # The series only grows (one point a minute): its length and last point say if it changed.
        key = (len(series), series[-1] if series else None)
        if self._shown.get(f"spark-{ch}") == key:
            return
        self._shown[f"spark-{ch}"] = key
        self.query_one(f"#sb-{ch.lower()}-spark", Sparkline).data = [p[column] for p in series]

    def _restyle(self) -> None:
        for id, draw in (("sb-head", self._head), ("sb-sh", self._channel), ("sb-sz", self._channel),
                         ("sb-top-caption", self._top_caption), ("sb-leaders-caption", self._leaders_caption),
                         ("sb-sh-quota", self._quota), ("sb-sz-quota", self._quota)):  # fmt: skip
            if id in self._shown:
                self._set(id, self._shown[id], draw, force=True)

    def _render_top(self, row: Row) -> list[Text]:
        sym, name, net = row
        return [
            Text(hk_code(sym), style=self.tone("muted")),
            Text(printable(name or sym)),  # feed text: a Text, never markup
            Text(figure(net), style=self.tone(fmt.direction(net)), justify="right"),
            Text(""),
        ]

    def _render_leader(self, row: Row) -> list[Text]:
        sym, name, net, days, streak_net = row
        return [
            Text(hk_code(sym), style=self.tone("muted")),
            Text(printable(name or sym)),
            Text(figure(net), style=self.tone(fmt.direction(net)), justify="right"),
            # Consecutive sessions net bought, up to the last one, and what they added up to.
            Text.assemble((f"{days}d", self.tone("up")), f" {figure(streak_net, sign=False)}", justify="right")
            if days else Text(fmt.DASH, style=self.tone("muted"), justify="right"),
            Text(""),
        ]  # fmt: skip
