"""The bank of ballistic estimators: one per missile, started from its air track, fed by radar.

Each :class:`BallisticTrack` is an IMM of two unscented Kalman filters on the ECEF ballistic
state (position m, velocity m/s, κ = ln k of the inverse ballistic coefficient k = 1/β m²/kg;
:mod:`skyweave.warn.dynamics`): a boost mode whose large process noise absorbs the unknown thrust
and a free-flight mode with J2 gravity, the rotating earth and drag; free flight that has been
sure for a minute is final (no later stage: the boost mode mixes nothing more into it). The
:class:`EstimatorBank`

- **spawns** an estimator from an air track the classifier holds ballistic
  (:meth:`~EstimatorBank.spawn`);
- **follows** the air track of each one: the same missile's track keeps feeding it, and an
  estimator that has lost the missile while the air tracker holds it **restarts** from that track
  (:meth:`~EstimatorBank.follow`);
- **updates** every estimator with its nearest radar measurement inside a χ² gate, late scans
  included (:meth:`~EstimatorBank.update`);
- **merges** two estimates of one missile (:meth:`~EstimatorBank.merge_duplicates`);
- **retires** those that have landed or are lost (:meth:`~EstimatorBank.close_due`).

Drag is not observable above the sensible atmosphere, on the way up or while thrust acts: there
κ is a Schmidt consider parameter, whose prior uncertainty widens the impact ellipse but which
measurements do not move, until the re-entry shows the real drag. Its prior follows the
missile's range once that is known, keeping what has been learnt (an estimator restarted in the
re-entry; :meth:`~EstimatorBank.range_prior`). What the climb after a low burnout shows of the
drag is learnt apart, once free flight is sure, by a backward filter over the climb's
measurements that finds the burnout (:meth:`~EstimatorBank.learn_climb_drag`,
:mod:`skyweave.warn.climb`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from skyweave.geo import LocalFrame
from skyweave.geo.earth import height_above_ellipsoid_fast
from skyweave.track.association import chi2_gate
from skyweave.track.estimator import IMM
from skyweave.track.filters import UnscentedKalmanFilter
from skyweave.track.sensors import MeasurementScan, SensorInfo
from skyweave.warn.climb import ClimbDrag, ClimbMeasurement, climb_drag
from skyweave.warn.config import WarnConfig
from skyweave.warn.cues import LaunchEvent, ground_km
from skyweave.warn.dynamics import BallisticMotion, EcefMeasurement

if TYPE_CHECKING:
    from skyweave.track.tracker import Frame
    from skyweave.warn.alerts import Launch
    from skyweave.warn.impact import GroundPoint

#: IMM mode indices: boost (thrust as process noise, no drag) and free flight
BOOST, FREE_FLIGHT = 0, 1
#: mean time in free flight (s) once it is final: the chain no longer leaves it
FINAL_SOJOURN_S = 1e15

#: typical re-entry vehicle ballistic coefficient by ground range (km → kg/m²), interpolated in
#: log-log: short-range missiles' bodies re-enter whole and blunt, longer ranges carry slender
#: separating vehicles (Zarchan, *Tactical and Strategic Missile Guidance*, ch. 37-38)
BETA_BY_RANGE = ((500.0, 3_000.0), (2_000.0, 6_000.0), (4_500.0, 10_000.0), (10_000.0, 15_000.0))


def beta_for_range(range_km: float) -> float:
    """Typical ballistic coefficient β (kg/m²) of a missile of this ground range (km)."""
    r, b = np.log(np.array(BETA_BY_RANGE).T)
    return float(np.exp(np.interp(np.log(max(range_km, 1.0)), r, b)))


def impact_window(g: GroundPoint, config: WarnConfig) -> tuple[float, float]:
    """When the missile of ground point ``g`` may be coming down: (until, landed), s.

    Its true impact time lies about ``g.t`` ± σ_t (σ_t = √``g.var_t``); the estimate is a
    prediction from a measurement up to a scan old. Before ``until`` = t̂ − (``impact_margin_s`` +
    ``impact_sigmas`` σ_t) it is still in flight; from ``landed`` = t̂ + max(``landed_after_s``,
    ``impact_margin_s`` + ``impact_sigmas`` σ_t) it has come down. In between either may be true.
    """
    spread = config.impact_margin_s + config.impact_sigmas * float(np.sqrt(max(g.var_t, 0.0)))
    return g.t - spread, g.t + max(config.landed_after_s, spread)


def observe_log_k(st: dict, z: float, r: float) -> None:
    """A scalar pseudo-measurement z of ln k with variance ``r`` folded into every mode of the IMM
    state ``st`` (a Kalman update of the whole state: the kinematics correlated with ln k move
    with it)."""
    Pm = st["Pm"]
    for j in range(Pm.shape[1]):
        x, P = st["xm"][0, j], Pm[0, j]
        gain = P[:, 6] / (P[6, 6] + r)
        x += gain * (z - x[6])
        P -= np.outer(gain, P[6, :])
        Pm[0, j] = 0.5 * (P + P.T)


@dataclass
class BallisticTrack:
    """One ballistic estimator and the state of its alert.

    ``state``: the IMM state (xm (1, 2, 7), Pm (1, 2, 7, 7), mu (1, 2)) at time ``t`` (s);
    ``t_meas``: its newest measurement's time; ``born``: when it started; ``air_track``: the id
    of the air track it follows; ``event``: the infrared launch event it claimed; ``impact``: its
    last predicted ground point; ``launch``: its launch extrapolated back, once found;
    ``raised``: its alert has been issued; ``range_prior``: the drag prior follows the range;
    ``drag_prior``: that prior of ln k, (mean, σ), once it does (None: the launch prior);
    ``climb``: the measurements it took on its climb, until ``climb_done``, when the drag they
    show (``climb_drag``, :mod:`skyweave.warn.climb`) has been learnt from them; ``free_since``:
    since when free flight has been sure; ``final``: free flight is final, boost no longer
    possible (:meth:`EstimatorBank._imm`).
    """

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
    impact: GroundPoint | None = None
    launch: Launch | None = None
    confidence: float = 0.0
    raised: bool = False
    closed: bool = False
    range_prior: bool = False
    drag_prior: tuple[float, float] | None = None
    climb: list = field(default_factory=list)
    climb_done: bool = False
    climb_drag: ClimbDrag | None = None
    free_since: float | None = None
    final: bool = False


class EstimatorBank:
    """The ballistic estimators of one node: open ones in ``tracks``, retired ones in ``closed``.

    ``by_air_track`` maps an air track's id to the estimator it started or feeds; ``landed``
    holds the air tracks of missiles that came down, whose remains start no new estimator.
    Counters: ``n_updates`` (measurement updates), ``n_spawned``, ``n_restarted``.
    """

    def __init__(self, sensors: dict[str, SensorInfo], frame: LocalFrame, config: WarnConfig):
        if not config.range_prior_sigma < config.log_beta_sigma:
            raise ValueError(f"WarnConfig: range_prior_sigma ({config.range_prior_sigma}) must be below "
                             f"log_beta_sigma ({config.log_beta_sigma}): knowing the range narrows the drag's prior")
        if not (0.0 < config.final_probability <= 1.0 and config.final_after_s >= 0.0):
            raise ValueError(f"WarnConfig: final_probability ({config.final_probability}) must lie in (0, 1] and "
                             f"final_after_s ({config.final_after_s}) must not be negative")
        self.sensors = sensors
        self.frame = frame
        self.config = cfg = config
        self.coast = BallisticMotion(q=cfg.coast_q, q_k=cfg.q_k)
        self.boost = BallisticMotion(q=cfg.boost_q, q_k=cfg.q_k, drag=False)
        # α = 1 (κ = 0): sigma points at ±√n σ of the 7 states
        filters = [UnscentedKalmanFilter(self.boost, alpha=1.0), UnscentedKalmanFilter(self.coast, alpha=1.0)]
        self.imm = IMM(filters, [cfg.boost_sojourn_s, cfg.coast_sojourn_s])
        # once free flight is final (:meth:`_imm`) it no longer hands back to boost
        self.imm_final = IMM(filters, [cfg.boost_sojourn_s, FINAL_SOJOURN_S])
        self.tracks: list[BallisticTrack] = []
        self.closed: list[BallisticTrack] = []
        self.by_air_track: dict[str, BallisticTrack] = {}
        self.landed: set[str] = set()
        self.n_updates = 0
        self.n_spawned = 0
        self.n_restarted = 0

    # ------------------------------------------------------------------ estimates

    def _imm(self, bt: BallisticTrack) -> IMM:
        """The mode chain of ``bt``: free flight may hand back to boost (a later stage, a wrong
        switch) until it has been at least ``final_probability`` likely for ``final_after_s``;
        from then on it is final. Mixing the boost mode (velocity σ 50-95 m/s) into free flight at
        the chain's rate acted as 0.1-0.5 m²/s³ of velocity noise, 20-100 times the free-flight
        mode's own (``coast_q`` was 0.005 then), and left the free-flight velocity σ 2-3 times its
        error on the benchmark."""
        return self.imm_final if bt.final else self.imm

    def _note_mode(self, bt: BallisticTrack, t: float) -> None:
        """Follow how long free flight has been sure (``final_probability``), and after
        ``final_after_s`` make it final: its probability 1 from then on, so that the boost mode
        mixes nothing more into it."""
        cfg = self.config
        if bt.final:
            return
        if bt.state["mu"][0, FREE_FLIGHT] < cfg.final_probability:
            bt.free_since = None
        elif bt.free_since is None:
            bt.free_since = t
        elif t - bt.free_since >= cfg.final_after_s:
            bt.final = True
            mu = np.zeros_like(bt.state["mu"])
            mu[:, FREE_FLIGHT] = 1.0
            bt.state = {**bt.state, "mu": mu}

    def estimate(self, bt: BallisticTrack, t: float | None = None, mode: int | None = None):
        """The estimate (x (7,), P (7, 7), μ (2,)) at ``t`` (s; None: the state's own time): the
        IMM's combined one, or one mode's (``FREE_FLIGHT``, ``BOOST``)."""
        st = bt.state
        if t is not None and t > bt.t:
            st = self._imm(bt).predict(st, np.array([t - bt.t]))
        if mode is not None:
            return st["xm"][0, mode], st["Pm"][0, mode], st["mu"][0]
        x, P = self.imm.combined(st)
        return x[0], P[0], st["mu"][0]

    def update(self, scan: MeasurementScan) -> None:
        """Update every open estimator with its nearest measurement of a radar ``scan``.

        Nearest neighbour by the squared Mahalanobis distance d² = yᵀ S⁻¹ y of the innovation y
        against the mixture's predicted measurement (S = P_zz + R), inside the χ² gate of
        ``gate_probability``; a measurement goes to one estimator at most, in bank order. A scan
        newer than the estimate moves the estimate to the scan's time (gated or not); a late one
        updates it where it is, through the measurement model that first retrodicts the state to
        the scan's time (:class:`~skyweave.warn.dynamics.EcefMeasurement` with ``dt_back``).
        ln k is a consider parameter (its uncertainty used, its value not updated) while the
        missile is above ``drag_observable_m``, climbing or in boost. On the climb after a low
        burnout (30-55 km for short- and medium-range shots) a blunt body does slow by several
        m/s², but the IMM makes free flight likely only 6-8 s after the burnout, and the
        free-flight estimate it starts from lags the thrust's last acceleration: learning the drag
        there read that lag as less drag (a 1,000-km shot at −2 σ in β learnt β 15 % higher and
        its ellipses held the truth in 20 % of its updates instead of 94 %). So the measurements
        an estimator takes climbing below ``climb_fit_until_m`` are kept, and once free flight is
        sure above it (``climb_mode_probability``) :meth:`learn_climb_drag` learns the drag they
        show, with the burnout found looking back.
        """
        cfg = self.config
        used = np.zeros(len(scan), dtype=bool)
        m = scan.z.shape[1]
        gamma = chi2_gate(m, cfg.gate_probability)
        for bt in self.tracks:
            if bt.closed:
                continue
            st = bt.state
            if scan.t >= bt.t:
                st = self._imm(bt).predict(st, np.array([scan.t - bt.t]))
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
            height = float(height_above_ellipsoid_fast(x_c[0, :3]))
            high = height > cfg.drag_observable_m
            ascending = float(x_c[0, :3] @ x_c[0, 3:6]) > 0.0  # r·v > 0: away from the centre
            boosting = st["mu"][0, FREE_FLIGHT] < 0.5
            consider = np.array([False] * 6 + [high or ascending or boosting])
            new, _ = self.imm.update(st, meas, scan.z[j:j + 1], scan.R[j:j + 1], consider=consider)
            self._reset_drag_in_boost(new, self._drag_belief(bt))
            bt.state = new
            if scan.t >= bt.t:
                bt.t = scan.t
            bt.t_meas = max(bt.t_meas, scan.t)
            bt.n_updates += 1
            bt.sensors.add(scan.sensor.id)
            self._note_mode(bt, scan.t)
            self.n_updates += 1
            if not bt.climb_done and cfg.climb_fit_until_m > 0.0:
                if ascending and height <= cfg.climb_fit_until_m:
                    bt.climb.append(ClimbMeasurement(scan.t, scan.z[j].copy(), scan.R[j].copy(), scan.model))
                elif new["mu"][0, FREE_FLIGHT] >= cfg.climb_mode_probability:
                    self.learn_climb_drag(bt)

    def learn_climb_drag(self, bt: BallisticTrack) -> None:
        """Learn the drag that ``bt``'s climb measurements show (:func:`~skyweave.warn.climb.climb_drag`:
        a backward free-flight filter from the free-flight estimate now, which finds the burnout
        and leaves out the thrust), once, and fold it into the estimate as a pseudo-measurement of
        ln k; the climb's measurements are then dropped.

        Called once free flight is sure (``climb_mode_probability``) and the missile is past
        ``climb_fit_until_m`` or descending. The climb's evidence is independent of the drag's
        priors (its likelihood is profiled over ln k = −ln β₀ ± 2.5 · 2 ``log_beta_sigma``, no
        prior in it) and is kept with the estimate (``climb_drag``): a restart and the boost's
        reset of ln k put it back.
        """
        cfg = self.config
        bt.climb_done = True
        meas, bt.climb = bt.climb, []
        x, P, _ = self.estimate(bt, mode=FREE_FLIGHT)
        fix = climb_drag(x, P, bt.t, meas, self.coast, self.frame,
                         prior=(-np.log(cfg.beta0), 2.0 * cfg.log_beta_sigma),
                         gate_probability=cfg.gate_probability, margin_s=cfg.climb_margin_s,
                         sigma_floor=cfg.climb_sigma_floor, sigma_max=cfg.climb_sigma_max)
        if fix is None:
            return
        bt.climb_drag = fix
        observe_log_k(bt.state, fix.mean, fix.var)

    def _drag_belief(self, bt: BallisticTrack) -> tuple[float, float] | None:
        """What is known of ln k without the kinematics: the drag prior (the range's, else the
        launch's) times the climb's evidence, as (mean, σ); None: the launch prior alone."""
        cfg = self.config
        if bt.climb_drag is None:
            return bt.drag_prior
        m, s = bt.drag_prior if bt.drag_prior is not None else (-np.log(cfg.beta0), cfg.log_beta_sigma)
        info = 1.0 / s**2 + 1.0 / bt.climb_drag.var
        return float((m / s**2 + bt.climb_drag.mean / bt.climb_drag.var) / info), float(np.sqrt(1.0 / info))

    def _reset_drag_in_boost(self, st: dict, prior: tuple[float, float] | None = None) -> None:
        """While the missile is still boosting, drag is not observable: thrust hides it. The
        free-flight mode would otherwise explain the thrust by a smaller drag coefficient, and
        carry that error into the flight to come; so until free flight dominates, its ln k stays
        at the prior (``prior`` (mean, σ), else the launch prior ln k = −ln β₀, σ
        ``log_beta_sigma``), uncorrelated with the kinematics."""
        cfg = self.config
        if st["mu"][0, FREE_FLIGHT] >= 0.5:
            return
        mean, sigma = prior if prior is not None else (-np.log(cfg.beta0), cfg.log_beta_sigma)
        Pm = st["Pm"]
        st["xm"][0, FREE_FLIGHT, 6] = mean
        Pm[0, FREE_FLIGHT, 6, :] = 0.0
        Pm[0, FREE_FLIGHT, :, 6] = 0.0
        Pm[0, FREE_FLIGHT, 6, 6] = sigma**2

    def range_prior(self, bt: BallisticTrack, impact: GroundPoint, launch: Launch) -> None:
        """Once the range is known, the drag's prior follows it: ln k's launch prior N(m₀, σ₀²)
        (m₀ = −ln β₀, σ₀ ``log_beta_sigma``) is replaced by N(m₁, σ₁²) about the typical β of the
        missile's range (launch to predicted impact, :func:`beta_for_range`; σ₁
        ``range_prior_sigma``), in both modes, keeping what the measurements have shown of the
        drag so far (an estimator restarted in the re-entry, say).

        The posterior is multiplied by N(κ; m₁, σ₁²) / N(κ; m₀, σ₀²): a scalar pseudo-measurement
        of κ with information J = 1/σ₁² − 1/σ₀² (> 0: the range's prior is the narrower) and value
        z = (m₁/σ₁² − m₀/σ₀²) / J, applied as a Kalman update of the whole state, whose
        cross-covariances carry it to position and velocity. Where nothing has been learnt of the
        drag (κ still N(m₀, σ₀²) and uncorrelated) this gives κ exactly N(m₁, σ₁²).
        """
        if impact is None or launch.lat is None:
            return
        cfg = self.config
        rng_km = float(ground_km(launch.lat, launch.lon, impact.lat, impact.lon))
        m1, s1 = -np.log(beta_for_range(rng_km)), cfg.range_prior_sigma
        m0, s0 = -np.log(cfg.beta0), cfg.log_beta_sigma
        info = 1.0 / s1**2 - 1.0 / s0**2
        z = (m1 / s1**2 - m0 / s0**2) / info
        observe_log_k(bt.state, z, 1.0 / info)
        bt.drag_prior = (float(m1), float(s1))

    # ------------------------------------------------------------------ air tracks

    def seed(self, picture: Frame, i: int, alt: float, climb: float) -> dict:
        """A ballistic estimator state started from air track ``i`` of ``picture`` (ENU [p, v],
        m and m/s), whose height is ``alt`` (m) and vertical speed ``climb`` (m/s).

        The ENU covariance blocks rotate into ECEF as Rᵀ P R (enu = R (ecef − o)); ln k starts at
        the prior −ln β₀. Below 120 km and climbing, the missile is likely still in boost.
        """
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

    def spawn(self, picture: Frame, i: int, confidence: float, alert_id: str,
              event: LaunchEvent | None, alt: float, climb: float) -> BallisticTrack:
        """Start an estimator on air track ``i`` for alert ``alert_id``, claiming ``event`` (the
        infrared launch of this missile, whose alert is then already raised)."""
        t = picture.t
        st = self.seed(picture, i, alt, climb)
        bt = BallisticTrack(alert_id, st, t, t, t, air_track=picture.ids[i], event=event,
                            confidence=confidence)
        if event is not None:
            event.owner = bt
            bt.raised = True
        # the air track's contributing sensors: bit (index mod 64) of its sensor mask
        for s in picture.sensors[i:i + 1].tolist():
            for info in self.sensors.values():
                if s >> (info.index % 64) & 1:
                    bt.sensors.add(info.id)
        self.tracks.append(bt)
        self.n_spawned += 1
        self.by_air_track[picture.ids[i]] = bt
        return bt

    def linked(self, picture: Frame, i: int) -> BallisticTrack | None:
        """The open estimator of air track ``i``: the one it started or fed, else the first whose
        position at the picture's time lies within ``link_km`` plus 3 σ of their combined
        position uncertainty (σ² = tr P_pos of both) of the track's."""
        cfg = self.config
        linked = self.by_air_track.get(picture.ids[i])
        if linked is not None and not linked.closed:
            return linked
        pos = picture.x[i, :3]
        for bt in self.tracks:
            x, P, _ = self.estimate(bt, picture.t)
            gate = cfg.link_km * 1000.0 + 3.0 * np.sqrt(np.trace(P[:3, :3])
                                                         + np.trace(picture.P[i, :3, :3]))
            if np.linalg.norm(self.frame.from_ecef(x[:3]) - pos) <= gate:
                return bt
        return None

    def follow(self, bt: BallisticTrack, picture: Frame, i: int, confidence: float, alt: float,
               climb: float) -> None:
        """Air track ``i`` (ballistic with ``confidence``) is ``bt``'s missile: link them, and
        restart ``bt`` from the track if it has lost the missile while the air tracker, hit in the
        last 4 s, holds it.

        Lost: no measurement for ``reseed_after_s``, or the two positions apart by more than 5 km
        plus 4 σ of their combined uncertainty (an estimator started from a lagging boost track,
        say) while the estimator has had no measurement for ``reseed_apart_s``. An estimator its
        radars still feed keeps its estimate however far the air track lies: then the air track
        is the one off (a constant-velocity track lags a re-entry vehicle decelerating by tens of
        g; restarting from it once put an intermediate-range shot's last minute 25 km off). The
        restart keeps the alert, and redoes the drag's range prior later.
        """
        cfg = self.config
        t = picture.t
        tid = picture.ids[i]
        bt.air_track = tid
        self.by_air_track[tid] = bt
        bt.confidence = max(bt.confidence, confidence)
        air_fresh = picture.t_hit is None or picture.t_hit[i] >= t - 4.0
        xb, Pb, _ = self.estimate(bt, t)
        gap = np.linalg.norm(self.frame.from_ecef(xb[:3]) - picture.x[i, :3])
        apart = gap > 5_000.0 + 4.0 * np.sqrt(np.trace(Pb[:3, :3]) + np.trace(picture.P[i, :3, :3]))
        stale = t - bt.t_meas
        if air_fresh and (stale > cfg.reseed_after_s or (apart and stale > cfg.reseed_apart_s)):
            fresh = self.seed(picture, i, alt, climb)
            bt.state, bt.t, bt.t_meas, bt.n_updates = fresh, t, t, 0
            bt.free_since, bt.final = None, False
            bt.range_prior, bt.drag_prior = False, None
            if bt.climb_drag is not None:  # what the climb showed of the drag stays true
                observe_log_k(bt.state, bt.climb_drag.mean, bt.climb_drag.var)
            self.n_restarted += 1

    # ------------------------------------------------------------------ merging and retiring

    def _retire(self, bt: BallisticTrack) -> None:
        bt.closed = True
        self.tracks.remove(bt)
        self.closed.append(bt)

    def merge_duplicates(self, t_now: float) -> list[tuple[BallisticTrack, str]]:
        """Two ballistic estimates of one missile (e.g. started from two of its air tracks) become
        one.

        They are the same missile when their positions and velocities at ``t_now`` agree within
        3 σ of their combined uncertainty (plus 5 km and 300 m/s of model slack). The one with
        more measurements survives; it keeps the alert that was raised first (an infrared launch
        alert wins). Returns each retired estimate with the alert id it merged into, as it
        stood at that merge (a later merge may hand the survivor another alert).
        """
        out = []
        live = [bt for bt in self.tracks if not bt.closed]
        for a_i in range(len(live)):
            a = live[a_i]
            if a.closed:
                continue
            xa, Pa, _ = self.estimate(a, t_now)
            for b in live[a_i + 1:]:
                if b.closed:
                    continue
                xb, Pb, _ = self.estimate(b, t_now)
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
                self._retire(drop)
                for k, v in list(self.by_air_track.items()):
                    if v is drop:
                        self.by_air_track[k] = keep
                out.append((drop, keep.alert_id))
                if drop is a:
                    break
        return out

    def close_due(self, t_now: float) -> list[tuple[BallisticTrack, str]]:
        """Retire the estimators whose missile has landed or is lost by ``t_now``; returns each
        with its reason, in bank order.

        Landed (``impact``): past the ``landed`` end of its newest prediction's
        :func:`impact_window` (5 s past the predicted impact time, or 1 s plus 3 σ of that time if
        longer); its air tracks then start no new estimator. Lost: no measurement for
        ``lost_after_s`` and either no impact predicted yet or a position σ (√(tr P_pos / 3), m)
        beyond ``lost_sigma_m``.
        """
        cfg = self.config
        out = []
        for bt in list(self.tracks):
            reason = None
            if bt.impact is not None and t_now > impact_window(bt.impact, cfg)[1]:
                reason = "impact"
            elif t_now - bt.t_meas > cfg.lost_after_s:
                _, P, _ = self.estimate(bt, t_now)
                if np.sqrt(np.trace(P[:3, :3]) / 3) > cfg.lost_sigma_m or bt.impact is None:
                    reason = "lost"
            if reason is None:
                continue
            self._retire(bt)
            if reason == "impact":
                self.landed |= {k for k, v in self.by_air_track.items() if v is bt}
            out.append((bt, reason))
        return out


__all__ = ["BETA_BY_RANGE", "BOOST", "FREE_FLIGHT", "BallisticTrack", "EstimatorBank",
           "beta_for_range", "impact_window", "observe_log_k"]
