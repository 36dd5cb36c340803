"""Covariance intersection (CI), batched over groups of tracks.

Partners' tracks of one object have errors correlated in ways no node knows (common process
noise, shared history, a partner's track that already fused ours), so the independent-errors
combination P⁻¹ = Σ Pᵢ⁻¹ is overconfident. CI (Julier & Uhlmann, "A non-divergent estimation
algorithm in the presence of unknown correlations", Proc. ACC 1997) is consistent for *any*
cross-correlation:

    P⁻¹ = Σᵢ ωᵢ Pᵢ⁻¹,     x = P Σᵢ ωᵢ Pᵢ⁻¹ xᵢ,     ωᵢ ≥ 0,  Σᵢ ωᵢ = 1,

with ω chosen to minimise a size of P: ``criterion='det'`` (the volume of the ellipsoid,
independent of the units of position and velocity: the default) or ``'trace'``.

Both objectives are convex in ω on the simplex (−ln det M and tr M⁻¹ are convex in the
information matrix M = Σ ωᵢJᵢ, which is affine in ω), so:

- two tracks (the usual case): the 1-D minimum is found exactly by a safeguarded Newton
  iteration on the derivative (bracketed, bisection fallback), batched over all pairs:
  det:   φ'(s) = −tr(M⁻¹D),          φ''(s) = tr(M⁻¹D M⁻¹D),
  trace: φ'(s) = −tr(M⁻¹D M⁻¹),      φ''(s) = 2 tr(M⁻¹D M⁻¹D M⁻¹),   D = J₁ − J₂;
- more tracks, ``method='exact'``: pairwise coordinate descent on the simplex (move weight
  between two tracks at a time by that same exact line search, sweeping all pairs until the
  weights stop moving), started from the fast weights below. A convex function on the simplex is
  at its minimum exactly when no pairwise move improves it, so this converges to the optimum;
- ``method='ifci'``: the improved fast CI of Franken & Hüpper ("Improved fast covariance
  intersection for distributed data fusion", FUSION 2005), closed form with J = Σ Jⱼ:
  ωᵢ = [det J − det(J − Jᵢ) + det Jᵢ] / [n det J + Σⱼ (det Jⱼ − det(J − Jⱼ))];
- ``method='fast'``: Niehsen's fast CI (FUSION 2002), ωᵢ ∝ 1 / tr Pᵢ.

Units: whatever the states carry (here m and m/s); ω is dimensionless.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "information", "ci_objective", "ci_combine", "ci_weights", "covariance_intersection",
    "naive_fusion", "ifci_weights", "fast_weights",
]

CRITERIA = ("det", "trace")
METHODS = ("exact", "ifci", "fast")


def _sym(A: np.ndarray) -> np.ndarray:
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def information(P: np.ndarray) -> np.ndarray:
    """Information matrices J = P⁻¹ of a stack of covariances P (..., m, m), symmetrised.

    The inverse is taken once per update and shared by :func:`ci_weights` and
    :func:`ci_combine` (pass it as ``J``). ``(J + Jᵀ)/2`` removes the rounding asymmetry of the
    inverse so that every later sum of ωᵢJᵢ stays symmetric. Units: those of P, inverted
    (here 1/m², s/m², s²/m² blocks).
    """
    return _sym(np.linalg.inv(P))


def ci_objective(M: np.ndarray, criterion: str = "det") -> np.ndarray:
    """The size of P = M⁻¹ that CI minimises, from information matrices M (..., m, m).

    ``criterion='det'``: −ln det M (= ln det P); ``'trace'``: tr M⁻¹.
    """
    if criterion == "det":
        sign, logdet = np.linalg.slogdet(M)
        return np.where(sign > 0, -logdet, np.inf)
    return np.trace(np.linalg.inv(M), axis1=-2, axis2=-1)


def _inv(M: np.ndarray) -> np.ndarray:
    """Batched inverse that survives a numerically singular member (an extreme but valid pair
    such as 1e-13·I against diag(1e4, ..., 100) cancels to a zero matrix in floating point):
    those members take the pseudo-inverse; the others are exactly ``np.linalg.inv``'s."""
    try:
        return np.linalg.inv(M)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(M, hermitian=True)


def _derivs(M: np.ndarray, D: np.ndarray, criterion: str):
    """First and second derivative of the objective along M + s·D at s (batched (G, m, m))."""
    Mi = _inv(M)
    A = Mi @ D
    if criterion == "det":
        g = -np.trace(A, axis1=1, axis2=2)
        h = np.einsum("gij,gji->g", A, A)
    else:
        B = A @ Mi
        g = -np.trace(B, axis1=1, axis2=2)
        h = 2.0 * np.einsum("gij,gjk,gki->g", A, A, Mi)
    return g, h


