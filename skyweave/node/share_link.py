"""A node's two ends of the bus: what it tells its partners, and what it holds of theirs.

:class:`ShareLink` converts between the node's numerical picture and the share room's messages:

- out: local tracks (a :class:`~skyweave.track.tracker.Frame` plus the fusion's per-track flags)
  to signed :class:`~skyweave.share.TrackReport` frames, one per partner, each holding only the
  reports releasable to it (the :class:`~skyweave.share.Publisher` checks the marking); alert
  updates to :class:`~skyweave.share.AlertReport`;
- in: admitted partner reports kept per (nation, track), newest first, and handed to the fuser as
  a :class:`~skyweave.fuse.TrackSet`; partner alerts kept by id; every verdict counted by reason.

No numerics beyond array conversion, no fusion: :class:`~skyweave.node.node.NationNode` decides
when to fuse and what to report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

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

log = logging.getLogger("skyweave.node")

#: classes a track report may carry (the rest are sent as "unknown")
SHARED_CLASSES = ("aircraft", "cruise", "ballistic")


@dataclass(frozen=True, slots=True)
class ReportFlags:
    """What the last fusion decided for one local track: its network number, whether this node
    reports it, whether its report stopped (another node took responsibility), its class and
    confidence, and its releasability marking."""

    ntn: str
    report: bool
    stopped: bool
    cls: str
    class_conf: float
    mark: tuple[str, ...]


def alert_report(u: dict, nation: str) -> AlertReport:
    """An alert update (alerts.jsonl dict) as the message partners receive (TypeError/ValueError
    when the schema refuses it)."""
    imp = u.get("impact")
    la = u.get("launch") or {}
    return AlertReport(
        alert_id=u["alert_id"], t=float(u["t"]), threat=u["threat"],
        launch=LaunchPoint(float(la["lat"]), float(la["lon"]), float(la["t"])) if la.get("lat") is not None else None,
        impact=ImpactArea(float(imp["lat"]), float(imp["lon"]), float(imp["t"]), float(imp["semi_major_m"]),
                          float(imp["semi_minor_m"]), float(imp["orientation_deg"])) if imp else None,
        time_to_impact_s=u.get("time_to_impact_s"), places=list(u.get("places") or []),
        confidence=float(u.get("confidence") or 0.0), status=u["status"],
        releasable_to=tuple(sorted(set(u["releasable_to"]) | {nation})), nation=nation,
    )


class ShareLink:
    """One node's publisher, gate and receiver, and its memory of partners' reports and alerts.

    ``on_tracks(env, reports)`` is called (under the bus's delivery thread) after admitted
    reports are stored; ``on_verdict(verdict)`` for every frame the gate judged.
    """

    def __init__(self, nation: str, node_id: str, key, keyring: Keyring, bus, *, partners: tuple[str, ...],
                 dims: int, stale_s: float, clock: Callable[[], float], sequencer: Sequencer | None = None,
                 durable: str | None = None, on_tracks: Callable | None = None, on_verdict: Callable | None = None):
        self.nation = nation
        self.node_id = node_id
        self.partners = partners
        self.dims = dims
        self.bus = bus
        self.publisher = Publisher(nation, node_id, key, partners, bus, sequencer=sequencer)
        self.gate = Gate(nation, keyring, clock=clock, max_age_s=stale_s, max_future_s=stale_s)
        self.remote: dict[str, TrackReport] = {}
        self.remote_alerts: dict[str, AlertReport] = {}
        self.rejected: Counter = Counter()
        self.stats: Counter = Counter()
        self.reported: set[str] = set()
        self._on_tracks = on_tracks
        self._on_verdict = on_verdict
        self.receiver = Receiver(self.gate, bus, durable=durable or f"{nation}-{node_id}", on_tracks=self._tracks,
                                 on_alerts=self._alerts, on_reject=self._reject)

    def start(self) -> "ShareLink":
        self.receiver.start()
        return self

    def stop(self) -> None:
        self.receiver.stop()

    # ------------------------------------------------------------------ in

    def _tracks(self, env, reports) -> None:
        for r in reports:
            key = f"{r.nation}:{r.track_id}"
            if r.status == "deleted":
                self.remote.pop(key, None)
                continue
            old = self.remote.get(key)
            if old is None or r.t >= old.t:
                self.remote[key] = r
        self.stats["reports_in"] += len(reports)
        if self._on_verdict is not None:
            self._on_verdict(True, "ok", env.sender, "tracks", len(reports))
        if self._on_tracks is not None:
            self._on_tracks(env, reports)

    def _alerts(self, env, alerts) -> None:
        for a in alerts:
            self.remote_alerts[a.alert_id] = a
        self.stats["alerts_in"] += len(alerts)
        if self._on_verdict is not None:
            self._on_verdict(True, "ok", env.sender, "alerts", len(alerts))

    def _reject(self, verdict) -> None:
        self.rejected[verdict.reason] += 1
        if self._on_verdict is not None:
            self._on_verdict(False, verdict.reason, (verdict.sender or "").split("/")[0], "", 0)

    def remote_set(self, t: float, max_age_s: float) -> TrackSet:
        """Partners' live reports as a TrackSet (reports older than 3 × ``max_age_s`` are forgotten)."""
        for k in [k for k, r in self.remote.items() if t - r.t > 3 * max_age_s]:
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

    # ------------------------------------------------------------------ out

    def publish_tracks(self, t: float, pic, select: np.ndarray, flags: dict[str, ReportFlags], *,
                       responsibility: bool, ending: bool = False) -> None:
        """Send partners the selected tracks of ``pic`` that this node reports (per the last
        fusion's ``flags``) and, with ``ending``, a "deleted" report for each report that ended."""
        if not self.partners:
            return
        reports = []
        stopped = set()
        for i in np.flatnonzero(select).tolist():
            tid = pic.ids[i]
            fl = flags.get(tid)
            if fl is None:  # not fused yet: no network number, no responsibility decided
                continue
            if fl.stopped:
                stopped.add(tid)
            if responsibility and not fl.report:
                continue
            ident = int(pic.identity[i])
            reports.append(TrackReport(
                ntn=fl.ntn, nation=self.nation, node=self.node_id, track_id=tid, t=float(pic.t),
                state=pic.x[i].tolist(), cov=pic.P[i].ravel().tolist(), dims=self.dims,
                cls=fl.cls if fl.cls in SHARED_CLASSES else "unknown",
                class_conf=fl.class_conf, identity=("%06x" % ident) if ident >= 0 else "unknown",
                quality=int(pic.quality[i]), releasable_to=fl.mark, sources=[f"{self.nation}:{tid}"],
            ))
            self.reported.add(tid)
        if ending:
            live = set(pic.ids)
            if not responsibility:
                stopped = set()
            for tid in sorted(tid for tid in self.reported if tid not in live or tid in stopped):
                self.reported.discard(tid)
                reports.append(TrackReport(
                    nation=self.nation, node=self.node_id, track_id=tid, t=float(t), state=[0.0] * (2 * self.dims),
                    dims=self.dims, status="deleted", releasable_to=tuple(sorted({*self.partners, self.nation}))))
        if reports:
            frames = self.publisher.publish_tracks(reports, t)
            self.stats["frames_out"] += len(frames)
            self.stats["bytes_out"] += sum(f.nbytes for f in frames)
            self.stats["reports_out"] += len(reports)

    def publish_alerts(self, updates: list[dict], t: float) -> None:
        """Send partners the releasable alert updates (an update the schema refuses is logged, not sent)."""
        out = []
        for u in updates:
            if not u.get("releasable_to"):
                continue
            try:
                out.append(alert_report(u, self.nation))
            except (TypeError, ValueError) as e:  # an alert the schema refuses must not stop the node
                log.warning("node %s: alert %s not shared: %s", self.nation, u.get("alert_id"), e)
        if out and self.partners:
            self.publisher.publish_alerts(out, t)
        self.stats["alerts_out"] += len(out)
