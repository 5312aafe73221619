"""Edit watchlist files in place, keeping every comment and the user's layout.

Each edit is a read-modify-write on the file's *current* bytes: read, parse
with tomlkit, apply the operation, and just before the rename check that the
file is still exactly what was read (mtime, size, hash). If an editor saved
it in between, start over from the new bytes, so the editor's change and the
app's edit both survive. Bytes the operation does not touch stay identical.

A file that does not parse, or that the reader would reject (wrong type,
unknown symbol), is never written: the caller gets a WatchlistError with
file, line and column. Bad input (an unknown symbol, a wrong value) is an
EditError, which is a WatchlistError too. Every write goes through
atomic_write. Nothing here is ever unlinked: a deleted list moves to `.trash`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import Array, Comment, Table
from tomlkit.toml_document import TOMLDocument

from marketmon.alerts.rules import RuleSet
from marketmon.config import paths
from marketmon.config.files import atomic_write
from marketmon.config.watcher import WatchlistWatcher
from marketmon.config.watchlists import NUMBER_RULES, WatchlistError, bundled_paths, parse, parse_rules
from marketmon.market.symbols import SymbolError, normalize

__all__ = [
    "EditError", "WatchlistWatcher", "add_symbols", "create_list", "delete_list", "edit", "is_bundled",
    "move_symbol", "move_to_list", "remove_symbols", "rename_list", "rule_keys", "rules_in_file", "set_rule", "set_rules",
    "user_copy",
]  # fmt: skip

GIVE_UP_S = 10.0  # keep re-reading a file that keeps changing for this long


class EditError(WatchlistError):
    """The edit asked for is wrong (bad symbol, bad value); the file is unchanged."""


class _Changed(Exception):
    """The file changed between our read and our rename."""


@dataclass(frozen=True)
class _Seen:
    mtime_ns: int
    size: int
    digest: bytes


def _read(path: Path) -> tuple[str, _Seen]:
    try:
        data = path.read_bytes()
        st = path.stat()
        text = data.decode("utf-8")  # bytes, not read_text: CRLF files stay CRLF
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(path, f"cannot read: {exc}") from None
    return text, _Seen(st.st_mtime_ns, st.st_size, hashlib.sha256(data).digest())


def _check_unchanged(path: Path, seen: _Seen) -> None:
    try:
        st = path.stat()
        if (st.st_mtime_ns, st.st_size) != (seen.mtime_ns, seen.size):
            raise _Changed
        if hashlib.sha256(path.read_bytes()).digest() != seen.digest:
            raise _Changed
    except FileNotFoundError:
        raise _Changed from None


def _document(text: str, path: Path) -> TOMLDocument:
    parse(text, path)  # tomllib plus the schema: wrong types and symbols never get rewritten
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise WatchlistError(path, str(exc).split(" at line ")[0], exc.line, exc.col) from None


def edit(path: Path | str, operation: Callable[[str], str]) -> str:
    """Apply `operation` (current text -> new text) to the file; returns the saved text.

    The operation runs again on fresh bytes whenever the file changed
    underneath, so it must be a pure function of the text.
    """
    path = Path(path)
    _refuse_bundled(path)
    deadline = time.monotonic() + GIVE_UP_S
    while True:
        text, seen = _read(path)
        _document(text, path)
        new = operation(text)
        if new == text:
            return text
        parse(new, path)  # never write what the reader would reject
        try:
            # atomic_write runs the check and the rename under its folder lock,
            # so two of our own writers cannot both pass the check.
            atomic_write(path, new, precondition=lambda: _check_unchanged(path, seen))  # noqa: B023
            return new
        except _Changed:
            if time.monotonic() > deadline:
                raise WatchlistError(path, "the file kept changing while saving; the edit was not saved") from None
            # Several of our writers at once: a random pause lets one through
            # on each round instead of all of them retrying in step.
            time.sleep(random.uniform(0, 0.02))


def _refuse_bundled(path: Path) -> None:
    if is_bundled(path):
        raise EditError(path, "a bundled example list is read-only; edit the copy from user_copy()")


def _on_doc(change: Callable[[TOMLDocument], None]) -> Callable[[str], str]:
    """An operation on the parsed document, as a text -> text operation."""

    def operation(text: str) -> str:
        doc = tomlkit.parse(text)
        change(doc)
        return _tidy_end(text, doc.as_string())

    return operation


def _tidy_end(old: str, new: str) -> str:
    """A table removed from the end leaves its blank line behind: trim that only."""
    if new.endswith("\n\n") and not old.endswith("\n\n"):
        return new.rstrip("\n") + "\n"
    return new


# symbols ----------------------------------------------------------------------


def canonical(path: Path | str, symbol: str) -> str:
    try:
        return normalize(symbol)
    except SymbolError as exc:
        raise EditError(path, str(exc)) from None


def _symbols(doc: TOMLDocument) -> Array:
    if "symbols" not in doc:
        doc["symbols"] = tomlkit.array()
    return doc["symbols"]


def _index_of(symbols: Array, symbol: str) -> int | None:
    for i, raw in enumerate(symbols):
        if normalize(str(raw)) == symbol:  # the file may hold "700.hk" for 00700.HK
            return i
    return None


def _insert(symbols: Array, pos: int, value: str, comment: Comment | None = None) -> None:
    symbols.insert(pos, value)
    groups = symbols._value  # tomlkit keeps (indent, value, comma, comment) groups here
    at = symbols._index_map[pos]
    if comment is not None:
        groups[at].comment = comment  # a moved symbol takes its comment along
    nxt = groups[at + 1] if at + 1 < len(groups) else None
    if nxt is not None and nxt.value is not None and nxt.indent is None:
        nxt.indent = tomlkit.ws(" ")  # one-line arrays: keep '"a", "b"', not '"a","b"'


def _comment_of(symbols: Array, pos: int) -> Comment | None:
    try:
        return symbols._value[symbols._index_map[pos]].comment
    except (AttributeError, KeyError, IndexError):
        return None  # another tomlkit layout: the symbol moves without its comment


def add_symbols(path: Path | str, symbols: Iterable[str], index: int | None = None) -> list[str]:
    """Add symbols (any accepted form; stored canonical) at `index` (default: the end).

    Returns the symbols added; ones already in the list are skipped.
    """
    wanted = list(dict.fromkeys(canonical(path, s) for s in symbols))
    added: list[str] = []

    def change(doc: TOMLDocument) -> None:
        added.clear()
        array = _symbols(doc)
        pos = len(array) if index is None else max(0, min(index, len(array)))
        for symbol in wanted:
            if _index_of(array, symbol) is None:
                _insert(array, pos, symbol)
                pos += 1
                added.append(symbol)

    edit(path, _on_doc(change))
    return added


def remove_symbols(
    path: Path | str, symbols: Iterable[str], *, missing_ok: bool = False, drop_rules: bool = False
) -> list[str]:
    """Remove symbols (with the comment on their line). All or nothing: a symbol
    not in the list is an EditError unless `missing_ok`. The [alerts."CODE"]
    tables stay unless `drop_rules`, so re-adding a symbol brings its rules back."""
    wanted = list(dict.fromkeys(canonical(path, s) for s in symbols))
    removed: list[str] = []

    def change(doc: TOMLDocument) -> None:
        removed.clear()
        array = _symbols(doc)
        for symbol in wanted:
            i = _index_of(array, symbol)
            if i is None:
                if missing_ok:
                    continue
                raise EditError(path, f"{symbol} is not in the list")
            del array[i]
            removed.append(symbol)
            if drop_rules:
                _drop_table(doc, symbol)

    edit(path, _on_doc(change))
    return removed


def move_symbol(path: Path | str, symbol: str, index: int) -> None:
    """Reorder: put `symbol` at position `index` of its list."""
    symbol = canonical(path, symbol)

    def change(doc: TOMLDocument) -> None:
        array = _symbols(doc)
        i = _index_of(array, symbol)
        if i is None:
            raise EditError(path, f"{symbol} is not in the list")
        target = max(0, min(index, len(array) - 1))
        if target == i:
            return
        comment, value = _comment_of(array, i), array[i]
        del array[i]
        _insert(array, target, str(value), comment)

    edit(path, _on_doc(change))


def move_to_list(src: Path | str, dst: Path | str, symbol: str, index: int | None = None) -> None:
    """Move a symbol to another list. Add to the target first, then remove from
    the source: if anything fails in between the symbol is in both, never in neither.
    The symbol's own thresholds go along when the target has none for it."""
    symbol = canonical(src, symbol)
    if Path(src).resolve() == Path(dst).resolve():
        raise EditError(src, "the source and target lists are the same file")
    text, _ = _read(Path(src))
    if symbol not in parse(text, src).symbols:
        raise EditError(src, f"{symbol} is not in the list")
    src_rules = _table_values(Path(src), symbol)
    add_symbols(dst, [symbol], index)
    if src_rules and not _table_values(Path(dst), symbol):
        set_rules(dst, src_rules, symbol=symbol)
    remove_symbols(src, [symbol], missing_ok=True)


