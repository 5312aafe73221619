"""The user's files: where they live (`paths.py`), the settings file and the
saved theme, watchlists (read with tomllib, edited with tomlkit), the file
watcher, and atomic writes that never leave half a file."""
