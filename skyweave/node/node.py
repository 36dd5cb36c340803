"""One nation's node: its sensors → its tracker → its warnings → shared, fused, written.

A :class:`NationNode` owns one nation's air tracker (:mod:`skyweave.track`), missile warning
(:mod:`skyweave.warn`, 3-D scenarios), fuser (:mod:`skyweave.fuse`) and its two ends of the bus
(:mod:`skyweave.share`). Its life is two calls:

- :meth:`NationNode.ingest` takes one of its own sensors' scans (in arrival order): the tracker
  and the warning take it, the joint picture is fused again, and the tracks this scan updated
  are published at once to each partner that may see them, if this node holds their reporting
  responsibility (all of them with ``responsibility=False``), together with any alert update;
- a partner's frame, admitted by the gate, updates the joint picture at once (event-driven, so a
  detection reaches every partner's picture within one bus trip and one fusion); a live node
  fuses on a thread of its own, once for every frame that arrived while it was busy, so a burst
  of frames costs one fusion, not one each;
- :meth:`NationNode.tick` (every ``report_interval_s`` of scenario time) re-sends every held
  track (so a partner knows its reporter is alive), tells partners which reports ended, and writes
  the joint picture as it sees it to ``picture.jsonl``.

A node is safe to drive from two threads (its own input and a bus's delivery thread): one lock
guards its state.

Releasability: a local track's marking is the intersection of the markings of the sensors that
have updated it; the :class:`~skyweave.share.endpoint.Publisher` builds each partner's frame only
from reports releasable to that partner, and the receiving gate checks it again. A fused track's
marking is the intersection of its contributors' (the fuser computes it).

The node is a pipeline (docs/DESIGN.md): its :class:`~skyweave.node.core.NodeCore` (tracker and
warner) and its fuser emit typed events on :attr:`NationNode.hub`
(:mod:`skyweave.node.events`); its :class:`~skyweave.node.share_link.ShareLink` is its two ends of
the bus. Files (``out_dir``) are sinks on the hub: ``local.jsonl`` (the tracker's final frames)
and ``picture.jsonl`` (the fused picture at each tick), both in the tracks format of
docs/formats.md with ``releasable_to``, ``sources`` and ``nation`` added; ``alerts.jsonl``;
``status.json`` at close. Any other sink (a view, a callback) attaches with :meth:`NationNode.attach`,
even while the node runs.

``NodeConfig.deterministic`` (default for in-process runs) drives everything from the data's
clock: sequence numbers from 1, fusion in the calling thread, so the same input gives the same
files byte for byte.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from skyweave.fuse import AudienceTracks, Fuser, FuserConfig, TrackSet
from skyweave.io.formats import SensorSet
from skyweave.io.scans import RawScan
from skyweave.node.core import NodeCore
from skyweave.node.events import AlertUpdated, EventHub, MessageVerdict, PictureFused, Sink
from skyweave.node.share_link import PartnerPlan, ReportFlags, ShareLink, partner_alert_update
from skyweave.node.sinks import AlertsFile, PictureFile, TracksFile
from skyweave.share import Keyring, NodeStatus, Sequencer
from skyweave.track.config import TrackerConfig
from skyweave.track.tracker import Frame
from skyweave.warn.joint import JointAlerts, same_missile

log = logging.getLogger("skyweave.node")


@dataclass
class NodeConfig:
    """What makes a node: its nation and id, its partners, its reporting rhythm and components' settings."""

    nation: str
    node_id: str = "1"
    partners: tuple[str, ...] = ()
    report_interval_s: float = 2.0
    responsibility: bool = True          # report only the network tracks this node is responsible for
    per_recipient: bool = True           # each partner gets the estimate from the sensors releasable to it
    joint_alerts: bool = True            # alerts.jsonl holds joint alerts (own and partners' fused), not own ones
    # whom this node releases its own network track numbers to (TrackReport.ntn_released):
    # "partners" (every partner: a number then names the object for whoever reports it to them)
    # or "heard" (only partners that hear of the object from someone, as reports say)
    number_release: str = "partners"
    fuse_on_receive: bool = True         # fuse at once when a partner's frame arrives (live nodes)
    fuse_thread: bool = False            # ... on a thread of its own: one fusion takes every frame queued meanwhile
    fuse_interval_s: float = 0.0         # fuse on own scans at most this often (s of scenario time; 0: every scan)
    stale_s: float = 30.0                # partner messages older than this (scenario s) are rejected as stale
    future_s: float = 5.0                # ... later than this ahead of the node's clock (s), as future
    max_remote_per_partner: int = 20_000  # live tracks held per partner nation (more are refused: too_many)
    max_alerts_per_partner: int = 2_000   # alert ids held per partner nation (the least recently updated go first)
    alert_max_age_s: float = 3600.0      # a partner's alert not updated for this long (s) is forgotten
    deterministic: bool = False          # sequence numbers from 1 and no fusion thread: reproducible runs
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    fuser: FuserConfig = field(default_factory=FuserConfig)
    warn: bool = True

    def __post_init__(self):
        if self.number_release not in ("partners", "heard"):
            raise ValueError(f"node config 'number_release': expected 'partners' or 'heard', "
                             f"got {self.number_release!r}")


