"""Estimation errors over assigned truth-track pairs: RMSE and ANEES with its chi-square interval.

State vectors follow the order of the tracks.jsonl fields: [x, y, vx, vy] in 2-D and
[x, y, z, vx, vy, vz] in 3-D (metres, metres per second); a track's ``cov`` is the row-major
covariance of that vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    # chi2.ppf(p, k) = 2 P⁻¹(k/2, p) (P: the regularised lower incomplete gamma), the same
    # values without importing scipy.stats (about 0.3 s of `skyweave eval`'s start-up)
    from scipy.special import gammaincinv

    a = (1.0 - level) / 2.0
    dof = count * dim
    return (float(2.0 * gammaincinv(dof / 2.0, a) / count), float(2.0 * gammaincinv(dof / 2.0, 1.0 - a) / count))


def anees_from_sum(nees_sum: float, count: int, dim: int, skipped: int = 0) -> AneesResult:
    """ANEES from an accumulated sum of NEES over ``count`` pairs (streaming use)."""
    value = nees_sum / count if count else float("nan")
    return AneesResult(float(value), int(count), int(dim), anees_interval(count, dim), int(skipped))


class TrackNees:
    """Per-track NEES, streamed: is each track's own mean NEES consistent with its dimension n?

    A track's NEES samples are correlated in time (a filter's error decays over many updates) and
    heavy-tailed at manoeuvres, so the chi-square interval of independent samples is far too
    narrow for one track. The test here is the method of batch means: the track's samples, in
    order, are cut into batches of ``batch`` samples; the batch means are nearly independent, and
    the track is inside its 95 % bounds when n lies within its mean ± t(0.975, B − 1)·SE, with SE
    the standard error from the B batch means (Student's t). Above: over-confident (covariance too
    small for the errors); below: under-confident. Tracks with fewer than ``min_batches`` complete
    batches are not judged.
    """

    def __init__(self, batch: int = 20, min_batches: int = 3):
        self.batch = int(batch)
        self.min_batches = int(min_batches)
        self._cap = 0
        self._a: dict[str, np.ndarray] = {}
        self._grow(64)

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        for k in ("cur", "ncur", "nb", "b1", "b2"):
            a = np.zeros(cap)
            if k in self._a:
                a[: self._cap] = self._a[k]
            self._a[k] = a
        self._cap = cap

    def add(self, codes: np.ndarray, values: np.ndarray) -> None:
        """NEES ``values`` of the tracks ``codes`` (distinct non-negative integers) at one instant."""
        codes = np.asarray(codes, dtype=np.intp)
        if codes.size == 0:
            return
        if codes.max() >= self._cap:
            self._grow(int(codes.max()) + 1)
        a = self._a
        a["cur"][codes] += np.asarray(values, dtype=float)
        a["ncur"][codes] += 1
        full = codes[a["ncur"][codes] >= self.batch]
        if full.size:
            m = a["cur"][full] / a["ncur"][full]
            a["nb"][full] += 1
            a["b1"][full] += m
            a["b2"][full] += m * m
            a["cur"][full] = 0.0
            a["ncur"][full] = 0

    def result(self, dim: int) -> dict:
        """{"tracks", "inside", "above", "below"}: tracks judged and the shares of them."""
        a = self._a
        judged = a["nb"] >= self.min_batches
        k = int(judged.sum())
        if k == 0 or dim <= 0:
            return {"tracks": 0, "inside": float("nan"), "above": float("nan"), "below": float("nan")}
        from scipy.special import stdtrit

        nb = a["nb"][judged]
        mean = a["b1"][judged] / nb
        var = np.maximum((a["b2"][judged] - nb * mean**2) / (nb - 1), 0.0)
        half = stdtrit(nb - 1, 0.975) * np.sqrt(var / nb)
        above = mean - half > dim
        below = mean + half < dim
        return {"tracks": k, "inside": float(np.mean(~above & ~below)), "above": float(np.mean(above)),
                "below": float(np.mean(below))}


def anees(errors: np.ndarray, covs: np.ndarray) -> AneesResult:
    """ANEES of state errors (K, n) (estimate - truth) with their covariances (K, n, n)."""
    e = np.asarray(errors, dtype=float)
    v, ok = nees(e, covs)
    return anees_from_sum(float(v[ok].sum()), int(ok.sum()), e.shape[1] if e.ndim == 2 else 0, int((~ok).sum()))
