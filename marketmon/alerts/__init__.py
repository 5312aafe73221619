"""Alerts: the rule engine over the store (`rules.py`), the alert history file,
and the ways an alert reaches the trader (sound, desktop notification), run as
external programs with argument lists."""
