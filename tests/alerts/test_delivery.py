"""Chat sinks against a stand-in service on 127.0.0.1: formats, signatures,
retries and back-off, 429 with Retry-After, a dead sink, the services' own
error codes, filters, and a caller that is never held up."""

from __future__ import annotations

import asyncio
import email.utils
import json
import threading
import time
from pathlib import Path

import pytest

from marketmon.alerts.delivery import Deliveries, SinkSpec, retry_after
from marketmon.alerts.delivery_log import DeliveryLog
from marketmon.alerts.rules import Alert
from marketmon.alerts.sinks import AlertSinks
from tests.alerts.standin import StandIn

T = 1757655720000  # 2025-09-12 13:42:00 Asia/Shanghai
HOSTILE = 'Evil*_`[x](http://e.vil) <at user_id="all"></at> @all & \x1b[31m#'


def alert(i: int = 0, *, symbol: str = "688521.SH", name: str = "VeriSilicon", rule: str = "limit_up") -> Alert:
    return Alert(T + i * 60_000, symbol, name, rule, 154.39, 20.0, f"{name} hit limit up at 154.39 (+20.00%)")


class Sleeps:
    """The delivery thread's sleep: records each delay and returns at once,
    or waits while `gate` is clear (a sink held down by the test)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.gate = threading.Event()
        self.gate.set()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        while not self.gate.is_set():
            await asyncio.sleep(0.005)


def deliveries(stand_in: StandIn, tmp_path: Path, *, service: str | None = None, secret: str | None = None,
               sleeps: Sleeps | None = None, **spec: object) -> Deliveries:  # fmt: skip
    sink = SinkSpec("phone", service or stand_in.service, stand_in.url, secret, **spec)  # type: ignore[arg-type]
    return Deliveries([sink], DeliveryLog(tmp_path / "deliveries.jsonl"), sleep=sleeps or Sleeps())


def outcomes(tmp_path: Path) -> list[tuple[str, int, str]]:
    return [(o.outcome, o.attempts, o.detail) for o in DeliveryLog(tmp_path / "deliveries.jsonl").tail(1000)]


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


# -- formats ----------------------------------------------------------------------


def _markdown_safe(text: str) -> None:
    """Feed text inside markdown: no live mark, tag, link or escape sequence."""
    assert "\x1b" not in text and "<at" not in text and "](" not in text.replace("\\](", "")
    assert "@all" not in text  # split by a zero-width space
    assert "\\*" in text and "\\_" in text and "\\`" in text and "\\[x\\]" in text and "&amp;" in text


@pytest.mark.parametrize("service", ["dingtalk", "feishu", "wecom", "slack", "discord", "webhook"])
def test_each_service_gets_its_own_format_with_every_field_and_feed_text_escaped(service: str, tmp_path: Path) -> None:
    with StandIn(service) as stand_in:
        d = deliveries(stand_in, tmp_path)
        d.submit(alert(name=HOSTILE))
        assert d.drain(10)
        d.close()
    [req] = stand_in.seen
    assert req.headers["Content-Type"].startswith("application/json")
    body = req.json()
    if service == "dingtalk":
        assert body["msgtype"] == "markdown"
        text = body["markdown"]["text"]
        assert "Evil" in body["markdown"]["title"] and "\x1b" not in body["markdown"]["title"]
    elif service == "feishu":
        assert body["msg_type"] == "interactive" and "timestamp" not in body  # no secret: not signed
        [element] = body["card"]["elements"]
        assert element["tag"] == "markdown"
        text = element["content"]
        assert body["card"]["header"]["title"]["tag"] == "plain_text"
    elif service == "wecom":
        assert body["msgtype"] == "markdown"
        text = body["markdown"]["content"]
    elif service == "slack":
        header, section = body["blocks"]
        assert header["type"] == "header" and section["text"]["type"] == "mrkdwn"
        text = section["text"]["text"]
        # Slack's rule: &, < and > are the control characters; nothing else is escaped.
        assert "<" not in text and ">" not in text and "&amp;" in text and "&lt;at" in text and "\x1b" not in text
        assert "<" not in body["text"]
    elif service == "discord":
        assert body["allowed_mentions"] == {"parse": []}  # a name saying @everyone pings nobody
        [embed] = body["embeds"]
        assert embed["timestamp"] == "2025-09-12T05:42:00+00:00"
        text = body["content"] + "\n" + embed["description"]
    else:
        sent = {**alert(name=HOSTILE).to_event(), "name": HOSTILE}
        assert body == json.loads(json.dumps(sent))  # watch --json's alert event, plus the name
        return
    for field in ("688521.SH", "limit\\_up" if service != "slack" else "limit_up", "154.39", "+20.00%", "2025-09-12 13:42:00"):
        assert field in text, (field, text)
    if service != "slack":
        _markdown_safe(text)


# -- signatures and the services' own error codes --------------------------------


@pytest.mark.parametrize("service", ["dingtalk", "feishu"])
def test_signed_requests_are_accepted_and_a_wrong_secret_fails_once_with_the_services_code(service: str, tmp_path: Path) -> None:
    with StandIn(service, secret="SEC-right") as stand_in:
        d = deliveries(stand_in, tmp_path, secret="SEC-right")
        d.submit(alert(0))
        assert d.drain(10)
        assert d.failing() == []
        d.close()
        wrong = deliveries(stand_in, tmp_path, secret="SEC-wrong")
        wrong.submit(alert(1))
        assert wrong.drain(10)
        assert wrong.failing() == ["phone"]
        wrong.close()
    good, bad = stand_in.seen
    assert (good.signed, bad.signed) == (True, False)
    if service == "dingtalk":
        assert good.query["access_token"] == "abc"  # the URL's own query kept
        assert abs(int(good.query["timestamp"]) - time.time() * 1000) < 60_000  # milliseconds
    else:
        assert abs(int(good.json()["timestamp"]) - time.time()) < 60  # seconds
    code = "310000" if service == "dingtalk" else "19021"
    # HTTP 200 with an error code: read, reported, not retried (a bad signature will not heal).
    (sent, n_sent, _), (failed, n_failed, detail) = outcomes(tmp_path)
    assert (sent, n_sent, failed, n_failed) == ("sent", 1, "failed", 1)
    assert detail.startswith(f"error {code}:")


def test_webhook_with_a_secret_signs_the_body(tmp_path: Path) -> None:
    import hashlib
    import hmac

    with StandIn("webhook") as stand_in:
        d = deliveries(stand_in, tmp_path, secret="s3")
        d.submit(alert())
        assert d.drain(10)
        d.close()
    [req] = stand_in.seen
    ts = req.headers["X-Marketmon-Timestamp"]
    mac = hmac.new(b"s3", ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Marketmon-Signature"] == f"sha256={mac}"


# -- retries ----------------------------------------------------------------------


def test_5xx_is_retried_with_doubling_backoff_then_sent(tmp_path: Path) -> None:
    sleeps = Sleeps()
    with StandIn("slack") as stand_in:
        stand_in.script = [(503, {}, b"busy"), (502, {}, b""), (500, {}, b"oops")]
        d = deliveries(stand_in, tmp_path, sleeps=sleeps)
        d.submit(alert())
        assert d.drain(10)
        d.close()
    assert len(stand_in.seen) == 4
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert [o[:2] for o in outcomes(tmp_path)] == [("sent", 4)]


def test_a_sink_that_stays_down_gives_up_after_the_attempts(tmp_path: Path) -> None:
    sleeps = Sleeps()
    with StandIn("discord") as stand_in:
        stand_in.always = (503, {}, b"down")
        d = deliveries(stand_in, tmp_path, sleeps=sleeps)
        d.submit(alert())
        assert d.drain(10)
        assert d.failing() == ["phone"]
        d.close()
    assert len(stand_in.seen) == 5 and sleeps.delays == [1.0, 2.0, 4.0, 8.0]
    assert outcomes(tmp_path) == [("failed", 5, "HTTP 503: down")]


def test_429_waits_as_long_as_retry_after_says(tmp_path: Path) -> None:
    sleeps = Sleeps()
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    with StandIn("discord") as stand_in:
        stand_in.script = [(429, {"Retry-After": "7"}, b'{"retry_after": 7}'), (429, {"Retry-After": later}, b"")]
        d = deliveries(stand_in, tmp_path, sleeps=sleeps)
        d.submit(alert())
        assert d.drain(10)
        d.close()
    assert len(stand_in.seen) == 3
    assert sleeps.delays[0] == 7.0 and 27 <= sleeps.delays[1] <= 30  # the date form: seconds from now
    assert [o[:2] for o in outcomes(tmp_path)] == [("sent", 3)]


def test_retry_after_is_read_in_both_forms_and_capped() -> None:
    assert retry_after("2.5", 0) == 2.5
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 - 10) == 10.0
    assert retry_after("86400", 0) == 300.0
    assert retry_after("soon", 0) is None and retry_after(None, 0) is None


def test_a_4xx_is_not_retried(tmp_path: Path) -> None:
    sleeps = Sleeps()
    with StandIn("slack") as stand_in:
        stand_in.script = [(404, {}, b"no_service")]
        d = deliveries(stand_in, tmp_path, sleeps=sleeps)
        d.submit(alert())
        assert d.drain(10)
        d.close()
    assert len(stand_in.seen) == 1 and sleeps.delays == []
    assert outcomes(tmp_path) == [("failed", 1, "HTTP 404: no_service")]


def test_no_answer_within_the_timeout_is_retried(tmp_path: Path) -> None:
    sleeps = Sleeps()
    with StandIn("webhook") as stand_in:
        stand_in.hold.clear()  # the service takes the request and says nothing
        d = deliveries(stand_in, tmp_path, sleeps=sleeps, timeout_s=0.2)
        d.submit(alert())
        wait_until(lambda: len(stand_in.seen) >= 2)
        stand_in.hold.set()
        assert d.drain(10)
        d.close()
    assert sleeps.delays[0] == 1.0
    first = outcomes(tmp_path)[0]
    assert first[0] == "sent" and first[1] >= 2


# -- a dead sink, and the caller --------------------------------------------------


def test_a_dead_sink_drops_the_oldest_waiting_alerts_and_counts_them(tmp_path: Path) -> None:
    sleeps = Sleeps()
    sleeps.gate.clear()  # the first alert's back-off lasts until the test says
    with StandIn("wecom") as stand_in:
        stand_in.always = (502, {}, b"bad gateway")
        d = deliveries(stand_in, tmp_path, sleeps=sleeps, queue=3)
        d.submit(alert(0))
        wait_until(lambda: len(sleeps.delays) == 1)
        for i in range(1, 7):
            d.submit(alert(i))
        assert d.workers[0].dropped == 3 and d.failing() == ["phone"]
        stand_in.always = None  # the service is back
        sleeps.gate.set()
        assert d.drain(10)
        assert d.failing() == []
        d.close()
    log = DeliveryLog(tmp_path / "deliveries.jsonl").tail(100)
    dropped = [o.alert_ts for o in log if o.outcome == "dropped"]
    sent = [o.alert_ts for o in log if o.outcome == "sent"]
    assert dropped == [alert(i).ts for i in (1, 2, 3)]  # the oldest waiting ones
    assert sent == [alert(i).ts for i in (0, 4, 5, 6)]  # the one in flight, then the newest
    assert "3 dropped" in [o.detail for o in log if o.outcome == "dropped"][-1]


def test_submit_returns_while_the_service_holds_the_request(tmp_path: Path) -> None:
    with StandIn("slack") as stand_in:
        stand_in.hold.clear()
        d = deliveries(stand_in, tmp_path)
        d.submit(alert(0))
        wait_until(lambda: len(stand_in.seen) == 1)
        started = time.monotonic()
        for i in range(1, 200):
            d.submit(alert(i))  # the engine's side: never waits for the network
        assert time.monotonic() - started < 1.0
        assert len(stand_in.seen) == 1  # still held: nothing above waited for it
        stand_in.hold.set()
        assert d.drain(10)
        d.close()
    assert len(stand_in.seen) == 101 and d.workers[0].dropped == 99  # queue of 100


# -- filters ----------------------------------------------------------------------


def test_rules_symbols_lists_and_min_interval_choose_what_a_sink_takes(tmp_path: Path) -> None:
    with StandIn("webhook") as stand_in:
        sink = SinkSpec("phone", "webhook", stand_in.url, rules=frozenset({"limit_up", "pct_above"}),
                        symbols=frozenset({"688521.SH", "600519.SH"}), lists=frozenset({"core"}), min_interval_s=120)  # fmt: skip
        lists = {"688521.SH": ("core",), "600519.SH": ("other",)}
        d = Deliveries([sink], DeliveryLog(tmp_path / "deliveries.jsonl"), lambda s: lists.get(s, ()), sleep=Sleeps())
        d.submit(alert(0))  # taken
        d.submit(alert(1, rule="limit_down"))  # rule not taken
        d.submit(alert(1, symbol="000001.SZ"))  # symbol not taken
        d.submit(alert(1, symbol="600519.SH"))  # not in list "core"
        d.submit(alert(1, rule="pct_above"))  # 60 s after the last: within min_interval_s
        d.submit(alert(2, rule="pct_above"))  # 120 s after: taken
        assert d.drain(10)
        d.close()
    assert [(r.json()["ts"], r.json()["rule"]) for r in stand_in.seen] == [(T, "limit_up"), (T + 120_000, "pct_above")]
    assert sorted(o[0] for o in outcomes(tmp_path)) == ["sent", "sent", "skipped"]  # written by two threads


def test_alert_sinks_hand_alerts_to_the_deliveries_and_drain_them_at_exit(tmp_path: Path) -> None:
    with StandIn("dingtalk", secret="k") as stand_in:
        sinks = AlertSinks(deliveries=deliveries(stand_in, tmp_path, secret="k"))
        sinks(alert())
        sinks.wait()
        sinks(alert(1))  # after exit (the app's engine may fire once more): dropped quietly
        sinks.close()
    assert [r.signed for r in stand_in.seen] == [True]


def test_a_sink_goes_through_its_own_proxy_and_never_the_environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stand-in is the proxy: the robot's host is one that does not resolve, so
    # only a request through the proxy can arrive anywhere.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: a client reading it fails
    with StandIn("dingtalk", secret="k") as proxy:
        base = proxy.url.split("/hook")[0]
        sink = SinkSpec("phone", "dingtalk", "http://oapi.dingtalk.invalid/robot/send?access_token=abc", "k", proxy=base)
        d = Deliveries([sink], DeliveryLog(tmp_path / "deliveries.jsonl"), sleep=Sleeps())
        d.submit(alert())
        assert d.drain(10)
        d.close()
    [req] = proxy.seen
    assert req.headers["Host"] == "oapi.dingtalk.invalid" and req.path == "/robot/send" and req.signed is True
    assert [o[0] for o in outcomes(tmp_path)] == ["sent"]


def test_prices_keep_their_digits_and_the_robot_urls_own_query_is_kept_byte_for_byte(tmp_path: Path) -> None:
    from marketmon.alerts import services

    big = Alert(T, "00700.HK", "Tencent", "pct_above", 12345.675, 5.0, "m")
    req = services.request("dingtalk", "http://h/robot/send?access_token=a%2Bb&x=1", "k", big, 1757655720123)
    assert "price: 12345.675" in json.loads(req.body)["markdown"]["text"]
    assert req.url.startswith("http://h/robot/send?access_token=a%2Bb&x=1&timestamp=1757655720123&sign=")
    none = Alert(T, "SOUTHBOUND", "Southbound", "southbound_net_buy", None, None, "net buy 10.2bn")
    assert "price: -" in services.lines(none, services.escape_markdown) and "change: -" in services.lines(none, services.escape_markdown)


def test_a_refused_connection_is_retried_and_the_log_never_holds_the_url(tmp_path: Path) -> None:
    with StandIn("wecom") as closed:
        url = closed.url.replace("access_token=abc", "key=SECRET-KEY")
    # The stand-in is gone: its port now refuses connections.
    sleeps = Sleeps()
    sink = SinkSpec("phone", "wecom", url, timeout_s=2)
    d = Deliveries([sink], DeliveryLog(tmp_path / "deliveries.jsonl"), sleep=sleeps)
    d.submit(alert())
    assert d.drain(20)
    d.close()
    assert sleeps.delays == [1.0, 2.0, 4.0, 8.0]
    [(outcome, attempts, detail)] = outcomes(tmp_path)
    assert (outcome, attempts) == ("failed", 5) and detail.startswith("no answer: ConnectError")
    assert "SECRET-KEY" not in (tmp_path / "deliveries.jsonl").read_text()
