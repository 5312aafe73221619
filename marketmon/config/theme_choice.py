"""The screen's own settings in the user's settings file: the chosen theme.

Read with tomllib; write with tomlkit so the user's comments and layout stay,
and through atomic_write so a crash never leaves half a file. A file that
does not parse is never overwritten.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from marketmon.config.files import atomic_write
from marketmon.config.toml_errors import toml_error


class ThemeFileError(Exception):
    """The settings file could not be read or the theme not saved: says which file, and where."""
    pass


def read_theme(path: Path) -> str | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
    theme = data.get("theme")
    return theme if isinstance(theme, str) else None


def save_theme(path: Path, name: str) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
    # tomllib first: it refuses what the reader refuses (a duplicate key, which
    # tomlkit reports as KeyAlreadyPresent, not as a ParseError).
    try:
        tomllib.loads(text)
        doc = tomlkit.parse(text)
    except tomllib.TOMLDecodeError as exc:
        _message, line, column = toml_error(exc, text)
        raise ThemeFileError(f"{path}:{line}:{column}: theme not saved, the file does not parse") from None
    except ParseError as exc:
        raise ThemeFileError(f"{path}:{exc.line}:{exc.col}: theme not saved, the file does not parse") from None
    except TOMLKitError as exc:
        raise ThemeFileError(f"{path}: theme not saved: {exc}") from None
    if doc.get("theme") == name:
        return
    doc["theme"] = name
    atomic_write(path, tomlkit.dumps(doc))
