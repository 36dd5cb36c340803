"""Sensor models: from true states to the detections a sensor would report.

Every model is vectorised over targets: ``scan(t, states, rng)`` takes all targets' ENU states
(N, 6) at the scan time (NaN rows for targets that do not exist then) and returns a
:class:`Scan` of columns, one entry per detection, with the true target index kept beside it
(``-1`` for a false alarm) for tests and scoring only; the index is never written out.

Models
------
- ``radar``: range, azimuth (clockwise from north), elevation (3-D) and optional range rate in
  the sensor's own ENU frame; Gaussian noise; detection with probability ``pd`` when inside
  ``max_range_m``, the azimuth/elevation field of view and above the 4/3-earth radar horizon;
  Poisson(``clutter_per_scan``) false alarms uniform in the area (range ∝ √u) and sector.
  On a moving platform (a ship) the sensor position follows its route.
- ``adsb``: cooperative targets only (an ICAO address), geodetic position with horizontal noise
  ``sigma_m`` per axis (NACp-like) and altitude noise ``sigma_alt_m``, inside line-of-sight range.
- ``ir``: space-based infrared: sees only ballistic missiles in boost above ``min_alt_m`` (cloud
  tops), reports the plume's ground-projected position with ``sigma_m`` per axis.
- ``cartesian``: position in scenario ENU with ``sigma_m`` per axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyweave.geo import LocalFrame, above_radar_horizon, enu2polar, sensor_transform
from skyweave.scenario.motion import RoutePath, plane_from_geodetic, route_states
from skyweave.scenario.spec import SensorModel


@dataclass
class TargetTable:
    """What the sensors may know about each target beyond its state (index-aligned with states)."""

    ids: list[str]
    types: np.ndarray
    icao24: list[str | None]

    @property
    def cooperative(self) -> np.ndarray:
        return np.array([c is not None for c in self.icao24], dtype=bool)


@dataclass
class Scan:
    """One scan's detections as columns (name -> (M,) array) and their true target index (M,)."""

    sensor: str
    kind: str
    t: float
    columns: dict[str, np.ndarray]
    truth_index: np.ndarray
    sensor_pos: np.ndarray | None = None  # ENU position of a moving platform at t
    sensor_geo: tuple[float, float, float] | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.truth_index.size)


def _in_sector(az: np.ndarray, sector: tuple[float, float] | None) -> np.ndarray:
    """True where azimuth (deg) lies in the clockwise sector [from, to] (wrapping through north)."""
    if sector is None:
        return np.ones(az.shape, dtype=bool)
    a0, a1 = sector
    width = (a1 - a0) % 360.0 or 360.0
    return ((az - a0) % 360.0) <= width


def _sector_width(sector: tuple[float, float] | None) -> float:
    if sector is None:
        return 360.0
    return (sector[1] - sector[0]) % 360.0 or 360.0


