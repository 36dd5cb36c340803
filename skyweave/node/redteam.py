"""A red team on the bus: forged, tampered, replayed, stale, unsigned and unreleasable frames.

:class:`RedTeam` listens to the network's traffic (a tap on every subject) and, when asked,
injects hostile frames addressed to each node, so that a run shows the trust layer at work: each
must be rejected by the receiving gate, counted under its reason, and never reach a picture. The
injected frames carry track ids starting with ``RED-`` so a test can prove none got through.

- forged: a well-formed track report claiming to come from a partner, signed with a key that is
  not that partner's (``bad_signature``);
- tampered: a real frame with one byte of its payload flipped (``bad_signature`` or ``malformed``);
- replayed: a real frame captured earlier and sent again much later (``stale`` once it is older than
  the receivers' window, ``duplicate`` before that);
- unsigned: a frame without a signature (``unsigned``);
- unreleasable: a frame signed with the real key of a nation (an insider's mistake) whose report
  is marked for nations that exclude the recipient (``unreleasable``).

:meth:`RedTeam.content_attack` plays a compromised partner (issue 11): one frame signed with the
partner's real key, every report of it hostile in content (the receiver's own nation, a third
nation, a 2-D state in a 3-D network, a state of 1e300, a 64-character network track number, a
time 1e5 s ahead with quality 15); each must be refused under its reason
(docs/messages.md, "Threat model and limits").
"""

from __future__ import annotations

from collections import Counter

import msgspec

from skyweave.share import Envelope, TrackReport, encode_body, encode_envelope, generate_key, make_msg_id, sign_envelope, subject_for
from skyweave.share.bus import Bus


class RedTeam:
    """Injects hostile frames into ``bus`` addressed to ``nations``; ``keys``: the real private keys (for the insider case)."""

    def __init__(self, bus: Bus, nations, keys: dict, dims: int = 3):
        self.bus = bus
        self.nations = sorted(nations)
        self.keys = keys
        self.dims = dims
        self.captured: list[tuple[str, bytes]] = []
        self.sent: Counter = Counter()
        self._seq = 10**15  # far above any real sequence number of this run
        self._rogue = generate_key()
        bus.subscribe("skyweave.>", self._tap)

    def _tap(self, subject: str, data: bytes) -> None:
        if len(self.captured) < 50 and subject.endswith(".tracks"):
            self.captured.append((subject, data))

    def _report(self, sender: str, t: float, marking) -> TrackReport:
        n = 2 * self.dims
        return TrackReport(nation=sender, node="red", track_id=f"RED-{self._seq}", t=float(t), state=[1.0] * n,
                           cov=[0.0] * (n * n), dims=self.dims, releasable_to=tuple(marking))

    def _envelope(self, sender: str, recipient: str, t: float, marking, key=None, sign=True) -> bytes:
        self._seq += 1
        body = encode_body("tracks", [self._report(sender, t, marking)])
        env = Envelope(kind="tracks", sender=sender, node="red", seq=self._seq, msg_id=make_msg_id(sender, "red", self._seq),
                       t=float(t), recipient=recipient, releasable_to=tuple(sorted(marking)), payload=body)
        if sign:
            env = sign_envelope(env, key)
        return encode_envelope(env)

    def content_attack(self, victim: str, partner: str, t: float) -> Counter:
        """One frame to ``victim`` signed with ``partner``'s real key whose reports are all hostile in
        content; returns the reasons each must be refused for."""
        n = 2 * self.dims
        third = next((x for x in self.nations if x not in (victim, partner)), None)
        good_cov = [float(i == j) * 100.0 for i in range(n) for j in range(n)]

        def rep(tag, nation=partner, **kw):
            self._seq += 1
            kw.setdefault("state", [1.0] * n)
            kw.setdefault("dims", self.dims)
            kw.setdefault("cov", good_cov if kw["dims"] == self.dims else [])
            return TrackReport(nation=nation, node="red", track_id=f"RED-{tag}-{self._seq}", t=kw.pop("t", float(t)),
                               releasable_to=tuple(sorted({victim, partner})), **kw)

        other_dims = 2 if self.dims == 3 else 3
        reports = [
            (rep("own", nation=victim), "own_nation"),
            (rep("dims", dims=other_dims, state=[1.0] * (2 * other_dims)), "bad_dims"),
            (rep("huge", state=[1e300] + [1.0] * (n - 1)), "out_of_range"),
            (rep("ntn", ntn=f"{victim}-N" + "9" * 59), "bad_ntn"),
            (rep("future", t=float(t) + 1e5, quality=15), "time_skew"),
        ]
        if third is not None:
            reports.append((rep("third", nation=third), "wrong_sender"))
        self._seq += 1
        marking = tuple(sorted({victim, partner}))
        env = Envelope(kind="tracks", sender=partner, node="red", seq=self._seq,
                       msg_id=make_msg_id(partner, "red", self._seq), t=float(t), recipient=victim,
                       releasable_to=marking, payload=encode_body("tracks", [r for r, _ in reports]))
        self.bus.publish(subject_for(partner, victim, "tracks"), encode_envelope(sign_envelope(env, self.keys[partner])))
        expected = Counter(reason for _, reason in reports)
        self.sent.update({"content": len(reports)})
        return expected

    def attack(self, t: float) -> Counter:
        """One round of every kind of hostile frame to every node, at scenario time ``t``; returns what was sent."""
        sent = Counter()
        for i, victim in enumerate(self.nations):
            partner = self.nations[(i + 1) % len(self.nations)]
            subject = subject_for(partner, victim, "tracks")
            # forged: claims to be the partner, signed by a rogue key
            self.bus.publish(subject, self._envelope(partner, victim, t, (partner, victim), key=self._rogue))
            sent["forged"] += 1
            # unsigned
            self.bus.publish(subject, self._envelope(partner, victim, t, (partner, victim), sign=False))
            sent["unsigned"] += 1
            # unreleasable: the partner's real key, but a marking that leaves the victim out
            others = tuple(n for n in self.nations if n != victim) or (partner,)
            self.bus.publish(subject, self._envelope(partner, victim, t, others, key=self.keys[partner]))
            sent["unreleasable"] += 1
        # tampered and replayed copies of real traffic
        if self.captured:
            subject, data = self.captured[0]
            bad = bytearray(data)
            bad[len(bad) // 2] ^= 0x40
            self.bus.publish(subject, bytes(bad))
            sent["tampered"] += 1
            for subject, data in self.captured[:3]:
                env = msgspec.msgpack.decode(data)
                self.bus.publish(subject, data, msg_id=f"replay-{self._seq}-{len(env) if isinstance(env, list) else 0}")
                self._seq += 1
                sent["replayed"] += 1
        self.sent.update(sent)
        return sent
