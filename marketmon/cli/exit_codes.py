"""Exit codes of every command (PROTOCOL section 3), and the error that means
bad usage or bad input: one clear line on stderr, exit status 2. A leaf: it
imports nothing, so any command module may use it."""

EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or bad input: one clear line on stderr, exit status 2."""
