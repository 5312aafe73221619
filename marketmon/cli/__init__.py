"""The command line: `main.py` (parser and dispatch), `exit_codes.py` (exit codes,
UsageError), one module per command (watch, serve, bridge, convert, record,
watchlist, alerts, bench). Heavy packages are imported only when a command runs."""
