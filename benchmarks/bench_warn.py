"""Missile warning over many seeded launches: impact error, ellipse coverage, latency, false alerts (issue 4).

    python benchmarks/bench_warn.py [--quick] [--seed 4] [--n 12] [--jobs 1] [--keep DIR [--reuse]] [--json OUT.json]
    python benchmarks/bench_warn.py --network DIR     # score the alerts of a `skyweave network run` folder (each node's own, or its joint alerts)

The full run (``--n 12``: 12 launches of each class, 36 in all, 14 scenario runs, 6.2 h of
scenario time) takes about 10-13 min on the standard 2-core machine with the second core busy;
``--quick`` flies one launch per class (3 runs, about 1.5 min, and one two-σ run). The runs are deterministic for a
given ``--seed`` and ``--n``. ``--keep DIR --reuse`` simulates a run only where DIR does not hold
it already (the same scenario text), so that settings can be compared on the same detections.

Besides the 36 drawn launches, two runs (one with ``--quick``) fly re-entry vehicles whose
ballistic coefficient lies two standard deviations off the warner's prior for their range
(β = β(range) · e^(±2σ), :func:`skyweave.warn.bank.beta_for_range`, σ = ``range_prior_sigma``),
at 550, 1,000 and 2,500 km: the case of the trilateral's BM3. They are reported on their own
(goal: within 2 km standing 60 s before impact) and count in no other figure.

Geometry (fictional, geographically plausible; the same laydown in every run):

- launch sites drawn uniformly in an inland band 38-41°N, 125-128°E; short-range shots
  (300-1,000 km) on azimuths 80-125° into the sea to the east, medium-range (1,000-3,000 km) on
  100-120° and intermediate-range (3,000-5,500 km) on 110-125°, far into the Pacific;
- sensors: a US destroyer in the western sea area (boost seen from 400-650 km), a Japanese
  long-range ground radar on the west coast, a forward-based X-band radar on Japan's Sea of Japan
  coast (fine angles: 0.03°), a US destroyer south-east of Japan (medium-range terminal,
  intermediate midcourse), a sea-based X-band radar in the western Pacific (intermediate
  terminal), space-based infrared, two ADS-B receivers; re-entry vehicles' ballistic
  coefficients are drawn per launch (log-normal about the class's value, σ 0.3 in ln β: the
  simulator's default), or with ``--prior-beta`` from the warner's own prior for the launch's
  range (β(range)·e^(σ N(0,1)), σ = ``range_prior_sigma`` 0.4; runs named ``…-pb``, all simulated
  anew): the calibration test of a Bayesian ellipse, which holds the truth 95 % of the time over
  its prior, not over a narrower spread of draws;
- air traffic in every run: 12 airliners with ADS-B on three airways, five military aircraft
  without, and two sea-skimming cruise missiles that pass close to a radar.

Each class flies in its own runs: three launches per run (two for intermediate range), 300 s
apart plus jitter, so that the infrared cues of successive launches are separate events. Every run is
simulated (:func:`skyweave.cli.simulate_cmd.run_simulation`, seed per run) into a temporary
folder and then driven scan by scan through the node's air tracker and :class:`Warner` (as
``skyweave warn`` does, with the places table loaded), recording on the way, for each missile,
the first time a confirmed air track lies within ``--near-km`` of its truth, and which truth each
ballistic estimator started on (the nearest within 30 km). Alerts are scored by
:func:`skyweave.metrics.warning.score_alerts` (an alert belongs to the launch whose impact is
nearest its predicted impacts); an alert it matches to no launch but whose launch estimate lies
within 100 km and 60 s of a true launch is that launch's alert too (it warned of the launch, then
lost the missile or predicted a wrong area), and its published impacts count in every error and
coverage figure. Only alerts that belong to no launch are false alerts.

Figures printed (Markdown tables), with the goals of issues 4 and 13:

- impact-point error (great circle, km) by time since launch, per class; the prediction standing
  60 s after burnout (goal < 2 km for at least 11 of the 12 medium-range shots) and 60 s before
  impact (goal < 2 km for every shot), per shot and the worst; impact-time error; each shot's
  ballistic coefficient and how many σ of the warner's prior it lies off;
- coverage of the 95 % ellipse over alert updates with an impact (goal 90-98 %), overall, per
  class and per phase, with its 95 % interval taking launches as the unit (cluster bootstrap,
  :func:`skyweave.metrics.warning.coverage_interval`: the updates of one launch are correlated),
  and per launch (goal: at least 80 % of each launch's updates);
- status labels against the missile's true phase (``boost`` only while the engine burns,
  ``tracking`` only in free flight, a close at ``impact`` only once it has come down:
  :func:`skyweave.metrics.warning.label_truth`); goal: every label true;
- latency from launch to the first alert, and from the first confirmed radar track to the first
  alert (goal <= 10 s; negative: the infrared launch alert came first);
- false alerts (alerts matching no launch), estimators started and alerts raised on aircraft or
  cruise missiles (goal 0), their tracks ever classified ballistic, missed launches;
- continuity: launches whose alert lost the missile (closed ``lost``, or ``impact`` more than 30 s
  before the true impact) or published a wrong area (no numeric goal in the issue);
- wall time: simulation, tracking and warning, in all; and the CPU time of tracking and warning
  (this process's, unaffected by other work on the machine).

"Standing at T" is the newest alert update with an impact issued at or before T; a shot with none
by then has no standing prediction and fails that goal.

``--network DIR`` scores instead the alerts each nation's node issued in a finished
``skyweave network run`` (e.g. of the trilateral scenario): per nation and missile, the coverage
of its ellipses, the prediction standing 60 s after burnout and 60 s before impact, and its
status labels against the missile's phase.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from skyweave.node.simulate import run_simulation
from skyweave.io.formats import load_sensors
from skyweave.io.places import load_places
from skyweave.io.scans import ScanReader
from skyweave.metrics.warning import coverage_interval, great_circle_m, label_truth, score_alerts
from skyweave.node.track_files import make_tracker
from skyweave.track.sensors import build_scan
from skyweave.warn.bank import beta_for_range
from skyweave.warn.warner import WarnConfig, Warner

GOAL_KM = 2.0
COVERAGE_GOAL = (0.90, 0.98)
LAUNCH_COVERAGE_GOAL = 0.80    # every launch's updates: at least this share inside their ellipse
MEDIUM_B60_GOAL = 11           # medium-range shots (of 12) within 2 km by 60 s after burnout
BETA_CASE_RANGES_KM = (550.0, 1000.0, 2500.0)   # the two-sigma ballistic-coefficient runs
RADAR_LATENCY_GOAL_S = 10.0
LAUNCH_MATCH_KM = 100.0    # an alert's launch estimate this close to a true launch site ...
LAUNCH_MATCH_S = 60.0      # ... and this close in time is that launch's alert
SPAWN_NEAR_M = 30_000.0    # an estimator started on an air track this close to a truth started on that object

# class name -> range (km), azimuth (deg), launches per run, spacing (s), longest flight (s)
CLASSES = {
    "short": {"range_km": (300.0, 1000.0), "az": (80.0, 125.0), "per_run": 3, "max_flight_s": 500.0},
    "medium": {"range_km": (1000.5, 3000.0), "az": (100.0, 120.0), "per_run": 3, "max_flight_s": 880.0},
    "intermediate": {"range_km": (3000.5, 5500.0), "az": (110.0, 125.0), "per_run": 2, "max_flight_s": 1240.0},
}
SPACING_S = 300.0          # > the infrared grouping window (180 s) plus a burn: separate launch events
FIRST_LAUNCH_S = 120.0     # the air picture settles first
LAUNCH_BAND = ((38.0, 41.0), (125.0, 128.0))
TIME_BINS = [(60, 90), (90, 120), (120, 180), (180, 240), (240, 300), (300, 420), (420, 600), (600, 900), (900, 1300)]

SENSORS = """
sensors:
  # US destroyer in the western sea area: sees the boost from 400-650 km
  - {id: USA-DDG1, nation: USA, kind: radar, route: [{lat: 39.0, lon: 132.3, alt: 25}, {lat: 39.3, lon: 133.2, alt: 25}],
     speed_mps: 8, sigma_range_m: 30, sigma_bearing_deg: 0.1, sigma_elevation_deg: 0.12, sigma_range_rate_mps: 1.0,
     pd: 0.93, clutter_per_scan: 5, period_s: 2.0, max_range_m: 1500000, fov_el_deg: [-2, 85], latency_s: 1.0,
     latency_jitter_s: 1.0, releasable_to: [USA, JPN]}
  # Japanese long-range ground radar on the west coast
  - {id: JPN-R1, nation: JPN, kind: radar, lat: 38.05, lon: 138.25, alt: 350, sigma_range_m: 40, sigma_bearing_deg: 0.1,
     sigma_elevation_deg: 0.12, sigma_range_rate_mps: 2.0, pd: 0.92, clutter_per_scan: 4, period_s: 2.0,
     max_range_m: 2000000, fov_el_deg: [-2, 85], latency_s: 0.4, latency_jitter_s: 0.3, releasable_to: [JPN, USA]}
  # US destroyer south-east of Japan: medium-range terminal, intermediate midcourse
  - {id: USA-DDG2, nation: USA, kind: radar, route: [{lat: 31.0, lon: 147.5, alt: 25}, {lat: 31.6, lon: 148.5, alt: 25}],
     speed_mps: 8, sigma_range_m: 30, sigma_bearing_deg: 0.1, sigma_elevation_deg: 0.12, sigma_range_rate_mps: 1.0,
     pd: 0.93, clutter_per_scan: 5, period_s: 2.0, max_range_m: 1800000, fov_el_deg: [-2, 85], latency_s: 1.0,
     latency_jitter_s: 1.0, releasable_to: [USA, JPN]}
  # a forward-based X-band radar on Japan's Sea of Japan coast (as the US deployed at Kyogamisaki):
  # fine angles, it holds the midcourse of shots across Japan
  - {id: USA-TPY2, nation: USA, kind: radar, lat: 35.77, lon: 135.20, alt: 200, sigma_range_m: 10, sigma_bearing_deg: 0.03,
     sigma_elevation_deg: 0.03, sigma_range_rate_mps: 0.5, pd: 0.95, clutter_per_scan: 3, period_s: 1.0,
     max_range_m: 1500000, fov_az_deg: [200, 40], fov_el_deg: [1, 80], latency_s: 0.5, latency_jitter_s: 0.3,
     releasable_to: [USA, JPN]}
  # sea-based X-band radar in the western Pacific: intermediate-range terminal
  - {id: USA-SBX, nation: USA, kind: radar, route: [{lat: 15.5, lon: 162.5, alt: 30}, {lat: 16.0, lon: 163.0, alt: 30}],
     speed_mps: 4, sigma_range_m: 15, sigma_bearing_deg: 0.05, sigma_elevation_deg: 0.05, sigma_range_rate_mps: 0.5,
     pd: 0.95, clutter_per_scan: 3, period_s: 2.0, max_range_m: 3000000, fov_el_deg: [0, 85], latency_s: 1.0,
     latency_jitter_s: 0.5, releasable_to: [USA, JPN]}
  - {id: USA-SBIRS, nation: USA, kind: ir, sigma_m: 1500, pd: 0.95, period_s: 2.0, min_alt_m: 3000, latency_s: 6.0,
     latency_jitter_s: 2.0, releasable_to: [USA, JPN]}
  - {id: JPN-ADSB1, nation: JPN, kind: adsb, lat: 37.95, lon: 139.10, alt: 60, sigma_m: 25, pd: 0.97, period_s: 1.0,
     max_range_m: 400000, latency_s: 0.3, releasable_to: [JPN, USA]}
  - {id: JPN-ADSB2, nation: JPN, kind: adsb, lat: 35.5, lon: 140.0, alt: 60, sigma_m: 25, pd: 0.97, period_s: 1.0,
     max_range_m: 400000, latency_s: 0.3, releasable_to: [JPN, USA]}
