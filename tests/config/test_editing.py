"""Watchlist edits on real files: comments and layout survive, bad files are never written."""

from __future__ import annotations

import asyncio
import errno
import os
import tomllib
from pathlib import Path

import pytest

from marketmon.config import editing
from marketmon.config.editing import EditError
from marketmon.config.watcher import WatchlistWatcher
from marketmon.config.watchlists import WatchlistError, bundled_paths, load, parse, user_paths
from marketmon.market.symbols import Board, classify

COMMENTED = """\
# My chips list. I keep it short; these comments are mine.
name = "AI chips"   # shown in the app

symbols = [
    "688521.SH",  # VeriSilicon: seals on good days
    # Cambricon is the big one
    "688256.SH",  # Cambricon
    "589520",     # the AI ETF, typed without suffix
]

# --- alerts ---
[alerts]                 # defaults for every symbol of this list
limit = true             # limit hit / limit broken
pct_above = 5.0          # percent

[alerts."688256.SH"]     # per-symbol overrides
pct_above = 8.0          # Cambricon moves a lot
"""


@pytest.fixture
def wl(tmp_path: Path) -> Path:
    path = tmp_path / "chips.toml"
    path.write_bytes(COMMENTED.encode())
    return path


def lines(path: Path) -> list[str]:
    return path.read_bytes().decode().splitlines(keepends=True)


def assert_only_inserted(before: list[str], after: list[str], inserted: list[str]) -> None:
    """`after` is `before` with exactly `inserted` added, every other byte identical."""
    assert len(after) == len(before) + len(inserted)
    rest = list(after)
    for line in inserted:
        rest.remove(line)
    assert rest == before


def test_add_keeps_every_other_byte(wl: Path) -> None:
    before = lines(wl)
    assert editing.add_symbols(wl, ["603019", "hk700", "688521.SH"]) == ["603019.SH", "00700.HK"]
    after = lines(wl)
    assert_only_inserted(before, after, ['    "603019.SH",\n', '    "00700.HK",\n'])
    # Appended after the last symbol, inside the array.
    assert after.index('    "603019.SH",\n') == before.index('    "589520",     # the AI ETF, typed without suffix\n') + 1
    assert load(wl).symbols == ["688521.SH", "688256.SH", "589520.SH", "603019.SH", "00700.HK"]


def test_add_at_index_and_no_duplicates(wl: Path) -> None:
    editing.add_symbols(wl, ["600519"], index=0)
    assert load(wl).symbols[0] == "600519.SH"
    before = wl.read_bytes()
    assert editing.add_symbols(wl, ["600519.SH", "SH600519"]) == []
    assert wl.read_bytes() == before  # a no-op edit does not even rewrite the file


