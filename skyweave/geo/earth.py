"""Earth models for objects in flight: J2 gravity, the rotating frame, and air density.

Everything is in the earth-centred earth-fixed (ECEF) frame, metres and seconds, vectorised over
leading axes (``r``, ``v`` of shape ``(..., 3)``). The truth simulator and the ballistic estimator
share these equations; an independent check integrates the same motion in an inertial frame.

References
----------
- D. A. Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013), §8.7: the J2
  acceleration a = −μr/|r|³ [1 + 3/2 J2 (Re/|r|)² (1 − 5 z²/|r|²)] (x, y) and
  [1 + 3/2 J2 (Re/|r|)² (3 − 5 z²/|r|²)] (z).
- Relative motion in a frame rotating at ω about z: a_rel = a − 2ω×v − ω×(ω×r) (Vallado §3.6).
- *U.S. Standard Atmosphere, 1976* (NOAA-S/T 76-1562): densities tabulated by geometric altitude;
  between the rows used here density is interpolated exponentially (a piecewise-constant scale
  height), within 2 % of the standard up to 150 km.
"""

from __future__ import annotations

import numpy as np

from skyweave.geo.wgs84 import A, GM, J2, OMEGA_EARTH

#: Geometric altitudes (m) and U.S. Standard Atmosphere 1976 densities there (kg/m³), from its table by geometric altitude.
_ATMOS_H = np.array([
    0.0, 2_000.0, 5_000.0, 8_000.0, 11_000.0, 15_000.0, 20_000.0, 25_000.0, 30_000.0, 40_000.0, 45_000.0, 50_000.0,
    60_000.0, 70_000.0, 80_000.0, 86_000.0, 90_000.0, 100_000.0, 120_000.0, 150_000.0,
])
_ATMOS_RHO = np.array([
    1.2250, 1.0066, 0.73643, 0.52517, 0.36480, 0.19476, 0.088910, 0.040084, 0.018410, 0.0039957, 0.0019663, 0.0010269,
    3.0968e-4, 8.2829e-5, 1.8458e-5, 6.958e-6, 3.416e-6, 5.604e-7, 2.222e-8, 2.076e-9,
])
_LOG_RHO = np.log(_ATMOS_RHO)

_OMEGA = np.array([0.0, 0.0, OMEGA_EARTH])


def gravity_j2(r: np.ndarray) -> np.ndarray:
    """Gravitational acceleration (m/s²) with the J2 zonal term at ECEF positions ``r`` (..., 3) m."""
    r = np.asarray(r, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    k = -GM / (r2 * rn)
    j = 1.5 * J2 * (A * A) / r2
    zz = 5.0 * z * z / r2
    fxy = k * (1.0 + j * (1.0 - zz))
    fz = k * (1.0 + j * (3.0 - zz))
    return np.stack([fxy * x, fxy * y, fz * z], axis=-1)


def gravity_potential_j2(r: np.ndarray) -> np.ndarray:
    """Gravitational potential U (m²/s², with a = −∇U) including J2: U = −μ/r [1 − J2/2 (Re/r)² (3 sin²φ − 1)]."""
    r = np.asarray(r, dtype=float)
    rn = np.linalg.norm(r, axis=-1)
    s2 = (r[..., 2] / rn) ** 2
    return -GM / rn * (1.0 - 0.5 * J2 * (A / rn) ** 2 * (3.0 * s2 - 1.0))


def frame_acceleration(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Coriolis plus centrifugal acceleration (m/s²) of the rotating ECEF frame: −2ω×v − ω×(ω×r)."""
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    w = OMEGA_EARTH
    # ω = (0, 0, w): ω×v = (−w vy, w vx, 0); ω×(ω×r) = (−w² x, −w² y, 0)
    ax = 2.0 * w * v[..., 1] + w * w * r[..., 0]
    ay = -2.0 * w * v[..., 0] + w * w * r[..., 1]
    return np.stack([ax, ay, np.zeros_like(ax)], axis=-1)


def air_density(h_m) -> np.ndarray:
    """Air density (kg/m³) at geometric altitude ``h_m`` (m): U.S. 1976 layers, exponential in between.

    Below sea level the lowest layer is extrapolated; above 150 km the last scale height continues.
    """
    h = np.asarray(h_m, dtype=float)
    i = np.clip(np.searchsorted(_ATMOS_H, h, side="right") - 1, 0, len(_ATMOS_H) - 2)
    h0, h1 = _ATMOS_H[i], _ATMOS_H[i + 1]
    l0, l1 = _LOG_RHO[i], _LOG_RHO[i + 1]
    return np.exp(l0 + (l1 - l0) * (h - h0) / (h1 - h0))


def height_above_ellipsoid_fast(r: np.ndarray) -> np.ndarray:
    """Approximate height (m) over the WGS-84 ellipsoid: |r| − ellipsoid radius at the geocentric latitude.

    Exact on the ellipsoid (zero height) and within 0.1 % of the geodetic height below 1,000 km,
    which is what an impact (h = 0) crossing and air density need; about 5× faster than the
    closed-form geodetic conversion.
    """
    from skyweave.geo.wgs84 import E2

    r = np.asarray(r, dtype=float)
    rn = np.linalg.norm(r, axis=-1)
    s2 = (r[..., 2] / rn) ** 2
    re = A * np.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - s2)))
    return rn - re
