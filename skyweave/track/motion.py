"""Motion (transition) models, batched over tracks.

Every model acts on states ``x`` of shape (N, n) and covariances ``P`` (N, n, n) with per-track
time steps ``dt`` (N,) in seconds, and returns the predicted ``(x, P)``. State layouts (metres,
m/s, m/s², rad/s), with d = 2 or 3 spatial dimensions:

- constant velocity (CV):      [p₁..p_d, v₁..v_d]                 n = 2d
- constant acceleration (CA):  [p, v, a]                          n = 3d
- coordinated turn (CT):       [p, v, ω] (ω: horizontal turn rate) n = 2d + 1
- CV on the CT layout (for the IMM): ω carried along, not acting on the motion.
- coordinated turn at a known rate ω₀ on the CT layout (:class:`FixedRateTurn`, for the IMM's
  grid of turn modes): linear, ω held at ω₀.

Position first, then velocity, is also the order of ``cov`` in tracks.jsonl, so the output block
is simply ``P[:, :2d, :2d]``.

References: Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking
and Navigation* (2001): §6.2.2 (discretised continuous white-noise acceleration, CV), §6.2.3
(Wiener-process acceleration, CA), §11.7.1 (coordinated turn with unknown turn rate and the
Jacobian of its transition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _kron_blocks(blocks: np.ndarray, d: int) -> np.ndarray:
    """(N, k, k) scalar blocks to (N, k·d, k·d) with each entry times I_d, in [p, v, ...] layout."""
    n_, k, _ = blocks.shape
    out = np.zeros((n_, k * d, k * d))
    for i in range(k):
        for j in range(k):
            for a in range(d):
                out[:, i * d + a, j * d + a] = blocks[:, i, j]
    return out


def _sandwich(F: np.ndarray, P: np.ndarray) -> np.ndarray:
    """F P Fᵀ for stacks (N, n, n)."""
    return F @ P @ np.swapaxes(F, -1, -2)


def scale_noise(Q: np.ndarray, q_scale, omega: bool = False) -> np.ndarray:
    """Q (N, n, n) with each track's acceleration noise times its factor ``q_scale`` (N,); None: Q itself.

    With ``omega`` (a turn-rate state last) the turn-rate term Q[-1, -1] keeps its value: the
    adaptive factor (``adaptive_q``) learns how straight a track flies, while the IMM's turn mode
    must stay able to pick up a turn's onset and the CV mode's ω reset stays what it asserts.
    """
    if q_scale is None:
        return Q
    s = np.asarray(q_scale, dtype=float).reshape(-1, 1, 1)
    if not omega:
        return Q * s
    out = Q.copy()
    out[:, :-1, :-1] *= s
    return out


def _steps(dt, shape) -> np.ndarray:
    """Time steps (s) as a float array of ``shape``: ``dt`` itself when it is one already (no broadcast)."""
    if isinstance(dt, np.ndarray) and dt.dtype == np.float64 and dt.shape == shape:
        return dt
    return np.broadcast_to(np.asarray(dt, dtype=float), shape)


def _basis(*entries, n: int) -> np.ndarray:
    """A stack of constant (n, n) matrices, one per list of (row, col) positions set to one.

    Transition and noise matrices are sums of per-step scalars times such constant patterns;
    building them as ``Σ scalar (N,1,1) × pattern (n,n)`` takes a few whole-array operations
    instead of one indexed assignment per entry (the per-scan cost of a one-track picture). Each
    entry is covered by one pattern only, so the sums are exact (x + 0 = x).
    """
    B = np.zeros((len(entries), n, n))
    for k, pos in enumerate(entries):
        for i, j in pos:
            B[k, i, j] = 1.0
    return B


@dataclass(frozen=True)
class ConstantVelocity:
    """Nearly constant velocity: white-noise acceleration of power spectral density ``q`` (m²/s³).

    F = [[I, T·I], [0, I]],  Q = q [[T³/3·I, T²/2·I], [T²/2·I, T·I]]  (Bar-Shalom §6.2.2).
    With ``turn_rate=True`` the state carries ω as a last element that the motion ignores, so the
    model shares the CT layout inside an IMM: a random walk of density ``q_omega``, or, with
    ``omega_sigma`` (rad/s), reset at every step to 0 ± ``omega_sigma``. The reset is what a CV mode
    asserts (no turn); without it the CV mode would carry an unobserved turn rate whose prior
    variance the IMM's mixing hands on to the CT mode, inflating its covariance on straight flight.
    """

    d: int = 2
    q: float = 1.0
    turn_rate: bool = False
    q_omega: float = 1e-8
    omega_sigma: float | None = None

    @property
    def n(self) -> int:
        return 2 * self.d + (1 if self.turn_rate else 0)

    name = "cv"

    def _patterns(self):
        """Constant patterns of F (I, the T entries) and Q (T³/3, T²/2, T, ω entries), built once."""
        cache = self.__dict__.get("_pat")
        if cache is None:
            d, n = self.d, self.n
            eye = [(i, i) for i in range(n)]
            if self.turn_rate and self.omega_sigma is not None:
                eye = eye[:-1]
            F = _basis(eye, [(a, d + a) for a in range(d)], n=n)
            Q = _basis([(a, a) for a in range(d)], [(a, d + a) for a in range(d)] + [(d + a, a) for a in range(d)],
                       [(d + a, d + a) for a in range(d)], [(n - 1, n - 1)] if self.turn_rate else [], n=n)
            cache = (F, Q)
            object.__setattr__(self, "_pat", cache)
        return cache

    def matrices(self, dt: np.ndarray):
        dt = np.asarray(dt, dtype=float).reshape(-1, 1, 1)
        Fb, Qb = self._patterns()
        F = Fb[0] + dt * Fb[1]
        Q = (self.q * dt**3 / 3) * Qb[0] + (self.q * dt**2 / 2) * Qb[1] + (self.q * dt) * Qb[2]
        if self.turn_rate:
            if self.omega_sigma is None:
                Q = Q + (self.q_omega * dt) * Qb[3]
            else:   # flying straight means ω = 0: the carried turn rate is reset to 0 ± omega_sigma
                Q = Q + self.omega_sigma**2 * Qb[3]
        return F, Q

    def predict(self, x: np.ndarray, P: np.ndarray, dt: np.ndarray, q_scale=None):
        """(x, P) predicted over ``dt`` (N,) s; ``q_scale`` (N,) multiplies each track's Q."""
        F, Q = self.matrices(dt)
        return np.einsum("nij,nj->ni", F, x), _sandwich(F, P) + scale_noise(Q, q_scale, self.turn_rate)

    def f(self, x: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """The transition applied to states (…, n) with time steps broadcastable to (…)."""
        d = self.d
        out = x.copy()
        out[..., :d] = x[..., :d] + np.asarray(dt)[..., None] * x[..., d:2 * d]
        if self.turn_rate and self.omega_sigma is not None:
            out[..., -1] = 0.0
        return out


@dataclass(frozen=True)
class ConstantAcceleration:
    """Nearly constant acceleration: white-noise jerk of density ``q`` (m²/s⁵) (Bar-Shalom §6.2.3).

    F = [[I, T, T²/2], [0, I, T], [0, 0, I]],
    Q = q [[T⁵/20, T⁴/8, T³/6], [T⁴/8, T³/3, T²/2], [T³/6, T²/2, T]] ⊗ I.
    """

    d: int = 2
    q: float = 1.0
    name = "ca"

    @property
    def n(self) -> int:
        return 3 * self.d

    def matrices(self, dt: np.ndarray):
        T = np.asarray(dt, dtype=float)
        one, zero = np.ones_like(T), np.zeros_like(T)
        Fb = np.stack([
            np.stack([one, T, T**2 / 2], -1),
            np.stack([zero, one, T], -1),
            np.stack([zero, zero, one], -1),
        ], 1)
        Qb = self.q * np.stack([
            np.stack([T**5 / 20, T**4 / 8, T**3 / 6], -1),
            np.stack([T**4 / 8, T**3 / 3, T**2 / 2], -1),
            np.stack([T**3 / 6, T**2 / 2, T], -1),
        ], 1)
        return _kron_blocks(Fb, self.d), _kron_blocks(Qb, self.d)

    def predict(self, x, P, dt, q_scale=None):
        F, Q = self.matrices(dt)
        return np.einsum("nij,nj->ni", F, x), _sandwich(F, P) + scale_noise(Q, q_scale)

    def f(self, x, dt):
        d = self.d
        T = np.asarray(dt)[..., None]
        out = x.copy()
        out[..., :d] = x[..., :d] + T * x[..., d:2 * d] + 0.5 * T**2 * x[..., 2 * d:]
        out[..., d:2 * d] = x[..., d:2 * d] + T * x[..., 2 * d:]
        return out


@dataclass(frozen=True)
class CoordinatedTurn:
    """Horizontal coordinated turn with unknown turn rate ω (rad/s), extended-Kalman linearised.

    For the horizontal pair (x, y, vx, vy) over a step T (Bar-Shalom eq. 11.7.1-4):
        x' = x + sin(ωT)/ω·vx − (1 − cos ωT)/ω·vy,   vx' = cos ωT·vx − sin ωT·vy,
        y' = y + (1 − cos ωT)/ω·vx + sin(ωT)/ω·vy,   vy' = sin ωT·vx + cos ωT·vy,   ω' = ω,
    with the ω → 0 limit taken by series. The vertical pair (3-D) moves with constant velocity.
    Process noise: white acceleration of density ``q`` (m²/s³) on every axis and a turn-rate
    random walk of density ``q_omega`` (rad²/s³).
    """

    d: int = 2
    q: float = 1.0
    q_omega: float = 1e-4
    name = "ct"

    @property
    def n(self) -> int:
        return 2 * self.d + 1

    @staticmethod
    def _coeffs(w, T):
        if np.size(w) == 1 and np.size(T) == 1:
            return CoordinatedTurn._coeffs_one(float(np.reshape(w, -1)[0]), float(np.reshape(T, -1)[0]), np.shape(w))
        wt = w * T
        small = np.abs(wt) < 1e-4
        ws = np.where(small, 1.0, w)
        s, c = np.sin(wt), np.cos(wt)
        # a = sin(ωT)/ω, b = (1 − cos ωT)/ω and their ω-derivatives, series near ω = 0
        a = np.where(small, T - w**2 * T**3 / 6, s / ws)
        b = np.where(small, w * T**2 / 2 - w**3 * T**4 / 24, (1 - c) / ws)
        da = np.where(small, -w * T**3 / 3, (T * c) / ws - s / ws**2)
        db = np.where(small, T**2 / 2 - w**2 * T**4 / 8, (T * s) / ws - (1 - c) / ws**2)
        return a, b, s, c, da, db

    @staticmethod
    def _coeffs_one(w: float, T: float, shape):
        """:meth:`_coeffs` of a single track in Python floats (a one-track scan: no array overhead)."""
        wt = w * T
        s, c = math.sin(wt), math.cos(wt)
        if abs(wt) < 1e-4:
            a, b = T - w**2 * T**3 / 6, w * T**2 / 2 - w**3 * T**4 / 24
            da, db = -w * T**3 / 3, T**2 / 2 - w**2 * T**4 / 8
        else:
            a, b = s / w, (1 - c) / w
            da, db = (T * c) / w - s / w**2, (T * s) / w - (1 - c) / w**2
        return tuple(np.array([a, b, s, c, da, db]).reshape(6, *shape))

    def f(self, x, dt, coeffs=None):
        d = self.d
        T = _steps(dt, x.shape[:-1])
        w = x[..., -1]
        a, b, s, c, _, _ = coeffs if coeffs is not None else self._coeffs(w, T)
        return _turn_step(x, d, T, a, b, s, c)

    def jacobian(self, x, dt, coeffs=None):
        d, n = self.d, self.n
        N = x.shape[0]
        T = _steps(dt, (N,))
        w = x[:, -1]
        a, b, s, c, da, db = coeffs if coeffs is not None else self._coeffs(w, T)
        vx, vy = x[:, d], x[:, d + 1]
        F = np.tile(np.eye(n), (N, 1, 1))
        F[:, 0, d], F[:, 0, d + 1], F[:, 0, -1] = a, -b, da * vx - db * vy
        F[:, 1, d], F[:, 1, d + 1], F[:, 1, -1] = b, a, db * vx + da * vy
        F[:, d, d], F[:, d, d + 1], F[:, d, -1] = c, -s, -T * (s * vx + c * vy)
        F[:, d + 1, d], F[:, d + 1, d + 1], F[:, d + 1, -1] = s, c, T * (c * vx - s * vy)
        if d == 3:
            F[:, 2, 5] = T
        return F

    def noise(self, dt):
        """Q (N, n, n) for steps ``dt`` (N,) s (white acceleration ``q`` on every axis, ω's random walk)."""
        T = np.asarray(dt, dtype=float).reshape(-1, 1, 1)
        B = self.__dict__.get("_pat")
        if B is None:
            d, n = self.d, self.n
            B = _basis([(k, k) for k in range(d)], [(k, d + k) for k in range(d)] + [(d + k, k) for k in range(d)],
                       [(d + k, d + k) for k in range(d)], [(n - 1, n - 1)], n=n)
            object.__setattr__(self, "_pat", B)
        return (self.q * T**3 / 3) * B[0] + (self.q * T**2 / 2) * B[1] + (self.q * T) * B[2] + (self.q_omega * T) * B[3]

    def predict(self, x, P, dt, q_scale=None):
        """(x, P) predicted over ``dt`` (N,) s by the EKF; ``q_scale`` (N,) multiplies each track's Q."""
        T = _steps(dt, (x.shape[0],))
        k = self._coeffs(x[:, -1], T)
        F = self.jacobian(x, T, k)
        return self.f(x, T, k), _sandwich(F, P) + scale_noise(self.noise(T), q_scale, True)


@dataclass(frozen=True)
class FixedRateTurn:
    """Coordinated turn at a *known* rate ``omega`` (rad/s, positive to the left): a linear model.

    On the CT layout [p, v, ω] (so it can sit in an IMM with :class:`CoordinatedTurn` and the CV
    mode), over a step T, with a = sin(ω₀T)/ω₀, b = (1 − cos ω₀T)/ω₀ (series near ω₀ = 0):
        x' = x + a·vx − b·vy,   vx' = cos ω₀T·vx − sin ω₀T·vy,
        y' = y + b·vx + a·vy,   vy' = sin ω₀T·vx + cos ω₀T·vy,
    the exact step of a turn at ω₀ (Bar-Shalom et al. 2001, eq. 11.7.1-4 with ω known), the
    vertical pair (3-D) at constant velocity. The carried turn rate is reset to ω₀ ± ``omega_sigma``
    (rad/s) at every step: what the mode asserts, and what an ω-estimating CT mode mixed from it
    starts from. Process noise: white acceleration of density ``q`` (m²/s³) on every axis, in the
    CV model's discretised form (Bar-Shalom §6.2.2; exact for ω₀ = 0, its error is of order
    (ω₀T)² for a turning one). With a near-zero ``q`` the mode keeps the memory of a whole turn
    flown at its rate.
    """

    d: int = 2
    q: float = 0.1
    omega: float = 0.0
    omega_sigma: float = 0.01
    turn_rate = True   # the carried ω is last: adaptive Q's factor leaves its term alone (scale_noise)

    @property
    def n(self) -> int:
        return 2 * self.d + 1

    @property
    def name(self) -> str:
        return f"ct{np.degrees(self.omega):+g}"

    def _patterns(self):
        """Constant patterns of F (1, a, b, s, c, T entries) and Q (T³/3, T²/2, T, ω entries), built once."""
        cache = self.__dict__.get("_pat")
        if cache is None:
            d, n = self.d, self.n
            vx, vy = d, d + 1
            one = [(0, 0), (1, 1)] + ([(2, 2), (5, 5)] if d == 3 else [])
            F = _basis(one, [(0, vx), (1, vy)], [(0, vy)], [(1, vx)], [(vx, vy)], [(vy, vx)], [(vx, vx), (vy, vy)],
                       [(2, 5)] if d == 3 else [], n=n)
            Q = _basis([(k, k) for k in range(d)], [(k, d + k) for k in range(d)] + [(d + k, k) for k in range(d)],
                       [(d + k, d + k) for k in range(d)], [(n - 1, n - 1)], n=n)
            cache = (F, Q)
            object.__setattr__(self, "_pat", cache)
        return cache

    def _coeffs(self, T):
        """a, b, sin ω₀T, cos ω₀T for steps T (array, s)."""
        w = self.omega
        wt = w * T
        s, c = np.sin(wt), np.cos(wt)
        if abs(w) * float(np.max(np.abs(T), initial=0.0)) < 1e-4:
            return T - w**2 * T**3 / 6, w * T**2 / 2 - w**3 * T**4 / 24, s, c
        return s / w, (1 - c) / w, s, c

    def matrices(self, dt):
        """F (N, n, n) and Q (N, n, n) for steps ``dt`` (N,) s."""
        T = np.asarray(dt, dtype=float).reshape(-1)
        if T.size > 1:   # a scan predicts nearly every track over the same step: build each distinct step once
            steps, which = np.unique(T, return_inverse=True)
            if steps.size < T.size:
                F, Q = self.matrices(steps)
                which = which.reshape(-1)
                return F[which], Q[which]
        T = T.reshape(-1, 1, 1)
        a, b, s, c = self._coeffs(T)
        Fb, Qb = self._patterns()
        F = Fb[0] + a * Fb[1] - b * Fb[2] + b * Fb[3] - s * Fb[4] + s * Fb[5] + c * Fb[6] + T * Fb[7]
        Q = (self.q * T**3 / 3) * Qb[0] + (self.q * T**2 / 2) * Qb[1] + (self.q * T) * Qb[2] + self.omega_sigma**2 * Qb[3]
        return F, Q

    def predict(self, x, P, dt, q_scale=None):
        """(x, P) predicted over ``dt`` (N,) s; ``q_scale`` (N,) multiplies each track's acceleration noise."""
        F, Q = self.matrices(dt)
        xp = np.einsum("nij,nj->ni", F, x)
        xp[:, -1] = self.omega
        return xp, _sandwich(F, P) + scale_noise(Q, q_scale, True)

    def f(self, x, dt):
        """The transition applied to states (…, n) with time steps broadcastable to (…)."""
        d = self.d
        T = np.asarray(dt, dtype=float)
        a, b, s, c = self._coeffs(T)
        out = _turn_step(x, d, T, a, b, s, c)
        out[..., -1] = self.omega
        return out


def _turn_step(x, d: int, T, a, b, s, c):
    """States (…, n) moved one coordinated-turn step: the plane's position by the coefficients
    a = sin(ωT)/ω, b = (1 − cos(ωT))/ω (s), its velocity rotated by s = sin(ωT), c = cos(ωT); in 3-D
    the height at constant vertical velocity over T (s). Returns a new array."""
    vx, vy = x[..., d], x[..., d + 1]
    out = x.copy()
    out[..., 0] = x[..., 0] + a * vx - b * vy
    out[..., 1] = x[..., 1] + b * vx + a * vy
    out[..., d] = c * vx - s * vy
    out[..., d + 1] = s * vx + c * vy
    if d == 3:
        out[..., 2] = x[..., 2] + T * x[..., 5]
    return out


def make_model(name: str, d: int, q: float, q_omega: float = 1e-4):
    """A motion model by name: 'cv', 'ca', 'ct' (``q`` its noise density, see each class)."""
    if name == "cv":
        return ConstantVelocity(d=d, q=q)
    if name == "ca":
        return ConstantAcceleration(d=d, q=q)
    if name == "ct":
        return CoordinatedTurn(d=d, q=q, q_omega=q_omega)
    raise ValueError(f"unknown motion model {name!r} (expected cv, ca or ct)")
