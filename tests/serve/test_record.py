"""Record a stream, replay the recording, record the replay: the two recordings
carry the same messages and the replayed final state equals the recorded one."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest

from marketmon.cli.main import build_parser, main
from marketmon.engine import Engine
from marketmon.serve.demo_day import SEED_DAY
from marketmon.serve.recording import Recording, RecordingError, record, write_script
from marketmon.serve.script import Event, ListScript
from marketmon.serve.server import QuoteServer

from ..conftest import T0, TRADE_DATE, assert_same_state
from ..feed.test_client import make_script


def lines(path) -> list[dict]:
    with gzip.open(path, "rb") as fh:
        return [json.loads(line) for line in fh]


def stream(path) -> list[dict]:
    """The recorded messages without what differs by connection (seq, request id)."""
    return [{k: v for k, v in line["m"].items() if k not in ("seq", "id")} for line in lines(path)
            if line["m"]["type"] not in ("recording", "hello")]  # fmt: skip


async def test_record_then_replay_gives_the_same_stream_and_state(tmp_path):
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    async with QuoteServer(make_script(seed=9, steps=150), speed=0) as original:
        stats = await asyncio.wait_for(record(original.url, first), 30)
    assert stats.ended == "eof" and stats.bad_messages == 0
    recording = Recording(first)
    assert recording.trade_date == TRADE_DATE
    async with QuoteServer(recording, speed=0) as replay:
        await asyncio.wait_for(record(replay.url, second), 30)
    assert stream(second) == stream(first)
    assert stream(first)[0]["type"] == "snapshot" and stream(first)[-1] == {"type": "eof"}
    # A terminal watching the replay ends in the recorded market's final state.
    async with QuoteServer(Recording(first), speed=0) as replay:
        engine = Engine(replay.url)
        assert await asyncio.wait_for(engine.run(), 30) == "eof"
    assert replay.quotes == original.quotes
    assert_same_state(original.quotes, engine.store)


async def test_recording_keeps_time_and_replays_at_speed(tmp_path):
    path = tmp_path / "timed.jsonl.gz"
    events = [Event(T0, {"type": "quotes", "ts": T0, "quotes": [{"symbol": "600000.SH", "ts": T0, "last": 10.0}]})]
    events += [Event(T0 + 100 * i, {"type": "quotes", "ts": T0 + 100 * i,
                                    "quotes": [{"symbol": "600000.SH", "ts": T0 + 100 * i, "last": 10.0 + i / 100}]})
               for i in range(1, 6)]  # fmt: skip
    async with QuoteServer(ListScript(TRADE_DATE, events), speed=1) as server:
        await asyncio.wait_for(record(server.url, path), 10)
    ts = [line["t"] for line in lines(path) if line["m"]["type"] in ("snapshot", "quotes")]
    assert 400 <= ts[-1] - ts[1] <= 1500  # the five 100 ms steps, on the wall clock
    replayed = list(Recording(path).events())
    assert [e.ts - replayed[0].ts for e in replayed][1:] == [t - ts[0] + 1 for t in ts][1:]
    loop = asyncio.get_running_loop()
    async with QuoteServer(Recording(path), speed=4) as server:
        engine = Engine(server.url)
        started = loop.time()
        await asyncio.wait_for(engine.run(), 10)
        elapsed = loop.time() - started
    assert elapsed < (ts[-1] - ts[0]) / 1000  # four times faster than recorded
    assert engine.store.quote("600000.SH")["last"] == 10.05


async def test_recording_stops_after_duration(tmp_path):
    server = QuoteServer(wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": [{"symbol": "600000.SH", "ts": T0, "last": 9.9}]})
    path = tmp_path / "d.jsonl.gz"
    stats = await asyncio.wait_for(record(server.url, path, duration=0.5), 10)
    await server.close()
    assert stats.ended == "duration"
    assert [m["type"] for m in stream(path)] == ["snapshot"]


def test_seed_day_as_a_recording(tmp_path):
    path = tmp_path / "seed.jsonl.gz"
    assert main(["record", "--demo", "--out", str(path)]) == 0
    recording = Recording(path)
    assert recording.trade_date == SEED_DAY.trade_date and recording.tz == SEED_DAY.tz
    state: dict[str, dict] = {}
    count = 0
    for original, replayed in zip(SEED_DAY.events(), recording.events(), strict=True):
        assert (replayed.ts, replayed.body) == (original.ts, original.body)
        count += 1
        if replayed.body["type"] == "quotes":
            for q in replayed.body["quotes"]:
                state.setdefault(q["symbol"], {}).update(q)
    assert state == SEED_DAY.closing_state()
    assert path.stat().st_size < 20 * 1024 * 1024 and count > 7000


def test_damaged_and_foreign_files(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    write_script(make_script(steps=300), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut off while written
    events = list(Recording(path).events())
    assert 0 < len(events) < 301
    foreign = tmp_path / "x.txt"
    foreign.write_text("hello")
    with pytest.raises(RecordingError):
        Recording(foreign)
    with pytest.raises(RecordingError, match="No such file"):
        Recording(tmp_path / "missing.gz")
    with pytest.raises(RecordingError):
        Recording(tmp_path)  # a folder
    assert main(["serve", "--replay", str(foreign)]) == 2


def test_serve_takes_exactly_one_of_demo_replay_upstream(capsys):
    parser = build_parser()
    assert parser.parse_args(["serve", "--replay", "f.gz", "--speed", "10"]).replay == "f.gz"
    assert parser.parse_args(["serve", "--upstream", "ws://h:1"]).upstream == "ws://h:1"
    for bad in (["serve"], ["serve", "--demo", "--replay", "f.gz"], ["serve", "--replay", "f", "--upstream", "ws://h"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(bad)
        assert exc.value.code == 2
