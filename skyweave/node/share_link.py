"""A node's two ends of the bus: what it tells its partners, and what it holds of theirs.

:class:`ShareLink` converts between the node's numerical picture and the share room's messages:

- out: local tracks (a :class:`~skyweave.track.tracker.Frame` plus the fusion's per-track flags)
  to signed :class:`~skyweave.share.TrackReport` frames, one per partner, each holding only the
  reports releasable to it (the :class:`~skyweave.share.Publisher` checks the marking); alert
  updates to :class:`~skyweave.share.AlertReport`;
- in: admitted partner reports kept per (nation, track), newest first, and handed to the fuser as
  a :class:`~skyweave.fuse.TrackSet`; partner alerts kept by id; every verdict counted by reason.

Bounded (docs/messages.md, "Threat model and limits"): at most ``max_remote_per_partner`` live
tracks per partner nation (a report of a new track beyond it is refused as ``too_many``), at most
``max_alerts_per_partner`` alert ids per partner (the oldest forgotten first), alerts forgotten
``alert_max_age_s`` after their last update, reports after 3 × the fuser's ``max_age_s``.

The gate's clock: frames that arrive before the node knows its time (a node started, or restarted
and catching up by replay, before its first scan or :meth:`~skyweave.node.node.NationNode.advance`)
are held, unjudged, and judged in arrival order the moment the clock is set
(:meth:`ShareLink.release`), so the stale and future checks hold from the first frame. At most
``max_held`` frames are held; beyond that, and for frames still held when the link stops, they are
refused as ``no_clock``. Held frames have been acknowledged to JetStream (the handler returned):
a node that dies before its clock is set loses them (the journal of the interop issue closes that).

No numerics beyond array conversion, no fusion: :class:`~skyweave.node.node.NationNode` decides
when to fuse and what to report.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import numpy as np

from skyweave.fuse import TrackSet
from skyweave.share import (
    AlertReport,
    Gate,
    ImpactArea,
    Keyring,
    LaunchPoint,
    Publisher,
    Receiver,
    Sequencer,
    TrackReport,
)
from skyweave.share.admission import Admitted

log = logging.getLogger("skyweave.node")

#: classes a track report may carry (the rest are sent as "unknown")
SHARED_CLASSES = ("aircraft", "cruise", "ballistic")


@dataclass(frozen=True, slots=True)
class ReportFlags:
    """What the last fusion decided for one local track: its network number, whether this node
    reports it, whether its report stopped (another node took responsibility), its class and
    confidence, its releasability marking, and the number's lineage ``ntn_to``: None when the
    number is this node's own (or none), else the nations its owner released a report carrying
    it to (:attr:`~skyweave.fuse.FusedPicture.local_ntn_to`): only those hear it from us."""

    ntn: str
    report: bool
    stopped: bool
    cls: str
    class_conf: float
    mark: tuple[str, ...]
    ntn_to: tuple[str, ...] | None = None
    also_to: tuple[tuple[str, int], ...] | None = None   # (nation, quality) of each partner it reports this object to
    ntn_released: tuple[str, ...] | None = None          # for a number of its own: the nations it releases it to


@dataclass(frozen=True, slots=True, eq=False)
class PartnerPlan:
    """What one partner may be sent now: a picture (the node's estimate releasable to it), the
    last fusion's flags for its tracks (``report``: this node reports each to that partner) and
    which of its rows to consider (``select``: those a scan just updated, or all at a tick)."""

    pic: object
    flags: dict
    select: np.ndarray


def _released(fl: ReportFlags, nation: str) -> tuple[str, ...] | None:
    """What a report says of its number's release (TrackReport.ntn_released): for a number of
    this node's own, the partners it releases it to; for another nation's, the release its
    owner made as this node learnt it from the owner's own reports (the lineage, ``ntn_to``),
    passed on so that a partner that hears the number only from this node may name the object
    to the same nations (docs/fusion.md, "Who may hear a number"); None without a number."""
    if not fl.ntn:
        return None
    if fl.ntn.startswith(f"{nation}-N"):
        return tuple(fl.ntn_released) if fl.ntn_released else None
    return tuple(fl.ntn_to) if fl.ntn_to else None


def alert_report(u, nation: str, issued: float | None = None) -> AlertReport:
    """An alert update (an :class:`~skyweave.warn.alerts.AlertUpdate` record) as the message
    partners receive (TypeError/ValueError when the schema refuses it)."""
    la, imp = u.launch, u.impact
    return AlertReport(
        alert_id=u.alert_id, t=float(u.t), threat=u.threat,
        launch=LaunchPoint(float(la.lat), float(la.lon), float(la.t)) if la is not None else None,
        impact=ImpactArea(float(imp.lat), float(imp.lon), float(imp.t), float(imp.semi_major_m),
                          float(imp.semi_minor_m), float(imp.orientation_deg)) if imp is not None else None,
        time_to_impact_s=u.time_to_impact_s, places=list(u.places or ()),
        confidence=float(u.confidence or 0.0), status=u.status,
        releasable_to=tuple(sorted(set(u.releasable_to) | {nation})), nation=nation,
        sources=[f"{nation}:{s}" for s in (u.sources if u.sources is not msgspec.UNSET else ())],
        issued=issued, reason=u.reason if u.status == "closed" and u.reason is not msgspec.UNSET else None,
    )


def partner_alert_update(a: AlertReport):
    """A partner's admitted :class:`~skyweave.share.AlertReport` as an alert record (its sensors
    as their ids), for the joint alerts."""
    from skyweave.warn.alerts import AlertUpdate, Impact, Launch

    la, imp = a.launch, a.impact
    return AlertUpdate(
        t=float(a.t), alert_id=a.alert_id, threat=a.threat, status=a.status,
        launch=Launch(lat=la.lat, lon=la.lon, t=la.t) if la is not None else None,
        impact=Impact(lat=imp.lat, lon=imp.lon, t=imp.t, semi_major_m=imp.semi_major_m,
                      semi_minor_m=imp.semi_minor_m, orientation_deg=imp.orientation_deg) if imp is not None else None,
        time_to_impact_s=a.time_to_impact_s, places=tuple(a.places), confidence=float(a.confidence),
        releasable_to=tuple(a.releasable_to), sources=tuple(s.split(":", 1)[1] for s in a.sources),
        reason=a.reason if a.reason is not None else msgspec.UNSET,
    )


class GuardedReceiver(Receiver):
    """A :class:`~skyweave.share.Receiver` that holds frames until its clock is set, reports each
    item the gate refused (``on_item_refused(env, index, reason, detail)``), and never lets a
    callback's exception out (counted as ``handler_error``, logged): nothing a partner sends may
    raise out of a node, whatever bus delivers it."""

    def __init__(self, gate: Gate, bus, *, clock: Callable[[], float], max_held: int,
                 on_item_refused: Callable, on_link_reject: Callable, **kw):
        for name in ("on_tracks", "on_alerts", "on_status", "on_reject"):
            if kw.get(name) is not None:
                kw[name] = self._guarded(kw[name])
        super().__init__(gate, bus, **kw)
        self.clock = clock
        self.max_held = int(max_held)
        self.on_item_refused = on_item_refused
        self.on_link_reject = on_link_reject
        self.held: list[tuple[str, bytes]] = []
        self._held_lock = threading.Lock()

    def clock_set(self) -> bool:
        return math.isfinite(self.clock())

    def handle(self, subject: str, data: bytes):
        if not self.clock_set():
            with self._held_lock:
                if not self.clock_set():  # checked again: release() may have run meanwhile
                    if len(self.held) < self.max_held:
                        self.held.append((subject, data))
                        return None
                    full = True
                else:
                    full = False
            if full:  # outside the held lock: the callback takes the node's lock
                self._safe(self.on_link_reject, "no_clock")
                return None
        return self._judge(subject, data)

    def release(self) -> int:
        """Judge the held frames, in arrival order (once the clock is set); returns how many."""
        n = 0
        while True:
            with self._held_lock:
                if not self.held or not self.clock_set():
                    return n
                batch, self.held = self.held, []
            for subject, data in batch:
                self._judge(subject, data)
            n += len(batch)

    def drop_held(self) -> int:
        """Refuse every frame still held (``no_clock``); returns how many."""
        with self._held_lock:
            batch, self.held = self.held, []
        for _ in batch:
            self._safe(self.on_link_reject, "no_clock")
        return len(batch)

    def _judge(self, subject: str, data: bytes):
        """The Receiver's own handling (opening, the gate, the callbacks: each guarded), then each
        item the gate refused is reported."""
        try:
            verdict = super().handle(subject, data)
        except Exception:  # the callbacks are guarded: this is the receiver's own fault
            log.exception("node %s: the receiver failed on a partner's frame; frame dropped", self.gate.nation)
            self._safe(self.on_link_reject, "handler_error")
            return None
        if isinstance(verdict, Admitted):
            for i, reason, detail in verdict.refused:
                self._safe(self.on_item_refused, verdict.envelope, i, reason, detail)
        return verdict

    def _guarded(self, cb: Callable) -> Callable:
        def call(*args):
            self._safe(cb, *args)
        return call

    def _safe(self, cb, *args) -> None:
        try:
            cb(*args)
        except Exception:
            log.exception("node %s: a handler failed on a partner's frame; frame dropped", self.gate.nation)
            try:
                self.on_link_reject("handler_error")
            except Exception:
                pass


class ShareLink:
    """One node's publisher, gate and receiver, and its memory of partners' reports and alerts.

    ``on_tracks(env, reports)`` is called (under the bus's delivery thread) after admitted
    reports are stored; ``on_verdict(admitted, reason, sender, kind, items)`` for every frame the
    gate judged and every item it or the link refused.

    ``stale_s``: frames and reports older than this (s) are ``stale``; ``future_s``: later than
    this ahead of the node's clock, ``future``.
    """

    def __init__(self, nation: str, node_id: str, key, keyring: Keyring, bus, *, partners: tuple[str, ...],
                 dims: int, stale_s: float, clock: Callable[[], float], sequencer: Sequencer | None = None,
                 durable: str | None = None, on_tracks: Callable | None = None, on_verdict: Callable | None = None,
                 future_s: float = 5.0, max_remote_per_partner: int = 20_000, max_alerts_per_partner: int = 2_000,
                 alert_max_age_s: float = 3600.0, max_held: int = 50_000, lock=None, seal_to=None,
                 seal_key=None, on_alerts: Callable | None = None):
        # the bus delivers on its own thread: the link's memory is changed only under the node's lock
        self.lock = lock if lock is not None else threading.RLock()
        self.nation = nation
        self.node_id = node_id
        self.partners = partners
        self.dims = dims
        self.bus = bus
        self.clock = clock
        self.max_remote_per_partner = int(max_remote_per_partner)
        self.max_alerts_per_partner = int(max_alerts_per_partner)
        self.alert_max_age_s = float(alert_max_age_s)
        # seal_to (partner -> X25519 public key) and seal_key (this node's X25519 private key):
        # every frame sealed to its recipient, and only sealed frames admitted (docs/messages.md)
        self.publisher = Publisher(nation, node_id, key, partners, bus, sequencer=sequencer, seal_to=seal_to)
        self.gate = Gate(nation, keyring, clock=clock, max_age_s=stale_s, max_future_s=future_s, dims=dims)
        self.remote: dict[str, TrackReport] = {}
        self.remote_alerts: dict[str, AlertReport] = {}
        self._per_partner: Counter = Counter()  # live remote tracks per nation
        self._alerts_of: dict[str, dict[str, float]] = {}  # nation -> alert id -> t of its last update
        self.rejected: Counter = Counter()
        self.stats: Counter = Counter()
        self.told: dict[str, set[str]] = {}  # track id -> partners sent a report of it (stream not ended)
        self._on_tracks = on_tracks
        self._on_alerts_cb = on_alerts
        self._on_verdict = on_verdict
        self.receiver = GuardedReceiver(self.gate, bus, clock=clock, max_held=max_held,
                                        on_item_refused=self._refuse_item, on_link_reject=self._link_reject,
                                        durable=durable or f"{nation}-{node_id}", on_tracks=self._tracks,
                                        on_alerts=self._alerts, on_reject=self._reject, seal_key=seal_key)

    def start(self) -> "ShareLink":
        self.receiver.start()
        return self

    def stop(self) -> None:
        self.receiver.stop()
        self.receiver.release()
        self.receiver.drop_held()

    def release(self) -> int:
        """Judge the frames held while the node's clock was unset (call once it is set)."""
        if not self.receiver.held:
            return 0
        return self.receiver.release()

    # ------------------------------------------------------------------ in

    def _forget(self, key: str) -> None:
        r = self.remote.pop(key, None)
        if r is not None:
            self._per_partner[r.nation] -= 1

    def evict(self, keys) -> None:
        """Forget the partners' reports under ``keys`` ("NATION:track_id")."""
        for k in keys:
            self._forget(k)

    def _tracks(self, env, reports) -> None:
        with self.lock:
            cap = self.max_remote_per_partner
            for r in reports:
                key = f"{r.nation}:{r.track_id}"
                if r.status == "deleted":
                    self._forget(key)
                    continue
                old = self.remote.get(key)
                if old is None:
                    if self._per_partner[r.nation] >= cap:
                        self._link_reject("too_many", env.sender, "tracks")
                        continue
                    self._per_partner[r.nation] += 1
                    self.remote[key] = r
                elif r.t >= old.t:
                    self.remote[key] = r
            self.stats["reports_in"] += len(reports)
            if self._on_verdict is not None:
                self._on_verdict(True, "ok", env.sender, "tracks", len(reports))
            if self._on_tracks is not None:
                self._on_tracks(env, reports)

    def _alerts(self, env, alerts) -> None:
        with self.lock:
            mine = self._alerts_of.setdefault(env.sender, {})
            kept = []
            for a in alerts:
                old = self.remote_alerts.get(a.alert_id)
                if old is not None and old.nation not in (None, env.sender):
                    self._link_reject("wrong_sender", env.sender, "alerts")  # another nation's alert id
                    continue
                self.remote_alerts[a.alert_id] = a
                kept.append(a)
                mine.pop(a.alert_id, None)
                mine[a.alert_id] = a.t  # dicts keep insertion order: the least recently updated first
            while len(mine) > self.max_alerts_per_partner:
                self.remote_alerts.pop(next(iter(mine)), None)
                del mine[next(iter(mine))]
            self.prune_alerts(self.clock())
            self.stats["alerts_in"] += len(alerts)
            if self._on_verdict is not None:
                self._on_verdict(True, "ok", env.sender, "alerts", len(alerts))
            if self._on_alerts_cb is not None and kept:
                self._on_alerts_cb(env, kept)

    def prune_alerts(self, t: float) -> None:
        """Forget partners' alerts not updated for ``alert_max_age_s`` (s) before ``t``."""
        if not math.isfinite(t):
            return
        floor = t - self.alert_max_age_s
        for mine in self._alerts_of.values():
            while mine:
                aid, ta = next(iter(mine.items()))
                if ta >= floor:
                    break
                del mine[aid]
                self.remote_alerts.pop(aid, None)

    def _reject(self, verdict) -> None:
        with self.lock:
            self.rejected[verdict.reason] += 1
            if self._on_verdict is not None:
                self._on_verdict(False, verdict.reason, (verdict.sender or "").split("/")[0], "", 0)

    def _refuse_item(self, env, index: int, reason: str, detail: str) -> None:
        self._link_reject(reason, env.sender, env.kind)

    def _link_reject(self, reason: str, sender: str = "", kind: str = "") -> None:
        with self.lock:
            self.rejected[reason] += 1
            if self._on_verdict is not None:
                self._on_verdict(False, reason, sender, kind, 1 if kind else 0)

    def remote_keys(self, t: float, max_age_s: float) -> list[str]:
        """The keys of the partners' live reports, in :meth:`remote_set` order (reports older than
        3 × ``max_age_s`` before ``t`` are forgotten first)."""
        for k in [k for k, r in self.remote.items() if t - r.t > 3 * max_age_s]:
            self._forget(k)
        return list(self.remote)

    def remote_set(self, t: float, max_age_s: float, keys: list[str] | None = None) -> TrackSet:
        """Partners' live reports as a TrackSet (reports older than 3 × ``max_age_s`` are forgotten);
        ``keys``: only those reports."""
        if keys is None:
            keys = self.remote_keys(t, max_age_s)
        rs = [self.remote[k] for k in keys if k in self.remote]
        if not rs:
            return TrackSet.empty(self.dims)
        n = 2 * self.dims
        x = np.array([r.state for r in rs], dtype=float)
        P = np.array([r.cov if r.cov else list(np.eye(n).ravel() * 1e8) for r in rs], dtype=float).reshape(len(rs), n, n)
        return TrackSet.from_lists(
            nation=[r.nation for r in rs], local_id=[r.track_id for r in rs], t=[r.t for r in rs], x=x, P=P,
            ntn=[str(r.ntn) for r in rs], quality=[r.quality for r in rs], cls=[r.cls for r in rs],
            class_conf=[r.class_conf for r in rs], identity=[r.identity for r in rs],
            releasable_to=[tuple(r.releasable_to) for r in rs], dims=self.dims,
        )

    def remote_said(self, keys: list[str] | None = None):
        """What the partners' reports under ``keys`` say beyond their track, in one pass:
        (source key -> the nations its sender reports that object to, with the quality of each:
        TrackReport.also_to; source key -> the nations its sender releases its own number to:
        TrackReport.ntn_released), each only for the reports that say it."""
        keys = list(self.remote) if keys is None else keys
        also, released = {}, {}
        for k in keys:
            r = self.remote.get(k)
            if r is None:
                continue
            if r.also_to is not None:
                also[k] = r.also_to
            if r.ntn_released:
                released[k] = tuple(r.ntn_released)
        return also, released

    # ------------------------------------------------------------------ out

    def publish_tracks(self, t: float, pic, select: np.ndarray, flags: dict[str, ReportFlags], *,
                       responsibility: bool, ending: bool = False) -> None:
        """Send partners the selected tracks of one picture ``pic`` that this node reports (per
        the last fusion's ``flags``): :meth:`publish_plan` with the same picture for every
        partner."""
        sel = np.asarray(select, dtype=bool)
        plan = {p: PartnerPlan(pic, flags, sel) for p in self.partners}
        self.publish_plan(t, plan, responsibility=responsibility, ending=ending)

    def publish_plan(self, t: float, plan: dict[str, "PartnerPlan"], *, responsibility: bool,
                     ending: bool = False) -> None:
        """Send each partner p the selected tracks of ``plan[p]`` (its picture, flags and
        selection: the estimate releasable to p, docs/fusion.md "Who reports what to whom") that
        this node reports to p and, with ``ending``, a "deleted" report for each report stream
        to p that ended (the track is gone, no longer reported to p, or no longer releasable to
        it).

        No existence leaks (docs/messages.md, "Existence"): a partner the owner of a report's
        network number did not release that number to gets the report without it; a "deleted"
        report goes only to a partner that was sent the track."""
        if not self.partners:
            return
        built: dict[tuple, TrackReport] = {}
        items_of: dict[str, list[TrackReport]] = {}
        sent = 0
        for p in self.partners:
            pp = plan.get(p)
            items = items_of.setdefault(p, [])
            if pp is not None and len(pp.pic.ids):
                for i in np.flatnonzero(pp.select).tolist():
                    tid = pp.pic.ids[i]
                    fl = pp.flags.get(tid)
                    if fl is None or p not in fl.mark:  # not fused yet, or not releasable to p
                        continue
                    if responsibility and not fl.report:
                        continue
                    bare = bool(fl.ntn) and fl.ntn_to is not None and p not in fl.ntn_to
                    key = (id(pp.pic), i, bare, fl.ntn, fl.mark, fl.cls, fl.class_conf, fl.also_to,
                           fl.ntn_released, fl.ntn_to)  # shared by the partners of an audience
                    r = built.get(key)
                    if r is None:
                        r = built[key] = self._report(pp.pic, i, fl, bare)
                    if bare:
                        self.stats["ntn_withheld"] += 1
                    items.append(r)
                    self.told.setdefault(tid, set()).add(p)
            if ending:
                live = pp.flags if pp is not None else {}
                ids = set(pp.pic.ids) if pp is not None else set()
                for tid in sorted(tid for tid, ps in self.told.items() if p in ps):
                    fl = live.get(tid)
                    if tid in ids and fl is not None and p in fl.mark and (fl.report or not responsibility):
                        continue
                    ps = self.told[tid]
                    ps.discard(p)
                    if not ps:
                        del self.told[tid]
                    items.append(TrackReport(
                        nation=self.nation, node=self.node_id, track_id=tid, t=float(t),
                        state=[0.0] * (2 * self.dims), dims=self.dims, status="deleted",
                        releasable_to=tuple(sorted({p, self.nation}))))
            sent += len(items)
        if sent:
            frames = self.publisher.publish_each("tracks", items_of, t)
            self.stats["frames_out"] += len(frames)
            self.stats["bytes_out"] += sum(f.nbytes for f in frames)
            self.stats["reports_out"] += sent

    def _report(self, pic, i: int, fl: ReportFlags, bare: bool) -> TrackReport:
        tid = pic.ids[i]
        ident = int(pic.identity[i])
        return TrackReport(
            ntn="" if bare else fl.ntn, nation=self.nation, node=self.node_id, track_id=tid, t=float(pic.t),
            state=pic.x[i].tolist(), cov=pic.P[i].ravel().tolist(), dims=self.dims,
            cls=fl.cls if fl.cls in SHARED_CLASSES else "unknown",
            class_conf=fl.class_conf, identity=("%06x" % ident) if ident >= 0 else "unknown",
            quality=int(pic.quality[i]), releasable_to=fl.mark, sources=[f"{self.nation}:{tid}"],
            also_to=dict(fl.also_to) if fl.also_to is not None else None,
            ntn_released=None if bare else _released(fl, self.nation),
        )

    def publish_alerts(self, updates: list, t: float, *, partners=None, issued=None) -> None:
        """Send partners the releasable alert updates (AlertUpdate records; an update the schema
        refuses is logged, not sent): to ``partners`` only when given (an audience's warner's
        alerts go to that audience's partners); ``issued`` maps an alert id to when this node
        first issued it (s)."""
        out = []
        issued = issued or {}
        for u in updates:
            if not u.releasable_to:
                continue
            try:
                out.append(alert_report(u, self.nation, issued.get(u.alert_id)))
            except (TypeError, ValueError) as e:  # an alert the schema refuses must not stop the node
                log.warning("node %s: alert %s not shared: %s", self.nation, u.alert_id, e)
        to = self.partners if partners is None else [p for p in self.partners if p in set(partners)]
        if out and to:
            self.publisher.publish_each("alerts", {p: out for p in to}, t)
        self.stats["alerts_out"] += len(out)
