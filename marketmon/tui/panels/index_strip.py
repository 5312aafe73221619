"""The index strip: the seven headline indices and the day's A-share turnover.

Three lines per index when there is room (name and last; change and pct; an
intraday sparkline), one ticker line when the terminal is small.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from marketmon.store.state import Store
from marketmon.tui import fmt, palette
from marketmon.tui.widgets import chart

# Our own short labels: the feed's names are longer than a strip cell.
INDICES = (
    ("000001.SH", "SSE"),
    ("399001.SZ", "SZSE"),
    ("399006.SZ", "ChiNext"),
    ("000688.SH", "STAR 50"),
    ("000300.SH", "CSI 300"),
    ("HSI.HK", "HSI"),
    ("HSTECH.HK", "HS TECH"),
)
DIM = Style(dim=True)
# Shown only while a source sends it (East Money), under the turnover: the Hang Seng
# China AH premium index (A over H of the pairs; 100 = parity).
WHEN_SENT = (("HSAHP.HK", "AH prem"),)


class IndexStrip(palette.Tones, Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES
    DEFAULT_CSS = "IndexStrip { height: 3; } IndexStrip.-ticker { height: 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._quotes: dict[str, dict] = {}
        self._bars: dict[str, list] = {}
        self._turnover: float | None = None
        self._now: int | None = None
        self._state: tuple = ()
        self.dimmed = False  # the feed is down or silent: the figures are old, drawn faint

    def set_dimmed(self, dimmed: bool) -> None:
        if dimmed != self.dimmed:
            self.dimmed = dimmed
            self.refresh()

    def refresh_from(self, store: Store) -> None:
        quotes, state = {}, []
        for symbol, _ in (*INDICES, *WHEN_SENT):
            q = store.quote(symbol)
            if q is not None:
                quotes[symbol] = q
            bars = store.history.get(symbol, [])
            self._bars[symbol] = bars
            last_bar = bars[-1] if bars else None
            state.append((q and (q["last"], q["pct"]), len(bars), last_bar and last_bar.close))
        turnover = store.a_share_turnover()
        minute = store.clock // 60000 if store.clock else None
        state += [turnover, minute, fmt.UNITS["units"]]  # key U: the turnover in 亿/万亿 or B/T
        self._now = store.clock
        if tuple(state) != self._state:
            self._state, self._quotes, self._turnover = tuple(state), quotes, turnover
            self.refresh()

    def render(self) -> Text:
        text = self._ticker() if self.has_class("-ticker") else self._strip()
        if self.dimmed:
            text.stylize(DIM)  # as the watchlist's rows: colours kept, faint
        return text

    def _strip(self) -> Text:
        width = self.size.width
        cell = max(12, width // (len(INDICES) + 1))
        lines = [Text(no_wrap=True, overflow="crop") for _ in range(3)]
        for symbol, label in INDICES:
            q = self._quotes.get(symbol, {})
            tick, tone = q.get("tick"), fmt.direction(q.get("change"))
            last = fmt.price(q.get("last"), tick)
            lines[0].append(f" {label:<{cell - len(last) - 3}}", self.tone("label"))
            lines[0].append(f"{last} ", self.tone(tone))
            change, pct = fmt.change(q.get("change"), tick), fmt.pct(q.get("pct"))
            lines[1].append(f" {change:<{cell - len(pct) - 3}}{pct} ", self.tone(tone))
            lines[2].append(" ")
            market = chart.market_of(symbol)
            for ch, t in chart.sparkline(self._bars.get(symbol, []), cell - 3, market, q.get("prev_close"), self._now):
                lines[2].append(ch, self.tone(t))
            lines[2].append(" ")
            for line in lines:
                line.append("│", self.tone("muted"))
        lines[0].append(" A-share turnover", self.tone("label"))
        lines[1].append(f" {fmt.money(self._turnover)} CNY", self.tone("title"))
        for symbol, label in WHEN_SENT:  # under the turnover, where the sparkline row has room
            q = self._quotes.get(symbol)
            if q is not None:
                lines[2].append(f" {label} ", self.tone("label"))
                lines[2].append(fmt.price(q.get("last"), q.get("tick")), self.tone(fmt.direction(q.get("change"))))
        return Text("\n").join(lines)

    def _ticker(self) -> Text:
        """One line, entries whole (never a label cut from its figures). When the
        full entries do not all fit, each gives its % change only, and the least
        wanted (SZSE, CSI 300, STAR 50) go first: HSI, HS TECH and the turnover stay."""
        width = self.size.width or 10**6  # unsized (not laid out yet): everything
        full = self._ticker_items(compact=False)
        if _line_len(full.values()) <= width:
            return _join(full.values())
        items = self._ticker_items(compact=True)
        for symbol in TICKER_DROP_ORDER:
            if _line_len(items.values()) <= width:
                break
            items.pop(symbol, None)
        return _join(items.values())

    def _shown(self) -> tuple[tuple[str, str], ...]:
        return (*INDICES, *((s, label) for s, label in WHEN_SENT if s in self._quotes))

    def _ticker_items(self, compact: bool) -> dict[str, Text]:
        items: dict[str, Text] = {}
        for symbol, label in self._shown():
            q = self._quotes.get(symbol, {})
            tone = fmt.direction(q.get("change"))
            pct = fmt.pct(q.get("pct"))
            figures = pct if compact else f"{fmt.price(q.get('last'), q.get('tick'))} {pct}"
            items[symbol] = Text.assemble((f"{label} ", self.tone("label")), (figures, self.tone(tone)))
        items["turnover"] = Text.assemble(("A-shares " if not compact else "A ", self.tone("label")),
                                          (fmt.money(self._turnover, compact=True), self.tone("title")))  # fmt: skip
        return items


# A small terminal drops these first: the Hang Seng pair and the turnover tell more.
TICKER_DROP_ORDER = ("HSAHP.HK", "399001.SZ", "000300.SH", "000688.SH", "399006.SZ", "HSTECH.HK", "turnover", "HSI.HK")
GAP = "  "


def _line_len(items: Iterable[Text]) -> int:
    items = list(items)
    return sum(t.cell_len for t in items) + len(GAP) * max(0, len(items) - 1)


def _join(items: Iterable[Text]) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    for i, item in enumerate(items):
        if i:
            text.append(GAP)
        text.append_text(item)
    return text