# thresholds -------------------------------------------------------------------


def rule_keys() -> tuple[str, ...]:
    """The keys set_rule accepts, in the order a settings screen would show them."""
    return ("limit", *NUMBER_RULES, "fast_move_minutes", "ladder_top", "sound")


def set_rule(path: Path | str, key: str, value: Any, *, symbol: str | None = None) -> None:
    """Set one rule in [alerts] (list default) or [alerts."CODE.EX"] (one symbol).
    `value=None` removes the key (the default or the settings file then apply)."""
    set_rules(path, {key: value}, symbol=symbol)


def set_rules(path: Path | str, values: dict[str, Any], *, symbol: str | None = None) -> None:
    path = Path(path)
    for key, value in values.items():
        if key not in rule_keys():
            raise EditError(path, f"unknown rule {key!r}; known: {', '.join(rule_keys())}")
        if value is not None:
            try:
                parse_rules({key: value}, RuleSet(), path, "")  # type and range check, same as the reader
            except WatchlistError as exc:
                raise EditError(path, exc.message) from None
    code = canonical(path, symbol) if symbol is not None else None

    def operation(text: str) -> str:
        doc = tomlkit.parse(text)
        if "alerts" in doc and doc["alerts"].is_super_table() and code is None:
            # Only [alerts."X"] tables exist: write an explicit [alerts] in front
            # of them as text (tomlkit would copy their header comment onto it).
            text = _insert_alerts_header(text)
            doc = tomlkit.parse(text)
        table = _table(doc, code, create=any(v is not None for v in values.values()))
        if table is None:
            return text
        for key, value in values.items():
            if value is None:
                if key in table:
                    del table[key]
            else:
                table[key] = value
        if code is not None and len(table) == 0 and not _has_comments(table):
            _drop_table(doc, code)
        return _tidy_end(text, doc.as_string())

    edit(path, operation)


