"""marketmon: a terminal market monitor for China A-shares and Hong Kong stocks."""

__version__ = "0.1.0"
