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

Files (``out_dir``): ``local.jsonl`` (the tracker's final frames) and ``picture.jsonl`` (the fused
picture at each tick), both in the tracks format of docs/formats.md with ``releasable_to``,
``sources`` and ``nation`` added; ``alerts.jsonl``; ``status.json`` at close.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skyweave.fuse import Fuser, FuserConfig, TrackSet
from skyweave.io.formats import SensorSet
from skyweave.io.scans import RawScan
from skyweave.io.writers import format_tracks
from skyweave.share import (
    AlertReport,
    Gate,
    ImpactArea,
    Keyring,
    LaunchPoint,
    NodeStatus,
    Publisher,
    Receiver,
    Sequencer,
    TrackReport,
)
from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import build_scan
from skyweave.track.tracker import Frame, Tracker

log = logging.getLogger("skyweave.node")


@dataclass
class NodeConfig:
    """What makes a node: its nation and id, its partners, its reporting rhythm and components' settings."""

    nation: str
    node_id: str = "1"
    partners: tuple[str, ...] = ()
    report_interval_s: float = 2.0
    responsibility: bool = True          # report only the network tracks this node is responsible for
    fuse_on_receive: bool = True         # fuse at once when a partner's frame arrives (live nodes)
    fuse_thread: bool = False            # ... on a thread of its own: one fusion takes every frame queued meanwhile
    fuse_interval_s: float = 0.0         # fuse on own scans at most this often (s of scenario time; 0: every scan)
    stale_s: float = 30.0                # partner messages older than this (scenario s) are rejected as stale
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    fuser: FuserConfig = field(default_factory=FuserConfig)
    warn: bool = True


def _marking(sensor_bits: int, sensors_by_index: dict[int, tuple[str, ...]], nation: str) -> tuple[str, ...]:
    sets = [set(m) for i, m in sensors_by_index.items() if sensor_bits >> (i % 64) & 1]
    if not sets:
        return (nation,)
    return tuple(sorted(set.intersection(*sets) | {nation}))


