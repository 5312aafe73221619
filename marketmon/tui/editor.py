"""The dialogs of watchlist editing: find a symbol, pick a list, name a list,
confirm, set thresholds. They only ask; `list_edit.py` writes the files.

Every text shown here that came from a file or the feed (names, list titles,
error messages) goes in as `Text`, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from marketmon.alerts.engine import RuleSet
from marketmon.config.editing import EditError, rule_keys
from marketmon.market.symbols import SymbolError, normalize
from marketmon.text import printable

MAX_HITS = 40


@dataclass(frozen=True)
class Instrument:
    symbol: str
    name: str


def search(instruments: Sequence[Instrument], query: str, limit: int = MAX_HITS) -> list[Instrument]:
    """Instruments whose code or name holds the query: codes starting with it
    first, then other code matches, then names. A code the feed does not have
    (yet) but that is well formed comes first, so any valid code can be added."""
    q = query.strip()
    if not q:
        return list(instruments[:limit])
    low = q.lower()
    starts, inside, named = [], [], []
    for inst in instruments:
        code = inst.symbol.lower()
        if code.startswith(low):
            starts.append(inst)
        elif low in code:
            inside.append(inst)
        elif low in inst.name.lower():
            named.append(inst)
    hits = starts + inside + named
    try:
        exact = normalize(q)
    except SymbolError:
        exact = None
    if exact is not None:
        known = next((i for i in instruments if i.symbol == exact), Instrument(exact, ""))
        hits = [known, *(h for h in hits if h.symbol != exact)]
    return hits[:limit]


class SymbolSearch(ModalScreen[str | None]):
    """Type a code (any form: 688521, sh688521, 700.hk) or part of a name."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("down", "down", show=False),
                Binding("up", "up", show=False)]  # fmt: skip

    def __init__(self, title: str, instruments: Sequence[Instrument]) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.instruments = title, list(instruments)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(placeholder="code or name: 688521, VeriSilicon, 700.hk, 中芯", id="search-query")
            yield OptionList(id="search-hits")
            yield Static(Text("Enter adds the highlighted one. Esc cancels."), id="search-note", classes="dialog-note")

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed, "#search-query")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        hits = search(self.instruments, query)
        box = self.query_one("#search-hits", OptionList)
        box.clear_options()
        box.add_options(Option(self._line(h), id=h.symbol) for h in hits)
        if hits:
            box.highlighted = 0
        note = "Enter adds the highlighted one. Esc cancels."
        if query.strip() and not hits:
            note = f"No instrument matches {query.strip()!r}: type a code such as 600519 or 700.hk, or part of a name."
        self.query_one("#search-note", Static).update(Text(note))

    @staticmethod
    def _line(inst: Instrument) -> Text:
        line = Text(f"{inst.symbol:<11}")
        line.append(printable(inst.name) if inst.name else "not in the feed now", style="" if inst.name else "dim")
        return line

    def action_down(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_up()

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        box = self.query_one("#search-hits", OptionList)
        if box.highlighted is not None:
            self.dismiss(box.get_option_at_index(box.highlighted).id)

    @on(OptionList.OptionSelected, "#search-hits")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ChooseList(ModalScreen[int | None]):
    """Pick one of several lists; returns its index in `titles`."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, titles: Sequence[str]) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.titles = title, list(titles)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield OptionList(*(Option(Text(printable(t))) for t in self.titles), id="choose-list")
            yield Static(Text("Enter picks. Esc cancels."), classes="dialog-note")

    @on(OptionList.OptionSelected, "#choose-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)


class AskText(ModalScreen[str | None]):
    """One line of text (a list's name); empty input is refused."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text, self.value, self.placeholder = title, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="ask-text")
            yield Static(Text("Enter saves. Esc cancels."), id="ask-note", classes="dialog-note")

    @on(Input.Submitted, "#ask-text")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.query_one("#ask-note", Static).update(Text("A name is needed (Esc cancels)."))


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y", "dismiss(True)", "Yes"), Binding("n,escape", "dismiss(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self.question), classes="dialog-title")
            yield Static(Text("y: yes    n / Esc: no"), classes="dialog-note")


# Thresholds -------------------------------------------------------------------

RULE_HELP = {
    "limit": "alert on limit hit / broken (true / false)",
    "pct_above": "day change at or above, % (e.g. 5)",
    "pct_below": "day change at or below, % (e.g. -5)",
    "premium_above": "ETF premium to IOPV above, %",
    "discount_below": "ETF discount to IOPV below, % (e.g. -1)",
    "fast_move_pct": "a move of this many % ...",
    "fast_move_minutes": "... within this many minutes",
    "volume_spike": "a minute's volume, times the average",
    "sound": "off, default, a bundled name or a .wav path",
}


# Shown in this order: each fast-move field beside its partner.
FIELD_ORDER = ("limit", "pct_above", "pct_below", "premium_above", "discount_below",
               "fast_move_pct", "fast_move_minutes", "volume_spike", "sound")  # fmt: skip


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
    if key == "limit":
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ValueError("'limit' is true or false")
    if low in ("false", "off", "no"):
        return False  # turns off what the list or the settings file turned on
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        raise ValueError(f"'{key}' must be a number, or off") from None
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
