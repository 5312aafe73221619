"""Exchange knowledge, no I/O: symbols and boards, limit prices and ticks, trading
sessions and calendars, ETF premium, Southbound quota. Imports nothing of the
project: every other layer may use it."""
