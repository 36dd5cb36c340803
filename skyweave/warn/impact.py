"""Impact (and launch) prediction with its uncertainty: the unscented transform of "fly to the ground".

Given a ballistic estimate (x, P) in ECEF at time t, the 2n+1 scaled sigma points of (x, P) are
flown by the deterministic ballistic motion (:func:`skyweave.warn.dynamics.rk4`) until each
crosses the ellipsoid (height 0); the centre point's crossing is the predicted impact, and the
others' east/north offsets from it give its 2×2 covariance and the impact time's spread (the
unscented transform, Julier & Uhlmann 2004, centred on the median of a skewed map). The 95 % ellipse on the ground
has semi-axes √(χ²₂(0.95) λᵢ) for the eigenvalues λᵢ of that covariance; its orientation is the
major axis' direction, degrees clockwise from north in [0, 180).

The same flight run backwards in time gives the ballistic launch point (the point where the
free-flight trajectory meets the ground going back), which lies down-range of the true launch
site by the boost's ground distance; an infrared launch cue gives the true site where there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.geo import ecef2geodetic, enu_rotation
from skyweave.geo.earth import height_above_ellipsoid_fast
from skyweave.track.filters import psd_sqrt
from skyweave.warn.dynamics import rk4

CHI2_2_95 = 5.991464547107979
#: sigma points of the impact prediction at ±α√n = ±1.98 standard deviations of the 7 states: about
#: where a 95 % region reaches along each of them
ALPHA = 0.75
#: below this height (m) the flight to the ground takes steps of at most ATMOSPHERE_STEP_S (s)
ATMOSPHERE_M = 80_000.0
ATMOSPHERE_STEP_S = 3.0


@dataclass
class GroundPoint:
    """A predicted ground crossing: mean (lat, lon deg, t s), east/north covariance (m²), time variance (s²)."""

    lat: float
    lon: float
    t: float
    cov_en: np.ndarray
    var_t: float
    ok: bool

    def ellipse(self, prob_chi2: float = CHI2_2_95):
        """(semi_major_m, semi_minor_m, orientation_deg clockwise from north) of the 95 % ellipse."""
        w, V = np.linalg.eigh(0.5 * (self.cov_en + self.cov_en.T))
        w = np.maximum(w, 0.0)
        major = V[:, 1]  # (east, north)
        orient = np.degrees(np.arctan2(major[0], major[1])) % 180.0
        return float(np.sqrt(prob_chi2 * w[1])), float(np.sqrt(prob_chi2 * w[0])), float(orient)


def sigma_points(x: np.ndarray, P: np.ndarray, alpha: float = 1.0, beta: float = 2.0, kappa: float = 0.0):
    """Scaled sigma points (2n+1, n) and weights (Wm, Wc) of a Gaussian (x, P)."""
    n = x.size
    lam = alpha**2 * (n + kappa) - n
    L = psd_sqrt(((n + lam) * P)[None])[0]
    X = np.vstack([x, x + L.T, x - L.T])
    wm = np.full(2 * n + 1, 0.5 / (n + lam))
    wc = wm.copy()
    wm[0] = lam / (n + lam)
    wc[0] = wm[0] + 1 - alpha**2 + beta
    return X, wm, wc


def fly_to_ground(X: np.ndarray, direction: float = 1.0, max_time_s: float = 4000.0):
    """Fly states X (K, 7) forwards (direction +1) or backwards (−1) until each reaches height 0.

    Returns crossing times offsets (K,) (s, signed) and ECEF crossing points (K, 3); NaN where a
    state does not come down within ``max_time_s``. Steps adapt to the time the lowest state
    needs to reach the ground: 10 s in space down to 0.5 s near it; the crossing is interpolated
    linearly within the last step (the path is straight to a few metres over half a second).
    """
    X = np.array(X, dtype=float)
    K = len(X)
    t_cross = np.full(K, np.nan)
    r_cross = np.full((K, 3), np.nan)
    alive = height_above_ellipsoid_fast(X[:, :3]) > 0.0
    t = 0.0
    while alive.any() and abs(t) < max_time_s:
        xa = X[alive]
        h = height_above_ellipsoid_fast(xa[:, :3])
        radial = np.einsum("ij,ij->i", xa[:, :3], xa[:, 3:6]) / np.linalg.norm(xa[:, :3], axis=1)
        falling = direction * radial < 0
        ttg = np.where(falling, h / np.maximum(-direction * radial, 1.0), np.inf)
        step = float(np.clip(0.5 * ttg.min(), 0.5, 10.0))
        if h.min() < ATMOSPHERE_M:  # drag: the deceleration changes fast (10 s steps: 60-80 m off)
            step = min(step, ATMOSPHERE_STEP_S)
        new = rk4(xa, direction * step, max_step_s=10.0)
        h_new = height_above_ellipsoid_fast(new[:, :3])
        down = h_new <= 0.0
        if down.any():
            frac = h[down] / np.maximum(h[down] - h_new[down], 1e-9)
            idx = np.flatnonzero(alive)[down]
            t_cross[idx] = t + direction * step * frac
            r_cross[idx] = xa[down, :3] + frac[:, None] * (new[down, :3] - xa[down, :3])
        X[alive] = new
        alive_idx = np.flatnonzero(alive)
        alive[alive_idx[down]] = False
        t += direction * step
    return t_cross, r_cross


def predict_ground(x: np.ndarray, P: np.ndarray, t_now: float, direction: float = 1.0, alpha: float = ALPHA,
                   worse_side: bool = True) -> GroundPoint:
    """Unscented prediction of where and when the ballistic estimate (x, P) at t_now meets the ground.

    The predicted point and time are those of the centre sigma point (the estimate itself flown to
    the ground): the map from state to impact is skewed, mostly by the drag coefficient (a
    log-normal unknown), and the centre point is its median, where the unscented mean would be
    pulled toward the long tail. The covariance is the unscented one about that centre, with the
    sigma points at ±α√(n+κ) standard deviations (α = 0.75: ±1.98 σ, where a 95 % region reaches).
    With ``worse_side`` each pair of sigma points counts its farther crossing on both sides: the
    drag's prior is log-normal and a blunt warhead falls much shorter than a slender one falls
    long, so the symmetric average would leave the long side outside the 95 % ellipse through the
    whole midcourse; where the map is straight both are the same.
    """
    X, wm, wc = sigma_points(np.asarray(x, dtype=float), np.asarray(P, dtype=float), alpha=alpha)
    dt, r = fly_to_ground(X, direction)
    ok = np.isfinite(dt)
    if not ok.all():
        return GroundPoint(np.nan, np.nan, np.nan, np.full((2, 2), np.nan), np.nan, False)
    lat0, lon0, _ = ecef2geodetic(r[0, 0], r[0, 1], r[0, 2])
    rot = enu_rotation(float(lat0), float(lon0))
    en = ((r - r[0]) @ rot.T)[:, :2]
    tt = dt - dt[0]
    if worse_side:
        # each pair of sigma points (x ± sᵢ) counts twice its farther crossing: a skewed map's
        # long side sets the ellipse's reach in that direction (the same as the plain unscented
        # covariance where the map is straight)
        n = (len(X) - 1) // 2
        far = np.linalg.norm(en[1:n + 1], axis=1) >= np.linalg.norm(en[n + 1:], axis=1)
        en[1:n + 1] = np.where(far[:, None], en[1:n + 1], -en[n + 1:])
        en[n + 1:] = -en[1:n + 1]
        late = np.abs(tt[1:n + 1]) >= np.abs(tt[n + 1:])
        tt[1:n + 1] = np.where(late, tt[1:n + 1], -tt[n + 1:])
        tt[n + 1:] = -tt[1:n + 1]
    cov = (wc[1:, None, None] * en[1:, :, None] * en[1:, None, :]).sum(axis=0)
    var_t = float(np.sum(wc[1:] * tt[1:] ** 2))
    return GroundPoint(float(lat0), float(lon0), t_now + float(dt[0]), cov, max(var_t, 0.0), True)
