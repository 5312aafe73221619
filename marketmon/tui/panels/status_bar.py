"""The status bar: feed state, trade date, market phases, market clock, message
rate; and what the trader must know is uncertain: instruments of an unknown
kind (kept, board "other", no computed limits), a year with no holiday calendar,
an alert sink (DingTalk, Slack ...) whose last delivery failed.

The clock is market time: the app passes the replay's clock on the demo
(it moves through the quiet 09:25-09:30 and the lunch break, and stands
still when held) and, on a live feed of today, the wall clock in market
time; otherwise the newest message's time (store.clock).
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
        self, store: Store | None, feed_state: str, messages: int, now: float | None = None, failing: Sequence[str] = (),
        clock: int | None = None,
    ) -> None:
        """Called on every refresh tick; redraws only when something shown changed.
        `clock`: the market time to show (it moves while no quote comes); default the store's."""
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
            (clock if clock is not None else store.clock) // 1000 if store and (clock or store.clock) else None,
            round(rate),
            store.unclassified if store else 0,
            store.source if store and store.source and store.source.state == "down" else None,
            (store.source.name, store.source.detail) if store and store.source and store.source.state == "up" else None,
            missing_years(store.trade_date) if store and store.trade_date else (),
            tuple(failing),
        )
        if state != self._state:
            self._state = state
            self.refresh()

    def render(self) -> Text:
        feed, trade_date, phases, clock, rate, unclassified, source_down, source_up, no_calendar, failing = (
            self._state or ("connecting", None, (), None, 0, 0, None, None, (), ()))
        width = self.size.width or 10**6  # unsized (not laid out yet): everything
        narrow = width < 100
        sep = " │ " if narrow else "  │  "
        # (text, rank): when the line is too long, the highest ranks go first, whole,
        # so nothing ends cut in the middle ("│ 20"); warnings are never dropped.
        parts: list[tuple[Text, int]] = []
        head = Text()
        if self.demo:
            speed = f" {self.speed:g}×" if self.speed else ""
            head.append(f" DEMO{speed} ", self.tone("demo"))
            head.append(" ")
        label, tone = FEED_LABELS.get(feed, (feed, "muted"))
        if source_down is not None and feed in ("connected", "live", "resync", "stale"):
            # The bridge is reachable but its public source is not: say so, never "live".
            label, tone = f"✕ {source_down.name} down", "bad"
        head.append(label, self.tone(tone))
        if source_up is not None and feed in ("connected", "live", "resync"):
            head.append(f" {source_up[0]}", self.tone("muted"))  # which public source is live (after a failover too)
        parts.append((head, 0))
        parts.append((Text(fmt.clock(clock * 1000 if clock is not None else None), self.tone("title")), 0))
        for market, phase in phases:
            parts.append((Text.assemble((f"{market} ", self.tone("label")),
                                        (PHASE_LABELS.get(phase, phase), self.tone("ok" if phase == "continuous" else "muted"))),
                          1))  # fmt: skip
        day = trade_date.strftime("%Y-%m-%d %a") if trade_date else "----------"
        parts.append((Text(day if not narrow else day[:10], self.tone("title")), 2))
        parts.append((Text(f"{rate} msg/s", self.tone("muted")), 3))
        if source_up is not None and source_up[1] and feed in ("connected", "live", "resync"):
            # Why it took over, and how much of the market has a quote yet (a first pass takes minutes).
            parts.append((Text(printable(source_up[1]), self.tone("muted")), 3))
        if unclassified:
            parts.append((Text(f"{unclassified} unclassified", self.tone("bad")), 0))
        if source_down is not None and source_down.detail:
            parts.append((Text(printable(source_down.detail), self.tone("bad")), 0))
        for market in no_calendar:
            parts.append((Text(f"no {trade_date.year} {market} calendar: holidays unknown", self.tone("bad")), 0))
        if failing:
            parts.append((Text(f"✕ alert sink failing: {', '.join(failing)}", self.tone("bad")), 0))
        for rank in (3, 2, 1):
            if sum(t.cell_len for t, _ in parts) + len(sep) * (len(parts) - 1) <= width:
                break
            parts = [(t, r) for t, r in parts if r < rank]
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (part, _rank) in enumerate(parts):
            if i:
                text.append(sep, self.tone("muted"))
            text.append_text(part)
        return text
