"""An independent 3-D scenario writer: 2-D radars (range and bearing only) over low-flying targets.

Written with numpy alone (its own motion, geodesy and noise code, nothing from skyweave's
simulator), so that the tracker is measured on data it did not make (issue 13, item 1).

The same detections are written twice:

- ``DIR/3d``: sensors.json with an origin and radars at ``z: 0`` that give no
  ``sigma_elevation_deg``; truth with ``z``/``vz``. Range is the true slant range and bearing the
  true azimuth, both in each radar's own ENU frame tangent at the radar (WGS-84).
- ``DIR/2d``: the same sensors without ``z`` and without an origin (a flat plane), truth without
  ``z``/``vz``: the 2-D reading of the same data.

Targets fly straight (nearly constant velocity, a small white acceleration) at a nearly constant
altitude, most of them near sea level (70 % between 30 and 300 m, the rest up to 3,000 m).
The radars sit on the origin's meridian (x = 0), so their frames differ from the scenario's by a
tilt about the east axis only, and the flat 2-D reading of their bearings is not biased by
meridian convergence.

    python benchmarks/make_independent_3d.py --out /tmp/ind3d --targets 100 --duration 120 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

A_WGS84 = 6378137.0
F_WGS84 = 1 / 298.257223563
E2 = F_WGS84 * (2 - F_WGS84)
ORIGIN = (35.0, 139.0, 0.0)


def ecef(lat_deg, lon_deg, h):
    """WGS-84 geodetic (deg, deg, m) to ECEF (m)."""
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    n = A_WGS84 / np.sqrt(1 - E2 * np.sin(la) ** 2)
    return np.array([(n + h) * np.cos(la) * np.cos(lo), (n + h) * np.cos(la) * np.sin(lo), (n * (1 - E2) + h) * np.sin(la)])


def enu_axes(lat_deg, lon_deg):
    """Rows: east, north, up unit vectors (ECEF) at a geodetic point."""
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    return np.array([
        [-np.sin(lo), np.cos(lo), 0.0],
        [-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)],
        [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)],
    ])


def geodetic(p):
    """ECEF (3,) to geodetic (deg, deg, m), by Bowring's iteration."""
    x, y, z = p
    lon = np.arctan2(y, x)
    r = np.hypot(x, y)
    lat = np.arctan2(z, r * (1 - E2))
    for _ in range(6):
        n = A_WGS84 / np.sqrt(1 - E2 * np.sin(lat) ** 2)
        h = r / np.cos(lat) - n
        lat = np.arctan2(z, r * (1 - E2 * n / (n + h)))
    n = A_WGS84 / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return np.degrees(lat), np.degrees(lon), r / np.cos(lat) - n


class Frame:
    """The origin's ENU frame: scenario ENU (m) <-> ECEF."""

    def __init__(self, lat=ORIGIN[0], lon=ORIGIN[1], alt=ORIGIN[2]):
        self.o = ecef(lat, lon, alt)
        self.R = enu_axes(lat, lon)

    def to_ecef(self, p):
        return self.o + np.asarray(p) @ self.R


def radar_polar(frame: Frame, sensor_enu, targets_enu):
    """True slant range (m) and bearing (deg) of targets (K, 3) in a radar's own ENU frame."""
    s = frame.to_ecef(sensor_enu)
    lat, lon, _ = geodetic(s)
    Rs = enu_axes(lat, lon)
    ps = (frame.to_ecef(targets_enu) - s) @ Rs.T
    r = np.linalg.norm(ps, axis=1)
    b = np.degrees(np.arctan2(ps[:, 0], ps[:, 1])) % 360.0
    return r, b


def make_targets(rng, n, duration, dt=0.5, q_h=0.5, q_v=0.005):
    """Truth trajectories: list of (times (T,), states (T, 6) [x, y, z, vx, vy, vz])."""
    out = []
    for _ in range(n):
        t0 = float(rng.uniform(0.0, 0.3 * duration))
        life = float(rng.uniform(0.6, 1.2) * duration)
        t1 = min(duration, t0 + life)
        ts = np.arange(np.ceil(t0 / dt) * dt, t1 + 1e-9, dt)
        spd, hdg = rng.uniform(80.0, 250.0), rng.uniform(0, 2 * np.pi)
        alt = rng.uniform(30.0, 300.0) if rng.random() < 0.7 else rng.uniform(300.0, 3000.0)
        x = np.array([rng.uniform(-30e3, 30e3), rng.uniform(-30e3, 30e3), alt,
                      spd * np.sin(hdg), spd * np.cos(hdg), 0.0])
        X = np.empty((len(ts), 6))
        for k in range(len(ts)):
            X[k] = x
            # nearly constant velocity: velocity random walk, exact for white acceleration
            a = rng.normal(0.0, 1.0, 3) * np.sqrt(np.array([q_h, q_h, q_v]) * dt)
            x = x.copy()
            x[:3] += x[3:] * dt + 0.5 * a * dt
            x[3:] += a
        out.append((ts, X))
    return out


