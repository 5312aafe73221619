"""The settings file: defaults, where it is found, errors with line and column, rule layering."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketmon.config.settings import Settings, SettingsError, load_or_defaults, load_settings, parse_settings
from marketmon.config.watchlists import load

FULL = """\
# my settings
theme = "western"

[sound]
enabled = true
player = ["mpv", "--really-quiet"]   # the .wav path goes last
quiet_outside_trading = false
min_interval_s = 0.5

[alerts]
hysteresis = 0.8
cooldown_s = 120
pct_above = 6.0          # every list starts from these
fast_move_pct = 2.0
fast_move_minutes = 3
volume_spike_ratio = 4
volume_spike_minutes = 10
southbound_net_buy_above_hkd = 10e9

[alerts.cooldown]
fast_move = 60

[notify]
enabled = true
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    monkeypatch.delenv("MARKETMON_CONFIG", raising=False)
    return tmp_path


def test_no_file_means_defaults(home: Path) -> None:
    s = load_settings()
    assert s.path == home / "config" / "config.toml"
    assert (s.sound.enabled, s.sound.player, s.sound.quiet_outside_trading) == (True, "auto", True)
    assert s.notify is False and s.theme is None and s.southbound_net_buy_above_hkd is None
    assert (s.hysteresis, s.cooldown_s) == (1.0, 900.0)
    assert (s.alert_config().hysteresis, s.alert_config().cooldown_s) == (1.0, 900.0)
    assert s.rules.pct_above is None and s.rules.limit is True


def test_full_file(home: Path) -> None:
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text(FULL)
    s = load_settings()
    assert s.theme == "western" and s.notify is True
    assert s.sound.player == ["mpv", "--really-quiet"] and s.sound.min_interval_s == 0.5
    assert s.sound.quiet_outside_trading is False
    assert (s.rules.pct_above, s.rules.fast_move_pct, s.rules.fast_move_minutes, s.rules.volume_spike) == (6, 2, 3, 4)
    cfg = s.alert_config()
    assert (cfg.hysteresis, cfg.cooldown_s, cfg.cooldowns, cfg.volume_spike_minutes) == (0.8, 120, {"fast_move": 60}, 10)
    assert cfg.southbound_net_buy_above_hkd == 10e9


