"""Watchlist files (PROTOCOL section 4): read and validate.

A bad file yields one `WatchlistError` naming the file, line and column; the
caller keeps running on what it had. Editing lives in `editing.py`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketmon.alerts.engine import THRESHOLD_RULES, RuleSet
from marketmon.market.symbols import SymbolError, normalize

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


class WatchlistError(ValueError):
    def __init__(self, path: Path | str, message: str, line: int | None = None, column: int | None = None):
        self.path, self.line, self.column = str(path), line, column
        where = f"{path}:{line}:{column}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class Watchlist:
    name: str
    symbols: list[str]
    defaults: RuleSet = field(default_factory=RuleSet)
    overrides: dict[str, RuleSet] = field(default_factory=dict)
    path: Path | None = None

    def rules_for(self, symbol: str) -> RuleSet:
        return self.overrides.get(symbol, self.defaults)


def load(path: Path | str) -> Watchlist:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(path, f"cannot read: {exc}") from None
    return parse(text, path)


def parse(text: str, path: Path | str = "<watchlist>") -> Watchlist:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POS.search(str(exc))
        msg = _TOML_POS.sub("", str(exc)).strip()
        raise WatchlistError(path, msg, *(map(int, m.groups()) if m else ())) from None
    name = data.get("name", Path(str(path)).stem)
    if not isinstance(name, str):
        raise WatchlistError(path, "'name' must be a string", *_locate(text, "name"))
    raw_symbols = data.get("symbols", [])
    if not isinstance(raw_symbols, list) or not all(isinstance(s, str) for s in raw_symbols):
        raise WatchlistError(path, "'symbols' must be a list of strings", *_locate(text, "symbols"))
    symbols: list[str] = []
    for raw in raw_symbols:
        try:
            symbol = normalize(raw)
        except SymbolError as exc:
            raise WatchlistError(path, str(exc), *_locate(text, raw)) from None
        if symbol not in symbols:
            symbols.append(symbol)
    alerts = data.get("alerts", {})
    if not isinstance(alerts, dict):
        raise WatchlistError(path, "[alerts] must be a table", *_locate(text, "alerts"))
    defaults = _rules(alerts, RuleSet(), path, text)
    overrides: dict[str, RuleSet] = {}
    for key, value in alerts.items():
        if isinstance(value, dict):
            try:
                symbol = normalize(key)
            except SymbolError as exc:
                raise WatchlistError(path, str(exc), *_locate(text, key)) from None
            overrides[symbol] = _rules(value, defaults, path, text)
    return Watchlist(name, symbols, defaults, overrides, Path(str(path)))


def _rules(table: dict[str, Any], base: RuleSet, path: Path | str, text: str) -> RuleSet:
    rules = RuleSet(**vars(base))
    for key, value in table.items():
        if isinstance(value, dict):
            continue
        if key == "limit":
            if not isinstance(value, bool):
                raise WatchlistError(path, "'limit' must be true or false", *_locate(text, key))
            rules.limit = value
        elif key in THRESHOLD_RULES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise WatchlistError(path, f"'{key}' must be a number (percent)", *_locate(text, key))
            setattr(rules, key, float(value))
        elif key == "sound":
            if not isinstance(value, str):
                raise WatchlistError(path, "'sound' must be a string", *_locate(text, key))
            rules.sound = value
        # Unknown keys are left alone: newer versions may add rules.
    return rules


def _locate(text: str, needle: str) -> tuple[int, int] | tuple[()]:
    """Line and column (1-based) of the first place `needle` appears as a key or string."""
    for n, line in enumerate(text.splitlines(), 1):
        for candidate in (f'"{needle}"', f"'{needle}'", needle):
            col = line.find(candidate)
            if col >= 0 and not line.lstrip().startswith("#"):
                return n, col + 1
    return ()
