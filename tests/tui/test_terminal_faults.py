"""The terminal under faults: resizing to tiny and back while the market moves,
quitting by Ctrl-Q, Ctrl-C and signals, a crash inside the app, and hostile
names on a real pseudo-terminal. Whatever happens, the user's terminal is
given back: the alternate screen left, the cursor shown, no traceback on
a clean exit, and no byte of a feed's escape sequences ever written raw."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer

from ..faultkit import record
from .conftest import demo_app, ready

pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

LEAVE_ALT_SCREEN, SHOW_CURSOR, ENTER_ALT_SCREEN = b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1049h"


# --- resizing -------------------------------------------------------------------------


async def test_resize_to_40x12_and_smaller_and_back_while_the_market_moves(home):
    app = demo_app("10:30")  # replaying as fast as it goes: panels redraw during every resize
    sizes = [(160, 48), (120, 32), (80, 24), (40, 12), (30, 8), (20, 5), (10, 3), (40, 12), (100, 30), (160, 48)]
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        for _ in range(2):
            for size in sizes:
                await pilot.resize_terminal(*size)
                await pilot.pause(0.05)
        await pilot.resize_terminal(40, 12)
        for key in ("v", "v", "v", "v", "v", "v", "question_mark", "escape", "slash", "escape", "t", "escape"):
            await pilot.press(key)
            await pilot.pause(0.05)
        assert app.screen is app._main and app.screen.has_class("-compact")  # one panel at a time
        assert app.theme == sorted(app.own_themes)[1]  # "t" worked once, at 40x12
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.3)
        assert app.is_running and app.size == (160, 48)
        assert not app.screen.has_class("-compact") and app.view == "watch"  # the panel it was on, zoomed
        await pilot.press("escape")  # out of the zoom: every panel
        await pilot.pause(0.3)
        assert app.view is None
        for panel in ("watchlists", "detail", "limits", "etf", "southbound", "alerts"):
            assert app.part(f"#{panel}").display and app.part(f"#{panel}").region.area, panel
        table = app.watchlists.table
        assert table.title == "AI chips" and table.row_count == len(table.symbols) == 6
        assert table.get_cell("688521.SH", "last").plain.strip() not in ("", "-")
    assert app.return_code in (0, None)
    record(faults=2 * len(sizes) + 2)


# --- a real terminal ----------------------------------------------------------------------


class Terminal:
    """`marketmon` on a pseudo-terminal: what it writes, and how it ends."""

    def __init__(self, argv: list[str], home: Path, size: tuple[int, int] = (120, 40), env: dict | None = None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the app
            os.environ.update({"TERM": "xterm-256color", "MARKETMON_HOME": str(home), **(env or {})})
            os.environ.pop("MARKETMON_CONFIG", None)
            os.execv(sys.executable, [sys.executable, *argv])
        cols, rows = size
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = b""
        self.status: int | None = None

    def read(self, seconds: float, until: bytes | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.status is None:
            ready_, _, _ = select.select([self.fd], [], [], 0.05)
            if ready_:
                try:
                    self.out += os.read(self.fd, 1 << 16)
                except OSError:  # the child is gone
                    pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                with_rest = True
                while with_rest:
                    try:
                        chunk = os.read(self.fd, 1 << 16)
                    except OSError:
                        chunk = b""
                    self.out += chunk
                    with_rest = bool(chunk)
            if until is not None and until in self.out:
                return

    def started(self, marker: bytes = b"msg/s", timeout: float = 60) -> None:
        """Wait until the app paints its first screen with the feed running."""
        self.read(timeout, until=marker)
        assert ENTER_ALT_SCREEN in self.out and marker in self.out, self.out[-500:]

    def ended(self, timeout: float = 20) -> int:
        self.read(timeout)
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self.fd)
            raise AssertionError("the app did not end")
        os.close(self.fd)
        return self.status

    def assert_restored(self) -> None:
        """The last things written leave the alternate screen and show the cursor."""
        leave = self.out.rfind(LEAVE_ALT_SCREEN)
        assert leave > self.out.rfind(ENTER_ALT_SCREEN), "still on the alternate screen"
        assert self.out.rfind(SHOW_CURSOR) > leave - 64, "cursor left hidden"
        tail = self.out[leave:]
        assert b"\x1b[?1000h" not in tail and b"\x1b[?1049h" not in tail  # nothing re-grabbed after


@pytest.fixture
def term_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _quit_with(term_home: Path, send: bytes | int) -> Terminal:
    term = Terminal(["-m", "marketmon"], term_home)
    term.started()
    term.read(1.0)
    assert term.status is None, f"the app ended before it was asked to: {term.out[-1500:]!r}"
    if isinstance(send, bytes):
        os.write(term.fd, send)
    else:
        os.kill(term.pid, send)
    return term


def test_ctrl_q_quits_and_gives_the_terminal_back(term_home):
    term = _quit_with(term_home, b"\x11")
    status = term.ended()
    assert os.waitstatus_to_exitcode(status) == 0
    term.assert_restored()
    assert b"Traceback" not in term.out and b"never retrieved" not in term.out, term.out[-2000:]
    record(faults=1)


def test_sigint_quits_and_gives_the_terminal_back(term_home):
    term = _quit_with(term_home, signal.SIGINT)
    status = term.ended()
    assert os.waitstatus_to_exitcode(status) == 0
    term.assert_restored()
    assert b"Traceback" not in term.out, term.out[-2000:]
    record(faults=1)


def test_ctrl_c_quits_and_gives_the_terminal_back(term_home):
    term = _quit_with(term_home, b"\x03")
    term.read(5)
    quit_on_ctrl_c = term.status is not None
    if not quit_on_ctrl_c:
        os.kill(term.pid, signal.SIGINT)  # tidy up the way a `kill -INT` would
    term.ended()
    term.assert_restored()
    assert quit_on_ctrl_c, "still running 5 s after Ctrl-C"
    assert b"Traceback" not in term.out, term.out[-2000:]
    record(faults=1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_give_the_terminal_back(term_home, sig):
    term = _quit_with(term_home, sig)
    status = term.ended()
    assert os.waitstatus_to_exitcode(status) == 0  # ended as Ctrl+Q ends it, not killed by the signal
    term.assert_restored()
    assert b"Traceback" not in term.out, term.out[-2000:]
    record(faults=1)


_CRASH = """
import sys, time
from marketmon.tui import app as tui

