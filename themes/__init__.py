"""Bundled themes: one TOML file per theme (see docs/themes)."""
