"""Track classification: aircraft, cruise missile or ballistic missile, from kinematics and cues.

Each confirmed track accumulates evidence for each class as log-odds, one increment per update
it receives, with a forgetting factor so a class can change when the evidence does:

    L_c ← λ L_c + e_c,    confidence_c = exp(L_c) / Σ exp(L),    λ = 0.9 (FORGET)

Evidence (per update, nats), chosen so that one implausible number never decides alone:

- ballistic: height above 30 km (+2.5); speed above 1,200 m/s (+2.5); climbing faster than
  250 m/s (+1.5); diving faster than 300 m/s (+2.5, a re-entering warhead); a space-based
  infrared launch cue near its ground track in the last 120 s while it climbs faster than
  100 m/s or flies above 15 km (+4);
- aircraft: an ADS-B identity (+4); height 0.5–16 km at 60–350 m/s (+1);
- cruise: below 300 m at 150–350 m/s without a transponder (+1.2).

A new track starts at L = (0.5, 0, 0): aircraft until shown otherwise. Heights are geodetic
(above the WGS-84 ellipsoid), speeds ground-relative. The kinematic tests use the track's lower
two-sigma bound (height − 2σ, speed − 2σ, climb − 2σ from its covariance), so a young track
whose velocity is still unknown cannot look like a missile by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from skyweave.geo import LocalFrame
    from skyweave.track.tracker import Frame

CLASSES = ("aircraft", "cruise", "ballistic")
AIRCRAFT, CRUISE, BALLISTIC = 0, 1, 2
PRIOR = np.array([0.5, 0.0, 0.0])
FORGET = 0.9


def evidence(alt_m: np.ndarray, speed: np.ndarray, climb: np.ndarray, cooperative: np.ndarray,
             ir_near: np.ndarray, dive: np.ndarray | None = None) -> np.ndarray:
    """Per-update log-odds increments (N, 3) for tracks with these features.

    ``dive`` (m/s, the upper bound of the vertical speed) marks a re-entering warhead: nothing that
    flies comes down faster than 300 m/s.
    """
    e = np.zeros((alt_m.size, 3))
    e[:, BALLISTIC] += (2.5 * (alt_m > 30_000.0) + 2.5 * (speed > 1200.0) + 1.5 * (climb > 250.0)
                        + 4.0 * ir_near)
    if dive is not None:
        e[:, BALLISTIC] += 2.5 * (dive < -300.0)
    e[:, AIRCRAFT] += 4.0 * cooperative + 1.0 * ((alt_m > 500.0) & (alt_m < 16_000.0)
                                                 & (speed > 60.0) & (speed < 350.0))
    e[:, CRUISE] += 1.2 * ((alt_m < 300.0) & (speed > 150.0) & (speed < 350.0) & ~cooperative)
    return e


def accumulate(L: np.ndarray, e: np.ndarray, updated: np.ndarray) -> np.ndarray:
    """New log-odds (N, 3): forget and add evidence for the tracks that were updated."""
    return np.where(updated[:, None], FORGET * L + e, L)


def confidence(L: np.ndarray) -> np.ndarray:
    """Class probabilities (N, 3) from log-odds."""
    z = L - L.max(axis=1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Kinematics:
    """What the classifier reads of each track of an air picture, all (N,): geodetic ``lat``,
    ``lon`` (deg) and height ``alt`` (m); ``speed`` (m/s) and ``climb`` (vertical speed along the
    local up, m/s); and the standard deviations of height, speed and climb from the track's
    covariance (``s_alt`` m, ``s_speed``, ``s_climb`` m/s)."""

    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    speed: np.ndarray
    climb: np.ndarray
    s_alt: np.ndarray
    s_speed: np.ndarray
    s_climb: np.ndarray


def kinematics(picture: Frame, frame: LocalFrame) -> Kinematics:
    """The :class:`Kinematics` of every track of ``picture`` (ENU states [p, v] in ``frame``).

    Local up u at each track is the ECEF radial direction (geocentric up: within 0.2° of the
    geodetic normal) seen in ENU axes; climb = v·u, σ_climb = √(uᵀ P_vv u), σ_alt = √(uᵀ P_pp u),
    σ_speed = √(dᵀ P_vv d) along the velocity's direction d.
    """
    p = picture.x[:, :3]
    v = picture.x[:, 3:6]
    lat, lon, alt = frame.to_geodetic(p)
    lat, lon, alt = np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(alt)
    ecef = frame.to_ecef(p)
    up = frame.vector_from_ecef(ecef / np.linalg.norm(ecef, axis=1, keepdims=True))
    climb = np.einsum("ij,ij->i", v, up)
    speed = np.linalg.norm(v, axis=1)
    Ppp, Pvv = picture.P[:, :3, :3], picture.P[:, 3:6, 3:6]
    vdir = v / np.maximum(speed, 1e-6)[:, None]
    s_alt = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", up, Ppp, up), 0.0))
    s_climb = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", up, Pvv, up), 0.0))
    s_speed = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", vdir, Pvv, vdir), 0.0))
    return Kinematics(lat, lon, alt, speed, climb, s_alt, s_speed, s_climb)


class TrackClassifier:
    """The class log-odds of every air track (by its tracker key), evaluated at most once per
    ``period_s`` seconds a track.

    ``track_class``: track id → (class name, confidence) over the newest evaluated picture.
    """

    def __init__(self, period_s: float = 1.0):
        self.period_s = period_s
        self.logodds: dict[int, np.ndarray] = {}
        self.last_eval: dict[int, float] = {}
        self.n_eval: dict[int, int] = {}
        self.track_class: dict[str, tuple[str, float]] = {}

    def due(self, picture: Frame) -> np.ndarray:
        """Which tracks of ``picture`` are due an evaluation: bool (N,)."""
        t = picture.t
        return np.array([t - self.last_eval.get(int(k), -np.inf) >= self.period_s
                         for k in picture.keys])

    def update(self, picture: Frame, kin: Kinematics, ir_cued: np.ndarray,
               evaluate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add the evidence of the tracks ``evaluate`` (bool (N,)) selects; returns the class
        probabilities (N, 3) and the number of evaluations of each track (N,).

        ``ir_cued`` marks the tracks near a recent infrared launch cue; a cue counts only for a
        track that climbs like a missile under thrust (lower bound of the climb above 100 m/s) or
        flies above 15 km, not for an airliner that happens to fly under the boost path. Every
        kinematic test takes the lower two-sigma bound (and the dive the upper one).
        """
        keys = picture.keys
        ir_near = ir_cued & ((kin.climb - 2 * kin.s_climb > 100.0)
                             | (kin.alt - 2 * kin.s_alt > 15_000.0))
        coop = picture.identity >= 0  # an ADS-B identity
        e = evidence(kin.alt - 2 * kin.s_alt, kin.speed - 2 * kin.s_speed,
                     kin.climb - 2 * kin.s_climb, coop, ir_near, dive=kin.climb + 2 * kin.s_climb)
        L = np.array([self.logodds.get(int(k), PRIOR) for k in keys])
        L = accumulate(L, e, evaluate)
        conf = confidence(L)
        t = picture.t
        for i, k in enumerate(keys.tolist()):
            self.logodds[k] = L[i]
            if evaluate[i]:
                self.last_eval[k] = t
                self.n_eval[k] = self.n_eval.get(k, 0) + 1
        self.track_class = {picture.ids[i]: (CLASSES[int(np.argmax(conf[i]))],
                                             float(conf[i].max()))
                            for i in range(len(picture))}
        n_eval = np.array([self.n_eval.get(int(k), 0) for k in keys])
        return conf, n_eval
