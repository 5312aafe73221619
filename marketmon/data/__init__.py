"""Bundled data files: the alert sounds."""
