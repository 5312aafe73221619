"""Writing the user's files safely: never half-written, never lost.

Write to a temp file in the same folder, fsync it, rename it over the
original (atomic on POSIX), then fsync the folder so the rename survives a
crash. If anything fails, the original is untouched and the temp is removed.
`precondition` runs just before the rename; if it raises, nothing is replaced
(editing.py uses it to notice a file changed underneath an edit).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


def atomic_write(
    path: Path | str, text: str, encoding: str = "utf-8", precondition: Callable[[], None] | None = None
) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        if precondition is None:
            os.replace(tmp, path)
        else:
            with folder_lock(path.parent):  # check and rename as one step among our writers
                precondition()
                os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error (same errno, so the same OSError subclass) naming the user's
    file, not the temp file: "[Errno 28] cannot save: No space left on device: '.../chips.toml'"."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, f"cannot save: {exc.strerror or exc}", str(path))


@contextlib.contextmanager
def folder_lock(folder: Path | str) -> Iterator[None]:
    """One of marketmon's writers at a time in `folder` (two terminals, a script, the app).

    A read-modify-write checks the file is unchanged just before its rename,
    but check-then-rename is not atomic: two of our own writers could both
    pass the check and one edit would be lost. An exclusive flock on the folder
    around check + rename closes that gap between our processes (the loser's
    check then sees the new file and it edits again); editors do not take it.
    No flock (Windows) or no folder: no lock. Re-entrant within a thread: a
    second flock on a new descriptor would wait for ourselves forever.
    """
    key = os.path.realpath(folder)
    held = _held.__dict__.setdefault("folders", set())
    if key in held:
        yield
        return
    try:
        import fcntl

        fd = os.open(key, os.O_RDONLY)
    except (ImportError, OSError):
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(key)
        yield
    finally:
        held.discard(key)
        if fd is not None:
            os.close(fd)  # closing releases the lock


_held = threading.local()  # folders this thread holds the lock of
