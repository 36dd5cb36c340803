"""The bus over NATS JetStream (nats-py): an asyncio API and a synchronous facade.

Layout (docs/messages.md, "Bus"):

- one stream per *sending* nation, ``SKYWEAVE_<NATION>`` over ``skyweave.<NATION>.>``, file
  storage (survives server restarts), ``num_replicas`` 1 on one server or 3 on a cluster,
  ``duplicate_window`` for publish de-duplication by the ``Nats-Msg-Id`` header;
- one durable push consumer per receiving node and per sending nation's stream, named by the
  node (``durable``), filtered to ``skyweave.<SENDER>.<ME>.>``, explicit acks: a node that
  restarts or returns from a partition gets everything after its last acknowledged message;
- publishes wait for JetStream's acknowledgement and are retried (idempotent thanks to the
  message id) until ``publish_timeout_s``, so a server loss in a cluster costs latency, not data.

:class:`AsyncNatsBus` is the asyncio API; :class:`NatsBus` runs one on a background event-loop
thread and calls handlers on a dispatcher thread (``dispatch="thread"``) or in the caller's
thread on :meth:`NatsBus.pump` (``dispatch="manual"``). A handler's message is acknowledged
after the handler returns, or, when an ``ack_gate`` is set (a node that journals its inputs),
once the gate lets it: ``ack_gate(ack)`` is called after the handler returns and calls ``ack()``
(from any thread) when the frame is safely kept, e.g. committed to the node's journal.

Securing the bus (docs/messages.md, "Securing the bus"): each node connects with its own
credentials (``user``/``password``, an nkey seed or a ``.creds`` file) over TLS (``tls_ca``,
optional client ``tls_cert``/``tls_key``, or an ``ssl.SSLContext``), with ``create_streams=False``
(the streams are made by an administrative step, :func:`ensure_streams`) and its inbox prefix
``_INBOX_<NATION>`` so that its replies and deliveries stay on subjects only it may read.
:func:`nation_permissions` and :func:`authorization_config` write the matching server-side
permissions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import queue
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.js import api

from skyweave.core.model import NATION_RE
from skyweave.share.subjects import SUBJECT_ROOT, BusError, Handler, check_pattern

__all__ = [
    "AsyncNatsBus",
    "NatsBus",
    "stream_name",
    "consumer_filter",
    "DEFAULT_URL",
    "inbox_prefix",
    "tls_context",
    "nation_permissions",
    "authorization_config",
    "ensure_streams",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "nats://127.0.0.1:4222"
_STREAM_PREFIX = "SKYWEAVE_"
_DURABLE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RETRYABLE = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.ServerError,
    asyncio.TimeoutError,
)


def stream_name(nation: str) -> str:
    """The stream of a sending nation: ``SKYWEAVE_<NATION>``."""
    if not NATION_RE.match(nation):
        raise BusError(f"stream: expected an alpha-3 nation, got {nation!r}")
    return _STREAM_PREFIX + nation


def inbox_prefix(nation: str) -> str:
    """The inbox prefix of a nation's connections, ``_INBOX_<NATION>``: replies and push deliveries.

    Its users may subscribe only under it (:func:`nation_permissions`), so no other nation can
    read the JetStream deliveries made to it.
    """
    stream_name(nation)
    return f"_INBOX_{nation}"


def tls_context(ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context that trusts ``ca_file`` (default: the system's CAs), with an optional client certificate."""
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert_file:
            ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:
        raise BusError(f"TLS: cannot load CA {ca_file!r} / certificate {cert_file!r} / key {key_file!r}: {e}") from None
    return ctx


