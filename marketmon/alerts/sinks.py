"""Where an alert goes once it fired: history, sound, desktop notification, chat sinks.

One `AlertSinks` is the `on_alert` callback of the engine, for `watch` and
for the TUI alike (the TUI adds its alert panel on top). A sink that fails
(disk full, player gone) is reported through `on_error` and does not stop
the others: a lost history line must not cost the trader the sound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from marketmon.alerts.delivery import Deliveries
from marketmon.alerts.history import AlertHistory
from marketmon.alerts.notify import Notifier
from marketmon.alerts.rules import Alert, RuleSet
from marketmon.alerts.sound import Player, sound_for
from marketmon.market.symbols import SymbolError, classify


def market_of(symbol: str) -> str | None:
    """"HK" or "CN" for an instrument; None for market-wide alerts (Southbound)."""
    try:
        return classify(symbol).market
    except SymbolError:
        return None


@dataclass
class AlertSinks:
    history: AlertHistory | None = None
    player: Player | None = None
    notifier: Notifier | None = None
    deliveries: Deliveries | None = None  # the [sinks.NAME] of the settings file (delivery.py)
    rules: Callable[[str], RuleSet] = lambda symbol: RuleSet()  # the symbol's rules, for `sound`
    on_error: Callable[[str], None] = lambda message: None

    def __call__(self, alert: Alert) -> None:
        if self.history is not None:
            try:
                self.history.append(alert)
            except OSError as exc:
                self.on_error(f"alert history not written: {exc}")
        if self.player is not None:
            try:
                self.player.play(sound_for(alert.rule, self.rules(alert.symbol).sound), market=market_of(alert.symbol))
            except OSError as exc:
                self.on_error(f"alert sound not played: {exc}")
        if self.notifier is not None:
            self.notifier.notify(alert)
        if self.deliveries is not None:
            self.deliveries.submit(alert)  # a queue append: the HTTP runs on its own thread

    def failing(self) -> list[str]:
        """The chat sinks whose last delivery failed (for the status bar)."""
        return self.deliveries.failing() if self.deliveries is not None else []

    def wait(self) -> None:
        """Let players and notifiers finish (at exit, and in tests)."""
        if self.player is not None:
            self.player.wait()
        if self.notifier is not None:
            self.notifier.wait()
        self.close()

    def close(self, timeout: float = 10.0) -> None:
        """Give the chat sinks `timeout` seconds to send what waits, then stop them."""
        if self.deliveries is not None:
            self.deliveries.drain(timeout)
            self.deliveries.close()