"""

AIR = """
  - {{id: F15-1, type: military, loop: true, speed_mps: 250, t_start: {f1}, route: [{{lat: 38.6, lon: 134.0, alt: 9000}},
     {{lat: 39.4, lon: 134.6, alt: 9000}}, {{lat: 39.1, lon: 135.3, alt: 9000}}, {{lat: 38.3, lon: 134.8, alt: 9000}}]}}
  - {{id: F15-2, type: military, loop: true, speed_mps: 240, t_start: {f2}, route: [{{lat: 39.8, lon: 132.0, alt: 8500}},
     {{lat: 40.4, lon: 132.9, alt: 8500}}, {{lat: 40.0, lon: 133.6, alt: 8500}}, {{lat: 39.4, lon: 132.7, alt: 8500}}]}}
  - {{id: E767, type: military, loop: true, speed_mps: 200, t_start: -1200, route: [{{lat: 37.6, lon: 136.6, alt: 10000}},
     {{lat: 38.6, lon: 137.0, alt: 10000}}, {{lat: 38.4, lon: 137.6, alt: 10000}}, {{lat: 37.4, lon: 137.2, alt: 10000}}]}}
  - {{id: P8, type: military, loop: true, speed_mps: 210, t_start: -900, route: [{{lat: 30.5, lon: 147.0, alt: 6000}},
     {{lat: 31.5, lon: 147.5, alt: 6000}}, {{lat: 31.2, lon: 148.6, alt: 6000}}, {{lat: 30.2, lon: 148.0, alt: 6000}}]}}
  - {{id: F35-T, type: military, speed_mps: 300, t_start: {f3}, route: [{{lat: 36.5, lon: 140.5, alt: 12000}},
     {{lat: 33.0, lon: 145.0, alt: 12000}}, {{lat: 31.0, lon: 148.0, alt: 12000}}]}}
  # sea-skimming cruise missiles: one passes close to the destroyer in the western sea, one runs in on the coast radar
  - {{id: CM1, type: cruise, speed_mps: 240, climb_mps: 5, t_start: {c1},
     route: [{{lat: 39.4, lon: 130.6, alt: 30}}, {{lat: 39.05, lon: 132.8, alt: 30}}, {{lat: 38.6, lon: 135.0, alt: 30}}]}}
  - {{id: CM2, type: cruise, speed_mps: 250, climb_mps: 5, t_start: {c2},
     route: [{{lat: 39.6, lon: 135.0, alt: 25}}, {{lat: 38.9, lon: 136.8, alt: 25}}, {{lat: 38.15, lon: 138.0, alt: 25}}]}}