def _insert_alerts_header(text: str) -> str:
    m = re.search(r"^[ \t]*\[[ \t]*alerts[ \t]*\.", text, re.MULTILINE)
    at = m.start() if m else len(text)
    return text[:at] + "[alerts]\n\n" + text[at:]


def _table(doc: TOMLDocument, code: str | None, *, create: bool) -> Table | None:
    if "alerts" not in doc:
        if not create:
            return None
        doc["alerts"] = tomlkit.table()
    alerts = doc["alerts"]
    if code is None:
        return alerts
    key = _symbol_key(alerts, code)
    if key is None:
        if not create:
            return None
        alerts[code] = tomlkit.table()
        return alerts[code]
    return alerts[key]


def _symbol_key(alerts: Table, code: str) -> str | None:
    for key, value in alerts.items():
        if isinstance(value, dict):
            try:
                if normalize(key) == code:
                    return key
            except SymbolError:
                continue
    return None


def _drop_table(doc: TOMLDocument, code: str) -> None:
    if "alerts" in doc:
        key = _symbol_key(doc["alerts"], code)
        if key is not None:
            del doc["alerts"][key]


def _has_comments(table: Table) -> bool:
    """Whether emptying the table would still lose words the user wrote."""
    return bool(table.trivia.comment) or any(isinstance(item, Comment) for _, item in table.value.body)


