"""The message schema (version 1): track reports, alerts, node status and the signed envelope.

Messages are msgspec Structs encoded as compact msgpack *arrays* (``array_like``): the field
order below is the wire layout, written out in docs/messages.md. A receiver ignores trailing
fields it does not know (so a later minor revision may append optional fields), and rejects an
envelope whose ``v`` it does not speak.

Units: ``t`` in seconds on the scenario/UTC time line; positions in metres and velocities in
m/s in the scenario's east-north-up frame; latitudes/longitudes in degrees (WGS-84); angles in
degrees clockwise from north.

Everything decoded here comes from across a trust boundary: :func:`decode_envelope` and
:func:`decode_body` never let a msgspec or Python error escape; they raise :class:`MessageError`
naming the field, what was expected and what came.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import msgspec

from skyweave.share.releasability import is_valid_code

__all__ = [
    "SCHEMA_VERSION",
    "KINDS",
    "TRACK_CLASSES",
    "MAX_FRAME_BYTES",
    "MessageError",
    "TrackReport",
    "LaunchPoint",
    "ImpactArea",
    "AlertReport",
    "NodeStatus",
    "Envelope",
    "make_msg_id",
    "signing_bytes",
    "encode_body",
    "decode_body",
    "encode_envelope",
    "decode_envelope",
    "as_dict",
]

SCHEMA_VERSION = 1
KINDS = ("tracks", "alerts", "status")
TRACK_CLASSES = ("aircraft", "cruise", "ballistic", "unknown")
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: NATS's default max_payload
_DOMAIN = b"skyweave/envelope/v1\x00"  # domain separation for signatures

Nation = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
NodeId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
SourceRef = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}:.{1,128}$", description="NATION:local_id")]
Text = Annotated[str, msgspec.Meta(max_length=256)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=(1 << 63) - 1)]
Quality = Annotated[int, msgspec.Meta(ge=0, le=15)]
Unit = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNeg = Annotated[float, msgspec.Meta(ge=0.0)]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class MessageError(ValueError):
    """A frame or body that breaks the schema: names the field, what was expected and what came."""

    def __init__(self, field: str | None, expected: str, got: Any = None, *, kind: str | None = None):
        self.field = field
        self.expected = expected
        self.got = got
        self.kind = kind
        what = f"{kind} " if kind else ""
        where = f"field '{field}'" if field else "frame"
        got_s = "" if got is None else f", got {_short(got)}"
        super().__init__(f"{what}{where}: expected {expected}{got_s}")


def _short(v: Any, n: int = 200) -> str:
    s = repr(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _check_finite(name: str, values) -> None:
    for v in values:
        if not math.isfinite(v):
            raise ValueError(f"`{name}` must hold finite numbers, got {v!r}")


def _check_marking(codes: tuple[str, ...]) -> None:
    for c in codes:
        if not is_valid_code(c):
            raise ValueError(f"`releasable_to` holds {c!r}: not an ISO 3166-1 alpha-3 nation code")
    if len(set(codes)) != len(codes):
        raise ValueError(f"`releasable_to` repeats a nation: {codes!r}")


class TrackReport(msgspec.Struct, array_like=True, frozen=True, kw_only=True):
    """One nation's report of one track at one instant (ENU metres and m/s, seconds).

    ``state`` is ``[x, y, z, vx, vy, vz]`` (dims 3) or ``[x, y, vx, vy]`` (dims 2); ``cov`` is its
    row-major covariance (m², m²/s, m²/s²), ``n*n`` values, or empty when not known.
    """

    ntn: Union[str, int] = ""  # network track number, "" before fusion assigns one
    nation: Nation  # source nation (whose tracker made the track)
    node: NodeId  # source node id
    track_id: Text  # the source's local track id (keeps it for the track's life)
    t: float  # s, time of the state
    state: list[float]
    cov: list[float] = []
    dims: Literal[2, 3] = 3
    cls: Literal["aircraft", "cruise", "ballistic", "unknown"] = msgspec.field(default="unknown", name="class")
    class_conf: Unit = 0.0  # probability of ``class``
    identity: Text = "unknown"  # free text, e.g. an ICAO 24-bit address "86d2a1"
    quality: Quality = 0  # track quality 0..15 (higher is better), after Link 16's TQ
    status: Literal["confirmed", "deleted"] = "confirmed"
    releasable_to: tuple[Nation, ...] = ()
    sources: list[SourceRef] = []  # contributing tracks "NATION:local_id"
    # the nations the sender reports this object to and the quality of each one's report (per-
    # recipient responsibility and number lineage, docs/fusion.md); None: not said (older senders)
    also_to: Union[dict[Nation, Quality], None] = None
    # when the sender owns ``ntn``: the nations it releases that number to (it may be told to them
    # by whoever reports the object to them, docs/fusion.md "Who may hear a number")
    ntn_released: Union[tuple[Nation, ...], None] = None

    def __post_init__(self) -> None:
        if isinstance(self.ntn, str) and len(self.ntn) > 64:
            raise ValueError("`ntn` is longer than 64 characters")
        if not math.isfinite(self.t):
            raise ValueError(f"`t` must be finite, got {self.t!r}")
        n = 2 * self.dims
        if len(self.state) != n:
            raise ValueError(f"`state` must hold {n} numbers for dims={self.dims}, got {len(self.state)}")
        _check_finite("state", self.state)
        if self.cov and len(self.cov) != n * n:
            raise ValueError(f"`cov` must hold {n * n} numbers (row-major {n}x{n}) or none, got {len(self.cov)}")
        _check_finite("cov", self.cov)
        _check_marking(self.releasable_to)


class LaunchPoint(msgspec.Struct, array_like=True, frozen=True):
    """Estimated launch point: WGS-84 degrees, time in seconds."""

    lat: Lat
    lon: Lon
    t: float


class ImpactArea(msgspec.Struct, array_like=True, frozen=True):
    """Predicted impact: centre (degrees), time (s) and the 95 % ground ellipse (m, degrees from north)."""

    lat: Lat
    lon: Lon
    t: float
    semi_major_m: NonNeg
    semi_minor_m: NonNeg
    orientation_deg: float

    def __post_init__(self) -> None:
        if self.semi_minor_m > self.semi_major_m:
            raise ValueError("`semi_minor_m` exceeds `semi_major_m`")


class AlertReport(msgspec.Struct, array_like=True, frozen=True, kw_only=True):
    """A missile warning update (formats.md alerts.jsonl): launch, impact ellipse, time to go."""

    alert_id: Text
    t: float  # s
    threat: Literal["ballistic", "cruise"]
    launch: Union[LaunchPoint, None] = None
    impact: Union[ImpactArea, None] = None
    time_to_impact_s: Union[float, None] = None
    places: list[Text] = []
    confidence: Unit = 0.0
    status: Literal["launch", "boost", "tracking", "active", "closed"] = "active"
    releasable_to: tuple[Nation, ...] = ()
    nation: Union[Nation, None] = None  # originating nation, when known
    sources: list[SourceRef] = []
    issued: Union[float, None] = None  # s: when its nation first issued this alert id (joint numbering)
    # why a ``closed`` update closed: the missile came down, no track came or was lost, or the
    # alert joined another (alerts.jsonl's ``reason``); None otherwise
    reason: Union[Literal["impact", "lost", "merged"], None] = None

    def __post_init__(self) -> None:
        vals = [self.t] + ([self.time_to_impact_s] if self.time_to_impact_s is not None else [])
        if self.issued is not None:
            vals.append(self.issued)
        for part in (self.launch, self.impact):
            if part is not None:
                vals.append(part.t)
        _check_finite("t", vals)
        if self.impact is not None:
            _check_finite("impact", (self.impact.lat, self.impact.lon, self.impact.semi_major_m, self.impact.orientation_deg))
        _check_marking(self.releasable_to)


class NodeStatus(msgspec.Struct, array_like=True, frozen=True, kw_only=True):
    """A node's heartbeat: how many tracks it holds, how long it has run, what it rejected."""

    nation: Nation
    node: NodeId
    t: float  # s
    tracks: Count = 0
    uptime_s: NonNeg = 0.0
    last_seq: Count = 0  # the sequence number of the last envelope it sent
    rejected: dict[Text, Count] = {}  # admission rejections by reason

    def __post_init__(self) -> None:
        _check_finite("t", (self.t, self.uptime_s))


