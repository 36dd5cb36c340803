"""WGS-84 geodetic, ECEF and local east-north-up (ENU) frames, vectorised over numpy arrays.

Angles at this interface are in degrees, distances in metres. Every function accepts scalars or
arrays of any (broadcastable) shape and returns arrays of the broadcast shape.

References
----------
- NIMA TR8350.2, *Department of Defense World Geodetic System 1984*, 3rd ed. (2000): constants.
- J. Zhu, "Conversion of Earth-centered Earth-fixed coordinates to geodetic coordinates",
  IEEE Trans. AES 30(3), 1994; M. Heikkinen (1982): the closed-form ECEF -> geodetic used here,
  exact to well under a millimetre for any point outside the earth's centre region.
- ENU as in pymap3d's ``geodetic2enu``: the Cartesian frame tangent to the ellipsoid at the origin.
"""

from __future__ import annotations

import numpy as np

#: WGS-84 semi-major axis (m).
A = 6378137.0
#: WGS-84 flattening.
F = 1.0 / 298.257223563
#: Semi-minor axis (m).
B = A * (1.0 - F)
#: First eccentricity squared.
E2 = F * (2.0 - F)
#: Second eccentricity squared.
EP2 = E2 / (1.0 - E2)
#: Mean earth radius (m), IUGG R1.
R_MEAN = 6371008.8
#: Earth rotation rate (rad/s).
OMEGA_EARTH = 7.292115e-5
#: Earth gravitational parameter GM (m^3/s^2).
GM = 3.986004418e14
#: Second zonal harmonic J2 (unnormalised).
J2 = 1.08262668e-3


def geodetic2ecef(lat_deg, lon_deg, alt_m):
    """Geodetic (deg, deg, m) to ECEF (m): x = (N+h)cosφcosλ, y = (N+h)cosφsinλ, z = (N(1-e²)+h)sinφ."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    alt = np.asarray(alt_m, dtype=float)
    slat, clat = np.sin(lat), np.cos(lat)
    n = A / np.sqrt(1.0 - E2 * slat * slat)
    x = (n + alt) * clat * np.cos(lon)
    y = (n + alt) * clat * np.sin(lon)
    z = (n * (1.0 - E2) + alt) * slat
    return x, y, z


def ecef2geodetic(x, y, z):
    """ECEF (m) to geodetic (deg, deg, m) by Heikkinen's closed form (Zhu 1994, eqs. 1-16)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    p2 = x * x + y * y
    p = np.sqrt(p2)
    z2 = z * z
    f_ = 54.0 * B * B * z2
    g = p2 + (1.0 - E2) * z2 - E2 * (A * A - B * B)
    c = E2 * E2 * f_ * p2 / (g * g * g)
    s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f_ / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * E2 * E2 * pp)
    r0 = -(pp * E2 * p) / (1.0 + q) + np.sqrt(
        np.maximum(0.5 * A * A * (1.0 + 1.0 / q) - pp * (1.0 - E2) * z2 / (q * (1.0 + q)) - 0.5 * pp * p2, 0.0)
    )
    u = np.sqrt((p - E2 * r0) ** 2 + z2)
    v = np.sqrt((p - E2 * r0) ** 2 + (1.0 - E2) * z2)
    z0 = B * B * z / (A * v)
    alt = u * (1.0 - B * B / (A * v))
    lat = np.arctan2(z + EP2 * z0, p)
    lon = np.arctan2(y, x)
    return np.degrees(lat), np.degrees(lon), alt


def enu_rotation(lat0_deg, lon0_deg) -> np.ndarray:
    """Rotation matrix R (3x3) with enu = R @ (ecef - ecef0) at the origin (lat0, lon0) in degrees."""
    lat = np.radians(float(lat0_deg))
    lon = np.radians(float(lon0_deg))
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ]
    )


def ecef2enu(x, y, z, lat0, lon0, alt0):
    """ECEF (m) to ENU (m) tangent at the geodetic origin (deg, deg, m)."""
    r = enu_rotation(lat0, lon0)
    x0, y0, z0 = geodetic2ecef(lat0, lon0, alt0)
    dx = np.asarray(x, dtype=float) - x0
    dy = np.asarray(y, dtype=float) - y0
    dz = np.asarray(z, dtype=float) - z0
    e = r[0, 0] * dx + r[0, 1] * dy + r[0, 2] * dz
    n = r[1, 0] * dx + r[1, 1] * dy + r[1, 2] * dz
    u = r[2, 0] * dx + r[2, 1] * dy + r[2, 2] * dz
    return e, n, u


def enu2ecef(e, n, u, lat0, lon0, alt0):
    """ENU (m) tangent at the geodetic origin (deg, deg, m) to ECEF (m): ecef = ecef0 + Rᵀ enu."""
    r = enu_rotation(lat0, lon0)
    x0, y0, z0 = geodetic2ecef(lat0, lon0, alt0)
    e = np.asarray(e, dtype=float)
    n = np.asarray(n, dtype=float)
    u = np.asarray(u, dtype=float)
    x = x0 + r[0, 0] * e + r[1, 0] * n + r[2, 0] * u
    y = y0 + r[0, 1] * e + r[1, 1] * n + r[2, 1] * u
    z = z0 + r[0, 2] * e + r[1, 2] * n + r[2, 2] * u
    return x, y, z


