"""Where the user's files live (platformdirs), overridable for tests and portable use.

MARKETMON_HOME=/some/dir puts config, data and state under that one folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "marketmon"


def _home() -> Path | None:
    home = os.environ.get("MARKETMON_HOME")
    return Path(home) if home else None


def config_dir() -> Path:
    """Settings, the user's watchlists and themes."""
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Alert history and other files the app writes by itself."""
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP))


def settings_file() -> Path:
    explicit = os.environ.get("MARKETMON_CONFIG")
    return Path(explicit) if explicit else config_dir() / "config.toml"


def user_watchlists_dir() -> Path:
    return config_dir() / "watchlists"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def market_lists_dir() -> Path:
    """Where a live source's whole-market list is kept for the day."""
    return data_dir() / "markets"


def flow_record_file() -> Path:
    """The Southbound flow history a live bridge keeps, day by day (serve/flow_record.py)."""
    return data_dir() / "southbound-flow.json"


def alert_history_file() -> Path:
    return data_dir() / "alerts.jsonl"


def delivery_log_file() -> Path:
    """What became of each alert sent to a chat sink (alerts/delivery_log.py)."""
    return data_dir() / "deliveries.jsonl"