class Envelope(msgspec.Struct, array_like=True, frozen=True, kw_only=True):
    """The signed frame every message travels in; one is built per recipient nation.

    ``sig`` is Ed25519 over :func:`signing_bytes` (every other field, payload and recipient
    included); ``payload`` holds the encoded body (:func:`encode_body`).
    """

    v: int = SCHEMA_VERSION
    kind: Literal["tracks", "alerts", "status"]
    sender: Nation
    node: NodeId  # sender node id
    seq: Seq  # per sender node, strictly increasing
    msg_id: Annotated[str, msgspec.Meta(max_length=128)]  # make_msg_id(sender, node, seq)
    t: float  # s, scenario time of the content
    recipient: Nation
    releasable_to: tuple[Nation, ...]  # the frame's marking: intersection of its items'
    payload: bytes
    sig: bytes = b""

    def __post_init__(self) -> None:
        if self.v != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema version {self.v} (this node speaks {SCHEMA_VERSION})")
        if not math.isfinite(self.t):
            raise ValueError(f"`t` must be finite, got {self.t!r}")
        if self.msg_id != make_msg_id(self.sender, self.node, self.seq):
            raise ValueError(
                f"`msg_id` must be {make_msg_id(self.sender, self.node, self.seq)!r} (sender:node:seq), got {self.msg_id!r}"
            )
        _check_marking(self.releasable_to)
        if self.sig and len(self.sig) != 64:
            raise ValueError(f"`sig` must be 64 bytes (Ed25519) or empty, got {len(self.sig)} bytes")


def make_msg_id(sender: str, node: str, seq: int) -> str:
    """The message id of a sender node's ``seq``-th envelope: ``"SENDER:node:seq"``."""
    return f"{sender}:{node}:{seq}"


