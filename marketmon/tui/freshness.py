"""How current the screen is: the market clock to show, and whether the
prices on screen are old.

The clock keeps moving while no quote comes (the 09:25-09:30 pause, the
lunch break): on the demo it is the replay's own clock (which stands still
when held or ended); on a live feed of today it is the wall clock, which is
market time; otherwise (a recording served over --url, a feed that is
down) it is the newest message's time.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from marketmon.store.state import Store
from marketmon.tui.fmt import MARKET_TZ, clock

CURRENT = ("connected", "live", "resync")
DOWN = ("disconnected", "reconnecting", "unreachable")


def market_clock(store: Store | Any | None, feed_state: str, replay: Any = None, now_ms: int | None = None) -> int | None:
    """Market time now (epoch ms), or None before the first message. `replay`:
    the demo's in-process server (its `replay_clock()`)."""
    if store is None or store.clock is None:
        return None
    if replay is not None:
        return replay.replay_clock()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    today = dt.datetime.fromtimestamp(now / 1000, MARKET_TZ).date()
    if feed_state in CURRENT and not store.stale and store.trade_date == today:
        return max(store.clock, now)
    return store.clock


def old_prices(store: Store | None, feed_state: str) -> str | None:
    """Why and since when the prices shown are old, or None while they are current."""
    if store is None or store.clock is None:
        return None  # nothing shown yet
    source = store.source
    if feed_state in DOWN:
        why = f"the feed is {feed_state}"
    elif store.stale and feed_state in CURRENT:
        # A bridge's feed is up while the public source behind it is not: name the source.
        why = f"{source.name} is down" if source is not None and source.state == "down" else "the feed is silent"
    else:
        return None  # current, or the feed ended (its last prices are the day's)
    last = store.frame.get_column("last")
    if last.null_count() == len(last):
        return f"◐ No prices yet: {why}"  # a clock from the feed's messages, but no quote ever came
    return f"◐ Old prices, as of {clock(store.clock)}: {why}"
