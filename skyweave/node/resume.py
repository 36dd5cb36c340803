"""A node process on its own journal: recording, acknowledging only what is journaled, restarting without loss.

``skyweave node --config NODE.yaml --journal FILE|URL`` (or NODE.yaml's ``journal`` key) keeps
the node's own journal (:mod:`skyweave.node.journal`, SQLite or PostgreSQL):

- **inputs and outputs** are journaled as in a network run: its scans, clock moves, ticks, every
  partner frame delivered to it, its close; its gate verdicts, pictures and alerts;
- **acknowledged once journaled**: the NATS bus acknowledges a partner frame to JetStream only
  when the journal has committed it (:attr:`~skyweave.share.natsbus.NatsBus.ack_gate`); the
  journal commits every ``COMMIT_EVERY_S`` at the latest, so a frame's acknowledgement waits at
  most that long. A frame the node took but did not commit before it died is not acknowledged:
  JetStream delivers it again;
- **restart**: started again on the same journal, the node first rebuilds its state by
  re-driving its journaled inputs, in their journaled order, as fast as it goes (no pacing),
  with what it publishes meanwhile muted (it was sent before) and live deliveries held; its
  track ids, clock and tick rhythm are those its inputs give, and its output files are written
  again from the start. Then it resumes its sensor feed after the scans it journaled (a scan is
  its sensor and time), catching up with the wall clock at once, and only then takes the held
  deliveries (:meth:`JournaledNode.caught_up`: judged before, the frames its partners sent while
  it was down would be "future" to its clock), dropping a redelivered copy of a frame it has
  journaled (:func:`~skyweave.node.journal.frame_digest`), and appends to the same journal. The
  held frames wait unacknowledged meanwhile; should JetStream deliver one again (its ack wait
  passed), the copy is dropped the same way.

So after a kill (SIGKILL included) and a restart: every partner frame acknowledged to JetStream
is in the journal exactly once, every own scan is journaled once and in time order, and its
``local.jsonl`` is what its journaled inputs give (the same file as an uninterrupted run's, byte
for byte: the local tracker depends on its own scans only), its ``picture.jsonl`` holds one
picture per tick time, each once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from skyweave.node.journal import (
    INPUT_KINDS,
    JournalError,
    JournalSink,
    RecordingBus,
    RecordingNode,
    drive_input,
    frame_digest,
    is_url,
    open_journal,
    open_reader,
)

#: the longest a journaled record waits for its commit (s): a partner frame's acknowledgement waits as long
COMMIT_EVERY_S = 0.05


@dataclass
class Resumed:
    """What a restarted node re-drove from its journal."""

    inputs: Counter = field(default_factory=Counter)
    scans: set = field(default_factory=set)       # (sensor, t) of every journaled scan
    frames: set = field(default_factory=set)      # digests of every journaled frame
    last_t: float = float("-inf")                 # the latest scenario time of a journaled input (s)
    wall_s: float = 0.0                           # how long the rebuild took (s)

    def summary(self) -> dict:
        return {"inputs": dict(self.inputs), "last_t": self.last_t if self.last_t > float("-inf") else None,
                "rebuild_s": round(self.wall_s, 3)}


def previous_inputs(target: str, nation: str) -> list[tuple]:
    """The journaled input records of ``nation`` in ``target`` (empty when there is no journal yet)."""
    if not is_url(target):
        from pathlib import Path

        p = Path(target)
        if not p.exists() or (p.is_file() and p.stat().st_size == 0):
            return []
    try:
        r = open_reader(target)
    except JournalError as e:
        why = str(e)
        if "no node" in why or "no sensors" in why or (is_url(target) and "not a skyweave journal" in why):
            return []  # an empty database, or a journal created and killed before its node was recorded
        raise
    try:
        if nation not in r.nodes:
            raise JournalError(f"{r.path}: the journal is another node's (it records {', '.join(sorted(r.nodes))}, "
                               f"not {nation})")
        return list(r.records(INPUT_KINDS, nation=nation))
    finally:
        r.close()


def rebuild(records: list[tuple], node, bus: RecordingBus) -> Resumed:
    """Re-drive ``node`` (a :class:`~skyweave.node.node.NationNode` on ``bus``) from its journaled
    input ``records``, in order and without pacing; ``bus`` is muted meanwhile."""
    t0 = time.perf_counter()
    got = Resumed()
    bus.muted = True
    node.manual_fusion = True  # the fusion thread waits: the node fuses at its journaled points
    try:
        for _seq, _n, kind, t, _wall, subject, body in records:
            got.inputs[kind] += 1
            if t is not None:
                got.last_t = max(got.last_t, t)
            if kind == "frame":
                got.frames.add(frame_digest(subject, body))
            if kind != "close":  # "close": an earlier life of the node ended cleanly; this one goes on
                drive_input(node, kind, t, subject, body, deliver=bus.inject,
                            on_scan=lambda raw: got.scans.add((raw.sensor, float(raw.t))))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, JournalError):
            raise
        raise JournalError(f"damaged journal record while resuming ({type(e).__name__}: {e})") from None
    finally:
        bus.muted = False
        node.manual_fusion = False
    got.wall_s = time.perf_counter() - t0
    return got


class ResumingNode:
    """A journaled node after a restart: the scans it journaled before are skipped (so are the
    clock moves and ticks before the last of them); everything else goes to ``node``."""

    def __init__(self, node, resumed: Resumed):
        self.node = node
        self.resumed = resumed
        self.skipped = 0

    def ingest(self, raw) -> None:
        if (raw.sensor, float(raw.t)) in self.resumed.scans:
            self.skipped += 1
            return
        self.node.ingest(raw)

    def advance(self, t: float) -> None:
        if t >= self.resumed.last_t:
            self.node.advance(t)

    def due(self, t: float) -> bool:
        return t >= self.resumed.last_t and self.node.due(t)

    def __getattr__(self, name):
        return getattr(self.node, name)


@dataclass
class JournaledNode:
    """A node built on its journal by :func:`start_journaled`."""

    node: object            # what to drive: a RecordingNode (a ResumingNode around it after a restart)
    raw: object             # the NationNode itself
    journal: object         # the JournalWriter
    bus: RecordingBus
    resumed: Resumed | None

    @property
    def holding(self) -> bool:
        """True while partner frames are held (a restarted node not caught up yet)."""
        return self.bus.holding

    def caught_up(self) -> None:
        """The node's feed has caught up with the wall clock: take the partner frames held since
        the restart (judged now, against a clock that is the partners' again, not as "future")."""
        self.bus.release()

    def summary(self) -> dict:
        d = {"journal_records": self.journal.committed, "redelivered_dropped": self.bus.redelivered}
        if self.resumed is not None:
            d["resumed"] = {**self.resumed.summary(), "scans_skipped": getattr(self.node, "skipped", 0)}
        return d


def start_journaled(target: str, nation: str, config, sensors_json: str, public_key_pem: str, bus,
                    make_node: Callable[[RecordingBus], object], *, sinks=(),
                    partner_keys: dict[str, str] | None = None) -> JournaledNode:
    """Open the node's journal at ``target`` (created, or appended to), build its node with
    ``make_node(recording_bus)``, rebuild it from the journal when it holds the node's inputs,
    attach the journal's sink and ``sinks``, and gate ``bus``'s acknowledgements on the journal's
    commits (see the module docstring). ``partner_keys`` (nation -> base64 Ed25519 public key,
    ``Keyring.to_config()``) are journaled too (meta ``partner_keys``): replay judges the
    partners' frames with them, as the node did."""
    records = previous_inputs(target, nation)
    jr = open_journal(target, append=True, interval_s=COMMIT_EVERY_S, flush_every_s=COMMIT_EVERY_S)
    try:
        jr.set_meta("sensors", sensors_json)
        if partner_keys:
            jr.set_meta("partner_keys", json.dumps(partner_keys, sort_keys=True))
        jr.add_node(nation, config, public_key_pem)
        holder: dict = {}
        rbus = RecordingBus(bus, jr, nation, clock=lambda: holder["node"].t_now if "node" in holder else float("nan"))
        rbus.dedupe = True
        if records:
            rbus.hold()
        nd = make_node(rbus)
        holder["node"] = nd
        rbus.lock = nd.lock
        # each fusion its thread makes is an input: when it happens depends on the threads' timing
        nd.fusion_hook = lambda: jr.write(nation, "fuse", nd.t_now)
        resumed = None
        try:
            if records:
                resumed = rebuild(records, nd, rbus)
                rbus.seen |= resumed.frames
            nd.attach(JournalSink(jr, nation, nd.dims))
            for s in sinks:
                nd.attach(s)
            if hasattr(bus, "ack_gate"):
                bus.ack_gate = lambda ack: jr.when_committed(jr.last_seq, ack)
        except BaseException:
            rbus.release()
            raise
        node = RecordingNode(nd, jr)
        if resumed is not None:
            node = ResumingNode(node, resumed)
        return JournaledNode(node, nd, jr, rbus, resumed)
    except BaseException:
        jr.close()
        raise


def public_pem(private_key) -> str:
    """The PEM text of an Ed25519 private key's public key (what a journal records of a node)."""
    from cryptography.hazmat.primitives import serialization

    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()


__all__ = ["COMMIT_EVERY_S", "JournaledNode", "Resumed", "ResumingNode", "previous_inputs", "public_pem", "rebuild",
           "start_journaled"]
