"""The replay server's clock: it moves between messages at the replay's pace,
and never runs ahead of the data it has not sent yet."""

from __future__ import annotations

import asyncio

from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer

from ..conftest import T0, TRADE_DATE


class BusyServer(QuoteServer):
    """Each message takes 50 ms to go out, as on a loop busy with a screen."""

    async def publish(self, body: dict) -> None:
        await asyncio.sleep(0.05)
        await super().publish(body)


def one_quote_a_second(n: int) -> ListScript:
    events = [Event(T0 + k * 1000, {"type": "quotes", "ts": T0 + k * 1000,
                                    "quotes": [{"symbol": "600519.SH", "ts": T0 + k * 1000, "last": 1400 + k}]})
              for k in range(n)]  # fmt: skip
    return ListScript(TRADE_DATE, events)


async def test_a_replay_too_fast_to_keep_up_shows_the_time_of_its_data():
    # 1,000 x: a market second every millisecond, but each message takes 50 ms.
    async with BusyServer(one_quote_a_second(200), speed=1000, wait_for_client=False) as server:
        await asyncio.sleep(0.5)  # the pace says 09:38; the data is at about 09:30:10
        clock, sent = server.replay_clock(), server.clock
        assert sent is not None and sent < T0 + 30_000
        assert clock is not None and sent <= clock <= sent + 1000  # at most the next message's time


async def test_the_clock_moves_through_a_quiet_stretch_at_the_replays_pace():
    script = ListScript(TRADE_DATE, [Event(T0, {"type": "quotes", "ts": T0, "quotes": []}),
                                     Event(T0 + 600_000, {"type": "quotes", "ts": T0 + 600_000, "quotes": []})])
    async with QuoteServer(script, speed=100, wait_for_client=False) as server:
        await asyncio.sleep(0.5)  # 50 market seconds of a quiet ten minutes
        clock = server.replay_clock()
        assert clock is not None and T0 + 30_000 < clock < T0 + 600_000