def make_scenario(n_targets=100, duration=120.0, seed=1, clutter=10.0, pd=0.9, sigma_r=50.0, sigma_b_deg=0.2,
                  max_range=60e3):
    """Sensors, detections (list of dicts in time order) and truth (list of dicts) of the scenario."""
    rng = np.random.default_rng(seed)
    frame = Frame()
    radars = [
        {"id": "R1", "nation": "JPN", "kind": "radar", "x": 0.0, "y": -20e3, "z": 0.0, "phase": 0.0},
        {"id": "R2", "nation": "JPN", "kind": "radar", "x": 0.0, "y": 20e3, "z": 0.0, "phase": 0.5},
    ]
    for r in radars:
        r.update(sigma_range_m=sigma_r, sigma_bearing_deg=sigma_b_deg, pd=pd, clutter_per_scan=clutter,
                 period_s=1.0, max_range_m=max_range)
    tracks = make_targets(rng, n_targets, duration)
    truth = []
    for k, (ts, X) in enumerate(tracks):
        for t, s in zip(ts, X):
            truth.append({"t": round(float(t), 3), "id": f"T{k + 1}", "x": s[0], "y": s[1], "z": s[2],
                          "vx": s[3], "vy": s[4], "vz": s[5]})
    truth.sort(key=lambda r: (r["t"], int(r["id"][1:])))
    dets = []
    for t in np.arange(0.0, duration + 1e-9, 0.5):
        for rad in radars:
            if abs((t - rad["phase"]) % 1.0) > 1e-9:
                continue
            pos = []
            for ts, X in tracks:
                i = np.flatnonzero(np.abs(ts - t) < 1e-9)
                if len(i):
                    pos.append(X[i[0], :3])
            lines = []
            if pos:
                r, b = radar_polar(frame, [rad["x"], rad["y"], rad["z"]], np.array(pos))
                seen = (r <= max_range) & (rng.random(len(r)) < pd)
                r = r[seen] + rng.normal(0, sigma_r, seen.sum())
                b = (b[seen] + rng.normal(0, sigma_b_deg, seen.sum())) % 360.0
                lines += list(zip(r, b))
            nfa = rng.poisson(clutter)
            lines += list(zip(rng.uniform(0, max_range, nfa), rng.uniform(0, 360.0, nfa)))
            order = rng.permutation(len(lines))
            for j in order:
                dets.append({"t": round(float(t), 3), "sensor": rad["id"], "range_m": round(float(lines[j][0]), 2),
                             "bearing_deg": round(float(lines[j][1]), 5)})
    return radars, dets, truth


def write(out: str | Path, n_targets=100, duration=120.0, seed=1, **kw) -> dict:
    """Write ``out/3d`` and ``out/2d`` (sensors.json, detections.jsonl, truth.jsonl); return the paths."""
    radars, dets, truth = make_scenario(n_targets, duration, seed, **kw)
    out = Path(out)
    paths = {}
    for dims in (3, 2):
        d = out / f"{dims}d"
        d.mkdir(parents=True, exist_ok=True)
        sens = []
        for r in radars:
            s = {k: v for k, v in r.items() if k != "phase"}
            if dims == 2:
                s.pop("z")
            sens.append(s)
        doc = {"epoch": "2024-04-10T00:00:00Z", "sensors": sens}
        if dims == 3:
            doc["origin"] = {"lat": ORIGIN[0], "lon": ORIGIN[1], "alt": ORIGIN[2]}
        (d / "sensors.json").write_text(json.dumps(doc, indent=1))
        with open(d / "detections.jsonl", "w") as f:
            for rec in dets:
                f.write(json.dumps(rec) + "\n")
        with open(d / "truth.jsonl", "w") as f:
            for rec in truth:
                rec = dict(rec) if dims == 3 else {k: v for k, v in rec.items() if k not in ("z", "vz")}
                for k in ("x", "y", "z", "vx", "vy", "vz"):
                    if k in rec:
                        rec[k] = round(float(rec[k]), 3)
                f.write(json.dumps(rec) + "\n")
        paths[dims] = d
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--targets", type=int, default=100)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not (a.targets >= 1 and a.duration > 0):
        print(f"Error: expected --targets >= 1 and --duration > 0, got {a.targets}, {a.duration}", file=sys.stderr)
        return 1
    try:
        p = write(a.out, a.targets, a.duration, a.seed)
    except OSError as e:
        print(f"Error: {a.out}: cannot write the scenario there ({e.strerror or e})", file=sys.stderr)
        return 1
    print(f"wrote {p[3]} and {p[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
