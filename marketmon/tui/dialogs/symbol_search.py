"""Find an instrument by code, name or pinyin, to add it to a watchlist.

Names and codes come from the feed: shown as `Text`, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from marketmon.feed.safe_text import printable
from marketmon.market.search import Instrument, search

__all__ = ["Instrument", "SymbolSearch", "search"]

class SymbolSearch(ModalScreen[str | None]):
    """Type a code (any form: 688521, sh688521, 700.hk), part of a name, or pinyin (gzmt, maotai)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("down", "down", show=False),
                Binding("up", "up", show=False)]  # fmt: skip

    def __init__(self, title: str, instruments: Sequence[Instrument]) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.instruments = title, list(instruments)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(placeholder="code, name or pinyin: 688521, VeriSilicon, 中芯, gzmt", id="search-query")
            yield OptionList(id="search-hits")
            yield Static(Text("Enter adds the highlighted one. Esc cancels."), id="search-note", classes="dialog-note")

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed, "#search-query")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        hits = search(self.instruments, query)
        box = self.query_one("#search-hits", OptionList)
        box.clear_options()
        box.add_options(Option(self._line(h), id=h.symbol) for h in hits)
        if hits:
            box.highlighted = 0
        note = "Enter adds the highlighted one. Esc cancels."
        if query.strip() and not hits:
            note = f"No instrument matches {query.strip()!r}: type a code such as 600519 or 700.hk, part of a name, or its pinyin initials (gzmt)."
        self.query_one("#search-note", Static).update(Text(note))

    @staticmethod
    def _line(inst: Instrument) -> Text:
        line = Text(f"{inst.symbol:<11}")
        line.append(printable(inst.name) if inst.name else "not in the feed now", style="" if inst.name else "dim")
        if inst.name_en and inst.name_en != inst.name:
            line.append(f"  {printable(inst.name_en)}", style="dim")
        return line

    def action_down(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_up()

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        box = self.query_one("#search-hits", OptionList)
        if box.highlighted is not None:
            self.dismiss(box.get_option_at_index(box.highlighted).id)

    @on(OptionList.OptionSelected, "#search-hits")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
