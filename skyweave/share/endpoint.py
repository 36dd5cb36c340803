"""A node's two ends of the bus: the Publisher (releasable, signed, per partner) and the Receiver.

:class:`Publisher` turns a batch of reports into one envelope per partner, each built **only**
from the reports releasable to that partner (the frame's marking is the intersection of its
items' markings; a report may have a per-partner variant, e.g. without a network track number
that partner may not hear), signs it with the nation's key and publishes it on
``skyweave.<ME>.<PARTNER>.<kind>`` with its message id. :class:`Receiver` subscribes to
``skyweave.*.<ME>.>``, runs every frame through the admission :class:`~skyweave.share.admission.Gate`
and hands admitted bodies to the node's callbacks.

Sealing (optional, off by default; docs/messages.md, "Securing the bus"): a Publisher given its
partners' X25519 public keys (``seal_to``) seals each signed frame to its recipient
(:mod:`skyweave.share.seal`); a Receiver given its nation's X25519 private key (``seal_key``)
opens each frame before the gate, which verifies the signature of the frame inside. A frame
that does not open is refused as ``unsealable``, an unsealed one (when sealing is required) as
``unsealed``, both counted in :attr:`Receiver.counts` and passed to ``on_reject``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from skyweave.share.admission import Admitted, Gate, Rejected, Verdict
from skyweave.share.bus import Bus, Subscription
from skyweave.share.releasability import intersect, validate_code
from skyweave.share.schema import (
    AlertReport,
    Envelope,
    NodeStatus,
    TrackReport,
    decode_body,
    encode_body,
    encode_envelope,
    make_msg_id,
)
from skyweave.share.seal import SealError, SealRing, is_sealed, load_seal_private_key, open_frame, seal_frame
from skyweave.share.signing import sign_envelope
from skyweave.share.subjects import BusError, inbox_subject, parse_subject, subject_for

__all__ = ["Sequencer", "Frame", "Publisher", "Receiver", "SEAL_REASONS"]

#: Refusals counted by the Receiver before the gate (the gate counts its own REASONS).
SEAL_REASONS = ("unsealable", "unsealed")

log = logging.getLogger(__name__)


class Sequencer:
    """Strictly increasing per-node sequence numbers.

    ``start=None`` starts at the wall clock in microseconds since 1970, so a restarted node
    continues above everything it sent before (as long as it sends under a million messages a
    second and the clock does not step back); pass ``start`` (e.g. 1) for reproducible runs.
    Thread-safe.
    """

    def __init__(self, start: int | None = None):
        self._next = int(time.time() * 1_000_000) if start is None else int(start)
        if self._next < 1:
            raise ValueError(f"Sequencer start must be >= 1, got {start}")
        self._lock = threading.Lock()
        self.last = 0

    def __call__(self) -> int:
        with self._lock:
            n = self._next
            self._next += 1
            self.last = n
            return n


@dataclass(frozen=True, slots=True)
class Frame:
    """One signed envelope built for one partner: where it goes and what it weighs."""

    partner: str
    subject: str
    msg_id: str
    data: bytes  # the wire bytes (sealed when the Publisher seals)
    items: int  # reports (or 1 for a status) inside

    @property
    def nbytes(self) -> int:
        return len(self.data)


class Publisher:
    """Builds, signs and publishes one frame per partner from a batch of reports.

    Parameters
    ----------
    nation, node : the sender (alpha-3 code, node id).
    key : the nation's Ed25519 private key.
    partners : the nations this node shares with.
    bus : where frames go (None: :meth:`build` only).
    sequencer : per-node sequence numbers (default :class:`Sequencer` on the wall clock).
    status_releasable_to : the marking of this node's status messages (default: all partners).
    validate : check each body against the schema before sending (a bad report raises
        MessageError here rather than being rejected by every partner).
    seal_to : the partners' X25519 public keys (``{nation: key | PEM path | base64}`` or a
        :class:`~skyweave.share.seal.SealRing`): every frame is then sealed to its recipient.
        Every partner needs a key (ValueError otherwise). None (default): frames go unsealed.
    """

    def __init__(
        self,
        nation: str,
        node: str,
        key: Ed25519PrivateKey,
        partners: Iterable[str],
        bus: Bus | None = None,
        *,
        sequencer: Sequencer | None = None,
        status_releasable_to: Iterable[str] | None = None,
        validate: bool = True,
        seal_to: SealRing | Mapping[str, X25519PublicKey | str | Path | bytes] | None = None,
    ):
        self.nation = validate_code(nation)
        self.node = node
        self.key = key
        self.partners = tuple(sorted({validate_code(p) for p in partners} - {self.nation}))
        self.bus = bus
        self.sequencer = sequencer or Sequencer()
        self.status_releasable_to = tuple(
            sorted(status_releasable_to if status_releasable_to is not None else (*self.partners, self.nation))
        )
        self.validate = validate
        self.seal_to = SealRing.from_config(seal_to) if seal_to is not None else None
        if self.seal_to is not None:
            missing = [p for p in self.partners if p not in self.seal_to]
            if missing:
                raise ValueError(f"Publisher {nation}: seal_to has no X25519 public key for partner(s) {', '.join(missing)}")
        self.sent_frames = 0
        self.sent_bytes = 0

    # ------------------------------------------------------------------ building

    def build(self, kind: str, items: Sequence[Any], t: float, partner: str,
              variants: Mapping[str, Mapping[int, Any]] | None = None) -> Frame | None:
        """The signed frame of ``items`` releasable to ``partner``, or None if none is.

        ``kind`` is ``tracks`` or ``alerts`` (items: TrackReport / AlertReport) or ``status``
        (items: one NodeStatus). Withheld items never reach the encoder, so no byte of them is
        in the frame. ``variants``: per partner, item index -> the version of that item this
        partner gets instead (e.g. a report without a network number its owner did not release
        to it); the variant's own marking decides whether it goes.
        """
        if kind == "status":
            if partner not in self.status_releasable_to:
                return None
            (status,) = items
            body: Any = status
            marking = self.status_releasable_to
            n = 1
        else:
            mine = variants.get(partner) if variants else None
            if mine:
                items = [mine.get(i, it) for i, it in enumerate(items)]
            body = [it for it in items if partner in it.releasable_to]
            if not body:
                return None
            marking = intersect(*(it.releasable_to for it in body))
            n = len(body)
        payload = encode_body(kind, body)
        if self.validate:
            decode_body(kind, payload)  # raises MessageError naming the bad field
        seq = self.sequencer()
        env = Envelope(
            kind=kind,
            sender=self.nation,
            node=self.node,
            seq=seq,
            msg_id=make_msg_id(self.nation, self.node, seq),
            t=float(t),
            recipient=partner,
            releasable_to=marking,
            payload=payload,
        )
        env = sign_envelope(env, self.key)
        subject = subject_for(self.nation, partner, kind)
        data = encode_envelope(env)
        if self.seal_to is not None:
            rkey = self.seal_to.get(partner)
            if rkey is None:
                raise ValueError(f"Publisher {self.nation}: no X25519 public key to seal to {partner}")
            data = seal_frame(data, rkey, subject=subject, sender=self.nation, recipient=partner)
        return Frame(partner, subject, env.msg_id, data, n)

    def build_all(self, kind: str, items: Sequence[Any], t: float,
                  variants: Mapping[str, Mapping[int, Any]] | None = None) -> list[Frame]:
        """One frame per partner that may see at least one item (``variants``: see :meth:`build`)."""
        frames = []
        for partner in self.partners:
            f = self.build(kind, items, t, partner, variants)
            if f is not None:
                frames.append(f)
        return frames

    # ------------------------------------------------------------------ publishing

    def _send(self, frames: list[Frame]) -> list[Frame]:
        if self.bus is None:
            raise RuntimeError("Publisher has no bus: use build()/build_all()")
        for f in frames:
            self.bus.publish(f.subject, f.data, msg_id=f.msg_id)
            self.sent_frames += 1
            self.sent_bytes += f.nbytes
        return frames

    def publish_tracks(self, reports: Sequence[TrackReport], t: float,
                       variants: Mapping[str, Mapping[int, TrackReport]] | None = None) -> list[Frame]:
        """Send each partner the track reports releasable to it (scenario time ``t``, s), each
        partner's variant of a report where ``variants`` holds one (see :meth:`build`)."""
        return self._send(self.build_all("tracks", reports, t, variants))

    def publish_each(self, kind: str, items_of: Mapping[str, Sequence[Any]], t: float) -> list[Frame]:
        """Send each partner its own list of items (``items_of``: partner -> items; ``kind``
        ``tracks`` or ``alerts``), each still checked against its marking (:meth:`build`): the
        per-recipient reports of docs/fusion.md, "Who reports what to whom"."""
        frames = []
        for partner in self.partners:
            items = items_of.get(partner)
            if items:
                f = self.build(kind, items, t, partner)
                if f is not None:
                    frames.append(f)
        return self._send(frames)

    def publish_alerts(self, alerts: Sequence[AlertReport], t: float) -> list[Frame]:
        """Send each partner the alerts releasable to it."""
        return self._send(self.build_all("alerts", alerts, t))

    def publish_status(self, status: NodeStatus) -> list[Frame]:
        """Send the node's status to every partner in ``status_releasable_to``."""
        return self._send(self.build_all("status", [status], status.t))


