"""An independent scenario writer: real recorded flights under simulated radars (issue 13).

Nothing here comes from skyweave's simulator: the targets are aircraft recorded by ADS-B (the
sample trajectories the ``traffic`` package ships, read as plain JSON, never imported), the radars
are simulated with numpy alone (this file and the WGS-84 helpers of
``benchmarks/make_independent_3d.py``), and the files written are skyweave's interchange formats
(docs/formats.md): ``sensors.json``, ``detections.jsonl``, ``truth.jsonl``.

Targets. Every chosen flight gives one target: a stretch of its airborne record (no gap over
``MAX_GAP_S``, no jump faster than ``MAX_SPEED_MPS``, above ``MIN_ALT_M``, inside the radars'
coverage), its clock shifted so that flights recorded hours apart fly at once (see
:func:`choose_targets`): most targets are up for the whole scenario, the others appear or vanish
where real ones do, at the coverage edge, at take-off and landing. Positions keep their real
geography (the default collection is 3 hours of traffic around Paris on 2021-10-07, arrivals and
departures of CDG and Orly with their turns, climbs and descents), taken from the record's WGS-84
positions (barometric altitude as height) in the origin's east-north-up frame.

Truth (``--truth``). The sample's time stamps are whole seconds and a position may be up to a
second stale: the distance flown in one stamped second is 0.45-1.5 times the reported ground
speed (5th-95th percentile). Interpolated as stamped (``record``), a flight jumps tens of metres
along its track every second (along-track accelerations of median 10 m/s²), which no aircraft
does and which every tracker then has to follow. ``smooth`` (the default) re-times each record
(:class:`RetimedPath`): the ground track is the recorded positions smoothed over ±1.5 km of arc, and the
distance along it and the height are the integrals of their rates fitted over ±20 s (local
quadratic fits), so positions and velocities agree exactly, the turns, speed changes, climbs and
descents are the record's, and the truth stays within about a second's flight of the recorded
fixes (95th percentile 54 m for the median flight). ``record`` keeps the stamped interpolation
(velocities: central differences over +-1 s), as before 2026-11-30.

Radars (``RADARS``): fixed, range and bearing only (no elevation, the common air-surveillance
kind), each with its own noise, detection probability below 1, Poisson false alarms uniform over
its covered disc, and a 1 s period with a phase of its own (scans out of phase). In 2-D
(``--dims 2``: a flat plane, no origin, no ``z``) a detection is the ground range and bearing of
the target's horizontal position from the radar; in 3-D (``--dims 3``: an origin, radars with
``z``, truth with ``z``/``vz``) it is the true slant range and azimuth in the radar's own ENU frame
(WGS-84), and the sensors file gives no ``sigma_elevation_deg``.

    python benchmarks/make_flights.py --out DIR [--dims 2] [--targets 130] [--duration 120] [--seed 1]
        [--sample collections/quickstart.json.gz] [--truth smooth|record]

Also written: ``flights.json``, which recorded flight (icao24, callsign, recorded time window)
each target is, and the time shift applied.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_independent_3d import Frame, ecef, radar_polar  # noqa: E402

FT_M = 0.3048
MAX_GAP_S = 15.0  #: a longer gap in a record ends a usable window
MAX_SPEED_MPS = 400.0  #: a point that implies a faster jump from the last kept one is dropped
MIN_ALT_M = 150.0  #: lower points (on or near the ground) are not used
DEFAULT_SAMPLE = "collections/quickstart.json.gz"
DEFAULT_ORIGIN = (48.85, 2.45, 0.0)  #: between CDG and Orly, degrees and metres

#: the simulated radars: position (m, origin ENU), noise, Pd, false alarms per scan, period and phase (s)
RADARS = (
    {"id": "ASR-N", "nation": "FRA", "x": 5_000.0, "y": 20_000.0, "z": 80.0, "sigma_range_m": 40.0,
     "sigma_bearing_deg": 0.12, "pd": 0.9, "clutter_per_scan": 10.0, "period_s": 1.0, "phase_s": 0.0,
     "max_range_m": 80_000.0},
    {"id": "ASR-S", "nation": "FRA", "x": -8_000.0, "y": -22_000.0, "z": 90.0, "sigma_range_m": 60.0,
     "sigma_bearing_deg": 0.18, "pd": 0.85, "clutter_per_scan": 8.0, "period_s": 1.0, "phase_s": 0.4,
     "max_range_m": 80_000.0},
)


class FlightsError(Exception):
    """A sample file that cannot be used, or too few flights for the request (one line, names the file)."""


def samples_dir() -> Path:
    """traffic's shipped samples folder, located without importing traffic (its __init__ is heavy)."""
    spec = importlib.util.find_spec("traffic")
    if spec is None or not spec.submodule_search_locations:
        raise FlightsError("the 'traffic' package is not installed (pip install -e '.[bench]' or pip install traffic)")
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "data" / "samples"
        if d.is_dir():
            return d
    raise FlightsError("the 'traffic' package has no data/samples folder")


