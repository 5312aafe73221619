"""The settings file: sound, notification, alert defaults, theme.

Found at `--config FILE`, else $MARKETMON_CONFIG, else config.toml in the
user config folder. Read with tomllib; the app never writes it from here (the
theme picker in the TUI does, with tomlkit). A file that does not parse or
holds a wrong type gives one SettingsError naming file, line and column, and
the app runs on the defaults (`load_or_defaults`).

    theme = "marketmon-dark"
    [sound]
    enabled = true
    player = "auto"              # or a command list; the .wav path is appended
    quiet_outside_trading = true
    min_interval_s = 2.0
    [alerts]
    hysteresis = 1.0             # percentage points back before a rule re-arms
    cooldown_s = 900
    fast_move_pct = 2.0          # + any watchlist rule key, as defaults for every list
    fast_move_minutes = 5
    volume_spike_ratio = 3.0
    volume_spike_minutes = 20
    southbound_net_buy_above_hkd = 10e9
    [alerts.cooldown]            # per-rule cooldown_s
    fast_move = 120
    [notify]
    enabled = false
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketmon.alerts.rules import LIMIT_RULES, MARKET_RULES, MOTION_RULES, THRESHOLD_RULES, AlertConfig, RuleSet
from marketmon.alerts.sound import SoundSettings
from marketmon.config import paths
from marketmon.config.toml_errors import toml_error
from marketmon.config.watchlists import Watchlist, WatchlistError, parse_rules

RULE_NAMES = (*LIMIT_RULES, *THRESHOLD_RULES, *MOTION_RULES, *MARKET_RULES)
# The app's defaults, wider than a bare AlertConfig's (0.5 points, 300 s): on
# the seed day, intraday noise of a few tenths of a percent re-armed and
# re-fired a 5 % threshold within minutes with those. These alert once.
HYSTERESIS, COOLDOWN_S = 1.0, 900.0


class SettingsError(ValueError):
    def __init__(self, path: Path | str, message: str, line: int | None = None, column: int | None = None):
        self.path, self.line, self.column = str(path), line, column
        where = f"{path}:{line}:{column}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class Settings:
    sound: SoundSettings = field(default_factory=SoundSettings)
    notify: bool = False
    theme: str | None = None
    rules: RuleSet = field(default_factory=RuleSet)  # defaults under every list's [alerts]
    hysteresis: float = HYSTERESIS
    cooldown_s: float = COOLDOWN_S
    cooldowns: dict[str, float] = field(default_factory=dict)
    volume_spike_minutes: int = AlertConfig.volume_spike_minutes
    southbound_net_buy_above_hkd: float | None = None
    path: Path | None = None

    def alert_config(self, lists: Sequence[Watchlist] = ()) -> AlertConfig:
        """The engine's rules: these defaults, then each list's (first list naming a symbol wins).
        Load the lists with `base=settings.rules` so their [alerts] layer on these."""
        config = AlertConfig(
            default=self.rules, hysteresis=self.hysteresis, cooldown_s=self.cooldown_s,
            cooldowns=dict(self.cooldowns), volume_spike_minutes=self.volume_spike_minutes,
            southbound_net_buy_above_hkd=self.southbound_net_buy_above_hkd,
        )  # fmt: skip
        for wl in lists:
            for symbol in wl.symbols:
                config.per_symbol.setdefault(symbol, wl.rules_for(symbol))
        return config


def settings_path(given: str | Path | None = None) -> Path:
    if given:
        return Path(given)
    env = os.environ.get("MARKETMON_CONFIG")
    return Path(env) if env else paths.settings_file()


def load_settings(given: str | Path | None = None) -> Settings:
    """The settings; defaults when the default file does not exist. A file named
    with --config or MARKETMON_CONFIG must exist."""
    path = settings_path(given)
    explicit = bool(given or os.environ.get("MARKETMON_CONFIG"))
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        if explicit:
            raise SettingsError(path, "no such settings file") from None
        return Settings(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(path, f"cannot read: {exc}") from None
    return parse_settings(text, path)


def load_or_defaults(given: str | Path | None = None) -> tuple[Settings, SettingsError | None]:
    """For the app: never fails; a bad file means defaults plus the error to show."""
    try:
        return load_settings(given), None
    except SettingsError as exc:
        return Settings(path=settings_path(given)), exc


def parse_settings(text: str, path: Path | str = "<settings>") -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(path, *toml_error(exc, text)) from None
    r = _Reader(text, path)
    s = Settings(path=Path(str(path)))
    s.theme = r.get(data, "theme", str, "a string", None)
    sound = r.table(data, "sound")
    s.sound = SoundSettings(
        enabled=r.get(sound, "enabled", bool, "true or false", True, "sound"),
        player=r.player(sound),
        quiet_outside_trading=r.get(sound, "quiet_outside_trading", bool, "true or false", True, "sound"),
        min_interval_s=r.number(sound, "min_interval_s", 2.0, "sound"),
    )
    s.notify = r.get(r.table(data, "notify"), "enabled", bool, "true or false", False, "notify")
    alerts = r.table(data, "alerts")
    rule_keys = dict(alerts)
    if "volume_spike_ratio" in rule_keys:  # the settings name of the list key volume_spike
        rule_keys.setdefault("volume_spike", rule_keys["volume_spike_ratio"])
    try:
        s.rules = parse_rules(rule_keys, RuleSet(), path, text, section="")
    except WatchlistError as exc:
        raise SettingsError(path, exc.message, exc.line, exc.column) from None
    s.hysteresis = r.number(alerts, "hysteresis", s.hysteresis, "alerts")
    s.cooldown_s = r.number(alerts, "cooldown_s", s.cooldown_s, "alerts")
    s.volume_spike_minutes = int(r.number(alerts, "volume_spike_minutes", s.volume_spike_minutes, "alerts", whole=True))
    sb = alerts.get("southbound_net_buy_above_hkd")
    s.southbound_net_buy_above_hkd = None if sb is None else r.number(alerts, "southbound_net_buy_above_hkd", 0, "alerts")
    cooldowns = r.table(alerts, "cooldown", "alerts.cooldown")
    for rule in cooldowns:
        if rule not in RULE_NAMES:
            raise SettingsError(path, f"unknown rule {rule!r} in [alerts.cooldown]", *r.where(rule, "alerts.cooldown"))
        s.cooldowns[rule] = r.number(cooldowns, rule, 0, "alerts.cooldown")
    return s


class _Reader:
    """Typed access to the parsed tables; a wrong type names its line and column."""

    def __init__(self, text: str, path: Path | str) -> None:
        self.text, self.path = text, path

    def where(self, key: str, section: str | None) -> tuple[int, int] | tuple[()]:
        pattern = re.compile(rf"""^\s*(["']?){re.escape(key)}\1\s*=""")
        inside = section is None
        for n, line in enumerate(self.text.splitlines(), 1):
            header = line.split("#")[0].strip().replace(" ", "")
            if header.startswith("["):
                inside = header == f"[{section}]"
            elif inside and pattern.match(line):
                return n, len(line) - len(line.lstrip()) + 1
        return ()

    def fail(self, key: str, what: str, section: str | None) -> SettingsError:
        name = f"[{section}] {key}" if section else key
        return SettingsError(self.path, f"{name!r} must be {what}", *self.where(key, section))

    def get(self, table: dict[str, Any], key: str, kind: type, what: str, default: Any, section: str | None = None) -> Any:
        value = table.get(key, default)
        if value is not default and not isinstance(value, kind):
            raise self.fail(key, what, section)
        return value

    def number(self, table: dict[str, Any], key: str, default: float, section: str, whole: bool = False) -> float:
        value = table.get(key, default)
        ok = int if whole else int | float
        if isinstance(value, bool) or not isinstance(value, ok) or value < 0:
            raise self.fail(key, "a whole number, 0 or more" if whole else "a number, 0 or more", section)
        return value

    def table(self, data: dict[str, Any], key: str, section: str | None = None) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table", None if section is None else section.rsplit(".", 1)[0])
        return value

    def player(self, sound: dict[str, Any]) -> str | list[str]:
        value = sound.get("player", "auto")
        if value == "auto" or (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
            return value
        raise self.fail("player", '"auto" or a command as a list of strings', "sound")
