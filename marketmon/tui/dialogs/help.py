"""The help screen: every key, from the one key table (`tui/keys.py`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from marketmon.tui import keys


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
        Binding("j", "scroll(1)", show=False),
        Binding("k", "scroll(-1)", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("marketmon keys"), id="help-title")
            table: DataTable = DataTable(cursor_type="none", show_cursor=False, id="help-keys")
            table.add_columns("Key", "What it does")
            for shown, what in keys.help_rows():
                table.add_row(Text(shown), Text(what))
            yield table
            yield Static(Text("Esc, ? or q closes this screen. Ctrl+P finds any action by name."), id="help-foot")

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help-box", VerticalScroll).scroll_relative(y=lines, animate=False)