def load_records(path: Path) -> list[dict]:
    """Records of a traffic sample: a list of point dicts, or pandas' column-oriented dict of dicts."""
    try:
        with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as f:
            doc = json.load(f)
    except (OSError, ValueError, EOFError) as e:
        raise FlightsError(f"{path}: cannot read as JSON ({e})") from None
    if isinstance(doc, list):
        return [r for r in doc if isinstance(r, dict)]
    if isinstance(doc, dict) and all(isinstance(v, dict) for v in doc.values()):
        cols = list(doc)
        index = list(doc[cols[0]]) if cols else []
        return [{c: doc[c].get(i) for c in cols} for i in index]
    raise FlightsError(f"{path}: expected a list of records or a column-oriented table")


@dataclass(frozen=True)
class Flight:
    """One recorded flight's usable airborne points: time (s, POSIX), lat, lon (deg), height (m)."""

    icao24: str
    callsign: str
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray


def _num(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def flights_of(records: list[dict]) -> list[Flight]:
    """Group records by (icao24, callsign), keep airborne points with a position and altitude, time-sorted."""
    groups: dict = defaultdict(list)
    for r in records:
        if r.get("onground") is True:
            continue
        t, la, lo, al = (_num(r.get(k)) for k in ("timestamp", "latitude", "longitude", "altitude"))
        if not all(math.isfinite(x) for x in (t, la, lo, al)) or al * FT_M < MIN_ALT_M:
            continue
        groups[(str(r.get("icao24")), str(r.get("callsign")))].append((t / 1000.0 if t > 1e11 else t, la, lo, al * FT_M))
    out = []
    for (icao, cs), pts in sorted(groups.items()):
        a = np.array(sorted(pts))
        _, first = np.unique(a[:, 0], return_index=True)  # one point per recorded time
        a = a[first]
        if len(a) >= 2:
            out.append(Flight(icao, cs, a[:, 0], a[:, 1], a[:, 2], a[:, 3]))
    return out


def local_enu(frame: Frame, fl: Flight) -> np.ndarray:
    """A flight's points in the origin's ENU frame (K, 3), metres."""
    p = ecef(fl.lat, fl.lon, fl.alt).T
    return (p - frame.o) @ frame.R.T


def clean(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop points that jump from the last kept point faster than MAX_SPEED_MPS (ADS-B position outliers)."""
    keep = [0]
    for i in range(1, len(t)):
        j = keep[-1]
        if np.linalg.norm(p[i] - p[j]) <= MAX_SPEED_MPS * (t[i] - t[j]) + 50.0:
            keep.append(i)
    k = np.array(keep)
    return t[k], p[k]


def covered(p: np.ndarray) -> np.ndarray:
    """Whether horizontal positions (K, >= 2) are within max_range_m of at least one radar (the coverage)."""
    ok = np.zeros(len(p), bool)
    for r in RADARS:
        ok |= np.hypot(p[:, 0] - r["x"], p[:, 1] - r["y"]) <= r["max_range_m"]
    return ok


def windows(t: np.ndarray, p: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [i, j] of runs inside the coverage with no gap over MAX_GAP_S."""
    ok = covered(p)
    runs, start = [], None
    for i in range(len(t)):
        good = ok[i] and (start is None or t[i] - t[i - 1] <= MAX_GAP_S)
        if good and start is None:
            start = i
        elif not good and start is not None:
            runs.append((start, i - 1))
            start = i if ok[i] else None
    if start is not None:
        runs.append((start, len(t) - 1))
    return runs


#: half-width (s) of the local quadratic fits that re-time a record (``smooth`` truth)
SMOOTH_HALF_S = 20.0
#: half-width (m of arc) of the local quadratic fits that smooth a record's ground track
SMOOTH_ARC_M = 1_500.0


def local_quadratic(x: np.ndarray, y: np.ndarray, half: float, rows: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Value and slope at each x[k] of a tricube-weighted quadratic fit of (x, y) over x[k] ± ``half``.

    ``y`` is (K,) or (K, m) (each column fitted alike). Each fit is centred on x[k]; where fewer
    than 5 points lie in the window (short records, their ends) it widens to hold the nearest 5, and
    with fewer than 3 points in all the fit falls back to a line (a point: a constant). Computed
    ``rows`` fits at a time, so memory stays bounded for long records.
    """
    y2 = y.reshape(len(x), -1)
    val, slope = np.empty_like(y2, dtype=float), np.empty_like(y2, dtype=float)
    for lo in range(0, len(x), rows):
        d = x[None, :] - x[lo:lo + rows, None]  # (rows, K): each fit's offsets
        h = np.maximum(half, 1.25 * np.sort(np.abs(d), axis=1)[:, min(4, len(x) - 1)])
        u = d / h[:, None]  # offsets in window units: a well-conditioned fit
        w = np.clip(1.0 - np.abs(u) ** 3, 0.0, None) ** 3
        m = [np.sum(w * u**j, axis=1) for j in range(5)]
        A = np.stack([np.stack([m[0], m[1], m[2]], -1), np.stack([m[1], m[2], m[3]], -1),
                      np.stack([m[2], m[3], m[4]], -1)], -2)  # normal equations (rows, 3, 3)
        # fewer than 3 points: a ridge on the curvature (and a vanishing one on the slope) makes it a
        # line (a constant for one point)
        few = (w > 1e-6).sum(axis=1) < 3
        A[few] += np.diag([0.0, 1e-9, 1.0])[None] * m[0][few, None, None]
        B = np.stack([np.einsum("kj,jc->kc", w * u**j, y2) for j in range(3)], 1)  # (rows, 3, m)
        c = np.linalg.solve(A, B)
        val[lo:lo + rows], slope[lo:lo + rows] = c[:, 0], c[:, 1] / h[:, None]
    return val.reshape(y.shape), slope.reshape(y.shape)


def hermite(ts: np.ndarray, t: np.ndarray, y: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite interpolation of knots (t, y, dy) at ts (inside [t[0], t[-1]]): values and slopes.

    The polynomial of ``skyweave.metrics.interp.hermite_states``, written again here on purpose: this
    writer imports nothing of skyweave, so that the scenario it writes is independent of it.
    """
    i = np.clip(np.searchsorted(t, ts, side="right") - 1, 0, len(t) - 2)
    h = t[i + 1] - t[i]
    u = (ts - t[i]) / h
    h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
    v = h00 * y[i] + h10 * h * dy[i] + h01 * y[i + 1] + h11 * h * dy[i + 1]
    d00, d10, d01, d11 = 6 * u**2 - 6 * u, 3 * u**2 - 4 * u + 1, -6 * u**2 + 6 * u, 3 * u**2 - 2 * u
    dv = (d00 * y[i] + d01 * y[i + 1]) / h + d10 * dy[i] + d11 * dy[i + 1]
    return v, dv


@dataclass(frozen=True)
class RetimedPath:
    """A record re-timed: its ground track in arc length, and the distance along it and the height in time.

    ADS-B positions are right but their time stamps are not: the sample's stamps are whole
    seconds, and a position may be up to a second stale (the distance flown in one stamped
    second is 0.45-1.5 times the reported ground speed, 5th-95th percentile, in the default
    sample). Interpolated as stamped, a flight jumps tens of metres along its track every
    second, with velocities wrong by tens of m/s, which no aircraft does. Re-timed, the ground
    track is the recorded positions smoothed over ±``SMOOTH_ARC_M`` of arc (its turns kept), and
    the distance along it and the height are the integrals of their rates fitted over
    ±``SMOOTH_HALF_S`` s (the record's speed changes, climbs and descents), so that position and
    velocity agree.
    """

    t: np.ndarray   #: knot times (the record's, scenario s)
    s: np.ndarray   #: distance along the ground track at the knots (m) ...
    ds: np.ndarray  #: ... and its fitted rate, linear between knots (m/s)
    z: np.ndarray   #: height at the knots (m) ...
    dz: np.ndarray  #: ... and its fitted rate (m/s)
    arc: np.ndarray  #: the smoothed ground track: arc length of each point (m) ...
    xy: np.ndarray   #: ... the point (K, 2) ...
    tan: np.ndarray  #: ... and the unit tangent there (K, 2)

    @classmethod
    def of(cls, t: np.ndarray, p: np.ndarray) -> "RetimedPath":
        step = np.hypot(*np.diff(p[:, :2], axis=0).T)
        keep = np.r_[True, step > 1.0]  # a repeated (stale) position adds no point to the path
        xy = p[keep, :2]
        arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
        s_rec = np.r_[0.0, np.cumsum(step)]  # each record's arc length (a stale one's is its last)
        if len(xy) >= 3:  # the ground track itself, smoothed over ±SMOOTH_ARC_M of arc
            xy = local_quadratic(arc, xy, SMOOTH_ARC_M)[0]
            arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
            keep = np.r_[True, np.diff(arc) > 1e-3]
            xy, arc = xy[keep], arc[keep]
        if len(xy) < 2:
            xy, arc = np.vstack([xy[:1], xy[:1] + [0.0, 1e-3]]), np.array([0.0, 1e-3])
        tan = np.gradient(xy, arc, axis=0) if len(xy) >= 3 else np.repeat(np.diff(xy, axis=0), 2, axis=0) / arc[-1]
        tan = tan / np.maximum(np.linalg.norm(tan, axis=1, keepdims=True), 1e-9)
        ds = np.maximum(local_quadratic(t, s_rec, SMOOTH_HALF_S)[1], 0.0)
        dz = local_quadratic(t, p[:, 2], SMOOTH_HALF_S)[1]
        # distance and height are the integrals of their fitted rates (so speed and position agree),
        # each offset to lie on the record on average
        s = cumtrapz(t, ds)
        z = cumtrapz(t, dz)
        s = np.clip(s + np.mean(s_rec - s), 0.0, None)
        z = z + np.mean(p[:, 2] - z)
        return cls(t, s, ds, z, dz, arc, xy, tan)

    def state(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities (len(ts), 3) at times ts inside the record."""
        ts = np.clip(ts, self.t[0], self.t[-1])
        s, ds = integral_of_linear(ts, self.t, self.s, self.ds)
        z, dz = integral_of_linear(ts, self.t, self.z, self.dz)
        s = np.clip(s, 0.0, self.arc[-1])
        x, tx = hermite(s, self.arc, self.xy[:, 0], self.tan[:, 0])
        y, ty = hermite(s, self.arc, self.xy[:, 1], self.tan[:, 1])
        n = np.maximum(np.hypot(tx, ty), 1e-9)
        return np.column_stack([x, y, z]), np.column_stack([ds * tx / n, ds * ty / n, dz])


def cumtrapz(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The integral of the piecewise-linear v(t) from t[0] at each t[k]."""
    return np.r_[0.0, np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))]


def integral_of_linear(ts: np.ndarray, t: np.ndarray, y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y(ts) and v(ts) where v is piecewise linear between knots t and y its integral (y[k] at t[k])."""
    i = np.clip(np.searchsorted(t, ts, side="right") - 1, 0, len(t) - 2)
    h = np.maximum(t[i + 1] - t[i], 1e-9)
    dt = ts - t[i]
    slope = (v[i + 1] - v[i]) / h
    return y[i] + v[i] * dt + 0.5 * slope * dt**2, v[i] + slope * dt


@dataclass(frozen=True)
class Target:
    """A target: a recorded flight's run, shifted by ``rec0`` (scenario t = recorded t - rec0), up from ``t0`` for ``life`` s.

    ``path`` (the record re-timed, :class:`RetimedPath`) gives its motion; without one (``--truth
    record``) the record is interpolated as stamped.
    """

    name: str
    icao24: str
    callsign: str
    rec_t0: float  #: recorded POSIX time that is the scenario's t = 0
    t0: float
    life: float
    t: np.ndarray  #: recorded times minus the shift (scenario s)
    p: np.ndarray  #: ENU positions (K, 3), m
    path: RetimedPath | None = None

    def state(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities (len(ts), 3), m and m/s, ts within [t0, t0 + life]: the re-timed
        path's, or the record interpolated as stamped with velocities as central differences over
        +-1 s of that interpolation, inside the record."""
        if self.path is not None:
            return self.path.state(ts)
        lo = np.maximum(ts - 1.0, self.t[0])
        hi = np.minimum(ts + 1.0, self.t[-1])
        return self._interp(ts), (self._interp(hi) - self._interp(lo)) / np.maximum(hi - lo, 1e-9)[:, None]

    def _interp(self, ts: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(ts, self.t, self.p[:, k]) for k in range(3)], axis=1)


def choose_targets(flights: list[Flight], frame: Frame, rng, n: int, duration: float,
                   smooth: bool = True) -> list[Target]:
    """n targets from distinct flights, each a random stretch of one of its covered runs; FlightsError if too few.

    Every flight's recorded clock is shifted so that a random instant ``rec0`` of its record is the
    scenario's t = 0: flights recorded hours apart fly at once. ``rec0`` is uniform over
    [run start - MIN_LIFE, run end - MIN_LIFE] (MIN_LIFE = a quarter of the duration), so a target
    is up from t = 0 to the end unless its run starts or ends in the scenario: at the coverage
    edge, or at a take-off or landing (MIN_ALT_M): the events real radars see.
    """
    min_life = 0.25 * duration
    usable = []
    for fl in flights:
        t, p = clean(fl.t, local_enu(frame, fl))
        runs = [(i, j) for i, j in windows(t, p) if t[j] - t[i] >= min_life]
        if runs:
            usable.append((fl, t, p, runs))
    if len(usable) < n:
        raise FlightsError(f"only {len(usable)} flights have {min_life:.0f} s airborne in the radars' coverage; "
                           f"asked for {n} targets (lower --targets or --duration)")
    chosen = rng.choice(len(usable), size=n, replace=False)
    out = []
    for k, idx in enumerate(sorted(chosen.tolist())):
        fl, t, p, runs = usable[idx]
        i, j = runs[rng.integers(len(runs))]
        rec0 = float(np.round(rng.uniform(t[i] - min_life, t[j] - min_life), 1))
        start, end = max(t[i], rec0), min(t[j], rec0 + duration)
        margin = max(MAX_GAP_S, SMOOTH_HALF_S) if smooth else MAX_GAP_S  # whole fit windows at the ends
        sel = (t >= start - margin) & (t <= end + margin) & (np.arange(len(t)) >= i) & (np.arange(len(t)) <= j)
        tk, pk = t[sel] - rec0, p[sel]
        out.append(Target(f"F{k + 1}", fl.icao24, fl.callsign, rec0, start - rec0, end - start, tk, pk,
                          RetimedPath.of(tk, pk) if smooth else None))
    return out


def scan_times(duration: float) -> list[tuple[float, dict]]:
    """(t, radar) of every scan in [0, duration], in time order (ties in RADARS order)."""
    out = []
    for r in RADARS:
        for k in range(int(math.floor((duration - r["phase_s"]) / r["period_s"] + 1e-9)) + 1):
            out.append((round(r["phase_s"] + k * r["period_s"], 3), r))
    return sorted(out, key=lambda x: x[0])


def ground_polar(radar: dict, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat-plane range (m) and bearing (deg clockwise from north) of positions (K, >= 2) from a radar."""
    dx, dy = pos[:, 0] - radar["x"], pos[:, 1] - radar["y"]
    return np.hypot(dx, dy), np.degrees(np.arctan2(dx, dy)) % 360.0


def make_scenario(targets: list[Target], duration: float, dims: int, rng, frame: Frame):
    """Detections and truth records (dicts, time order) of the targets under RADARS."""
    dets, truth = [], []
    truth_done = set()
    scans = scan_times(duration)
    times = np.unique([t for t, _ in scans])
    states = {}  # (target, time) -> (position, velocity), each target's whole life at once
    for tg in targets:
        ts = times[(times >= tg.t0 - 1e-9) & (times <= tg.t0 + tg.life + 1e-9)]
        for t, p, v in zip(ts.tolist(), *tg.state(ts)):
            states[tg.name, t] = (p, v)
    for t, rad in scans:
        live = [tg for tg in targets if tg.t0 - 1e-9 <= t <= tg.t0 + tg.life + 1e-9]
        pos = np.array([states[tg.name, t][0] for tg in live]).reshape(-1, 3)
        if t not in truth_done:
            truth_done.add(t)
            for tg, p in zip(live, pos):
                v = states[tg.name, t][1]
                rec = {"t": t, "id": tg.name, "x": round(float(p[0]), 2), "y": round(float(p[1]), 2)}
                if dims == 3:
                    rec["z"] = round(float(p[2]), 2)
                rec.update(vx=round(float(v[0]), 3), vy=round(float(v[1]), 3))
                if dims == 3:
                    rec["vz"] = round(float(v[2]), 3)
                truth.append(rec)
        if len(pos):
            if dims == 3:
                r, b = radar_polar(frame, [rad["x"], rad["y"], rad["z"]], pos)
            else:
                r, b = ground_polar(rad, pos)
            seen = (r <= rad["max_range_m"]) & (rng.random(len(r)) < rad["pd"])
            r = r[seen] + rng.normal(0.0, rad["sigma_range_m"], int(seen.sum()))
            b = (b[seen] + rng.normal(0.0, rad["sigma_bearing_deg"], int(seen.sum()))) % 360.0
        else:
            r = b = np.zeros(0)
        nfa = int(rng.poisson(rad["clutter_per_scan"]))
        r = np.concatenate([r, rad["max_range_m"] * np.sqrt(rng.random(nfa))])  # uniform over the disc
        b = np.concatenate([b, rng.uniform(0.0, 360.0, nfa)])
        for j in rng.permutation(len(r)):
            dets.append({"t": t, "sensor": rad["id"], "range_m": round(float(max(r[j], 1.0)), 2),
                         "bearing_deg": round(float(b[j]), 5)})
    return dets, truth


def sensors_doc(dims: int, epoch: str, origin: tuple) -> dict:
    """sensors.json of RADARS (docs/formats.md); 3-D gives an origin and z, never sigma_elevation_deg."""
    sens = []
    for r in RADARS:
        s = {"id": r["id"], "nation": r["nation"], "kind": "radar", "x": r["x"], "y": r["y"]}
        if dims == 3:
            s["z"] = r["z"]
        s.update({k: r[k] for k in ("sigma_range_m", "sigma_bearing_deg", "pd", "clutter_per_scan", "period_s", "max_range_m")})
        s["releasable_to"] = [r["nation"]]
        sens.append(s)
    doc = {"epoch": epoch, "sensors": sens}
    if dims == 3:
        doc["origin"] = {"lat": origin[0], "lon": origin[1], "alt": origin[2]}
    return doc


def write(out, n_targets: int = 130, duration: float = 120.0, seed: int = 1, dims: int = 2,
          sample: str = DEFAULT_SAMPLE, origin: tuple = DEFAULT_ORIGIN, truth: str = "smooth") -> dict:
    """Write sensors.json, detections.jsonl, truth.jsonl and flights.json into ``out``; return a summary.

    ``truth``: ``smooth`` (the records re-timed, :class:`RetimedPath`) or ``record`` (interpolated as stamped).
    """
    if dims not in (2, 3):
        raise FlightsError(f"dims: expected 2 or 3, got {dims}")
    if truth not in ("smooth", "record"):
        raise FlightsError(f"truth: expected smooth or record, got {truth!r}")
    if not (n_targets >= 1 and duration > 0):
        raise FlightsError(f"expected targets >= 1 and duration > 0, got {n_targets}, {duration}")
    path = Path(sample)
    if not path.is_absolute():
        path = samples_dir() / sample
    if not path.is_file():
        raise FlightsError(f"{path}: no such sample file")
    rng = np.random.default_rng(seed)
    frame = Frame(*origin)
    targets = choose_targets(flights_of(load_records(path)), frame, rng, n_targets, duration, truth == "smooth")
    dets, rows = make_scenario(targets, duration, dims, rng, frame)
    epoch = datetime.fromtimestamp(min(tg.rec_t0 for tg in targets), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "sensors.json").write_text(json.dumps(sensors_doc(dims, epoch, origin), indent=1) + "\n")
        with open(out / "detections.jsonl", "w") as f:
            f.writelines(json.dumps(d) + "\n" for d in dets)
        with open(out / "truth.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        (out / "flights.json").write_text(json.dumps({
            "sample": str(sample), "seed": seed, "truth": truth,
            "dims": dims, "origin": list(origin), "duration_s": duration,
            "targets": [{"id": tg.name, "icao24": tg.icao24, "callsign": tg.callsign, "recorded_start": tg.rec_t0,
                         "t0": tg.t0, "life_s": round(tg.life, 3)} for tg in targets],
        }, indent=1) + "\n")
    except OSError as e:
        raise FlightsError(f"{out}: cannot write the scenario there ({e.strerror or e})") from None
    per_t = defaultdict(int)
    for r in rows:
        per_t[r["t"]] += 1
    return {"out": str(out), "targets": len(targets), "detections": len(dets), "truth_lines": len(rows),
            "max_simultaneous": max(per_t.values()) if per_t else 0,
            "mean_simultaneous": sum(per_t.values()) / len(per_t) if per_t else 0.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="folder to write (created)")
    ap.add_argument("--dims", type=int, choices=(2, 3), default=2, help="2: flat plane; 3: origin, z, radars without elevation")
    ap.add_argument("--targets", type=int, default=130, help="flights (targets), default 130")
    ap.add_argument("--duration", type=float, default=120.0, help="scenario seconds, default 120")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample", default=DEFAULT_SAMPLE, help=f"traffic sample under data/samples/, or a path (default {DEFAULT_SAMPLE})")
    ap.add_argument("--truth", choices=("smooth", "record"), default="smooth",
                    help="smooth: the records re-timed (default); record: interpolated as stamped (whole seconds)")
    a = ap.parse_args(argv)
    try:
        s = write(a.out, a.targets, a.duration, a.seed, a.dims, a.sample, truth=a.truth)
    except FlightsError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {s['out']}: {s['targets']} flights ({s['mean_simultaneous']:.1f} at once on average, "
          f"{s['max_simultaneous']} at most), {s['detections']:,} detections, {s['truth_lines']:,} truth lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
