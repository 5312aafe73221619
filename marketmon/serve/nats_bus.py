"""How marketmon lays a market out on NATS, shared by the publisher and the gateways.

Two things live on the NATS server (docs/scale.md):

- a JetStream key-value bucket (default `marketmon`), one key per piece of
  state, each value the *full* current state as a protocol message body:
  `q.SH.688521` (a quote), `flow`, `flow_history`, `status.CN`,
  `status.HK`, `source` and `session` (trade date, time zone, eof). A
  gateway reads the latest value of every key (last-per-subject delivery) as
  its snapshot and then follows the bucket's subjects (`$KV.marketmon.q.SH.688521`, ...),
  one per instrument. Every update carries the whole state of its key, so a
  lost or repeated message cannot leave a field wrong, and JetStream's
  sequence numbers let the consumer notice a gap and start again from the
  last message it has.
- plain NATS subjects with each change as it happens: `marketmon.q.SH.688521`
  (a `quotes` message with that instrument's delta), `marketmon.flow`,
  `marketmon.status.CN`, ... for programs that want only the changes.

nats-py is an optional extra (`pip install marketmon[nats]`): it is imported
only when one of these is started, never by `marketmon --help`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BUCKET = "marketmon"
PREFIX = "marketmon"  # of the change subjects
SESSION = "session"
RECONNECT_WAIT = 0.5  # seconds between reconnect attempts to the NATS server
CLOSE_TIMEOUT = 5.0  # seconds a NATS connection has to close (it flushes; a dead server cannot answer)


class NatsMissing(RuntimeError):
    """nats-py is not installed."""


class NatsUnavailable(RuntimeError):
    """The NATS server answers but cannot keep the bucket (JetStream off, no space, ...)."""


def nats_module() -> Any:
    try:
        import nats
    except ImportError:
        raise NatsMissing("NATS needs the nats extra: pip install 'marketmon[nats]'") from None
    return nats


def key_of(body: dict[str, Any]) -> str:
    """The bucket key of a message body (a quote for `q.` keys)."""
    kind = body.get("type")
    if kind is None:  # a quote
        code, _, exchange = body["symbol"].rpartition(".")
        return f"q.{exchange}.{code}"
    if kind == "status":
        return f"status.{body['market']}"
    return str(kind)  # flow, flow_history, source


def symbol_of(key: str) -> str | None:
    """`q.SH.688521` -> `688521.SH`; None for a key that is not a quote."""
    kind, _, rest = key.partition(".")
    if kind != "q":
        return None
    exchange, _, code = rest.partition(".")
    return f"{code}.{exchange}"


def key_patterns(subjects: list[str]) -> list[str]:
    """What a gateway follows, as bucket key patterns.

    `--subjects` takes the change subjects' names (`marketmon.q.SH.>`,
    `marketmon.q.*.688521`) or bucket keys (`q.HK.>`); the keys that are not
    quotes (flow, status, source, session) are always followed.
    """
    if not subjects:
        return [">"]
    patterns = [s.removeprefix(f"{PREFIX}.") for s in subjects]
    for p in patterns:
        if not (p == ">" or p.startswith("q.")) or " " in p:
            raise ValueError(f"{p!r} is not a quote subject (marketmon.q.EXCHANGE.CODE, wildcards * and >)")
    return [*patterns, "flow", "flow_history", "status.*", "source", SESSION]


async def connect(url: str, on_error: Callable[[str], None], **callbacks: Any) -> Any:
    """A NATS connection that keeps trying, however long the server is away
    (also at the start: a gateway may come up before NATS does)."""
    nats = nats_module()
    told: set[str] = set()

    async def error_cb(exc: Exception) -> None:  # each kind of trouble once, not a traceback a second
        what = f"{type(exc).__name__}: {exc}"
        if what not in told:
            told.add(what)
            on_error(what)

    servers = [u.strip() for u in url.split(",") if u.strip()]  # a cluster: nats://a:4222,nats://b:4222
    return await nats.connect(
        servers, max_reconnect_attempts=-1, reconnect_time_wait=RECONNECT_WAIT, connect_timeout=2,
        allow_reconnect=True, error_cb=error_cb, **callbacks,
    )  # fmt: skip


async def bucket(js: Any, name: str, *, create: bool) -> Any:
    """The key-value bucket: a gateway only opens it (BucketNotFoundError until
    it exists); the publisher creates it when missing (file storage, last value
    only). A bucket that exists is used as it is: an operator may have made it
    with replicas or limits of their own (docs/scale.md)."""
    from nats.errors import Error as NatsError
    from nats.errors import NoRespondersError
    from nats.js.api import KeyValueConfig, StorageType
    from nats.js.errors import BucketNotFoundError, ServiceUnavailableError

    no_jetstream = f"cannot keep the bucket {name!r} on NATS: no JetStream answers (is JetStream on, -js?)"
    if not create:
        return await js.key_value(name)
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        pass
    except (NoRespondersError, ServiceUnavailableError):
        raise NatsUnavailable(no_jetstream) from None
    except NatsError as exc:  # BadBucketError: a stream KV_<name> that is not a key-value bucket
        raise NatsUnavailable(f"cannot use the bucket {name!r} on NATS: the stream KV_{name} is there "
                              f"but is not a key-value bucket ({_why(exc)})") from None  # fmt: skip
    try:
        return await js.create_key_value(KeyValueConfig(bucket=name, history=1, storage=StorageType.FILE))
    except (NoRespondersError, ServiceUnavailableError):
        raise NatsUnavailable(no_jetstream) from None
    except NatsError as exc:  # an APIError has the server's own words: subjects taken, no space, ...
        raise NatsUnavailable(f"cannot create the bucket {name!r} on NATS: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    description = getattr(exc, "description", None)
    if description and description != "None":
        return f"{description} ({type(exc).__name__} {getattr(exc, 'err_code', '')})".replace(" )", ")")
    return type(exc).__name__
