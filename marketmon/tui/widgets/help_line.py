"""The help line at the bottom: Textual's footer, fitted to a small terminal.

Compact (a narrow terminal), it leaves out the keys a trader needs least
while watching; every key stays on the help screen (`?`). A label cut in
half helps nobody.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Actions left out of the compact help line (still on `?`).
LEFT_OUT_WHEN_NARROW = frozenset({"sort_reverse", "theme_next", "mute", "remove_symbol"})


class HelpLine(Footer):
    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if self.compact and isinstance(widget, FooterKey) and widget.action in LEFT_OUT_WHEN_NARROW:
                continue
            yield widget

    def watch_compact(self, compact: bool) -> None:
        self.call_after_refresh(self.recompose)  # the keys shown depend on it
