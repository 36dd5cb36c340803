"""Fast writers for detections.jsonl and truth.jsonl lines (docs/formats.md).

Lines are built with %-templates over numpy columns: about ten times faster than json.dumps per
record, which matters at 10,000 targets × 600 scans. Values are printed with fixed decimals
chosen well below each sensor's noise (1 mm, 1e-6 deg, 1e-8 deg of latitude ≈ 1 mm).
"""

from __future__ import annotations

import json

import numpy as np

#: decimals per field: finer than any sensor's accuracy, coarser than float noise
_DECIMALS = {
    "range_m": 3, "bearing_deg": 6, "elevation_deg": 6, "range_rate_mps": 3,
    "x": 3, "y": 3, "z": 3, "lat": 8, "lon": 8, "alt": 2, "sigma_m": 1,
}
_ORDER = ("range_m", "bearing_deg", "elevation_deg", "range_rate_mps", "x", "y", "z", "lat", "lon", "alt", "sigma_m")


def format_detections(sensor: str, t: float, columns: dict, *, icao24: list | None = None, sensor_geo=None, sensor_pos=None) -> str:
    """All detection lines of one scan as one string (each line ends in a newline)."""
    names = [k for k in _ORDER if k in columns]
    n = len(columns[names[0]]) if names else 0
    if n == 0:
        return ""
    head = '{"t": %s, "sensor": %s' % (_num(t), json.dumps(sensor))
    tail = ""
    if sensor_geo is not None:
        tail = ', "sensor_lat": %.8f, "sensor_lon": %.8f, "sensor_alt": %.2f' % sensor_geo
    elif sensor_pos is not None:
        tail = ', "sensor_x": %.3f, "sensor_y": %.3f, "sensor_z": %.3f' % tuple(sensor_pos)
    parts = []
    if icao24 is not None:
        parts.append(', "icao24": "%s"')
    parts += [', "%s": %%.%df' % (k, _DECIMALS[k]) for k in names]
    tmpl = head + "".join(parts) + tail + "}\n"
    cols = [np.asarray(columns[k], dtype=float).tolist() for k in names]
    if icao24 is not None:
        cols.insert(0, icao24)
    return "".join(tmpl % row for row in zip(*cols))


def format_states(t: float, ids: list[str], states: np.ndarray, dims: int, id_field: str = "id") -> str:
    """truth.jsonl (or tracks.jsonl) lines at time t for the rows of ``states`` (N, 6) that are not NaN."""
    alive = ~np.isnan(states[:, 0])
    if not alive.any():
        return ""
    idx = np.flatnonzero(alive)
    st = states[idx]
    if dims == 3:
        tmpl = '{"t": %s, "%s": "%%s", "x": %%.3f, "y": %%.3f, "z": %%.3f, "vx": %%.3f, "vy": %%.3f, "vz": %%.3f}\n' % (_num(t), id_field)
        cols = [st[:, 0], st[:, 1], st[:, 2], st[:, 3], st[:, 4], st[:, 5]]
    else:
        tmpl = '{"t": %s, "%s": "%%s", "x": %%.3f, "y": %%.3f, "vx": %%.3f, "vy": %%.3f}\n' % (_num(t), id_field)
        cols = [st[:, 0], st[:, 1], st[:, 3], st[:, 4]]
    names = [ids[i] for i in idx.tolist()]
    return "".join(tmpl % row for row in zip(names, *(c.tolist() for c in cols)))


def _num(t: float) -> str:
    """Time as short text: 12.0, 12.5, 12.125 (millisecond resolution)."""
    s = "%.3f" % t
    s = s.rstrip("0")
    return s + "0" if s.endswith(".") else s


def format_tracks(t: float, ids: list[str], x: np.ndarray, P: np.ndarray | None, dims: int, quality=None,
                  extra: list[str] | None = None) -> str:
    """tracks.jsonl lines of one frame: states x (K, 2d) [p, v], covariances P (K, 2d, 2d) or None.

    ``extra`` is an optional per-track string of further fields, each starting with ', '.
    Covariance entries are printed to 6 significant digits (row-major, in the order of the fields).
    """
    k = len(ids)
    if k == 0:
        return ""
    if dims == 3:
        head = '{"t": %s, "track_id": "%%s", "x": %%.3f, "y": %%.3f, "z": %%.3f, "vx": %%.3f, "vy": %%.3f, "vz": %%.3f' % _num(t)
    else:
        head = '{"t": %s, "track_id": "%%s", "x": %%.3f, "y": %%.3f, "vx": %%.3f, "vy": %%.3f' % _num(t)
    cols = [x[:, i].tolist() for i in range(2 * dims)]
    rows = zip(ids, *cols)
    lines = [head % r for r in rows]
    if P is not None:
        n = 2 * dims
        flat = P.reshape(k, n * n)
        ctmpl = ', "cov": [' + ", ".join(["%.6g"] * (n * n)) + "]"
        lines = [a + ctmpl % tuple(c) for a, c in zip(lines, flat.tolist())]
    if quality is not None:
        lines = [a + ', "quality": %d' % q for a, q in zip(lines, np.asarray(quality).tolist())]
    if extra is not None:
        lines = [a + e for a, e in zip(lines, extra)]
    return "".join(a + ', "status": "confirmed"}\n' for a in lines)
