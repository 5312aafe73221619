"""The small prompts of list editing: pick a list, name a list, confirm.

They only ask; `tui/list_edit.py` writes the files. List titles come from
files: shown as `Text`, never as markup.
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


class ChooseList(ModalScreen[int | None]):
    """Pick one of several lists; returns its index in `titles`."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, titles: Sequence[str]) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.titles = title, list(titles)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield OptionList(*(Option(Text(printable(t))) for t in self.titles), id="choose-list")
            yield Static(Text("Enter picks. Esc cancels."), classes="dialog-note")

    @on(OptionList.OptionSelected, "#choose-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)


class AskText(ModalScreen[str | None]):
    """One line of text (a list's name); empty input is refused."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text, self.value, self.placeholder = title, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="ask-text")
            yield Static(Text("Enter saves. Esc cancels."), id="ask-note", classes="dialog-note")

    @on(Input.Submitted, "#ask-text")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.query_one("#ask-note", Static).update(Text("A name is needed (Esc cancels)."))


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y", "dismiss(True)", "Yes"), Binding("n,escape", "dismiss(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.question), classes="dialog-title")
            yield Static(Text("y: yes    n / Esc: no"), classes="dialog-note")


# Thresholds -------------------------------------------------------------------
