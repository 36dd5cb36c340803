"""Measurement models: what a sensor measures of a track state, batched over tracks.

Angles inside the tracker are radians; the scan builder converts the files' degrees once.

- :class:`PolarMeasurement`: a radar's range r (m), azimuth b (rad, clockwise from north),
  optionally elevation e (rad) and range rate ṙ (m/s), in the sensor's own ENU frame. A scenario
  point p maps to the sensor frame as p_s = R_s p + t_s (one affine map, see
  :func:`skyweave.geo.sensor_transform`); velocities as v_s = R_s (v − v_platform).
      r = |p_s|,  b = atan2(e_s, n_s),  e = atan2(u_s, √(e_s² + n_s²)),  ṙ = p_s·v_s / r
  Its Jacobian (for the EKF) is the polar Jacobian times R_s (Bar-Shalom et al. 2001, §10.4).
- :class:`CartesianMeasurement`: position in the scenario frame (linear, H = [I 0]).

Altitude that nothing has measured (a 3-D picture from radars without elevation): a track whose
height standard deviation is at least ``PolarMeasurement.unobserved_z_var``'s root keeps its height
and vertical velocity as *consider* states (Schmidt 1966) for an elevation-free polar measurement:
their gains are zero, so range and azimuth never move them, while the height uncertainty enters
the innovation covariance. To first order (the EKF) that is (∂r/∂z)² σ_z², zero when the assumed
height is at the radar's; to second order the slant range r = |p_s| also has, along the scenario's
up axis w (Hessian of a norm (I − p̂p̂ᵀ)/r), the curvature c = (1 − (p̂·w)²)/r, which adds ½ c σ_z²
to the predicted range and ½ c² σ_z⁴ to its variance (the Gaussian moments of a quadratic). The
UKF's sigma points carry both terms by themselves. See :meth:`PolarMeasurement.consider_altitude`.

Each model also converts measurements to Cartesian positions with a linearised covariance, used
by the coarse pre-gate and by track initiation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PolarMeasurement:
    """A radar's polar measurement. ``d`` spatial dimensions of the track state (2 or 3)."""

    d: int
    rot: np.ndarray          # (3, 3) R_s (identity in 2-D)
    shift: np.ndarray        # (3,) t_s
    has_elevation: bool
    has_range_rate: bool
    v_platform: np.ndarray = field(default_factory=lambda: np.zeros(3))
    #: height variance (m²) from which a track's altitude counts as unobserved (inf: never)
    unobserved_z_var: float = np.inf

    @property
    def m(self) -> int:
        return 2 + int(self.has_elevation) + int(self.has_range_rate)

    @property
    def angle_mask(self) -> np.ndarray:
        mask = np.zeros(self.m, dtype=bool)
        mask[1] = True
        if self.has_elevation:
            mask[2] = True
        return mask

    @property
    def sensor_position(self) -> np.ndarray:
        """The sensor's position in the scenario frame (3,): p with R_s p + t_s = 0."""
        return -self.shift @ self.rot

    def _to_sensor(self, x: np.ndarray):
        d = self.d
        p = np.zeros((x.shape[0], 3))
        p[:, :d] = x[:, :d]
        ps = p @ self.rot.T + self.shift
        vs = None
        if self.has_range_rate:
            v = np.zeros((x.shape[0], 3))
            v[:, :d] = x[:, d:2 * d]
            vs = (v - self.v_platform) @ self.rot.T
        if d == 2:
            ps[:, 2] = 0.0
        return ps, vs

    def h(self, x: np.ndarray) -> np.ndarray:
        """Predicted measurements (N, m) of states (N, n)."""
        ps, vs = self._to_sensor(x)
        e, n, u = ps[:, 0], ps[:, 1], ps[:, 2]
        g = np.hypot(e, n)
        r = np.hypot(g, u)
        cols = [r, np.mod(np.arctan2(e, n), 2 * np.pi)]
        if self.has_elevation:
            cols.append(np.arctan2(u, g))
        if self.has_range_rate:
            cols.append(np.einsum("ij,ij->i", ps, vs) / np.maximum(r, 1e-9))
        return np.stack(cols, axis=-1)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """∂h/∂x (N, m, n) at states (N, n)."""
        d = self.d
        N, n = x.shape
        ps, vs = self._to_sensor(x)
        e, nn, u = ps[:, 0], ps[:, 1], ps[:, 2]
        g2 = np.maximum(e * e + nn * nn, 1e-12)
        g = np.sqrt(g2)
        r2 = g2 + u * u
        r = np.sqrt(r2)
        rows = []
        rows.append(ps / r[:, None])                                   # ∂r/∂p_s
        rows.append(np.stack([nn / g2, -e / g2, np.zeros(N)], -1))     # ∂b/∂p_s
        if self.has_elevation:
            rows.append(np.stack([-u * e / (r2 * g), -u * nn / (r2 * g), g / r2], -1))
        Jp = np.stack(rows, axis=1) @ self.rot                         # (N, k, 3) wrt scenario p
        H = np.zeros((N, self.m, n))
        H[:, :Jp.shape[1], :d] = Jp[:, :, :d]
        if self.has_range_rate:
            rdot = np.einsum("ij,ij->i", ps, vs) / r
            drr_dps = vs / r[:, None] - (rdot / r)[:, None] * ps / r[:, None]
            drr_dvs = ps / r[:, None]
            H[:, -1, :d] = (drr_dps @ self.rot)[:, :d]
            H[:, -1, d:2 * d] = (drr_dvs @ self.rot)[:, :d]
        return H

    def altitude_unobserved(self, P: np.ndarray) -> np.ndarray | None:
        """Rows (N,) of covariances P whose altitude is unobserved, for an elevation-free 3-D radar; else None."""
        if self.d != 3 or self.has_elevation or not np.isfinite(self.unobserved_z_var):
            return None
        return P[:, 2, 2] >= self.unobserved_z_var

    def consider_altitude(self, mp, x: np.ndarray, P: np.ndarray, free: np.ndarray, second_order: bool):
        """Hold height and vertical velocity of rows ``free`` as consider states in prediction ``mp``.

        Zero rows of P_xz for z and v_z (so K = P_xz S⁻¹ never moves them); with ``second_order``
        (the EKF) add the slant range's curvature along z: ẑ_r += ½ c σ_z², P_zz,rr += ½ c² σ_z⁴,
        c = (1 − (∂r/∂z)²)/r (see the module docstring).
        """
        d = self.d
        Pxz = mp.Pxz.copy()
        Pxz[free, 2, :] = 0.0
        Pxz[free, d + 2, :] = 0.0
        zhat, Pzz = mp.zhat, mp.Pzz
        if second_order:
            xs = x[free]
            ps, _ = self._to_sensor(xs)
            r = np.maximum(np.linalg.norm(ps, axis=1), 1.0)
            w = self.rot[:, 2]                                   # scenario up in the sensor frame
            cz = (1.0 - (ps @ w / r) ** 2) / r
            s2 = P[free, 2, 2]
            zhat, Pzz = zhat.copy(), Pzz.copy()
            zhat[free, 0] += 0.5 * cz * s2
            Pzz[free, 0, 0] += 0.5 * cz**2 * s2**2
        return type(mp)(zhat, Pzz, Pxz)

    def residual(self, z: np.ndarray, zhat: np.ndarray) -> np.ndarray:
        """z − ẑ with the azimuth difference wrapped to (−π, π]."""
        y = z - zhat
        y[..., 1] = np.mod(y[..., 1] + np.pi, 2 * np.pi) - np.pi
        return y

    def to_cartesian(self, z: np.ndarray, R: np.ndarray):
        """Scenario-frame positions (M, d) and linearised covariances (M, d, d) of measurements z (M, m)."""
        r, b = z[:, 0], z[:, 1]
        if self.d == 2:  # the flat plane: p = s + r (sin b, cos b), J = ∂p/∂(r, b)
            sb, cb = np.sin(b), np.cos(b)
            p = np.empty((r.size, 2))
            p[:, 0] = r * sb - self.shift[0]
            p[:, 1] = r * cb - self.shift[1]
            J = np.empty((r.size, 2, 2))
            J[:, 0, 0], J[:, 0, 1] = sb, r * cb
            J[:, 1, 0], J[:, 1, 1] = cb, -r * sb
            Rp = R[:, :2, :2]
            return p, J @ Rp @ np.swapaxes(J, 1, 2)
        el = z[:, 2] if self.has_elevation else np.zeros_like(r)
        ce, se, sb, cb = np.cos(el), np.sin(el), np.sin(b), np.cos(b)
        ps = np.stack([r * ce * sb, r * ce * cb, r * se], -1)
        M = r.size
        J = np.zeros((M, 3, 3))  # ∂p_s/∂(r, b, e)
        J[:, :, 0] = np.stack([ce * sb, ce * cb, se], -1)
        J[:, :, 1] = np.stack([r * ce * cb, -r * ce * sb, np.zeros(M)], -1)
        J[:, :, 2] = np.stack([-r * se * sb, -r * se * cb, r * ce], -1)
        k = 3 if self.has_elevation else 2
        Rp = R[:, :k, :k]
        Jk = J[:, :, :k]
        Cs = Jk @ Rp @ np.swapaxes(Jk, 1, 2)
        if self.d == 2:
            ps[:, 2] = 0.0
            return (ps[:, :2] - self.shift[:2]), Cs[:, :2, :2]
        p = (ps - self.shift) @ self.rot
        C = self.rot.T @ Cs @ self.rot
        return p, C


@dataclass
class CartesianMeasurement:
    """Position measured in the scenario frame: z = H x with H = [I_m 0], m ≤ d."""

    d: int
    m: int

    @property
    def angle_mask(self) -> np.ndarray:
        return np.zeros(self.m, dtype=bool)

    def h(self, x: np.ndarray) -> np.ndarray:
        return x[:, : self.m].copy()

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        N, n = x.shape
        H = np.zeros((N, self.m, n))
        H[:, np.arange(self.m), np.arange(self.m)] = 1.0
        return H

    def residual(self, z, zhat):
        return z - zhat

    def to_cartesian(self, z: np.ndarray, R: np.ndarray):
        p = np.zeros((z.shape[0], self.d))
        C = np.zeros((z.shape[0], self.d, self.d))
        p[:, : self.m] = z
        C[:, : self.m, : self.m] = R
        if self.m < self.d:  # an unmeasured height: leave it to the prior (large)
            C[:, self.m:, self.m:] = np.eye(self.d - self.m) * 1e12
        return p, C