def test_add_to_one_line_array(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text('name = "x"  # n\nsymbols = ["600519.SH", "00700.HK"]  # two\n')
    editing.add_symbols(path, ["09988"], index=0)
    assert path.read_text() == 'name = "x"  # n\nsymbols = ["09988.HK", "600519.SH", "00700.HK"]  # two\n'


def test_remove_takes_its_line_comment_and_nothing_else(wl: Path) -> None:
    before = lines(wl)
    assert editing.remove_symbols(wl, ["688521"]) == ["688521.SH"]
    after = lines(wl)
    assert after == [line for line in before if "VeriSilicon" not in line]


def test_remove_is_all_or_nothing(wl: Path) -> None:
    before = wl.read_bytes()
    with pytest.raises(EditError, match="600519.SH is not in the list"):
        editing.remove_symbols(wl, ["688521.SH", "600519"])
    assert wl.read_bytes() == before
    assert editing.remove_symbols(wl, ["688521.SH", "600519"], missing_ok=True) == ["688521.SH"]


def test_remove_keeps_rules_unless_asked(wl: Path) -> None:
    editing.remove_symbols(wl, ["688256.SH"])
    assert '[alerts."688256.SH"]' in wl.read_text()
    editing.add_symbols(wl, ["688256.SH"])
    assert load(wl).rules_for("688256.SH").pct_above == 8.0  # re-added: its rules are back
    editing.remove_symbols(wl, ["688256.SH"], drop_rules=True)
    text = wl.read_text()
    assert "688256" not in text and "# --- alerts ---" in text and text.endswith("# percent\n")


def test_move_takes_the_comment_along(wl: Path) -> None:
    before = lines(wl)
    editing.move_symbol(wl, "688521.SH", 2)
    after = lines(wl)
    assert sorted(after) == sorted(before)  # same lines, only the order changed
    assert load(wl).symbols == ["688256.SH", "589520.SH", "688521.SH"]
    moved = next(line for line in after if "688521" in line)
    assert moved == '    "688521.SH",  # VeriSilicon: seals on good days\n'
    editing.move_symbol(wl, "688521.SH", 0)
    assert load(wl).symbols == ["688521.SH", "688256.SH", "589520.SH"]


def test_thresholds_per_list_and_per_symbol(wl: Path) -> None:
    before = lines(wl)
    editing.set_rule(wl, "pct_above", 6.5)
    after = lines(wl)
    # The value changed in place; its comment and every other line stayed.
    assert after[before.index("pct_above = 5.0          # percent\n")] == "pct_above = 6.5          # percent\n"
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1
    editing.set_rule(wl, "fast_move_pct", 2.0, symbol="603019")
    editing.set_rules(wl, {"volume_spike": 3, "sound": "off"}, symbol="688256.SH")
    got = load(wl)
    assert got.defaults.pct_above == 6.5
    assert got.overrides["603019.SH"].fast_move_pct == 2.0
    assert got.overrides["603019.SH"].pct_above == 6.5  # inherits the list default
    assert got.overrides["688256.SH"].volume_spike == 3.0 and got.overrides["688256.SH"].sound == "off"
    assert "# Cambricon moves a lot" in wl.read_text()
    editing.set_rule(wl, "pct_above", None, symbol="688256.SH")  # back to the list default
    assert load(wl).rules_for("688256.SH").pct_above == 6.5
    assert "# per-symbol overrides" in wl.read_text()  # a table with the user's words is kept


def test_threshold_when_the_file_has_no_alerts_table(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text('# mine\nname = "x"\nsymbols = ["600519.SH"]\n\n[alerts."600519.SH"]  # Moutai\npct_below = -3\n')
    editing.set_rule(path, "pct_above", 5)
    text = path.read_text()
    assert text.count("# Moutai") == 1
    assert tomllib.loads(text)["alerts"] == {"pct_above": 5, "600519.SH": {"pct_below": -3}}
    editing.set_rule(path, "limit", False, symbol="600519")
    assert load(path).rules_for("600519.SH").limit is False


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("pct_above", "5%", "must be a number"), ("fast_move_minutes", 0, "from 1 to 240"),
     ("sound", "boom", "'sound' must be"), ("loudness", 3, "unknown rule")],
)  # fmt: skip
def test_bad_threshold_values_are_refused(wl: Path, key: str, value: object, message: str) -> None:
    before = wl.read_bytes()
    with pytest.raises(EditError, match=message):
        editing.set_rule(wl, key, value)
    assert wl.read_bytes() == before


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    original = COMMENTED.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    editing.set_rule(path, "pct_above", 7)
    data = path.read_bytes()
    assert data.count(b"\r\n") == original.count(b"\r\n") and data.replace(b"7", b"5.0") == original


# bad files are never written -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('name = "x"\nsymbols = [\n    "600519.SH",\n    "000001.SZ"\n    "00700.HK",\n]\n', (5, 5), ""),
        ('name = "x"\nsymbols = ["600519.SH"]\n[alerts]\npct_above = = 5\n', (4, 13), ""),
        ('name = "x"\nsymbols = ["600519.SH"\n', (3, 1), ""),
        ('name = "x"\nsymbols = ["600519.SH"]\n\n[alerts]\npct_above = "five"\n', (5, 1), "must be a number"),
        ('name = "x"\nsymbols = ["600519.SH", "600519.SZ"]\n', (2, 25), "unknown symbol"),
        ('name = "x"\nsymbols = "600519.SH"\n', (2, 1), "must be a list"),
    ],
)  # fmt: skip
def test_a_bad_file_gives_line_and_column_and_is_left_alone(
    tmp_path: Path, text: str, where: tuple[int, int], message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for attempt in (
        lambda: editing.add_symbols(path, ["601318"]),
        lambda: editing.remove_symbols(path, ["600519"]),
        lambda: editing.set_rule(path, "pct_above", 3),
        lambda: editing.move_symbol(path, "600519", 1),
    ):
        with pytest.raises(WatchlistError) as err:
            attempt()
        assert (err.value.line, err.value.column) == where
        assert str(err.value).startswith(f"{path}:{where[0]}:{where[1]}: ")
        assert message in str(err.value)
        assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]


def test_an_unknown_symbol_to_add_changes_nothing(wl: Path) -> None:
    before = wl.read_bytes()
    with pytest.raises(EditError, match="unknown symbol 'ABCDEF'"):
        editing.add_symbols(wl, ["600519", "ABCDEF"])
    assert wl.read_bytes() == before


# concurrency and failure ------------------------------------------------------------------


