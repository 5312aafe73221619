"""Bundled example watchlists drawn from the seed day."""