def rules_in_file(path: Path | str, symbol: str | None = None) -> dict[str, Any]:
    """The rule keys the file itself sets in [alerts] (symbol None) or [alerts."CODE"]."""
    return _table_values(Path(path), canonical(path, symbol) if symbol is not None else None)


def _table_values(path: Path, code: str | None) -> dict[str, Any]:
    text, _ = _read(path)
    table = _table(_document(text, path), code, create=False)
    return {k: v for k, v in table.unwrap().items() if not isinstance(v, dict)} if table is not None else {}


# lists --------------------------------------------------------------------------


def slug(name: str) -> str:
    """A file name for a list name: lower case, words joined by '-' (CJK kept)."""
    return re.sub(r"[^\w]+", "-", name.strip().lower()).strip("-_") or "list"


def create_list(name: str, symbols: Iterable[str] = (), folder: Path | str | None = None) -> Path:
    """A new list file in `folder` (default: the user's watchlist folder)."""
    folder = Path(folder) if folder is not None else paths.user_watchlists_dir()
    path = folder / f"{slug(name)}.toml"
    if path.name in _copy_slots(folder):
        # etfs.toml in the user folder is where the bundled ETFs list's copy goes
        # (user_copy): a new list there would take that list's place.
        path = folder / f"{slug(name)}-list.toml"
    codes = list(dict.fromkeys(canonical(path, s) for s in symbols))
    array = tomlkit.array()
    for code in codes:
        array.append(code)
    array.multiline(bool(codes))
    text = (
        f"# {name}: a marketmon watchlist. Edit it freely; the app keeps your comments.\n"
        f"name = {tomlkit.string(name).as_string()}\n"
        f"symbols = {array.as_string()}\n\n"
        "[alerts]                 # defaults for every symbol of this list\n"
        "limit = true             # limit hit / limit broken\n"
    )
    parse(text, path)

    def absent() -> None:
        if path.exists():
            raise EditError(path, "a list with this file name already exists")

    absent()
    atomic_write(path, text, precondition=absent)
    return path


def rename_list(path: Path | str, new_name: str, *, rename_file: bool = True) -> Path:
    """Set the list's `name`; also rename the file to match when that name is free."""
    path = Path(path)
    if not new_name.strip():
        raise EditError(path, "a list needs a name")

    def change(doc: TOMLDocument) -> None:
        doc["name"] = new_name

    edit(path, _on_doc(change))
    target = path.with_name(f"{slug(new_name)}.toml")
    slots = _copy_slots(path.parent)
    if not rename_file or target == path or target.exists() or path.name in slots or target.name in slots:
        return path  # a bundled list's copy keeps its file name: it stays in that list's place
    try:
        os.link(path, target)  # fails if the name was taken meanwhile: never clobber
    except FileExistsError:
        return path
    except OSError:
        return path  # no hard links here (FAT, some network shares): keep the old file name
    os.unlink(path)
    return target


def delete_list(path: Path | str) -> Path:
    """Move the list into a `.trash` folder beside it; returns where it went."""
    path = Path(path)
    _refuse_bundled(path)
    if not path.is_file():
        raise EditError(path, "no such list file")
    trash = path.parent / ".trash"
    trash.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = trash / f"{path.stem}.{stamp}{f'-{n}' if n else ''}{path.suffix}"
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError:
            if target.exists():
                continue
            os.replace(path, target)
            return target
        os.unlink(path)
        return target
    raise EditError(path, "could not move the list to the trash")


def is_bundled(path: Path | str) -> bool:
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13): not ours, and unreadable
        return False
    return any(resolved == p.resolve() for p in bundled_paths())


def _copy_slots(folder: Path) -> set[str]:
    """File names kept in the user folder for copies of the bundled lists."""
    try:
        mine = folder.resolve() == paths.user_watchlists_dir().resolve()
    except (OSError, RuntimeError):
        return set()
    return {p.name for p in bundled_paths()} if mine else set()


def user_copy(path: Path | str) -> Path:
    """The editable file for a list: a bundled example is copied to the user's
    folder first (once); a user's own file is returned as it is."""
    path = Path(path)
    if not is_bundled(path):
        return path
    target = paths.user_watchlists_dir() / path.name
    if not target.exists():
        text, _ = _read(path)
        atomic_write(target, text)
    return target
