"""Posterior Cramér-Rao lower bound (PCRLB) on tracking error for a known truth trajectory.

Tichavský, Muravchik & Nehorai, "Posterior Cramér-Rao bounds for discrete-time nonlinear
filtering", IEEE TSP 46(5), 1998. For x_{k+1} = F x_k + w_k, w_k ~ N(0, Q), the Fisher information
J_k of the state obeys

    J_{k+1} = D22 - D21 (J_k + D11)^-1 D12,
    D11 = F' Q^-1 F,  D12 = -F' Q^-1 = D21',  D22 = Q^-1 + E[H' R^-1 H]_{k+1},

and any unbiased estimator has E[(x^ - x)(x^ - x)'] >= J_k^-1. By the matrix inversion lemma
the first two terms equal (F J_k^-1 F' + Q)^-1, which is what is computed here: it needs no Q^-1,
so it stays exact for very short steps and for dt = 0 (F = I, Q = 0). The expectation over the
state is replaced by the value on the given truth trajectory (the usual bound for a known
trajectory: Ristic, Arulampalam & Gordon, "Beyond the Kalman Filter", 2004, ch. 4). With linear
Cartesian measurements and Pd = 1 the bound equals the Kalman filter covariance.

Motion model: constant velocity with white-noise acceleration of spectral density ``q``
(m^2/s^3) on each axis, state [x, y, (z), vx, vy, (vz)] (m, m/s), per axis
Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]] (Bar-Shalom, Li & Kirubarajan 2001, sec. 6.2.2).

Missed detections: the information of a sensor with detection probability Pd is Pd H' R^-1 H,
the information-reduction-factor form (Niu, Willett & Bar-Shalom 2001; Hernandez, Farina &
Ristic, "PCRLB for tracking in cluttered environments", IEEE TAES 42(1), 2006). It is exact for
the expected information without clutter; with clutter the true reduction factor is smaller, so
the bound given here is optimistic (lower) there.

Sensor frames: polar measurements (range, bearing clockwise from north, elevation above the local
horizontal, optional range rate) are taken in the sensor's own ENU frame. A sensor's
``rotation`` (3x3, scenario ENU axes to sensor ENU axes) makes that exact for a geodetic
scenario; without it the sensor frame is the scenario frame shifted to the sensor (exact for a
flat 2-D or 3-D scenario, an approximation growing with the sensor's distance from the origin
otherwise). Positions are in scenario ENU metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyweave.metrics.interp import interpolate_truth

#: times closer than this (s) are the same instant
TIME_TOL = 1e-6


# --------------------------------------------------------------------------- motion model


def cv_transition(dt, dims: int) -> np.ndarray:
    """Constant-velocity transition F(dt), shape (..., 2 dims, 2 dims) for dt of shape (...), seconds."""
    dt = np.asarray(dt, dtype=float)
    n = 2 * dims
    F = np.broadcast_to(np.eye(n), dt.shape + (n, n)).copy()
    for a in range(dims):
        F[..., a, dims + a] = dt
    return F


def cv_process_noise(dt, dims: int, q: float) -> np.ndarray:
    """Process noise Q(dt) of the white-noise-acceleration CV model, (..., 2 dims, 2 dims); q in m^2/s^3."""
    dt = np.asarray(dt, dtype=float)
    n = 2 * dims
    Q = np.zeros(dt.shape + (n, n))
    for a in range(dims):
        Q[..., a, a] = q * dt**3 / 3.0
        Q[..., a, dims + a] = Q[..., dims + a, a] = q * dt**2 / 2.0
        Q[..., dims + a, dims + a] = q * dt
    return Q


def predict_covariance(P: np.ndarray, dt, dims: int, q: float) -> np.ndarray:
    """P(t + dt) = F P F' + Q for covariances (N, n, n) and steps dt (N,) or scalar (s)."""
    dt = np.broadcast_to(np.asarray(dt, dtype=float), P.shape[:-2])
    F = cv_transition(dt, dims)
    return F @ P @ np.swapaxes(F, -1, -2) + cv_process_noise(dt, dims, q)


