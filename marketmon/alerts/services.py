"""What each chat service expects: its message format, its signature, its answer.

One `Service` per type a sink may have in the settings file. `request` makes
the URL, headers and JSON body of one alert (signed with the sink's secret
where the service signs); `verdict` reads the service's answer, which for the
Chinese robots is HTTP 200 with an error code in the body. No I/O here: the
queue, the HTTP client and the retries are in `delivery.py`.

Signatures (docs/alerts.md cites the public code these follow):
- DingTalk: sign = base64(HMAC-SHA256(key=secret, msg=f"{ms}\\n{secret}")),
  sent URL-encoded as `timestamp` (milliseconds) and `sign` query parameters.
- Feishu: sign = base64(HMAC-SHA256(key=f"{s}\\n{secret}", msg=b"")), sent as
  `timestamp` (seconds) and `sign` in the JSON body.
- webhook: optional X-Marketmon-Signature = hex HMAC-SHA256 over
  f"{ms}.{body}" with the secret, and X-Marketmon-Timestamp.

Text from the feed (names, messages) is data: control characters are
replaced (`printable`) and each format's markup characters are escaped, so
a name cannot bold, link or @-mention anybody.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from marketmon.alerts.rules import Alert
from marketmon.feed.safe_text import printable

MARKET_TZ = ZoneInfo("Asia/Shanghai")
SERVICES = ("dingtalk", "feishu", "wecom", "slack", "discord", "webhook")
SIGNED = ("dingtalk", "feishu", "webhook")  # the types that take a secret


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    retry: bool  # worth another try (5xx, 429, no answer)
    detail: str  # what the service said, short


# -- signatures ---------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    # Feishu keys the HMAC with timestamp + secret and signs an empty message.
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()


# -- escaping -----------------------------------------------------------------

# The marks that style, link or quote; every feed text sits after a label on
# its line ("rule: ", "note: "), so line-start marks (-, +, 1.) cannot apply.
_MARKDOWN = re.compile(r"([\\`*_\[\]#|~])")


def escape_markdown(text: str | None) -> str:
    """Feed text inside DingTalk/Feishu/WeCom/Discord markdown: HTML-ish tags
    (<at>, <font>) and markdown marks become plain characters."""
    safe = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", safe).replace("@", "@\u200b")  # a zero-width space: no @all


def escape_slack(text: str | None) -> str:
    """Slack's own rule: only &, < and > are control characters in mrkdwn."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- the fields every format shows --------------------------------------------


def when(alert: Alert) -> str:
    return dt.datetime.fromtimestamp(alert.ts / 1000, MARKET_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _price(value: float | None) -> str:
    # Three decimals at most (fund prices), no trailing zeros; never exponent notation.
    return "-" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")


def title(alert: Alert) -> str:
    """For the services' plain-text fields (a card header, a notification preview)."""
    return printable(f"{alert.symbol} {alert.name} {alert.rule}")


def lines(alert: Alert, esc: Callable[[str | None], str], bold: str = "**") -> list[str]:
    """The body lines of an alert, feed text escaped with `esc`."""
    return [
        f"{bold}{esc(alert.symbol)} {esc(alert.name)}{bold}",
        f"rule: {esc(alert.rule)}",
        f"price: {_price(alert.price)}",
        "change: -" if alert.pct is None else f"change: {alert.pct:+.2f}%",
        f"time: {when(alert)}",
        f"note: {esc(alert.message)}",
    ]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _with_query(url: str, **params: str) -> str:
    """The URL with `params` appended to its query; its own query (the access token) byte for byte."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


JSON = {"Content-Type": "application/json; charset=utf-8"}


# -- the services --------------------------------------------------------------


def request(service: str, url: str, secret: str | None, alert: Alert, now_ms: int) -> Request:
    """The HTTP request that delivers `alert`; signed at `now_ms` (wall clock)."""
    if service == "dingtalk":
        body = lines(alert, escape_markdown)  # two spaces: DingTalk's markdown breaks lines only so
        payload = {"msgtype": "markdown", "markdown": {"title": title(alert), "text": "  \n".join(body)}}
        if secret:
            url = _with_query(url, timestamp=str(now_ms), sign=dingtalk_sign(secret, now_ms))
        return Request(url, dict(JSON), _json(payload))
    if service == "feishu":
        body = lines(alert, escape_markdown)
        payload: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": title(alert)}},
                "elements": [{"tag": "markdown", "content": "\n".join(body)}],
            },
        }
        if secret:
            seconds = now_ms // 1000
            payload = {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds), **payload}
        return Request(url, dict(JSON), _json(payload))
    if service == "wecom":
        body = lines(alert, escape_markdown)
        return Request(url, dict(JSON), _json({"msgtype": "markdown", "markdown": {"content": "\n".join(body)}}))
    if service == "slack":
        body = lines(alert, escape_slack, bold="*")
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": title(alert)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(body)}},
        ]
        return Request(url, dict(JSON), _json({"text": escape_slack(title(alert)), "blocks": blocks}))
    if service == "discord":
        body = lines(alert, escape_markdown)
        payload = {
            "content": body[0],
            "embeds": [{"title": title(alert), "description": "\n".join(body[1:]), "timestamp": _iso(alert)}],
            "allowed_mentions": {"parse": []},  # nobody is pinged, whatever the text says
        }
        return Request(url, dict(JSON), _json(payload))
    if service == "webhook":
        data = _json({**alert.to_event(), "name": alert.name})
        headers = dict(JSON)
        if secret:
            headers["X-Marketmon-Timestamp"] = str(now_ms)
            headers["X-Marketmon-Signature"] = "sha256=" + webhook_sign(secret, now_ms, data)
        return Request(url, headers, data)
    raise ValueError(f"unknown sink type {service!r}")



def _iso(alert: Alert) -> str:
    return dt.datetime.fromtimestamp(alert.ts / 1000, dt.UTC).isoformat()


def verdict(service: str, status: int, text: str) -> Verdict:
    """Whether the service took the message; its own error code read where it has one."""
    short = printable(text, 300)
    if status == 429 or status >= 500:
        return Verdict(False, True, f"HTTP {status}: {short}")
    if not 200 <= status < 300:
        return Verdict(False, False, f"HTTP {status}: {short}")
    if service in ("dingtalk", "wecom", "feishu"):
        try:
            answer = json.loads(text)
        except ValueError:
            return Verdict(False, False, f"HTTP {status}, not JSON: {short}")
        if not isinstance(answer, dict):
            return Verdict(False, False, f"HTTP {status}, unexpected answer: {short}")
        # DingTalk and WeCom: errcode/errmsg; Feishu: code/msg (StatusCode in older answers).
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if code != 0:
            message = answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", "")))
            return Verdict(False, False, f"error {code}: {printable(str(message), 200)}")
    if service == "slack" and text.strip() not in ("", "ok"):
        return Verdict(False, False, f"HTTP {status}: {short}")
    return Verdict(True, False, f"HTTP {status}" + (f": {short}" if short else ""))
