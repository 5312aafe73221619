"""Watchlist editing in the app, and live reload of the list files.

Every edit goes through `config/editing.py` (tomlkit: comments and layout
kept; atomic write; re-read and retried when an editor saved in between).
After an edit the app polls the file watcher at once, so an in-app edit and
an editor's save reach the screen by one path, `_list_reloaded`. A bundled
example list is copied to the user's folder on its first edit; from then on
the copy is what the app shows, watches and edits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from textual.widget import Widget

from marketmon.alerts.rules import AlertConfig, RuleSet
from marketmon.alerts.sinks import AlertSinks
from marketmon.config import editing
from marketmon.config.settings import Settings
from marketmon.config.watcher import WatchlistWatcher
from marketmon.config.watchlists import Watchlist, WatchlistError
from marketmon.engine import Engine
from marketmon.store.state import Store
from marketmon.tui.lists import bundled_names
from marketmon.tui.dialogs.prompts import AskText, ChooseList, Confirm
from marketmon.tui.dialogs.symbol_search import Instrument, SymbolSearch
from marketmon.tui.dialogs.thresholds import Thresholds
from marketmon.tui.panels.watchlist import WatchlistPanel, WatchTable

T = TypeVar("T")


class ListEditing:
    """The editing actions of MarketmonApp (a mixin: `self` is the app).

    The app's parts these actions use are declared here, so this module needs
    nothing from `app.py` (which imports it); the rest is Textual's `App`.
    """

    list_watcher: WatchlistWatcher
    lists: list[Watchlist]
    watchlists: WatchlistPanel
    settings: Settings
    alert_config: AlertConfig
    engine: Engine | None
    store: Store | None
    source_server: Any
    sinks: AlertSinks
    _main: Widget

    # live reload ------------------------------------------------------------------

    def start_list_watcher(self, failed: list[WatchlistError]) -> None:
        """Watch every list file, the ones that failed to load too (fixed, they appear)."""
        self.list_watcher = WatchlistWatcher(on_change=self._list_reloaded, on_error=self._list_error,
                                             base=self.settings.rules)  # fmt: skip
        for path in [wl.path for wl in self.lists if wl.path] + [Path(e.path) for e in failed]:
            try:
                self.list_watcher.add(path)
            except WatchlistError:
                pass  # already reported at start-up
        self.list_watcher.start()

    def _list_reloaded(self, wl: Watchlist) -> None:
        for i, known in enumerate(self.lists):
            if known.path == wl.path:
                self.lists[i] = wl
                self.watchlists.update_list(wl)
                break
        else:
            at = self._place_of(wl.path) if wl.path is not None else len(self.lists)
            self.lists.insert(at, wl)
            self.run_worker(self.watchlists.add_list(wl, at), group="lists")
        self._rules_changed()

    def _list_error(self, error: WatchlistError) -> None:
        self.notify(str(error), title="Watchlist not reloaded: the last good version stays", severity="error",
                    timeout=15)  # fmt: skip

    def list_symbols(self) -> list[str]:
        return sorted({s for wl in self.lists for s in wl.symbols})

    def _rules_changed(self) -> None:
        """Thresholds and symbols come from the lists: the engine, the sound and a
        bridged source (which polls only the lists' symbols) follow at once."""
        self.alert_config = self.settings.alert_config(self.lists)
        if self.engine is not None:
            self.engine.alerts.config = self.alert_config  # armed/cooldown state is kept
        self.sinks.rules = self.alert_config.for_symbol
        if self.source_server is not None:
            self.source_server.poller.set_symbols(self.list_symbols())

    # what is being edited ------------------------------------------------------

    def _list_table(self) -> WatchTable | None:
        """The list on screen, if it is one that can be edited."""
        if self.screen is not self._main:
            return None  # a dialog is open
        self._show_watchlists()
        table = self.watchlists.table
        if table.path is None:
            self.notify("'All' is every instrument of the feed: switch to a list (1-9, Tab) to edit it",
                        title="Watchlist", timeout=5)  # fmt: skip
            return None
        return table

    def _selected_in(self, table: WatchTable) -> str | None:
        symbol = table.selected_symbol
        if symbol is None:
            self.notify(f"{table.title} is empty: + adds a symbol", title="Watchlist", timeout=4)
        return symbol

    def _list_of(self, table: WatchTable) -> Watchlist:
        return next(wl for wl in self.lists if wl.path == table.path)

    def _editable(self, table: WatchTable) -> Path:
        """The file to write: a bundled example becomes the user's own copy first."""
        path = table.path
        assert path is not None
        if not editing.is_bundled(path):
            return path
        copy = editing.user_copy(path)
        self._repoint(path, copy)
        self.notify(f"{table.title} is a bundled example: your edits go to {copy}", title="Watchlist", timeout=8)
        return copy

    def _repoint(self, old: Path, new: Path) -> Watchlist:
        """A list's file is now `new` (a user copy, a renamed file)."""
        self.list_watcher.remove(old)
        wl = self.list_watcher.add(new)
        self.lists = [wl if known.path == old else known for known in self.lists]
        self.watchlists.update_list(wl, old_path=old)
        return wl

    def _edit(self, change: Callable[[], T], done: Callable[[T], str] | None = None) -> T | None:
        """Run one file edit; the user hears of success or of what went wrong."""
        try:
            result = change()
        except WatchlistError as exc:
            self.notify(str(exc), title="Watchlist not changed", severity="error", timeout=10)
            return None
        except OSError as exc:
            self.notify(f"cannot save: {exc}", title="Watchlist not changed", severity="error", timeout=10)
            return None
        self.list_watcher.poll()  # the screen follows now, not on the next poll
        if done is not None:
            self.notify(done(result), timeout=3)
        return result

    def _instruments(self) -> list[Instrument]:
        if self.store is None:
            return []
        rows = self.store.frame.select("symbol", "name", "name_en").sort("symbol").iter_rows()
        return [Instrument(symbol, name or "", name_en or "") for symbol, name, name_en in rows]

    # the actions -------------------------------------------------------------------

    def action_add_symbol(self) -> None:
        table = self._list_table()
        if table is None:
            return

        def add(symbol: str | None) -> None:
            if symbol is None:
                return
            if symbol in (table.symbols or ()):  # nothing to write: a bundled list is not copied for it
                self.notify(f"{symbol} is already in {table.title}", timeout=3)
                if symbol in table.rows:
                    table.move_cursor(row=table.get_row_index(symbol))
                return
            added = self._edit(lambda: editing.add_symbols(self._editable(table), [symbol]),
                               lambda got: f"Added {symbol} to {table.title}" if got else f"{symbol} is already in {table.title}")  # fmt: skip
            if added is not None and symbol in table.rows:
                table.move_cursor(row=table.get_row_index(symbol))

        self.push_screen(SymbolSearch(f"Add to {table.title}", self._instruments()), add)

    def action_remove_symbol(self) -> None:
        table = self._list_table()
        symbol = self._selected_in(table) if table is not None else None
        if table is None or symbol is None:
            return
        self._edit(lambda: editing.remove_symbols(self._editable(table), [symbol]),
                   lambda _: f"Removed {symbol} from {table.title} (its thresholds stay in the file)")  # fmt: skip

    def action_move_symbol(self, step: int) -> None:
        """Reorder: the selected symbol one place up (-1) or down (+1) in the list."""
        table = self._list_table()
        symbol = self._selected_in(table) if table is not None else None
        if table is None or symbol is None or table.symbols is None:
            return
        if table.sort_key is not None or table.reverse:
            table.sort_by(None, reverse=False)  # reordering means the list's own order
            self.notify("Showing the list's own order", timeout=2)
        index = table.symbols.index(symbol) + step
        if 0 <= index < len(table.symbols):
            self._edit(lambda: editing.move_symbol(self._editable(table), symbol, index))
        else:
            where = "first" if step < 0 else "last"
            self.notify(f"{symbol} is already {where} in {table.title}", title="Watchlist", timeout=3)

    def action_move_to_list(self) -> None:
        table = self._list_table()
        symbol = self._selected_in(table) if table is not None else None
        if table is None or symbol is None:
            return
        targets = [t for t in self.watchlists.tables if t.path is not None and t is not table]
        if not targets:
            self.notify("There is no other list: N makes one", title="Watchlist", timeout=4)
            return

        def move(choice: int | None) -> None:
            if choice is None:
                return
            target = targets[choice]
            self._edit(lambda: editing.move_to_list(self._editable(table), self._editable(target), symbol),
                       lambda _: f"Moved {symbol} from {table.title} to {target.title}")  # fmt: skip

        self.push_screen(ChooseList(f"Move {symbol} to", [t.title for t in targets]), move)

    def action_new_list(self) -> None:
        if self.screen is not self._main:
            return

        async def create(name: str | None) -> None:
            if name is None or self._name_taken(name):
                return
            path = self._edit(lambda: editing.create_list(name))
            if path is None:
                return
            wl = self.list_watcher.add(path)
            at = self._place_of(path)
            self.lists.insert(at, wl)
            self._show_watchlists()
            self.watchlists.switch_to(await self.watchlists.add_list(wl, at))
            self.notify(f"New list {name}: {path}. + adds a symbol", timeout=5)

        self.push_screen(AskText("New watchlist", placeholder="name, e.g. Robotics"), create)

    def _name_taken(self, name: str, but: WatchTable | None = None) -> bool:
        """Two lists of one name: number keys, D and M could not say which is which."""
        wanted = name.strip().casefold()
        for n, table in enumerate(self.watchlists.tables, 1):
            if table is not but and table.title.strip().casefold() == wanted:
                self.notify(f"There is a list named {table.title} already (tab {n}): pick another name",
                            title="Watchlist not changed", severity="error", timeout=6)  # fmt: skip
                return True
        return False

    def _place_of(self, path: Path) -> int:
        """Where a new list of the user's goes: where the next start will show it
        (after the bundled lists, among the user's own by file name)."""
        for i, wl in enumerate(self.lists):
            mine = wl.path is not None and wl.path.parent == path.parent and wl.path.name not in bundled_names()
            if mine and wl.path is not None and wl.path.name > path.name:
                return i
        return len(self.lists)

    def action_rename_list(self) -> None:
        table = self._list_table()
        if table is None:
            return

        def rename(name: str | None) -> None:
            if name is None or name == table.title or self._name_taken(name, but=table):
                return
            old = self._editable(table)
            new = self._edit(lambda: editing.rename_list(old, name))
            if new is not None and new != old:
                self._repoint(old, new)

        self.push_screen(AskText(f"Rename {table.title}", value=table.title), rename)

    def action_delete_list(self) -> None:
        table = self._list_table()
        if table is None:
            return
        path = table.path
        assert path is not None
        if editing.is_bundled(path):
            self.notify(f"{table.title} is a bundled example; it cannot be deleted. --watchlist FILE picks the lists "
                        "to show.", title="Watchlist", timeout=8)  # fmt: skip
            return

        async def delete(sure: bool | None) -> None:
            if not sure:
                return
            trash = self._edit(lambda: editing.delete_list(path))
            if trash is None:
                return
            self.list_watcher.remove(path)
            self.lists = [wl for wl in self.lists if wl.path != path]
            await self.watchlists.remove_list(path)
            self._rules_changed()
            self.notify(f"Deleted {table.title}; the file is kept at {trash}", timeout=8)

        self.push_screen(Confirm(f"Delete the list {table.title}? Its file moves to {path.parent / '.trash'}"), delete)

    def action_thresholds(self) -> None:
        table = self._list_table()
        if table is None:
            return

        def explicit(scope: str | None) -> dict[str, Any]:
            assert table.path is not None
            return editing.rules_in_file(table.path, scope)

        def inherited(scope: str | None) -> RuleSet:
            return self.settings.rules if scope is None else self._list_of(table).defaults

        def save(scope: str | None, values: dict[str, Any]) -> None:
            editing.set_rules(self._editable(table), values, symbol=scope)
            self.list_watcher.poll()
            where = scope or f"every symbol of {table.title}"
            self.notify(f"Alert thresholds saved for {where}", timeout=3)

        self.push_screen(Thresholds(symbol=table.selected_symbol, list_title=table.title,
                                    explicit=explicit, inherited=inherited, save=save))  # fmt: skip