def _sym_inv(A: np.ndarray) -> np.ndarray:
    A = np.linalg.inv(A)
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def predict_information(J: np.ndarray, dt, dims: int, q: float) -> np.ndarray:
    """Information after a step dt: (F J^-1 F' + Q)^-1 = D22' - D21 (J + D11)^-1 D12 without the measurement term."""
    return _sym_inv(predict_covariance(_sym_inv(J), dt, dims, q))


# --------------------------------------------------------------------------- sensors


@dataclass(frozen=True)
class PolarSensor:
    """A radar measuring range (m), bearing (deg clockwise from north), optionally elevation (deg) and range rate (m/s).

    ``position`` is the sensor's place in scenario ENU metres (2 or 3 values); sigmas are one
    standard deviation; ``pd`` the detection probability; ``max_range_m`` the range beyond which
    it gives no information; ``rotation`` (3x3) turns scenario ENU axes into the sensor's ENU axes;
    ``period_s``/``phase_s`` its scan times phase + k period (None: every step it is asked about).
    """

    position: tuple
    sigma_range_m: float
    sigma_bearing_deg: float
    sigma_elevation_deg: float | None = None
    sigma_range_rate_mps: float | None = None
    pd: float = 1.0
    max_range_m: float | None = None
    rotation: np.ndarray | None = field(default=None, compare=False)
    period_s: float | None = None
    phase_s: float = 0.0
    name: str = ""

    def information(self, states: np.ndarray) -> np.ndarray:
        """Expected measurement information Pd H' R^-1 H at states (K, 2 dims), shape (K, 2 dims, 2 dims)."""
        x = np.asarray(states, dtype=float)
        k, n = x.shape
        dims = n // 2
        s = np.zeros(dims)
        sp = np.asarray(self.position, dtype=float).ravel()
        s[: min(dims, sp.size)] = sp[:dims]
        d = x[:, :dims] - s
        v = x[:, dims:]
        r = np.sqrt(np.einsum("kd,kd->k", d, d))
        safe_r = np.where(r > 0, r, 1.0)
        rows = []  # each (K, n): a row of H / sigma
        # range
        h = np.zeros((k, n))
        h[:, :dims] = d / safe_r[:, None] / self.sigma_range_m
        rows.append(h)
        ds = d if (self.rotation is None or dims == 2) else d @ np.asarray(self.rotation, dtype=float).T
        R = np.eye(dims) if (self.rotation is None or dims == 2) else np.asarray(self.rotation, dtype=float)
        rho2 = ds[:, 0] ** 2 + ds[:, 1] ** 2
        ok_b = rho2 > 1e-12
        rho2s = np.where(ok_b, rho2, 1.0)
        sb = np.radians(self.sigma_bearing_deg)
        # bearing b = atan2(dx, dy): db/d(ds) = [dy, -dx, 0] / rho^2
        g = np.zeros((k, dims))
        g[:, 0] = ds[:, 1] / rho2s
        g[:, 1] = -ds[:, 0] / rho2s
        g[~ok_b] = 0.0
        h = np.zeros((k, n))
        h[:, :dims] = (g @ R) / sb
        rows.append(h)
        if dims == 3 and self.sigma_elevation_deg is not None:
            # e = atan2(dz, rho): de/d(ds) = [-dx dz, -dy dz, rho^2] / (r^2 rho)
            rho = np.sqrt(rho2s)
            r2 = safe_r**2
            g = np.stack([-ds[:, 0] * ds[:, 2], -ds[:, 1] * ds[:, 2], rho2s], axis=1) / (r2 * rho)[:, None]
            g[~ok_b] = 0.0
            h = np.zeros((k, n))
            h[:, :dims] = (g @ R) / np.radians(self.sigma_elevation_deg)
            rows.append(h)
        if self.sigma_range_rate_mps is not None:
            # rdot = d.v / r: d/dp = v/r - (d.v) d / r^3, d/dv = d / r (rotation-invariant)
            dv = np.einsum("kd,kd->k", d, v)
            h = np.zeros((k, n))
            h[:, :dims] = v / safe_r[:, None] - (dv / safe_r**3)[:, None] * d
            h[:, dims:] = d / safe_r[:, None]
            rows.append(h / self.sigma_range_rate_mps)
        H = np.stack(rows, axis=1)  # (K, m, n), already divided by sigma
        J = self.pd * np.einsum("kmi,kmj->kij", H, H)
        seen = r > 0
        if self.max_range_m is not None:
            seen &= r <= self.max_range_m
        J[~seen] = 0.0
        return J


