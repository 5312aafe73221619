"""Record a quote stream to a file, and play a recording back as a Script.

File format: gzip-compressed JSON lines (stdlib gzip: Python 3.11 has no
zstd), each line `{"t": ms, "m": message}`, where `t` is milliseconds since
the recording began and `m` a protocol message as received (with its seq).
The first line is a header message `{"type": "recording", "version": 1,
"started": epoch_ms, "source": ...}`; the second is the server's hello, which
names the trade date. A recording of a script (`record --demo`) uses the
script's market clock for `t` instead of the wall clock.

On replay a snapshot becomes a quotes event carrying every instrument in
full, deltas stay deltas, and `t` paces the events, so `serve --replay FILE
--speed X` plays any recording, the seed day included.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from marketmon import __version__
from marketmon.feed import protocol
from marketmon.serve.script import Event, Script

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_EVENT_TYPES = frozenset({"quotes", "flow", "flow_history", "status"})
_decode = msgspec.json.Decoder().decode


class RecordingError(ValueError):
    """A file that is not a recording (or is damaged at its start)."""


def _line(t: int, message: Any) -> bytes:
    return b'{"t":%d,"m":%s}\n' % (t, protocol.encode(message))


def _header(started: int, source: str) -> dict[str, Any]:
    return {"type": "recording", "version": FORMAT_VERSION, "started": started, "source": source,
            "writer": f"marketmon/{__version__}"}  # fmt: skip


# Recording ----------------------------------------------------------------------


class Recording:
    """A recorded stream as a `Script` (marketmon/serve/script.py)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.header: dict[str, Any] = {}
        self.trade_date = ""
        self.tz = "Asia/Shanghai"
        self.bad_lines = 0
        for _t, m in self._messages():
            if m.get("type") == "recording":
                self.header = m
            elif m.get("type") == "hello":
                self.trade_date = m.get("trade_date") or ""
                self.tz = m.get("tz") or self.tz
                break
            else:
                break
        if not self.header:
            raise RecordingError(f"{self.path}: not a marketmon recording (no header line)")
        if not self.trade_date:
            started = self.header.get("started", 0)
            self.trade_date = time.strftime("%Y-%m-%d", time.gmtime(started / 1000 + 8 * 3600))

    def _messages(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            with gzip.open(self.path, "rb") as fh:
                for raw in fh:
                    try:
                        line = _decode(raw)
                        t, m = int(line["t"]), line["m"]
                        if not isinstance(m, dict):
                            raise TypeError("m is not an object")
                    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
                        self.bad_lines += 1
                        continue
                    yield t, m
        except gzip.BadGzipFile:  # an OSError too: catch it first
            raise RecordingError(f"{self.path}: not a gzip file") from None
        except (EOFError, zlib.error):
            log.warning("%s: the recording ends early (cut off while written?)", self.path)
        except OSError as exc:
            raise RecordingError(f"{self.path}: {exc.strerror or exc}") from None

    def events(self) -> Iterator[Event]:
        started = int(self.header.get("started", 0))
        snapshot: list[dict[str, Any]] = []
        opening = True
        for t, m in self._messages():
            kind = m.get("type")
            if kind == "snapshot":
                # A snapshot may be split ("more"): the parts make one full quotes event.
                snapshot.extend(m.get("quotes") or [])
                if m.get("more"):
                    continue
                body: dict[str, Any] = {"type": "quotes", "quotes": snapshot}
                if m.get("ts") is not None:
                    body["ts"] = m["ts"]
                snapshot = []
                # The first snapshot goes 1 ms early: a server treats everything
                # up to its first event as opening state, and deltas recorded
                # in the same millisecond must stay deltas.
                yield Event(started + t - opening, body)
                opening = False
            elif kind in _EVENT_TYPES:
                yield Event(started + t, {k: v for k, v in m.items() if k != "seq"})


def write_script(script: Script, path: str | Path, source: str = "script") -> int:
    """Write a script (the seed day) as a recording, on its own market clock."""
    count = 0
    with gzip.open(path, "wb") as fh:
        started: int | None = None
        for event in script.events():
            if started is None:
                started = event.ts
                fh.write(_line(0, _header(started, source)))
                fh.write(_line(0, {"type": "hello", "protocol": protocol.PROTOCOL_VERSION,
                                   "trade_date": script.trade_date, "tz": script.tz}))  # fmt: skip
            fh.write(_line(event.ts - started, event.body))
            count += 1
    return count


# Recorder -------------------------------------------------------------------------


@dataclass
class RecordStats:
    messages: int = 0
    bad_messages: int = 0
    reconnects: int = 0
    ended: str = ""  # "eof", "duration", "stopped"


async def record(
    url: str,
    out: str | Path,
    *,
    symbols: list[str] | None = None,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    give_up_after: float = 10.0,
    on_event: Callable[[str, str], None] = lambda state, detail: None,
) -> RecordStats:
    """Record the stream at `url` until eof, `duration` seconds, or `stop` is set.

    Reconnects like a client (backoff with jitter) and takes a fresh snapshot
    after each reconnect or seq gap; raises OSError if the feed was never reachable.
    """
    stop = stop or asyncio.Event()
    stats = RecordStats()
    with gzip.open(out, "wb") as fh:
        started_ms, t0 = int(time.time() * 1000), time.monotonic()
        fh.write(_line(0, _header(started_ms, url)))
        task = asyncio.create_task(_follow(url, fh, t0, symbols or ["*"], stats, give_up_after, on_event))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, stopper}, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if task in done:
            task.result()  # raises if the feed was unreachable
            stats.ended = "eof"
        else:
            stats.ended = "stopped" if stop.is_set() else "duration"
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return stats


async def _follow(url: str, fh: IO[bytes], t0: float, symbols: list[str], stats: RecordStats,
                  give_up_after: float, on_event: Callable[[str, str], None]) -> None:  # fmt: skip
    attempt, ever = 0, False
    while True:
        try:
            async with connect(url, max_size=protocol.MAX_FRAME_BYTES, compression=None, open_timeout=5) as ws:
                ever, attempt = True, 0
                on_event("connected", url)
                request_id, expected = 1, 1
                await ws.send(protocol.subscribe(symbols, request_id).decode())
                async for frame in ws:
                    try:
                        message = _decode(frame)
                        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                            raise TypeError("not a protocol message")
                    except (msgspec.DecodeError, TypeError):
                        stats.bad_messages += 1
                        continue
                    seq = message.get("seq")
                    if message["type"] == "hello":
                        expected = 1
                    elif isinstance(seq, int):
                        if seq > expected:  # lost messages: start over from a snapshot
                            request_id += 1
                            await ws.send(protocol.subscribe(symbols, request_id).decode())
                        expected = max(expected, seq + 1)
                    fh.write(_line(int((time.monotonic() - t0) * 1000), message))
                    stats.messages += 1
                    if message["type"] == "eof":
                        return
        except InvalidURI as exc:
            raise OSError(f"bad feed URL {url!r}: {exc}") from None
        except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
            on_event("disconnected", str(exc) or type(exc).__name__)
        if not ever and time.monotonic() - t0 > give_up_after:
            raise OSError(f"cannot reach the feed at {url}")
        delay = min(15.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2)
        attempt += 1
        stats.reconnects += 1
        await asyncio.sleep(delay)
