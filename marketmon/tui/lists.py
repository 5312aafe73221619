"""Which watchlists the screen shows.

`--watchlist FILE` paths when given; otherwise the user's watchlist folder
plus the bundled examples (a user list hides a bundled one of the same name).
A file that does not load is reported and skipped; the others still show.
"All" (every instrument of the feed) is added by the panel, always.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from marketmon.alerts.engine import RuleSet
from marketmon.config import paths
from marketmon.config.watchlists import Watchlist, WatchlistError, load, parse


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
    folder = paths.user_watchlists_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                lists.append(load(path, base))
            except WatchlistError as exc:
                errors.append(exc)
    names = {wl.name for wl in lists}
    for name, text in bundled():
        try:
            wl = parse(text, name, base)
        except WatchlistError as exc:
            errors.append(exc)
            continue
        if wl.name not in names:
            lists.append(wl)
            names.add(wl.name)
    return lists, errors


def bundled() -> list[tuple[str, str]]:
    """(name, text) of the example lists shipped in the package `marketmon.watchlists`."""
    entries = sorted(resources.files("marketmon.watchlists").iterdir(), key=lambda e: e.name)
    return [(f"watchlists/{e.name}", e.read_text(encoding="utf-8")) for e in entries if e.name.endswith(".toml")]