tick, after = tui.MarketmonApp._tick, int(sys.argv[1])

def crashing_tick(self):  # an injected bug: the refresh tick raises once the screen has shown quotes
    store = self.store
    if store is not None and store.version >= after and self._seen.get("watchlists") == store.version:
        raise RuntimeError("injected crash for the terminal test")
    return tick(self)

tui.MarketmonApp._tick = crashing_tick
from marketmon.cli.main import main
sys.argv = ["marketmon"]
sys.exit(main())
"""


def test_a_crash_inside_the_app_gives_the_terminal_back_then_says_what_happened(term_home):
    term = Terminal(["-c", _CRASH, "3"], term_home)  # on the tick after the third store version is drawn
    term.started()
    status = term.ended(timeout=40)
    assert os.waitstatus_to_exitcode(status) != 0
    term.assert_restored()
    after = term.out[term.out.rfind(LEAVE_ALT_SCREEN) :]
    assert b"injected crash for the terminal test" in term.out
    assert b"\x1b[?1049h" not in after
    record(faults=1)


# --- hostile names on a real terminal --------------------------------------------------------

HOSTILE = {
    "600000.SH": "[bold red]x[/]",
    "600519.SH": "\x1b[2Jwiped",
    "000001.SZ": "\x1b]0;PWNED\x07t",
    "300750.SZ": "a\rb\x08c",
    "688521.SH": "\u202eevil",
    "00700.HK": "\x9b31mC1",
}


class _ServerThread:
    """A loopback quote server on its own event loop, for a child process to connect to."""

    def __init__(self, script: ListScript) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = QuoteServer(script, speed=0)
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start())
        self.ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_hostile_names_never_reach_the_terminal_raw(term_home, tmp_path):
    ts = 1757640600000
    quotes = [{"symbol": s, "ts": ts, "name": n, "prev_close": 10.0, "last": 10.5} for s, n in HOSTILE.items()]
    script = ListScript("2025-09-12", [
        Event(ts, {"type": "quotes", "ts": ts, "quotes": quotes}),
        Event(ts, {"type": "status", "ts": ts, "market": "CN", "phase": "closed"}),
    ])  # fmt: skip
    wl = tmp_path / "hostile.toml"
    wl.write_text(f'name = "Hostile"\nsymbols = {list(HOSTILE)!r}\n'.replace("'", '"'))
    server = _ServerThread(script)
    try:
        term = Terminal(["-m", "marketmon", "--url", server.server.url, "--watchlist", str(wl)], term_home)
        term.started(marker=b"wiped")
        term.read(1.5)
        os.write(term.fd, b"\x11")
        term.ended()
    finally:
        server.close()
    out = term.out
    for raw in (b"\x1b[2Jwiped", b"\x1b]0;PWNED", b"a\rb", b"\x08c", "\u202e".encode(), b"\xc2\x9b", b"\x9b31m"):
        assert raw not in out, raw
    assert b"[bold red]x[" in out  # markup shown as the characters it is made of (the column may cut it)
    assert b"\x1b]0;" not in out  # no title was set by anyone
    term.assert_restored()
    record(bad_inputs=len(HOSTILE))


# --- a broken settings file and the theme key ----------------------------------------------


async def test_changing_theme_with_a_broken_settings_file_says_so_and_keeps_running(home):
    from marketmon.config import paths

    settings = paths.settings_file()
    settings.parent.mkdir(parents=True, exist_ok=True)
    broken = '[sound]\nenabled = true\nenabled = false  # a duplicate key\n'
    settings.write_text(broken)
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("t")
        await pilot.pause(0.3)
        assert app.is_running
        assert any(str(settings) in n.message for n in app._notifications)
    assert settings.read_text() == broken
