"""The user's files under faults: corrupted, half-written and unreadable
watchlists and settings, a full disk while saving, writers racing each other.

The user's file is never lost or truncated (same bytes after a failed save,
no temp file left), and the user is told: one error naming the file.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from marketmon.cli.main import main
from marketmon.config import editing, files, theme_choice
from marketmon.config.settings import SettingsError, load_or_defaults, load_settings
from marketmon.config.watchlists import WatchlistError, load

from ..faultkit import record

WATCHLIST = """\
# chips I watch: my comments
name = "AI chips"
symbols = [
    "688521.SH",  # VeriSilicon
    "688256.SH",  # Cambricon
    "589520",     # the ETF
]

[alerts]                 # defaults for every symbol of this list
limit = true
pct_above = 5.0
pct_below = -5.0
sound = "default"

[alerts."688256.SH"]     # Cambricon moves a lot
pct_above = 8.0
"""

SETTINGS = """\
# my desk
theme = "china"
[sound]
enabled = true
player = ["aplay", "-q"]
quiet_outside_trading = true
min_interval_s = 2.0
[alerts]
hysteresis = 1.0
cooldown_s = 900
fast_move_pct = 2.0
[alerts.cooldown]
fast_move = 120
[notify]
enabled = false
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MARKETMON_CONFIG", raising=False)
    return tmp_path / "home"


@pytest.fixture
def wl(tmp_path: Path) -> Path:
    path = tmp_path / "chips.toml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return path


def leftovers(folder: Path, keep: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != keep and p.name != ".trash")


def assert_names(exc: BaseException, path: Path) -> None:
    """The message a user sees names the file."""
    assert str(path) in str(exc) or path.name in str(exc), str(exc)


# --- corrupted and half-written files -----------------------------------------------------