@dataclass(frozen=True)
class CartesianSensor:
    """A sensor measuring position directly with standard deviation ``sigma_m`` (m; one value or one per axis).

    ``position`` and ``max_range_m`` (optional) limit its coverage; ``pd``, ``period_s`` and
    ``phase_s`` as for :class:`PolarSensor`.
    """

    sigma_m: float | tuple
    pd: float = 1.0
    position: tuple | None = None
    max_range_m: float | None = None
    period_s: float | None = None
    phase_s: float = 0.0
    name: str = ""

    def information(self, states: np.ndarray) -> np.ndarray:
        """Pd H' R^-1 H with H = [I 0], R = diag(sigma^2): (K, 2 dims, 2 dims)."""
        x = np.asarray(states, dtype=float)
        k, n = x.shape
        dims = n // 2
        sig = np.asarray(self.sigma_m, dtype=float).ravel()
        sig = np.full(dims, sig[0]) if sig.size == 1 else sig[:dims]
        J = np.zeros((k, n, n))
        J[:, np.arange(dims), np.arange(dims)] = self.pd / sig**2
        if self.max_range_m is not None and self.position is not None:
            s = np.zeros(dims)
            sp = np.asarray(self.position, dtype=float).ravel()
            s[: min(dims, sp.size)] = sp[:dims]
            r = np.linalg.norm(x[:, :dims] - s, axis=1)
            J[r > self.max_range_m] = 0.0
        return J


# --------------------------------------------------------------------------- bound on one trajectory


@dataclass(frozen=True)
class PcrlbResult:
    """The bound over a trajectory: ``position`` sqrt(trace of the position block of J^-1) (m) and
    ``velocity`` likewise (m/s) at each time, and the information matrices ``info`` (K, n, n)."""

    times: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    info: np.ndarray


def prior_information(dims: int, sigma_pos_m: float, sigma_vel_mps: float, count: int = 1) -> np.ndarray:
    """Information of the initial prior: diag(1/sigma_pos^2 per axis, 1/sigma_vel^2 per axis), (count, n, n)."""
    d = np.r_[np.full(dims, sigma_pos_m**-2), np.full(dims, sigma_vel_mps**-2)]
    return np.broadcast_to(np.diag(d), (count, 2 * dims, 2 * dims)).copy()


