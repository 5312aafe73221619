"""Which watchlists the screen shows.

`--watchlist FILE` paths when given; otherwise the user's watchlist folder
plus the bundled examples (a user list hides a bundled one of the same name).
A file that does not load is reported and skipped; the others still show.
"All" (every instrument of the feed) is added by the panel, always.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from marketmon.alerts.rules import RuleSet
from marketmon.config import paths
from marketmon.config.watchlists import Watchlist, WatchlistError, bundled_paths, load


def load_lists(
    given: Sequence[str | Path] = (), base: RuleSet | None = None
) -> tuple[list[Watchlist], list[WatchlistError]]:
    """`base`: the settings file's alert rules, which each list's [alerts] overrides."""
    lists: list[Watchlist] = []
    errors: list[WatchlistError] = []
    if given:
        for path in given:
            try:
                lists.append(load(path, base))
            except WatchlistError as exc:
                errors.append(exc)
        return lists, errors
    # Each bundled list keeps its place (so do number keys), shown as the user's
    # copy once edited (same file name in the user folder); then the user's own
    # lists, by file name. A user list of a bundled list's name hides that one.
    folder = paths.user_watchlists_dir()
    own: list[Watchlist] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                own.append(load(path, base))
            except WatchlistError as exc:
                errors.append(exc)
    copies = {wl.path.name: wl for wl in own if wl.path is not None and wl.path.name in bundled_names()}
    own = [wl for wl in own if wl not in copies.values()]
    names = {wl.name for wl in own}
    for path in bundled():
        if path.name in copies:
            lists.append(copies[path.name])
            continue
        try:
            wl = load(path, base)  # its real path: editing makes a user copy of it (editing.user_copy)
        except WatchlistError as exc:
            errors.append(exc)
            continue
        if wl.name not in names:
            lists.append(wl)
    return lists + own, errors


def bundled_names() -> set[str]:
    """The file names of the bundled lists (a user copy has the same one)."""
    return {p.name for p in bundled()}


def bundled() -> list[Path]:
    """The example lists shipped in the package `marketmon.watchlists`."""
    return bundled_paths()