class NationNode:
    """One nation's node (see the module docstring)."""

    def __init__(self, config: NodeConfig, sensors: SensorSet, key, keyring: Keyring, bus, *, out_dir: Path | None = None,
                 sequencer: Sequencer | None = None, durable: str | None = None, wall_clock=time.time):
        self.config = cfg = config
        self.nation = cfg.nation
        own = tuple(s for s in sensors.sensors if s.nation == cfg.nation)
        if not own:
            raise ValueError(f"node {cfg.nation}: no sensor of this nation in the sensor set")
        frame = sensors.origin.frame() if sensors.origin is not None else None
        self.dims = sensors.dims
        self.tracker = Tracker(own, sensors.dims, frame, cfg.tracker.with_(id_prefix=cfg.nation))
        self.frame = frame
        self.warner = None
        if cfg.warn and frame is not None and sensors.dims == 3:
            from skyweave.io.places import load_places
            from skyweave.warn.warner import WarnConfig, Warner

            self.warner = Warner(self.tracker.sensors, frame, WarnConfig(alert_prefix=cfg.nation), places=load_places())
        self._sensor_marks = {info.index: tuple(info.releasable_to) for info in self.tracker.sensors.values()}
        self.fuser = Fuser(cfg.nation, cfg.fuser)
        self.bus = bus
        self.publisher = Publisher(cfg.nation, cfg.node_id, key, cfg.partners, bus, sequencer=sequencer)
        self.t_now = -np.inf
        # until the node knows the time (no scan or advance yet: e.g. a restarted node catching up by
        # replay) the gate's clock is NaN and frames are not judged by age; the fuser still leaves out
        # reports older than max_age_s
        self.gate = Gate(cfg.nation, keyring, clock=lambda: self.t_now if np.isfinite(self.t_now) else float("nan"),
                         max_age_s=cfg.stale_s, max_future_s=cfg.stale_s)
        self.remote: dict[str, TrackReport] = {}
        self.remote_alerts: dict[str, AlertReport] = {}
        self.rejected: Counter = Counter()
        self.stats: Counter = Counter()
        self._reported: set[str] = set()
        self._next_tick: float | None = None
        self._lock = threading.RLock()
        self.wall_clock = wall_clock
        self.timing: list[tuple] = []  # ("scan", t, wall) of own scans; ("fused", nation, t, wall) of partners' reports
        self.keep_timing = False
        self.started = wall_clock()
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._files = {}
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            for name in ("local.jsonl", "picture.jsonl", "alerts.jsonl"):
                self._files[name] = open(self.out_dir / name, "w", buffering=1 << 20)
        self.last_picture = None
        self._pic: Frame | None = None
        self._flags: dict[str, tuple] = {}   # local track id -> (ntn, report it, stopped), from the last fusion
        self._last_fuse = -np.inf
        self._pending: list[tuple[str, float]] = []
        self._pending_t = -np.inf
        self._fuse_wake: threading.Event | None = None
        self._stop_fusion = False
        self._fusion_thread = None
        if cfg.fuse_on_receive and cfg.fuse_thread:
            self._fuse_wake = threading.Event()
            self._fusion_thread = threading.Thread(target=self._fusion_loop, name=f"fuse-{cfg.nation}", daemon=True)
            self._fusion_thread.start()
        self.receiver = Receiver(self.gate, bus, durable=durable or f"{cfg.nation}-{cfg.node_id}", on_tracks=self._on_tracks,
                                 on_alerts=self._on_alerts, on_reject=self._on_reject).start()

    # ------------------------------------------------------------------ inputs

    def ingest(self, raw: RawScan) -> None:
        """One of this nation's own scans (columns as read from detections.jsonl)."""
        with self._lock:
            info = self.tracker.sensors.get(raw.sensor)
            if info is None:
                raise ValueError(f"node {self.nation}: scan of sensor {raw.sensor!r}, which is not one of its own")
            self.t_now = max(self.t_now, raw.t)
            self.stats["scans"] += 1
            if self.keep_timing:
                self.timing.append(("scan", raw.t, self.wall_clock()))
            if info.kind == "ir":
                if self.warner is not None:
                    self._alerts(self.warner.on_ir(info, raw.t, raw.cols["lat"], raw.cols["lon"],
                                                   raw.cols.get("sigma_m", np.full(len(raw), info.sigma_m or 1500.0))))
                return
            scan = build_scan(info, raw.t, raw.cols, self.frame, raw.identity, raw.platform, raw.lines)
            self.tracker.process(scan)
            if self.warner is not None:
                self._alerts(self.warner.on_scan(scan, self.tracker.picture()))
            for fr in self.tracker.ready_frames():
                self._write_local(fr)
            if self.t_now - self._last_fuse >= self.config.fuse_interval_s or self._pic is None:
                self._fuse(self.t_now)
            pic = self.tracker.picture()
            updated = pic.t_hit >= raw.t if pic.t_hit is not None else np.ones(len(pic), dtype=bool)
            self._publish(self.t_now, pic, updated)

    def _on_tracks(self, env, reports) -> None:
        with self._lock:
            for r in reports:
                key = f"{r.nation}:{r.track_id}"
                if r.status == "deleted":
                    self.remote.pop(key, None)
                    continue
                old = self.remote.get(key)
                if old is None or r.t >= old.t:
                    self.remote[key] = r
            self.stats["reports_in"] += len(reports)
            if not (self.config.fuse_on_receive and self._pic is not None and reports):
                return
            self._pending.extend((r.nation, r.t) for r in reports if r.status != "deleted")
            self._pending_t = max(self._pending_t, env.t)
            if self._fuse_wake is not None:
                self._fuse_wake.set()  # the fusion thread takes it, with whatever else arrives meanwhile
                return
            self._fuse_pending()

    def _fuse_pending(self) -> None:
        """Fuse once for every partner report received since the last fusion (call under the lock)."""
        if not self._pending:
            return
        self._fuse(max(self.t_now, self._pending_t))
        if self.keep_timing:
            w = self.wall_clock()
            self.timing.extend(("fused", n, t, w) for n, t in self._pending)
        self._pending.clear()

    def _fusion_loop(self) -> None:
        while not self._stop_fusion:
            self._fuse_wake.wait(0.5)
            self._fuse_wake.clear()
            with self._lock:
                if self._pic is not None:
                    self._fuse_pending()

    def _on_alerts(self, env, alerts) -> None:
        with self._lock:
            for a in alerts:
                self.remote_alerts[a.alert_id] = a
            self.stats["alerts_in"] += len(alerts)

    def _on_reject(self, verdict) -> None:
        with self._lock:
            self.rejected[verdict.reason] += 1

    # ------------------------------------------------------------------ fusion and the rhythm

    def _fuse(self, t: float):
        pic = self.tracker.picture()
        self._pic = pic
        local = self._local_set(pic)
        fused = self.fuser.update(max(t, pic.t), local, self._remote_set(t))
        self.last_picture = fused
        self._flags = {
            tid: (str(fused.local_ntn[i]), bool(fused.local_report[i]), bool(fused.local_stopped[i]), str(local.cls[i]),
                  float(local.class_conf[i]), self._marks[i])
            for i, tid in enumerate(pic.ids)
        }
        self._last_fuse = t
        self.stats["fusions"] += 1
        return fused

    def advance(self, t: float) -> None:
        """Move the node's clock (scenario seconds) to ``t``: the network's common time."""
        with self._lock:
            self.t_now = max(self.t_now, t)

    def due(self, t: float) -> bool:
        """Is a periodic tick due at scenario time ``t``?"""
        if self._next_tick is None:
            step = self.config.report_interval_s
            self._next_tick = np.floor(t / step) * step + step
        return t >= self._next_tick

    def tick(self, t: float | None = None):
        """Re-send every held track, end the reports that stopped, write the picture (scenario time ``t``)."""
        with self._lock:
            cfg = self.config
            t = self.t_now if t is None else float(t)
            self.t_now = max(self.t_now, t)
            if self._next_tick is not None:
                while self._next_tick <= t:
                    self._next_tick += cfg.report_interval_s
            fused = self._fuse(t)
            self._publish(t, self._pic, np.ones(len(self._pic), dtype=bool), ending=True)
            self._write_picture(fused)
            self.stats["ticks"] += 1
            return fused

    def _local_set(self, pic: Frame) -> TrackSet:
        marks = [_marking(int(b), self._sensor_marks, self.nation) for b in pic.sensors.tolist()]
        cls, conf = None, None
        if self.warner is not None:
            tc = getattr(self.warner, "track_class", {})
            cls = [tc.get(i, ("unknown", 0.0))[0] for i in pic.ids]
            conf = [tc.get(i, ("unknown", 0.0))[1] for i in pic.ids]
        self._marks = marks
        return TrackSet.from_frame(pic, self.nation, marks if marks else (), cls=cls, class_conf=conf)

    def _remote_set(self, t: float) -> TrackSet:
        max_age = self.config.fuser.max_age_s
        for k in [k for k, r in self.remote.items() if t - r.t > 3 * max_age]:
            del self.remote[k]
        rs = list(self.remote.values())
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

    def _publish(self, t: float, pic: Frame, select: np.ndarray, ending: bool = False) -> None:
        """Send partners the selected tracks of ``pic`` this node reports (per the last fusion) and, at a tick, the ends."""
        cfg = self.config
        if not cfg.partners:
            return
        flags = self._flags
        reports = []
        stopped = set()
        for i in np.flatnonzero(select).tolist():
            tid = pic.ids[i]
            fl = flags.get(tid)
            if fl is None:  # not fused yet: no network number, no responsibility decided
                continue
            ntn, report, stop, cls, conf, mark = fl
            if stop:
                stopped.add(tid)
            if cfg.responsibility and not report:
                continue
            ident = int(pic.identity[i])
            reports.append(TrackReport(
                ntn=ntn, nation=self.nation, node=cfg.node_id, track_id=tid, t=float(pic.t),
                state=pic.x[i].tolist(), cov=pic.P[i].ravel().tolist(), dims=self.dims,
                cls=cls if cls in ("aircraft", "cruise", "ballistic") else "unknown",
                class_conf=conf, identity=("%06x" % ident) if ident >= 0 else "unknown",
                quality=int(pic.quality[i]), releasable_to=mark, sources=[f"{self.nation}:{tid}"],
            ))
            self._reported.add(tid)
        if ending:
            live = set(pic.ids)
            if not cfg.responsibility:
                stopped = set()
            for tid in sorted(tid for tid in self._reported if tid not in live or tid in stopped):
                self._reported.discard(tid)
                reports.append(TrackReport(
                    nation=self.nation, node=cfg.node_id, track_id=tid, t=float(t), state=[0.0] * (2 * self.dims),
                    dims=self.dims, status="deleted", releasable_to=tuple(sorted({*cfg.partners, self.nation}))))
        if reports:
            frames = self.publisher.publish_tracks(reports, t)
            self.stats["frames_out"] += len(frames)
            self.stats["bytes_out"] += sum(f.nbytes for f in frames)
            self.stats["reports_out"] += len(reports)

    def _alerts(self, updates: list[dict]) -> None:
        if not updates:
            return
        f = self._files.get("alerts.jsonl")
        out = []
        for u in updates:
            fl = self._flags.get(u.get("track") or "")
            if fl is not None and fl[0]:
                u["ntn"] = fl[0]  # the missile's network track number: the same object in every nation's picture
            if f is not None:
                f.write(json.dumps(u) + "\n")
            if not u.get("releasable_to"):
                continue
            imp = u.get("impact")
            la = u.get("launch") or {}
            try:
                out.append(AlertReport(
                    alert_id=u["alert_id"], t=float(u["t"]), threat=u["threat"],
                    launch=LaunchPoint(float(la["lat"]), float(la["lon"]), float(la["t"])) if la.get("lat") is not None else None,
                    impact=ImpactArea(float(imp["lat"]), float(imp["lon"]), float(imp["t"]), float(imp["semi_major_m"]),
                                      float(imp["semi_minor_m"]), float(imp["orientation_deg"])) if imp else None,
                    time_to_impact_s=u.get("time_to_impact_s"), places=list(u.get("places") or []),
                    confidence=float(u.get("confidence") or 0.0), status=u["status"],
                    releasable_to=tuple(sorted(set(u["releasable_to"]) | {self.nation})), nation=self.nation,
                ))
            except (TypeError, ValueError) as e:  # an alert the schema refuses must not stop the node
                log.warning("node %s: alert %s not shared: %s", self.nation, u.get("alert_id"), e)
        if out and self.config.partners:
            self.publisher.publish_alerts(out, self.t_now)
        self.stats["alerts_out"] += len(out)

    # ------------------------------------------------------------------ output

    def _write_local(self, fr: Frame) -> None:
        f = self._files.get("local.jsonl")
        if f is None or not len(fr):
            return
        extra = []
        for i, tid in enumerate(fr.ids):
            mark = _marking(int(fr.sensors[i]), self._sensor_marks, self.nation)
            e = ', "nation": "%s", "releasable_to": %s, "sources": ["%s:%s"]' % (self.nation, json.dumps(list(mark)), self.nation, tid)
            if fr.identity[i] >= 0:
                e += ', "icao24": "%06x"' % fr.identity[i]
            extra.append(e)
        f.write(format_tracks(fr.t, fr.ids, fr.x, fr.P, self.dims, fr.quality, extra))

    def _write_picture(self, fused) -> None:
        f = self._files.get("picture.jsonl")
        if f is None or len(fused) == 0:
            return
        ids = []
        extra = []
        rel = fused.releasable_to
        src = fused.sources
        for i in range(len(fused)):
            ntn = str(fused.ntn[i])
            ids.append(ntn if ntn else f"{self.nation}-local-{i}")
            e = ', "nation": "%s", "releasable_to": %s, "sources": %s, "class": "%s", "reporting": %s' % (
                self.nation, json.dumps(list(rel[i])), json.dumps(list(src[i])), fused.cls[i], "true" if fused.responsible[i] else "false")
            if 0 <= fused.identity[i] < (1 << 24):
                e += ', "icao24": "%06x"' % fused.identity[i]
            extra.append(e)
        f.write(format_tracks(fused.t, ids, fused.x, fused.P, self.dims, fused.quality, extra))

    def status(self) -> NodeStatus:
        return NodeStatus(
            nation=self.nation, node=self.config.node_id, t=float(self.t_now if np.isfinite(self.t_now) else 0.0),
            tracks=len(self.tracker.picture()), uptime_s=float(self.wall_clock() - self.started),
            last_seq=int(self.publisher.sequencer.last), rejected=dict(self.rejected),
        )

    def close(self) -> dict:
        """Flush the tracker's last frames, a last tick, close files; returns the node's summary."""
        # stop receiving first, outside the lock: the bus hands queued frames to _on_tracks (which
        # takes the lock) before the unsubscribe returns
        self.receiver.stop()
        if self._fusion_thread is not None:
            self._stop_fusion = True
            self._fuse_wake.set()
            self._fusion_thread.join(timeout=5.0)
        with self._lock:
            for fr in self.tracker.flush():
                self._write_local(fr)
            if self.warner is not None:
                self._alerts(self.warner.finish(self.t_now))
            fused = self.tick() if np.isfinite(self.t_now) else None
            for fh in self._files.values():
                fh.close()
            summary = {
                "nation": self.nation, "picture_tracks": 0 if fused is None else len(fused),
                "local_tracks": len(self.tracker.picture()), "rejected": dict(self.rejected), **dict(self.stats),
            }
            if self.out_dir is not None:
                (self.out_dir / "status.json").write_text(json.dumps(summary, indent=1) + "\n")
            return summary
