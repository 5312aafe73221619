"""The command palette (Ctrl+P): every action by name, plus one entry per
theme, watchlist, panel and sort column."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from marketmon.tui import keys


class CommandHost(Protocol):
    """What the palette asks of the app (MarketmonApp)."""

    own_themes: dict[str, Any]

    def run_action(self, action: str) -> Any: ...
    def list_titles(self) -> list[str]: ...
    def set_theme(self, name: str) -> None: ...
    def sort_columns(self) -> Sequence[str]: ...
    def sort_by_label(self, label: str) -> None: ...


class MarketmonCommands(Provider):
    """Every action of the monitor, plus one entry per theme, watchlist and panel."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: CommandHost = self.app  # type: ignore[assignment]
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
