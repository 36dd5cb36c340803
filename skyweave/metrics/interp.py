"""Truth states between two truth instants, by cubic Hermite interpolation of position and velocity.

Truth files give a state per target per truth instant (e.g. every 1 s) while track files give
tracks at detection times. To score a track time t that falls between truth instants t0 < t < t1,
the truth state at t is interpolated from the states at t0 and t1 with the cubic Hermite
polynomial that matches both positions and both velocities:

    u = (t - t0) / h,  h = t1 - t0
    p(t) = h00(u) p0 + h h10(u) v0 + h01(u) p1 + h h11(u) v1
    v(t) = dp/dt = (h00'(u) p0 + h01'(u) p1) / h + h10'(u) v0 + h11'(u) v1

with h00 = 2u^3 - 3u^2 + 1, h10 = u^3 - 2u^2 + u, h01 = -2u^3 + 3u^2, h11 = u^3 - u^2. It is exact
for constant-velocity and constant-acceleration motion (where linear interpolation of position is
exact only for constant velocity) and its error on a coordinated turn is O(h^4).
"""

from __future__ import annotations

import numpy as np


def hermite_states(t: float, t0: float, s0: np.ndarray, t1: float, s1: np.ndarray, dims: int) -> np.ndarray:
    """States (N, 2 dims) [pos..., vel...] at time t (s) from paired states s0 at t0 and s1 at t1 (m, m/s)."""
    s0 = np.asarray(s0, dtype=float)
    s1 = np.asarray(s1, dtype=float)
    h = float(t1) - float(t0)
    if h <= 0:
        return s0.copy()
    u = (float(t) - float(t0)) / h
    p0, v0 = s0[:, :dims], s0[:, dims: 2 * dims]
    p1, v1 = s1[:, :dims], s1[:, dims: 2 * dims]
    u2, u3 = u * u, u * u * u
    h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2
    d00, d10, d01, d11 = 6 * u2 - 6 * u, 3 * u2 - 4 * u + 1, -6 * u2 + 6 * u, 3 * u2 - 2 * u
    pos = h00 * p0 + h * h10 * v0 + h01 * p1 + h * h11 * v1
    vel = (d00 * p0 + d01 * p1) / h + d10 * v0 + d11 * v1
    return np.concatenate([pos, vel], axis=1)


def interpolate_truth(t: float, t0: float, ids0: np.ndarray, s0: np.ndarray, t1: float, ids1: np.ndarray,
                      s1: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Truth ids and states at t0 < t < t1 for the truths present at both instants (ids unique per instant).

    A truth present at only one of the two instants was born or ended in between, and is left out.
    """
    ids0 = np.asarray(ids0)
    ids1 = np.asarray(ids1)
    common, i0, i1 = np.intersect1d(ids0, ids1, assume_unique=True, return_indices=True)
    if common.size == 0:
        return common, np.zeros((0, 2 * dims))
    order = np.argsort(i1, kind="stable")  # keep the order of the later instant
    i0, i1 = i0[order], i1[order]
    return ids1[i1], hermite_states(t, t0, s0[i0], t1, s1[i1], dims)
