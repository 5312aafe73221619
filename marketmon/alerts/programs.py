"""External programs the alerts start (sound players, notifiers).

Started from an argument list, never a shell, in their own session (a
Ctrl-C meant for the app does not hit them), and never waited for: they
are reaped as they end, and `wait` is for tests and a clean exit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class Background:
    def __init__(self) -> None:
        self._running: list[subprocess.Popen[bytes]] = []

    def start(self, command: Sequence[str]) -> bool:
        """Start `command`; False if it could not be started."""
        self._running = [c for c in self._running if c.poll() is None]  # reap finished ones
        try:
            child = subprocess.Popen(
                list(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except OSError:
            return False
        self._running.append(child)
        return True

    def wait(self, timeout: float = 5.0) -> None:
        for child in self._running:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
        self._running.clear()