class SensorSim:
    """The simulator's behaviour over a scenario's :class:`SensorModel`: platform, scan times, scans.

    The model is the description (its :class:`~skyweave.core.model.SensorSpec` plus the
    simulator's fields); this class holds no figure of its own, only the resolved platform (a
    fixed ENU position or a planned route) and caches, and turns true states into detections.
    """

    def __init__(self, model: SensorModel, frame: LocalFrame | None, dims: int, targets: TargetTable):
        self.model = model
        self.frame = frame
        self.dims = dims
        self.targets = targets
        self._route = None
        self._static_pos = None
        if model.moving:
            pts, alts = route_points(model.route, frame)
            self._route = RoutePath.plan(pts, alts, max(model.speed_mps, 0.1), bank_deg=10.0)
        elif model.kind != "ir":
            if model.lat is not None:
                self._static_pos = frame.from_geodetic(model.lat, model.lon, model.alt).astype(float)
            else:
                self._static_pos = np.array([model.x, model.y, model.z or 0.0], dtype=float)
        self._transform_cache = None

    # ------------------------------------------------------------------ platform

    def platform_state(self, t: float) -> np.ndarray:
        """Sensor platform ENU state (6,) at t (a moving platform holds its last point at the end)."""
        if self._route is None:
            return np.concatenate([self._static_pos if self._static_pos is not None else np.zeros(3), np.zeros(3)])
        m = self.model
        s_t = min(max(t, 0.0), self._route.length / max(m.speed_mps, 0.1))
        st = route_states(self._route, np.array([s_t]), 0.0, max(m.speed_mps, 0.1), 1.0, self.frame, self.dims)[0]
        if t * max(m.speed_mps, 0.1) > self._route.length:
            st[3:] = 0.0
        return st

    def _transform(self, pos: np.ndarray):
        if self._route is None and self._transform_cache is not None:
            return self._transform_cache
        tr = sensor_transform(self.frame if self.dims == 3 else None, pos)
        if self._route is None:
            self._transform_cache = tr
        return tr

    def scan_times(self, duration_s: float) -> np.ndarray:
        """Scan instants within the scenario (and the sensor's active window), seconds."""
        m = self.model
        t0, t1 = (m.active_s if m.active_s is not None else (0.0, duration_s))
        t1 = min(t1, duration_s)
        first = m.phase_s + np.ceil(max(t0 - m.phase_s, 0.0) / m.period_s) * m.period_s
        return np.arange(first, t1 + 1e-9, m.period_s)

    # ------------------------------------------------------------------ scans

    def scan(self, t: float, states: np.ndarray, rng: np.random.Generator, boosting: np.ndarray | None = None) -> Scan:
        kind = self.model.kind
        if kind == "radar":
            return self._radar(t, states, rng)
        if kind == "adsb":
            return self._adsb(t, states, rng)
        if kind == "ir":
            return self._ir(t, states, rng, boosting)
        return self._cartesian(t, states, rng)

    def _radar(self, t: float, states: np.ndarray, rng: np.random.Generator) -> Scan:
        m = self.model
        plat = self.platform_state(t)
        R, sh = self._transform(plat[:3])
        alive = ~np.isnan(states[:, 0])
        idx = np.flatnonzero(alive)
        p = states[idx, :3] @ R.T + sh
        v = (states[idx, 3:] - plat[3:]) @ R.T
        if self.dims == 2:
            p[:, 2] = 0.0
            v[:, 2] = 0.0
        rng_m, az, el = enu2polar(p[:, 0], p[:, 1], p[:, 2])
        visible = (rng_m <= m.max_range_m) & (rng_m > 1.0) & _in_sector(az, m.fov_az_deg)
        if self.dims == 3:
            if m.fov_el_deg is not None:
                visible &= (el >= m.fov_el_deg[0]) & (el <= m.fov_el_deg[1])
            visible &= self._above_horizon(plat[:3], states[idx, :3])
        rr = np.einsum("ij,ij->i", p, v) / np.maximum(rng_m, 1.0)
        detected = visible & (rng.random(idx.size) < m.pd)
        n = int(detected.sum())
        cols = {
            "range_m": rng_m[detected] + rng.normal(0.0, m.sigma_range_m, n),
            "bearing_deg": az[detected] + rng.normal(0.0, m.sigma_bearing_deg, n),
        }
        if self.dims == 3:
            cols["elevation_deg"] = el[detected] + rng.normal(0.0, m.sigma_elevation_deg, n)
        if m.sigma_range_rate_mps is not None:
            cols["range_rate_mps"] = rr[detected] + rng.normal(0.0, m.sigma_range_rate_mps, n)
        truth = idx[detected]
        # false alarms: Poisson count, uniform over the covered area (and elevation band)
        nf = int(rng.poisson(m.clutter_per_scan)) if m.clutter_per_scan > 0 else 0
        if nf:
            a0 = m.fov_az_deg[0] if m.fov_az_deg is not None else 0.0
            f_cols = {
                "range_m": m.max_range_m * np.sqrt(rng.random(nf)),
                "bearing_deg": a0 + _sector_width(m.fov_az_deg) * rng.random(nf),
            }
            if self.dims == 3:
                lo, hi = m.fov_el_deg if m.fov_el_deg is not None else (0.0, 20.0)
                f_cols["elevation_deg"] = rng.uniform(lo, hi, nf)
            if m.sigma_range_rate_mps is not None:
                f_cols["range_rate_mps"] = rng.uniform(-400.0, 400.0, nf)
            cols = {k: np.concatenate([cols[k], f_cols[k]]) for k in cols}
            truth = np.concatenate([truth, np.full(nf, -1)])
        cols["range_m"] = np.abs(cols["range_m"])
        cols["bearing_deg"] = np.mod(cols["bearing_deg"], 360.0)
        if "elevation_deg" in cols:
            cols["elevation_deg"] = np.clip(cols["elevation_deg"], -90.0, 90.0)
        scan = Scan(m.id, "radar", t, cols, truth)
        self._attach_platform(scan, plat)
        return scan

    def _above_horizon(self, sensor_enu: np.ndarray, target_enu: np.ndarray) -> np.ndarray:
        f = self.frame
        s_ecef = f.to_ecef(sensor_enu)
        t_ecef = f.to_ecef(target_enu)
        _, _, h_s = f.to_geodetic(sensor_enu)
        _, _, h_t = f.to_geodetic(target_enu)
        return above_radar_horizon(s_ecef, h_s, t_ecef, h_t)

    def _attach_platform(self, scan: Scan, plat: np.ndarray) -> None:
        if self._route is None:
            return
        scan.sensor_pos = plat[:3].copy()
        if self.frame is not None and self.dims == 3:
            lat, lon, alt = self.frame.to_geodetic(plat[:3])
            scan.sensor_geo = (float(lat), float(lon), float(alt))

    def _visible_los(self, plat_pos: np.ndarray, states: np.ndarray, idx: np.ndarray) -> np.ndarray:
        m = self.model
        d = np.linalg.norm(states[idx, :3] - plat_pos, axis=1)
        ok = d <= m.max_range_m
        if self.dims == 3:
            ok &= self._above_horizon(plat_pos, states[idx, :3])
        return ok

    def _adsb(self, t: float, states: np.ndarray, rng: np.random.Generator) -> Scan:
        m = self.model
        plat = self.platform_state(t)
        coop = self.targets.cooperative & ~np.isnan(states[:, 0])
        idx = np.flatnonzero(coop)
        idx = idx[self._visible_los(plat[:3], states, idx)]
        idx = idx[rng.random(idx.size) < m.pd]
        n = idx.size
        p = states[idx, :3].copy()
        # horizontal noise in the local east/north (≈ scenario axes nearby), altitude noise apart
        p[:, 0] += rng.normal(0.0, m.sigma_m, n)
        p[:, 1] += rng.normal(0.0, m.sigma_m, n)
        lat, lon, alt = self.frame.to_geodetic(p)
        alt = alt + rng.normal(0.0, m.sigma_alt_m or 8.0, n)
        cols = {"lat": np.atleast_1d(lat), "lon": np.atleast_1d(lon), "alt": np.atleast_1d(alt)}
        scan = Scan(m.id, "adsb", t, cols, idx)
        scan.extra["icao24"] = [self.targets.icao24[i] for i in idx]
        self._attach_platform(scan, plat)
        return scan

    def _ir(self, t: float, states: np.ndarray, rng: np.random.Generator, boosting: np.ndarray | None) -> Scan:
        m = self.model
        if boosting is None:
            boosting = np.zeros(len(states), dtype=bool)
        ok = boosting & ~np.isnan(states[:, 0])
        idx = np.flatnonzero(ok)
        if idx.size and m.min_alt_m is not None:
            _, _, h = self.frame.to_geodetic(states[idx, :3])
            idx = idx[np.atleast_1d(h) >= m.min_alt_m]
        idx = idx[rng.random(idx.size) < m.pd]
        n = idx.size
        lat, lon, _ = self.frame.to_geodetic(states[idx, :3])
        # ground projection: the plume's sub-point, with horizontal error sigma_m per axis
        g = self.frame.from_geodetic(lat, lon, np.zeros(n)).reshape(n, 3)
        g[:, 0] += rng.normal(0.0, m.sigma_m, n)
        g[:, 1] += rng.normal(0.0, m.sigma_m, n)
        lat, lon, _ = self.frame.to_geodetic(g)
        cols = {"lat": np.atleast_1d(lat), "lon": np.atleast_1d(lon), "sigma_m": np.full(n, m.sigma_m)}
        return Scan(m.id, "ir", t, cols, idx)

    def _cartesian(self, t: float, states: np.ndarray, rng: np.random.Generator) -> Scan:
        m = self.model
        plat = self.platform_state(t)
        alive = np.flatnonzero(~np.isnan(states[:, 0]))
        idx = alive[self._visible_los(plat[:3], states, alive)]
        idx = idx[rng.random(idx.size) < m.pd]
        n = idx.size
        cols = {
            "x": states[idx, 0] + rng.normal(0.0, m.sigma_m, n),
            "y": states[idx, 1] + rng.normal(0.0, m.sigma_m, n),
        }
        if self.dims == 3:
            cols["z"] = states[idx, 2] + rng.normal(0.0, m.sigma_m, n)
        nf = int(rng.poisson(m.clutter_per_scan)) if m.clutter_per_scan > 0 else 0
        truth = idx
        if nf:
            ang = rng.uniform(0, 2 * np.pi, nf)
            rr = m.max_range_m * np.sqrt(rng.random(nf))
            f = {"x": plat[0] + rr * np.sin(ang), "y": plat[1] + rr * np.cos(ang)}
            if self.dims == 3:
                f["z"] = rng.uniform(0.0, 15000.0, nf)
            cols = {k: np.concatenate([cols[k], f[k]]) for k in cols}
            truth = np.concatenate([truth, np.full(nf, -1)])
        scan = Scan(m.id, "cartesian", t, cols, truth)
        self._attach_platform(scan, plat)
        return scan


def route_points(route, frame: LocalFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Waypoints to plane points (K, 2) in metres and altitudes (K,) in metres.

    ``route`` is a sequence of :class:`~skyweave.scenario.spec.Waypoint`; a geodetic waypoint
    (``lat``/``lon`` in degrees) is placed on the scenario plane through ``frame`` (see
    :func:`~skyweave.scenario.motion.plane_from_geodetic`), a plane one (``x``/``y``) is taken
    as it is. A waypoint without an altitude is at 0 m.
    """
    pts, alts = [], []
    for w in route:
        if w.lat is not None:
            e, n = plane_from_geodetic(frame, w.lat, w.lon)
            pts.append((float(e), float(n)))
        else:
            pts.append((w.x, w.y))
        alts.append(w.alt if w.alt is not None else 0.0)
    return np.array(pts, dtype=float), np.array(alts, dtype=float)
