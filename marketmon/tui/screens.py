"""The help screen and the command palette provider."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from marketmon.tui import keys

if TYPE_CHECKING:
    from marketmon.tui.app import MarketmonApp


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


class MarketmonCommands(Provider):
    """Every action of the monitor, plus one entry per theme, watchlist and panel."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: MarketmonApp = self.app  # type: ignore[assignment]
        run = app.run_action
        out: list[tuple[str, Callable[[], object], str]] = []
        for k in keys.KEYS:
            if k.palette and k.action:
                out.append((k.description.split(":")[0].split(" (")[0], partial(run, k.action), k.description))
        for name, title, _key, _short in keys.VIEWS:
            out.append((f"Show: {title}", partial(run, f"view('{name}')"), f"Show the {title} panel"))
        for n, title in enumerate(app.list_titles(), 1):
            out.append((f"Watchlist: {title}", partial(run, f"list({n})"), f"Switch to watchlist {n}"))
        for name in sorted(app.own_themes):
            out.append((f"Theme: {name}", partial(app.set_theme, name), "Switch theme (kept across restarts)"))
        for column in app.sort_columns():
            out.append((f"Sort by: {column}", partial(app.sort_by_label, column), "Sort the watchlist"))
        return out

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
