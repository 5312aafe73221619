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
        # The help line under a title says what the title does not: the key, and the
        # rest of the description ("Help: every key" -> "Help", "key ? · every key").
        for k in keys.KEYS:
            if k.palette and k.action:
                title, rest = _split(k.description)
                out.append((title, partial(run, k.action), " · ".join((f"key {k.shown}", *rest))))
        for name, title, key, _short in keys.VIEWS:
            out.append((f"Show: {title}", partial(run, f"view('{name}')"), f"key {key} · again or Esc: every panel"))
        for n, title in enumerate(app.list_titles(), 1):
            out.append((f"Watchlist: {title}", partial(run, f"list({n})"), f"key {n}" if n <= 9 else f"tab {n}"))
        for name in sorted(app.own_themes):
            out.append((f"Theme: {name}", partial(app.set_theme, name), "kept across restarts · key t: the next one"))
        for column in app.sort_columns():
            out.append((f"Sort by: {column}", partial(app.sort_by_label, column), "key s: the next column · r reverses"))
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


def _split(description: str) -> tuple[str, tuple[str, ...]]:
    """("Help: every key") -> ("Help", ("every key",)); "Add ... (search by code or name)" likewise."""
    title, _, rest = description.partition(": ")
    if not rest and " (" in title:
        title = title.partition(" (")[0]
        rest = description[len(title) :].strip()
        if rest.startswith("(") and rest.endswith(")") and rest.count("(") == 1:
            rest = rest[1:-1]
    return title, (rest,) if rest else ()