class NodeFiles:
    """A node's file sinks in ``folder``: local.jsonl, picture.jsonl, alerts.jsonl (and status.json at close)."""

    def __init__(self, folder: Path, dims: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sinks = [TracksFile(self.folder / "local.jsonl", dims), PictureFile(self.folder / "picture.jsonl", dims),
                      AlertsFile(self.folder / "alerts.jsonl")]

    def write_status(self, summary: dict) -> None:
        (self.folder / "status.json").write_text(json.dumps(summary, indent=1) + "\n")


class NationNode:
    """One nation's node (see the module docstring)."""

    def __init__(self, config: NodeConfig, sensors: SensorSet, key, keyring: Keyring, bus, *, out_dir: Path | None = None,
                 sequencer: Sequencer | None = None, durable: str | None = None, wall_clock=time.time,
                 seal_to=None, seal_key=None,
                 hub: EventHub | None = None, manual_fusion: bool = False):
        self.config = cfg = config
        self.nation = cfg.nation
        self.hub = hub if hub is not None else EventHub()
        self.core = NodeCore(sensors, cfg.tracker, nation=cfg.nation, warn=cfg.warn, hub=self.hub,
                             annotate=self._annotate_alert, on_alerts=self._share_alerts,
                             partners=cfg.partners if cfg.per_recipient else (),
                             emit_alerts=not cfg.joint_alerts, on_audience_alerts=self._share_audience_alerts)
        self.tracker = self.core.tracker
        self.warner = self.core.warner
        self.frame = self.core.frame
        self.dims = sensors.dims
        self.fuser = Fuser(cfg.nation, cfg.fuser)
        self.joint = JointAlerts(cfg.nation) if cfg.joint_alerts else None
        self._issued: dict[str, float] = {}          # own alert id -> when it was first issued (s)
        self._main_alerts: dict[str, object] = {}    # own alert id -> its latest update
        self._alert_tie: dict[tuple, str] = {}       # (audience, its alert id) -> the main alert's id
        self.bus = bus
        if sequencer is None and cfg.deterministic:
            sequencer = Sequencer(1)
        # until the node knows the time (no scan or advance yet: e.g. a restarted node catching up by
        # replay) the link holds partners' frames unjudged, and judges them when the clock is set
        # (ShareLink.release), so the stale and future checks hold from the first frame
        self._lock = threading.RLock()
        self.link = ShareLink(cfg.nation, cfg.node_id, key, keyring, bus, partners=cfg.partners, dims=self.dims,
                              stale_s=cfg.stale_s, future_s=cfg.future_s, clock=self._gate_clock,
                              sequencer=sequencer, durable=durable, on_tracks=self._on_tracks,
                              on_verdict=self._on_verdict, max_remote_per_partner=cfg.max_remote_per_partner,
                              max_alerts_per_partner=cfg.max_alerts_per_partner,
                              alert_max_age_s=cfg.alert_max_age_s, lock=self._lock,
                              on_alerts=self._on_partner_alerts if cfg.joint_alerts else None,
                              seal_to=seal_to, seal_key=seal_key)
        self.node_stats: Counter = Counter()
        self._next_tick: float | None = None
        self._last_tick = -np.inf
        self.wall_clock = wall_clock
        self.timing: list[tuple] = []  # ("scan", t, wall) of own scans; ("fused", nation, t, wall) of partners' reports
        self.keep_timing = False
        self.started = wall_clock()
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.files = NodeFiles(self.out_dir, self.dims) if self.out_dir is not None else None
        if self.files is not None:
            for s in self.files.sinks:
                self.hub.attach(s)
        self.last_picture = None
        self._pic: Frame | None = None
        self._flags: dict[str, ReportFlags] = {}   # local track id -> what the last fusion decided for it
        self._plans: dict[str, tuple] = {}          # partner -> (its picture, its flags): what it may be sent
        self._last_fuse = -np.inf
        self._pending: list[tuple[str, float]] = []
        self._pending_t = -np.inf
        self._fuse_wake: threading.Event | None = None
        self._stop_fusion = False
        self._fusion_thread = None
        self._closed: dict | None = None
        # With a fusion thread, when fusions happen depends on the threads' timing, and the fuser
        # keeps state from one fusion to the next. ``fusion_hook`` (a callable, or None) is called
        # under the lock just before each fusion the thread makes (a journal records it as an input,
        # ``fuse``); while ``manual_fusion`` is set, partners' reports only queue, and
        # :meth:`fuse_pending` fuses them (a replay or a rebuild at the journaled points).
        self.fusion_hook = None
        self.manual_fusion = bool(manual_fusion)
        if cfg.fuse_on_receive and cfg.fuse_thread and not cfg.deterministic and not manual_fusion:
            self._fuse_wake = threading.Event()
            self._fusion_thread = threading.Thread(target=self._fusion_loop, name=f"fuse-{cfg.nation}", daemon=True)
            self._fusion_thread.start()
        self.link.start()

    # ------------------------------------------------------------------ its parts

    @property
    def t_now(self) -> float:
        return self.core.t_now

    @property
    def gate(self):
        return self.link.gate

    @property
    def receiver(self):
        return self.link.receiver

    @property
    def publisher(self):
        return self.link.publisher

    @property
    def remote(self):
        return self.link.remote

    @property
    def remote_alerts(self):
        return self.link.remote_alerts

    @property
    def rejected(self) -> Counter:
        return self.link.rejected

    @property
    def stats(self) -> Counter:
        """Every counter of the node: scans, fusions, ticks, reports and frames in and out."""
        return self.core.stats + self.link.stats + self.node_stats

    @property
    def lock(self) -> threading.RLock:
        """The node's lock: every input (a scan, the clock, a tick, a partner's frame) is taken under it."""
        return self._lock

    def _gate_clock(self) -> float:
        """The node's clock (scenario s) for the gate; NaN until the first scan, advance or tick
        (the link holds frames until then)."""
        t = self.core.t_now
        return t if np.isfinite(t) else float("nan")

    def attach(self, sink: Sink) -> Sink:
        """Attach a sink (see :mod:`skyweave.node.events`): it receives the current picture and
        open alerts first, then every event from now on."""
        return self.hub.attach(sink)

    # ------------------------------------------------------------------ inputs

    def ingest(self, raw: RawScan) -> None:
        """One of this nation's own scans (columns as read from detections.jsonl)."""
        try:
            self._ingest(raw)
        finally:
            self.link.release()  # the clock may have been set just now: judge the frames held until then

    def _ingest(self, raw: RawScan) -> None:
        with self._lock:
            if self.keep_timing:
                self.timing.append(("scan", raw.t, self.wall_clock()))
            if not self.core.ingest(raw):
                return  # an infrared cue: the warner took it
            t = self.core.t_now
            if t - self._last_fuse >= self.config.fuse_interval_s or self._pic is None:
                self._fuse(t)
            self.link.publish_plan(t, self._plan(updated_since=raw.t), responsibility=self.config.responsibility)

    def _on_tracks(self, env, reports) -> None:
        with self._lock:
            if not (self.config.fuse_on_receive and self._pic is not None and reports):
                return
            self._pending.extend((r.nation, r.t) for r in reports if r.status != "deleted")
            self._pending_t = max(self._pending_t, env.t)
            if self.manual_fusion:
                return  # fused where fuse_pending() is called
            if self._fuse_wake is not None:
                self._fuse_wake.set()  # the fusion thread takes it, with whatever else arrives meanwhile
                return
            self._fuse_pending()

    def _on_verdict(self, admitted: bool, reason: str, sender: str, kind: str, items: int) -> None:
        with self._lock:
            self.hub.emit(MessageVerdict(self._gate_clock(), admitted, reason, sender, kind, items))

    def _fuse_pending(self) -> None:
        """Fuse once for every partner report received since the last fusion (call under the lock)."""
        if not self._pending:
            return
        self._fuse(max(self.core.t_now, self._pending_t))
        if self.keep_timing:
            w = self.wall_clock()
            self.timing.extend(("fused", n, t, w) for n, t in self._pending)
        self._pending.clear()

    def fuse_pending(self) -> None:
        """Fuse the partners' reports queued since the last fusion, as the fusion thread does
        (with ``manual_fusion``: at a journaled fusion point)."""
        with self._lock:
            if self._pic is not None:
                self._fuse_pending()

    def _fusion_loop(self) -> None:
        while not self._stop_fusion:
            self._fuse_wake.wait(0.5)
            self._fuse_wake.clear()
            with self._lock:
                if self._pic is not None and self._pending and not self.manual_fusion:
                    if self.fusion_hook is not None:
                        self.fusion_hook()
                    self._fuse_pending()

    # ------------------------------------------------------------------ fusion and the rhythm

    def _fuse(self, t: float, tick: bool = False):
        pic = self.tracker.picture()
        self._pic = pic
        local = self._local_set(pic)
        views = self.core.audiences.views(pic, self._marks) if self.core.audiences is not None else []
        offered = {}
        for v in views:
            at = AudienceTracks.of([f"{self.nation}:{i}" for i in v.pic.ids], v.main_index, v.pic.quality)
            for p in v.partners:
                offered[p] = at
        fused = self._fuse_guarded(max(t, pic.t), t, local, offered if views else None)
        self.last_picture = fused
        self._flags = {
            tid: ReportFlags(str(fused.local_ntn[i]), bool(fused.local_report[i]), bool(fused.local_stopped[i]),
                             str(local.cls[i]), float(local.class_conf[i]), self._marks[i],
                             fused.local_ntn_to[i])
            for i, tid in enumerate(pic.ids)
        }
        self._plans = self._partner_flags(views, fused) if views else {}
        self._last_fuse = t
        self.node_stats["fusions"] += 1
        self.hub.emit(PictureFused(float(fused.t), fused, self.nation, tick))
        return fused

    def _partner_flags(self, views, fused) -> dict[str, tuple]:
        """partner -> (the picture it may be sent, flags per track id): each audience track takes
        the number, class and lineage of the main track it is tied to, whether it is reported to
        that partner from the per-recipient decision, and ``also_to``: every partner this node
        reports the object to, with the quality of that report (TrackReport.also_to)."""
        main_flags = list(self._flags.values())
        also: dict[int, dict[str, int]] = {}
        for v in views:
            for p in v.partners:
                rep = fused.audience_report.get(p)
                if rep is None:
                    continue
                for j in np.flatnonzero(rep).tolist():
                    m = int(v.main_index[j])
                    if m >= 0:
                        also.setdefault(m, {})[p] = int(v.pic.quality[j])
        released = self._numbers_released(fused, main_flags, also)
        plans = {}
        for v in views:
            ids = v.pic.ids
            for p in v.partners:
                rep = fused.audience_report.get(p)
                flags = {}
                for j, tid in enumerate(ids):
                    m = int(v.main_index[j])
                    if m < 0:
                        continue
                    fl = main_flags[m]
                    flags[tid] = ReportFlags(fl.ntn, bool(rep[j]) if rep is not None else fl.report, False,
                                             fl.cls, fl.class_conf, v.marks[j], fl.ntn_to,
                                             tuple(sorted(also.get(m, {}).items())), released.get(m))
                plans[p] = (v.pic, flags)
        return plans

    def _numbers_released(self, fused, main_flags, also) -> dict[int, tuple[str, ...]]:
        """main track index -> the partners this node releases the track's number to, where the
        number is its own (``NodeConfig.number_release``): every partner, or ("heard") every
        partner the object is reported to, by this node (``also``) or, as their reports say
        (``also_to``, else their marking), by a partner in its fused track. Either way a partner
        sees the number only on a report of the object, from whoever reports it to them
        (docs/fusion.md, "Who may hear a number")."""
        mine = f"{self.nation}-N"
        partners = set(self.config.partners)
        if self.config.number_release == "partners":
            everyone = tuple(sorted(partners))
            return {int(m): everyone for m in np.flatnonzero([fl.ntn.startswith(mine) for fl in main_flags])} \
                if everyone else {}
        out: dict[int, tuple[str, ...]] = {}
        src = None
        for f in np.flatnonzero(fused.local_index >= 0).tolist():
            m = int(fused.local_index[f])
            if m >= len(main_flags) or not main_flags[m].ntn.startswith(mine):
                continue
            if src is None:
                src = fused.sources
            who = set(also.get(m, {}))
            for k in src[f]:
                r = self.link.remote.get(k)
                if r is None:
                    continue
                who.update(r.also_to if r.also_to is not None else r.releasable_to)
                who.add(r.nation)
            who &= partners
            if who:
                out[m] = tuple(sorted(who))
        return out

    def reporting_to(self, partner: str) -> set[str]:
        """The source keys ("NATION:track_id") this node reports to ``partner`` per its last
        fusion: the estimate releasable to that partner, where this node holds responsibility
        toward it (all of them without responsibility)."""
        if self._plans:
            entry = self._plans.get(partner)
            flags = entry[1] if entry is not None else {}
        else:
            flags = self._flags
        resp = self.config.responsibility
        return {f"{self.nation}:{tid}" for tid, fl in flags.items()
                if partner in fl.mark and (fl.report or not resp)}

    def _plan(self, updated_since: float | None = None) -> dict[str, PartnerPlan]:
        """Each partner's :class:`PartnerPlan`: its picture and flags from the last fusion, the
        rows updated at or after ``updated_since`` (s; None: all). Without per-recipient
        estimates every partner is offered the main picture."""
        def sel(pic):
            if updated_since is None or pic.t_hit is None:
                return np.ones(len(pic), dtype=bool)
            return pic.t_hit >= updated_since

        if not self._plans:
            pic = self._pic if updated_since is None else self.tracker.picture()
            if pic is None:
                return {}
            s = sel(pic)
            return {p: PartnerPlan(pic, self._flags, s) for p in self.config.partners}
        if updated_since is not None:
            # an own scan publishes each tracker's newest tracks, with the flags of the last fusion
            fresh = {}
            for aud in self.core.audiences.audiences:
                pic = self.tracker.picture() if aud.is_main else aud.tracker.picture()
                fresh.update(dict.fromkeys(aud.partners, pic))
            return {p: PartnerPlan(fresh.get(p, pic), flags, sel(fresh.get(p, pic)))
                    for p, (pic, flags) in self._plans.items()}
        return {p: PartnerPlan(pic, flags, sel(pic)) for p, (pic, flags) in self._plans.items()}

    def _fuse_guarded(self, t_fuse: float, t: float, local: TrackSet, offered=None):
        """``fuser.update`` on the local and the partners' tracks; a failure caused by partners'
        reports evicts them and fusion goes on (counted: ``fusion_errors``, ``fusion_evicted``).

        The culprits are found by bisection over the partners' reports, each trial on a copy of
        the fuser (O(k log n) trial fusions for k culprits among n reports); when no single report
        is to blame (a combination), every partner report is dropped. A failure on the local
        tracks alone is this node's own bug and is raised."""
        max_age = self.config.fuser.max_age_s
        keys = self.link.remote_keys(t, max_age)
        also, rel = self.link.remote_said(keys) if offered is not None else (None, None)
        try:
            return self.fuser.update(t_fuse, local, self.link.remote_set(t, max_age, keys), offered, also, rel)
        except Exception:
            if not keys:
                raise
            self.node_stats["fusion_errors"] += 1
            log.exception("node %s: fusion failed on partners' reports; finding the culprits", self.nation)
        base = copy.deepcopy(self.fuser)

        def fails(ks: list[str]) -> bool:
            try:
                copy.deepcopy(base).update(t_fuse, local, self.link.remote_set(t, max_age, ks), offered, also, rel)
                return False
            except Exception:
                return True

        def culprits(ks: list[str]) -> list[str]:
            if not fails(ks):
                return []
            if len(ks) == 1:
                return ks
            h = len(ks) // 2
            return culprits(ks[:h]) + culprits(ks[h:])

        bad = culprits(keys)
        if not bad or fails([k for k in keys if k not in set(bad)]):
            bad = keys
        bad_set = set(bad)
        good = [k for k in keys if k not in bad_set]
        log.warning("node %s: evicted %d partner report(s) that broke fusion: %s", self.nation, len(bad), bad[:5])
        self.link.evict(bad)
        self.node_stats["fusion_evicted"] += len(bad)
        return self.fuser.update(t_fuse, local, self.link.remote_set(t, max_age, good), offered, also, rel)

    def advance(self, t: float) -> None:
        """Move the node's clock (scenario seconds) to ``t``: the network's common time."""
        with self._lock:
            self.core.t_now = max(self.core.t_now, t)
        self.link.release()  # frames held while the clock was unset are judged now

    def due(self, t: float) -> bool:
        """Is a periodic tick due at scenario time ``t``?"""
        if self._next_tick is None:
            step = self.config.report_interval_s
            self._next_tick = np.floor(t / step) * step + step
        return t >= self._next_tick

    def tick(self, t: float | None = None):
        """Re-send every held track, end the reports that stopped, emit the periodic picture (scenario time ``t``)."""
        with self._lock:
            cfg = self.config
            t = self.core.t_now if t is None else float(t)
            self.core.t_now = max(self.core.t_now, t)
            if self._next_tick is not None:
                while self._next_tick <= t:
                    self._next_tick += cfg.report_interval_s
            self.link.prune_alerts(t)
            fused = self._fuse(t, tick=True)
            self._last_tick = t
            self.link.publish_plan(t, self._plan(), responsibility=cfg.responsibility, ending=True)
            self.node_stats["ticks"] += 1
        self.link.release()
        return fused

    def _local_set(self, pic: Frame) -> TrackSet:
        marks = self.core.marks_of(pic.sensors)
        cls, conf = None, None
        if self.warner is not None:
            tc = self.core.track_class()
            cls = [tc.get(i, ("unknown", 0.0))[0] for i in pic.ids]
            conf = [tc.get(i, ("unknown", 0.0))[1] for i in pic.ids]
        self._marks = marks
        return TrackSet.from_frame(pic, self.nation, marks if marks else (), cls=cls, class_conf=conf)

    # ------------------------------------------------------------------ alerts

    def _annotate_alert(self, u):
        """The alert record with the missile's network track number (the same object in every
        nation's picture), when its air track has one."""
        track = u.track if isinstance(u.track, str) else ""
        fl = self._flags.get(track)
        if fl is not None and fl.ntn:
            return msgspec.structs.replace(u, ntn=fl.ntn)
        return u

    def _share_alerts(self, updates: list) -> None:
        """The main warner's updates: to the partners it serves (those that may see every sensor
        of this node; the others hear from their audience's warner), and into the joint alerts."""
        for u in updates:
            self._issued.setdefault(u.alert_id, float(u.t))
            self._main_alerts[u.alert_id] = u
        aud = self.core.audiences
        to = [p for p in self.config.partners if aud is None or p not in aud.of or not aud.of[p].own_warner]
        self.link.publish_alerts(updates, self.core.t_now, partners=to, issued=self._issued)
        if self.joint is not None:
            for u in updates:
                self._emit_joint(u, self.nation, self._issued[u.alert_id])

    def _share_audience_alerts(self, aud, updates: list) -> None:
        """An audience warner's updates (made only from what its partners may see), sent to its
        partners under the id of the main warner's alert of the same missile when there is one
        (so every nation may number the missile alike), else under its own."""
        out = []
        for u in updates:
            key = (aud.label, u.alert_id)
            main_id = self._alert_tie.get(key)
            if main_id is None:
                for mid, m in self._main_alerts.items():
                    if m.status not in ("closed", "merged") and same_missile(u, m):
                        main_id = self._alert_tie[key] = mid
                        break
            if main_id is not None:
                u = msgspec.structs.replace(u, alert_id=main_id)
            else:
                self._issued.setdefault(u.alert_id, float(u.t))
            out.append(u)
        self.link.publish_alerts(out, self.core.t_now, partners=aud.partners, issued=self._issued)

    def _on_partner_alerts(self, env, alerts) -> None:
        """Partners' admitted alerts join the joint alerts (under the node's lock)."""
        with self._lock:
            for a in alerts:
                self._emit_joint(partner_alert_update(a), a.nation or env.sender, a.issued)

    def _emit_joint(self, u, nation: str, issued: float | None = None) -> None:
        for j in self.joint.update(u, nation, issued=issued):
            self.hub.emit(AlertUpdated(float(j.t), j, self.nation))

    # ------------------------------------------------------------------ output

    def status(self) -> NodeStatus:
        t = self.core.t_now
        return NodeStatus(
            nation=self.nation, node=self.config.node_id, t=float(t if np.isfinite(t) else 0.0),
            tracks=len(self.tracker.picture()), uptime_s=float(self.wall_clock() - self.started),
            last_seq=int(self.publisher.sequencer.last), rejected=dict(self.rejected),
        )

    def close(self) -> dict:
        """Flush the tracker's last frames, a last tick, close the sinks; returns the node's summary.

        A second call returns the same summary and does nothing else."""
        if self._closed is not None:
            return self._closed
        # stop receiving first, outside the lock: the bus hands queued frames to _on_tracks (which
        # takes the lock) before the unsubscribe returns
        self.link.stop()
        if self._fusion_thread is not None:
            self._stop_fusion = True
            self._fuse_wake.set()
            self._fusion_thread.join(timeout=5.0)
        with self._lock:
            self.core.finish()
            fused = None
            if np.isfinite(self.core.t_now):
                # one picture per instant: no second tick when the last one was at this time
                fused = self.tick() if self.core.t_now > self._last_tick else self.last_picture
            summary = {
                "nation": self.nation, "picture_tracks": 0 if fused is None else len(fused),
                "local_tracks": len(self.tracker.picture()), "rejected": dict(self.rejected), **dict(self.stats),
            }
            self.hub.close()
            if self.files is not None:
                self.files.write_status(summary)
            self._closed = summary
            return summary
