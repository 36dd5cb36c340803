"""Missile warning: from the air picture and infrared cues to ballistic alerts with an impact
ellipse.

The :class:`Warner` runs beside a node's air tracker and sees the same scans. It coordinates
parts that each live in their own module:

1. **Infrared cues** (space-based launch detection: the plume's ground-projected position during
   boost) are grouped into launch events (:mod:`skyweave.warn.cues`). The first cue of an event
   raises an alert at once: launch site and time known, impact not yet (``status: "launch"``,
   ``impact: null``).
2. **Classification** (:mod:`skyweave.warn.classify`) of every confirmed air track; a track that
   becomes a ballistic missile with enough confidence starts a **ballistic estimator**.
3. The ballistic estimators (:mod:`skyweave.warn.bank`) are IMMs of two unscented Kalman filters
   on the ECEF ballistic state (position, velocity, ln of the inverse ballistic coefficient;
   :mod:`skyweave.warn.dynamics`): a boost mode whose large process noise absorbs the unknown
   thrust and a free-flight mode with J2 gravity, the rotating earth and drag. Drag is not
   observable above the sensible atmosphere, on the way up or while thrust acts, so there ln k is
   a Schmidt consider parameter: its prior uncertainty widens the impact ellipse, but
   measurements do not move it until the re-entry shows the real drag. Each takes its own radar
   measurements from every radar scan (nearest neighbour inside a chi-square gate), including
   late scans, which it folds in by retrodicting its state to the report's time
   (:class:`~skyweave.warn.dynamics.EcefMeasurement`).
4. Once the free-flight mode dominates, every refresh predicts the **impact** by the unscented
   transform of the flight to the ground (:mod:`skyweave.warn.impact`): the mean point and time,
   the 95 % ellipse, the time to impact and the populated places inside the ellipse
   (:mod:`skyweave.warn.places`). The **launch** point is the infrared site where there is one,
   else the free-flight trajectory flown back to the ground.
5. An alert says ``tracking`` only while the missile surely still flies (before its predicted
   impact time less three σ of it, :func:`~skyweave.warn.bank.impact_window`), keeps quiet while
   it may be coming down, and is closed once it has surely come down (``reason: "impact"``) or
   when the missile is lost (no measurement for ``lost_after_s`` and an uncertainty beyond use).

Every alert update is an :class:`~skyweave.warn.alerts.AlertUpdate` made by one
:class:`~skyweave.warn.alerts.AlertBuilder`; the public methods hand out these typed records
(``to_dict()`` is the alerts.jsonl object).

Everything here is numerical and free of I/O: the caller passes scans and the places table in
and writes the alert updates out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from skyweave.geo import LocalFrame, ecef2geodetic
from skyweave.track.sensors import MeasurementScan, SensorInfo
from skyweave.warn import classify
from skyweave.warn.alerts import AlertBuilder, AlertUpdate, Launch
from skyweave.warn.bank import FREE_FLIGHT, BallisticTrack, EstimatorBank, impact_window
from skyweave.warn.config import WarnConfig
from skyweave.warn.cues import LaunchCues, LaunchEvent
from skyweave.warn.impact import predict_ground
from skyweave.warn.places import PlaceIndex

if TYPE_CHECKING:
    from skyweave.track.tracker import Frame


def _publish(updates: list[AlertUpdate]) -> list[AlertUpdate]:
    """What the public methods return: the typed records (``to_dict()`` gives the alerts.jsonl
    object)."""
    return updates


class Warner:
    """Ballistic missile warning for one node (see the module docstring).

    ``sensors``: id → :class:`~skyweave.track.sensors.SensorInfo` (the air tracker's);
    ``frame``: the scenario's ENU frame (a geodetic origin is required); ``places``: the populated
    places table (:func:`skyweave.io.places.load_places`, or a
    :class:`~skyweave.warn.places.PlaceIndex`; None names no place).
    """

    def __init__(self, sensors: dict[str, SensorInfo], frame: LocalFrame,
                 config: WarnConfig | None = None, places=None):
        if frame is None:
            raise ValueError("missile warning needs a geodetic scenario "
                             "(an origin for the ENU frame)")
        self.sensors = sensors
        self.frame = frame
        self.config = cfg = config or WarnConfig()
        self.places = places
        self.cues = LaunchCues(cfg, self._new_alert_id)
        self.classifier = classify.TrackClassifier()
        self.bank = EstimatorBank(sensors, frame, cfg)
        self.alerts = AlertBuilder(sensors, cfg, PlaceIndex.of(places))
        self._n_alerts = 0
        self.t_now = -np.inf

    # ------------------------------------------------------------------ the parts' state

    @property
    def tracks(self) -> list[BallisticTrack]:
        """The open ballistic estimators."""
        return self.bank.tracks

    @property
    def closed(self) -> list[BallisticTrack]:
        """The retired ballistic estimators (landed, lost or merged)."""
        return self.bank.closed

    @property
    def events(self) -> list[LaunchEvent]:
        """The infrared launch events still open."""
        return self.cues.events

    @property
    def track_class(self) -> dict[str, tuple[str, float]]:
        """Air track id → (class name, confidence) over the newest evaluated picture."""
        return self.classifier.track_class

    @property
    def stats(self) -> dict:
        """Counters: infrared cues, ballistic measurement updates, estimators spawned and (once
        one has been) restarted."""
        s = {"ir_cues": self.cues.n_cues, "ballistic_updates": self.bank.n_updates,
             "spawned": self.bank.n_spawned}
        if self.bank.n_restarted:
            s["reseeded"] = self.bank.n_restarted
        return s

    # ------------------------------------------------------------------ inputs

    def on_ir(self, sensor: SensorInfo, t: float, lat: np.ndarray, lon: np.ndarray,
              sigma_m: np.ndarray) -> list[AlertUpdate]:
        """Space-based infrared cues of one scan (plume ground points, deg; sigma per axis, m)."""
        self.t_now = max(self.t_now, t)
        out = []
        for la, lo, s in zip(np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(sigma_m)):
            ev = self.cues.add(sensor.id, t, la, lo, s, self.t_now)
            if ev is not None:  # a new launch: alert at once (a later cue may join it)
                out.append(self.alerts.cue(ev, self.t_now))
        return _publish(out)

    def on_scan(self, scan: MeasurementScan, picture: Frame) -> list[AlertUpdate]:
        """One radar scan (already processed by the air tracker) and the live air picture after
        it."""
        self.t_now = max(self.t_now, scan.t)
        out: list[AlertUpdate] = []
        if scan.sensor.kind in ("radar", "cartesian") and len(scan):
            self.bank.update(scan)
        self._classify_and_spawn(picture)
        for drop, into in self.bank.merge_duplicates(self.t_now):
            if drop.raised:
                out.append(self.alerts.merged(drop, into, self.t_now))
        for bt in list(self.bank.tracks):
            out.extend(self._refresh(bt))
        out.extend(self._close_due())
        return _publish(out)

    def finish(self, t_end: float) -> list[AlertUpdate]:
        """End of input: close what has landed by then; alerts still in flight stay open."""
        self.t_now = max(self.t_now, t_end)
        return _publish(self._close_due())

    # ------------------------------------------------------------------ coordination

    def _new_alert_id(self) -> str:
        self._n_alerts += 1
        return f"{self.config.alert_prefix}-W{self._n_alerts}"

    def _classify_and_spawn(self, picture: Frame) -> None:
        """Classify the picture's tracks that are due; every track ballistic with
        ``spawn_confidence`` after ``spawn_evaluations`` evaluations feeds its estimator, or
        starts one (claiming the infrared launch event near it, if any, and its alert)."""
        cfg = self.config
        if len(picture) == 0:
            return
        evaluate = self.classifier.due(picture)
        if not evaluate.any():
            return
        t = picture.t
        kin = classify.kinematics(picture, self.frame)
        ir_cued = self.cues.near(kin.lat, kin.lon, t)
        conf, n_eval = self.classifier.update(picture, kin, ir_cued, evaluate)
        p_ball = conf[:, classify.BALLISTIC]
        cand = np.flatnonzero((p_ball >= cfg.spawn_confidence) & (n_eval >= cfg.spawn_evaluations))
        for i in cand:
            if picture.ids[i] in self.bank.landed:
                continue  # the air track of a missile that came down: its remains raise no alert
            linked = self.bank.linked(picture, i)
            if linked is not None:
                self.bank.follow(linked, picture, i, float(p_ball[i]), kin.alt[i], kin.climb[i])
                continue
            ev = self.cues.unclaimed_near(kin.lat[i], kin.lon[i], t)
            alert_id = ev.alert_id if ev is not None else self._new_alert_id()
            self.bank.spawn(picture, i, float(p_ball[i]), alert_id, ev, kin.alt[i], kin.climb[i])

    def _launch(self, bt: BallisticTrack, x: np.ndarray, P: np.ndarray) -> Launch:
        """The launch of ``bt``'s alert: its infrared event's, else the free flight (x, P) flown
        back to the ground, found once and kept."""
        if bt.event is not None:
            return self.alerts.infrared_launch(bt.event)
        if bt.launch is not None:
            return bt.launch
        # the mean back-flight (P shrunk: only the centre point matters): the free-flight launch
        g = predict_ground(x, P * 1e-6, bt.t, direction=-1.0)
        if not g.ok:
            return self.alerts.extrapolated_launch(None)
        bt.launch = self.alerts.extrapolated_launch(g)
        return bt.launch

    def _refresh(self, bt: BallisticTrack) -> list[AlertUpdate]:
        """The alert update of an estimator, at most every ``refresh_s``.

        ``launch`` once, while the impact cannot be predicted (fewer than ``min_updates``
        measurements, free flight less likely than ``coast_threshold``, or infrared cues still
        arriving: the engine burns); then ``tracking`` with the impact predicted from the
        free-flight mode, until the missile may have come down
        (:func:`~skyweave.warn.bank.impact_window`: the predicted impact time less its
        uncertainty), after which the alert keeps quiet until its close. The first label says only that a ballistic launch is known, which is
        true in every phase: a radar cannot say ``boost`` truly (its newest evidence of thrust is
        seconds old, and the mode probabilities see a burnout only scans later), and waiting for
        the impact would delay the first warning by 8-20 s. At the first prediction the range is known, so the drag's prior follows
        it (:meth:`~skyweave.warn.bank.EstimatorBank.range_prior`) and the impact is predicted
        again.
        """
        cfg = self.config
        if bt.closed:
            return []
        if self.t_now - bt.last_refresh < cfg.refresh_s:
            return []
        # the flight to come is free flight: predict it from the free-flight mode's own estimate,
        # not the mixture, whose boost part would smear the velocity by the thrust allowance
        x, P, mu = self.bank.estimate(bt, self.t_now, mode=FREE_FLIGHT)
        coast = float(mu[FREE_FLIGHT])
        bt.last_refresh = self.t_now
        launch = self._launch(bt, x, P)
        burning = bt.event is not None and self.t_now - bt.event.t_last_seen < cfg.ir_burning_s
        if bt.n_updates < cfg.min_updates or coast < cfg.coast_threshold or burning:
            if bt.raised:
                return []  # nothing new to say until the impact can be predicted
            bt.raised = True
            return [self.alerts.estimate(bt, self.t_now, launch, coast, None)]
        g = predict_ground(x, P, self.t_now)
        if not g.ok:
            return []
        if not bt.range_prior:  # the range is known now: the prior of the drag follows it, once
            bt.range_prior = True
            self.bank.range_prior(bt, g, launch)
            x, P, _ = self.bank.estimate(bt, self.t_now, mode=FREE_FLIGHT)
            g = predict_ground(x, P, self.t_now)
            if not g.ok:
                return []
        bt.impact = g
        if self.t_now > impact_window(g, cfg)[0]:
            # it may have come down already: ``tracking`` might be false, ``closed`` too early;
            # the close follows once it has surely landed (:meth:`EstimatorBank.close_due`)
            return []
        bt.raised = True
        return [self.alerts.estimate(bt, self.t_now, launch, coast, g)]

    def _close_due(self) -> list[AlertUpdate]:
        """The last updates of the alerts that end now: estimators landed or lost, then infrared
        launch events no estimator took up, once their cues have stopped for long."""
        out = []
        for bt, reason in self.bank.close_due(self.t_now):
            launch = bt.launch or self._launch(bt, *self.bank.estimate(bt)[:2])
            out.append(self.alerts.closed(bt, reason, launch, self.t_now))
        for ev in self.cues.expire(self.t_now):
            out.append(self.alerts.cue(ev, self.t_now, lost=True))
        return out


__all__ = ["AlertUpdate", "BallisticTrack", "LaunchEvent", "WarnConfig", "Warner", "ecef2geodetic"]