CORRUPT = {
    "binary garbage": b"\x00\x01\x02\xff\xfe garbage \x00",
    "invalid UTF-8": WATCHLIST.encode()[:40] + b"\xc3\x28" + WATCHLIST.encode()[40:],
    "NUL in a string": WATCHLIST.replace("AI chips", "AI\x00chips").encode(),
    "unclosed array": b'name = "x"\nsymbols = ["688521.SH",\n',
    "unclosed table header": WATCHLIST.replace('[alerts."688256.SH"]', '[alerts."688256.SH"').encode(),
    "wrong type": WATCHLIST.replace("pct_above = 5.0", 'pct_above = "five"').encode(),
    "unknown symbol": WATCHLIST.replace('"589520"', '"NOT A CODE"').encode(),
    "symbols not a list": b'name = "x"\nsymbols = "688521.SH"\n',
    "duplicate key": WATCHLIST.replace("limit = true", "limit = true\nlimit = false").encode(),
    "BOM and CRLF mess": b"\xef\xbb\xbf" + WATCHLIST.replace("\n", "\r").encode(),
    "a directory's worth of text": b"[" * 10_000,
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupted_watchlist_is_named_and_never_written(wl: Path, content: bytes):
    wl.write_bytes(content)
    with pytest.raises(WatchlistError) as err:
        load(wl)
    assert_names(err.value, wl)
    for edit in (
        lambda: editing.add_symbols(wl, ["601318"]),
        lambda: editing.remove_symbols(wl, ["688521.SH"]),
        lambda: editing.set_rule(wl, "pct_above", 3.0),
        lambda: editing.move_symbol(wl, "688521.SH", 1),
    ):
        with pytest.raises(WatchlistError) as err:
            edit()
        assert_names(err.value, wl)
        assert wl.read_bytes() == content  # never "repaired" behind the user's back
    assert leftovers(wl.parent, wl) == []
    record(faults=5)


def test_every_truncation_of_a_watchlist_loads_or_is_named(wl: Path):
    """A half-written file (an editor or a sync tool cut short) at every byte."""
    data = WATCHLIST.encode()
    bad = 0
    for cut in range(len(data)):
        wl.write_bytes(data[:cut])
        try:
            load(wl)
        except WatchlistError as exc:
            assert_names(exc, wl)
            bad += 1
            with pytest.raises(WatchlistError):
                editing.add_symbols(wl, ["601318"])
            assert wl.read_bytes() == data[:cut]
    assert bad > len(data) // 4  # many cuts do not parse; the others are valid shorter lists
    record(faults=len(data))


def test_every_truncation_of_the_settings_loads_or_is_named(tmp_path: Path):
    path = tmp_path / "config.toml"
    data = SETTINGS.encode()
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        try:
            load_settings(path)
        except SettingsError as exc:
            assert_names(exc, path)
            assert exc.line is not None  # and where
        settings, error = load_or_defaults(path)  # the app never fails on it
        assert settings is not None
    record(faults=len(data))


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupted_settings_file_is_named_and_the_app_runs_on_defaults(tmp_path: Path, content: bytes):
    path = tmp_path / "config.toml"
    path.write_bytes(content.replace(b"symbols", b"theme = 1\nsymbols"))
    try:
        load_settings(path)
    except SettingsError as exc:
        assert_names(exc, path)
    settings, error = load_or_defaults(path)
    assert settings.sound.enabled is True or error is None
    # The theme picker must not rewrite a file it cannot parse.
    before = path.read_bytes()
    try:
        theme_choice.save_theme(path, "western")
    except theme_choice.ThemeFileError as exc:
        assert_names(exc, path)
        assert path.read_bytes() == before
    record(faults=1)


def test_watch_with_a_corrupted_settings_file_says_which_in_one_line(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("[sound]\nenabled = yes\n")
    run = subprocess.run(
        [sys.executable, "-m", "marketmon", "watch", "--demo", "--all", "--duration", "0.1", "--config", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}:2:" in lines[0], run.stderr
    record(faults=1)


# --- unreadable files ------------------------------------------------------------------------


def test_a_directory_where_the_watchlist_should_be(tmp_path: Path):
    path = tmp_path / "chips.toml"
    path.mkdir()
    with pytest.raises(WatchlistError) as err:
        load(path)
    assert_names(err.value, path)
    assert "cannot read" in str(err.value)
    with pytest.raises(WatchlistError):
        editing.add_symbols(path, ["601318"])
    assert path.is_dir() and list(path.iterdir()) == []
    record(faults=1)


def test_a_directory_where_the_settings_should_be(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.mkdir()
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert_names(err.value, path)
    settings, error = load_or_defaults(path)
    assert error is not None and settings.sound.enabled
    with pytest.raises(theme_choice.ThemeFileError) as err:
        theme_choice.read_theme(path)
    assert_names(err.value, path)
    with pytest.raises((theme_choice.ThemeFileError, OSError)) as err:
        theme_choice.save_theme(path, "western")
    assert_names(err.value, path)
    assert path.is_dir()
    record(faults=3)


@pytest.mark.parametrize("fault", ["a link to itself", "a file where a folder should be"])
def test_an_unreadable_watchlist_and_settings(tmp_path: Path, fault: str):
    # Faults that stop root too (a chmod 000 file does not: root reads it anyway).
    if fault == "a link to itself":
        wl, cfg = tmp_path / "chips.toml", tmp_path / "config.toml"
        for path in (wl, cfg):
            path.symlink_to(path)  # ELOOP
    else:
        (tmp_path / "not-a-folder").write_text("x")
        wl, cfg = tmp_path / "not-a-folder" / "chips.toml", tmp_path / "not-a-folder" / "config.toml"  # ENOTDIR
    with pytest.raises(WatchlistError) as err:
        load(wl)
    assert_names(err.value, wl)
    assert "cannot read" in str(err.value)
    with pytest.raises(WatchlistError):
        editing.add_symbols(wl, ["601318"])
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert_names(err.value, cfg)
    settings, error = load_or_defaults(cfg)
    assert error is not None and settings.sound.enabled  # defaults, and the user is told
    record(faults=2)


def test_a_watchlist_that_vanishes_between_edits(wl: Path):
    wl.unlink()
    with pytest.raises(WatchlistError) as err:
        editing.add_symbols(wl, ["601318"])
    assert_names(err.value, wl)
    assert not wl.exists()  # an edit never creates a list the user deleted
    record(faults=1)


# --- a full disk while saving ---------------------------------------------------------------


class _FullDisk(io.TextIOBase):
    """The temp file's handle on a disk with room for half of what is written."""

    def __init__(self, fh: io.TextIOWrapper) -> None:
        self.fh = fh

    def write(self, data: str) -> int:
        self.fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self) -> int:
        return self.fh.fileno()

    def close(self) -> None:
        self.fh.close()


def _no_space(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Simulate ENOSPC inside marketmon.config.files.atomic_write, at `where`."""
    real_fdopen = os.fdopen

    def fail(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "write":
        monkeypatch.setattr(files.os, "fdopen", lambda fd, *a, **k: _FullDisk(real_fdopen(fd, *a, **k)))
    elif where == "fsync":
        monkeypatch.setattr(files.os, "fsync", fail)
    elif where == "rename":
        monkeypatch.setattr(files.os, "replace", lambda *a: fail())  # EIO-like failure at the very end
    elif where == "mkstemp":
        monkeypatch.setattr(files.tempfile, "mkstemp", fail)


WHERE = ["mkstemp", "write", "fsync", "rename"]


@pytest.mark.parametrize("where", WHERE)
def test_disk_full_during_an_edit_keeps_the_file_and_names_it(wl: Path, monkeypatch: pytest.MonkeyPatch, where: str):
    before = wl.read_bytes()
    _no_space(monkeypatch, where)
    with pytest.raises(OSError) as err:
        editing.add_symbols(wl, ["601318"])
    assert err.value.errno == errno.ENOSPC
    assert_names(err.value, wl)
    assert wl.read_bytes() == before
    assert leftovers(wl.parent, wl) == []
    record(faults=1)


@pytest.mark.parametrize("where", WHERE)
def test_disk_full_during_atomic_write_of_a_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str):
    path = tmp_path / "new.toml"
    _no_space(monkeypatch, where)
    with pytest.raises(OSError) as err:
        files.atomic_write(path, "x" * 100_000)
    assert_names(err.value, path)
    assert list(tmp_path.iterdir()) == []  # neither a half file nor a temp
    record(faults=1)


@pytest.mark.parametrize("where", WHERE)
def test_disk_full_during_a_theme_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str):
    path = tmp_path / "config.toml"
    path.write_text(SETTINGS)
    _no_space(monkeypatch, where)
    with pytest.raises(OSError) as err:  # the app shows str(err) in a notification
        theme_choice.save_theme(path, "western")
    assert_names(err.value, path)
    assert path.read_text() == SETTINGS
    assert leftovers(tmp_path, path) == []
    record(faults=1)


@pytest.mark.parametrize("where", WHERE)
def test_disk_full_from_the_command_line_is_one_line_naming_the_file(
    wl: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: str
):
    before = wl.read_bytes()
    _no_space(monkeypatch, where)
    code = main(["watchlist", "add", str(wl), "601318"])
    err = capsys.readouterr().err
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and str(wl) in err and "No space left" in err, err
    assert wl.read_bytes() == before
    assert leftovers(wl.parent, wl) == []
    record(faults=1)


# --- concurrent writers -------------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys
    from marketmon.config import editing
    path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for code in range(first, first + count):
        editing.add_symbols(path, [f"{code}.SH"])
    """
)
_READER = textwrap.dedent(
    """
    import os, sys, tomllib
    path, stop = sys.argv[1], sys.argv[2]
    reads = 0
    while not os.path.exists(stop):  # reads until the writers are done, however long they take
        data = open(path, "rb").read()
        tomllib.loads(data.decode())  # never a half-written file, never an empty one
        assert b"# chips I watch: my comments" in data
        reads += 1
    print(reads)
    """
)


def test_concurrent_writers_lose_no_edit_and_readers_never_see_half_a_file(wl: Path):
    """Four processes add 25 symbols each, one edit at a time, while a fifth reads."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    stop = wl.parent / "writers-done"
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(wl), str(stop)], stdout=subprocess.PIPE, text=True,
                              env=env)  # fmt: skip
    try:
        writers = [
            subprocess.Popen([sys.executable, "-c", _WRITER, str(wl), str(600000 + 100 * n), "25"], env=env,
                             stderr=subprocess.PIPE, text=True)
            for n in range(4)
        ]  # fmt: skip
        for w in writers:
            _, err = w.communicate(timeout=300)
            assert w.returncode == 0, err
    finally:
        stop.touch()  # the reader stops whatever happened: a failed test must not leave it spinning
        try:
            out, _ = reader.communicate(timeout=60)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
    stop.unlink()
    assert reader.returncode == 0 and int(out) > 0
    wanted = {f"{600000 + 100 * n + i}.SH" for n in range(4) for i in range(25)}
    symbols = set(load(wl).symbols)
    assert wanted <= symbols, sorted(wanted - symbols)
    text = wl.read_text()
    assert "# chips I watch: my comments" in text and "# Cambricon moves a lot" in text
    assert leftovers(wl.parent, wl) == []
    record(faults=100)