def test_where_the_file_is_found(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "env.toml"
    env.write_text('theme = "from-env"\n')
    given = tmp_path / "given.toml"
    given.write_text('theme = "given"\n')
    monkeypatch.setenv("MARKETMON_CONFIG", str(env))
    assert load_settings().theme == "from-env"
    assert load_settings(given).theme == "given"  # --config wins
    with pytest.raises(SettingsError, match="no such settings file"):
        load_settings(tmp_path / "missing.toml")  # a file asked for by name must exist


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('theme = "x"\n[sound]\nenabled = "yes"\n', (3, 1), "'[sound] enabled' must be true or false"),
        ("[sound]\nplayer = 'mpv'\n", (2, 1), "must be \"auto\" or a command as a list"),
        ("[alerts]\n\n  pct_above = '5'\n", (3, 3), "'pct_above' must be a number"),
        ("[alerts]\ncooldown_s = -1\n", (2, 1), "'[alerts] cooldown_s' must be a number, 0 or more"),
        ("[alerts.cooldown]\nfast_moves = 1\n", (2, 1), "unknown rule 'fast_moves'"),
        ("[sound\nenabled = true\n", (1, 7), ""),
        ("[alerts]\nfast_move_minutes = 1.5\n", (2, 1), "from 1 to 240"),
        ("notify = true\n", (1, 1), "'notify' must be a table"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_error_with_line_and_column(
    tmp_path: Path, text: str, where: tuple[int, int], message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert (err.value.line, err.value.column) == where
    assert str(err.value).startswith(f"{path}:{where[0]}:{where[1]}: ") and message in str(err.value)
    settings, error = load_or_defaults(path)  # the app: defaults, and the error to show
    assert error is not None and str(error) == str(err.value)
    assert settings.rules == Settings().rules and settings.sound == Settings().sound
    assert path.read_text() == text


def test_rules_layer_settings_then_list_then_symbol(tmp_path: Path) -> None:
    settings = parse_settings("[alerts]\npct_above = 6.0\npct_below = -6.0\nfast_move_pct = 2.0\n")
    path = tmp_path / "l.toml"
    path.write_text(
        'symbols = ["600519", "00700", "09988"]\n[alerts]\npct_above = 4.0\n'
        '[alerts."00700.HK"]\nfast_move_pct = false   # off for this one\n'
    )
    wl = load(path, base=settings.rules)
    cfg = settings.alert_config([wl])
    moutai, tencent = cfg.for_symbol("600519.SH"), cfg.for_symbol("00700.HK")
    assert (moutai.pct_above, moutai.pct_below, moutai.fast_move_pct) == (4.0, -6.0, 2.0)
    assert (tencent.pct_above, tencent.fast_move_pct) == (4.0, None)
    assert cfg.for_symbol("300750.SZ") == settings.rules  # not in a list: the settings' own


def test_first_list_naming_a_symbol_wins(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('symbols = ["600519"]\n[alerts]\npct_above = 3\n')
    b.write_text('symbols = ["600519", "00700"]\n[alerts]\npct_above = 7\n')
    cfg = Settings().alert_config([load(a), load(b)])
    assert cfg.for_symbol("600519.SH").pct_above == 3 and cfg.for_symbol("00700.HK").pct_above == 7


SINKS = """\
[sinks.desk]
type = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
secret_env = "DINGTALK_SECRET"
rules = ["limit_up", "limit_down"]
symbols = ["688521", "00700"]
min_interval_s = 60

[sinks.ops]
type = "webhook"
url = "http://127.0.0.1:8080/alerts"
lists = ["AI chips"]
queue = 20
timeout_s = 3
proxy = "http://127.0.0.1:7890"
"""


def test_sinks_are_read_with_their_filters_and_a_secret_from_the_environment() -> None:
    s = parse_settings(SINKS, "s.toml", env={"DINGTALK_SECRET": "SECxyz"})
    desk, ops = s.sinks
    assert (desk.name, desk.service, desk.secret, desk.min_interval_s) == ("desk", "dingtalk", "SECxyz", 60)
    assert desk.rules == {"limit_up", "limit_down"} and desk.symbols == {"688521.SH", "00700.HK"} and desk.lists is None
    assert (ops.service, ops.secret, ops.lists, ops.queue, ops.timeout_s, ops.rules, ops.proxy) == (
        "webhook", None, {"AI chips"}, 20, 3, None, "http://127.0.0.1:7890")  # fmt: skip
    assert desk.proxy is None
    assert s.secret_in_file is False
    assert parse_settings("").sinks == []


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ('[sinks.a]\ntype = "telegram"\nurl = "http://x"\n', "'[sinks.a] type' must be one of dingtalk, feishu", 2, 1),
        ('[sinks.a]\ntype = "slack"\n  url = "ftp://x"\n', "'[sinks.a] url' must be an http:// or https:// URL", 3, 3),
        ('[sinks.a]\ntype = "slack"\nurl = "http://x"\nsecret = "s"\n', "'[sinks.a] secret' must be left out: slack does not sign", 4, 1),
        ('[sinks.a]\ntype = "feishu"\nurl = "http://x"\nsecret_env = "NOT_SET_HERE"\n', "$NOT_SET_HERE is not set", 4, 1),
        ('[sinks.a]\ntype = "feishu"\nurl = "http://x"\nsecret = "s"\nsecret_env = "E"\n', "one or the other", 5, 1),
        ('[sinks.a]\ntype = "feishu"\nurl = "http://x"\nrules = ["limit_upp"]\n', "(not 'limit_upp')", 4, 1),
        ('[sinks.a]\ntype = "feishu"\nurl = "http://x"\nsymbols = ["nope"]\n', "'[sinks.a] symbols' must be symbols", 4, 1),
        ('[sinks.a]\ntype = "feishu"\nurl = "http://x"\nmin_interval_s = -1\n', "must be a number, 0 or more", 4, 1),
        ('[sinks.a]\ntype = "feishu"\nurl = "http://x"\ncolour = "red"\n', "unknown key 'colour' in [sinks.a]", 4, 1),
        ('[sinks]\ndesk = "dingtalk"\n', "'[sinks] desk' must be a table", 2, 1),
        ('theme = "china"\n\n[sinks.desk]\nurl = "http://x"\n', "[sinks.desk] needs a type", 3, 1),
        ('[sinks.desk]\ntype = "slack"\n', "[sinks.desk] needs a url", 1, 1),
        ('[sinks.a]\ntype = "slack"\nurl = "http://x"\nproxy = "socks"\n', "'[sinks.a] proxy' must be an http", 4, 1),
    ],
)
def test_a_bad_sink_is_one_error_with_line_and_column(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, "s.toml", env={"E": "x"})
    assert message in str(caught.value)
    assert (caught.value.path, caught.value.line, caught.value.column) == ("s.toml", line, column)


def test_a_secret_in_a_file_others_can_read_gets_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[sinks.a]\ntype = "feishu"\nurl = "https://x"\nsecret = "s"\n')
    path.chmod(0o640)
    assert "others can read it (mode 640)" in load_settings(path).warnings[0]
    path.chmod(0o600)
    assert load_settings(path).warnings == []
    path.write_text(SINKS.replace('secret_env = "DINGTALK_SECRET"\n', ""))
    path.chmod(0o644)  # no secret in the file: nothing to warn about
    assert load_settings(path).warnings == []
