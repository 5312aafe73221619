"""The one place a feed server is started: the demo day, a recording, a public
source or a desk gateway, chosen by a `FeedChoice`.

`engine.open_feed` uses it for the screen and `watch` (on a loopback port of
its own); `marketmon serve` and `marketmon bridge` use it on the address the
user gives. Every server it returns has `.url`, `.trade_date` and `close()`.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketmon.market.sessions import market_ms
from marketmon.serve.server import QuoteServer


@dataclass(frozen=True)
class FeedChoice:
    """Where quotes come from: exactly one of url, demo, replay, source, upstream."""

    url: str | None = None  # a running feed: connect to it as it is (no server)
    demo: bool = False  # the bundled seed day
    universe: str = "seed"  # with demo: the seed day's names, or "full" (~9,000 instruments)
    replay: str | None = None  # a recording made by `marketmon record`
    source: str | None = None  # a public quote source, polled (sina, tencent, eastmoney)
    symbols: Sequence[str] = ()  # what the source polls
    upstream: str | None = None  # a feed to fan out to many terminals (desk gateway)
    speed: float = 1.0  # replay speed: 1 real time, 0 as fast as the slowest client reads
    # Market time to begin the day at and to hold it at: a time of day on the
    # script's trade date, or epoch ms.
    start: dt.time | int | None = None
    until: dt.time | int | None = None
    source_options: Mapping[str, Any] = field(default_factory=dict)  # Poller/bridge: interval, base_url, on_event
    upstream_options: Mapping[str, Any] = field(default_factory=dict)  # the gateway's FeedClient: on_event, ...

    def __post_init__(self) -> None:
        kinds = [self.url is not None, self.demo, self.replay is not None, self.source is not None,
                 self.upstream is not None]  # fmt: skip
        if sum(kinds) != 1:
            raise ValueError("a FeedChoice names exactly one of url, demo, replay, source, upstream")

    def describe(self, trade_date: str | None) -> str:
        """What is served, for the line `serve` prints."""
        if self.demo:
            return f"the {'full market' if self.universe == 'full' else 'seed day'} {trade_date}"
        if self.replay is not None:
            return f"the recording {self.replay} ({trade_date})"
        if self.source is not None:
            return f"{self.source} ({len(self.symbols)} symbols)"
        return str(self.url or self.upstream)


async def start_feed_server(
    choice: FeedChoice,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Any:
    """Start the server `choice` names and return it, listening.

    Raises RecordingError for a recording that cannot be read, OSError when
    the address cannot be bound, ValueError for a url (nothing to start).
    """
    listen: dict[str, Any] = {"host": host, "port": port, "token": token, "ssl_context": ssl_context}
    server: Any
    if choice.upstream is not None:
        from marketmon.serve.gateway import Gateway

        server = Gateway(choice.upstream, **listen, **choice.upstream_options)
    elif choice.source is not None:
        from marketmon.serve.bridge import BridgeServer

        server = BridgeServer(choice.source, choice.symbols, **listen, **choice.source_options)
    elif choice.demo or choice.replay is not None:
        script = _script(choice)
        server = QuoteServer(
            script, speed=choice.speed, start_at=_market_ms(choice.start, script.trade_date),
            until=_market_ms(choice.until, script.trade_date), **listen,
        )  # fmt: skip
    else:
        raise ValueError(f"{choice.url} is a running feed: there is no server to start")
    await server.start()
    return server


def _script(choice: FeedChoice) -> Any:
    if choice.replay is not None:
        from marketmon.serve.recording import Recording

        return Recording(choice.replay)
    from marketmon.serve.demo_day import SEED_DAY

    if choice.universe == "full":
        from marketmon.serve.universe import FullUniverse

        return FullUniverse(SEED_DAY)
    return SEED_DAY


def _market_ms(when: dt.time | int | None, trade_date: str) -> int | None:
    """A time of day on the trade date (Asia/Shanghai) -> epoch ms; epoch ms as given."""
    if when is None or isinstance(when, int):
        return when
    return market_ms(dt.date.fromisoformat(trade_date), when)
