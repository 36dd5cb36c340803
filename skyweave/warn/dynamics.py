"""Ballistic motion for estimation: J2 gravity on the rotating earth with drag, in ECEF.

State (…, 7): ECEF position r (m), ECEF velocity v (m/s, relative to the earth and its air) and
κ = ln k, the logarithm of the inverse ballistic coefficient k = C_d A / m = 1/β (m²/kg), so that
drag is −½ ρ(h) k |v| v:

    r' = v,   v' = g_J2(r) − 2ω×v − ω×(ω×r) − ½ ρ(h) e^κ |v| v,   κ' = 0

Carrying ln k keeps k positive for every sigma point and makes the unknown ballistic
coefficient's prior log-normal, as the spread of real re-entry vehicles (β from about 2,000 to
15,000 kg/m²) is.

(the equations of :mod:`skyweave.geo.earth`). The transition integrates them with classical RK4
over sub-steps no longer than ``max_step_s``, batched over any leading axes, forwards or
backwards in time (a negative step retrodicts, which the out-of-sequence update uses).

Process noise: white acceleration of density ``q`` (m²/s³) on each axis and a random walk of
density ``q_k`` on κ. The boost phase is the same model (without drag) with a large ``q``: thrust
is an unknown, slowly varying acceleration the filter absorbs (Li & Jilkov, "Survey of maneuvering target
tracking, part II: motion models of ballistic and space targets", IEEE TAES 46(1), 2010, §3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.geo.earth import air_density, frame_acceleration, gravity_j2, height_above_ellipsoid_fast
from skyweave.geo.wgs84 import A, E2, GM, J2, OMEGA_EARTH


#: ln ρ of :func:`~skyweave.geo.earth.air_density` every 500 m from −500 m to 150 km: its layers
#: meet at whole kilometres and it is exponential within each, so interpolating ln ρ linearly
#: between these samples gives it back (to rounding), at a tenth of the cost
_LOG_RHO_H = np.arange(-500.0, 150_000.0 + 1.0, 500.0)
_LOG_RHO = np.log(air_density(_LOG_RHO_H))


def derivative(s: np.ndarray, drag: bool = True) -> np.ndarray:
    """The state's time derivative (…, 7): [v, a, 0] with the acceleration of :func:`acceleration`.

    The same equations written out once over the state's columns: the propagation (RK4 over a
    handful of sigma points, thousands of times a run) spends its time in numpy's per-call cost,
    and sharing |r| between gravity and height halves the calls.
    """
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    vx, vy, vz = s[..., 3], s[..., 4], s[..., 5]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    k = -GM / (r2 * rn)
    j = 1.5 * J2 * (A * A) / r2
    zz = 5.0 * z * z / r2
    fxy = k * (1.0 + j * (1.0 - zz))
    w = OMEGA_EARTH
    out = np.empty(s.shape)
    out[..., :3] = s[..., 3:6]
    ax = fxy * x + (2.0 * w * vy + w * w * x)
    ay = fxy * y + (-2.0 * w * vx + w * w * y)
    az = k * (1.0 + j * (3.0 - zz)) * z
    if drag:
        h = rn - A * np.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - z * z / r2)))
        speed = np.sqrt(vx * vx + vy * vy + vz * vz)
        # above 150 km no drag; below −500 m (a step past the ground) the density there
        d = 0.5 * np.exp(np.interp(h, _LOG_RHO_H, _LOG_RHO) + np.minimum(s[..., 6], 0.0)) * speed
        d = np.where(h < 150_000.0, d, 0.0)
        ax, ay, az = ax - d * vx, ay - d * vy, az - d * vz
    out[..., 3], out[..., 4], out[..., 5], out[..., 6] = ax, ay, az, 0.0
    return out


def acceleration(r: np.ndarray, v: np.ndarray, log_k: np.ndarray, drag: bool = True) -> np.ndarray:
    """ECEF acceleration (m/s²) of a ballistic body at r, v (…, 3) with ln of the inverse ballistic coefficient (…)."""
    a = gravity_j2(r) + frame_acceleration(r, v)
    if not drag:
        return a
    h = height_above_ellipsoid_fast(r)
    speed = np.linalg.norm(v, axis=-1)
    drag = 0.5 * air_density(np.maximum(h, -500.0)) * np.exp(np.minimum(log_k, 0.0)) * speed
    drag = np.where(h < 150_000.0, drag, 0.0)
    return a - drag[..., None] * v


def rk4(x: np.ndarray, dt, max_step_s: float = 2.0, drag: bool = True) -> np.ndarray:
    """Integrate states x (…, 7) over dt (broadcastable to x[..., 0]) with RK4 sub-steps."""
    x = np.asarray(x, dtype=float)
    dt = np.broadcast_to(np.asarray(dt, dtype=float), x.shape[:-1])
    n_sub = int(np.ceil(np.max(np.abs(dt)) / max_step_s)) if dt.size else 0
    if n_sub == 0:
        return x.copy()
    h = (dt / n_sub)[..., None]
    half, sixth = 0.5 * h, h / 6.0
    for _ in range(n_sub):
        k1 = derivative(x, drag)
        k2 = derivative(x + half * k1, drag)
        k3 = derivative(x + half * k2, drag)
        k4 = derivative(x + h * k3, drag)
        x = x + sixth * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


@dataclass(frozen=True)
class BallisticMotion:
    """The ballistic transition as a motion model for the filters (UKF: it needs ``f`` and ``noise``).

    ``drag=False`` is the boost mode's model: thrust, not drag, dominates there, and a model whose
    transition ignores κ keeps the thrust from being mistaken for a small drag coefficient.
    """

    q: float = 1.0
    q_k: float = 1e-12
    max_step_s: float = 2.0
    drag: bool = True
    name: str = "ballistic"

    n = 7

    def f(self, x, dt):
        return rk4(x, dt, self.max_step_s, self.drag)

    def noise(self, dt):
        T = np.asarray(dt, dtype=float)
        N = T.size
        Q = np.zeros((N, 7, 7))
        aT = np.abs(T)
        for i in range(3):
            Q[:, i, i] = self.q * aT**3 / 3
            Q[:, i, 3 + i] = Q[:, 3 + i, i] = self.q * T * aT / 2
            Q[:, 3 + i, 3 + i] = self.q * aT
        Q[:, 6, 6] = self.q_k * aT
        return Q


class EcefMeasurement:
    """A scenario-frame measurement model (radar polar or Cartesian) seen from ECEF ballistic states.

    h(x) = inner.h([R_enu (r − r₀), R_enu v]): the state is moved into the scenario's ENU frame
    and measured there. ``dt_back`` (s, ≤ 0) makes it an out-of-sequence model: the state is first
    retrodicted by the deterministic motion, h(x) = inner.h(enu(f(x, dt_back))), so a late report
    updates the current state through its cross-covariance with the report (an unscented
    version of Bar-Shalom's 2002 one-step-lag solution that neglects the process noise in
    between, small in free flight).
    """

    def __init__(self, inner, frame, motion: BallisticMotion | None = None, dt_back: float = 0.0):
        self.inner = inner
        self.frame = frame
        self.motion = motion
        self.dt_back = float(dt_back)

    @property
    def angle_mask(self):
        return self.inner.angle_mask

    def to_enu(self, x: np.ndarray) -> np.ndarray:
        if self.dt_back != 0.0 and self.motion is not None:
            x = self.motion.f(x, self.dt_back)
        p = self.frame.from_ecef(x[..., :3])
        v = self.frame.vector_from_ecef(x[..., 3:6])
        return np.concatenate([p, v], axis=-1)

    def h(self, x: np.ndarray) -> np.ndarray:
        return self.inner.h(self.to_enu(x))

    def residual(self, z, zhat):
        return self.inner.residual(z, zhat)
