"""share: the transport-and-trust layer between national nodes (docs/messages.md).

- :mod:`~skyweave.share.schema`: the versioned message schema (msgspec, msgpack on the wire):
  TrackReport, AlertReport, NodeStatus, the signed Envelope; encode/decode with clear errors.
- :mod:`~skyweave.share.releasability`: ``REL TO`` markings: parse, validate, intersect, filter.
- :mod:`~skyweave.share.signing`: Ed25519 keys, key files, the partners' Keyring, sign/verify.
- :mod:`~skyweave.share.admission`: the receiving Gate: malformed, unsigned, unknown sender,
  bad signature, not for me, unreleasable, replayed, duplicate, stale, future.
- :mod:`~skyweave.share.subjects`: subjects, the handler type and BusError (what every bus shares).
- :mod:`~skyweave.share.bus`: the Bus interface, the in-process bus (default).
- :mod:`~skyweave.share.natsbus`: the same bus over NATS JetStream (asyncio and sync facade).
- :mod:`~skyweave.share.endpoint`: Publisher (per-partner releasable signed frames) and Receiver.
- :mod:`~skyweave.share.seal`: frames sealed to their recipient (X25519 + HKDF + ChaCha20-Poly1305),
  X25519 key files, the partners' SealRing.

Real nats-server processes for tests and benchmarks are started by ``tests/support/natsserver.py``
(not shipped). This room imports only the core model (:mod:`skyweave.core`) and does no numerics.
"""

from typing import Any

from skyweave.share.admission import REASONS, Admission, Admitted, Gate, Rejected, Verdict
from skyweave.share.bus import Bus, InProcessBus, Subscription
from skyweave.share.endpoint import SEAL_REASONS, Frame, Publisher, Receiver, Sequencer
from skyweave.share.releasability import (
    GROUPS,
    MarkingError,
    filter_releasable,
    format_marking,
    intersect,
    is_valid_code,
    parse_marking,
    releasable_to,
    split_releasable,
    validate_code,
)
from skyweave.share.schema import (
    KINDS,
    SCHEMA_VERSION,
    TRACK_CLASSES,
    AlertReport,
    Envelope,
    ImpactArea,
    LaunchPoint,
    MessageError,
    NodeStatus,
    TrackReport,
    as_dict,
    decode_body,
    decode_envelope,
    encode_body,
    encode_envelope,
    make_msg_id,
    signing_bytes,
)
from skyweave.share.seal import (
    SealError,
    SealRing,
    generate_nation_seal_keys,
    generate_seal_key,
    is_sealed,
    load_seal_private_key,
    load_seal_public_key,
    open_frame,
    seal_frame,
)
from skyweave.share.signing import (
    BadSignature,
    Keyring,
    KeyFileError,
    SignatureError,
    UnknownSender,
    Unsigned,
    generate_key,
    generate_nation_keys,
    load_private_key,
    load_public_key,
    private_key_b64,
    public_key_b64,
    save_private_key,
    save_public_key,
    sign_envelope,
    verify_envelope,
)
from skyweave.share.subjects import BusError, inbox_subject, parse_subject, subject_for, subject_matches

__all__ = [
    # schema
    "SCHEMA_VERSION", "KINDS", "TRACK_CLASSES", "MessageError", "TrackReport", "LaunchPoint",
    "ImpactArea", "AlertReport", "NodeStatus", "Envelope", "make_msg_id", "signing_bytes",
    "encode_body", "decode_body", "encode_envelope", "decode_envelope", "as_dict",
    # releasability
    "GROUPS", "MarkingError", "is_valid_code", "validate_code", "parse_marking", "format_marking",
    "intersect", "releasable_to", "filter_releasable", "split_releasable",
    # signing
    "KeyFileError", "SignatureError", "Unsigned", "UnknownSender", "BadSignature", "generate_key",
    "save_private_key", "save_public_key", "load_private_key", "load_public_key", "public_key_b64",
    "private_key_b64", "generate_nation_keys", "Keyring", "sign_envelope", "verify_envelope",
    # admission
    "REASONS", "Admitted", "Rejected", "Verdict", "Gate", "Admission",
    # bus
    "Bus", "BusError", "Subscription", "InProcessBus", "NatsBus", "AsyncNatsBus", "subject_for",
    "inbox_subject", "parse_subject", "subject_matches",
    # endpoints
    "Sequencer", "Frame", "Publisher", "Receiver", "SEAL_REASONS",
    # sealing
    "SealError", "SealRing", "generate_seal_key", "generate_nation_seal_keys", "load_seal_private_key",
    "load_seal_public_key", "seal_frame", "open_frame", "is_sealed",
]


def __getattr__(name: str) -> Any:
    """NatsBus/AsyncNatsBus load nats-py on first use only."""
    if name in ("NatsBus", "AsyncNatsBus"):
        from skyweave.share import natsbus

        return getattr(natsbus, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
