"""Missile warning: from the air picture and infrared cues to ballistic alerts with an impact ellipse.

The :class:`Warner` runs beside a node's air tracker and sees the same scans:

1. **Infrared cues** (space-based launch detection: the plume's ground-projected position during
   boost) are grouped into launch events. The first cue of an event raises an alert at once:
   launch site and time known, impact not yet (``status: "launch"``, ``impact: null``).
2. **Classification** (:mod:`skyweave.warn.classify`) of every confirmed air track; a track that
   becomes a ballistic missile with enough confidence starts a **ballistic estimator**.
3. The ballistic estimator is an IMM of two unscented Kalman filters on the ECEF ballistic state
   (position, velocity, ln of the inverse ballistic coefficient; :mod:`skyweave.warn.dynamics`): a
   boost mode whose large process noise absorbs the unknown thrust and a free-flight mode with J2
   gravity, the rotating earth and drag. Drag is not observable above the sensible atmosphere, on
   the way up or while thrust acts, so there ln k is a Schmidt consider parameter: its prior uncertainty widens
   the impact ellipse, but measurements do not move it until the re-entry shows the real drag. It takes its own radar measurements from every radar scan
   (nearest neighbour inside a chi-square gate), including late scans, which it folds in by
   retrodicting its state to the report's time (:class:`~skyweave.warn.dynamics.EcefMeasurement`).
4. Once the free-flight mode dominates, every refresh predicts the **impact** by the unscented
   transform of the flight to the ground (:mod:`skyweave.warn.impact`): the mean point and time,
   the 95 % ellipse, the time to impact and the populated places inside the ellipse. The
   **launch** point is the infrared site where there is one, else the free-flight trajectory
   flown back to the ground.
5. An alert is closed when its predicted impact time has passed (``reason: "impact"``) or when
   the missile is lost (no measurement for ``lost_after_s`` and an uncertainty beyond use).

Everything here is numerical and free of I/O: the caller passes scans and the places table in
and writes the alert updates (plain dicts in the alerts.jsonl format) out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyweave.geo import LocalFrame, ecef2geodetic
from skyweave.geo.earth import height_above_ellipsoid_fast
from skyweave.track.association import chi2_gate
from skyweave.track.estimator import IMM
from skyweave.track.filters import UnscentedKalmanFilter
from skyweave.track.sensors import MeasurementScan, SensorInfo
from skyweave.warn import classify
from skyweave.warn.dynamics import BallisticMotion, EcefMeasurement
from skyweave.warn.impact import CHI2_2_95, predict_ground

R_EARTH = 6_371_008.8


@dataclass(frozen=True)
class WarnConfig:
    alert_prefix: str = "SW"
    spawn_confidence: float = 0.9       # ballistic class confidence that starts an estimator
    spawn_evaluations: int = 3          # ... after at least this many classifications (one per second)
    boost_q: float = 2000.0             # boost mode acceleration density (m²/s³): unknown thrust
    coast_q: float = 0.05               # free-flight mode density (m²/s³): model error only
    boost_sojourn_s: float = 60.0       # mean time in boost before the mode chain moves to free flight
    coast_sojourn_s: float = 600.0      # free flight can hand back to boost (a late stage, a wrong switch)
    beta0: float = 5400.0               # prior ballistic coefficient β (kg/m²), log-normal, before the
    log_beta_sigma: float = 0.5         # range is known: β from about 2,000 to 15,000 kg/m² within 2σ
    range_prior_sigma: float = 0.4      # once the range is known: ln β about the typical β of that range
    q_k: float = 1e-8                   # random walk of ln k (1/s)
    drag_observable_m: float = 70_000.0  # above this height (or in boost, or climbing) ln k is a consider parameter
    gate_probability: float = 0.9999
    coast_threshold: float = 0.9        # free-flight mode probability from which impact is predicted
    min_updates: int = 3                # ballistic updates before the first impact prediction
    refresh_s: float = 2.0              # at most one impact refresh per alert this often (s)
    lost_after_s: float = 90.0
    lost_sigma_m: float = 50_000.0
    ir_group_km: float = 150.0          # cues this close (and within ir_group_s) are one launch
    ir_group_s: float = 180.0
    ir_link_km: float = 60.0            # an air track this close to a launch event's cues is cued
    ir_climb_s: float = 15.0            # typical time from launch to the first infrared cue (s)
    ir_climb_sigma_s: float = 8.0
    ir_burning_s: float = 10.0          # while plume cues keep arriving (within this), the engine burns: no impact yet
    link_km: float = 30.0               # an air track this close to a ballistic estimate is the same missile
    reseed_after_s: float = 8.0         # an estimator without a measurement this long restarts from its air track
    places_max: int = 10


@dataclass
class LaunchEvent:
    """A launch seen by infrared: its cues (t, lat, lon, sigma_m) and the alert it raised."""

    alert_id: str
    cues: list = field(default_factory=list)
    sensors: set = field(default_factory=set)
    owner: "BallisticTrack | None" = None

    @property
    def t_first(self) -> float:
        return self.cues[0][0]

    @property
    def t_last(self) -> float:
        return self.cues[-1][0]

    t_last_seen: float = -np.inf  # node time when the newest cue arrived


@dataclass
class BallisticTrack:
    alert_id: str
    state: dict
    t: float
    t_meas: float
    born: float
    n_updates: int = 0
    sensors: set = field(default_factory=set)
    air_track: str | None = None
    event: LaunchEvent | None = None
    last_refresh: float = -np.inf
    impact: object = None
    launch: dict | None = None
    confidence: float = 0.0
    raised: bool = False
    closed: bool = False
    range_prior: bool = False


def _ground_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R_EARTH * np.arcsin(np.minimum(1.0, np.sqrt(a))) / 1000.0


class Warner:
    """Ballistic missile warning for one node (see the module docstring)."""

    def __init__(self, sensors: dict[str, SensorInfo], frame: LocalFrame, config: WarnConfig | None = None, places=None):
        if frame is None:
            raise ValueError("missile warning needs a geodetic scenario (an origin for the ENU frame)")
        self.sensors = sensors
        self.frame = frame
        self.config = cfg = config or WarnConfig()
        self.places = places
        self.coast = BallisticMotion(q=cfg.coast_q, q_k=cfg.q_k)
        self.boost = BallisticMotion(q=cfg.boost_q, q_k=cfg.q_k, drag=False)
        self.imm = IMM([UnscentedKalmanFilter(self.boost, alpha=1.0), UnscentedKalmanFilter(self.coast, alpha=1.0)],
                       [cfg.boost_sojourn_s, cfg.coast_sojourn_s])
        self.tracks: list[BallisticTrack] = []
        self.events: list[LaunchEvent] = []
        self.closed: list[BallisticTrack] = []
        self._logodds: dict[int, np.ndarray] = {}
        self._last_eval: dict[int, float] = {}
        self._n_eval: dict[int, int] = {}
        self._spawned_from: dict[str, BallisticTrack] = {}
        self._landed: set[str] = set()
        self.track_class: dict[str, tuple[str, float]] = {}
        self._n_alerts = 0
        self.t_now = -np.inf
        self.stats = {"ir_cues": 0, "ballistic_updates": 0, "spawned": 0}

    # ------------------------------------------------------------------ inputs

    def on_ir(self, sensor: SensorInfo, t: float, lat: np.ndarray, lon: np.ndarray, sigma_m: np.ndarray) -> list[dict]:
        """Space-based infrared cues of one scan (plume ground points, deg; sigma per axis, m)."""
        cfg = self.config
        self.t_now = max(self.t_now, t)
        out = []
        for la, lo, s in zip(np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(sigma_m)):
            self.stats["ir_cues"] += 1
            ev = None
            for e in self.events:
                _, la0, lo0, _ = e.cues[-1]
                if abs(t - e.t_last) <= cfg.ir_group_s and _ground_km(la0, lo0, la, lo) <= cfg.ir_group_km:
                    ev = e
                    break
            if ev is None:
                ev = LaunchEvent(self._new_alert_id())
                self.events.append(ev)
                ev.cues.append((t, float(la), float(lo), float(s)))
                ev.sensors.add(sensor.id)
                out.append(self._launch_update(ev))
            else:
                ev.cues.append((t, float(la), float(lo), float(s)))
                ev.sensors.add(sensor.id)
            ev.t_last_seen = self.t_now
        return out

    def on_scan(self, scan: MeasurementScan, picture) -> list[dict]:
        """One radar scan (already processed by the air tracker) and the live air picture after it."""
        self.t_now = max(self.t_now, scan.t)
        out: list[dict] = []
        if scan.sensor.kind in ("radar", "cartesian") and len(scan):
            self._update_ballistic(scan)
        self._classify_and_spawn(picture)
        out.extend(self._merge_duplicates())
        for bt in list(self.tracks):
            out.extend(self._refresh(bt))
        out.extend(self._close_due())
        return out

    def finish(self, t_end: float) -> list[dict]:
        """End of input: close what has landed by then; alerts still in flight stay open."""
        self.t_now = max(self.t_now, t_end)
        return self._close_due()

    # ------------------------------------------------------------------ ballistic estimation

    def _new_alert_id(self) -> str:
        self._n_alerts += 1
        return f"{self.config.alert_prefix}-W{self._n_alerts}"

    def _update_ballistic(self, scan: MeasurementScan) -> None:
        cfg = self.config
        used = np.zeros(len(scan), dtype=bool)
        m = scan.z.shape[1]
        gamma = chi2_gate(m, cfg.gate_probability)
        for bt in self.tracks:
            if bt.closed:
                continue
            st = bt.state
            if scan.t >= bt.t:
                st = self.imm.predict(st, np.array([scan.t - bt.t]))
                meas = EcefMeasurement(scan.model, self.frame)
            else:
                meas = EcefMeasurement(scan.model, self.frame, self.coast, dt_back=scan.t - bt.t)
            mp = self.imm.predict_measurement(st, meas)
            y = scan.model.residual(scan.z, np.broadcast_to(mp.zhat, scan.z.shape).copy())
            S = mp.Pzz[0][None] + scan.R
            d2 = np.einsum("ni,nij,nj->n", y, np.linalg.inv(S), y)
            d2[used] = np.inf
            j = int(np.argmin(d2)) if len(d2) else -1
            if j < 0 or d2[j] > gamma:
                if scan.t >= bt.t:  # keep the prediction: the state lives at the newest time
                    bt.state, bt.t = st, scan.t
                continue
            used[j] = True
            x_c, _ = self.imm.combined(st)
            high = float(height_above_ellipsoid_fast(x_c[0, :3])) > cfg.drag_observable_m
            ascending = float(x_c[0, :3] @ x_c[0, 3:6]) > 0.0
            consider = np.array([False] * 6 + [high or ascending or st["mu"][0, 1] < 0.5])
            new, _ = self.imm.update(st, meas, scan.z[j:j + 1], scan.R[j:j + 1], consider=consider)
            self._reset_drag_in_boost(new)
            bt.state = new
            if scan.t >= bt.t:
                bt.t = scan.t
            bt.t_meas = max(bt.t_meas, scan.t)
            bt.n_updates += 1
            bt.sensors.add(scan.sensor.id)
            self.stats["ballistic_updates"] += 1

    def _reset_drag_in_boost(self, st: dict) -> None:
        """While the missile is still boosting, drag is not observable: thrust hides it. The free-flight
        mode would otherwise explain the thrust by a smaller drag coefficient, and carry that error
        into the flight to come; so until free flight dominates, its ln k stays at the prior,
        uncorrelated with the kinematics."""
        cfg = self.config
        if st["mu"][0, 1] >= 0.5:
            return
        Pm = st["Pm"]
        st["xm"][0, 1, 6] = -np.log(cfg.beta0)
        Pm[0, 1, 6, :] = 0.0
        Pm[0, 1, :, 6] = 0.0
        Pm[0, 1, 6, 6] = cfg.log_beta_sigma**2

    #: typical re-entry vehicle ballistic coefficient by ground range (km → kg/m²), interpolated in
    #: log-log: short-range missiles' bodies re-enter whole and blunt, longer ranges carry slender
    #: separating vehicles (Zarchan, *Tactical and Strategic Missile Guidance*, ch. 37-38)
    BETA_BY_RANGE = ((500.0, 3_000.0), (2_000.0, 6_000.0), (4_500.0, 10_000.0), (10_000.0, 15_000.0))

    def beta_for_range(self, range_km: float) -> float:
        r, b = np.log(np.array(self.BETA_BY_RANGE).T)
        return float(np.exp(np.interp(np.log(max(range_km, 1.0)), r, b)))

    def _range_prior(self, bt: BallisticTrack, impact, launch: dict) -> None:
        """While drag is still unobserved (ln k a consider parameter), centre its prior on the typical
        β of the missile's range (launch to predicted impact), with ``range_prior_sigma``."""
        if impact is None or launch.get("lat") is None:
            return
        st = bt.state
        x, _ = self.imm.combined(st)
        h = float(height_above_ellipsoid_fast(x[0, :3]))
        if h < self.config.drag_observable_m and float(x[0, :3] @ x[0, 3:6]) < 0.0:
            return  # descending through the sensible atmosphere: drag is being measured
        rng_km = float(_ground_km(launch["lat"], launch["lon"], impact.lat, impact.lon))
        kappa = -np.log(self.beta_for_range(rng_km))
        for j in range(self.imm.r):
            st["xm"][0, j, 6] = kappa
            st["Pm"][0, j, 6, :] = 0.0
            st["Pm"][0, j, :, 6] = 0.0
            st["Pm"][0, j, 6, 6] = self.config.range_prior_sigma**2

    def _ecef_estimate(self, bt: BallisticTrack, t: float | None = None, mode: int | None = None):
        """The estimate (x, P, μ) at ``t``: the IMM's combined one, or one mode's (1: free flight)."""
        st = bt.state
        if t is not None and t > bt.t:
            st = self.imm.predict(st, np.array([t - bt.t]))
        if mode is not None:
            return st["xm"][0, mode], st["Pm"][0, mode], st["mu"][0]
        x, P = self.imm.combined(st)
        return x[0], P[0], st["mu"][0]

    def _classify_and_spawn(self, picture) -> None:
        cfg = self.config
        n = len(picture)
        if n == 0:
            return
        t = picture.t
        keys = picture.keys
        evaluate = np.array([t - self._last_eval.get(int(k), -np.inf) >= 1.0 for k in keys])
        if not evaluate.any():
            return
        p = picture.x[:, :3]
        v = picture.x[:, 3:6]
        lat, lon, alt = self.frame.to_geodetic(p)
        lat, lon, alt = np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(alt)
        ecef = self.frame.to_ecef(p)
        up = self.frame.vector_from_ecef(ecef / np.linalg.norm(ecef, axis=1, keepdims=True))  # local up in ENU axes
        climb = np.einsum("ij,ij->i", v, up)
        speed = np.linalg.norm(v, axis=1)
        Ppp, Pvv = picture.P[:, :3, :3], picture.P[:, 3:6, 3:6]
        vdir = v / np.maximum(speed, 1e-6)[:, None]
        s_alt = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", up, Ppp, up), 0.0))
        s_climb = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", up, Pvv, up), 0.0))
        s_speed = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", vdir, Pvv, vdir), 0.0))
        coop = picture.identity >= 0
        ir_near = np.zeros(n, dtype=bool)
        for ev in self.events:
            if t - ev.t_last > 120.0:
                continue
            cl = np.array([c[1] for c in ev.cues])
            co = np.array([c[2] for c in ev.cues])
            dmin = _ground_km(lat[:, None], lon[:, None], cl[None, :], co[None, :]).min(axis=1)
            ir_near |= dmin <= cfg.ir_link_km
        # a plume cue counts only for a track that climbs like a missile under thrust (not an airliner
        # that happens to fly under the boost path)
        ir_near &= (climb - 2 * s_climb > 100.0) | (alt - 2 * s_alt > 15_000.0)
        e = classify.evidence(alt - 2 * s_alt, speed - 2 * s_speed, climb - 2 * s_climb, coop, ir_near, dive=climb + 2 * s_climb)
        L = np.array([self._logodds.get(int(k), classify.PRIOR) for k in keys])
        L = classify.accumulate(L, e, evaluate)
        conf = classify.confidence(L)
        for i, k in enumerate(keys.tolist()):
            self._logodds[k] = L[i]
            if evaluate[i]:
                self._last_eval[k] = t
                self._n_eval[k] = self._n_eval.get(k, 0) + 1
        self.track_class = {picture.ids[i]: (classify.CLASSES[int(np.argmax(conf[i]))], float(conf[i].max())) for i in range(n)}
        n_eval = np.array([self._n_eval.get(int(k), 0) for k in keys])
        cand = np.flatnonzero((conf[:, classify.BALLISTIC] >= cfg.spawn_confidence) & (n_eval >= cfg.spawn_evaluations))
        for i in cand:
            pos = p[i]
            tid = picture.ids[i]
            if tid in self._landed:
                continue  # the air track of a missile that has come down: no new alert from its remains
            linked = self._spawned_from.get(tid)
            if linked is not None and linked.closed:
                linked = None
            if linked is None:
                for bt in self.tracks:
                    x, P, _ = self._ecef_estimate(bt, t)
                    gate = cfg.link_km * 1000.0 + 3.0 * np.sqrt(np.trace(P[:3, :3]) + np.trace(picture.P[i, :3, :3]))
                    if np.linalg.norm(self.frame.from_ecef(x[:3]) - pos) <= gate:
                        linked = bt
                        break
            if linked is not None:
                linked.air_track = tid
                self._spawned_from[tid] = linked
                linked.confidence = max(linked.confidence, float(conf[i, classify.BALLISTIC]))
                air_fresh = picture.t_hit is None or picture.t_hit[i] >= t - 4.0
                xb, Pb, _ = self._ecef_estimate(linked, t)
                gap = np.linalg.norm(self.frame.from_ecef(xb[:3]) - pos)
                apart = gap > 5_000.0 + 4.0 * np.sqrt(np.trace(Pb[:3, :3]) + np.trace(picture.P[i, :3, :3]))
                if air_fresh and (t - linked.t_meas > cfg.reseed_after_s or apart):
                    # the estimator has lost the missile (started from a lagging boost track, say) while
                    # the air tracker still holds it: start it again from the air track, same alert
                    fresh = self._seed(picture, i, alt[i], climb[i])
                    linked.state, linked.t, linked.t_meas, linked.n_updates = fresh, t, t, 0
                    linked.range_prior = False
                    self.stats["reseeded"] = self.stats.get("reseeded", 0) + 1
                continue
            self._spawned_from[tid] = self._spawn(picture, i, float(conf[i, classify.BALLISTIC]), lat[i], lon[i], alt[i], climb[i])

    def _seed(self, picture, i, alt, climb) -> dict:
        """A ballistic estimator state started from air track ``i`` of ``picture``."""
        cfg = self.config
        R = self.frame.rotation  # enu = R (ecef − o)
        x = np.zeros(7)
        x[:3] = self.frame.to_ecef(picture.x[i, :3])
        x[3:6] = self.frame.vector_to_ecef(picture.x[i, 3:6])
        x[6] = -np.log(cfg.beta0)
        P = np.zeros((7, 7))
        Pe = picture.P[i]
        P[:3, :3] = R.T @ Pe[:3, :3] @ R
        P[3:6, 3:6] = R.T @ Pe[3:6, 3:6] @ R
        P[:3, 3:6] = R.T @ Pe[:3, 3:6] @ R
        P[3:6, :3] = P[:3, 3:6].T
        P[3:6, 3:6] += np.eye(3) * 50.0**2   # the CV air track lags an accelerating missile
        P[6, 6] = cfg.log_beta_sigma**2
        st = self.imm.new(x[None], P[None])
        boosting = alt < 120_000.0 and climb > 0.0
        st["mu"][:] = [0.6, 0.4] if boosting else [0.1, 0.9]
        return st

    def _spawn(self, picture, i, conf, lat, lon, alt, climb) -> BallisticTrack:
        cfg = self.config
        t = picture.t
        st = self._seed(picture, i, alt, climb)
        ev = None
        for e in self.events:
            if e.owner is None and t - e.t_last <= 120.0:
                d = min(_ground_km(lat, lon, c[1], c[2]) for c in e.cues)
                if d <= cfg.ir_link_km * 3:
                    ev = e
                    break
        alert_id = ev.alert_id if ev is not None else self._new_alert_id()
        bt = BallisticTrack(alert_id, st, t, t, t, air_track=picture.ids[i], event=ev, confidence=conf)
        if ev is not None:
            ev.owner = bt
            bt.raised = True
        for s in picture.sensors[i:i + 1].tolist():
            for info in self.sensors.values():
                if s >> (info.index % 64) & 1:
                    bt.sensors.add(info.id)
        self.tracks.append(bt)
        self.stats["spawned"] += 1
        return bt

    def _merge_duplicates(self) -> list[dict]:
        """Two ballistic estimates of one missile (e.g. started from two air tracks of it) become one.

        They are the same missile when their positions and velocities at the newest time agree
        within 3 σ of their combined uncertainty (plus 5 km and 300 m/s of model slack). The one
        with more measurements survives; it keeps the alert that was raised first (an infrared
        launch alert wins) and the other alert is closed with ``reason: "merged"``.
        """
        out = []
        live = [bt for bt in self.tracks if not bt.closed]
        for a_i in range(len(live)):
            a = live[a_i]
            if a.closed:
                continue
            xa, Pa, _ = self._ecef_estimate(a, self.t_now)
            for b in live[a_i + 1:]:
                if b.closed:
                    continue
                xb, Pb, _ = self._ecef_estimate(b, self.t_now)
                dp = np.linalg.norm(xa[:3] - xb[:3])
                dv = np.linalg.norm(xa[3:6] - xb[3:6])
                sp = np.sqrt(np.trace(Pa[:3, :3]) + np.trace(Pb[:3, :3]))
                sv = np.sqrt(np.trace(Pa[3:6, 3:6]) + np.trace(Pb[3:6, 3:6]))
                if dp > 5_000.0 + 3 * sp or dv > 300.0 + 3 * sv:
                    continue
                keep, drop = (a, b) if a.n_updates >= b.n_updates else (b, a)
                first = min((a, b), key=lambda bt: (bt.event is None, bt.born))
                if first is not keep:  # the surviving estimate takes over the older alert
                    keep.alert_id, drop.alert_id = drop.alert_id, keep.alert_id
                    keep.event, drop.event = drop.event or keep.event, None
                    if keep.event is not None:
                        keep.event.owner = keep
                    keep.raised = True
                keep.sensors |= drop.sensors
                keep.confidence = max(keep.confidence, drop.confidence)
                drop.closed = True
                self.tracks.remove(drop)
                self.closed.append(drop)
                for k, v in list(self._spawned_from.items()):
                    if v is drop:
                        self._spawned_from[k] = keep
                if drop.raised:
                    out.append({"t": round(self.t_now, 3), "alert_id": drop.alert_id, "threat": "ballistic", "status": "closed",
                                "reason": "merged", "merged_into": keep.alert_id, "launch": drop.launch, "impact": None,
                                "time_to_impact_s": None, "places": [], "confidence": round(drop.confidence, 3),
                                "releasable_to": self._releasable(drop.sensors)})
                if drop is a:
                    break
        return out

    # ------------------------------------------------------------------ alerts

    def _places(self, lat, lon, cov_en) -> list[str]:
        pl = self.places
        if pl is None or len(pl) == 0 or not np.all(np.isfinite(cov_en)):
            return []
        semi = np.sqrt(CHI2_2_95 * max(np.linalg.eigvalsh(cov_en).max(), 0.0))
        box = semi / 111_000.0 + 0.1
        near = np.flatnonzero((np.abs(pl.lat - lat) <= box) & (np.abs(((pl.lon - lon + 180) % 360) - 180) <= box / max(np.cos(np.radians(lat)), 0.05)))
        if len(near) == 0:
            return []
        f = LocalFrame(lat, lon, 0.0)
        en = f.from_geodetic(pl.lat[near], pl.lon[near], np.zeros(len(near))).reshape(-1, 3)[:, :2]
        d2 = np.einsum("ni,ij,nj->n", en, np.linalg.inv(cov_en + np.eye(2) * 1e-6), en)
        inside = near[d2 <= CHI2_2_95]
        inside = inside[np.argsort(-pl.population[inside], kind="stable")][: self.config.places_max]
        return [f"{pl.name[j]} ({pl.country[j]})" for j in inside]

    def _releasable(self, sensor_ids) -> list[str]:
        sets = [set(self.sensors[s].releasable_to) for s in sensor_ids if s in self.sensors]
        if not sets:
            return []
        return sorted(set.intersection(*sets))

    def _launch_update(self, ev: LaunchEvent) -> dict:
        cfg = self.config
        t0, la, lo, _ = ev.cues[0]
        n = len(ev.cues)
        return {
            "t": round(self.t_now, 3), "alert_id": ev.alert_id, "threat": "ballistic",
            "launch": {"lat": round(la, 5), "lon": round(lo, 5), "t": round(t0 - cfg.ir_climb_s, 1), "source": "infrared"},
            "impact": None, "time_to_impact_s": None, "places": [], "confidence": round(min(0.5 + 0.1 * n, 0.9), 3),
            "releasable_to": self._releasable(ev.sensors), "status": "launch", "sources": sorted(ev.sensors),
        }

    def _launch_estimate(self, bt: BallisticTrack, x, P) -> dict:
        ev = bt.event
        if ev is not None:
            t0, la, lo, s = ev.cues[0]
            return {"lat": round(la, 5), "lon": round(lo, 5), "t": round(t0 - self.config.ir_climb_s, 1), "source": "infrared"}
        if bt.launch is not None:
            return bt.launch
        g = predict_ground(x, P * 1e-6, bt.t, direction=-1.0)  # the mean back-flight: the free-flight launch point
        if not g.ok:
            return {"lat": None, "lon": None, "t": None, "source": "unknown"}
        bt.launch = {"lat": round(g.lat, 5), "lon": round(g.lon, 5), "t": round(g.t, 1), "source": "ballistic extrapolation"}
        return bt.launch

    def _refresh(self, bt: BallisticTrack) -> list[dict]:
        cfg = self.config
        if bt.closed:
            return []
        if self.t_now - bt.last_refresh < cfg.refresh_s:
            return []
        # the flight to come is free flight: predict it from the free-flight mode's own estimate,
        # not the mixture, whose boost part would smear the velocity by the thrust allowance
        x, P, mu = self._ecef_estimate(bt, self.t_now, mode=1)
        coast = float(mu[1])
        bt.last_refresh = self.t_now
        srcs = set(bt.sensors) | (bt.event.sensors if bt.event is not None else set())
        base = {
            "t": round(self.t_now, 3), "alert_id": bt.alert_id, "threat": "ballistic",
            "launch": self._launch_estimate(bt, x, P),
            "confidence": round(max(bt.confidence, 0.95 if bt.event is not None else 0.0), 3),
            "releasable_to": self._releasable(srcs), "sources": sorted(srcs), "track": bt.air_track,
            "mode_free_flight": round(coast, 3), "updates": bt.n_updates,
        }
        burning = bt.event is not None and self.t_now - bt.event.t_last_seen < cfg.ir_burning_s
        if bt.n_updates < cfg.min_updates or coast < cfg.coast_threshold or burning:
            if bt.raised:
                return []  # nothing new to say until the impact can be predicted
            bt.raised = True
            return [{**base, "impact": None, "time_to_impact_s": None, "places": [], "status": "boost"}]
        g = predict_ground(x, P, self.t_now)
        if not g.ok:
            return []
        if not bt.range_prior:  # the range is known now: the prior of the drag follows it, once
            bt.range_prior = True
            self._range_prior(bt, g, base["launch"])
            x, P, _ = self._ecef_estimate(bt, self.t_now, mode=1)
            g = predict_ground(x, P, self.t_now)
            if not g.ok:
                return []
        bt.impact = g
        a, b, o = g.ellipse()
        bt.raised = True
        return [{
            **base,
            "impact": {"lat": round(g.lat, 5), "lon": round(g.lon, 5), "t": round(g.t, 2), "semi_major_m": round(a, 1),
                       "semi_minor_m": round(b, 1), "orientation_deg": round(o, 2), "sigma_t_s": round(float(np.sqrt(g.var_t)), 2)},
            "time_to_impact_s": round(g.t - self.t_now, 2), "places": self._places(g.lat, g.lon, g.cov_en), "status": "tracking",
        }]

    def _close_due(self) -> list[dict]:
        cfg = self.config
        out = []
        for bt in list(self.tracks):
            reason = None
            if bt.impact is not None and self.t_now > bt.impact.t + 5.0:
                reason = "impact"
            elif self.t_now - bt.t_meas > cfg.lost_after_s:
                _, P, _ = self._ecef_estimate(bt, self.t_now)
                if np.sqrt(np.trace(P[:3, :3]) / 3) > cfg.lost_sigma_m or bt.impact is None:
                    reason = "lost"
            if reason is None:
                continue
            bt.closed = True
            self.tracks.remove(bt)
            self.closed.append(bt)
            if reason == "impact":
                self._landed |= {k for k, v in self._spawned_from.items() if v is bt}
            last = {"t": round(self.t_now, 3), "alert_id": bt.alert_id, "threat": "ballistic", "status": "closed", "reason": reason,
                    "launch": bt.launch or (self._launch_estimate(bt, *self._ecef_estimate(bt)[:2])), "places": [],
                    "confidence": round(bt.confidence, 3), "releasable_to": self._releasable(bt.sensors | (bt.event.sensors if bt.event else set())),
                    "impact": None, "time_to_impact_s": None}
            if bt.impact is not None:
                g = bt.impact
                a, b, o = g.ellipse()
                last["impact"] = {"lat": round(g.lat, 5), "lon": round(g.lon, 5), "t": round(g.t, 2), "semi_major_m": round(a, 1),
                                  "semi_minor_m": round(b, 1), "orientation_deg": round(o, 2)}
                last["time_to_impact_s"] = round(g.t - self.t_now, 2)
                last["places"] = self._places(g.lat, g.lon, g.cov_en)
            out.append(last)
        # launch events never taken up by a ballistic track: closed once their cues stop for long
        for ev in list(self.events):
            if ev.owner is None and self.t_now - ev.t_last > cfg.lost_after_s + cfg.ir_group_s:
                self.events.remove(ev)
                out.append({**self._launch_update(ev), "status": "closed", "reason": "lost"})
        return out


__all__ = ["Warner", "WarnConfig", "BallisticTrack", "LaunchEvent", "ecef2geodetic"]
