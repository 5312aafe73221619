"""Security (docs/security.md): loopback by default, token auth when exposed,
a maximum frame size both ways, external programs as argument lists."""

from __future__ import annotations

import ast
import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import marketmon
from marketmon.alerts import notify
from marketmon.alerts.rules import Alert
from marketmon.cli.main import build_parser
from marketmon.feed import protocol
from marketmon.feed.client import FeedClient, FeedEvent, redact
from marketmon.serve.gateway import Gateway
from marketmon.serve.server import QuoteServer
from marketmon.store.state import Store

from ..conftest import T0, wait_for
from ..faultkit import readline, record, same_state
from ..feed.test_client import full_quotes
from ..feed.test_hostile import REPRODUCIBLE

PACKAGE = Path(marketmon.__file__).parent

# --- loopback unless told otherwise --------------------------------------------------------


async def test_servers_bind_loopback_by_default():
    server = QuoteServer(wait_for_client=False)
    await server.start()
    try:
        assert {s.getsockname()[0] for s in server._server.sockets} == {"127.0.0.1"}
    finally:
        await server.close()
    gateway = Gateway("ws://127.0.0.1:9", give_up_after=0.1)
    assert gateway.server.host == "127.0.0.1"


def test_every_serving_command_defaults_to_loopback():
    parser = build_parser()
    for argv in (["serve", "--demo"], ["serve", "--upstream", "ws://x"], ["bridge", "sina", "--symbols", "600000.SH"]):
        assert parser.parse_args(argv).host == "127.0.0.1", argv