def test_an_editor_save_during_an_app_edit_keeps_both(wl: Path) -> None:
    """The file changes on disk after the app read it and before it renamed: retry on the new bytes."""
    calls = []

    def app_edit(text: str) -> str:
        calls.append(text)
        if len(calls) == 1:
            # The user saves in their editor while the app's edit is in flight.
            wl.write_text(text.replace('name = "AI chips"', 'name = "AI chips (mine)"'))
        return text.replace("pct_above = 5.0", "pct_above = 6.0")

    editing.edit(wl, app_edit)
    assert len(calls) == 2
    got = load(wl)
    assert got.name == "AI chips (mine)" and got.defaults.pct_above == 6.0


def test_an_editor_save_while_the_temp_file_is_written(wl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same race through the real add: the editor writes while the app's temp file is being fsynced."""
    real_fsync = os.fsync
    saved = []

    def editor_saves_meanwhile(fd: int) -> None:
        if not saved:
            saved.append(True)
            with open(wl, "a", encoding="utf-8") as f:  # an editor appending a line, not atomically
                f.write("# added in vim\n")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", editor_saves_meanwhile)
    editing.add_symbols(wl, ["601318"])
    text = wl.read_text()
    assert text.endswith("# added in vim\n") and '"601318.SH"' in text
    assert text.count("# added in vim") == 1


def test_disk_full_during_save_leaves_the_original(wl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = wl.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as err:
        editing.add_symbols(wl, ["601318"])
    assert err.value.errno == errno.ENOSPC
    assert wl.read_bytes() == before
    assert [p.name for p in wl.parent.iterdir()] == [wl.name]  # no temp file left behind


def test_disk_full_while_writing_the_temp(wl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = wl.read_bytes()
    real_fdopen = os.fdopen

    class FullDisk:
        """The temp file's handle, on a disk with no room for what is written."""

        def __init__(self, fh) -> None:
            self.fh = fh

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: str) -> int:
            self.fh.write(data[: len(data) // 2])  # part of it made it
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **kw: FullDisk(real_fdopen(fd, *a, **kw)))
    with pytest.raises(OSError) as err:
        editing.set_rule(wl, "pct_above", 3)
    assert err.value.errno == errno.ENOSPC
    assert wl.read_bytes() == before
    assert [p.name for p in wl.parent.iterdir()] == [wl.name]


# lists ------------------------------------------------------------------------------------


def test_create_rename_delete(tmp_path: Path) -> None:
    path = editing.create_list("Drugs 创新药", ["600276", "hk1177"], folder=tmp_path)
    assert path.name == "drugs-创新药.toml"
    wl = load(path)
    assert (wl.name, wl.symbols) == ("Drugs 创新药", ["600276.SH", "01177.HK"])
    with pytest.raises(EditError, match="already exists"):
        editing.create_list("drugs 创新药", folder=tmp_path)
    path.write_text(path.read_text() + "# my note\n")
    renamed = editing.rename_list(path, "Pharma")
    assert renamed == tmp_path / "pharma.toml" and not path.exists()
    assert load(renamed).name == "Pharma" and renamed.read_text().endswith("# my note\n")
    content = renamed.read_bytes()
    trashed = editing.delete_list(renamed)
    assert not renamed.exists()
    assert trashed.parent == tmp_path / ".trash" and trashed.read_bytes() == content


def test_rename_never_clobbers_another_list(tmp_path: Path) -> None:
    a = editing.create_list("A", folder=tmp_path)
    b = editing.create_list("B", folder=tmp_path)
    assert editing.rename_list(a, "B") == a  # file name taken: only the name changes
    assert load(a).name == "B" and load(b).name == "B"


def test_move_between_lists(tmp_path: Path, wl: Path) -> None:
    other = editing.create_list("Other", ["600519"], folder=tmp_path)
    editing.move_to_list(wl, other, "688256.SH", index=0)
    assert load(other).symbols == ["688256.SH", "600519.SH"]
    assert load(other).rules_for("688256.SH").pct_above == 8.0  # its thresholds went along
    assert "688256.SH" not in load(wl).symbols


def test_move_into_a_broken_list_loses_nothing(tmp_path: Path, wl: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('symbols = ["600519.SH",\n')
    with pytest.raises(WatchlistError):
        editing.move_to_list(wl, broken, "688256.SH")
    assert "688256.SH" in load(wl).symbols and wl.read_text() == COMMENTED


def test_bundled_lists_load_and_are_copied_before_editing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETMON_HOME", str(tmp_path))
    names = [p.name for p in bundled_paths()]
    assert names == ["ai-chips.toml", "convertible-bonds.toml", "etfs.toml", "hk-tech.toml", "innovative-drugs.toml"]
    from marketmon.serve.demo_day import BY_SYMBOL

    for path in bundled_paths():
        wl = load(path)
        assert wl.symbols and "#" in path.read_text(), path
        if path.name == "convertible-bonds.toml":  # the demo day has no bonds: each bond beside its stock
            kinds = [classify(s).board for s in wl.symbols]
            assert kinds == [Board.BOND, Board.MAIN] * (len(kinds) // 2), kinds
            assert "no bonds" in path.read_text()  # the file tells the trader where it fills from
        else:
            assert all(s in BY_SYMBOL for s in wl.symbols), path
    assert user_paths() == []
    bundled = bundled_paths()[0]
    copy = editing.user_copy(bundled)
    assert copy == tmp_path / "config" / "watchlists" / bundled.name
    assert copy.read_bytes() == bundled.read_bytes() and user_paths() == [copy]
    assert editing.user_copy(copy) == copy


# the watcher -----------------------------------------------------------------------------


def test_watcher_reports_changes_and_keeps_the_last_good_list(wl: Path) -> None:
    changes, errors = [], []
    watcher = WatchlistWatcher([wl], on_change=changes.append, on_error=errors.append)
    assert watcher.current[wl].symbols == ["688521.SH", "688256.SH", "589520.SH"]
    watcher.poll()
    assert changes == [] and errors == []
    editing.add_symbols(wl, ["601318"])
    watcher.poll()
    assert [c.symbols[-1] for c in changes] == ["601318.SH"]
    good = wl.read_text()
    wl.write_text(good.replace("pct_above = 5.0", "pct_above = five"))
    watcher.poll()
    assert errors == []  # seen once: maybe an editor halfway through a save
    watcher.poll()
    assert len(errors) == 1 and (errors[0].line, errors[0].column) == (15, 13)
    watcher.poll()
    assert len(errors) == 1  # reported once, not every poll
    assert watcher.current[wl].symbols[-1] == "601318.SH"  # the last good state stays
    wl.write_text(good.replace("pct_above = 5.0", "pct_above = 4.0"))
    watcher.poll()
    assert changes[-1].defaults.pct_above == 4.0 and watcher.current[wl].defaults.pct_above == 4.0


def test_watcher_ignores_a_half_saved_file(wl: Path) -> None:
    changes, errors = [], []
    watcher = WatchlistWatcher([wl], on_change=changes.append, on_error=errors.append)
    text = wl.read_text()
    wl.write_text("")  # truncated by an editor, content not written yet
    watcher.poll()
    wl.write_text(text + "# saved\n")
    watcher.poll()
    assert errors == [] and len(changes) == 1 and changes[0].symbols == watcher.current[wl].symbols


def test_watcher_bad_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text("symbols = [\n")
    errors, changes = [], []
    watcher = WatchlistWatcher([path], on_change=changes.append, on_error=errors.append)
    assert len(errors) == 1 and path not in watcher.current
    path.write_text('symbols = ["600519"]\n')
    watcher.poll()
    assert changes[0].symbols == ["600519.SH"]


async def test_watcher_task_polls_on_its_own(wl: Path) -> None:
    seen = asyncio.Event()
    watcher = WatchlistWatcher([wl], on_change=lambda w: seen.set(), interval=0.05)
    watcher.start()
    try:
        editing.add_symbols(wl, ["601318"])
        await asyncio.wait_for(seen.wait(), 5)
    finally:
        await watcher.stop()
    assert watcher.current[wl].symbols[-1] == "601318.SH"


def test_parse_new_rule_keys() -> None:
    wl = parse('symbols = ["600519"]\n[alerts]\nfast_move_pct = 2\nfast_move_minutes = 3\nvolume_spike = 4\n')
    assert (wl.defaults.fast_move_pct, wl.defaults.fast_move_minutes, wl.defaults.volume_spike) == (2.0, 3, 4.0)
    with pytest.raises(WatchlistError, match=r":4:1: 'volume_spike' must be a number above 0"):
        parse('symbols = ["600519"]\n[alerts]\n\nvolume_spike = -1\n', "l.toml")


def test_bundled_files_are_never_written(tmp_path: Path) -> None:
    bundled = bundled_paths()[0]
    before = bundled.read_bytes()
    for attempt in (
        lambda: editing.add_symbols(bundled, ["600519"]),
        lambda: editing.set_rule(bundled, "pct_above", 1),
        lambda: editing.delete_list(bundled),
        lambda: editing.rename_list(bundled, "x"),
    ):
        with pytest.raises(EditError, match="read-only"):
            attempt()
    assert bundled.read_bytes() == before


def test_move_needs_the_symbol_and_two_lists(wl: Path, tmp_path: Path) -> None:
    other = editing.create_list("Other", folder=tmp_path)
    with pytest.raises(EditError, match="600519.SH is not in the list"):
        editing.move_to_list(wl, other, "600519")
    with pytest.raises(EditError, match="same file"):
        editing.move_to_list(wl, wl, "688521")
    assert load(other).symbols == [] and wl.read_text() == COMMENTED
