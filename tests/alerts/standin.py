"""A chat service on 127.0.0.1, port 0: it checks each request as the real one would.

DingTalk's robot checks `timestamp` and `sign` in the query and answers HTTP
200 with an `errcode`; Feishu's checks them in the JSON body and answers with
`code`. The stand-in recomputes both from the secret with its own code (not
marketmon's) and answers as they do, so a wrong signature fails as it would
live. Scripted answers (status, headers, body) come first; `hold` keeps a
request waiting until the test lets it go.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    at: float  # time.monotonic()
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    signed: bool | None  # the signature checked out (None: the service does not sign)

    def json(self) -> dict:
        return json.loads(self.body)


def expected_dingtalk_sign(secret: str, timestamp: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), (timestamp + "\n" + secret).encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def expected_feishu_sign(secret: str, timestamp: str) -> str:
    mac = hmac.new((timestamp + "\n" + secret).encode("utf-8"), digestmod=hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class StandIn:
    def __init__(self, service: str, secret: str | None = None) -> None:
        self.service, self.secret = service, secret
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.always: tuple[int, dict[str, str], bytes] | None = None  # a sink that stays down
        self.seen: list[Seen] = []
        self.hold = threading.Event()
        self.hold.set()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                status, headers, answer, signed = stand_in._answer(query, body)
                stand_in.seen.append(Seen(time.monotonic(), parts.path, query, dict(self.headers), body, signed))
                stand_in.hold.wait(30)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook?access_token=abc"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _answer(self, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes, bool | None]:
        signed = self._signed(query, body)
        if self.script:
            return (*self.script.pop(0), signed)
        if self.always is not None:
            return (*self.always, signed)
        if self.service == "dingtalk":
            ok = signed is not False
            answer = {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode(), signed
        if self.service == "feishu":
            ok = signed is not False
            answer = {"code": 0, "msg": "success"} if ok else {"code": 19021, "msg": "sign match fail"}
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode(), signed
        if self.service == "wecom":
            return 200, {}, b'{"errcode":0,"errmsg":"ok"}', signed
        if self.service == "slack":
            return 200, {}, b"ok", signed
        if self.service == "discord":
            return 204, {}, b"", signed
        return 200, {}, b"", signed

    def _signed(self, query: dict[str, str], body: bytes) -> bool | None:
        if self.secret is None:
            return None
        if self.service == "dingtalk":
            ts = query.get("timestamp", "")
            return bool(ts) and abs(int(ts) / 1000 - time.time()) < 3600 and query.get("sign") == expected_dingtalk_sign(self.secret, ts)
        if self.service == "feishu":
            data = json.loads(body)
            ts = data.get("timestamp", "")
            return bool(ts) and abs(int(ts) - time.time()) < 3600 and data.get("sign") == expected_feishu_sign(self.secret, ts)
        return None

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()
