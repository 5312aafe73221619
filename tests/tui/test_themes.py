"""Theme files and the saved theme choice."""

from __future__ import annotations

import colorsys
from pathlib import Path

import pytest
from textual.color import Color

from marketmon.config import theme_choice
from marketmon.tui import themes

APP_VARIABLES = ("price-up", "price-down", "price-flat", "limit-up", "limit-down", "limit-text", "flash",
                 "muted", "demo", "feed-ok", "feed-bad")  # fmt: skip
TCSS = Path(__file__).parents[2] / "marketmon" / "tui" / "app.tcss"


def hue(colour: str) -> float:
    r, g, b = (c / 255 for c in Color.parse(colour).rgb)
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


@pytest.fixture
def bundled(tmp_path: Path) -> dict:
    found, errors = themes.load_all(tmp_path / "no-user-themes")
    assert errors == []
    return found


def test_the_four_bundled_themes_define_every_app_colour(bundled):
    assert {"china", "western", "light", "colorblind"} <= set(bundled)
    for theme in bundled.values():
        missing = [v for v in APP_VARIABLES if v not in theme.variables]
        assert not missing, (theme.name, missing)


def test_every_variable_the_stylesheets_use_is_defined_by_every_theme(bundled):
    import re

    for theme in bundled.values():
        defined = set(theme.to_color_system().generate()) | set(theme.variables)
        for sheet in (TCSS, TCSS.with_name("panels.tcss")):
            used = set(re.findall(r"\$([a-z][a-z0-9-]*)", sheet.read_text()))
            assert used <= defined, (theme.name, sheet.name, used - defined)


def test_conventions_red_up_in_china_green_up_in_the_west(bundled):
    def is_red(c: str) -> bool:
        return hue(c) < 20 or hue(c) > 340

    def is_green(c: str) -> bool:
        return 90 < hue(c) < 170

    china, western = bundled["china"].variables, bundled["western"].variables
    assert is_red(china["price-up"]) and is_green(china["price-down"])
    assert is_green(western["price-up"]) and is_red(western["price-down"])
    assert bundled["light"].dark is False


def test_colorblind_theme_uses_blue_and_orange_not_red_and_green(bundled):
    v = bundled["colorblind"].variables
    assert 180 < hue(v["price-up"]) < 240  # blue
    assert 20 < hue(v["price-down"]) < 45  # orange
    for name in ("limit-up", "limit-down"):
        assert not (hue(v[name]) < 15 or 90 < hue(v[name]) < 170), name


def test_a_user_theme_replaces_a_bundled_one_and_a_broken_one_is_reported(tmp_path):
    (tmp_path / "china.toml").write_text('name = "china"\nprimary = "#000000"\n[variables]\nprice-up = "#ff00ff"\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nprimary = "#000000"\nsecondary = "not a colour"\n')
    (tmp_path / "worse.toml").write_text('name = "worse"\nprimary = "#000"\n[variables\n')
    found, errors = themes.load_all(tmp_path)
    assert found["china"].variables["price-up"] == "#ff00ff"
    assert "western" in found and "bad" not in found and "worse" not in found
    by_file = {Path(e.path).name: e for e in errors}
    assert (by_file["bad.toml"].line, by_file["bad.toml"].column) == (3, 1)
    assert by_file["worse.toml"].line == 3 and "worse.toml:3:" in str(by_file["worse.toml"])


def test_primary_is_required():
    with pytest.raises(themes.ThemeError, match="primary"):
        themes.parse('name = "x"\n', "x.toml")


def test_saving_the_theme_keeps_comments_and_other_settings(tmp_path):
    path = tmp_path / "config.toml"
    assert theme_choice.read_theme(path) is None
    theme_choice.save_theme(path, "western")  # a new file
    assert theme_choice.read_theme(path) == "western"
    path.write_text('# my settings\ntheme = "western"  # the one I like\n\n[sound]\nenabled = true # beep\n')
    theme_choice.save_theme(path, "light")
    text = path.read_text()
    assert theme_choice.read_theme(path) == "light"
    assert "# my settings" in text and "enabled = true # beep" in text and "[sound]" in text


def test_a_settings_file_that_does_not_parse_is_never_overwritten(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("theme = \n[broken\n")
    with pytest.raises(theme_choice.ThemeFileError, match="config.toml:1"):
        theme_choice.save_theme(path, "light")
    assert path.read_text() == "theme = \n[broken\n"
    with pytest.raises(theme_choice.ThemeFileError):
        theme_choice.read_theme(path)


def test_a_duplicate_key_is_refused_like_the_reader_refuses_it(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('theme = "light"\ntheme = "western"\n')
    with pytest.raises(theme_choice.ThemeFileError, match="config.toml:2:"):
        theme_choice.save_theme(path, "china")
    assert path.read_text() == 'theme = "light"\ntheme = "western"\n'
