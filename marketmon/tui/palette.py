"""Colours for Rich text, taken from the theme through component classes.

A widget that builds `rich.text.Text` itself cannot use `$price-up` directly,
so each tone is a component class (`mm--up`, ...) that app.tcss colours
with theme variables; `tone("up")` reads the resulting style. Nothing here
names a colour.
"""

from __future__ import annotations

from rich.style import Style

TONES = (
    "up", "down", "flat", "limit-up", "limit-down", "flash", "muted", "label",
    "demo", "ok", "bad", "title", "limit-up-line", "limit-down-line", "avg",
)  # fmt: skip
COMPONENT_CLASSES = frozenset(f"mm--{t}" for t in TONES)


class Tones:
    """Mixin for widgets: `COMPONENT_CLASSES = palette.COMPONENT_CLASSES`."""

    # Textual drops its style cache on every style update of a widget (a
    # DataTable has many), which made each lookup cost ~50 us. Tones change
    # only when the app's CSS variables do, so they are kept until the app
    # has a new variables dict (it makes one on every CSS refresh, after the
    # components are restyled; holding the old one keeps the check exact).
    _tones: dict[str, Style]
    _tones_for: object = None

    def tone(self, name: str) -> Style:
        variables = self.app.theme_variables  # type: ignore[attr-defined]
        if self._tones_for is not variables:
            self._tones, self._tones_for = {}, variables
        style = self._tones.get(name)
        if style is None:
            style = self._tones[name] = self.get_component_rich_style(f"mm--{name}", partial=True)  # type: ignore[attr-defined]
        return style