def _line_min(M0: np.ndarray, D: np.ndarray, criterion: str, tol: float = 1e-10,
              max_iter: int = 60, M1: np.ndarray | None = None,
              s0: np.ndarray | None = None) -> np.ndarray:
    """argmin over s ∈ [0, 1] of the objective of M0 + s·D, batched; M0, M0 + D positive definite.

    ``M1``: the end point M0 + D computed directly (J₁ rather than J₂ + (J₁ − J₂)): for an
    extreme pair (1e-13·I against diag(1e4, ..., 100)) the sum cancels to zero in floating point
    and the derivative there would be taken at a singular matrix.

    The objective is convex in s, so its derivative is increasing: endpoints are taken when the
    derivative does not change sign (s = ½ when it is zero throughout: equal covariances), else
    the root is bracketed and found by Newton steps that fall back to bisection when they would
    leave the bracket. ``s0`` (G,): a starting point (a coordinate-descent sweep's current
    weights, or the last update's), used where it lies strictly inside [0, 1]; else the secant
    root. Each member stops once its own step is below ``tol``.
    """
    G = len(M0)
    s = np.zeros(G)
    if G == 0:
        return s
    g0, _ = _derivs(M0, D, criterion)
    g1, _ = _derivs(M0 + D if M1 is None else M1, D, criterion)
    flat = (g0 >= 0) & (g1 <= 0)          # g0 ≤ g1 by convexity, so both are 0: every s is optimal
    at0 = (g0 >= 0) & ~flat
    at1 = (g1 <= 0) & ~flat
    s[flat] = 0.5                         # the symmetric choice
    s[at1] = 1.0
    inner = np.flatnonzero(~at0 & ~at1 & ~flat)
    if len(inner) == 0:
        return s
    M0i, Di = M0[inner], D[inner]
    lo, hi = np.zeros(len(inner)), np.ones(len(inner))
    # start from the secant root of the derivative (exact for a quadratic objective), or s0
    si = np.clip(g0[inner] / (g0[inner] - g1[inner]), 0.0, 1.0)
    if s0 is not None:
        warm = np.asarray(s0, dtype=float)[inner]
        use = (warm > 0.0) & (warm < 1.0)
        si = np.where(use, warm, si)
    act = np.arange(len(inner))
    for _ in range(max_iter):
        sa = si[act]
        g, h = _derivs(M0i[act] + sa[:, None, None] * Di[act], Di[act], criterion)
        hi[act] = np.where(g > 0, sa, hi[act])
        lo[act] = np.where(g <= 0, sa, lo[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = sa - g / h
        ok = (h > 0) & (newton > lo[act]) & (newton < hi[act])
        nxt = np.where(ok, newton, 0.5 * (lo[act] + hi[act]))
        si[act] = nxt
        act = act[(np.abs(nxt - sa) >= tol) & (hi[act] - lo[act] >= tol)]
        if len(act) == 0:
            break
    s[inner] = si
    return s


def fast_weights(P: np.ndarray) -> np.ndarray:
    """Niehsen's fast CI weights (G, n): ωᵢ ∝ 1 / tr Pᵢ, from covariances (G, n, m, m)."""
    inv_tr = 1.0 / np.trace(P, axis1=-2, axis2=-1)
    return inv_tr / inv_tr.sum(axis=1, keepdims=True)


def ifci_weights(J: np.ndarray) -> np.ndarray:
    """Franken & Hüpper's improved fast CI weights (G, n) from information matrices (G, n, m, m).

    ωᵢ = [det J − det(J − Jᵢ) + det Jᵢ] / [n det J + Σⱼ (det Jⱼ − det(J − Jⱼ))], J = Σⱼ Jⱼ;
    determinants are taken relative to det J (the formula is homogeneous) so nothing overflows.
    """
    G, n, m, _ = J.shape
    Jt = J.sum(axis=1)
    _, ld = np.linalg.slogdet(Jt)
    scale = np.exp(ld / m)[:, None, None, None]
    Jn = J / scale
    Jtn = Jt / scale[:, 0]
    det_t = np.linalg.det(Jtn)                       # = 1 up to rounding
    det_i = np.linalg.det(Jn)                        # (G, n)
    det_rest = np.linalg.det(Jtn[:, None] - Jn)      # (G, n); 0 for n = 1
    num = det_t[:, None] - det_rest + det_i
    den = n * det_t + (det_i - det_rest).sum(axis=1)
    w = np.clip(num / den[:, None], 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def ci_weights(P: np.ndarray, criterion: str = "det", method: str = "exact", *,
               J: np.ndarray | None = None, tol: float = 1e-6, max_sweeps: int = 30,
               w0: np.ndarray | None = None) -> np.ndarray:
    """CI weights ω (G, n) for G groups of n covariances each (G, n, m, m) (module docstring).

    ``J``: their :func:`information` matrices, when the caller already has them. ``w0`` (G, n):
    exact weights to start from where a row is given (sums to 1; NaN rows: none), e.g. the last
    update's weights of the same members, which the optimum moves little from between two
    updates: the search then ends in a sweep or two of a few Newton steps each.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"CI criterion: expected one of {CRITERIA}, got {criterion!r}")
    if method not in METHODS:
        raise ValueError(f"CI method: expected one of {METHODS}, got {method!r}")
    P = np.asarray(P, dtype=float)
    G, n = P.shape[:2]
    if n == 1 or G == 0:
        return np.ones((G, n))
    if J is None:
        J = information(P)
    if method == "fast":
        return fast_weights(P)
    if method == "ifci":
        return ifci_weights(J)
    if w0 is not None:
        w0 = np.asarray(w0, dtype=float)
        good = np.isfinite(w0).all(axis=1) & (np.abs(w0.sum(axis=1) - 1.0) < 1e-6) & (w0 >= 0).all(axis=1)
    if n == 2:
        s0 = np.where(good, w0[:, 0], np.nan) if w0 is not None else None
        s = _line_min(J[:, 1], J[:, 0] - J[:, 1], criterion, M1=J[:, 0], s0=s0)
        return np.stack([s, 1.0 - s], axis=1)
    # exact for n >= 3: pairwise coordinate descent from the fast weights (or w0)
    w = ifci_weights(J)
    if w0 is not None and good.any():
        w[good] = w0[good]
    M = np.einsum("gn,gnij->gij", w, J)
    pairs = list(itertools.combinations(range(n), 2))
    for _ in range(max_sweeps):
        moved = 0.0
        for i, k in pairs:
            tot = w[:, i] + w[:, k]
            act = np.flatnonzero(tot > 1e-15)
            if len(act) == 0:
                continue
            ti = tot[act][:, None, None]
            base = M[act] - w[act, i, None, None] * J[act, i] - w[act, k, None, None] * J[act, k]
            M0 = base + ti * J[act, k]
            D = ti * (J[act, i] - J[act, k])
            s = _line_min(M0, D, criterion, M1=base + ti * J[act, i], s0=w[act, i] / tot[act])
            wi_new = s * tot[act]
            moved = max(moved, float(np.max(np.abs(wi_new - w[act, i]))))
            w[act, i] = wi_new
            w[act, k] = tot[act] - wi_new
            M[act] = M0 + s[:, None, None] * D
        if moved < tol:
            break
    return w


def ci_combine(x: np.ndarray, J: np.ndarray, w: np.ndarray):
    """Fused (x, P) from states (G, n, m), information matrices (G, n, m, m) and weights (G, n).

    P = (Σ ωᵢ Jᵢ)⁻¹,  x = P Σ ωᵢ Jᵢ xᵢ.
    """
    M = np.einsum("gn,gnij->gij", w, J)
    y = np.einsum("gn,gnij,gnj->gi", w, J, x)
    P = _sym(_inv(M))
    return np.einsum("gij,gj->gi", P, y), P


def covariance_intersection(x: np.ndarray, P: np.ndarray, criterion: str = "det",
                            method: str = "exact"):
    """CI of G groups of n estimates: states (G, n, m), covariances (G, n, m, m) → fused states
    x (G, m), covariances P (G, m, m) and weights ω (G, n).

    One group of estimates also works with x (n, m) and P (n, m, m) (returns x (m,), P (m, m),
    ω (n,)).
    """
    x = np.asarray(x, dtype=float)
    P = np.asarray(P, dtype=float)
    single = x.ndim == 2
    if single:
        x, P = x[None], P[None]
    J = information(P)
    w = ci_weights(P, criterion, method, J=J)
    xf, Pf = ci_combine(x, J, w)
    if single:
        return xf[0], Pf[0], w[0]
    return xf, Pf, w


def naive_fusion(x: np.ndarray, P: np.ndarray):
    """The independent-errors combination P = (Σ Pᵢ⁻¹)⁻¹, x = P Σ Pᵢ⁻¹ xᵢ (overconfident under
    correlated errors).

    For comparison in tests and benchmarks; shapes as :func:`covariance_intersection`.
    """
    x = np.asarray(x, dtype=float)
    P = np.asarray(P, dtype=float)
    single = x.ndim == 2
    if single:
        x, P = x[None], P[None]
    J = information(P)
    xf, Pf = ci_combine(x, J, np.ones(x.shape[:2]))
    return (xf[0], Pf[0]) if single else (xf, Pf)
