"""Desktop notifications: notify-send (Linux) or osascript (macOS). Off by default.

Started as argument lists, never through a shell, and never waited for. The
alert text comes from the feed, so it is passed as data: to notify-send as
arguments (with markup characters escaped, since some servers render a
subset of HTML), and to osascript as `argv` of a fixed script rather than
spliced into AppleScript source.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from marketmon.alerts.programs import Background
from marketmon.alerts.rules import Alert
from marketmon.feed.safe_text import printable

_OSASCRIPT = ("on run argv", "display notification (item 2 of argv) with title (item 1 of argv)", "end run")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def command_for(title: str, body: str) -> list[str] | None:
    """The notification command for this system, or None when there is none."""
    exe = shutil.which("notify-send")
    if exe:
        # "--": a name from the feed that starts with "-" is text, not an option.
        return [exe, "--app-name=marketmon", "--", printable(title), _escape(printable(body))]
    exe = shutil.which("osascript")
    if exe:
        script = [arg for line in _OSASCRIPT for arg in ("-e", line)]
        return [exe, *script, printable(title), printable(body)]
    return None


@dataclass
class Notifier:
    enabled: bool = False

    def __post_init__(self) -> None:
        self._notifiers = Background()

    def notify(self, alert: Alert) -> bool:
        """Show the alert; False when off or no notifier exists."""
        if not self.enabled:
            return False
        command = command_for(f"{alert.symbol} {alert.rule}", alert.message)
        return command is not None and self._notifiers.start(command)

    def wait(self, timeout: float = 5.0) -> None:
        self._notifiers.wait(timeout)