def geodetic2enu(lat, lon, alt, lat0, lon0, alt0):
    """Geodetic (deg, deg, m) to ENU (m) about the geodetic origin (deg, deg, m)."""
    return ecef2enu(*geodetic2ecef(lat, lon, alt), lat0, lon0, alt0)


def enu2geodetic(e, n, u, lat0, lon0, alt0):
    """ENU (m) about the geodetic origin (deg, deg, m) to geodetic (deg, deg, m)."""
    return ecef2geodetic(*enu2ecef(e, n, u, lat0, lon0, alt0))


def enu2polar(e, n, u):
    """ENU (m) to (range m, azimuth deg clockwise from north in [0, 360), elevation deg)."""
    e = np.asarray(e, dtype=float)
    n = np.asarray(n, dtype=float)
    u = np.asarray(u, dtype=float)
    ground = np.hypot(e, n)
    rng = np.hypot(ground, u)
    az = np.mod(np.degrees(np.arctan2(e, n)), 360.0)
    el = np.degrees(np.arctan2(u, ground))
    return rng, az, el


def polar2enu(rng, az_deg, el_deg):
    """(range m, azimuth deg clockwise from north, elevation deg) to ENU (m)."""
    rng = np.asarray(rng, dtype=float)
    az = np.radians(np.asarray(az_deg, dtype=float))
    el = np.radians(np.asarray(el_deg, dtype=float))
    ground = rng * np.cos(el)
    return ground * np.sin(az), ground * np.cos(az), rng * np.sin(el)


class LocalFrame:
    """A local ENU frame tangent at a geodetic origin, with cached rotation for fast batch use.

    ``to_ecef(p)`` and ``from_ecef(p)`` take and return arrays of shape ``(..., 3)`` in metres.
    """

    __slots__ = ("lat0", "lon0", "alt0", "rotation", "origin_ecef")

    def __init__(self, lat0: float, lon0: float, alt0: float = 0.0):
        self.lat0 = float(lat0)
        self.lon0 = float(lon0)
        self.alt0 = float(alt0)
        self.rotation = enu_rotation(self.lat0, self.lon0)
        self.origin_ecef = np.array(geodetic2ecef(self.lat0, self.lon0, self.alt0), dtype=float)

    def __repr__(self) -> str:
        return f"LocalFrame(lat0={self.lat0}, lon0={self.lon0}, alt0={self.alt0})"

    def to_ecef(self, enu: np.ndarray) -> np.ndarray:
        """ENU points (..., 3) to ECEF (..., 3), metres."""
        return np.asarray(enu, dtype=float) @ self.rotation + self.origin_ecef

    def from_ecef(self, ecef: np.ndarray) -> np.ndarray:
        """ECEF points (..., 3) to ENU (..., 3), metres."""
        return (np.asarray(ecef, dtype=float) - self.origin_ecef) @ self.rotation.T

    def vector_to_ecef(self, v: np.ndarray) -> np.ndarray:
        """Rotate ENU vectors (velocities) (..., 3) to ECEF axes."""
        return np.asarray(v, dtype=float) @ self.rotation

    def vector_from_ecef(self, v: np.ndarray) -> np.ndarray:
        """Rotate ECEF vectors (velocities) (..., 3) to this frame's ENU axes."""
        return np.asarray(v, dtype=float) @ self.rotation.T

    def to_geodetic(self, enu: np.ndarray):
        """ENU points (..., 3) to (lat deg, lon deg, alt m) arrays."""
        x = self.to_ecef(enu)
        return ecef2geodetic(x[..., 0], x[..., 1], x[..., 2])

    def from_geodetic(self, lat, lon, alt) -> np.ndarray:
        """Geodetic (deg, deg, m) to ENU points (..., 3)."""
        x = np.stack(np.broadcast_arrays(*geodetic2ecef(lat, lon, alt)), axis=-1)
        return self.from_ecef(x)

    def transform_to(self, other: "LocalFrame"):
        """Affine map (R, t) with p_other = p_self @ R.T + t for points in this frame.

        Composing ENU(self) -> ECEF -> ENU(other) once lets a sensor convert a whole scan with
        one matrix product instead of two geodetic round trips.
        """
        rot = other.rotation @ self.rotation.T
        shift = other.rotation @ (self.origin_ecef - other.origin_ecef)
        return rot, shift

    def frame_at(self, enu_point) -> "LocalFrame":
        """The ENU frame tangent at a point given in this frame (e.g. a sensor's own frame)."""
        lat, lon, alt = self.to_geodetic(np.asarray(enu_point, dtype=float))
        return LocalFrame(float(lat), float(lon), float(alt))


def sensor_transform(origin: "LocalFrame | None", sensor_enu) -> tuple[np.ndarray, np.ndarray]:
    """Affine (R, t) taking scenario-ENU points p to the sensor's own ENU frame: p @ R.T + t.

    With ``origin`` None (a flat 2-D/3-D scenario without geodesy) the sensor frame is the
    scenario frame shifted to the sensor: R = I, t = -sensor position. Metres throughout.
    """
    s = np.zeros(3)
    sp = np.asarray(sensor_enu, dtype=float).ravel()
    s[: sp.size] = sp
    if origin is None:
        return np.eye(3), -s
    return origin.transform_to(origin.frame_at(s))