class Receiver:
    """Listens on ``skyweave.*.<ME>.>``, admits each frame through ``gate``, and dispatches bodies.

    Callbacks get ``(envelope, body)``: ``on_tracks`` a list of TrackReport, ``on_alerts`` a list
    of AlertReport, ``on_status`` a NodeStatus; ``on_reject`` gets the Rejected verdict. ``now``
    (a callable, s) overrides the gate's clock for each frame.

    ``seal_key`` (this nation's X25519 private key, or its file): frames are opened before the
    gate (module docstring); with ``require_sealed`` (default: True when ``seal_key`` is given)
    an unsealed frame is refused as ``unsealed``. Refusals before the gate are counted in
    :attr:`counts` (by SEAL_REASONS) and passed to ``on_reject`` as Rejected verdicts.
    """

    def __init__(
        self,
        gate: Gate,
        bus: Bus,
        *,
        durable: str | None = None,
        on_tracks: Callable[[Envelope, list[TrackReport]], Any] | None = None,
        on_alerts: Callable[[Envelope, list[AlertReport]], Any] | None = None,
        on_status: Callable[[Envelope, NodeStatus], Any] | None = None,
        on_reject: Callable[[Rejected], Any] | None = None,
        now: Callable[[], float] | None = None,
        seal_key: X25519PrivateKey | str | Path | None = None,
        require_sealed: bool | None = None,
    ):
        self.gate = gate
        self.bus = bus
        self.durable = durable
        self.on = {"tracks": on_tracks, "alerts": on_alerts, "status": on_status}
        self.on_reject = on_reject
        self.now = now
        self.seal_key = load_seal_private_key(seal_key) if seal_key is not None else None
        self.require_sealed = (self.seal_key is not None) if require_sealed is None else bool(require_sealed)
        if self.require_sealed and self.seal_key is None:
            raise ValueError("Receiver: require_sealed needs seal_key")
        self.counts: Counter[str] = Counter({r: 0 for r in SEAL_REASONS})
        self._sub: Subscription | None = None
        self._lock = threading.Lock()  # the gate is not thread-safe; a bus may call from its thread

    def start(self) -> "Receiver":
        """Subscribe (durably when ``durable`` is set)."""
        if self._sub is None:
            self._sub = self.bus.subscribe(inbox_subject(self.gate.nation), self.handle, durable=self.durable)
        return self

    def handle(self, subject: str, data: bytes) -> Verdict:
        """Open (when sealing), admit one frame and call the matching callback; returns the verdict.

        Never raises on a partner's bytes: what cannot be opened is a Rejected verdict.
        """
        with self._lock:
            opened = self._open(subject, data)
            if isinstance(opened, Rejected):
                verdict: Verdict = opened
            else:
                verdict = self.gate.admit(opened, now=self.now() if self.now is not None else None)
        if isinstance(verdict, Admitted):
            cb = self.on.get(verdict.envelope.kind)
            if cb is not None:
                cb(verdict.envelope, verdict.body)
        elif self.on_reject is not None:
            self.on_reject(verdict)
        return verdict

    def _open(self, subject: str, data: bytes) -> bytes | Rejected:
        """The signed frame inside ``data``, or the Rejected verdict (counted) if it cannot be had."""
        if self.seal_key is None or not is_sealed(data):
            if self.require_sealed:
                return self._refuse("unsealed", f"frame on {subject} is not sealed")
            return data
        try:
            sender, recipient, _ = parse_subject(subject)
            return open_frame(data, self.seal_key, subject=subject, sender=sender, recipient=recipient)
        except (SealError, BusError) as e:
            return self._refuse("unsealable", str(e))

    def _refuse(self, reason: str, detail: str) -> Rejected:
        self.counts[reason] += 1
        log.warning("%s refused a frame before the gate: %s (%s)", self.gate.nation, reason, detail)
        return Rejected(reason, detail)

    def stop(self) -> None:
        """Unsubscribe (a durable position is kept for the next start)."""
        if self._sub is not None:
            self._sub.unsubscribe()
            self._sub = None
