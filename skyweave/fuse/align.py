"""Time alignment: every source's track predicted to the common fusion time.

Partners report at their own times, some late, so before two tracks are compared or fused each
is carried to the fusion time t with the nearly-constant-velocity model (white acceleration of
power spectral density q, m²/s³; Bar-Shalom, Li & Kirubarajan 2001, §6.2.2):

    x(t) = F(Δ) x,   P(t) = F(Δ) P F(Δ)ᵀ + Q(|Δ|),   Δ = t − t_track (s),
    F(Δ) = [[I, Δ·I], [0, I]],   Q(T) = q [[T³/3·I, T²/2·I], [T²/2·I, T·I]].

A track newer than t (Δ < 0, a report stamped slightly ahead of the fusion clock) is
retrodicted with the same F(Δ) and the process noise of |Δ|, which keeps P positive definite
and no smaller than the track's own.
"""

from __future__ import annotations

import numpy as np

from skyweave.track.motion import ConstantVelocity

__all__ = ["predict_to"]


def predict_to(t: float, t_track: np.ndarray, x: np.ndarray, P: np.ndarray, q: float):
    """States (K, 2d) and covariances (K, 2d, 2d) at times ``t_track`` (s) carried to ``t`` (s) by CV with density ``q`` (m²/s³)."""
    x = np.asarray(x, dtype=float)
    P = np.asarray(P, dtype=float)
    if len(x) == 0:
        return x.copy(), P.copy()
    d = x.shape[1] // 2
    dt = float(t) - np.asarray(t_track, dtype=float)
    model = ConstantVelocity(d=d, q=float(q))
    F, _ = model.matrices(dt)
    _, Q = model.matrices(np.abs(dt))
    xp = np.einsum("kij,kj->ki", F, x)
    Pp = F @ P @ np.swapaxes(F, -1, -2) + Q
    return xp, 0.5 * (Pp + np.swapaxes(Pp, -1, -2))