def _serve(*extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketmon", "serve", "--demo", "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = readline(proc.stdout)  # the address line; a server that never starts fails in 30 s
    return proc, line


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    return err


def test_marketmon_serve_listens_on_loopback_only():
    proc, line = _serve()
    try:
        assert "ws://127.0.0.1:" in line, line
        listening = [c for c in psutil.Process(proc.pid).net_connections("inet") if c.status == psutil.CONN_LISTEN]
        assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening
    finally:
        err = _stop(proc)
    assert proc.returncode == 0 and "warning" not in err
    record(faults=1)


def test_marketmon_serve_warns_when_exposed_without_a_token():
    proc, line = _serve("--host", "127.0.0.2")  # not a name we know as loopback: treated as exposed
    err = _stop(proc)
    assert "with no --token" in err, err
    proc, line = _serve("--host", "127.0.0.2", "--token", "s3cret")
    err = _stop(proc)
    assert "warning" not in err, err


# --- token auth -----------------------------------------------------------------------------


async def _token_server() -> QuoteServer:
    server = QuoteServer(wait_for_client=False, token="s3cret")
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": full_quotes(__import__("random").Random(1))})
    return server


@pytest.mark.parametrize("suffix", ["", "/?token=", "/?token=wrong", "/?token=s3cre", "/?token=s3cretX", "/?tok=s3cret"])
async def test_a_missing_or_wrong_token_is_refused(suffix):
    server = await _token_server()
    events: list[FeedEvent] = []
    store = Store()
    client = FeedClient(server.url + suffix, store, on_event=events.append, backoff_initial=0.02, backoff_max=0.05)
    task = asyncio.create_task(client.run())
    await wait_for(lambda: sum(e.state == "disconnected" for e in events) >= 2)
    client.stop()
    await asyncio.wait_for(task, 5)
    await server.close()
    assert store.frame.height == 0 and not store.has_pending  # not one quote got out
    assert all("4401" in e.detail for e in events if e.state == "disconnected"), [e.detail for e in events]
    assert not any("token=s3" in e.detail or "token=wr" in e.detail for e in events)
    record(faults=1)


async def test_the_right_token_by_query_or_header_is_let_in():
    server = await _token_server()
    try:
        store = Store()
        events: list[FeedEvent] = []
        client = FeedClient(server.url + "/?token=s3cret", store, on_event=events.append)
        task = asyncio.create_task(client.run())
        await wait_for(lambda: same_state(server.quotes, store))
        client.stop()
        await asyncio.wait_for(task, 5)
        assert all("s3cret" not in e.detail for e in events)  # the URL shown is redacted
        async with connect(server.url, additional_headers={"Authorization": "Bearer s3cret"}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            await ws.send(protocol.subscribe(["*"], 1).decode())
            assert json.loads(await ws.recv())["type"] == "snapshot"
        async with connect(server.url, additional_headers={"Authorization": "Bearer nope"}) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 4401
    finally:
        await server.close()


def test_tokens_and_passwords_never_show_in_urls():
    assert redact("ws://h:1/?token=s3cret") == "ws://h:1/?token=***"
    assert redact("wss://h/feed?a=1&token=s3cret&b=2") == "wss://h/feed?a=1&token=***&b=2"
    assert redact("wss://me:pw@h/") == "wss://me:***@h/"


# --- frame size limits ----------------------------------------------------------------------


def test_the_client_accepts_the_protocols_16_mib_and_no_more_by_default():
    client = FeedClient("ws://x", Store())
    assert client.max_size == protocol.MAX_FRAME_BYTES == 16 * 2**20


async def test_the_server_closes_a_client_that_sends_an_oversized_frame_and_serves_the_others():
    server = QuoteServer(wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": full_quotes(__import__("random").Random(2))})
    try:
        assert server.max_size == protocol.MAX_REQUEST_BYTES == 2**20
        async with connect(server.url) as good, connect(server.url, max_size=None) as evil:
            await good.recv()
            await evil.recv()
            huge = protocol.subscribe(["600000.SH"] * 120_000, 1).decode()  # ~1.4 MB
            assert len(huge) > server.max_size
            await evil.send(huge)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await evil.recv()
            assert closed.value.sent is not None and closed.value.sent.code == 1009  # message too big
            await good.send(protocol.subscribe(["*"], 1).decode())
            assert json.loads(await good.recv())["type"] == "snapshot"
    finally:
        await server.close()
    record(faults=1)


async def test_a_flood_of_bad_requests_gets_errors_and_the_connection_stays():
    server = QuoteServer(wait_for_client=False)
    await server.start()
    await server.publish({"type": "quotes", "ts": T0, "quotes": full_quotes(__import__("random").Random(3))})
    bad = ["nope", "{}", '{"op":"buy","symbols":[]}', '{"op":"subscribe","symbols":"*"}', "[" * 5000,
           '{"op":"subscribe","symbols":["' + "x" * 40 + '"]}', b'{"op":"\xff","symbols":[]}']  # fmt: skip
    try:
        async with connect(server.url) as ws:
            await ws.recv()
            for n in range(1000):
                await ws.send(bad[n % len(bad)])
            errors = 0
            while errors < 1000:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert msg["type"] == "error" and msg["code"] == "bad_request"
                errors += 1
            await ws.send(protocol.subscribe(["600000.SH"], 9).decode())
            assert json.loads(await ws.recv())["type"] == "snapshot"
    finally:
        await server.close()
    record(bad_inputs=1000)


@settings(max_examples=300, deadline=None, **REPRODUCIBLE)
@given(
    st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
    | st.fixed_dictionaries(  # near misses as well as real requests
        {"op": st.sampled_from(["subscribe", "unsubscribe", "drop"]), "symbols": st.lists(st.text(max_size=40), max_size=3)},
        optional={"id": st.integers() | st.text(max_size=3), "token": st.text(max_size=8) | st.none()},
    ).map(lambda d: json.dumps(d).encode())
)
def test_fuzzed_client_requests_are_bad_requests_only(frame):
    try:
        request = protocol.decode_request(frame)
    except protocol.BadFrame:
        record(bad_inputs=1)
        return
    # Accepted: only a request of the protocol's shape, which encodes back to itself.
    assert request.op in ("subscribe", "unsubscribe") and json.loads(frame)["op"] == request.op
    assert all(isinstance(s, str) and len(s) <= 32 for s in request.symbols)
    assert protocol.decode_request(protocol.encode(request)) == request


# --- external programs run as argument lists -------------------------------------------------

_SHELL_CALLS = {"system", "popen", "getoutput", "getstatusoutput", "create_subprocess_shell",
                "spawnl", "spawnlp", "spawnv", "spawnvp", "execl", "execlp", "execv", "execvp"}  # fmt: skip
_RUNNERS = {"Popen", "run", "call", "check_call", "check_output", "create_subprocess_exec"}


def _shell_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        where = f"{path}:{node.lineno}"
        if name in _SHELL_CALLS:
            found.append(f"{where}: {name}()")
        for kw in node.keywords:
            if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                found.append(f"{where}: shell=")
        if name in _RUNNERS and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr | ast.BinOp):
            found.append(f"{where}: {name}() given a command string")
    return found


def test_no_shell_anywhere_in_marketmon():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 30
    found = [hit for path in sources for hit in _shell_uses(path)]
    assert found == [], found


def test_the_shell_check_would_catch_one(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("import os, subprocess\nos.system('x')\nsubprocess.run('ls', shell=True)\nsubprocess.Popen(f'{x}')\n")
    assert len(_shell_uses(bad)) == 4


def test_a_hostile_alert_text_reaches_the_notifier_as_one_plain_argument(monkeypatch, tmp_path):
    # A real notify-send on PATH that writes down the arguments it was given.
    got = tmp_path / "argv.json"
    fake = tmp_path / "bin" / "notify-send"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(got)!r}, 'w'))\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    body = "-x $(rm -rf ~); `id` <b>\x1b]0;PWNED\x07</b>"
    alert = Alert(1757650000000, "600000.SH", "-rf", "limit_up", 11.0, 10.0, body)
    notifier = notify.Notifier(enabled=True)
    assert notifier.notify(alert)
    notifier.wait()
    argv = json.loads(got.read_text())
    assert argv[:2] == ["--app-name=marketmon", "--"] and len(argv) == 4  # title and body: one argument each
    assert argv[2] == "600000.SH limit_up"
    assert "\x1b" not in argv[3] and "<b>" not in argv[3] and "&lt;b&gt;" in argv[3]
    assert "$(rm -rf ~)" in argv[3] and "`id`" in argv[3]  # literal text: no shell ever saw it
    assert not (Path.home() / "PWNED").exists()
    record(bad_inputs=1)


def test_a_player_command_from_the_settings_is_an_argument_list(monkeypatch, tmp_path):
    """The settings file path can come from the environment; the file is read, never executed."""
    cfg = tmp_path / "config.toml"
    cfg.write_text('[sound]\nplayer = ["/bin/echo", "$(id)"]\n')
    monkeypatch.setenv("MARKETMON_CONFIG", str(cfg))
    from marketmon.config.settings import load_settings

    assert load_settings().sound.player == ["/bin/echo", "$(id)"]  # a literal argument, no shell to expand it