# --------------------------------------------------------------------------- encoding

_enc = msgspec.msgpack.Encoder()
_BODY_TYPES: dict[str, Any] = {"tracks": list[TrackReport], "alerts": list[AlertReport], "status": NodeStatus}
_body_dec = {k: msgspec.msgpack.Decoder(t) for k, t in _BODY_TYPES.items()}
_env_dec = msgspec.msgpack.Decoder(Envelope)
_any_dec = msgspec.msgpack.Decoder()


def signing_bytes(env: Envelope) -> bytes:
    """The canonical byte string an envelope's signature covers.

    ``b"skyweave/envelope/v1\\0" + msgpack([v, kind, sender, node, seq, msg_id, t, recipient,
    releasable_to, payload])``: every field but ``sig``, in wire order, with msgspec's
    deterministic encoding (floats as float64, smallest int form).
    """
    return _DOMAIN + _enc.encode(
        (env.v, env.kind, env.sender, env.node, env.seq, env.msg_id, env.t, env.recipient, env.releasable_to, env.payload)
    )


def encode_body(kind: str, body: Any) -> bytes:
    """Encode a body: a list of TrackReport (``tracks``), of AlertReport (``alerts``), or a NodeStatus."""
    if kind not in _BODY_TYPES:
        raise MessageError("kind", f"one of {KINDS}", kind)
    return _enc.encode(body)


def decode_body(kind: str, payload: bytes) -> Any:
    """Decode and validate an envelope's payload for its ``kind``; raise MessageError naming the fault."""
    dec = _body_dec.get(kind)
    if dec is None:
        raise MessageError("kind", f"one of {KINDS}", kind)
    try:
        return dec.decode(payload)
    except msgspec.ValidationError as e:
        raise MessageError(_where(e, *_BODY_STRUCT[kind]), f"a valid {kind} body", str(e), kind=kind) from None
    except msgspec.DecodeError as e:
        raise MessageError(None, f"a msgpack {kind} body", str(e), kind=kind) from None
    except Exception as e:  # e.g. UnicodeDecodeError on a string that is not UTF-8
        raise MessageError(None, f"a msgpack {kind} body", f"{type(e).__name__}: {e}", kind=kind) from None


def encode_envelope(env: Envelope) -> bytes:
    """Encode an envelope to its wire bytes (a msgpack array in field order)."""
    return _enc.encode(env)


def decode_envelope(data: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Envelope:
    """Decode wire bytes to an Envelope, or raise MessageError naming what is wrong.

    Checks the size, the msgpack structure, every field's type and range, the schema version,
    and that the bytes are the canonical encoding of what they decode to (so no byte can change
    without changing a signed value).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MessageError(None, "bytes", type(data).__name__)
    if len(data) > max_bytes:
        raise MessageError(None, f"at most {max_bytes} bytes", f"{len(data)} bytes")
    try:
        env = _env_dec.decode(data)
    except msgspec.ValidationError as e:
        raise MessageError(_where(e, Envelope, False), "a valid envelope", str(e), kind="envelope") from None
    except msgspec.DecodeError as e:
        raise MessageError(None, "a msgpack envelope", str(e), kind="envelope") from None
    except Exception as e:  # e.g. UnicodeDecodeError on a string that is not UTF-8
        raise MessageError(None, "a msgpack envelope", f"{type(e).__name__}: {e}", kind="envelope") from None
    if _enc.encode(env) != bytes(data):
        raise MessageError(None, "the canonical msgpack encoding of the envelope", "non-canonical bytes", kind="envelope")
    return env


_BODY_STRUCT = {"tracks": (TrackReport, True), "alerts": (AlertReport, True), "status": (NodeStatus, False)}


def _where(err: msgspec.ValidationError, struct: type, is_list: bool) -> str | None:
    """Name the field of msgspec's error path (``$[i]``, or ``$[item][i]`` for a list body).

    array_like structs are indexed by position, so ``$[2][5]`` becomes ``[2].state``.
    """
    msg = str(err)
    at = msg.rfind("at `$")
    if at < 0:
        return None
    path = msg[at + 4 : msg.rfind("`")]
    idx = [p.rstrip("]") for p in path.split("[")[1:]]
    names = [f.encode_name for f in msgspec.structs.fields(struct)]
    prefix = ""
    if is_list:
        if not idx:
            return None
        prefix, idx = f"[{idx[0]}].", idx[1:]
    if not idx or not idx[0].isdigit() or int(idx[0]) >= len(names):
        return prefix.rstrip(".") or path
    rest = "".join(f"[{i}]" for i in idx[1:])
    return f"{prefix}{names[int(idx[0])]}{rest}"


def as_dict(obj: Any) -> Any:
    """A message as plain JSON-able data keyed by wire names (``class``, not ``cls``), recursively."""
    if isinstance(obj, msgspec.Struct):
        return {f.encode_name: as_dict(getattr(obj, f.name)) for f in msgspec.structs.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: as_dict(v) for k, v in obj.items()}
    return obj
