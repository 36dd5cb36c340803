"""Admission: the receiving node's gate that turns raw frames into trusted messages, or rejects them.

:class:`Gate` checks every frame in this order and stops at the first failure, counting the
reason by name (docs/messages.md, "Trust rules"):

1. ``malformed``      bytes that are not a canonical v1 envelope (size, msgpack, types, ranges);
2. ``unsigned``       no signature;
3. ``unknown_sender`` no public key configured for the sender nation;
4. ``bad_signature``  the signature does not verify (forged with another key, or tampered);
5. ``not_for_me``     the envelope's recipient is another nation;
6. ``duplicate``      the same message (same id, same content) was already admitted: dropped,
                      idempotent, not an attack;
   ``replayed``       the same id with different content, or a sequence number at or below the
                      sender's high-water mark minus the window (see below);
7. ``unreleasable``   the envelope's marking, or any item's marking, does not include this nation;
   ``malformed``      the payload does not decode as the envelope's kind;
8. ``stale``          content time ``t`` older than ``now - max_age_s``;
   ``future``         ``t`` later than ``now + max_future_s``.
9. the content of an admitted ``tracks`` or ``alerts`` frame, item by item (:class:`ContentLimits`):
   a bad item is refused alone and counted under its reason, the good items of the frame are
   kept (the frame is ``Admitted`` with the survivors, possibly none, and ``refused`` lists the
   others). A partner's node may be buggy or compromised and holds a valid key, so the signature
   says only who spoke, never that what was said is sound:

   ``own_nation``     a report or alert claims the receiver's own nation;
   ``wrong_sender``   its nation (or node) is not the envelope's signed sender: there are no relays;
   ``time_skew``      its ``t`` later than the envelope's ``t + max_skew_s`` or earlier than
                      ``envelope t - max_age_s``;
   ``stale`` / ``future`` its own ``t`` judged against ``now`` like the envelope's;
   ``bad_dims``       ``dims`` is not the receiving node's (state 2·dims, covariance (2·dims)²);
   ``out_of_range``   a position beyond ``max_position_m`` or a speed beyond ``max_speed_mps``;
   ``bad_covariance`` a variance beyond ``max_variance`` (or not positive), not symmetric, or not
                      positive definite (Cholesky);
   ``bad_ntn``        a network track number outside the numbering scheme (``NAT-N`` and at most
                      ``ntn_digits`` digits): a valid-looking ``JPN-N`` + 59 nines would push the
                      receiver's counter past what its own reports may carry.

Replay rule (per sender node, i.e. per (nation, node id)), with ``W = window``:
``hwm`` is the highest sequence number admitted so far (0 before any), and ``recent`` maps each
admitted sequence number in ``(hwm - W, hwm]`` to a digest of its signed content.
For an authenticated envelope with sequence ``s``:

- ``s`` in ``recent``: same digest -> ``duplicate``; different digest -> ``replayed``;
- ``s <= hwm - W``: ``replayed`` (too old to tell; only possible for a replay or for a
  redelivery more than W of the sender's messages late);
- otherwise the envelope is new: out-of-order arrivals inside the window are admitted, and on
  admission ``s`` joins ``recent``, ``hwm = max(hwm, s)``, and entries at or below ``hwm - W``
  are forgotten (memory: at most W entries per sender node).

Only admitted envelopes enter ``recent``: a frame rejected for another reason (stale, say) is
judged afresh if it comes again. Sequence numbers are per sender node and strictly increasing
(:class:`skyweave.share.endpoint.Sequencer`).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
import numpy as np
from cryptography.exceptions import InvalidSignature

from skyweave.share.schema import (
    MAX_FRAME_BYTES,
    Envelope,
    MessageError,
    decode_body,
    decode_envelope,
    signing_bytes,
)
from skyweave.share.signing import Keyring
from skyweave.share.releasability import validate_code

__all__ = ["REASONS", "CONTENT_REASONS", "ContentLimits", "Admitted", "Rejected", "Verdict", "Gate", "Admission"]

log = logging.getLogger(__name__)

REASONS = (
    "malformed",
    "unsigned",
    "unknown_sender",
    "bad_signature",
    "not_for_me",
    "unreleasable",
    "replayed",
    "duplicate",
    "stale",
    "future",
    "own_nation",
    "wrong_sender",
    "time_skew",
    "bad_dims",
    "out_of_range",
    "bad_covariance",
    "bad_ntn",
)
#: the reasons an item (a report or an alert) of an admitted frame is refused for
CONTENT_REASONS = ("own_nation", "wrong_sender", "time_skew", "stale", "future", "bad_dims", "out_of_range",
                   "bad_covariance", "bad_ntn")


@dataclass(frozen=True, slots=True)
class ContentLimits:
    """What a partner's report may say (docs/messages.md, "Threat model and limits").

    The physical limits admit everything real (a ballistic missile at 7 km/s and 1,000 km up,
    an unobserved altitude with a 1e8 m standard deviation) and nothing that would overflow or
    blind the fusion.

    max_skew_s : a report's ``t`` may lie at most this much (s) after its envelope's ``t``.
    max_position_m : |x|, |y|, |z| at most this (m, scenario ENU frame).
    max_speed_mps : each velocity component at most this in magnitude (m/s).
    max_variance : each diagonal term of the covariance at most this (m² or m²/s²).
    sym_tol : |P_ij − P_ji| ≤ sym_tol·sqrt(P_ii P_jj) (relative asymmetry allowed, rounding).
    ntn_digits : a network track number is ``"NAT-N"`` and 1 to ``ntn_digits`` digits, an integer
        below 10**ntn_digits, or empty.
    """

    max_skew_s: float = 5.0
    max_position_m: float = 1e8
    max_speed_mps: float = 1e4
    max_variance: float = 1e16
    sym_tol: float = 1e-6
    ntn_digits: int = 9


@dataclass(frozen=True, slots=True)
class Admitted:
    """A frame that passed every check: its envelope and its decoded, validated body."""

    envelope: Envelope
    body: Any  # list[TrackReport] | list[AlertReport] | NodeStatus, by envelope.kind
    refused: tuple = ()  # (index in the frame, reason, detail) of each item refused (step 9)
    ok: ClassVar[bool] = True
    reason: ClassVar[None] = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame that was refused: the reason (one of REASONS) and a one-line explanation."""

    reason: str
    detail: str
    sender: str | None = None  # "NATION/node" when the envelope decoded, else None
    msg_id: str | None = None
    ok: ClassVar[bool] = False


