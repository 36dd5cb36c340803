"""Estimation errors over assigned truth-track pairs: RMSE and ANEES with its chi-square interval.

State vectors follow the order of the tracks.jsonl fields: [x, y, vx, vy] in 2-D and
[x, y, z, vx, vy, vz] in 3-D (metres, metres per second); a track's ``cov`` is the row-major
covariance of that vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2


def rmse(errors: np.ndarray) -> float:
    """Root mean square of error vectors (K, d): sqrt( sum_k |e_k|^2 / K ); NaN when K = 0. Units of e."""
    e = np.asarray(errors, dtype=float)
    if e.size == 0:
        return float("nan")
    e = e.reshape(e.shape[0], -1)
    return float(np.sqrt(np.einsum("kd,kd->", e, e) / e.shape[0]))


def position_velocity_errors(truth_states: np.ndarray, track_states: np.ndarray, dims: int):
    """Position (K, dims) and velocity (K, dims) errors track - truth for already paired states (K, 2 dims)."""
    e = np.asarray(track_states, dtype=float) - np.asarray(truth_states, dtype=float)
    return e[:, :dims], e[:, dims: 2 * dims]


def nees(errors: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised estimation error squared e' P^-1 e for errors (K, n) and covariances (K, n, n).

    Returns (nees, ok): ``ok`` is False where P is not symmetric positive definite (by a Cholesky
    factorisation), and nees is NaN there. Dimensionless; for a consistent estimator NEES ~ chi2(n).
    """
    e = np.asarray(errors, dtype=float)
    P = np.asarray(covs, dtype=float)
    k = e.shape[0]
    out = np.full(k, np.nan)
    ok = np.zeros(k, dtype=bool)
    if k == 0:
        return out, ok
    P = 0.5 * (P + np.swapaxes(P, -1, -2))
    try:
        L = np.linalg.cholesky(P)
        good = np.all(np.isfinite(L), axis=(1, 2))
    except np.linalg.LinAlgError:
        good = np.zeros(k, dtype=bool)
        for idx in range(k):  # only on failure: find which ones are not positive definite
            try:
                np.linalg.cholesky(P[idx])
                good[idx] = True
            except np.linalg.LinAlgError:
                pass
        L = np.zeros_like(P)
        if good.any():
            L[good] = np.linalg.cholesky(P[good])
    if good.any():
        # e' P^-1 e = |L^-1 e|^2 with P = L L'
        w = np.linalg.solve(L[good], e[good][:, :, None])[:, :, 0]
        out[good] = np.einsum("kn,kn->k", w, w)
        ok[good] = True
    return out, ok


@dataclass(frozen=True)
class AneesResult:
    """ANEES = (1/K) sum_k NEES_k over K pairs of state dimension n; expected value n if consistent.

    ``interval_95`` is the two-sided 95 % acceptance interval for ANEES under consistency:
    K * ANEES ~ chi2(K n), so [chi2.ppf(0.025, K n) / K, chi2.ppf(0.975, K n) / K]
    (Bar-Shalom, Li & Kirubarajan, "Estimation with Applications to Tracking and Navigation",
    2001, sec. 5.4.2). ``skipped`` counts pairs whose covariance was not positive definite.
    """

    anees: float
    count: int
    dim: int
    interval_95: tuple[float, float]
    skipped: int = 0

    @property
    def consistent(self) -> bool:
        lo, hi = self.interval_95
        return bool(lo <= self.anees <= hi)


def anees_interval(count: int, dim: int, level: float = 0.95) -> tuple[float, float]:
    """Acceptance interval of ANEES for K = ``count`` pairs of dimension n = ``dim``: chi2(K n) quantiles / K."""
    if count <= 0:
        return (float("nan"), float("nan"))
    a = (1.0 - level) / 2.0
    dof = count * dim
    return (float(chi2.ppf(a, dof) / count), float(chi2.ppf(1.0 - a, dof) / count))


def anees_from_sum(nees_sum: float, count: int, dim: int, skipped: int = 0) -> AneesResult:
    """ANEES from an accumulated sum of NEES over ``count`` pairs (streaming use)."""
    value = nees_sum / count if count else float("nan")
    return AneesResult(float(value), int(count), int(dim), anees_interval(count, dim), int(skipped))


def anees(errors: np.ndarray, covs: np.ndarray) -> AneesResult:
    """ANEES of state errors (K, n) (estimate - truth) with their covariances (K, n, n)."""
    e = np.asarray(errors, dtype=float)
    v, ok = nees(e, covs)
    return anees_from_sum(float(v[ok].sum()), int(ok.sum()), e.shape[1] if e.ndim == 2 else 0, int((~ok).sum()))
