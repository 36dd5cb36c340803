"""The node's core: one scan loop, tracker then warner, that emits events.

Every command that tracks (``skyweave track``, ``warn``, ``node``, ``network run``, ``demo``)
runs this one loop: a scan from a source goes to the air tracker (infrared launch cues go to the
warner directly), the warner sees the scan and the live picture, and what became final is
emitted on the node's :class:`~skyweave.node.events.EventHub`:
:class:`~skyweave.node.events.ScanIngested`, :class:`~skyweave.node.events.LocalPicture` (one
per distinct detection time, once the out-of-sequence window has passed it) and
:class:`~skyweave.node.events.AlertUpdated`. A national node (:mod:`skyweave.node.node`) adds
fusion and sharing around it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from collections.abc import Callable

import numpy as np

from skyweave.io.formats import SensorSet
from skyweave.io.scans import RawScan
from skyweave.node.audience import AudienceSet, marking
from skyweave.node.events import AlertUpdated, EventHub, LocalPicture, ScanIngested
from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import build_scan
from skyweave.track.tracker import Tracker


class UnknownSensor(ValueError):
    """A scan from a sensor the node does not own."""


class NodeCore:
    """Tracker and (3-D, with an origin) missile warner over one set of sensors.

    Parameters
    ----------
    sensors : the sensor set; with ``nation``, only that nation's sensors are the node's own.
    tracker : tracker configuration (``id_prefix`` is set to the nation for a national node).
    nation : the node's nation: its local pictures then carry releasability marks.
    warn : ``True`` (default warning settings), a :class:`~skyweave.warn.warner.WarnConfig`, or
        ``False``/``None`` for no warner. Needs a 3-D scenario with an origin; ``require_warner``
        raises ValueError where it cannot be built.
    hub : the event hub to emit on (a new one by default).
    annotate : called with each alert update (an AlertUpdate record) before it is emitted; returns
        the record to emit (a national node adds the missile's network track number).
    on_alerts : called with each batch of alert updates once they are emitted (a national node
        shares them with its partners).
    emit_alerts : emit each alert update as an AlertUpdated event (a national node emits its
        joint alerts instead, :mod:`skyweave.warn.joint`).
    on_audience_alerts : called with (audience, alert updates) of each audience warner (a
        national node sends them to that audience's partners).
    partners : a national node's partners: for each, the node also tracks on exactly its
        sensors releasable to that partner where those are not all of them
        (:class:`~skyweave.node.audience.AudienceSet`, :attr:`audiences`).
    """

    def __init__(self, sensors: SensorSet, tracker: TrackerConfig | None = None, *, nation: str | None = None,
                 warn=None, hub: EventHub | None = None, annotate: Callable | None = None,
                 on_alerts: Callable[[list], None] | None = None, require_warner: bool = False,
                 partners: tuple[str, ...] = (), emit_alerts: bool = True,
                 on_audience_alerts: Callable | None = None):
        own = [s for s in sensors.sensors if nation is None or s.nation == nation]
        if not own:
            raise ValueError(f"node {nation}: no sensor of this nation in the sensor set")
        self.nation = nation
        self.dims = sensors.dims
        self.frame = sensors.origin.frame() if sensors.origin is not None else None
        cfg = tracker or TrackerConfig()
        if nation is not None:
            cfg = cfg.with_(id_prefix=nation)
        self.tracker = Tracker(own, sensors.dims, self.frame, cfg)
        self.audiences = None
        if nation is not None and partners:
            self.audiences = AudienceSet(self.tracker, own, sensors.dims, self.frame, cfg, nation, tuple(partners))
        self.warner = None
        if warn:
            if self.frame is None or sensors.dims != 3:
                if require_warner:
                    raise ValueError("missile warning needs a 3-D scenario with an origin")
            else:
                from skyweave.io.places import load_places
                from skyweave.warn.warner import WarnConfig, Warner

                wcfg = warn if isinstance(warn, WarnConfig) else WarnConfig(alert_prefix=nation or "SW")
                places = load_places()
                self.warner = Warner(self.tracker.sensors, self.frame, wcfg, places=places)
                # each audience that may not see every sensor warns on its own (its alerts are
                # made only from what its partners may see: skyweave.node.audience)
                for aud in (self.audiences.audiences if self.audiences is not None else ()):
                    if aud.own_warner:
                        src = aud.tracker or self.tracker
                        aud.warner = Warner(src.sensors, self.frame, replace(wcfg, alert_prefix=aud.label),
                                            places=places)
        self._sensor_marks = {info.index: tuple(info.releasable_to) for info in self.tracker.sensors.values()}
        self.hub = hub if hub is not None else EventHub()
        self.annotate = annotate
        self.on_alerts = on_alerts
        self.t_now = -np.inf
        self.stats: Counter = Counter()
        self.tracker_s = 0.0
        self.audience_s = 0.0   # the per-audience trackers' share of the time (s)
        self.alert_ids: set[str] = set()
        self.emit_alerts = emit_alerts
        self.on_audience_alerts = on_audience_alerts
        self._warned = self.audiences.warned if self.audiences is not None else []

    # ------------------------------------------------------------------ the loop

    def ingest(self, raw: RawScan) -> bool:
        """Take one of the node's own scans (columns as read from detections.jsonl, in arrival
        order); True if the air tracker processed it (False for an infrared cue)."""
        info = self.tracker.sensors.get(raw.sensor)
        if info is None:
            who = f"node {self.nation}" if self.nation else "tracker"
            raise UnknownSensor(f"{who}: scan of sensor {raw.sensor!r}, which is not one of its own")
        self.t_now = max(self.t_now, raw.t)
        self.stats["scans"] += 1
        self.hub.emit(ScanIngested(raw.t, raw.sensor, info.kind, len(raw), self.nation))
        if info.kind == "ir":
            self.stats["ir_cues"] += len(raw)
            sigma = raw.cols.get("sigma_m")
            if sigma is None:
                sigma = np.full(len(raw), info.sigma_m or 1500.0)
            if self.warner is not None:
                self.alerts(self.warner.on_ir(info, raw.t, raw.cols["lat"], raw.cols["lon"], sigma))
            for aud in self._warned:
                if raw.sensor in aud.ir_ids:
                    ainfo = (aud.tracker or self.tracker).sensors[raw.sensor]
                    self._audience_alerts(aud, aud.warner.on_ir(ainfo, raw.t, raw.cols["lat"], raw.cols["lon"], sigma))
            return False
        scan = build_scan(info, raw.t, raw.cols, self.frame, raw.identity, raw.platform, raw.lines)
        a = time.perf_counter()
        self.tracker.process(scan)
        b = time.perf_counter()
        self.tracker_s += b - a
        scans = {}
        if self.audiences is not None and self.audiences.extra:
            scans = self.audiences.process(raw, self.tracker.hits)
            self.audience_s += time.perf_counter() - b
        if self.warner is not None:
            pic = self.tracker.picture()
            self.alerts(self.warner.on_scan(scan, pic))
            c = time.perf_counter()
            for aud in self._warned:
                if aud.tracker is None:
                    self._audience_alerts(aud, aud.warner.on_scan(scan, pic))
                elif id(aud) in scans:
                    self._audience_alerts(aud, aud.warner.on_scan(scans[id(aud)], aud.tracker.picture()))
            self.audience_s += time.perf_counter() - c
        self.emit_ready()
        return True

    def _audience_alerts(self, aud, updates: list) -> None:
        if updates and self.on_audience_alerts is not None:
            self.on_audience_alerts(aud, updates)

    def emit_ready(self) -> None:
        """Emit every local picture the tracker has made final."""
        for fr in self.tracker.ready_frames():
            self._emit_frame(fr)

    def _emit_frame(self, fr) -> None:
        marks = None
        if self.nation is not None:
            marks = tuple(marking(int(b), self._sensor_marks, self.nation) for b in fr.sensors.tolist())
        self.hub.emit(LocalPicture(fr.t, fr, self.nation, marks))

    def alerts(self, updates: list) -> list:
        """Emit alert updates (:class:`~skyweave.warn.alerts.AlertUpdate` records, each first passed
        through ``annotate``, which may return a changed record); returns them as emitted."""
        out = []
        for u in updates:
            if self.annotate is not None:
                u = self.annotate(u)
            out.append(u)
            self.alert_ids.add(u.alert_id)
            self.stats["alert_updates"] += 1
            if self.emit_alerts:
                self.hub.emit(AlertUpdated(float(u.t), u, self.nation))
        if out and self.on_alerts is not None:
            self.on_alerts(out)
        return out

    def finish(self) -> list:
        """End of input: emit the tracker's last pictures and the warner's closing updates."""
        for fr in self.tracker.flush():
            self._emit_frame(fr)
        if self.warner is None:
            return []
        t_end = self.t_now if np.isfinite(self.t_now) else 0.0
        for aud in self._warned:
            self._audience_alerts(aud, aud.warner.finish(t_end))
        return self.alerts(self.warner.finish(t_end))

    # ------------------------------------------------------------------ reading the state

    def marks_of(self, sensor_bits) -> list[tuple[str, ...]]:
        """The releasability of tracks with these sensor bit sets (needs ``nation``)."""
        return [marking(int(b), self._sensor_marks, self.nation) for b in np.asarray(sensor_bits).tolist()]

    def track_class(self) -> dict:
        """local track id -> (class, confidence) from the warner's classifier ({} without a warner)."""
        return getattr(self.warner, "track_class", {}) if self.warner is not None else {}
