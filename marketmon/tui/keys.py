"""Every key of the monitor, in one table: the bindings, the help screen and
the command palette are all made from it, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str  # app action ("" for keys that widgets handle themselves)
    description: str
    shown: str  # how the help screen writes the keys
    label: str = ""  # short footer label (default: the description)
    footer: bool = False
    priority: bool = False
    palette: bool = True  # also a command palette entry


VIEWS = (
    # name, title, key, short title (the panel bar of a small terminal)
    ("watch", "Watchlists", "w", "Watch"),
    ("detail", "Chart", "d", "Chart"),
    ("limits", "Limit board", "l", "Limits"),
    ("etf", "ETF premium", "e", "ETF"),
    ("southbound", "Southbound", "b", "South"),
    ("alerts", "Alerts", "a", "Alerts"),
    ("board", "Ladder 连板天梯, breadth, A/H premium", "u", "Ladder"),
)

KEYS = (
    Key("question_mark", "help", "Help: every key", "?", "Help", footer=True),
    Key("q", "quit", "Quit", "q", footer=True),
    # Textual binds Ctrl+C to a "press Ctrl+Q" hint; a monitor in a terminal quits on it.
    Key("ctrl+c", "quit", "Quit", "Ctrl+C / Ctrl+Q", priority=True, palette=False),
    Key("slash", "filter", "Filter the watchlist by code or name", "/", "Filter", footer=True),
    Key("s", "sort_next", "Sort by the next column", "s", "Sort", footer=True),
    Key("r", "sort_reverse", "Reverse the sort order", "r", "Reverse", footer=True),
    Key("t", "theme_next", "Next theme (kept across restarts)", "t", "Theme", footer=True),
    Key("m", "mute", "Mute / unmute alert sounds", "m", "Mute", footer=True),
    Key("n", "names_toggle", "Names: English / Chinese (中文)", "n"),
    Key("U", "units_toggle", "Units: K/M/B/T / 万/亿 and volumes in 手", "U"),
    Key("v", "view_next", "Next panel (small screens) / zoom the next panel", "v", "Panels", footer=True),
    Key("escape", "back", "Back: close the filter, leave a zoomed panel", "Esc", palette=False),
    Key("tab", "list_next", "Next watchlist", "Tab", priority=True),
    Key("shift+tab", "list_prev", "Previous watchlist", "Shift+Tab", priority=True),
    Key("plus,insert", "add_symbol", "Add a symbol to this list (search by code or name)", "+ / Ins", "Add", footer=True),
    Key("minus,delete", "remove_symbol", "Remove the selected symbol from this list", "- / Del", "Remove", footer=True),
    Key("J", "move_symbol(1)", "Move the selected symbol down the list", "J"),
    Key("K", "move_symbol(-1)", "Move the selected symbol up the list", "K"),
    Key("M", "move_to_list", "Move the selected symbol to another list", "M"),
    Key("T", "thresholds", "Alert thresholds of the symbol or the list", "T", "Alerts", footer=True),
    Key("N", "new_list", "New watchlist", "N"),
    Key("R", "rename_list", "Rename this watchlist", "R"),
    Key("D", "delete_list", "Delete this watchlist (its file goes to .trash)", "D"),
    Key("j", "move(1)", "Move down", "j / ↓", palette=False),
    Key("k", "move(-1)", "Move up", "k / ↑", palette=False),
    Key("enter", "", "Open the chart of the selected instrument", "Enter", palette=False),
    *(Key(str(n), f"list({n})", f"Watchlist {n}", "1-9", palette=False) for n in range(1, 10)),
    *(Key(key, f"view('{name}')", f"Show {title}", key, palette=False) for name, title, key, _short in VIEWS),
    Key("ctrl+p", "command_palette", "Command palette: every action", "Ctrl+P", palette=False),
)

# The app's own actions, by name, that a key runs on the main screen; with a dialog
# open the app refuses them (MarketmonApp.check_action). Quit stays: Ctrl+C always quits.
SCREEN_ACTIONS = frozenset(k.action.split("(")[0] for k in KEYS if k.action) - {"quit", "command_palette"}


def bindings() -> list[Binding]:
    # ctrl+p is Textual's own palette binding; j/k/enter on the table are the table's.
    # One Binding per key name: the footer shows the first, the others work the same.
    return [
        Binding(key, k.action, k.label or k.description, show=k.footer and n == 0, priority=k.priority)
        for k in KEYS
        if k.action and k.keys not in ("ctrl+p",)
        for n, key in enumerate(k.keys.split(","))
    ]


def help_rows() -> list[tuple[str, str]]:
    """(keys, what) for the help screen, one row per distinct line."""
    rows: list[tuple[str, str]] = []
    seen = set()
    for k in KEYS:
        if k.shown == "1-9":
            row = ("1-9", "Switch to watchlist 1-9")
        else:
            row = (k.shown, k.description)
        if row not in seen:
            seen.add(row)
            rows.append(row)
    rows.append(("PgUp / PgDn", "Page through the watchlist (Home / End: first and last row; ← →: scroll)"))
    rows.append(("click", "A tab switches; a column header sorts by it; a row selects it"))
    return rows
