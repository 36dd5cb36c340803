"""Kalman filters, batched: KF/EKF and UKF prediction and update over stacks of tracks.

Names are the textbook's (Bar-Shalom et al. 2001, §5.2, §10.3; Julier & Uhlmann 2004 for the
unscented transform): state x (N, n), covariance P (N, n, n), measurement z, predicted
measurement ẑ, innovation y = z − ẑ, innovation covariance S = P_zz + R, gain K = P_xz S⁻¹.

Every filter first forms a :class:`MeasurementPrediction` (ẑ, P_zz without R, P_xz) per track;
gating, GNN updates and JPDA's combined update all work from it, so the EKF (Jacobians) and the
UKF (sigma points) plug into the same tracker. For linear models the EKF is exactly the Kalman
filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.track.motion import scale_noise


@dataclass
class MeasurementPrediction:
    """Per-track predicted measurement ẑ (N, m), its covariance P_zz (N, m, m, without R) and P_xz (N, n, m)."""

    zhat: np.ndarray
    Pzz: np.ndarray
    Pxz: np.ndarray

    def take(self, idx) -> "MeasurementPrediction":
        return MeasurementPrediction(self.zhat[idx], self.Pzz[idx], self.Pxz[idx])


def symmetrise(P: np.ndarray) -> np.ndarray:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


def psd_sqrt(P: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack (N, n, n); eigen-clipped where a matrix is not positive definite."""
    try:
        return np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(symmetrise(P))
        w = np.maximum(w, 1e-9 * np.maximum(w.max(axis=-1, keepdims=True), 1e-12))
        return V * np.sqrt(w)[..., None, :]


class KalmanFilter:
    """KF / EKF: linear(ised) prediction with the model's F (Jacobian for CT), update with the measurement Jacobian H.

    P_zz = H P Hᵀ, P_xz = P Hᵀ (Bar-Shalom §10.3.2).
    """

    name = "ekf"

    def __init__(self, motion):
        self.motion = motion

    def predict(self, x, P, dt, q_scale=None):
        """Predicted (x, P) over ``dt`` (N,) s; ``q_scale`` (N,) multiplies each track's process noise."""
        return self.motion.predict(x, P, dt, q_scale)

    def predict_measurement(self, meas, x, P) -> MeasurementPrediction:
        H = meas.jacobian(x)
        Ht = np.swapaxes(H, 1, 2)
        Pxz = P @ Ht
        mp = MeasurementPrediction(meas.h(x), H @ Pxz, Pxz)
        return _consider_altitude(meas, mp, x, P, second_order=True)


class UnscentedKalmanFilter:
    """UKF with the scaled unscented transform (α, β, κ) for both prediction and measurement.

    Sigma points χ = x ± √((n+λ)P) columns, λ = α²(n+κ) − n; weights W_m, W_c as in Julier &
    Uhlmann (2004), Wan & van der Merwe (2000). Angle components of ẑ are averaged as residuals
    about the central sigma point, so azimuths near north do not average to south.
    """

    name = "ukf"

    def __init__(self, motion, alpha: float = 0.5, beta: float = 2.0, kappa: float = 0.0):
        self.motion = motion
        self.alpha, self.beta, self.kappa = alpha, beta, kappa

    def _weights(self, n):
        lam = self.alpha**2 * (n + self.kappa) - n
        wm = np.full(2 * n + 1, 0.5 / (n + lam))
        wc = wm.copy()
        wm[0] = lam / (n + lam)
        wc[0] = wm[0] + 1 - self.alpha**2 + self.beta
        return lam, wm, wc

    def sigma_points(self, x, P):
        n = x.shape[-1]
        lam, wm, wc = self._weights(n)
        L = psd_sqrt((n + lam) * P)                       # (N, n, n)
        cols = np.swapaxes(L, 1, 2)                       # rows are the columns of L
        X = np.concatenate([x[:, None, :], x[:, None, :] + cols, x[:, None, :] - cols], axis=1)
        return X, wm, wc

    def predict(self, x, P, dt, q_scale=None):
        m = self.motion
        X, wm, wc = self.sigma_points(x, P)
        dt = np.asarray(dt, dtype=float)
        Y = m.f(X, dt[:, None])
        xp = np.einsum("k,nki->ni", wm, Y)
        D = Y - xp[:, None, :]
        Pp = np.einsum("k,nki,nkj->nij", wc, D, D)
        Q = m.noise(dt) if hasattr(m, "noise") else m.matrices(dt)[1]
        omega = m.name == "ct" or bool(getattr(m, "turn_rate", False))
        return xp, symmetrise(Pp + scale_noise(Q, q_scale, omega))

    def predict_measurement(self, meas, x, P) -> MeasurementPrediction:
        X, wm, wc = self.sigma_points(x, P)
        N, K, n = X.shape
        Z = meas.h(X.reshape(N * K, n)).reshape(N, K, -1)
        Dz = meas.residual(Z, np.broadcast_to(Z[:, :1, :], Z.shape).copy())
        zhat = Z[:, 0, :] + np.einsum("k,nki->ni", wm, Dz)
        mask = meas.angle_mask
        if mask.any():
            zhat[:, mask] = np.mod(zhat[:, mask], 2 * np.pi)
        Dz = meas.residual(Z, np.broadcast_to(zhat[:, None, :], Z.shape).copy())
        Dx = X - x[:, None, :]
        Pzz = np.einsum("k,nki,nkj->nij", wc, Dz, Dz)
        Pxz = np.einsum("k,nki,nkj->nij", wc, Dx, Dz)
        return _consider_altitude(meas, MeasurementPrediction(zhat, Pzz, Pxz), x, P, second_order=False)


