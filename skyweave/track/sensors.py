"""From a sensor's description and one scan's measured columns to what the filters use.

:class:`SensorInfo` holds what the tracker knows of a sensor (position, noise, P_D, clutter,
coverage); :func:`build_scan` turns one scan's columns (degrees and metres as in the files) into
a :class:`MeasurementScan`: measurement vectors z in radians and metres, their covariances R, the
measurement model, the clutter density λ in measurement space and the coverage test that says
which tracks the scan should have seen (a miss counts only there).

Sensor descriptions are duck-typed (any object with the attributes of sensors.json's fields), so
this numerical room stays free of file formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyweave.geo import LocalFrame, above_radar_horizon, enu_rotation, sensor_transform
from skyweave.track.measurement import CartesianMeasurement, PolarMeasurement

#: range-rate span (m/s) over which a radar's false alarms spread, for the clutter density
RANGE_RATE_SPAN = 800.0
#: default elevation band (deg) of false alarms when a radar's field of view does not say
DEFAULT_EL_BAND = (0.0, 20.0)


@dataclass
class SensorInfo:
    """The tracker's derived view of one :class:`~skyweave.core.model.SensorSpec`.

    Built once per sensor by :meth:`from_spec`; nothing here is a second description. Units are
    converted (bearing, elevation and field-of-view angles from degrees to radians), defaults
    applied (the tracker's configured P_D and clutter where the spec gives none, 500 km where it
    gives no ``max_range_m``, ``z`` 0 in 2-D), the extras the tracker uses lifted out
    (``sigma_alt_m``, ``fov_az_deg``, ``fov_el_deg``) and an ``index`` added (the sensor's place
    in the tracker's list). Distances in metres, ``period_s`` in seconds, ``sigma_range_rate`` in
    m/s.
    """

    index: int
    id: str
    kind: str
    nation: str
    dims: int
    position: np.ndarray            # scenario ENU (3,) for a fixed sensor
    moving: bool
    pd: float
    clutter_per_scan: float
    period_s: float | None
    max_range_m: float
    sigma_range_m: float | None = None
    sigma_bearing: float | None = None      # rad
    sigma_elevation: float | None = None    # rad
    sigma_range_rate: float | None = None
    sigma_m: float | None = None
    sigma_alt_m: float | None = None
    fov_az: tuple[float, float] | None = None   # rad, clockwise sector [from, to]
    fov_el: tuple[float, float] | None = None   # rad
    releasable_to: tuple[str, ...] = ()
    _transform: tuple | None = field(default=None, repr=False)
    _last_platform: tuple | None = field(default=None, repr=False)

    @classmethod
    def from_spec(cls, index: int, spec, dims: int, default_pd: float, default_clutter: float) -> "SensorInfo":
        """The view of ``spec`` (a SensorSpec, or any object with its attributes) as sensor ``index``."""
        ex = getattr(spec, "extra", {}) or {}

        def rad(v):
            return None if v is None else float(np.radians(v))

        def pair(key):
            v = ex.get(key)
            return None if v is None else (float(np.radians(v[0])), float(np.radians(v[1])))

        return cls(
            index=index, id=spec.id, kind=spec.kind, nation=spec.nation, dims=dims,
            position=np.array([spec.x, spec.y, spec.z or 0.0], dtype=float), moving=bool(spec.moving),
            pd=default_pd if spec.pd is None else float(spec.pd),
            clutter_per_scan=default_clutter if spec.clutter_per_scan is None else float(spec.clutter_per_scan),
            period_s=spec.period_s, max_range_m=float(spec.max_range_m or 500_000.0),
            sigma_range_m=spec.sigma_range_m, sigma_bearing=rad(spec.sigma_bearing_deg),
            sigma_elevation=rad(spec.sigma_elevation_deg), sigma_range_rate=spec.sigma_range_rate_mps,
            sigma_m=spec.sigma_m, sigma_alt_m=ex.get("sigma_alt_m"), fov_az=pair("fov_az_deg"), fov_el=pair("fov_el_deg"),
            releasable_to=tuple(spec.releasable_to),
        )

    def transform(self, frame: LocalFrame | None, pos: np.ndarray | None):
        """(R_s, t_s) of the sensor frame at platform position ``pos`` (or its fixed position)."""
        if pos is None:
            if self._transform is None:
                self._transform = sensor_transform(frame if self.dims == 3 else None, self.position)
            return self._transform
        return sensor_transform(frame if self.dims == 3 else None, pos)


@dataclass
class MeasurementScan:
    """One scan ready for the filters: z (M, m), R (M, m, m), the model, and what management needs."""

    sensor: SensorInfo
    t: float
    model: object
    z: np.ndarray
    R: np.ndarray
    identity: np.ndarray                 # (M,) int64, -1 unknown
    clutter_density: float               # λ per unit measurement-space volume
    platform: np.ndarray | None = None   # scenario position (3,) of a moving sensor at t
    lines: np.ndarray | None = None      # source line numbers, for diagnostics

    def __len__(self) -> int:
        return int(self.z.shape[0])

    @property
    def pd(self) -> float:
        return self.sensor.pd


def _measurement_volume(info: SensorInfo, has_el: bool, has_rr: bool) -> float:
    if info.kind == "radar":
        az_width = 2 * np.pi if info.fov_az is None else ((info.fov_az[1] - info.fov_az[0]) % (2 * np.pi) or 2 * np.pi)
        v = info.max_range_m * az_width
        if has_el:
            lo, hi = info.fov_el if info.fov_el is not None else tuple(np.radians(DEFAULT_EL_BAND))
            v *= max(hi - lo, 1e-3)
        if has_rr:
            v *= RANGE_RATE_SPAN
        return v
    area = np.pi * info.max_range_m**2
    return area * (15_000.0 if info.dims == 3 else 1.0)


def _rotations(lat, lon) -> np.ndarray:
    """ENU rotation matrices (M, 3, 3) at arrays of latitudes/longitudes (deg)."""
    la, lo = np.radians(lat), np.radians(lon)
    sl, cl, so, co = np.sin(la), np.cos(la), np.sin(lo), np.cos(lo)
    z = np.zeros_like(la)
    return np.stack([
        np.stack([-so, co, z], -1),
        np.stack([-sl * co, -sl * so, cl], -1),
        np.stack([cl * co, cl * so, sl], -1),
    ], 1)


def _per_detection(col, default: float, M: int) -> np.ndarray:
    """(M,) 1-σ values: ``col`` (metres, NaN where a detection gives none) with ``default`` filled in."""
    if col is None:
        return np.full(M, default)
    s = np.asarray(col, dtype=float)
    return np.where(np.isnan(s), default, s)


def build_scan(info: SensorInfo, t: float, cols: dict, frame: LocalFrame | None, identity=None,
               platform: np.ndarray | None = None, lines=None) -> MeasurementScan | None:
    """A :class:`MeasurementScan` from one scan's columns (file units), or None for a kind the air tracker does not use (ir)."""
    d = info.dims
    if info.kind == "ir":
        return None
    M = len(next(iter(cols.values())))
    ident = np.full(M, -1, dtype=np.int64) if identity is None else np.asarray(identity, dtype=np.int64)
    if info.kind == "radar":
        has_el = "elevation_deg" in cols and d == 3
        has_rr = "range_rate_mps" in cols and info.sigma_range_rate is not None
        zc = [cols["range_m"], np.radians(cols["bearing_deg"])]
        sig = [info.sigma_range_m, info.sigma_bearing]
        if has_el:
            zc.append(np.radians(cols["elevation_deg"]))
            sig.append(info.sigma_elevation if info.sigma_elevation is not None else np.radians(0.5))
        if has_rr:
            zc.append(cols["range_rate_mps"])
            sig.append(info.sigma_range_rate)
        z = np.stack([np.asarray(c, dtype=float) for c in zc], -1)
        R = np.broadcast_to(np.diag(np.square(sig)), (M, len(sig), len(sig))).copy()
        rot, shift = info.transform(frame, platform)
        v_plat = np.zeros(3)
        if platform is not None:
            last = info._last_platform
            if last is not None and t > last[0]:
                v_plat = (platform - last[1]) / (t - last[0])
            info._last_platform = (t, np.array(platform, dtype=float))
        model = PolarMeasurement(d=d, rot=rot, shift=shift, has_elevation=has_el, has_range_rate=has_rr, v_platform=v_plat)
        lam = info.clutter_per_scan / _measurement_volume(info, has_el, has_rr)
        return MeasurementScan(info, t, model, z, R, ident, max(lam, 1e-30), platform, lines)
    if info.kind == "cartesian":
        m = 3 if (d == 3 and "z" in cols) else 2
        z = np.stack([np.asarray(cols[k], dtype=float) for k in ("x", "y", "z")[:m]], -1)
        s = np.asarray(cols["sigma_m"], dtype=float) if "sigma_m" in cols else np.full(M, info.sigma_m or 50.0)
        R = np.eye(m)[None] * (s**2)[:, None, None]
        model = CartesianMeasurement(d=d, m=m)
        lam = info.clutter_per_scan / _measurement_volume(info, False, False)
        return MeasurementScan(info, t, model, z, R, ident, max(lam, 1e-30), platform, lines)
    if info.kind == "adsb":
        if frame is None:
            raise ValueError(f"ADS-B sensor {info.id} needs a scenario origin to place lat/lon positions")
        lat, lon, alt = (np.asarray(cols[k], dtype=float) for k in ("lat", "lon", "alt"))
        p = frame.from_geodetic(lat, lon, alt).reshape(M, 3)
        # each report's own 1-σ (its NACp/NUCp, columns sigma_m / sigma_alt_m) where it gives one
        # (NaN: not given), else the sensor's figure
        sh = _per_detection(cols.get("sigma_m"), info.sigma_m or 30.0, M)
        sv = _per_detection(cols.get("sigma_alt_m"), info.sigma_alt_m or 8.0, M)
        # covariance diag(σh², σh², σv²) in each target's own ENU axes, rotated into the scenario frame
        rel = frame.rotation @ np.swapaxes(_rotations(lat, lon), 1, 2)   # v_scenario = rel v_local
        local = np.zeros((M, 3, 3))
        local[:, 0, 0] = local[:, 1, 1] = sh**2
        local[:, 2, 2] = sv**2
        C = rel @ local @ np.swapaxes(rel, 1, 2)
        m = 3 if d == 3 else 2
        model = CartesianMeasurement(d=d, m=m)
        lam = 1e-30  # a transponder report is never clutter
        return MeasurementScan(info, t, model, p[:, :m], C[:, :m, :m], ident, lam, platform, lines)
    raise ValueError(f"unknown sensor kind {info.kind!r}")


def position_sigma_bound(scan: MeasurementScan, pos: np.ndarray) -> np.ndarray:
    """An upper bound (m) of a measurement's Cartesian standard deviation at track positions (N, d)."""
    info = scan.sensor
    if isinstance(scan.model, PolarMeasurement):
        s = scan.model.sensor_position[: pos.shape[1]]
        rho = np.linalg.norm(pos - s, axis=1)
        ang2 = (info.sigma_bearing or 0.0) ** 2 + (info.sigma_elevation or 0.0) ** 2 if scan.model.has_elevation else (info.sigma_bearing or 0.0) ** 2
        return np.sqrt((info.sigma_range_m or 0.0) ** 2 + rho**2 * ang2)
    tr = np.trace(scan.R, axis1=1, axis2=2)
    return np.full(len(pos), np.sqrt(tr.max()) if len(tr) else 0.0)


def _covers(info: SensorInfo, rot, shift, centre, pos: np.ndarray, identity: np.ndarray, frame: LocalFrame | None) -> np.ndarray:
    """Which positions (N, d) sensor ``info`` can detect from its frame (``rot``, ``shift``) or ``centre`` (scenario m)."""
    N, d = pos.shape
    if info.kind == "radar":
        p3 = np.zeros((N, 3))
        p3[:, :d] = pos
        ps = p3 @ rot.T + shift
        if d == 2:
            ps[:, 2] = 0.0
        g = np.hypot(ps[:, 0], ps[:, 1])
        r = np.hypot(g, ps[:, 2])
        ok = r <= info.max_range_m
        if info.fov_az is not None:
            az = np.mod(np.arctan2(ps[:, 0], ps[:, 1]), 2 * np.pi)
            a0, a1 = info.fov_az
            width = (a1 - a0) % (2 * np.pi) or 2 * np.pi
            ok &= np.mod(az - a0, 2 * np.pi) <= width
        if d == 3 and info.fov_el is not None:
            el = np.arctan2(ps[:, 2], g)
            ok &= (el >= info.fov_el[0]) & (el <= info.fov_el[1])
        if d == 3 and frame is not None and ok.any():
            sp = -shift @ rot
            idx = np.flatnonzero(ok)
            s_e = frame.to_ecef(sp)
            t_e = frame.to_ecef(p3[idx])
            _, _, hs = frame.to_geodetic(sp)
            _, _, ht = frame.to_geodetic(p3[idx])
            ok[idx] = above_radar_horizon(s_e, hs, t_e, ht)
        return ok
    if info.kind == "ir":
        return np.zeros(N, dtype=bool)       # infrared cues are not air-tracker detections
    ok = np.linalg.norm(pos - centre[:d], axis=1) <= info.max_range_m
    if info.kind == "adsb":
        ok &= identity >= 0
    return ok


def in_coverage(scan: MeasurementScan, pos: np.ndarray, identity: np.ndarray, frame: LocalFrame | None) -> np.ndarray:
    """Which tracks (positions (N, d)) the scan should have detected: range, field of view, radar horizon; ADS-B only cooperative ones."""
    info = scan.sensor
    if pos.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    if isinstance(scan.model, PolarMeasurement):
        return _covers(info, scan.model.rot, scan.model.shift, None, pos, identity, frame)
    centre = scan.platform if scan.platform is not None else scan.sensor.position
    return _covers(info, None, None, centre, pos, identity, frame)


def in_any_coverage(sensors, pos: np.ndarray, identity: np.ndarray, frame: LocalFrame | None) -> np.ndarray:
    """Which positions (N, d) some sensor of ``sensors`` (SensorInfo) could detect now.

    A moving sensor is placed where its last scan was made; one that has not reported yet counts
    as covering everywhere (nothing is concluded from a sensor whose position is unknown).
    """
    N = pos.shape[0]
    seen = np.zeros(N, dtype=bool)
    for info in sensors:
        if seen.all():
            break
        if info.kind == "ir":
            continue
        platform = None
        if info.moving:
            if info._last_platform is None:
                return np.ones(N, dtype=bool)
            platform = info._last_platform[1]
        rest = np.flatnonzero(~seen)
        if info.kind == "radar":
            rot, shift = info.transform(frame, platform)
            seen[rest] = _covers(info, rot, shift, None, pos[rest], identity[rest], frame)
        else:
            centre = platform if platform is not None else info.position
            seen[rest] = _covers(info, None, None, centre, pos[rest], identity[rest], frame)
    return seen


__all__ = ["SensorInfo", "MeasurementScan", "build_scan", "in_coverage", "in_any_coverage", "position_sigma_bound", "enu_rotation"]