traffic:
  count: 12
  seed: {traffic_seed}
  t_from: -3600
  t_to: {t_to}
  levels_m: [9400, 10000, 10600, 11300, 11900]
  speed_mps: [215, 250]
  airways:
    SEOUL-TOKYO:
      - {{lat: 37.45, lon: 126.45}}
      - {{lat: 37.40, lon: 129.50}}
      - {{lat: 37.60, lon: 132.50}}
      - {{lat: 37.70, lon: 135.50}}
      - {{lat: 37.00, lon: 138.40}}
      - {{lat: 35.77, lon: 140.39}}
    TOKYO-GUAM:
      - {{lat: 35.77, lon: 140.39}}
      - {{lat: 31.00, lon: 142.50}}
      - {{lat: 24.00, lon: 144.00}}
      - {{lat: 13.48, lon: 144.80}}
    NIIGATA-VLADIVOSTOK:
      - {{lat: 37.95, lon: 139.12}}
      - {{lat: 39.60, lon: 136.80}}
      - {{lat: 41.40, lon: 134.20}}
      - {{lat: 43.40, lon: 132.15}}
"""


@dataclass
class Launch:
    id: str
    cls: str
    lat: float
    lon: float
    az: float
    range_km: float
    t: float
    beta: float | None = None      # the re-entry vehicle's ballistic coefficient (kg/m²); None: drawn


@dataclass
class Run:
    name: str
    cls: str
    seed: int
    duration_s: float
    launches: list = field(default_factory=list)
    air: dict = field(default_factory=dict)

    def yaml(self) -> str:
        head = (f"name: {self.name}\nepoch: \"2024-04-10T00:00:00Z\"\norigin: {{lat: 33.0, lon: 145.0, alt: 0.0}}\n"
                f"dims: 3\nduration_s: {self.duration_s:.0f}\nseed: {self.seed}\ntruth_period_s: 1.0\nnations: [USA, JPN]\n")
        tg = "targets:" + AIR.format(**self.air).split("traffic:")[0]
        for ln in self.launches:
            beta = f", beta_kg_m2: {ln.beta:.1f}" if ln.beta is not None else ""
            tg += (f"  - {{id: {ln.id}, type: ballistic, t_start: {ln.t:.1f}, launch: {{lat: {ln.lat:.4f}, lon: {ln.lon:.4f}}}, "
                   f"azimuth_deg: {ln.az:.2f}, range_km: {ln.range_km:.1f}{beta}}}\n")
        return head + SENSORS + tg + "traffic:" + AIR.format(**self.air).split("traffic:")[1]


def plan(seed: int, n: int, prior_beta_sigma: float | None = None) -> list[Run]:
    """The runs: n launches per class, drawn from ``seed`` (sites, azimuths, ranges, times, air picture).

    ``prior_beta_sigma`` (σ of ln β, or None): draw each re-entry vehicle's ballistic coefficient
    from the warner's own prior for its range, β = β(range) · e^(σ N(0, 1))
    (:func:`skyweave.warn.bank.beta_for_range`), from a stream of its own (every other draw is
    unchanged), in runs named ``…-pb``; None leaves β to the simulator (log-normal with σ 0.3 about
    its class's value). A Bayesian 95 % ellipse holds the truth 95 % of the time *over its prior*:
    judged on draws narrower than that prior, honest ellipses over-cover (2026-11-29: 98.2 %).
    """
    rng = np.random.default_rng(seed)
    rng_beta = np.random.default_rng(seed + 104_729)
    runs = []
    k = 0
    for cls, c in CLASSES.items():
        left = n
        while left > 0:
            m = min(c["per_run"], left)
            left -= m
            k += 1
            launches = []
            for j in range(m):
                launches.append(Launch(
                    id=f"{cls[0].upper()}{k:02d}-{j + 1}", cls=cls,
                    lat=float(rng.uniform(*LAUNCH_BAND[0])), lon=float(rng.uniform(*LAUNCH_BAND[1])),
                    az=float(rng.uniform(*c["az"])), range_km=float(rng.uniform(*c["range_km"])),
                    t=FIRST_LAUNCH_S + j * SPACING_S + float(rng.uniform(0.0, 60.0)),
                ))
                if prior_beta_sigma is not None:
                    ln = launches[-1]
                    ln.beta = beta_for_range(ln.range_km) * math.exp(prior_beta_sigma * float(rng_beta.standard_normal()))
            duration = launches[-1].t + c["max_flight_s"] + 40.0
            air = {"f1": -int(rng.uniform(0, 900)), "f2": -int(rng.uniform(0, 900)), "f3": int(rng.uniform(0, 400)),
                   "c1": -int(rng.uniform(0, 500)), "c2": -int(rng.uniform(300, 900)),
                   "traffic_seed": int(rng.integers(1, 10_000)), "t_to": int(duration)}
            runs.append(Run(f"warn-{cls}-{k:02d}{'-pb' if prior_beta_sigma is not None else ''}", cls, seed * 1000 + k,
                            duration, launches, air))
    return runs


def plan_beta_cases(seed: int, sigma: float, signs=(-1.0, 1.0)) -> list[Run]:
    """Runs whose re-entry vehicles' ballistic coefficient lies two ``sigma`` (in ln β) off the
    warner's prior for their range, below (sign −1) or above (+1): one run per sign, one launch per
    range of :data:`BETA_CASE_RANGES_KM`, on an azimuth of 100° (sites and air picture drawn from
    ``seed``)."""
    rng = np.random.default_rng(seed + 7919)
    runs = []
    for k, sign in enumerate(signs, start=1):
        launches = []
        for j, rng_km in enumerate(BETA_CASE_RANGES_KM):
            launches.append(Launch(
                id=f"B{'-' if sign < 0 else '+'}{j + 1}", cls="beta", lat=float(rng.uniform(*LAUNCH_BAND[0])),
                lon=float(rng.uniform(*LAUNCH_BAND[1])), az=100.0, range_km=rng_km,
                t=FIRST_LAUNCH_S + j * SPACING_S + float(rng.uniform(0.0, 60.0)),
                beta=beta_for_range(rng_km) * math.exp(2.0 * sign * sigma)))
        duration = launches[-1].t + CLASSES["medium"]["max_flight_s"] + 40.0
        air = {"f1": -int(rng.uniform(0, 900)), "f2": -int(rng.uniform(0, 900)), "f3": int(rng.uniform(0, 400)),
               "c1": -int(rng.uniform(0, 500)), "c2": -int(rng.uniform(300, 900)),
               "traffic_seed": int(rng.integers(1, 10_000)), "t_to": int(duration)}
        runs.append(Run(f"warn-beta{'minus' if sign < 0 else 'plus'}2s", "beta", seed * 1000 + 900 + k, duration,
                        launches, air))
    return runs


def load_truth(folder: Path):
    """Truth tracks: id -> (times (K,), ENU positions (K, 3)) from truth.jsonl; types from targets.json."""
    rows: dict[str, list] = {}
    with open(folder / "truth.jsonl") as f:
        for line in f:
            d = json.loads(line)
            rows.setdefault(d["id"], []).append((d["t"], d["x"], d["y"], d["z"]))
    tracks = {}
    for tid, r in rows.items():
        a = np.array(r)
        tracks[tid] = (a[:, 0], a[:, 1:4])
    targets = json.loads((folder / "targets.json").read_text())
    return tracks, {d["id"]: d["type"] for d in targets}, [d for d in targets if d.get("type") == "ballistic"]


def truth_at(tracks, tid, t):
    """Linearly interpolated truth position (3,) of ``tid`` at t, or None outside its span."""
    ts, xyz = tracks[tid]
    if t < ts[0] or t > ts[-1]:
        return None
    return np.array([np.interp(t, ts, xyz[:, i]) for i in range(3)])


def nearest_truth(tracks, types, t, pos):
    """(id, type, distance m) of the truth nearest to ENU ``pos`` at t."""
    best = (None, None, np.inf)
    for tid in tracks:
        p = truth_at(tracks, tid, t)
        if p is None:
            continue
        d = float(np.linalg.norm(p - pos))
        if d < best[2]:
            best = (tid, types.get(tid), d)
    return best


def drive(folder: Path, tracks, types, missiles, near_m: float, places, config: WarnConfig | None = None):
    """Track and warn over one simulated run, scan by scan; returns the updates and what was seen on the way."""
    sensors = load_sensors(folder / "sensors.json")
    tr = make_tracker(sensors)
    w = Warner(tr.sensors, tr.frame, config or WarnConfig(), places=places)
    updates: list[dict] = []
    first_track: dict[str, float] = {}
    spawns = []
    seen_bt: set[int] = set()
    misclassified: dict[str, float] = {}
    t_last = 0.0
    for raw in ScanReader(folder / "detections.jsonl", sensors):
        info = tr.sensors[raw.sensor]
        t_last = max(t_last, raw.t)
        if info.kind == "ir":
            updates += [u.to_dict() for u in w.on_ir(info, raw.t, raw.cols["lat"], raw.cols["lon"],
                                                     raw.cols.get("sigma_m", [info.sigma_m or 1500.0] * len(raw)))]
            continue
        scan = build_scan(info, raw.t, raw.cols, tr.frame, raw.identity, raw.platform, raw.lines)
        tr.process(scan)
        pic = tr.picture()
        updates += [u.to_dict() for u in w.on_scan(scan, pic)]
        if not len(pic):
            continue
        pos = pic.x[:, :3]
        for mid in missiles:
            if mid in first_track:
                continue
            p = truth_at(tracks, mid, pic.t)
            if p is not None and np.min(np.linalg.norm(pos - p, axis=1)) <= near_m:
                first_track[mid] = pic.t
        index = None
        for bt in w.tracks + w.closed:
            if id(bt) in seen_bt:
                continue
            seen_bt.add(id(bt))
            index = index or {tid: i for i, tid in enumerate(pic.ids)}
            i = index.get(bt.air_track)
            who = nearest_truth(tracks, types, pic.t, pos[i]) if i is not None else (None, None, np.inf)
            spawns.append({"t": pic.t, "bt": bt, "truth": who[0], "type": who[1], "dist_m": who[2]})
        for tid, (cls, _) in w.track_class.items():
            if cls != "ballistic":
                continue
            index = index or {t_: i for i, t_ in enumerate(pic.ids)}
            i = index.get(tid)
            if i is None:
                continue
            who = nearest_truth(tracks, types, pic.t, pos[i])
            if who[1] not in (None, "ballistic") and who[2] <= near_m:
                misclassified.setdefault(who[0], pic.t)
    updates += [u.to_dict() for u in w.finish(t_last)]
    return updates, first_track, spawns, misclassified, w


def launch_err_km(u: dict | None, tr: dict) -> float | None:
    """Distance (km) from an update's launch estimate to the true launch site."""
    la = (u or {}).get("launch") or {}
    if la.get("lat") is None:
        return None
    return great_circle_m(la["lat"], la["lon"], tr["launch"]["lat"], tr["launch"]["lon"]) / 1000


def run_one(run: Run, keep: str | None, near_m: float, config: WarnConfig | None = None,
            reuse: bool = False) -> dict:
    """Simulate one run (or, with ``reuse``, take the one ``keep`` holds for the same scenario) and
    warn over it; returns plain data for the tables."""
    places = load_places()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(keep) if keep else Path(tmp)
        folder = base / run.name
        folder.mkdir(parents=True, exist_ok=True)
        text = run.yaml()
        same = (reuse and (folder / "scenario.yaml").is_file() and (folder / "scenario.yaml").read_text() == text
                and (folder / "out" / "targets.json").is_file())
        t0 = time.perf_counter()
        if not same:
            (folder / "scenario.yaml").write_text(text)
            run_simulation(folder / "scenario.yaml", folder / "out", progress=False)
        t_sim = time.perf_counter() - t0
        tracks, types, truths = load_truth(folder / "out")
        t0, c0 = time.perf_counter(), time.process_time()
        updates, first_track, spawns, miscl, w = drive(folder / "out", tracks, types, [d["id"] for d in truths], near_m, places, config)
        t_warn, cpu_warn = time.perf_counter() - t0, time.process_time() - c0
    sc = score_alerts(updates, truths)
    by_alert: dict[str, list] = {}
    for u in updates:
        by_alert.setdefault(u["alert_id"], []).append(u)
    truth_of = dict(sc.alerts)
    per_update = list(sc.updates)
    # an alert whose impacts matched no launch but whose launch estimate is a true launch (site within
    # LAUNCH_MATCH_KM, time within LAUNCH_MATCH_S) warned of that launch and then lost it or predicted
    # a wrong area: it is that missile's alert, and its published impacts count in the error figures
    diverged_alerts = []
    for aid, t in list(truth_of.items()):
        if t is not None:
            continue
        la = next((u["launch"] for u in by_alert[aid] if u.get("launch") and u["launch"].get("lat") is not None), None)
        for tr in truths:
            if la is not None and great_circle_m(la["lat"], la["lon"], tr["launch"]["lat"], tr["launch"]["lon"]) <= LAUNCH_MATCH_KM * 1000 \
                    and abs(la["t"] - tr["launch"]["t"]) <= LAUNCH_MATCH_S:
                truth_of[aid] = tr["id"]
                diverged_alerts.append(aid)
                per_update += score_alerts(by_alert[aid], [tr], match_km=1e9).updates
                break
    false_alerts = [a for a, t in truth_of.items() if t is None]
    truth_by_id = {tr["id"]: tr for tr in truths}
    labels = []
    for aid, t in truth_of.items():
        if t is not None:
            labels += [dict(x, truth=t) for x in label_truth(by_alert[aid], truth_by_id[t])]
    cls_of = {ln.id: ln.cls for ln in run.launches}
    rng_of = {ln.id: ln.range_km for ln in run.launches}
    shots = []
    for tr in truths:
        mine = [a for a, t in truth_of.items() if t == tr["id"]]
        ups = sorted((x for x in per_update if x["truth"] == tr["id"]), key=lambda x: x["t"])
        first = min((u for a in mine for u in by_alert[a]), key=lambda u: u["t"], default=None)
        # lost or wrong: launch-matched only, closed as lost, or closed as landed well before the true impact
        broken = [a for a in mine if a in diverged_alerts or any(
            u["status"] == "closed" and (u.get("reason") == "lost" or u["t"] < tr["impact"]["t"] - 30.0) for u in by_alert[a])]

        def standing(T, ups=ups):
            s = [x for x in ups if x["t"] <= T]
            return s[-1] if s else None

        b60 = standing(tr["burnout_t"] + 60.0)
        i60 = standing(tr["impact"]["t"] - 60.0)
        ft = first_track.get(tr["id"])
        with_imp = [x["t"] for x in ups]
        shots.append({
            "id": tr["id"], "cls": cls_of[tr["id"]], "range_km": rng_of[tr["id"]], "run": run.name,
            "beta": tr.get("beta_kg_m2"),
            "beta_z": (math.log(tr["beta_kg_m2"] / beta_for_range(rng_of[tr["id"]])) / (config or WarnConfig()).range_prior_sigma
                       if tr.get("beta_kg_m2") else None),
            "launch_t": tr["launch"]["t"], "burn_s": tr["burnout_t"] - tr["launch"]["t"],
            "flight_s": tr["impact"]["t"] - tr["launch"]["t"], "alerts": len(mine), "broken": broken,
            "first_alert_s": (first["t"] - tr["launch"]["t"]) if first else None,
            "first_alert_status": first["status"] if first else None,
            "launch_err_km": launch_err_km(first, tr), "launch_dt_s": (first["launch"]["t"] - tr["launch"]["t"])
            if first and first.get("launch") and first["launch"].get("t") is not None else None,
            "first_impact_s": (min(with_imp) - tr["launch"]["t"]) if with_imp else None,
            "first_track_s": (ft - tr["launch"]["t"]) if ft is not None else None,
            "b60_err_km": b60["error_m"] / 1000 if b60 else None, "b60_dt_s": b60["time_error_s"] if b60 else None,
            "i60_err_km": i60["error_m"] / 1000 if i60 else None, "i60_dt_s": i60["time_error_s"] if i60 else None,
            "i60_inside": i60["inside"] if i60 else None, "i60_semi_km": i60["semi_major_m"] / 1000 if i60 else None,
            "coverage": float(np.mean([x["inside"] for x in ups])) if ups else None, "n_updates": len(ups),
        })
    for x in per_update:
        x["cls"] = cls_of[x["truth"]]
    on_air = [s for s in spawns if s["type"] != "ballistic" and s["dist_m"] <= SPAWN_NEAR_M]
    false_src = {}
    for a in false_alerts:
        src = [s for s in spawns if s["bt"].alert_id == a]
        false_src[a] = f"{src[0]['type']} {src[0]['truth']}" if src and src[0]["dist_m"] <= SPAWN_NEAR_M else "no truth near"
    return {
        "run": run.name, "cls": run.cls, "duration_s": run.duration_s, "sim_s": t_sim, "warn_s": t_warn,
        "warn_cpu_s": cpu_warn, "labels": labels,
        "updates": per_update, "shots": shots, "false_alerts": [f"{run.name}:{a} ({false_src[a]})" for a in false_alerts],
        "missed": [tr["id"] for tr in truths if not any(t == tr["id"] for t in truth_of.values())],
        "n_alerts": len(truth_of), "n_alert_updates": len(updates),
        "spawns_on_air": [(s["truth"], s["type"], round(s["t"], 1), bool(s["bt"].raised)) for s in on_air],
        "spawns_unmatched": sum(1 for s in spawns if s["dist_m"] > SPAWN_NEAR_M),
        "misclassified": sorted(miscl), "stats": dict(w.stats),
    }


# ------------------------------------------------------------------ tables

def fmt(v, spec=".2f", none="—"):
    return none if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else None


def error_table(updates, cls):
    u = [x for x in updates if x["cls"] == cls]
    lines = [f"**{cls}-range** ({len({x['truth'] for x in u})} shots, {len(u)} updates with an impact)", "",
             "| since launch | updates | median error km | 95th pct km | max km | median \\|Δt\\| s | coverage 95 % | median semi-major km |",
             "|---|---|---|---|---|---|---|---|"]
    bins = [(0, 60)] + TIME_BINS
    for lo, hi in bins:
        s = [x for x in u if lo <= x["since_launch_s"] < hi]
        if not s:
            continue
        e = [x["error_m"] / 1000 for x in s]
        lines.append(f"| {lo}-{hi} s | {len(s)} | {fmt(np.median(e))} | {fmt(pct(e, 95))} | {fmt(max(e))} | "
                     f"{fmt(float(np.median([abs(x['time_error_s']) for x in s])), '.1f')} | "
                     f"{fmt(100 * float(np.mean([x['inside'] for x in s])), '.0f')} % | "
                     f"{fmt(float(np.median([x['semi_major_m'] for x in s])) / 1000)} |")
    return "\n".join(lines)


def report(results, wall_s, args):
    beta_runs = [r for r in results if r["cls"] == "beta"]
    results = [r for r in results if r["cls"] != "beta"]
    updates = [u for r in results for u in r["updates"]]
    shots = [s for r in results for s in r["shots"]]
    out = []
    out.append(f"{len(shots)} launches in {len(results)} runs (seed {args.seed}, {args.n} per class"
               f"{', WarnConfig ' + ', '.join(args.set) if getattr(args, 'set', None) else ', shipped WarnConfig'}), "
               f"{sum(r['n_alert_updates'] for r in results)} alert updates, wall {wall_s:.0f} s "
               f"(simulation {sum(r['sim_s'] for r in results):.0f} s, tracking + warning {sum(r['warn_s'] for r in results):.0f} s, "
               f"CPU {sum(r['warn_cpu_s'] for r in results):.0f} s, {sum(r['duration_s'] for r in results):.0f} scenario s"
               f"{'; two-sigma β runs apart: ' + str(len(beta_runs)) if beta_runs else ''})\n")
    if not shots:  # only the two-sigma β runs
        return "\n".join(out + [beta_table(beta_runs), wall_table(beta_runs)])
    out.append("### Impact-point error by time since launch\n")
    for cls in CLASSES:
        if any(x["cls"] == cls for x in updates):
            out.append(error_table(updates, cls) + "\n")
    out.append("### Per shot\n")
    out.append("| shot | class | range km | β kg/m² (σ off prior) | burn s | flight s | first alert s (kind) | launch err km / Δt s | first radar track s | alert − track s | "
               "first impact s | err @ burnout+60 s km | err @ impact−60 s km | Δt @ impact−60 s | in ellipse @ −60 s | coverage | alerts | lost / wrong area |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in shots:
        lead = (s["first_alert_s"] - s["first_track_s"]) if s["first_alert_s"] is not None and s["first_track_s"] is not None else None
        out.append(f"| {s['id']} | {s['cls']} | {s['range_km']:.0f} | {fmt(s['beta'], '.0f')} ({fmt(s['beta_z'], '+.1f')}) | "
                   f"{s['burn_s']:.0f} | {s['flight_s']:.0f} | "
                   f"{fmt(s['first_alert_s'], '.1f')} ({s['first_alert_status'] or '—'}) | {fmt(s['launch_err_km'], '.1f')} / {fmt(s['launch_dt_s'], '+.1f')} | "
                   f"{fmt(s['first_track_s'], '.1f')} | {fmt(lead, '+.1f')} | "
                   f"{fmt(s['first_impact_s'], '.1f')} | {fmt(s['b60_err_km'])} | {fmt(s['i60_err_km'])} | {fmt(s['i60_dt_s'], '+.1f')} | "
                   f"{'yes' if s['i60_inside'] else ('no' if s['i60_inside'] is not None else '—')} | "
                   f"{fmt(100 * s['coverage'] if s['coverage'] is not None else None, '.0f')} % | {s['alerts']} | {', '.join(s['broken']) or '—'} |")
    out.append("")
    out.append("### Ellipse coverage and impact-time error\n")
    out.append("| updates | count | coverage 95 % | median error km | median \\|Δt\\| s | 95th pct \\|Δt\\| s |")
    out.append("|---|---|---|---|---|---|")

    def cov_row(label, s):
        if not s:
            return
        out.append(f"| {label} | {len(s)} | {100 * float(np.mean([x['inside'] for x in s])):.1f} % | "
                   f"{float(np.median([x['error_m'] for x in s])) / 1000:.2f} | {float(np.median([abs(x['time_error_s']) for x in s])):.2f} | "
                   f"{pct([abs(x['time_error_s']) for x in s], 95):.2f} |")

    cov_row("all", updates)
    for cls in CLASSES:
        cov_row(f"{cls}-range", [x for x in updates if x["cls"] == cls])
    cov_row("more than 60 s before impact", [x for x in updates if x["before_impact_s"] > 60])
    cov_row("last 60 s", [x for x in updates if x["before_impact_s"] <= 60])
    for cls in CLASSES:
        cov_row(f"{cls}-range, > 60 s before impact", [x for x in updates if x["cls"] == cls and x["before_impact_s"] > 60])
        cov_row(f"{cls}-range, last 60 s", [x for x in updates if x["cls"] == cls and x["before_impact_s"] <= 60])
    out.append("")

    # goals
    med = [s for s in shots if s["cls"] == "medium"]
    b60 = [s["b60_err_km"] for s in med]
    i60 = [s["i60_err_km"] for s in shots]
    cov = float(np.mean([x["inside"] for x in updates])) if updates else float("nan")
    lat_ok = [s for s in shots if s["first_alert_s"] is not None and s["first_track_s"] is not None]
    leads = [s["first_alert_s"] - s["first_track_s"] for s in lat_ok]
    no_track = [s["id"] for s in shots if s["first_track_s"] is None]
    false = [a for r in results for a in r["false_alerts"]]
    air_spawn = [x for r in results for x in r["spawns_on_air"]]
    air_alert = [x for x in air_spawn if x[3]]
    miscl = [f"{r['run']}:{m}" for r in results for m in r["misclassified"]]
    missed = [m for r in results for m in r["missed"]]

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    out.append("### Goals\n")
    out.append("| goal | measured | verdict |")
    out.append("|---|---|---|")
    if med:
        nb = sum(1 for x in b60 if x is not None and x < GOAL_KM)
        have = [x for x in b60 if x is not None]
        none = [s["id"] for s in med if s["b60_err_km"] is None]
        need = len(med) if len(med) < 12 else MEDIUM_B60_GOAL * len(med) // 12
        out.append(f"| medium-range: impact error < 2 km by 60 s after burnout in {need} of {len(med)} | {nb}/{len(med)} shots; worst "
                   f"{fmt(max(have) if have else None)} km, median {fmt(float(np.median(have)) if have else None)} km"
                   f"{'; no prediction standing then: ' + ', '.join(none) if none else ''} | {verdict(nb >= need)} |")
    ni = sum(1 for x in i60 if x is not None and x < GOAL_KM)
    have = [x for x in i60 if x is not None]
    none = [s["id"] for s in shots if s["i60_err_km"] is None]
    out.append(f"| every shot: impact error < 2 km standing 60 s before impact | {ni}/{len(shots)} shots; worst "
               f"{fmt(max(have) if have else None)} km{'; no prediction standing then: ' + ', '.join(none) if none else ''} "
               f"| {verdict(ni == len(shots))} |")
    _, c_lo, c_hi, n_launch = coverage_interval(updates)
    out.append(f"| 95 % ellipse holds the truth in 90-98 % of updates | {100 * cov:.1f} % of {len(updates)} "
               f"(95 % interval by launch, {n_launch} launches: {100 * c_lo:.1f}-{100 * c_hi:.1f} %) | "
               f"{verdict(COVERAGE_GOAL[0] <= cov <= COVERAGE_GOAL[1])} |")
    per_launch = [(s["coverage"], s["id"]) for s in shots if s["coverage"] is not None]
    low = sorted(x for x in per_launch if x[0] < LAUNCH_COVERAGE_GOAL)
    no_cov = [s["id"] for s in shots if s["coverage"] is None]
    out.append(f"| every launch: its ellipses hold the truth in at least 80 % of its updates | "
               f"{len(per_launch) - len(low)}/{len(shots)} launches; worst "
               f"{fmt(100 * min(per_launch)[0] if per_launch else None, '.0f')} %, median "
               f"{fmt(100 * float(np.median([x[0] for x in per_launch])) if per_launch else None, '.0f')} %"
               f"{'; below: ' + ', '.join(f'{i} {100 * c:.0f} %' for c, i in low) if low else ''}"
               f"{'; no update with an impact: ' + ', '.join(no_cov) if no_cov else ''} | {verdict(not low and not no_cov)} |")
    labels = [x for r in results for x in r["labels"]]
    wrong = [x for x in labels if not x["ok"]]
    out.append(f"| every status label true to the missile's phase | {len(labels) - len(wrong)}/{len(labels)} labelled updates true"
               f"{'; false: ' + ', '.join(sorted({x['label'] for x in wrong})) if wrong else ''} | {verdict(not wrong)} |")
    if leads:
        out.append(f"| first alert within 10 s of the first confirmed radar track | {sum(1 for x in leads if x <= RADAR_LATENCY_GOAL_S)}/{len(leads)} shots; "
                   f"worst {max(leads):+.1f} s, median {float(np.median(leads)):+.1f} s"
                   f"{'; no radar track: ' + ', '.join(no_track) if no_track else ''} | {verdict(all(x <= RADAR_LATENCY_GOAL_S for x in leads))} |")
    ir_first = sum(1 for s in shots if s["first_alert_status"] == "launch")
    fa = [s["first_alert_s"] for s in shots if s["first_alert_s"] is not None]
    out.append(f"| earlier where infrared cues (alert before the radar track) | {sum(1 for x in leads if x < 0)}/{len(leads)} shots alerted before "
               f"their first radar track; {ir_first} first alerts were infrared launch alerts; launch → first alert median "
               f"{fmt(float(np.median(fa)) if fa else None, '.1f')} s, worst {fmt(max(fa) if fa else None, '.1f')} s | "
               f"{verdict(ir_first == len(shots) and all(x < 0 for x in leads))} |")
    out.append(f"| no false alerts on aircraft or cruise missiles | {len(air_alert)} alerts raised on aircraft/cruise tracks"
               f"{' (' + ', '.join(f'{x[0]} ({x[1]}) at t={x[2]:.0f} s' for x in air_alert) + ')' if air_alert else ''}; "
               f"{len(false)} alerts matching no launch{': ' + ', '.join(false) if false else ''} | {verdict(not air_alert and not false)} |")
    broken = [f"{s['id']} ({', '.join(s['broken'])})" for s in shots if s["broken"]]
    out.append(f"| (continuity, no numeric goal) every launch tracked by one alert to impact | {len(shots) - len(broken)}/{len(shots)} shots; "
               f"an alert lost the missile or published a wrong impact area for {', '.join(broken) or 'none'} | {verdict(not broken)} |")
    out.append(f"| no missed launches | {len(missed)} missed{': ' + ', '.join(missed) if missed else ''} | {verdict(not missed)} |")
    out.append("")
    frag = ", ".join(f"{s['id']} {s['alerts']}" for s in shots if s["alerts"] != 1)
    reseeded = sum(r["stats"].get("reseeded", 0) for r in results)
    out.append(f"Also: {len(air_spawn)} ballistic estimators started on aircraft/cruise tracks; {reseeded} estimators restarted "
               f"from their air track after losing the missile; aircraft/cruise tracks ever classified "
               f"ballistic: {', '.join(miscl) if miscl else 'none'}; estimators started on tracks with no truth within "
               f"{SPAWN_NEAR_M / 1000:.0f} km: {sum(r['spawns_unmatched'] for r in results)}; alerts per launch: "
               f"{frag or 'one each'}.\n")
    i60_dt = [abs(s["i60_dt_s"]) for s in shots if s["i60_dt_s"] is not None]
    if i60_dt:
        out.append(f"Impact-time error standing 60 s before impact: median {np.median(i60_dt):.2f} s, worst {max(i60_dt):.2f} s.\n")
    out.append(label_table(labels))
    if beta_runs:
        out.append(beta_table(beta_runs))
    out.append(wall_table(results + beta_runs))
    return "\n".join(out)


def wall_table(results) -> str:
    out = ["### Wall time per run\n", "| run | launches | scenario s | simulate s | track + warn s | track + warn CPU s | alert updates |",
           "|---|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['run']} | {len(r['shots'])} | {r['duration_s']:.0f} | {r['sim_s']:.1f} | {r['warn_s']:.1f} | "
                   f"{r['warn_cpu_s']:.1f} | {r['n_alert_updates']} |")
    return "\n".join(out)


def label_table(labels) -> str:
    """Status labels against the true phase: per label, how many updates carry it and how many are
    false, with the worst distance (s) from the span where it would be true."""
    out = ["### Status labels against the missile's phase\n",
           "| label | true while | updates | false | worst off s | false ones (shot, t, true phase) |", "|---|---|---|---|---|---|"]
    spans = {"launch": "after launch", "boost": "launch to burnout", "tracking": "burnout to impact",
             "closed impact": "after impact"}
    for label, when in spans.items():
        mine = [x for x in labels if x["label"] == label]
        bad = [x for x in mine if not x["ok"]]
        shown = ", ".join(f"{x['truth']} {x['t']:.0f} s {x['phase']}" for x in bad[:8]) + (" …" if len(bad) > 8 else "")
        out.append(f"| {label} | {when} | {len(mine)} | {len(bad)} | {fmt(max((x['off_s'] for x in bad), default=None), '.1f')} | "
                   f"{shown or '—'} |")
    return "\n".join(out) + "\n"


def beta_table(runs) -> str:
    """The two-sigma ballistic-coefficient launches, each on its own."""
    shots = [s for r in runs for s in r["shots"]]
    ok = [s for s in shots if s["i60_err_km"] is not None and s["i60_err_km"] < GOAL_KM]
    out = ["### Re-entry vehicles two sigma off the drag prior\n",
           "| shot | range km | β kg/m² (σ off prior) | flight s | err @ burnout+60 s km | err @ impact−60 s km | "
           "in ellipse @ −60 s | semi-major @ −60 s km | coverage |",
           "|---|---|---|---|---|---|---|---|---|"]
    for s in shots:
        out.append(f"| {s['id']} | {s['range_km']:.0f} | {fmt(s['beta'], '.0f')} ({fmt(s['beta_z'], '+.1f')}) | {s['flight_s']:.0f} | "
                   f"{fmt(s['b60_err_km'])} | {fmt(s['i60_err_km'])} | "
                   f"{'yes' if s['i60_inside'] else ('no' if s['i60_inside'] is not None else '—')} | {fmt(s['i60_semi_km'])} | "
                   f"{fmt(100 * s['coverage'] if s['coverage'] is not None else None, '.0f')} % |")
    out.append("")
    out.append(f"Goal (within 2 km standing 60 s before impact): {len(ok)} of {len(shots)} shots within: "
               f"{'PASS' if len(ok) == len(shots) else 'FAIL'}.\n")
    return "\n".join(out)


def network_report(folder: Path) -> str:
    """The alerts of every nation's node in a ``skyweave network run`` folder against its truth."""
    if not (folder / "targets.json").is_file():
        raise SystemExit(f"--network {folder}: no targets.json (not a finished network run)")
    truths = [t for t in json.loads((folder / "targets.json").read_text()) if t.get("type") == "ballistic"]
    out = [f"Alerts of each node in {folder} (a node's own alerts, or, where it writes joint alerts, every "
           f"joint alert it wrote), against {len(truths)} launches\n",
           "| nation | missile | β kg/m² (σ off prior) | updates with impact | coverage 95 % | err @ burnout+60 s km | "
           "err @ impact−60 s km | in ellipse @ −60 s | labels (false) |", "|---|---|---|---|---|---|---|---|---|"]
    every, labels = [], []
    sigma = WarnConfig().range_prior_sigma
    for nat in sorted(p.name for p in folder.iterdir() if (p / "alerts.jsonl").is_file()):
        ups = [json.loads(x) for x in (folder / nat / "alerts.jsonl").read_text().splitlines() if x.strip()]
        # a node that writes joint alerts (docs/warning.md, "Joint alerts") numbers them by the
        # earliest source alert, often a partner's: what its people see is every line it wrote
        joint = any("contributors" in u for u in ups)
        sc = score_alerts([u for u in ups if joint or u["alert_id"].startswith(nat + "-")], truths)
        every += [dict(x, truth=f"{nat}:{x['truth']}") for x in sc.updates]
        for tr in truths:
            us = [x for x in sc.updates if x["truth"] == tr["id"]]
            lab = [x for x in sc.labels if sc.alerts.get(x["alert_id"]) == tr["id"]]
            labels += lab
            if not us and not lab:
                continue
            i60 = [x for x in us if x["t"] <= tr["impact"]["t"] - 60.0]
            b60 = [x for x in us if x["t"] <= tr["burnout_t"] + 60.0]
            rng_km = great_circle_m(tr["launch"]["lat"], tr["launch"]["lon"], tr["impact"]["lat"], tr["impact"]["lon"]) / 1000
            z = math.log(tr["beta_kg_m2"] / beta_for_range(rng_km)) / sigma if tr.get("beta_kg_m2") else None
            bad = [x for x in lab if not x["ok"]]
            shown = ": " + ", ".join(f"{x['label']} at {x['t']:.0f} s" for x in bad[:3]) if bad else ""
            out.append(f"| {nat} | {tr['id']} | {fmt(tr.get('beta_kg_m2'), '.0f')} ({fmt(z, '+.1f')}) | {len(us)} | "
                       f"{fmt(100 * float(np.mean([x['inside'] for x in us])) if us else None, '.0f')} % | "
                       f"{fmt(b60[-1]['error_m'] / 1000 if b60 else None)} | {fmt(i60[-1]['error_m'] / 1000 if i60 else None)} | "
                       f"{('yes' if i60[-1]['inside'] else 'no') if i60 else '—'} | {len(lab)} ({len(bad)}{shown}) |")
    cov, lo, hi, n = coverage_interval(every)
    wrong = [x for x in labels if not x["ok"]]
    out.append("")
    out.append(f"All nodes: coverage {fmt(100 * cov, '.1f')} % of {len(every)} updates (95 % interval, {n} nation-missile "
               f"pairs as the unit: {fmt(100 * lo, '.1f')}-{fmt(100 * hi, '.1f')} %); status labels true: "
               f"{len(labels) - len(wrong)}/{len(labels)}.")
    return "\n".join(out)


def warn_config(settings: list[str]) -> WarnConfig:
    """WarnConfig with FIELD=VALUE overrides (each converted to the field's default's type)."""
    base = WarnConfig()
    kw = {}
    for item in settings:
        key, _, value = item.partition("=")
        if not hasattr(base, key) or not value:
            raise SystemExit(f"--set {item!r}: expected FIELD=VALUE with a WarnConfig field")
        kw[key] = type(getattr(base, key))(value)
    return replace(base, **kw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one launch per class")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--n", type=int, default=12, help="launches per class")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel processes (the standard machine has 2 cores)")
    ap.add_argument("--near-km", type=float, default=5.0, help="a confirmed track this close to a truth is that object's track")
    ap.add_argument("--keep", help="keep the simulated folders under this directory")
    ap.add_argument("--reuse", action="store_true", help="with --keep: simulate only the runs the directory does not hold")
    ap.add_argument("--no-beta-cases", action="store_true", help="leave out the two-sigma ballistic-coefficient runs")
    ap.add_argument("--prior-beta", action="store_true",
                    help="draw each launch's ballistic coefficient from the warner's own prior for its range "
                         "(β(range)·e^(σ N(0,1)), σ = range_prior_sigma; runs named …-pb): the calibration test of a "
                         "Bayesian ellipse; the default leaves β to the simulator (σ 0.3 in ln β)")
    ap.add_argument("--only", action="append", default=[], metavar="RUN",
                    help="only the runs whose name contains this (repeatable), e.g. medium")
    ap.add_argument("--json", help="write every figure (per update and per shot) to this file")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a WarnConfig field for this run (e.g. boost_q=20000); the default is the shipped config")
    ap.add_argument("--network", metavar="DIR", help="score the alerts of a finished `skyweave network run` folder instead")
    a = ap.parse_args(argv)
    if a.network:
        print(network_report(Path(a.network)))
        return 0
    config = warn_config(a.set)
    if a.quick:
        a.n = 1
    if a.reuse and not a.keep:
        raise SystemExit("--reuse needs --keep DIR")
    runs = plan(a.seed, a.n, config.range_prior_sigma if a.prior_beta else None)
    if not a.no_beta_cases:
        runs += plan_beta_cases(a.seed, config.range_prior_sigma, (-1.0,) if a.quick else (-1.0, 1.0))
    if a.only:
        runs = [r for r in runs if any(o in r.name for o in a.only)]
        if not runs:
            raise SystemExit(f"--only {' '.join(a.only)}: no run of that name")
    t0 = time.perf_counter()
    results = []
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            futs = [ex.submit(run_one, r, a.keep, a.near_km * 1000, config, a.reuse) for r in runs]
            for f in futs:
                results.append(f.result())
                print(f"  {results[-1]['run']}: {results[-1]['warn_s']:.0f} s", file=sys.stderr, flush=True)
    else:
        for r in runs:
            results.append(run_one(r, a.keep, a.near_km * 1000, config, a.reuse))
            print(f"  {r.name}: simulate {results[-1]['sim_s']:.0f} s, track + warn {results[-1]['warn_s']:.0f} s",
                  file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    print(report(results, wall, a))
    if a.json:
        Path(a.json).write_text(json.dumps({"seed": a.seed, "n": a.n, "wall_s": wall,
                                            "runs": [{k: v for k, v in r.items()} for r in results]}, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
