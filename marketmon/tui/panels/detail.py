"""The detail pane: one instrument's intraday price line and volume bars.

The y axis is centred on the previous close (how A-share charts are read:
above is up, below is down) and stretches to take in the limit prices when
they are close enough to matter. Limit-up/limit-down, the previous close and
the day's high and low are labelled on the right.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from marketmon.feed.safe_text import printable
from marketmon.store.state import Bar, Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets import chart

LABEL_W = 12  # right-hand axis labels: " LU 1,622.40"
TIME_LABELS = {
    "CN": ((0, "09:30"), (60, "10:30"), (120, "11:30/13:00"), (180, "14:00"), (240, "15:00")),
    "HK": ((0, "09:30"), (90, "11:00"), (150, "12:00/13:00"), (270, "15:00"), (340, "16:10")),
}


class Detail(palette.Tones, Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES
    can_focus = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.symbol: str | None = None
        self._quote: dict[str, Any] | None = None
        self._bars: list[Bar] = []
        self._now: int | None = None  # market time: the chart runs to here
        self._state: tuple = ()

    def show(self, symbol: str | None, store: Store | None) -> None:
        if symbol != self.symbol:
            self.symbol = symbol
            self._state = ()
            if store is not None:
                self.refresh_from(store)

    def refresh_from(self, store: Store) -> None:
        q = store.quote(self.symbol) if self.symbol else None
        bars = store.history.get(self.symbol, []) if self.symbol else []
        last = bars[-1] if bars else None
        minute = store.clock // 60000 if store.clock else None
        state = (self.symbol, q and (q["last"], q["volume"], q["iopv"], q["limit_state"], q["name"]),
                 len(bars), last and (last.close, last.volume), minute)  # fmt: skip
        if state != self._state:
            self._state, self._quote, self._bars, self._now = state, q, list(bars), store.clock
            self.refresh()

    # drawing -----------------------------------------------------------------

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        q = self._quote
        if q is None:
            hint = "Select an instrument: ↑/↓ or j/k in a watchlist, Enter to enlarge"
            return Text(hint if self.symbol is None else f"{self.symbol}: no data yet", self.tone("muted"))
        lines = [self._header(q)]
        plot_w = width - LABEL_W
        if height >= 6 and plot_w >= 12:
            volume_rows = max(1, min(4, height // 6))
            price_rows = height - 1 - volume_rows - 1
            lines += self._price(q, plot_w, price_rows)
            lines += self._volume(q, plot_w, volume_rows)
            lines.append(self._time_axis(plot_w))
        return Text("\n").join(line[:width] for line in lines)

    def _header(self, q: dict[str, Any]) -> Text:
        tick, tone = q["tick"], self.tone(fmt.direction(q["change"]))
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{q['symbol']} ", self.tone("muted"))
        t.append(printable(q["name"], 40), self.tone("title"))
        t.append(f"  {fmt.price(q['last'], tick)} {fmt.change(q['change'], tick)} {fmt.pct(q['pct'])}", tone)
        if q["limit_state"]:
            t.append("  ")
            t.append(" LIMIT UP " if q["limit_state"] == "up" else " LIMIT DOWN ", self.tone(f"limit-{q['limit_state']}"))
        # (part, rank): a narrow chart drops whole parts, highest rank first, never half a figure.
        parts: list[tuple[Text, int]] = [
            (Text.assemble(("  Vol ", self.tone("label")), fmt.amount(q["volume"])), 3),
            (Text.assemble(("  Amt ", self.tone("label")), fmt.amount(q["turnover"])), 2),
        ]
        if q["iopv"] is not None:
            parts.append((Text.assemble(("  IOPV ", self.tone("label")), (f"{fmt.price(q['iopv'], tick)} {fmt.pct(q['premium_pct'])}",
                          self.tone(fmt.direction(q["premium_pct"])))), 1))  # fmt: skip
        _, top, bottom = self._range(q)
        if q["limit_up"] is not None and not bottom <= q["limit_up"] <= top:
            # Off the chart: say where the limits are.
            parts.append((Text.assemble(("  LU ", self.tone("label")),
                                        (fmt.price(q["limit_up"], tick), self.tone("limit-up-line")),
                                        (" LD ", self.tone("label")),
                                        (fmt.price(q["limit_down"], tick), self.tone("limit-down-line"))), 1))  # fmt: skip
        width = self.size.width or 10**6
        for rank in (3, 2, 1):
            if t.cell_len + sum(p.cell_len for p, _ in parts) <= width:
                break
            parts = [(p, r) for p, r in parts if r < rank]
        for part, _rank in parts:
            t.append_text(part)
        return t

    def _range(self, q: dict[str, Any]) -> tuple[float, float, float]:
        """(base, top, bottom) of the price axis, centred on the previous close."""
        base = q["prev_close"] or (self._bars[0].open if self._bars else q["last"] or 1.0)
        highs = [b.high for b in self._bars] + [v for v in (q["high"], q["last"]) if v]
        lows = [b.low for b in self._bars] + [v for v in (q["low"], q["last"]) if v]
        span = max(max(highs, default=base) - base, base - min(lows, default=base), base * 0.002) * 1.1
        for limit in (q["limit_up"], q["limit_down"]):
            if limit is not None and abs(limit - base) <= span * 1.4:
                span = max(span, abs(limit - base) * 1.02)  # close enough to show the limit line
        return base, base + span, base - span

    def _price(self, q: dict[str, Any], plot_w: int, rows: int) -> list[Text]:
        market = chart.market_of(q["symbol"])
        base, top, bottom = self._range(q)
        pixels = rows * 4

        def y_of(price: float) -> int:
            return max(0, min(pixels - 1, round((top - price) / (top - bottom) * (pixels - 1))))

        canvas = chart.Braille(plot_w, rows)
        cols = chart.columns(self._bars, plot_w * 2, market, self._now)
        prev_y = None
        col_tone = ["flat"] * plot_w
        for x, bar in enumerate(cols):
            if bar is None:
                continue
            y = y_of(bar.close)
            if prev_y is None:
                canvas.dot(x, y)
            else:
                canvas.line(x - 1, prev_y, x, y)
            prev_y = y
            col_tone[x // 2] = chart.tone_of(bar.close, base)
        guides: dict[int, tuple[str, str]] = {y_of(base) // 4: ("┄", "muted")}
        labels: dict[int, tuple[str, str]] = {}
        tick = q["tick"]
        marks = [(q["limit_up"], "LU", "limit-up-line"), (q["limit_down"], "LD", "limit-down-line"),
                 (q["high"], "H", "up"), (q["low"], "L", "down"), (base, "", "muted")]  # fmt: skip
        for price, name, tone in marks:
            if price is None or not bottom <= price <= top:
                continue
            row = y_of(price) // 4
            if name in ("LU", "LD"):
                guides[row] = ("─", tone)
            labels.setdefault(row, (f" {name} {fmt.price(price, tick)}".rstrip(), tone))
        lines = []
        for r in range(rows):
            line = Text(no_wrap=True)
            guide = guides.get(r)
            for c in range(plot_w):
                ch = canvas.char(c, r)
                if ch is not None:
                    line.append(ch, self.tone(col_tone[c]))
                elif guide is not None:
                    line.append(guide[0], self.tone(guide[1]))
                else:
                    line.append(" ")
            label = labels.get(r)
            if label:
                line.append(label[0][:LABEL_W], self.tone(label[1]))
            lines.append(line)
        return lines

    def _volume(self, q: dict[str, Any], plot_w: int, rows: int) -> list[Text]:
        cols = chart.columns(self._bars, plot_w, chart.market_of(q["symbol"]), self._now)
        per_col: list[int | None] = []
        tones: list[str] = []
        prev_bar: Bar | None = None
        for bar in cols:
            if bar is None or bar is prev_bar:
                per_col.append(None)
                tones.append("flat")
                continue
            before = prev_bar.volume if prev_bar else 0
            per_col.append(max(0, bar.volume - before))
            tones.append(chart.tone_of(bar.close, prev_bar.close if prev_bar else bar.open))
            prev_bar = bar
        grid = chart.volume_blocks(per_col, rows)
        lines = []
        for r, row in enumerate(grid):
            line = Text(no_wrap=True)
            for c, ch in enumerate(row):
                line.append(ch, self.tone(tones[c]))
            if r == 0:
                line.append(" vol/min", self.tone("muted"))
            lines.append(line)
        return lines

    def _time_axis(self, plot_w: int) -> Text:
        market = chart.market_of(self.symbol or "")
        total = chart.session_length(market)
        axis = [" "] * plot_w
        end = -1
        for minute, label in TIME_LABELS[market]:
            start = min(max(0, minute * plot_w // total - len(label) // 2), plot_w - len(label))
            if start <= end:
                continue
            axis[start : start + len(label)] = label
            end = start + len(label)
        return Text("".join(axis), self.tone("muted"), no_wrap=True)
