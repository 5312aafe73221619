"""Widgets the panels are built from: the line-API `Grid`, the `LiveTable` on it,
and the sparkline/candle `chart`."""
