"""Themes: TOML files turned into Textual `Theme`s.

The bundled files (package `marketmon.themes`) load first, then the user's
theme folder, so a user file with the same name replaces a bundled theme.
A broken file becomes one `ThemeError` naming file, line and column; the
other files still load.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from marketmon.config import paths

DEFAULT_THEME = "china"
BASE_COLOURS = (
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
)  # fmt: skip
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass
class ThemeError(Exception):
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        return f"{where}: {self.message}"


def load_all(user_dir: Path | None = None) -> tuple[dict[str, Theme], list[ThemeError]]:
    """Every theme we can load, by name, and one error per file we could not."""
    themes: dict[str, Theme] = {}
    errors: list[ThemeError] = []
    sources: list[tuple[str, str]] = []
    for entry in sorted(resources.files("marketmon.themes").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            sources.append((f"themes/{entry.name}", entry.read_text(encoding="utf-8")))
    folder = user_dir if user_dir is not None else paths.user_themes_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                sources.append((str(path), path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(ThemeError(str(path), f"cannot read: {exc}"))
    for name, text in sources:
        try:
            theme = parse(text, name)
        except ThemeError as exc:
            errors.append(exc)
            continue
        themes[theme.name] = theme
    return themes, errors


def parse(text: str, path: str = "<theme>") -> Theme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POS.search(str(exc))
        message = _TOML_POS.sub("", str(exc)).strip()
        raise ThemeError(path, message, *(map(int, m.groups()) if m else ())) from None
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise ThemeError(path, "'name' must be a non-empty string", *_locate(text, "name"))
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(path, "'dark' must be true or false", *_locate(text, "dark"))
    base: dict[str, Any] = {}
    for key in BASE_COLOURS:
        if key in data:
            base[key] = _colour(data[key], key, path, text)
    if "primary" not in base:
        raise ThemeError(path, "'primary' colour is required")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeError(path, "[variables] must be a table", *_locate(text, "variables"))
    checked = {str(k): _colour(v, str(k), path, text) for k, v in variables.items()}
    return Theme(name=name, dark=dark, variables=checked, **base)


def _colour(value: object, key: str, path: str, text: str) -> str:
    if not isinstance(value, str):
        raise ThemeError(path, f"'{key}' must be a colour string", *_locate(text, key))
    try:
        Color.parse(value.split()[0] if value.strip() else value)
    except ColorParseError:
        raise ThemeError(path, f"'{key}': {value!r} is not a colour", *_locate(text, key)) from None
    return value


def _locate(text: str, key: str) -> tuple[int, int] | tuple[()]:
    """Line and column (1-based) of the line that sets `key`."""
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for n, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return n, len(line) - len(line.lstrip()) + 1
    return ()