def bounds_from_information(J: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(position bound m, velocity bound m/s) = sqrt of the traces of the blocks of J^-1, for J (K, n, n)."""
    P = _sym_inv(J)
    dg = np.diagonal(P, axis1=-2, axis2=-1)
    return np.sqrt(dg[..., :dims].sum(-1)), np.sqrt(dg[..., dims:].sum(-1))


def pcrlb(times, states, sensors, q: float, *, scans=None, prior_cov=None, prior_sigma_pos_m: float = 1000.0,
          prior_sigma_vel_mps: float = 300.0) -> PcrlbResult:
    """PCRLB along one truth trajectory: times (K,) s, states (K, 2 dims) [pos, vel] in m and m/s.

    ``sensors``: a list of :class:`PolarSensor` / :class:`CartesianSensor`; ``scans`` (K, S) bool
    says which sensor measures at which step (default: every sensor at every step). The prior at
    the first step is ``prior_cov`` (n, n) or diag(prior_sigma_pos_m^2, prior_sigma_vel_mps^2), and
    the first step's measurements are added to it: J_0 = P0^-1 + sum_s J_z,s(x_0).
    """
    t = np.asarray(times, dtype=float).ravel()
    x = np.asarray(states, dtype=float)
    if x.ndim != 2 or x.shape[0] != t.size or x.shape[1] not in (4, 6):
        raise ValueError(f"states must be (K, 4) or (K, 6) for K = {t.size} times, got {x.shape}")
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be non-decreasing")
    dims = x.shape[1] // 2
    sensors = list(sensors)
    mask = np.ones((t.size, len(sensors)), dtype=bool) if scans is None else np.asarray(scans, dtype=bool)
    if mask.shape != (t.size, len(sensors)):
        raise ValueError(f"scans must be (K, S) = ({t.size}, {len(sensors)}), got {mask.shape}")
    Jz = np.zeros((t.size, 2 * dims, 2 * dims))
    for si, s in enumerate(sensors):
        Jz += mask[:, si, None, None] * s.information(x)
    info = np.empty_like(Jz)
    J = (np.linalg.inv(np.asarray(prior_cov, dtype=float))[None] if prior_cov is not None
         else prior_information(dims, prior_sigma_pos_m, prior_sigma_vel_mps))
    J = J + Jz[:1]
    info[0] = J[0]
    for k in range(1, t.size):
        J = predict_information(J, t[k] - t[k - 1], dims, q) + Jz[k: k + 1]
        info[k] = J[0]
    pos, vel = bounds_from_information(info, dims)
    return PcrlbResult(t, pos, vel, info)


# --------------------------------------------------------------------------- streaming over many truths


def scan_times(sensor, lo: float, hi: float) -> np.ndarray:
    """Scan times phase + k period of a periodic sensor in (lo, hi] (s); empty for an aperiodic one."""
    period = getattr(sensor, "period_s", None)
    if period is None or not np.isfinite(lo):
        return np.zeros(0)
    phase = float(getattr(sensor, "phase_s", 0.0) or 0.0)
    k0 = int(np.floor((lo + TIME_TOL - phase) / period)) + 1
    k1 = int(np.floor((hi + TIME_TOL - phase) / period))
    if k1 < k0:
        return np.zeros(0)
    ts = phase + period * np.arange(k0, k1 + 1)
    return ts[(ts > lo + TIME_TOL) & (ts <= hi + TIME_TOL)]


class PcrlbStream:
    """The PCRLB of every truth at once, fed truth instants in time order (vectorised over truths).

    Truth instants come in with :meth:`add_frame` (time, integer ids, states); :meth:`bound` gives
    the position bound of given truths at a time not before the last instant but one. Each
    periodic sensor measures at its scan times phase_s + k period_s; the truth state at a scan
    time between two instants is interpolated (cubic Hermite, see :mod:`skyweave.metrics.interp`);
    a sensor without a period measures at every truth instant. A truth's information starts at its
    first instant from the prior (diag of ``prior_sigma_pos_m``^2 and ``prior_sigma_vel_mps``^2).
    Memory holds two instants and one n x n matrix per truth id.
    """

    def __init__(self, sensors, q: float, dims: int, *, prior_sigma_pos_m: float = 1000.0,
                 prior_sigma_vel_mps: float = 300.0):
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        if not (np.isfinite(q) and q >= 0):
            raise ValueError(f"q must be a finite spectral density >= 0 in m^2/s^3, got {q}")
        self.sensors = list(sensors)
        self.q = float(q)
        self.dims = dims
        self.n = 2 * dims
        self._J0 = prior_information(dims, prior_sigma_pos_m, prior_sigma_vel_mps)[0]
        self._J = np.zeros((0, self.n, self.n))
        self._last_t = np.zeros(0)
        self._born = np.zeros(0, dtype=bool)
        self._a = None  # (t, ids, states) of the older instant
        self._b = None  # the newer instant
        self._done_t = -np.inf  # scans up to this time are folded in
        self._births_done = True
        self._periodic = [i for i, s in enumerate(self.sensors) if getattr(s, "period_s", None)]
        self._aperiodic = [i for i, s in enumerate(self.sensors) if not getattr(s, "period_s", None)]

    def _grow(self, top: int) -> None:
        cap = self._J.shape[0]
        if top < cap:
            return
        new = max(top + 1, 2 * cap, 64)
        self._J = np.concatenate([self._J, np.zeros((new - cap, self.n, self.n))])
        self._last_t = np.r_[self._last_t, np.zeros(new - cap)]
        self._born = np.r_[self._born, np.zeros(new - cap, dtype=bool)]

    def add_frame(self, t: float, ids, states) -> None:
        """The next truth instant: time t (s), integer ids (N,) >= 0, states (N, n) in m and m/s."""
        ids = np.asarray(ids, dtype=np.int64)
        states = np.asarray(states, dtype=float).reshape(ids.size, self.n)
        if self._b is not None:
            if t < self._b[0] - TIME_TOL:
                raise ValueError(f"truth instants must come in time order: {t} after {self._b[0]}")
            self.advance(self._b[0])
        if ids.size:
            self._grow(int(ids.max()))
        self._a, self._b = self._b, (float(t), ids, states)
        self._births_done = False
        if self._a is None:
            self._done_t = float(t) - 2 * TIME_TOL

    def _births(self) -> None:
        if self._births_done:
            return
        tb, ids_b, _ = self._b
        new = ids_b if self._a is None else np.setdiff1d(ids_b, self._a[1], assume_unique=True)
        if new.size:
            self._J[new] = self._J0
            self._last_t[new] = tb
            self._born[new] = True
        self._births_done = True

    def _fold(self, s: float, sensors_idx: list[int]) -> None:
        """Predict the truths alive at scan time s to s and add the scanning sensors' information."""
        tb, ids_b, xb = self._b
        if abs(s - tb) <= TIME_TOL:
            self._births()
            ids, x = ids_b, xb
        else:
            if self._a is None:
                return
            ta, ids_a, xa = self._a
            ids, x = interpolate_truth(s, ta, ids_a, xa, tb, ids_b, xb, self.dims)
        if ids.size == 0:
            return
        J = predict_information(self._J[ids], s - self._last_t[ids], self.dims, self.q)
        for si in sensors_idx:
            J += self.sensors[si].information(x)
        self._J[ids] = J
        self._last_t[ids] = s

    def advance(self, t: float) -> None:
        """Fold in every scan up to min(t, newest instant) (s)."""
        if self._b is None:
            return
        tb = self._b[0]
        upto = min(float(t), tb)
        if upto <= self._done_t:
            return
        events = []
        for si in self._periodic:
            for s in scan_times(self.sensors[si], self._done_t, upto).tolist():
                events.append((s, si))
        if self._aperiodic and upto >= tb - TIME_TOL:
            events += [(tb, si) for si in self._aperiodic]
        events.sort()
        k = 0
        while k < len(events):
            s0 = events[k][0]
            group = []
            while k < len(events) and events[k][0] - s0 <= TIME_TOL:
                group.append(events[k][1])
                k += 1
            self._fold(tb if abs(s0 - tb) <= TIME_TOL else s0, group)
        if upto >= tb - TIME_TOL:
            self._births()
        self._done_t = max(self._done_t, upto)

    def bound(self, t: float, ids) -> np.ndarray:
        """Position bound sqrt(trace P_pos) (m) of truths ``ids`` at time t, predicted from their last scan; NaN if unknown."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(ids.size, np.nan)
        if ids.size == 0:
            return out
        self.advance(t)
        known = ids < self._J.shape[0]
        known[known] = self._born[ids[known]]
        if not known.any():
            return out
        k = ids[known]
        P = predict_covariance(_sym_inv(self._J[k]), np.maximum(float(t) - self._last_t[k], 0.0), self.dims, self.q)
        out[known] = np.sqrt(np.diagonal(P, axis1=-2, axis2=-1)[:, : self.dims].sum(-1))
        return out
