"""The thresholds dialog: a list's or a symbol's alert rules, field by field.

It only asks and checks each value as the watchlist reader would; the caller
writes the file. Error messages are shown as `Text`, never as markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from marketmon.alerts.rules import RuleSet
from marketmon.config.editing import EditError, rule_keys
from marketmon.feed.safe_text import printable

RULE_HELP = {
    "limit": "alert on limit hit / broken (true / false)",
    "pct_above": "day change at or above, % (e.g. 5)",
    "pct_below": "day change at or below, % (e.g. -5)",
    "premium_above": "ETF premium to IOPV above, %",
    "discount_below": "ETF discount to IOPV below, % (e.g. -1)",
    "fast_move_pct": "a move of this many % ...",
    "fast_move_minutes": "... within this many minutes",
    "volume_spike": "a minute's volume, times the average",
    "seal_drop_pct": "limit-up seal (封单) down this % from its largest",
    "seal_below": "limit-up seal below this amount (e.g. 1e8)",
    "ah_premium_above": "A/H premium of its pair above, %",
    "ah_premium_below": "A/H premium of its pair below, %",
    "ladder_top": "a new highest ladder step, market-wide",
    "sound": "off, default, a bundled name or a .wav path",
}


# Shown in this order: each fast-move field beside its partner.
FIELD_ORDER = ("limit", "pct_above", "pct_below", "premium_above", "discount_below",
               "fast_move_pct", "fast_move_minutes", "volume_spike", "seal_drop_pct", "seal_below",
               "ah_premium_above", "ah_premium_below", "ladder_top", "sound")  # fmt: skip


def fields() -> list[str]:
    """Every rule key set_rule takes, in FIELD_ORDER (a key added later goes last)."""
    keys = rule_keys()
    return [k for k in FIELD_ORDER if k in keys] + [k for k in keys if k not in FIELD_ORDER]


def parse_rule(key: str, text: str) -> Any:
    """What the trader typed, as the TOML value for `key` (None: remove the key)."""
    text = text.strip()
    if not text:
        return None
    low = text.lower()
    if key == "sound":
        return text
    if key in ("limit", "ladder_top"):
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"'{key}' is true or false")
    if low in ("false", "off", "no"):
        return False  # turns off what the list or the settings file turned on
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        raise ValueError(f"'{key}' must be a number, or off") from None
    if not math.isfinite(number):  # float() takes "nan" and "inf": no threshold a price can cross
        raise ValueError(f"'{key}' must be a finite number, or off")
    if key == "fast_move_minutes":
        if not number.is_integer():
            raise ValueError("'fast_move_minutes' must be a whole number")
        return int(number)
    return int(number) if number.is_integer() else number


def _same(a: Any, b: Any) -> bool:
    """Equal as TOML values: `false` is not `0`, though Python says False == 0."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def show_rule(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


class Thresholds(ModalScreen[bool]):
    """Alert rules of one symbol or of the whole list, as the file holds them.

    An empty field means "inherit": the list's default for a symbol, the
    settings file's for a list (shown greyed as the placeholder). `save`
    writes; an EditError (a bad value) is shown here and nothing is written.
    """

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(
        self,
        *,
        symbol: str | None,
        list_title: str,
        explicit: Callable[[str | None], dict[str, Any]],
        inherited: Callable[[str | None], RuleSet],
        save: Callable[[str | None, dict[str, Any]], None],
    ) -> None:
        super().__init__(classes="dialog")
        self.symbol, self.list_title = symbol, list_title
        self.explicit, self.inherited, self.save = explicit, inherited, save
        self.scope: str | None = symbol  # the symbol, or None for the whole list

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box thresholds"):
            yield Label(Text(f"Alert thresholds: {printable(self.list_title)}"), classes="dialog-title")
            with RadioSet(id="rule-scope"):
                if self.symbol is not None:
                    yield RadioButton(Text(f"{self.symbol} only"), value=True, id="scope-symbol")
                yield RadioButton(Text("every symbol of the list"), value=self.symbol is None, id="scope-list")
            with Grid(id="rule-grid"):
                for key in fields():
                    yield Label(Text(key))
                    yield Input(id=f"rule-{key}")
                    yield Label(Text(RULE_HELP.get(key, "")), classes="dialog-note")
            yield Static(Text("Enter or Ctrl+S saves, Esc cancels; empty = inherit (shown grey)."),
                         id="rule-note", classes="dialog-note")  # fmt: skip

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#rule-pct_above", Input).focus()

    def _fill(self) -> None:
        values, base = self.explicit(self.scope), self.inherited(self.scope)
        for key in fields():
            box = self.query_one(f"#rule-{key}", Input)
            box.value = show_rule(values.get(key))
            inherited = getattr(base, key, None)
            box.placeholder = show_rule(inherited) if inherited is not None else "off"

    @on(RadioSet.Changed, "#rule-scope")
    def _scope(self, event: RadioSet.Changed) -> None:
        self.scope = self.symbol if event.pressed.id == "scope-symbol" else None
        self._fill()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        before = self.explicit(self.scope)
        changed: dict[str, Any] = {}
        try:
            for key in fields():
                value = parse_rule(key, self.query_one(f"#rule-{key}", Input).value)
                if not _same(value, before.get(key)):
                    changed[key] = value  # only what changed: untouched lines keep their comments
            if changed:
                self.save(self.scope, changed)
        except (ValueError, OSError) as exc:  # EditError is a ValueError: a bad value, nothing written
            message = exc.message if isinstance(exc, EditError) else str(exc)
            self.query_one("#rule-note", Static).update(Text(f"Not saved: {message}"))
            return
        self.dismiss(True)