def nation_permissions(nation: str, durables: Sequence[str] | None = None) -> dict[str, dict[str, list[str]]]:
    """The least a nation's node may do on the bus, as a nats-server ``permissions`` map.

    Publish: its own subjects ``skyweave.<NATION>.>``; creating (and reading the info of) its
    durable consumers in any skyweave stream **only with a filter addressed to it**
    (``$JS.API.CONSUMER.CREATE.<stream>.<durable>.skyweave.*.<NATION>.>``: nats-server >= 2.9
    checks the filter in the subject against the request); acknowledging its consumers'
    deliveries. Subscribe: its inbox prefix (JetStream replies and push deliveries) and live
    frames addressed to it. Everything else (other nations' subjects, stream creation, deletion,
    message get, other consumers' creation) is denied. ``durables``: the consumer names its nodes
    use (default: any name, ``*``).
    """
    stream_name(nation)
    names = list(durables) if durables else ["*"]
    for d in names:
        if d != "*" and not _DURABLE_RE.match(d):
            raise BusError(f"durable: expected letters, digits, '_' or '-' (at most 64), got {d!r}")
    pub = [f"{SUBJECT_ROOT}.{nation}.>"]
    for d in names:
        pub += [
            f"$JS.API.CONSUMER.CREATE.*.{d}.{SUBJECT_ROOT}.*.{nation}.>",
            f"$JS.API.CONSUMER.INFO.*.{d}",
            f"$JS.ACK.*.{d}.>",
        ]
    sub = [f"{inbox_prefix(nation)}.>", f"{SUBJECT_ROOT}.*.{nation}.>"]
    return {"publish": {"allow": pub}, "subscribe": {"allow": sub}}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization_config(
    users: Mapping[str, tuple[str, str]],
    admin: tuple[str, str],
    *,
    durables: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """A nats-server ``authorization`` block: one user per nation, and the admin (all rights).

    ``users``: nation -> (user, password); ``admin``: (user, password) of the administrative step
    that creates the streams. Passwords may be given bcrypted (``nats-server passwd``). No user
    means no anonymous access. ``durables``: nation -> its nodes' consumer names.
    """
    lines = ["authorization {", "  users = ["]
    au, ap = admin
    lines.append(f"    {{user: {_q(au)}, password: {_q(ap)}}}")
    for nation, (u, pw) in sorted(users.items()):
        perms = nation_permissions(nation, (durables or {}).get(nation))
        pub = ", ".join(_q(x) for x in perms["publish"]["allow"])
        sub = ", ".join(_q(x) for x in perms["subscribe"]["allow"])
        lines.append(
            f"    {{user: {_q(u)}, password: {_q(pw)}, permissions: "
            f"{{publish: {{allow: [{pub}]}}, subscribe: {{allow: [{sub}]}}}}}}"
        )
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def consumer_filter(pattern: str, nation: str) -> str | None:
    """The part of subscription ``pattern`` inside ``nation``'s stream (``skyweave.<NATION>.>``), or None.

    ``skyweave.*.JPN.>`` in USA's stream is ``skyweave.USA.JPN.>``; ``skyweave.GBR.>`` has no part
    in it.
    """
    toks = check_pattern(pattern)
    if toks[0] == ">":
        return f"{SUBJECT_ROOT}.{nation}.>"
    if toks[0] not in (SUBJECT_ROOT, "*") or len(toks) < 2:
        return None
    second = toks[1]
    if second == ">":
        return f"{SUBJECT_ROOT}.{nation}.>"
    if second not in ("*", nation):
        return None
    if len(toks) < 3:
        return None  # "skyweave.USA" itself is not a stream subject
    return ".".join([SUBJECT_ROOT, nation, *toks[2:]])


class _AsyncSub:
    """One subscription: a core NATS one (non-durable) or one JetStream consumer per stream."""

    def __init__(self, bus: "AsyncNatsBus", pattern: str, durable: str | None, subs: list[Any]):
        self.bus = bus
        self.pattern = pattern
        self.durable = durable
        self._subs = subs

    async def unsubscribe(self) -> None:
        """Stop delivery after the messages already received are handled; durable positions stay."""
        for sub in self._subs:
            try:
                await sub.drain()
            except (nats.errors.ConnectionClosedError, nats.errors.BadSubscriptionError, nats.errors.ConnectionDrainingError):
                pass
        self._subs = []
        if self in self.bus._subs:
            self.bus._subs.remove(self)


class AsyncNatsBus:
    """The skyweave bus over NATS JetStream, asyncio API (see the module docstring).

    Parameters
    ----------
    servers : one URL or several (a cluster), e.g. ``nats://10.0.0.1:4222,nats://10.0.0.2:4222``.
    name : client name shown by the server (e.g. the node id).
    nations : the network's nations; their streams are created up front so that a receiver's
        durable consumers exist before the senders start. Others are found on the server.
    replicas : stream replicas (1 on a single server, 3 on a 3-server cluster).
    max_age_s : how long streams keep messages (s). Default one day.
    duplicate_window_s : JetStream publish de-duplication window (s). Default 120 s.
    ack_wait_s : an unacknowledged delivery is sent again after this long (s).
    deliver : where a *new* durable consumer starts: ``"new"`` (default: from now on) or
        ``"all"`` (everything the stream holds). An existing one resumes where it stopped.
    publish_timeout_s : how long a publish is retried before BusError (s).
    request_timeout_s : one JetStream API request or publish attempt (s).
    create_streams : create missing streams (default). False: only use them (a node whose user
        may not create streams; :func:`ensure_streams` makes them), and subscribe in the streams
        of ``nations`` only, without listing the server's streams.
    user, password : the node's NATS user (a per-nation user with :func:`nation_permissions`).
    token : a NATS authorization token (instead of user and password).
    nkeys_seed : path of an nkey seed file (needs the ``nkeys`` package).
    user_credentials : path of a ``.creds`` file (JWT + nkey seed; needs ``nkeys``).
    tls : an ``ssl.SSLContext`` for TLS (overrides ``tls_ca``/``tls_cert``/``tls_key``).
    tls_ca, tls_cert, tls_key : CA file that signed the server's certificate, and this client's
        certificate and key (when the server verifies clients). Any of them turns TLS on; so does
        a ``tls://`` URL.
    tls_hostname : the name to check the server's certificate against (default: the URL's host).
    inbox_prefix : the prefix of the connection's reply and delivery subjects (default
        ``_INBOX``; a nation's node under :func:`nation_permissions` uses :func:`inbox_prefix`).
    """

    def __init__(
        self,
        servers: str | Sequence[str] = DEFAULT_URL,
        *,
        name: str | None = None,
        nations: Sequence[str] = (),
        replicas: int = 1,
        max_age_s: float = 86_400.0,
        duplicate_window_s: float = 120.0,
        max_msg_bytes: int = 1 << 20,
        ack_wait_s: float = 10.0,
        max_ack_pending: int = 20_000,
        deliver: str = "new",
        publish_timeout_s: float = 10.0,
        request_timeout_s: float = 2.0,
        connect_timeout_s: float = 5.0,
        reconnect_wait_s: float = 0.25,
        create_streams: bool = True,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        nkeys_seed: str | None = None,
        user_credentials: str | None = None,
        tls: ssl.SSLContext | None = None,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_hostname: str | None = None,
        inbox_prefix: str | None = None,
    ):
        if isinstance(servers, str):
            servers = [s.strip() for s in servers.split(",") if s.strip()]
        if not servers:
            raise BusError("NatsBus: no server URL given")
        self.servers = list(servers)
        self.name = name
        self.nations = [n for n in nations]
        for n in self.nations:
            stream_name(n)
        if deliver not in ("new", "all"):
            raise BusError(f"NatsBus: deliver must be 'new' or 'all', got {deliver!r}")
        self.replicas = int(replicas)
        self.max_age_s = float(max_age_s)
        self.duplicate_window_s = float(duplicate_window_s)
        self.max_msg_bytes = int(max_msg_bytes)
        self.ack_wait_s = float(ack_wait_s)
        self.max_ack_pending = int(max_ack_pending)
        self.deliver = deliver
        self.publish_timeout_s = float(publish_timeout_s)
        self.request_timeout_s = float(request_timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.reconnect_wait_s = float(reconnect_wait_s)
        self.create_streams = bool(create_streams)
        if tls is None and (tls_ca or tls_cert or tls_key):
            tls = tls_context(tls_ca, tls_cert, tls_key)
        if tls is None and any(u.startswith("tls://") for u in self.servers):
            tls = tls_context()
        self._auth: dict[str, Any] = {
            k: v
            for k, v in dict(
                user=user, password=password, token=token, nkeys_seed=nkeys_seed,
                user_credentials=user_credentials, tls=tls, tls_hostname=tls_hostname, inbox_prefix=inbox_prefix,
            ).items()
            if v is not None
        }
        self.nc: Any = None
        self._denied = ""  # the server's last permissions violation
        self.js: Any = None
        self._streams: set[str] = set()
        self._subs: list[_AsyncSub] = []
        self._dispatch: Any = None  # set by the synchronous facade
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------------ connection

    async def connect(self) -> "AsyncNatsBus":
        """Connect (retrying for ``connect_timeout_s``) and create the configured nations' streams."""
        # nats-py retries the first connection as it would a reconnection (for ever with
        # max_reconnect_attempts=-1), so the deadline is ours
        try:
            self.nc = await asyncio.wait_for(
                nats.connect(
                    servers=self.servers,
                    name=self.name,
                    connect_timeout=max(0.5, min(2.0, self.connect_timeout_s)),
                    reconnect_time_wait=self.reconnect_wait_s,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    **self._auth,
                ),
                timeout=self.connect_timeout_s,
            )
        except (nats.errors.Error, OSError, asyncio.TimeoutError, ssl.SSLError) as e:
            where = ", ".join(self.servers)
            why = f" ({self._denied})" if self._denied else ""
            raise BusError(f"cannot connect to NATS at {where} within {self.connect_timeout_s} s: {e!r}{why}") from None
        self.js = self.nc.jetstream(timeout=self.request_timeout_s)
        for n in self.nations:
            await self.ensure_stream(n)
        return self

    async def _on_error(self, e: Exception) -> None:
        if "permissions violation" in str(e).lower() or "authorization violation" in str(e).lower():  # refused
            self.stats["permission_denied"] += 1
            self._denied = str(e)
            log.warning("nats: %s", e)
            return
        log.debug("nats client error: %r", e)

    async def _on_disconnected(self) -> None:
        log.info("nats: disconnected from %s", ", ".join(self.servers))

    async def _on_reconnected(self) -> None:
        log.info("nats: reconnected to %s", self.nc.connected_url.netloc if self.nc.connected_url else "?")

    async def _retry(self, what: str, fn, timeout: float | None = None):
        """Run ``await fn()`` until it succeeds or ``timeout`` (default publish_timeout_s) passes."""
        deadline = time.monotonic() + (self.publish_timeout_s if timeout is None else timeout)
        delay = 0.02
        denied = self.stats["permission_denied"]
        while True:
            try:
                return await fn()
            except _RETRYABLE as e:
                err: Exception = e
                if self.stats["permission_denied"] != denied:  # the server refused it: no use retrying
                    raise BusError(f"{what}: refused by the server: {self._denied}") from None
            except nats.js.errors.APIError as e:  # e.g. "JetStream cluster not available" during elections
                if e.code is not None and 400 <= e.code < 500 and e.code not in (408,):
                    raise BusError(f"{what}: {e}") from None
                err = e
            except nats.errors.Error as e:  # closed connection, bad subject...: not worth retrying
                raise BusError(f"{what}: {e!r}") from None
            if time.monotonic() + delay > deadline:
                raise BusError(f"{what}: gave up after {self.publish_timeout_s if timeout is None else timeout:.1f} s: {err!r}")
            self.stats["retries"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    # ------------------------------------------------------------------ streams

    def stream_config(self, nation: str) -> api.StreamConfig:
        """The stream configuration of one sending nation (docs/messages.md)."""
        return api.StreamConfig(
            name=stream_name(nation),
            description=f"skyweave messages sent by {nation}",
            subjects=[f"{SUBJECT_ROOT}.{nation}.>"],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            num_replicas=self.replicas,
            max_age=self.max_age_s,
            duplicate_window=self.duplicate_window_s,
            max_msg_size=self.max_msg_bytes,
            discard=api.DiscardPolicy.OLD,
        )

    async def ensure_stream(self, nation: str) -> str:
        """Create ``nation``'s stream unless it exists; return its name."""
        name = stream_name(nation)
        if name in self._streams:
            return name
        if not self.create_streams:  # made by the administrative step; this user may not look
            self._streams.add(name)
            return name

        async def attempt():
            try:
                info = await self.js.stream_info(name)
                if info.config.num_replicas not in (None, self.replicas):
                    log.warning("stream %s exists with %s replicas, not %s: left as it is",
                                name, info.config.num_replicas, self.replicas)
            except nats.js.errors.NotFoundError:
                try:
                    await self.js.add_stream(self.stream_config(nation))
                except nats.js.errors.BadRequestError as e:
                    if "already in use" not in str(e) and "exists" not in str(e):
                        raise

        await self._retry(f"create stream {name}", attempt)
        self._streams.add(name)
        return name

    async def streams(self) -> list[str]:
        """Sending nations whose streams exist on the server (and those configured)."""
        found = set(self.nations)
        if not self.create_streams:
            return sorted(found)

        async def attempt():
            return await self.js.streams_info()

        for info in await self._retry("list streams", attempt):
            nm = info.config.name or ""
            if nm.startswith(_STREAM_PREFIX) and NATION_RE.match(nm[len(_STREAM_PREFIX):]):
                found.add(nm[len(_STREAM_PREFIX):])
        return sorted(found)

    # ------------------------------------------------------------------ publish / subscribe

    async def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> int:
        """Publish to JetStream and wait for its acknowledgement; return the stream sequence.

        Retried until ``publish_timeout_s`` (safe: the server drops a re-sent ``msg_id``).
        """
        toks = check_pattern(subject)
        if len(toks) < 3 or toks[0] != SUBJECT_ROOT or "*" in toks or toks[-1] == ">":
            raise BusError(f"publish: expected a subject '{SUBJECT_ROOT}.<SENDER>.<...>', got {subject!r}")
        stream = await self.ensure_stream(toks[1])
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        ack = await self._retry(
            f"publish {subject}",
            lambda: self.js.publish(subject, bytes(data), timeout=self.request_timeout_s, stream=stream, headers=headers),
        )
        self.stats["published"] += 1
        if ack.duplicate:
            self.stats["deduplicated"] += 1
        return ack.seq

    async def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None) -> _AsyncSub:
        """Subscribe ``handler(subject, data)`` (sync or async) to ``subject``.

        Without ``durable``: a plain NATS subscription (live messages only, from the moment the
        server has it: the call returns after a round trip to the server, so a message published
        after it returns, on any connection, is delivered). With it: a durable JetStream consumer
        named ``durable`` in every sending nation's stream the subject reaches, acknowledged after
        the handler returns.
        """
        check_pattern(subject)
        if durable is None:
            cb = self._callback(handler, ack=False)
            sub = await self.nc.subscribe(subject, cb=cb)
            await self.nc.flush(timeout=self.request_timeout_s)
            s = _AsyncSub(self, subject, None, [sub])
            self._subs.append(s)
            return s
        if not _DURABLE_RE.match(durable):
            raise BusError(f"durable: expected letters, digits, '_' or '-' (at most 64), got {durable!r}")
        subs = []
        nations = await self.streams()
        for nation in nations:
            filt = consumer_filter(subject, nation)
            if filt is None:
                continue
            stream = await self.ensure_stream(nation)
            subs.append(await self._durable(stream, filt, durable, handler))
        if not subs:
            raise BusError(f"subscribe {subject!r}: no skyweave stream covers it (streams: {nations})")
        s = _AsyncSub(self, subject, durable, subs)
        self._subs.append(s)
        return s

    async def _durable(self, stream: str, filt: str, durable: str, handler: Handler):
        async def info():
            try:
                return await self.js.consumer_info(stream, durable)
            except nats.js.errors.NotFoundError:
                return None

        existing = await self._retry(f"consumer {stream}/{durable}", info)
        if existing is not None and existing.config.filter_subject != filt:
            raise BusError(
                f"durable {durable!r} on {stream} exists with filter {existing.config.filter_subject!r}, not {filt!r}"
            )
        config = api.ConsumerConfig(
            name=durable,  # with a name, nats-py uses $JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>
            durable_name=durable,
            deliver_policy=api.DeliverPolicy.NEW if self.deliver == "new" else api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=self.max_ack_pending,
            filter_subject=filt,
        )
        cb = self._callback(handler, ack=True)
        return await self._retry(
            f"subscribe {stream}/{durable}",
            lambda: self.js.subscribe(filt, durable=durable, stream=stream, cb=cb, manual_ack=True, config=config),
        )

    def _callback(self, handler: Handler, *, ack: bool):
        async def cb(msg) -> None:
            self.stats["delivered"] += 1
            if self._dispatch is not None:
                self._dispatch(handler, msg.subject, msg.data, msg if ack else None)
                return
            try:
                res = handler(msg.subject, msg.data)
                if inspect.isawaitable(res):
                    await res
            except Exception:
                self.stats["handler_errors"] += 1
                log.exception("handler %r failed on %s; message acknowledged and dropped", handler, msg.subject)
            if ack:
                await self.ack(msg)

        return cb

    async def ack(self, msg) -> None:
        try:
            await msg.ack()
        except Exception as e:  # connection lost: the server redelivers after ack_wait
            log.debug("ack of %s failed: %r", msg.subject, e)

    async def flush(self, timeout: float | None = None) -> None:
        """Round trip to the server: everything sent so far (acks included) has reached it."""
        await self.nc.flush(timeout=timeout or self.request_timeout_s)

    async def close(self) -> None:
        """Drain subscriptions (pending messages handled and acknowledged), then close the connection."""
        for s in list(self._subs):
            await s.unsubscribe()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.flush(timeout=self.request_timeout_s)
            except Exception:
                pass
            await self.nc.close()


class _SyncSub:
    def __init__(self, bus: "NatsBus", asub: _AsyncSub):
        self.bus = bus
        self.asub = asub

    def unsubscribe(self) -> None:
        """Stop delivery; frames already received are handled (and acknowledged) first."""
        self.bus._run(self.asub.unsubscribe())
        self.bus._wait_dispatched()

    close = unsubscribe


class NatsBus:
    """Synchronous facade over :class:`AsyncNatsBus` (same arguments), on a background loop thread.

    ``dispatch="thread"``: handlers run on one dispatcher thread, one message at a time in
    arrival order, and may publish. ``dispatch="manual"``: messages wait until the owner calls
    :meth:`pump`, which runs their handlers in the calling thread. Messages are acknowledged
    after their handler returns; with :attr:`ack_gate` set, when the gate calls the ``ack`` it is
    given (see the module docstring). A message never acknowledged is delivered again after
    ``ack_wait_s`` (and, to a durable consumer, after a restart).
    """

    def __init__(self, servers: str | Sequence[str] = DEFAULT_URL, *, dispatch: str = "thread", **kwargs: Any):
        if dispatch not in ("thread", "manual"):
            raise BusError(f"NatsBus: dispatch must be 'thread' or 'manual', got {dispatch!r}")
        self.aio = AsyncNatsBus(servers, **kwargs)
        self.aio._dispatch = self._enqueue
        self._queue: queue.Queue = queue.Queue()
        self._inflight: set[concurrent.futures.Future] = set()
        self._lock = threading.Lock()
        self._closed = False
        #: ``ack_gate(ack)``: called after a durable message's handler returns; it calls ``ack()``
        #: (any thread, once) when the message may be acknowledged. None: acknowledge at once.
        self.ack_gate = None
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="skyweave-nats-loop", daemon=True)
        self._loop_thread.start()
        self._dispatcher: threading.Thread | None = None
        try:
            self._run(self.aio.connect())
        except BaseException:
            self._stop_loop()
            raise
        if dispatch == "thread":
            self._dispatcher = threading.Thread(target=self._dispatch_forever, name="skyweave-nats-dispatch", daemon=True)
            self._dispatcher.start()

    @property
    def stats(self) -> Counter[str]:
        return self.aio.stats

    def _run(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # ------------------------------------------------------------------ interface

    def publish(self, subject: str, data: bytes, *, msg_id: str | None = None, wait: bool = True) -> None:
        """Publish; with ``wait`` (default) block until JetStream acknowledges it (BusError if never).

        ``wait=False`` pipelines: the call returns at once and :meth:`flush` waits for (and
        raises the first error of) everything outstanding.
        """
        if self._closed:
            raise BusError("publish on a closed bus")
        fut = asyncio.run_coroutine_threadsafe(self.aio.publish(subject, data, msg_id=msg_id), self.loop)
        if wait:
            fut.result()
            return
        with self._lock:
            self._inflight.add(fut)
        fut.add_done_callback(self._done)

    def _done(self, fut: concurrent.futures.Future) -> None:
        if fut.exception() is not None:
            log.error("publish failed: %s", fut.exception())
            return  # kept in _inflight so that flush() raises it
        with self._lock:
            self._inflight.discard(fut)

    def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None) -> _SyncSub:
        """See :meth:`AsyncNatsBus.subscribe`; handlers run as ``dispatch`` says."""
        if self._closed:
            raise BusError("subscribe on a closed bus")
        return _SyncSub(self, self._run(self.aio.subscribe(subject, handler, durable=durable)))

    def flush(self, timeout: float | None = None) -> None:
        """Wait for outstanding ``wait=False`` publishes (raising the first failure), then a server round trip."""
        with self._lock:
            pending = list(self._inflight)
        done, not_done = concurrent.futures.wait(pending, timeout=timeout)
        with self._lock:
            for f in done:
                self._inflight.discard(f)
        for f in done:
            if f.exception() is not None:
                raise BusError(f"publish failed: {f.exception()}")
        if not_done:
            raise BusError(f"flush: {len(not_done)} publishes not acknowledged within {timeout} s")
        self._run(self.aio.flush(timeout))

    def pump(self, timeout: float = 0.0, max_messages: int | None = None) -> int:
        """(dispatch="manual") Handle waiting messages in this thread; wait up to ``timeout`` s for the first."""
        n = 0
        deadline = time.monotonic() + timeout
        while max_messages is None or n < max_messages:
            try:
                remaining = deadline - time.monotonic()
                item = self._queue.get(timeout=remaining) if n == 0 and remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:  # closed
                break
            self._handle(item)
            n += 1
        return n

    def close(self) -> None:
        """Drain subscriptions, handle what arrived, acknowledge it, close the connection and threads."""
        if self._closed:
            return
        if threading.current_thread() in (self._dispatcher, self._loop_thread):
            raise BusError("NatsBus.close() called from a handler; close it from the owner's thread")
        self._closed = True
        try:
            for s in list(self.aio._subs):
                self._run(s.unsubscribe(), timeout=30)
            self._wait_dispatched()
            try:
                self.flush(timeout=self.aio.request_timeout_s)
            except BusError as e:
                log.warning("close: %s", e)
            self._run(self.aio.close(), timeout=30)
        finally:
            self._queue.put(None)
            if self._dispatcher is not None:
                self._dispatcher.join(timeout=5)
            self._stop_loop()

    def __enter__(self) -> "NatsBus":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _enqueue(self, handler: Handler, subject: str, data: bytes, msg: Any) -> None:
        self._queue.put((handler, subject, data, msg))

    def _handle(self, item) -> None:
        handler, subject, data, msg = item
        try:
            handler(subject, data)
        except Exception:
            self.aio.stats["handler_errors"] += 1
            log.exception("handler %r failed on %s; message acknowledged and dropped", handler, subject)
        finally:
            self._queue.task_done()
        if msg is not None and not self.loop.is_closed():
            gate = self.ack_gate
            if gate is None:
                self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.aio.ack(msg)))
            else:
                gate(lambda: self._ack_later(msg))

    def _ack_later(self, msg: Any) -> None:
        """Acknowledge ``msg`` from any thread (an ``ack_gate`` letting it go); a closed bus skips it
        (the server delivers the message again)."""
        try:
            if not self.loop.is_closed():
                self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.aio.ack(msg)))
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _dispatch_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            self._handle(item)

    def _wait_dispatched(self) -> None:
        """Block until the dispatcher has handled everything queued (thread mode only).

        From a handler (the dispatcher thread itself) it returns at once: waiting there would
        wait for itself.
        """
        if (
            self._dispatcher is not None
            and self._dispatcher.is_alive()
            and threading.current_thread() is not self._dispatcher
        ):
            self._queue.join()

    def _stop_loop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._loop_thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


def ensure_streams(servers: str | Sequence[str], nations: Sequence[str], **kwargs: Any) -> list[str]:
    """The administrative step: create the streams of ``nations`` (existing ones are left as they are).

    ``kwargs`` are :class:`AsyncNatsBus`'s (the admin's ``user``/``password``, ``tls_ca``,
    ``replicas``...). Returns the stream names. Nodes then connect with ``create_streams=False``.
    """
    if not nations:
        raise BusError("ensure_streams: no nation given")
    kwargs.setdefault("name", "skyweave-admin")
    bus = NatsBus(servers, nations=list(nations), create_streams=True, **kwargs)
    bus.close()
    return [stream_name(n) for n in nations]
