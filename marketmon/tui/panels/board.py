"""The short-term trader's board: the limit-up ladder (连板天梯) and its limit-down
mirror, market breadth with the change distribution as a bar chart, and the
A/H premium of dual-listed pairs.

A view of its own (`u`), not part of the 160x48 main screen. Everything is
computed by store/ladder.py, store/breadth.py and market/ah_pairs.py from
the store's frame; this panel only lays it out. It reads the whole market,
so it does so at most once a second, and only while on screen.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from marketmon.config.day_record import minute_of, turnover_at
from marketmon.feed.safe_text import fit, printable
from marketmon.market import ah_pairs
from marketmon.store.breadth import BUCKETS, Breadth, breadth
from marketmon.store.ladder import Ladder, Rung, ladder
from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.panels.limit_board import BOARD_LABELS

REFRESH_S = 1.0  # the whole market is read: once a second is plenty for a board that moves by events
BAR_WIDTH = 36  # cells of the longest bar


def seal_text(amount: Decimal | None) -> str:
    """A seal as traders say it: 亿 (1e8) with two decimals, else 万 (1e4)."""
    if amount is None:
        return ""
    if amount >= 100_000_000:
        return f"{(amount / 100_000_000).quantize(Decimal('0.01'))}亿"
    return f"{(amount / 10_000).quantize(Decimal('1'))}万"


class BoardPanel(palette.Tones, VerticalScroll):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"board--broken"}
    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.needs_sync = False
        self._shown_at = 0.0

    def compose(self) -> ComposeResult:
        with Horizontal(id="board-cols"):
            yield Static(id="board-ladder", classes="board-col")
            yield Static(id="board-side", classes="board-col")

    def refresh_from(self, store: Store) -> None:
        now = time.monotonic()
        if now - self._shown_at < REFRESH_S:
            self.needs_sync = True  # the app's tick comes back until a second has passed
            return
        self.needs_sync, self._shown_at = False, now
        frame = store.frame.with_columns(store.shown_name())  # names as the screen shows them (key n)
        up, down = ladder(frame, "up"), ladder(frame, "down")
        previous = None
        if store.previous_turnover and store.clock is not None:
            previous = turnover_at(store.previous_turnover, minute_of(store.clock))
        wide = breadth(frame, store.a_share_turnover(), previous)
        rate = store.quote(ah_pairs.RATE_SYMBOL)
        rate_last = rate["last"] if rate else None
        known = ah_pairs.with_listed(store.listed_pairs())  # the file's, refreshed by a source's list
        symbols = {s for p in known for s in (p.a, p.h)}
        prices = dict(store.rows_of(symbols, ("symbol", "last")).iter_rows())
        pairs = ah_pairs.premiums(prices, rate_last, known)
        self.query_one("#board-ladder", Static).update(self._ladders(up, down))
        self.query_one("#board-side", Static).update(self._side(wide, pairs, rate_last))

    # drawing -------------------------------------------------------------------

    def _ladders(self, up: Ladder, down: Ladder) -> Text:
        muted, bold = self.tone("muted"), Style(bold=True)
        broken = self.get_component_rich_style("board--broken", partial=True)
        t = Text()
        t.append("涨停 ", self.tone("up")).append(str(up.sealed), self.tone("up") + bold)
        t.append("  跌停 ", self.tone("down")).append(str(down.sealed), self.tone("down") + bold)
        t.append("  炸板 ", broken).append(str(up.broken), broken + bold)
        t.append("  炸板率 ", muted).append(_pct(up.broken_rate, signed=False))
        t.append("  涨停溢价 ", muted).append(_pct(up.yesterday_avg_pct), self.tone(_direction(up.yesterday_avg_pct)))
        t.append(f" ({up.yesterday})\n", muted)
        t.append("\n")
        self._ladder(t, up, "连板天梯 limit-up ladder", "连板")
        t.append("\n")
        self._ladder(t, down, "跌停 limit-down", "连跌停")
        return t

    def _ladder(self, t: Text, board: Ladder, title: str, word: str) -> None:
        muted = self.tone("muted")
        t.append(title + "\n", self.tone("title"))
        if not board.rungs:
            t.append("  none today\n", muted)
            return
        t.append(fit("  code", 9) + fit("name", 13) + fit("last", 8, True) + fit("pct", 9, True)
                 + fit("first", 10, True) + fit("last", 10, True) + fit("开", 3, True) + fit("seal 封单", 12, True) + "\n",
                 muted)  # fmt: skip
        for step, rungs in board.steps():
            label = "首板 first board" if step == 1 else f"{step}{word}"
            t.append(f" {label} ({len(rungs)})\n", self.tone(f"limit-{board.side}") if step == board.top_step else self.tone("label"))
            for r in rungs:
                self._rung(t, r, board.side)

    def _rung(self, t: Text, r: Rung, side: str) -> None:
        move = self.tone(fmt.direction(r.pct))
        state = self.tone(side) if r.sealed else self.get_component_rich_style("board--broken", partial=True)
        t.append("  " + fit(r.symbol.split(".")[0], 7))
        t.append(fit(printable(r.name), 13))  # feed text: appended as text, never markup
        t.append(fit(fmt.price(r.last), 8, True), move)
        t.append(fit(fmt.pct(r.pct), 9, True), move)
        t.append(fit(r.first_seal or "", 10, True), self.tone("muted"))
        t.append(fit(r.last_seal or "", 10, True), self.tone("muted"))
        t.append(fit(str(r.opens) if r.opens else "", 3, True), self.get_component_rich_style("board--broken", partial=True))
        t.append(fit(seal_text(r.seal) if r.sealed else "炸板 broken", 12, True), state)
        t.append("\n")

    def _side(self, wide: Breadth, pairs: list[ah_pairs.Premium], rate: float | None) -> Text:
        muted = self.tone("muted")
        t = Text()
        t.append("市场宽度 breadth", self.tone("title")).append("  A-share stocks that traded\n", muted)
        t.append("上涨 ", self.tone("up")).append(str(wide.up), self.tone("up") + Style(bold=True))
        t.append("  下跌 ", self.tone("down")).append(str(wide.down), self.tone("down") + Style(bold=True))
        t.append("  平 ", muted).append(str(wide.flat))
        t.append("  turnover ", muted).append(f"{fmt.money(wide.turnover)} CNY")
        change = wide.turnover_change_pct
        if change is not None:  # 放量 / 缩量 against the day before at this minute
            t.append(f"  {change:+.1f}% ", self.tone(fmt.direction(change)))
            t.append(("放量" if change > 0 else "缩量") + " vs the day before", muted)
        t.append("\n")
        t.append("涨停", self.tone("up")).append("/", muted).append("跌停", self.tone("down"))
        for board, (u, d) in wide.limits.items():
            t.append(f"  {BOARD_LABELS.get(board, board)} ", muted)
            t.append(str(u), self.tone("up")).append("/", muted).append(str(d), self.tone("down"))
        t.append("\n")
        t.append("\n")
        top = max(wide.buckets.values(), default=0) or 1
        for label in BUCKETS:
            n = wide.buckets[label]
            tone = ("limit-up" if label == "limit-up" else "limit-down" if label == "limit-down"
                    else "flat" if label == "0" else "down" if label.startswith(("<", "-")) else "up")  # fmt: skip
            bar = "█" * round(n / top * BAR_WIDTH) if n else ""
            t.append(fit(_bucket_label(label), 10, True) + " ", muted)
            t.append(bar, self.tone("up" if tone == "limit-up" else "down" if tone == "limit-down" else tone))
            t.append(f" {n}\n", self.tone(tone) if tone.startswith("limit") else muted)
        t.append("\n")
        t.append("A/H 溢价 premium", self.tone("title"))
        t.append(f"  HKD/CNY {rate:.4f}\n" if rate else "  HKD/CNY not sent\n", muted)
        t.append(fit("  name", 22) + fit("A", 9, True) + fit("H in CNY", 10, True) + fit("premium", 10, True) + "\n", muted)
        if not pairs:
            t.append("  no pair with both prices and a rate\n", muted)
        for p in pairs:
            t.append("  " + fit(p.pair.a.split(".")[0] + " " + p.pair.name, 20))
            t.append(fit(f"{p.a_price:.2f}", 9, True))
            t.append(fit(f"{p.h_cny:.3f}", 10, True))
            t.append(fit(f"{p.premium_pct:+.2f}%", 10, True), self.tone(_direction(p.premium_pct)))
            t.append("\n")
        return t


def _bucket_label(label: str) -> str:
    return {"limit-up": "涨停", "limit-down": "跌停", "0": "0%"}.get(label, label + "%")


def _pct(value: Decimal | None, signed: bool = True) -> str:
    if value is None:
        return fmt.DASH
    return f"{value:+.2f}%" if signed else f"{value:.2f}%"


def _direction(value: Decimal | None) -> str:
    return "flat" if value is None or value == 0 else "up" if value > 0 else "down"
