"""The status bar: feed state, trade date, market phases, market clock, message
rate; and what the trader must know is uncertain: instruments of an unknown
kind (kept, board "other", no computed limits), a year with no holiday calendar,
an alert sink (DingTalk, Slack ...) whose last delivery failed.

The clock is the feed's market time (store.clock), never the wall clock, so
a replay shows the replayed moment and a held demo shows a fixed one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from marketmon.feed.safe_text import printable
from marketmon.market.calendars import missing_years
from marketmon.store.state import Store
from marketmon.tui import fmt, palette

PHASE_LABELS = {
    "pre_open": "pre-open", "call_auction": "auction", "continuous": "trading",
    "lunch_break": "lunch", "closing_auction": "closing auction", "closed": "closed",
}  # fmt: skip
# Feed state -> (label, tone). "live" and "connected" mean the same to a trader.
FEED_LABELS = {
    "connecting": ("◌ connecting", "muted"),
    "connected": ("● live", "ok"),
    "live": ("● live", "ok"),
    "resync": ("● resync", "ok"),
    "disconnected": ("○ disconnected", "bad"),
    "reconnecting": ("○ reconnecting", "bad"),
    "stale": ("◐ stale", "bad"),
    "eof": ("■ feed ended", "muted"),
    "unreachable": ("✕ unreachable", "bad"),
}
RATE_WINDOW_S = 2.0


class StatusBar(palette.Tones, Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES
    DEFAULT_CSS = "StatusBar { height: 1; }"

    def __init__(self, *, demo: bool, speed: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.demo, self.speed = demo, speed
        self.feed_state = "connecting"
        self._state: tuple = ()
        self._samples: deque[tuple[float, int]] = deque()

    def update_from(
        self, store: Store | None, feed_state: str, messages: int, now: float | None = None, failing: Sequence[str] = ()
    ) -> None:
        """Called on every refresh tick; redraws only when something shown changed."""
        now = time.monotonic() if now is None else now
        self._samples.append((now, messages))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_S:
            self._samples.popleft()
        t0, m0 = self._samples[0]
        rate = (messages - m0) / (now - t0) if now - t0 > 0.5 else 0.0
        stale = store is not None and store.stale and feed_state in ("connected", "live")
        state = (
            "stale" if stale else feed_state,
            store.trade_date if store else None,
            tuple(sorted(store.phases.items())) if store else (),
            store.clock // 1000 if store and store.clock else None,
            round(rate),
            store.unclassified if store else 0,
            store.source if store and store.source and store.source.state == "down" else None,
            store.source.name if store and store.source and store.source.state == "up" else None,
            missing_years(store.trade_date) if store and store.trade_date else (),
            tuple(failing),
        )
        if state != self._state:
            self._state = state
            self.refresh()

    def render(self) -> Text:
        feed, trade_date, phases, clock, rate, unclassified, source_down, source_up, no_calendar, failing = (
            self._state or ("connecting", None, (), None, 0, 0, None, None, (), ()))
        narrow = self.size.width < 100
        sep = " │ " if narrow else "  │  "
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.demo:
            speed = f" {self.speed:g}×" if self.speed else ""
            text.append(f" DEMO{speed} ", self.tone("demo"))
            text.append(" ")
        label, tone = FEED_LABELS.get(feed, (feed, "muted"))
        if source_down is not None and feed in ("connected", "live", "resync", "stale"):
            # The bridge is reachable but its public source is not: say so, never "live".
            label, tone = f"✕ {source_down.name} down", "bad"
        text.append(label, self.tone(tone))
        if source_up is not None and feed in ("connected", "live", "resync"):
            text.append(f" {source_up}", self.tone("muted"))  # which public source is live (after a failover too)
        # Most wanted first: a narrow terminal cuts from the right.
        text.append(sep, self.tone("muted"))
        text.append(fmt.clock(clock * 1000 if clock is not None else None), self.tone("title"))
        for market, phase in phases:
            text.append(sep, self.tone("muted"))
            text.append(f"{market} ", self.tone("label"))
            text.append(PHASE_LABELS.get(phase, phase), self.tone("ok" if phase == "continuous" else "muted"))
        text.append(sep, self.tone("muted"))
        text.append(trade_date.strftime("%Y-%m-%d %a") if trade_date else "----------", self.tone("title"))
        text.append(sep, self.tone("muted"))
        text.append(f"{rate} msg/s", self.tone("muted"))
        if unclassified:
            text.append(sep, self.tone("muted"))
            text.append(f"{unclassified} unclassified", self.tone("bad"))
        if source_down is not None and source_down.detail:
            text.append(sep, self.tone("muted"))
            text.append(printable(source_down.detail), self.tone("bad"))
        for market in no_calendar:
            text.append(sep, self.tone("muted"))
            text.append(f"no {trade_date.year} {market} calendar: holidays unknown", self.tone("bad"))
        if failing:
            text.append(sep, self.tone("muted"))
            text.append(f"✕ alert sink failing: {', '.join(failing)}", self.tone("bad"))
        return text
