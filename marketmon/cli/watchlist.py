"""`marketmon watchlist list|add|remove FILE [SYMBOL...]`: edit lists from scripts.

Same guarantees as editing in the app (editing.py): comments and layout
kept, atomic save, a file that does not parse is never written. Bad input
(an unknown symbol, a symbol not in the list, a broken file) is one line on
stderr and exit status 2, with the file unchanged: all symbols or none.
The engine modules are imported when a command runs, not when the parser
is built, so `marketmon --help` stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketmon.cli.exit_codes import EXIT_OK, EXIT_UNREACHABLE, UsageError

if TYPE_CHECKING:
    from marketmon.alerts.rules import RuleSet
    from marketmon.config.watchlists import Watchlist


def add_parser(sub: Any) -> None:
    wl = sub.add_parser("watchlist", help="show or edit a watchlist file")
    actions = wl.add_subparsers(dest="action", required=True)
    show = actions.add_parser("list", help="print the list's symbols and alert rules")
    show.add_argument("file")
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add = actions.add_parser("add", help="add symbols (kept in canonical CODE.EX form)")
    add.add_argument("file")
    add.add_argument("symbols", nargs="+", metavar="SYMBOL")
    add.add_argument("--at", type=int, metavar="INDEX", help="insert at this position (0 = first)")
    add.add_argument("--create", action="store_true", help="create the file if it does not exist")
    remove = actions.add_parser("remove", help="remove symbols")
    remove.add_argument("file")
    remove.add_argument("symbols", nargs="+", metavar="SYMBOL")
    remove.add_argument("--missing-ok", action="store_true", help="a symbol not in the list is not an error")


def run(args: argparse.Namespace) -> int:
    from marketmon.config.watchlists import WatchlistError

    try:
        if args.action == "list":
            return _list(args)
        if args.action == "add":
            return _add(args)
        return _remove(args)
    except WatchlistError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:  # a full disk, a read-only folder: the file is unchanged, say so in one line
        print(f"marketmon: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _list(args: argparse.Namespace) -> int:
    from marketmon.alerts.rules import RuleSet
    from marketmon.config.watchlists import load

    wl = load(args.file)
    if args.json:
        print(json.dumps(_as_json(wl), ensure_ascii=False))
        return EXIT_OK
    print(f"# {wl.name} ({len(wl.symbols)} symbols)")
    for symbol in wl.symbols:
        own = _describe(wl.rules_for(symbol), wl.defaults) if symbol in wl.overrides else ""
        print(f"{symbol:<10} {own}".rstrip())
    defaults = _describe(wl.defaults, RuleSet())
    if defaults:
        print(f"# alerts: {defaults}")
    return EXIT_OK


def _add(args: argparse.Namespace) -> int:
    from marketmon.config import editing

    path = Path(args.file)
    codes = [editing.canonical(path, s) for s in args.symbols]  # check them before creating anything
    if not path.exists():
        if not args.create:
            raise UsageError(f"{path}: no such file (add --create to start a new list)")
        _create(path)
    added = editing.add_symbols(path, codes, args.at)
    for symbol in added:
        print(f"added {symbol}")
    for symbol in dict.fromkeys(codes):
        if symbol not in added:
            print(f"{symbol} already in the list")
    return EXIT_OK


def _create(path: Path) -> None:
    """An empty list at exactly this path, named after the file."""
    import tomlkit

    from marketmon.config.files import atomic_write

    def absent() -> None:
        if path.exists():
            raise UsageError(f"{path}: created by someone else meanwhile; run again")

    atomic_write(path, f"name = {tomlkit.string(path.stem).as_string()}\nsymbols = []\n", precondition=absent)


def _remove(args: argparse.Namespace) -> int:
    from marketmon.config import editing

    for symbol in editing.remove_symbols(args.file, args.symbols, missing_ok=args.missing_ok):
        print(f"removed {symbol}")
    return EXIT_OK


def _describe(rules: RuleSet, base: RuleSet) -> str:
    """The rule values that differ from `base`, as key=value words."""
    words = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in vars(rules).items() if v != vars(base)[k]]
    return " ".join(words)


def _as_json(wl: Watchlist) -> dict[str, Any]:
    return {
        "name": wl.name, "path": str(wl.path), "symbols": wl.symbols, "alerts": vars(wl.defaults),
        "overrides": {s: vars(r) for s, r in wl.overrides.items()},
    }  # fmt: skip
