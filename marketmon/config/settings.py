"""The settings file: sound, notification, alert defaults, theme.

Found at `--config FILE`, else $MARKETMON_CONFIG, else config.toml in the
user config folder. Read with tomllib; the app never writes it from here (the
theme picker in the TUI does, with tomlkit). A file that does not parse or
holds a wrong type gives one SettingsError naming file, line and column, and
the app runs on the defaults (`load_or_defaults`).

    theme = "marketmon-dark"
    [display]
    names = "en"                 # "en": English names where the feed sends them; "zh": the Chinese ones (key n)
    units = "intl"               # "intl": 2.55T, 63.51M; "cn": amounts in 万/亿, A-share volumes in 手 (key U)
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
    [sinks.phone]                # alerts sent to a chat service (docs/alerts.md)
    type = "dingtalk"            # dingtalk, feishu, wecom, slack, discord, webhook
    url = "https://oapi.dingtalk.com/robot/send?access_token=..."
    secret_env = "DINGTALK_SECRET"   # or secret = "SEC..." (then keep the file private)
    rules = ["limit_up", "limit_down"]   # optional filters: rules, lists, symbols
    min_interval_s = 60
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketmon.alerts.delivery import QUEUE, TIMEOUT_S, Deliveries, SinkSpec
from marketmon.alerts.delivery_log import DeliveryLog
from marketmon.alerts.rules import (
    AH_RULES, LIMIT_RULES, MARKET_RULES, MOTION_RULES, SEAL_RULES, THRESHOLD_RULES, AlertConfig, RuleSet,
)
from marketmon.alerts.services import SERVICES, SIGNED
from marketmon.alerts.sound import SoundSettings
from marketmon.config import paths
from marketmon.config.toml_errors import toml_error
from marketmon.config.watchlists import Watchlist, WatchlistError, parse_rules
from marketmon.market.symbols import SymbolError, normalize

RULE_NAMES = (*LIMIT_RULES, *THRESHOLD_RULES, *MOTION_RULES, *MARKET_RULES, *SEAL_RULES, *AH_RULES)
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
    names: str = "en"  # [display] names: "en" or "zh"
    units: str = "intl"  # [display] units: "intl" or "cn"
    rules: RuleSet = field(default_factory=RuleSet)  # defaults under every list's [alerts]
    hysteresis: float = HYSTERESIS
    cooldown_s: float = COOLDOWN_S
    cooldowns: dict[str, float] = field(default_factory=dict)
    volume_spike_minutes: int = AlertConfig.volume_spike_minutes
    southbound_net_buy_above_hkd: float | None = None
    sinks: list[SinkSpec] = field(default_factory=list)
    secret_in_file: bool = False  # a [sinks] secret written in the file itself
    warnings: list[str] = field(default_factory=list)  # worth telling, not worth refusing the file
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
        # A new highest ladder step is market-wide: on when the settings or any list turn it on.
        config.ladder_top = self.rules.ladder_top or any(wl.defaults.ladder_top for wl in lists)
        return config


    def deliveries(self, lists_of: Callable[[str], Collection[str]] = lambda symbol: ()) -> Deliveries | None:
        """The [sinks] started, logging to the data folder; None when the file names none.
        `lists_of(symbol)`: the names of the watchlists holding it (a sink's `lists`)."""
        if not self.sinks:
            return None
        return Deliveries(self.sinks, DeliveryLog(paths.delivery_log_file()), lists_of)


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
    settings = parse_settings(text, path)
    if settings.secret_in_file:
        mode = path.stat().st_mode & 0o777
        if mode & 0o044:
            settings.warnings.append(
                f"{path} holds a sink secret and others can read it (mode {mode:o}): "
                f"chmod 600 it, or use secret_env"
            )
    return settings


def load_or_defaults(given: str | Path | None = None) -> tuple[Settings, SettingsError | None]:
    """For the app: never fails; a bad file means defaults plus the error to show."""
    try:
        return load_settings(given), None
    except SettingsError as exc:
        return Settings(path=settings_path(given)), exc


def parse_settings(text: str, path: Path | str = "<settings>", env: Mapping[str, str] | None = None) -> Settings:
    """`env`: where secret_env is looked up (os.environ unless given)."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(path, *toml_error(exc, text)) from None
    r = _Reader(text, path)
    s = Settings(path=Path(str(path)))
    s.theme = r.get(data, "theme", str, "a string", None)
    display = r.table(data, "display")
    for key, allowed in (("names", ("en", "zh")), ("units", ("intl", "cn"))):
        value = r.get(display, key, str, " or ".join(f'"{a}"' for a in allowed), getattr(s, key), "display")
        if value not in allowed:
            raise r.fail(key, " or ".join(f'"{a}"' for a in allowed), "display")
        setattr(s, key, value)
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
    for name, table in r.table(data, "sinks").items():
        if not isinstance(table, dict):
            raise r.fail(name, "a table: [sinks.NAME] with type and url", "sinks")
        s.sinks.append(r.sink(name, table, env))
        s.secret_in_file |= "secret" in table
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

    def header(self, section: str) -> tuple[int, int] | tuple[()]:
        """Where the table [section] starts."""
        for n, line in enumerate(self.text.splitlines(), 1):
            if line.split("#")[0].strip().replace(" ", "") == f"[{section}]":
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

    def sink(self, name: str, table: dict[str, Any], env: Mapping[str, str]) -> SinkSpec:
        """One [sinks.NAME] table; the secret taken from the environment when secret_env names it."""
        section = f"sinks.{name}"
        for key in table:
            if key not in SINK_KEYS:
                raise SettingsError(self.path, f"unknown key {key!r} in [{section}]", *self.where(key, section))
        for key in ("type", "url"):
            if key not in table:
                raise SettingsError(self.path, f"[{section}] needs a {key}", *self.header(section))
        service = table.get("type")
        if service not in SERVICES:
            raise self.fail("type", "one of " + ", ".join(SERVICES), section)
        url = table.get("url")
        if not isinstance(url, str) or not re.match(r"https?://[^\s/]+", url):
            raise self.fail("url", "an http:// or https:// URL", section)
        secret = self.get(table, "secret", str, "a string", None, section)
        secret_env = self.get(table, "secret_env", str, "the name of an environment variable", None, section)
        if secret is not None and secret_env is not None:
            raise self.fail("secret_env", "given without secret (one or the other)", section)
        if (secret is not None or secret_env is not None) and service not in SIGNED:
            key = "secret" if secret is not None else "secret_env"
            raise self.fail(key, f"left out: {service} does not sign (only {', '.join(SIGNED)})", section)
        if secret_env is not None:
            secret = env.get(secret_env)
            if not secret:
                raise self.fail("secret_env", f"a set environment variable (${secret_env} is not set)", section)

        def names(key: str) -> frozenset[str] | None:
            value = table.get(key)
            if value is None:
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise self.fail(key, "a list of strings", section)
            return frozenset(value)

        rules = names("rules")
        for rule in sorted(rules or ()):
            if rule not in RULE_NAMES:
                raise self.fail("rules", "rule names: " + ", ".join(RULE_NAMES) + f" (not {rule!r})", section)
        symbols = names("symbols")
        if symbols is not None:
            try:
                symbols = frozenset(normalize(v) for v in symbols)
            except SymbolError as exc:
                raise self.fail("symbols", f"symbols ({exc})", section) from None
        queue = self.number(table, "queue", QUEUE, section, whole=True)
        proxy = self.get(table, "proxy", str, "an http:// URL", None, section)
        if proxy is not None and not re.match(r"https?://[^\s/]+", proxy):
            raise self.fail("proxy", "an http:// or https:// URL", section)
        return SinkSpec(
            name=name, service=service, url=url, secret=secret or None, rules=rules, lists=names("lists"),
            symbols=symbols, min_interval_s=self.number(table, "min_interval_s", 0.0, section),
            queue=max(int(queue), 1), timeout_s=self.number(table, "timeout_s", TIMEOUT_S, section) or TIMEOUT_S,
            proxy=proxy,
        )  # fmt: skip


SINK_KEYS = (
    "type", "url", "secret", "secret_env", "rules", "lists", "symbols", "min_interval_s", "queue", "timeout_s", "proxy",
)  # fmt: skip
