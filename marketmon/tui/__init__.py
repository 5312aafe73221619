"""The trader's screen, and the only package that imports textual: the app shell
(`app.py`), keys and themes; `panels/` (what the screen shows), `widgets/` (the
line-API grid, live table, chart) and `dialogs/` (modal screens)."""
