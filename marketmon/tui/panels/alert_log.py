"""The alert log: every alert, newest first, kept across restarts.

The engine side writes the history (`marketmon.alerts.history`); this panel
only shows it: the tail of the file on mount, then each new alert handed to
`add_alert`. A burst of alerts (the open, a limit storm) is drawn once, after
the burst, not once per alert.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.rules import Alert
from marketmon.feed.safe_text import printable
from marketmon.market.symbols import SymbolError, classify
from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets.live_table import Col, LiveTable, Row

EARLIER = "earlier"  # the row between this run's alerts and the history's (keys are numbers)
RULE_TONES = {"limit_up": "up", "limit_down": "down", "pct_above": "up", "pct_below": "down"}


class AlertLog(palette.Tones, Vertical):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"alert-log--broken", "alert-log--rule"}

    # The log spans the screen: the message, last, takes the room the others leave.
    COLUMNS = (
        Col("time", "time", 11),  # "09-11 14:00" for an older day
        Col("symbol", "symbol", 9), Col("name", "name", 22), Col("rule", "rule", 17),  # "limit_down_broken"
        Col("price", "price", 8, True), Col("message", "message", None),
    )  # fmt: skip

    def __init__(self, history: AlertHistory | None = None, *, max_rows: int = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.max_rows = max_rows
        self.alerts: deque[Alert] = deque(maxlen=max_rows)  # newest first
        self._keys: deque[str] = deque(maxlen=max_rows)  # a unique row key per alert, same order
        self._count = 0
        self.skipped = 0  # history lines that could not be read
        self._pending = False
        self._past = 0

    def on_resize(self, event: events.Resize) -> None:
        # Narrow: the message (which names the instrument) gets the name's room, then the rule's.
        width = event.size.width
        self.table.hide_columns(("name", "rule") if width < 100 else ("name",) if width < 120 else ())

    def compose(self) -> ComposeResult:
        yield Static(id="alert-head", classes="panel-head")
        yield LiveTable(self.COLUMNS, self._render_row, id="alert-table")

    @property
    def table(self) -> LiveTable:
        return self.query_one("#alert-table", LiveTable)

    def on_mount(self) -> None:
        if self.history is not None:
            # tail() reads only the end of the file, so a long history mounts as fast as a short one.
            past = self.history.tail(self.max_rows)
            self.skipped = self.history.skipped
            self._push(past)
            self._past = self._count  # keys 1.._past: alerts of earlier runs, kept apart from this run's
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self._draw()

    def add_alert(self, alert: Alert) -> None:
        self.add_alerts((alert,))

    def add_alerts(self, alerts: Iterable[Alert]) -> None:
        self._push(alerts)
        if self.is_mounted and not self._pending:  # before mount, on_mount draws them all
            self._pending = True
            self.call_after_refresh(self._draw)

    def _push(self, alerts: Iterable[Alert]) -> None:
        """Oldest first in, so the newest ends up first."""
        for alert in alerts:
            self._count += 1
            self.alerts.appendleft(alert)
            self._keys.appendleft(str(self._count))

    def refresh_from(self, store: Store) -> None:
        """Alerts arrive through add_alert; nothing here follows the store."""

    def _draw(self) -> None:
        self._pending = False
        now: list[Row] = []
        before: list[Row] = []
        newest_day = _day(self.alerts[0].ts) if self.alerts else None
        for key, a in zip(self._keys, self.alerts):
            earlier = int(key) <= self._past
            dated = earlier or _day(a.ts) != newest_day  # an earlier run's, or another day's: with its date
            (before if earlier else now).append((key, a.ts, a.symbol, a.name, a.rule, a.price, a.pct, a.message, dated))
        rows = now + ([(EARLIER, None, "", "", "", None, None, "", False)] if now and before else []) + before
        head = Text.assemble(("Alerts ", self.tone("label")))
        if now:
            head.append(f"{_day(self.alerts[0].ts):%Y-%m-%d} ", self.tone("title"))
        head.append(f"{len(now)} this run, newest first", self.tone("muted"))
        if before:
            head.append(f" · {len(before)} of earlier runs below", self.tone("muted"))
        if self.skipped:
            head.append(f" · {self.skipped} unreadable history line(s) skipped", self.tone("bad"))
        self.query_one("#alert-head", Static).update(head, layout=False)  # one line: no layout pass
        self.table.sync(rows)

    def _render_row(self, row: Row) -> list[Text]:
        if row[0] == EARLIER:
            muted = self.tone("muted")
            return [Text("─" * 11, muted), Text("─" * 9, muted), Text("─" * 22, muted), Text("─" * 17, muted),
                    Text("─" * 8, muted), Text("earlier runs (the alert history) ──────────", muted)]  # fmt: skip
        _, ts, symbol, name, rule, price, pct, message, older = row
        if rule.endswith("_broken"):
            rule_style = self.get_component_rich_style("alert-log--broken", partial=True)
        elif rule in RULE_TONES:
            rule_style = self.tone(RULE_TONES[rule])
        else:
            rule_style = self.get_component_rich_style("alert-log--rule", partial=True)
        when = fmt.clock(ts) if not older else _local(ts).strftime("%m-%d %H:%M")
        return [
            Text(when, style=self.tone("muted")),
            Text(printable(symbol)),  # everything from the feed or the file is a Text, never markup
            Text(printable(name)),
            Text(rule, style=rule_style + Style(bold=rule.startswith("limit"))),
            Text(fmt.price(price, _tick(symbol)), style=self.tone(fmt.direction(pct)), justify="right"),
            Text(printable(message)),
        ]


def _local(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts / 1000, fmt.MARKET_TZ)


def _day(ts: int) -> dt.date:
    return _local(ts).date()


def _tick(symbol: str) -> float:
    """Price decimals follow the instrument: A-share funds quote in 0.001."""
    try:
        inst = classify(symbol)
    except SymbolError:
        return 0.01
    return 0.001 if inst.kind in ("etf", "fund") and inst.exchange != "HK" else 0.01