def _consider_altitude(meas, mp: MeasurementPrediction, x, P, second_order: bool) -> MeasurementPrediction:
    """Unobserved altitude held as consider states where the model says so (see measurement.py)."""
    test = getattr(meas, "altitude_unobserved", None)
    free = test(P) if test is not None else None
    if free is None or not free.any():
        return mp
    return meas.consider_altitude(mp, x, P, free, second_order)


def make_filter(name: str, motion):
    if name in ("ekf", "kf"):
        return KalmanFilter(motion)
    if name == "ukf":
        return UnscentedKalmanFilter(motion)
    raise ValueError(f"unknown filter {name!r} (expected ekf, kf or ukf)")


def innovations(meas, mp: MeasurementPrediction, z: np.ndarray, R: np.ndarray):
    """Innovations y (K, m), covariances S (K, m, m) and S⁻¹ for pairs whose rows of ``mp`` and ``z``/``R`` align."""
    y = meas.residual(z, mp.zhat)
    S = mp.Pzz + R
    Si = np.linalg.inv(S)
    return y, S, Si


def update(x, P, mp: MeasurementPrediction, y, S, Si, consider: np.ndarray | None = None):
    """Kalman update of aligned rows: K = P_xz S⁻¹, x⁺ = x + K y, P⁺ = P − K S Kᵀ (symmetrised).

    ``consider`` (n,) marks state components held as *consider parameters* (Schmidt 1966): their
    gain rows are zero, so the measurement does not move them while their uncertainty still
    enters every other component; the covariance then takes the general form for a suboptimal
    gain, P⁺ = P − K P_xzᵀ − P_xz Kᵀ + K S Kᵀ.
    """
    K = mp.Pxz @ Si
    if consider is not None and np.any(consider):
        K = K.copy()
        K[:, consider, :] = 0.0
        Kt = np.swapaxes(K, 1, 2)
        x_new = x + np.einsum("nij,nj->ni", K, y)
        P_new = P - K @ np.swapaxes(mp.Pxz, 1, 2) - mp.Pxz @ Kt + K @ S @ Kt
        return x_new, symmetrise(P_new)
    x_new = x + np.einsum("nij,nj->ni", K, y)
    P_new = symmetrise(P - K @ S @ np.swapaxes(K, 1, 2))
    return x_new, P_new


def pda_update(x, P, mp: MeasurementPrediction, S, Si, y_pairs, beta_pairs, pair_track, beta0):
    """Probabilistic data association update (Bar-Shalom, Daum & Huang 2009, eqs. 35-38), batched.

    For track t with association probabilities β_j (pairs) and β₀ (no detection), with the
    combined innovation ν = Σ β_j ν_j:
        x⁺ = x + K ν,   P⁺ = β₀ P + (1 − β₀)(P − K S Kᵀ) + K (Σ β_j ν_j ν_jᵀ − ν νᵀ) Kᵀ.
    ``x``, ``P``, ``mp``, ``S``, ``Si``, ``beta0`` are per track (T rows); ``y_pairs`` (K, m),
    ``beta_pairs`` (K,) and ``pair_track`` (K,) index into those rows.
    """
    T, m = x.shape[0], y_pairs.shape[1]
    nu = np.zeros((T, m))
    np.add.at(nu, pair_track, beta_pairs[:, None] * y_pairs)
    spread = np.zeros((T, m, m))
    np.add.at(spread, pair_track, beta_pairs[:, None, None] * y_pairs[:, :, None] * y_pairs[:, None, :])
    spread -= nu[:, :, None] * nu[:, None, :]
    K = mp.Pxz @ Si
    Kt = np.swapaxes(K, 1, 2)
    x_new = x + np.einsum("nij,nj->ni", K, nu)
    Pc = P - K @ S @ Kt
    b0 = beta0[:, None, None]
    P_new = b0 * P + (1.0 - b0) * Pc + K @ spread @ Kt
    return x_new, symmetrise(P_new)
