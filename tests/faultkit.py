"""Tools for the fault suites: a TCP proxy that can freeze and rewrite frames,
a state comparison that answers yes/no, a memory probe, and the tally that
docs/reliability.md quotes (printed at the end of a run, see conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import struct
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil

from marketmon.store.state import Store

from .conftest import assert_same_state

# ---------------------------------------------------------------------------------
# The tally: what each test injected, what the code survived, what was lost.

TALLY: Counter[str] = Counter()
KEYS = ("faults_injected", "faults_survived", "bad_inputs", "data_lost")


def record(*, faults: int = 0, survived: int | None = None, bad_inputs: int = 0, lost: int = 0) -> None:
    """Count what one test did. Call it after the test's assertions passed, so
    `survived` is only ever counted for faults that were in fact survived."""
    TALLY["faults_injected"] += faults
    TALLY["faults_survived"] += faults if survived is None else survived
    TALLY["bad_inputs"] += bad_inputs
    TALLY["data_lost"] += lost


def write_tally(path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps({k: TALLY[k] for k in KEYS}, indent=2) + "\n")


# ---------------------------------------------------------------------------------


def same_state(server_quotes: dict[str, dict], store: Store) -> bool:
    """Whether the client has caught up, after flushing what it holds (as the engine's tick would)."""
    store.flush()
    try:
        assert_same_state(server_quotes, store)
    except AssertionError:
        return False
    return True


class RssProbe:
    """Peak resident memory of this process, sampled from a thread every 20 ms
    (a thread, so a busy event loop cannot hide a peak)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.process = psutil.Process()
        self.interval = interval
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> RssProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


# ---------------------------------------------------------------------------------
# A man in the middle between a client and a server.

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA

# A rule for server -> client data frames: given the frame's number on its
# connection (1 = the first text frame, hello) and its bytes, the frames to send
# instead (none to drop it, two to duplicate it, ...).
Rule = Callable[[int, bytes], list[bytes]]


def pass_through(n: int, frame: bytes) -> list[bytes]:
    return [frame]


class _Link:
    def __init__(self, proxy: Proxy, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.client_r, self.client_w = down_r, down_w
        self.frozen = asyncio.Event()  # set: nothing moves either way, sockets stay open
        self.text_frames = 0
        self.tasks: list[asyncio.Task] = []

    async def run(self) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.proxy.target_port)
        except OSError:
            self.client_w.close()
            return
        self.server_w = server_w
        self.tasks = [
            asyncio.create_task(self._raw(self.client_r, server_w)),  # client -> server: bytes as they come
            asyncio.create_task(self._frames(server_r, self.client_w)),  # server -> client: frame by frame
        ]
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
        self.close()

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for w in (self.client_w, getattr(self, "server_w", None)):
            if w is not None:
                with contextlib.suppress(Exception):
                    w.close()

    async def _hold(self) -> None:
        while self.frozen.is_set():
            await asyncio.sleep(3600)  # a frozen link stays frozen: the connection is half-open

    async def _raw(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self._hold()
            writer.write(data)
            await writer.drain()

    async def _frames(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The HTTP upgrade response first, as it is.
        head = await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        await writer.drain()
        while True:
            frame, opcode = await _read_frame(reader)
            await self._hold()
            out = [frame]
            if opcode == TEXT:
                self.text_frames += 1
                self.proxy.text_frames += 1
                out = self.proxy.rule(self.text_frames, frame)
            for f in out:
                writer.write(f)
            await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, int]:
    """One unmasked (server -> client) frame, whole, and its opcode."""
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    ext = b""
    if length == 126:
        ext = await reader.readexactly(2)
        length = struct.unpack("!H", ext)[0]
    elif length == 127:
        ext = await reader.readexactly(8)
        length = struct.unpack("!Q", ext)[0]
    mask = await reader.readexactly(4) if head[1] & 0x80 else b""
    payload = await reader.readexactly(length)
    return head + ext + mask + payload, head[0] & 0x0F


def text_payload(frame: bytes) -> bytes:
    """The payload of an unmasked frame (for rules that look at seq)."""
    length = frame[1] & 0x7F
    start = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return frame[start:]


class Proxy:
    """127.0.0.1:port -> 127.0.0.1:target_port; `freeze()` makes every current
    connection half-open (no byte moves, nothing is closed); new connections pass."""

    def __init__(self, target_port: int, rule: Rule = pass_through) -> None:
        self.target_port = target_port
        self.rule = rule
        self.links: list[_Link] = []
        self.text_frames = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self, reader, writer)
        self.links.append(link)
        try:
            await link.run()
        except asyncio.CancelledError:  # the test is over
            link.close()

    def freeze(self) -> None:
        for link in self.links:
            link.frozen.set()

    def cut_frozen(self) -> None:
        """Close the frozen links at last (as a NAT box finally forgets them)."""
        for link in self.links:
            if link.frozen.is_set():
                link.close()

    async def close(self) -> None:
        for link in self.links:
            link.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


def readline(stream, timeout: float = 30.0) -> str:
    """A line from a child's pipe, or a failure after `timeout` s: a regression
    that never writes fails here instead of hanging until pytest's timeout."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no line from the child within {timeout} s"
    return stream.readline()
