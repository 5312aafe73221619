"""Live reload: notice watchlist files changed on disk, by polling.

Every `interval` seconds each file is stat'ed and read (they are a few
hundred bytes) and its hash compared with the last one seen; mtime alone
misses two saves within the file system's timestamp granularity. A change
that parses is reported with the reloaded Watchlist; one that does not is
reported once as a WatchlistError, and the caller keeps the last good list.
A bad version must look the same on two polls before it is reported, so an
editor caught halfway through a save does not flash an error.
No dependency beyond asyncio: polling twice a second costs nothing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from marketmon.alerts.rules import RuleSet
from marketmon.config.watchlists import Watchlist, WatchlistError, parse

POLL_S = 0.5
_EMPTY = hashlib.sha256(b"").digest()


class WatchlistWatcher:
    def __init__(
        self,
        paths: Iterable[Path | str] = (),
        *,
        on_change: Callable[[Watchlist], None] = lambda wl: None,
        on_error: Callable[[WatchlistError], None] = lambda err: None,
        interval: float = POLL_S,
        base: RuleSet | None = None,
    ) -> None:
        self.on_change, self.on_error = on_change, on_error
        self.interval, self.base = interval, base
        self.current: dict[Path, Watchlist] = {}  # the last good state of each file
        self._seen: dict[Path, bytes | None] = {}  # hash of the last version acted on
        self._suspect: dict[Path, bytes | None] = {}  # a bad version seen once, not yet reported
        self._task: asyncio.Task[None] | None = None
        for path in paths:
            try:
                self.add(path)
            except WatchlistError as exc:
                on_error(exc)

    def add(self, path: Path | str) -> Watchlist:
        """Watch a file and return its list now; a WatchlistError if it does not load
        (it is watched all the same: once fixed, on_change reports it)."""
        path = Path(path)
        self._seen[path] = None
        result = self._load(path)
        self._seen[path] = result[0]
        if isinstance(result[1], WatchlistError):
            raise result[1]
        self.current[path] = result[1]
        return result[1]

    def remove(self, path: Path | str) -> None:
        path = Path(path)
        for table in (self.current, self._seen, self._suspect):
            table.pop(path, None)  # type: ignore[attr-defined]

    @property
    def paths(self) -> list[Path]:
        return list(self._seen)

    def poll(self) -> None:
        """Check every file once (the task calls this; tests may too)."""
        for path in list(self._seen):
            self._check(path)

    def _load(self, path: Path) -> tuple[bytes | None, Watchlist | WatchlistError]:
        """(hash of what was read, the list or why there is none)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None, WatchlistError(path, "the file is gone; keeping the list as it was")
        except OSError as exc:
            return b"unreadable", WatchlistError(path, f"cannot read: {exc}")
        digest = hashlib.sha256(data).digest()
        try:
            return digest, parse(data.decode("utf-8"), path, self.base)
        except UnicodeDecodeError as exc:
            return digest, WatchlistError(path, f"not UTF-8 text: {exc}")
        except WatchlistError as exc:
            return digest, exc

    def _check(self, path: Path) -> None:
        digest, result = self._load(path)
        if digest == self._seen.get(path):
            self._suspect.pop(path, None)
            return
        # A bad or empty version (an editor halfway through a save) must still
        # be there on the next poll before it counts.
        doubtful = isinstance(result, WatchlistError) or digest == _EMPTY
        if doubtful and self._suspect.get(path, b"?") != digest:
            self._suspect[path] = digest
            return
        self._suspect.pop(path, None)
        self._seen[path] = digest
        if isinstance(result, WatchlistError):
            self.on_error(result)  # self.current keeps the last good list
        else:
            self.current[path] = result
            self.on_change(result)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.poll()

    def start(self) -> asyncio.Task[None]:
        """Poll in a task of the running loop until stop()."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