Verdict = Admitted | Rejected


class _Window:
    """Per sender node: the high-water mark and the digests of recently admitted sequence numbers."""

    __slots__ = ("hwm", "recent", "heap")

    def __init__(self) -> None:
        self.hwm = 0
        self.recent: dict[int, bytes] = {}
        self.heap: list[int] = []

    def add(self, seq: int, digest: bytes, window: int) -> None:
        self.recent[seq] = digest
        heapq.heappush(self.heap, seq)
        if seq > self.hwm:
            self.hwm = seq
        self.prune(window)

    def prune(self, window: int) -> None:
        floor = self.hwm - window
        heap, recent = self.heap, self.recent
        while heap and heap[0] <= floor:
            recent.pop(heapq.heappop(heap), None)


class Gate:
    """Admission for one receiving nation's node: ``admit(frame) -> Admitted | Rejected``.

    Parameters
    ----------
    nation : this node's nation (alpha-3); frames for other recipients are ``not_for_me``.
    keyring : the partners' public keys; senders not in it are ``unknown_sender``.
    clock : () -> current time in seconds on the scenario/UTC line, used when ``admit`` is given
        no ``now``.
    max_age_s : content older than ``now - max_age_s`` is ``stale`` (None: no limit). Default 30 s.
    max_future_s : content later than ``now + max_future_s`` is ``future`` (None: no limit).
        Default 5 s.
    window : W of the replay rule, in sequence numbers. Default 4096.
    max_bytes : larger frames are ``malformed`` without being parsed.
    dims : the receiving node's dimensions (2 or 3); reports of other dims are ``bad_dims``
        (None: any dims the schema allows).
    limits : the content limits of step 9 (:class:`ContentLimits`).

    Never raises on a frame's content: every fault becomes a counted, logged Rejected.
    """

    def __init__(
        self,
        nation: str,
        keyring: Keyring,
        *,
        clock: Callable[[], float] | None = None,
        max_age_s: float | None = 30.0,
        max_future_s: float | None = 5.0,
        window: int = 4096,
        max_bytes: int = MAX_FRAME_BYTES,
        dims: int | None = None,
        limits: ContentLimits = ContentLimits(),
    ):
        self.nation = validate_code(nation)
        self.keyring = keyring
        self.clock = clock
        self.max_age_s = max_age_s
        self.max_future_s = max_future_s
        if window < 1:
            raise ValueError(f"window must be >= 1 sequence number, got {window}")
        self.window = int(window)
        self.max_bytes = int(max_bytes)
        if dims not in (None, 2, 3):
            raise ValueError(f"dims must be 2, 3 or None, got {dims!r}")
        self.dims = dims
        self.limits = limits
        self._ntn_re = re.compile(r"^[A-Z]{3}-N[0-9]{1,%d}$" % int(limits.ntn_digits))
        self.counts: dict[str, int] = {r: 0 for r in REASONS}
        self.admitted = 0
        self._windows: dict[tuple[str, str], _Window] = {}

    # ------------------------------------------------------------------ the checks

    def admit(self, data: bytes, *, now: float | None = None) -> Verdict:
        """Judge one frame. ``now`` (s) defaults to ``clock()``; one is needed when time limits are set."""
        if now is None:
            if self.clock is not None:
                now = self.clock()
            elif self.max_age_s is None and self.max_future_s is None:
                now = float("nan")  # no time limits to check
            else:
                raise TypeError("Gate.admit needs `now` or a Gate clock (or max_age_s=max_future_s=None)")
        try:
            return self._admit(data, float(now))
        except Exception as e:  # a frame must never take the receiver down: refuse it, loudly
            log.exception("%s: unexpected error judging a frame", self.nation)
            return self._reject("malformed", f"unexpected {type(e).__name__}: {e}", None)

    __call__ = admit

    def _admit(self, data: bytes, now: float) -> Verdict:
        try:
            env = decode_envelope(data, max_bytes=self.max_bytes)
        except MessageError as e:
            return self._reject("malformed", str(e), None)
        if not env.sig:
            return self._reject("unsigned", "envelope carries no signature", env)
        key = self.keyring.get(env.sender)
        if key is None:
            return self._reject("unknown_sender", f"no public key configured for {env.sender}", env)
        signed = signing_bytes(env)
        try:
            key.verify(env.sig, signed)
        except InvalidSignature:
            return self._reject("bad_signature", f"signature does not verify with {env.sender}'s key", env)
        if env.recipient != self.nation:
            return self._reject("not_for_me", f"addressed to {env.recipient}", env)

        digest = hashlib.blake2b(signed, digest_size=16).digest()
        win = self._windows.get((env.sender, env.node))
        if win is not None:
            seen = win.recent.get(env.seq)
            if seen is not None:
                if seen == digest:
                    return self._duplicate(env)
                return self._reject("replayed", f"seq {env.seq} already admitted with different content", env)
            if env.seq <= win.hwm - self.window:
                return self._reject(
                    "replayed", f"seq {env.seq} at or below high-water mark {win.hwm} minus window {self.window}", env
                )

        if self.nation not in env.releasable_to:
            return self._reject("unreleasable", f"frame marking {list(env.releasable_to)} excludes {self.nation}", env)
        try:
            body = decode_body(env.kind, env.payload)
        except MessageError as e:
            return self._reject("malformed", f"payload: {e}", env)
        if env.kind == "status":
            if body.nation != env.sender or body.node != env.node:
                return self._reject(
                    "malformed", f"status of {body.nation}/{body.node} sent by {env.sender}/{env.node}", env
                )
        else:
            for i, item in enumerate(body):
                if self.nation not in item.releasable_to:
                    return self._reject(
                        "unreleasable", f"item {i} marking {list(item.releasable_to)} excludes {self.nation}", env
                    )

        if self.max_age_s is not None and env.t < now - self.max_age_s:
            return self._reject("stale", f"t={env.t:.3f} s older than now={now:.3f} s - {self.max_age_s} s", env)
        if self.max_future_s is not None and env.t > now + self.max_future_s:
            return self._reject("future", f"t={env.t:.3f} s later than now={now:.3f} s + {self.max_future_s} s", env)

        if win is None:
            win = self._windows[(env.sender, env.node)] = _Window()
        win.add(env.seq, digest, self.window)
        self.admitted += 1
        if env.kind == "status":
            return Admitted(env, body)
        refused = self._check_items(env, body, now)
        if refused:
            bad = {i for i, _, _ in refused}
            body = [item for i, item in enumerate(body) if i not in bad]
            by = {}
            for _, reason, _ in refused:
                self.counts[reason] += 1
                by[reason] = by.get(reason, 0) + 1
            log.warning("%s refused %d of %d items of %s from %s/%s: %s (first: %s)", self.nation, len(refused),
                        len(refused) + len(body), env.msg_id, env.sender, env.node, by, refused[0][2])
        return Admitted(env, body, tuple(refused))

    # ------------------------------------------------------------------ step 9: the content

    def _check_items(self, env: Envelope, body: list, now: float) -> list[tuple[int, str, str]]:
        """(index, reason, detail) of every item of ``body`` that breaks a content rule."""
        lim = self.limits
        refused: list[tuple[int, str, str]] = []
        covs: dict[int, list[tuple[int, list[float]]]] = {}  # n -> (index, row-major cov) to check in batch
        lo_t = env.t - self.max_age_s if self.max_age_s is not None else -math.inf
        hi_t = env.t + lim.max_skew_s
        for i, it in enumerate(body):
            why = self._check_common(env, it, now, lo_t, hi_t)
            if why is None and env.kind == "tracks":
                why = self._check_report(it)
                if why is None and it.cov:
                    covs.setdefault(2 * it.dims, []).append((i, it.cov))
            if why is not None:
                refused.append((i, *why))
        for n, rows in covs.items():
            refused += self._check_covariances(n, rows)
        refused.sort()
        return refused

    def _check_common(self, env, it, now: float, lo_t: float, hi_t: float) -> tuple[str, str] | None:
        nation = it.nation
        if nation == self.nation:
            return "own_nation", f"item speaks for {nation}, the receiver's own nation"
        if env.kind == "tracks":
            if nation != env.sender or it.node != env.node:
                return "wrong_sender", f"report of {nation}/{it.node} in a frame signed by {env.sender}/{env.node}"
        elif nation is not None and nation != env.sender:
            return "wrong_sender", f"alert of {nation} in a frame signed by {env.sender}"
        t = it.t
        if not (lo_t <= t <= hi_t):
            return "time_skew", f"t={t!r} s outside [{lo_t:.3f}, {hi_t:.3f}] around the envelope's t={env.t:.3f} s"
        if self.max_age_s is not None and t < now - self.max_age_s:
            return "stale", f"item t={t:.3f} s older than now={now:.3f} s - {self.max_age_s} s"
        if self.max_future_s is not None and t > now + self.max_future_s:
            return "future", f"item t={t:.3f} s later than now={now:.3f} s + {self.max_future_s} s"
        return None

    def _check_report(self, r) -> tuple[str, str] | None:
        lim = self.limits
        d = r.dims
        if self.dims is not None and d != self.dims:
            return "bad_dims", f"dims={d}, this node's network is {self.dims}-D"
        st = r.state  # the schema has checked its length (2·dims) and finiteness
        if max(abs(v) for v in st[:d]) > lim.max_position_m:
            return "out_of_range", f"position {st[:d]} beyond {lim.max_position_m:g} m"
        if max(abs(v) for v in st[d:]) > lim.max_speed_mps:
            return "out_of_range", f"velocity {st[d:]} beyond {lim.max_speed_mps:g} m/s"
        ntn = r.ntn
        if isinstance(ntn, int):
            if not 0 <= ntn < 10**lim.ntn_digits:
                return "bad_ntn", f"ntn {ntn} outside 0..{10**lim.ntn_digits - 1}"
        elif ntn and not self._ntn_re.match(ntn):
            return "bad_ntn", f"ntn {ntn[:70]!r} is not NAT-N and 1 to {lim.ntn_digits} digits"
        return None

    def _check_covariances(self, n: int, rows: list[tuple[int, list[float]]]) -> list[tuple[int, str, str]]:
        """Batched: variances in (0, max_variance], symmetric within sym_tol, positive definite."""
        lim = self.limits
        idx = [i for i, _ in rows]
        P = np.asarray([c for _, c in rows], dtype=float).reshape(len(rows), n, n)
        diag = np.diagonal(P, axis1=1, axis2=2)
        out = []
        bad_var = ~np.all((diag > 0) & (diag <= lim.max_variance), axis=1)
        root = np.sqrt(np.abs(diag))
        scale = root[:, :, None] * root[:, None, :]
        asym = ~np.all(np.abs(P - np.swapaxes(P, 1, 2)) <= lim.sym_tol * scale, axis=(1, 2))
        for k in np.flatnonzero(bad_var | asym).tolist():
            what = (f"a variance outside (0, {lim.max_variance:g}]" if bad_var[k] else "not symmetric")
            out.append((idx[k], "bad_covariance", f"covariance {what}"))
        ok = np.flatnonzero(~(bad_var | asym))
        if len(ok):
            Q = 0.5 * (P[ok] + np.swapaxes(P[ok], 1, 2))
            try:
                np.linalg.cholesky(Q)
            except np.linalg.LinAlgError:  # find which: one at a time
                for k in ok.tolist():
                    try:
                        np.linalg.cholesky(0.5 * (P[k] + P[k].T))
                    except np.linalg.LinAlgError:
                        out.append((idx[k], "bad_covariance", "covariance not positive definite"))
        return out

    def _reject(self, reason: str, detail: str, env: Envelope | None) -> Rejected:
        self.counts[reason] += 1
        sender = f"{env.sender}/{env.node}" if env is not None else None
        msg_id = env.msg_id if env is not None else None
        log.warning("%s rejected message %s from %s: %s (%s)", self.nation, msg_id or "?", sender or "?", reason, detail)
        return Rejected(reason, detail, sender, msg_id)

    def _duplicate(self, env: Envelope) -> Rejected:
        self.counts["duplicate"] += 1
        log.debug("%s dropped duplicate %s from %s/%s", self.nation, env.msg_id, env.sender, env.node)
        return Rejected("duplicate", "already admitted", f"{env.sender}/{env.node}", env.msg_id)

    # ------------------------------------------------------------------ counters and state

    @property
    def rejected(self) -> dict[str, int]:
        """Non-zero rejection counts by reason (duplicates included), for NodeStatus.rejected."""
        return {r: n for r, n in self.counts.items() if n}

    def stats(self) -> dict[str, int]:
        """Every counter: ``admitted`` and each reason of REASONS."""
        return {"admitted": self.admitted, **self.counts}

    def high_water(self, sender: str, node: str) -> int:
        """The highest sequence number admitted from ``sender``/``node`` (0 if none)."""
        win = self._windows.get((sender, node))
        return win.hwm if win is not None else 0

    def state(self) -> bytes:
        """The replay state (per sender node: hwm and recent digests) as msgpack, to persist across restarts."""
        return msgspec.msgpack.encode(
            [[s, n, w.hwm, sorted(w.recent.items())] for (s, n), w in sorted(self._windows.items())]
        )

    def load_state(self, data: bytes) -> None:
        """Restore :meth:`state` output (replaces the current replay state)."""
        try:
            rows = msgspec.msgpack.decode(data, type=list[tuple[str, str, int, list[tuple[int, bytes]]]])
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ValueError(f"gate state: expected Gate.state() bytes, got undecodable data ({e})") from None
        windows: dict[tuple[str, str], _Window] = {}
        for sender, node, hwm, recent in rows:
            w = _Window()
            for seq, digest in recent:
                w.add(seq, digest, self.window)
            w.hwm = max(w.hwm, hwm)
            w.prune(self.window)
            windows[(sender, node)] = w
        self._windows = windows


Admission = Gate
"""Alias: the admission gate of a receiving node."""
