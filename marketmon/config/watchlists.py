"""Watchlist files (PROTOCOL section 4): read and validate.

A bad file yields one `WatchlistError` naming the file, line and column; the
caller keeps running on what it had. Editing lives in `editing.py`.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from marketmon.alerts.rules import THRESHOLD_RULES, RuleSet
from marketmon.alerts.sound import SOUND_NAMES
from marketmon.config import paths
from marketmon.config.toml_errors import toml_error
from marketmon.market.symbols import SymbolError, normalize


class WatchlistError(ValueError):
    def __init__(self, path: Path | str, message: str, line: int | None = None, column: int | None = None):
        self.path, self.line, self.column, self.message = str(path), line, column, message
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


def bundled_paths() -> list[Path]:
    """The example lists shipped in the package (marketmon.watchlists), by file name."""
    folder = resources.files("marketmon.watchlists")
    return sorted((Path(str(e)) for e in folder.iterdir() if e.name.endswith(".toml")), key=lambda p: p.name)


def user_paths() -> list[Path]:
    """The user's own lists: every *.toml in the user watchlist folder."""
    folder = paths.user_watchlists_dir()
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def load(path: Path | str, base: RuleSet | None = None) -> Watchlist:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(path, f"cannot read: {exc}") from None
    return parse(text, path, base)


def parse(text: str, path: Path | str = "<watchlist>", base: RuleSet | None = None) -> Watchlist:
    """`base` (the settings file's rules) is what the list's [alerts] table overrides."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WatchlistError(path, *toml_error(exc, text)) from None
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
    defaults = parse_rules(alerts, base or RuleSet(), path, text, section="")
    overrides: dict[str, RuleSet] = {}
    for key, value in alerts.items():
        if isinstance(value, dict):
            try:
                symbol = normalize(key)
            except SymbolError as exc:
                raise WatchlistError(path, str(exc), *_locate(text, key)) from None
            overrides[symbol] = parse_rules(value, defaults, path, text, section=key)
    return Watchlist(name, symbols, defaults, overrides, Path(str(path)))


# Rule keys whose value is a number; `false` turns off what the settings file turned on.
NUMBER_RULES = {
    **{rule: "a number (percent)" for rule in THRESHOLD_RULES},
    "fast_move_pct": "a number above 0 (percent)",
    "volume_spike": "a number above 0 (times the average minute volume)",
    "seal_drop_pct": "a number above 0 (percent of the day's largest seal)",
    "seal_below": "a number above 0 (the seal amount, quote currency)",
    "ah_premium_above": "a number (percent)",
    "ah_premium_below": "a number (percent)",
}
SIGNED_RULES = frozenset((*THRESHOLD_RULES, "ah_premium_above", "ah_premium_below"))  # may be 0 or below
BOOL_RULES = ("limit", "ladder_top")


def parse_rules(table: dict[str, Any], base: RuleSet, path: Path | str, text: str, section: str | None = None) -> RuleSet:
    """The rules of an [alerts] table over `base`; WatchlistError (file, line, column) for a bad value.
    The settings file's [alerts] table and the list editor's checks use it too."""
    rules = RuleSet(**vars(base))
    for key, value in table.items():
        if isinstance(value, dict):
            continue
        where = _locate_key(text, key, section)
        if key in BOOL_RULES:
            if not isinstance(value, bool):
                raise WatchlistError(path, f"'{key}' must be true or false", *where)
            setattr(rules, key, value)
        elif key in NUMBER_RULES:
            if value is False:
                setattr(rules, key, None)
                continue
            positive = key not in SIGNED_RULES
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or (positive and value <= 0):  # TOML has nan and inf: no threshold a price can cross
                raise WatchlistError(path, f"'{key}' must be {NUMBER_RULES[key]}", *where)
            setattr(rules, key, float(value))
        elif key == "fast_move_minutes":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 240:
                raise WatchlistError(path, "'fast_move_minutes' must be a whole number from 1 to 240", *where)
            rules.fast_move_minutes = value
        elif key == "sound":
            rules.sound = _sound(value, path, where)
        # Unknown keys are left alone: newer versions may add rules.
    return rules


def _sound(value: Any, path: Path | str, where: tuple[int, int] | tuple[()]) -> str:
    """"off", "default", a bundled name, or a .wav path (relative to the list's folder)."""
    if isinstance(value, str) and (value in ("off", "default") or value in SOUND_NAMES):
        return value
    if isinstance(value, str) and value.lower().endswith(".wav"):
        wav = Path(value).expanduser()
        if not wav.is_absolute() and Path(str(path)).is_file():
            wav = Path(str(path)).parent / wav
        return str(wav)
    names = ", ".join(sorted(SOUND_NAMES))
    raise WatchlistError(path, f"'sound' must be \"off\", \"default\", one of {names}, or a .wav path", *where)


def _locate_key(text: str, key: str, section: str | None = None) -> tuple[int, int] | tuple[()]:
    """Line and column of `key = ...`; with `section`, inside that [alerts...] table."""
    pattern = re.compile(rf"""^\s*(["']?){re.escape(key)}\1\s*=""")
    inside = section is None
    for n, line in enumerate(text.splitlines(), 1):
        header = line.split("#")[0].strip().replace(" ", "")
        if section is not None and header.startswith("["):
            # "" is the [alerts] table itself; a symbol is its [alerts."CODE.EX"] table.
            inside = header == "[alerts]" if section == "" else header.startswith("[alerts.") and section in header
            continue
        m = pattern.match(line)
        if inside and m:
            return n, len(line) - len(line.lstrip()) + 1
    return _locate(text, key)


def _locate(text: str, needle: str) -> tuple[int, int] | tuple[()]:
    """Line and column (1-based) of the first place `needle` appears as a key or string."""
    for n, line in enumerate(text.splitlines(), 1):
        for candidate in (f'"{needle}"', f"'{needle}'", needle):
            col = line.find(candidate)
            if col >= 0 and not line.lstrip().startswith("#"):
                return n, col + 1
    return ()

