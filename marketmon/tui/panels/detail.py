"""The detail pane: one instrument's intraday chart, its order book and figures.

The y axis is centred on the previous close (how A-share charts are read:
above is up, below is down) and stretches to take in the limit prices when
they are close enough to matter. Prices are on the left axis, percent of the
previous close on the right, where limit-up/limit-down, the previous close and
the day's high and low are labelled too. The yellow line is the average price
(turnover / volume). Beside the chart: five levels of ask and bid where the
feed sends them, then amplitude, turnover rate and volume ratio (said to be
unknown where the feed sends no free float or 5-day volume). In the opening
call auction the header shows the indicative price and matched volume.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from marketmon.feed.safe_text import fit, printable
from marketmon.store.book import levels
from marketmon.store.state import Bar, Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets import chart

LABEL_W = 12  # right-hand axis labels: " LU 1,622.40", or the percent axis " +3.45%"
PRICE_W = 9  # left-hand price axis: "1,622.40 "
SIDE_W = 25  # the book and figures beside the chart: "Ask5  1,502.85    12.3K"
SIDE_MIN = 70  # narrower than this, the chart takes the whole width
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
        self._phase: str | None = None  # the instrument's market phase (call_auction: indicative prices)

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
        phase = store.phases.get(chart.market_of(self.symbol or ""))
        state = (self.symbol, q and (q["last"], q["volume"], q["iopv"], q["limit_state"], q["name"], q["bid"],
                 q["ask"], q["bid_size"], q["ask_size"], q["bids"], q["asks"]),
                 len(bars), last and (last.close, last.volume), minute, phase, fmt.UNITS["units"])  # fmt: skip
        if state != self._state:
            self._state, self._quote, self._bars, self._now = state, q, list(bars), store.clock
            self._phase = phase
            self.refresh()

    # drawing -----------------------------------------------------------------

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        q = self._quote
        if q is None:
            hint = "Select an instrument: ↑/↓ or j/k in a watchlist, Enter to enlarge"
            return Text(hint if self.symbol is None else f"{self.symbol}: no data yet", self.tone("muted"))
        lines = [self._header(q)]
        side = width >= SIDE_MIN and height >= 6
        chart_w = width - SIDE_W - 1 if side else width
        plot_w = chart_w - LABEL_W - PRICE_W
        body: list[Text] = []
        if height >= 6 and plot_w >= 12:
            volume_rows = max(1, min(4, height // 6))
            price_rows = height - 1 - volume_rows - 1
            body += self._price(q, plot_w, price_rows)
            body += self._volume(q, plot_w, volume_rows)
            body.append(Text(" " * PRICE_W) + self._time_axis(plot_w))
        if side:
            column = self._side(q, height - 1)
            body += [Text() for _ in range(len(column) - len(body))]
            for i, extra in enumerate(column):
                body[i] = body[i][:chart_w]
                body[i].pad_right(chart_w - body[i].cell_len)
                body[i].append(" ")
                body[i].append_text(extra)
        lines += body
        for line in lines:  # by cells, not characters: 万/亿/手 and Chinese names take two
            line.truncate(width)
        return Text("\n").join(lines)

    def _header(self, q: dict[str, Any]) -> Text:
        tick, tone = q["tick"], self.tone(fmt.direction(q["change"]))
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{q['symbol']} ", self.tone("muted"))
        t.append(printable(q["name"], 40), self.tone("title"))
        indicative = self._indicative(q)
        if indicative is not None:
            price, matched = indicative
            pct = (price - q["prev_close"]) / q["prev_close"] * 100 if q["prev_close"] else None
            t.append("  Indicative ", self.tone("label"))
            t.append(f"{fmt.price(price, tick)} {fmt.pct(pct)}", self.tone(fmt.direction(pct)))
            t.append(" matched ", self.tone("label"))
            t.append(fmt.volume(matched, q["symbol"], q["kind"]))
        else:
            t.append(f"  {fmt.price(q['last'], tick)} {fmt.change(q['change'], tick)} {fmt.pct(q['pct'])}", tone)
        if q["limit_state"]:
            t.append("  ")
            t.append(" LIMIT UP " if q["limit_state"] == "up" else " LIMIT DOWN ", self.tone(f"limit-{q['limit_state']}"))
        # (part, rank): a narrow chart drops whole parts, highest rank first, never half a figure.
        amount = fmt.money(q["turnover"]) + (" HKD" if q["currency"] == "HKD" else "")
        parts: list[tuple[Text, int]] = [
            (Text.assemble(("  Vol ", self.tone("label")), fmt.volume(q["volume"], q["symbol"], q["kind"])), 3),
            (Text.assemble(("  Amt ", self.tone("label")), amount), 2),
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

        canvas, average = chart.Braille(plot_w, rows), chart.Braille(plot_w, rows)
        cols = chart.columns(self._bars, plot_w * 2, market, self._now)
        if q["kind"] != "index":  # an index's volume and turnover are not of one instrument
            prev_avg = None
            for x, bar in enumerate(cols):
                if bar is None or not bar.volume or not bar.turnover:
                    continue
                y = y_of(bar.turnover / bar.volume)
                if prev_avg is None:
                    average.dot(x, y)
                else:
                    average.line(x - 1, prev_avg, x, y)
                prev_avg = y
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
                 (q["high"], "H", "up"), (q["low"], "L", "down")]  # fmt: skip  (the base: on both axes)
        for price, name, tone in marks:
            if price is None or not bottom <= price <= top:
                continue
            row = y_of(price) // 4
            if name in ("LU", "LD"):
                guides[row] = ("─", tone)
            labels.setdefault(row, (f" {name} {fmt.price(price, tick)}".rstrip(), tone))
        axis = {0: top, rows - 1: bottom, y_of(base) // 4: base}
        if rows >= 9:
            axis |= {(rows - 1) // 4: top - (top - bottom) / 4, 3 * (rows - 1) // 4: bottom + (top - bottom) / 4}
        lines = []
        for r in range(rows):
            line = Text(no_wrap=True)
            price = axis.get(r)
            tick_tone = "muted" if price is None else chart.tone_of(price, base)
            line.append(f"{fmt.price(price, tick):>{PRICE_W - 1}} "[-PRICE_W:] if price is not None else " " * PRICE_W,
                        self.tone(tick_tone))  # fmt: skip
            guide = guides.get(r)
            for c in range(plot_w):
                ch = canvas.char(c, r)
                if ch is not None:
                    line.append(ch, self.tone(col_tone[c]))
                elif (ch := average.char(c, r)) is not None:
                    line.append(ch, self.tone("avg"))
                elif guide is not None:
                    line.append(guide[0], self.tone(guide[1]))
                else:
                    line.append(" ")
            label = labels.get(r)
            if label:
                line.append(label[0][:LABEL_W], self.tone(label[1]))
            elif price is not None and base:  # the percent axis, where no mark is labelled
                line.append(f" {fmt.pct((price - base) / base * 100)}", self.tone(tick_tone))
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
            line = Text(" " * PRICE_W, no_wrap=True)
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

    # the book and the figures ----------------------------------------------------

    def _indicative(self, q: dict[str, Any]) -> tuple[float, int] | None:
        """(price, matched volume) during an opening call auction, from a feed that sends
        the indicative match as bid = ask (docs/protocol.md); None otherwise."""
        if self._phase != "call_auction" or q["last"] or not q["bid"] or q["bid"] != q["ask"]:
            return None
        return q["bid"], q["bid_size"] or 0

    def _side(self, q: dict[str, Any], rows: int) -> list[Text]:
        """Ask 5..1, bid 1..5, then the figures, as many as fit in `rows`."""
        figures = self._figures(q)
        key = min(len(figures), 4)  # average price, amplitude, turnover rate, volume ratio: before depth
        book = self._book(q, max(0, min(5, (rows - key) // 2)))
        return (book + figures)[:rows]

    def _book(self, q: dict[str, Any], depth: int) -> list[Text]:
        if q["kind"] == "index" or depth == 0:
            return []
        tick, base = q["tick"], q["prev_close"]
        bid, ask = q["bid"], q["ask"]
        # The best level from bid/ask (they move on every quote), the deeper ones from the
        # feed's levels beyond it (a source may send those less often).
        bids = ([(bid, q["bid_size"] or 0)] if bid else []) + [lv for lv in levels(q["bids"]) if bid and lv[0] < bid]
        asks = ([(ask, q["ask_size"] or 0)] if ask else []) + [lv for lv in levels(q["asks"]) if ask and lv[0] > ask]
        if self._indicative(q) is not None:
            bids, asks = bids[:1], asks[:1]  # an auction shows the match, not a book
        out = []
        for label, side, n in [("Ask", asks, i) for i in range(depth, 0, -1)] + [("Bid", bids, i) for i in range(1, depth + 1)]:
            line = Text(f"{label}{n}", self.tone("label"), no_wrap=True)
            if n <= len(side):
                price, size = side[n - 1]
                line.append(f" {fmt.price(price, tick):>10}", self.tone(chart.tone_of(price, base)))
                # By cells (万 takes two): "Ask5" + 1 + 10 + 1 + 9 fills SIDE_W exactly.
                line.append(" " + fit(fmt.volume(size, q["symbol"], q["kind"], compact=True), 9, right=True))
            else:
                line.append(f" {fmt.DASH:>10}", self.tone("muted"))
            out.append(line)
        if q["bids"] is None and q["asks"] is None and out:
            out.append(Text("best level only: no book", self.tone("muted")))
        return out

    def _figures(self, q: dict[str, Any]) -> list[Text]:
        tick, base = q["tick"], q["prev_close"]
        out = []

        def figure(label: str, value: str, tone: str | None = None) -> None:
            line = Text(f"{label:<11}", self.tone("label"), no_wrap=True)
            line.append(f"{value:>13}", self.tone(tone) if tone else "")
            out.append(line)

        if q["kind"] != "index" and q["volume"] and q["turnover"]:
            avg = q["turnover"] / q["volume"]
            figure("Avg price", fmt.price(avg, tick), "avg")
        if q["high"] is not None and q["low"] is not None and base:
            figure("Amplitude", f"{(q['high'] - q['low']) / base * 100:.2f}%")
        if q["kind"] != "index":
            rate = q["volume"] / q["float_shares"] * 100 if q["float_shares"] and q["volume"] is not None else None
            figure("Turnover", f"{rate:.2f}%" if rate is not None else "no float", None if rate is not None else "muted")
            ratio = self._volume_ratio(q)
            figure("Vol ratio", f"{ratio:.2f}" if ratio is not None else "no 5d vol", None if ratio is not None else "muted")
        figure("Open", fmt.price(q["open"], tick), chart.tone_of(q["open"], base) if q["open"] else None)
        figure("Prev close", fmt.price(base, tick))
        return out

    def _volume_ratio(self, q: dict[str, Any]) -> float | None:
        """量比: volume per minute traded so far over the 5-day average per minute."""
        if not q["avg_volume_5d"] or q["volume"] is None or self._now is None:
            return None
        market = chart.market_of(q["symbol"])
        minutes = chart.session_offset(self._now // 60000, market)
        if minutes <= 0:
            return None
        return (q["volume"] / minutes) / (q["avg_volume_5d"] / chart.session_length(market))
