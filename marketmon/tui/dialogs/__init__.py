"""Modal screens: symbol search, the list prompts (choose, ask, confirm), the
thresholds editor and the help screen."""
