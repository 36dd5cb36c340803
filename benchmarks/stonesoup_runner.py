"""Stone Soup 1.9 baseline tracker for skyweave's clutter benchmark family (issue 3).

    python benchmarks/stonesoup_runner.py --sensors S.json --detections D.jsonl --out T.jsonl \
        [--max-time SECONDS] [--json] [--q 120] [--gate 4] [--min-points 3] ...

Reads the same files skyweave's tracker reads, with skyweave's validating readers
(:func:`skyweave.io.formats.load_sensors`, :class:`skyweave.io.formats.DetectionReader`), tracks
them with a standard Stone Soup composition and writes tracks.jsonl per docs/formats.md, so both
trackers are scored by the same scorer on the same input.

The composition (issue 3, "Against Stone Soup 1.9, same files, same run"):

- motion: :class:`CombinedLinearGaussianTransitionModel` of two :class:`ConstantVelocity`
  (continuous white-noise acceleration, Bar-Shalom, Li & Kirubarajan 2001, sec. 6.2.2), state
  ``[x, vx, y, vy]`` (m, m/s), ``Q = q [[T³/3, T²/2], [T²/2, T]]`` per axis.
  Default ``q = 120 m²/s³``: Bar-Shalom's rule is that the velocity change over one revisit
  ``T`` is about ``√(q T)``; the family's hardest manoeuvre is a 3 deg/s coordinated turn at
  300 m/s, a centripetal acceleration ``a = v ω = 15.7 m/s²``, so over the 0.5 s revisit of its
  two interleaved radars ``q ≈ (a T)² / T = a² T ≈ 123``. Measured on clutter-10, 60 s (seed 1):
  q = 120 keeps 10 targets in 11 track ids with 18 m position RMSE; q = 10 breaks them into 42
  ids and q = 1 into 58 (tracks lost in the turns), so the issue's example q = 1 would be unfair.
- filter: :class:`ExtendedKalmanPredictor` / :class:`ExtendedKalmanUpdater`.
- measurement: per radar :class:`CartesianToBearingRange` (``mapping=(0, 2)``,
  ``translation_offset`` the radar position, ``R = diag(σ_b², σ_r²)`` in rad² and m²). Its
  bearing is mathematical, ``atan2(y, x)``, anticlockwise from the x (east) axis; skyweave's is
  clockwise from north, ``b = atan2(x, y)``, so ``φ = π/2 − b`` wrapped to ``[−π, π)``.
- association: :class:`DistanceHypothesiser` with the :class:`Mahalanobis` measure and a missed
  distance ``gate = 4`` (a Mahalanobis distance, not squared: in 2 measurement dimensions a
  true detection falls inside with probability ``1 − exp(−gate²/2) = 0.99966``), then
  :class:`GNNWith2DAssignment` (or, with ``--associator kdtree``, Stone Soup's own pre-gating
  :class:`DetectionKDTreeGNN2D`, which queries a kd-tree of the scan's (bearing rad, range m)
  vectors; the radian axis is negligible next to metres, so it is a range window of
  ``--kdtree-window`` metres around each predicted range before the same Mahalanobis gate).
- initiation: :class:`MultiMeasurementInitiator` holding tentative tracks with its own GNN and
  deleter; a track is confirmed at ``min_points = 3`` updates (its first detection and two more,
  so a false track needs two clutter hits in a row inside its gates). New tentative tracks come
  from a :class:`SimpleMeasurementInitiator` whose prior has velocity 0 and standard deviation ``--init-speed = 300 m/s`` per axis, the family's top speed.
- deletion: :class:`UpdateTimeStepsDeleter`: a confirmed track is deleted after
  ``--delete-steps = 5`` consecutive tracker steps (scans, of any radar) without a detection,
  2.5 s with the family's two radars and ``P = 0.1⁵`` of deleting a live track per step at
  Pd 0.9; a tentative track after ``--holding-delete-steps = 2``.

Time order. Stone Soup's tracker takes time-ordered detection sets, so each scan (one sensor's
detections at one ``t``, grouped in file order) is one tracker step, fed in file order. A file in
delivery order may hold a scan older than one already seen (skyweave's tracker handles such
out-of-sequence scans; Stone Soup cannot): all scans are read first, so the reorder buffer is the
whole file and scans are sorted by ``t`` with a stable sort (file order kept among equal ``t``).
The summary's ``reordered_scans`` counts the scans that arrived late; it is 0 for the clutter
family, which has no delivery latency.

Output. For every distinct detection time ``t``, after all scans at ``t``, one line per confirmed
track (the tracker's tracks; tentative ones live in the initiator) with its state at ``t``:
``track_id`` ``SS-<n>`` numbered in order of first appearance (ties by the line number of the
track's first detection), ``x``, ``y``, ``vx``, ``vy`` and ``cov`` (row-major 4x4 in skyweave's
order ``[x, y, vx, vy]``, permuted from Stone Soup's ``[x, vx, y, vy]``). Every step of
:class:`MultiTargetTracker` appends an update or a prediction to every track, so a track's last
state is normally at ``t``; one that is older is predicted to ``t`` with the transition model
(``x' = F x``, ``P' = F P Fᵀ + Q``) before it is written.

Timing. ``track_s`` is wall time of tracking only: building Stone Soup detections, the tracker
steps and reading out the states; it excludes reading/validating the files (``parse_s``) and
formatting/writing tracks.jsonl (``write_s``). ``total_s`` is all of it but importing Stone Soup.
Measured on one core (this machine, seed 1, ``track_s``): clutter-10 60 s 2.6 s; clutter-100
60 s 27 s (kdtree 15 s); clutter-1000 10 s 320 s (kdtree 35 s), every target tracked, the same
tracks.jsonl from both associators.

Stone Soup is a benchmark extra (``pip install -e '.[bench]'``), never a runtime dependency of
skyweave: this file imports it only when it runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from skyweave.io.formats import DetectionReader, FormatError, SensorSet, SensorSpec, load_sensors

#: skyweave's state order [x, y, vx, vy] taken from Stone Soup's [x, vx, y, vy]
SS_TO_SKYWEAVE = np.array([0, 2, 1, 3])


@dataclass(frozen=True)
class StoneSoupConfig:
    """Parameters of the Stone Soup composition (units in the names; see the module docstring)."""

    q: float = 120.0  #: CWNA process noise intensity per axis, m²/s³
    gate: float = 4.0  #: Mahalanobis missed distance (not squared), dimensionless
    min_points: int = 3  #: updates (first detection included) to confirm a tentative track
    init_speed_mps: float = 300.0  #: prior velocity standard deviation per axis of a new track, m/s
    delete_steps: int = 5  #: consecutive steps without detection that delete a confirmed track
    holding_delete_steps: int = 2  #: the same for a tentative track in the initiator
    associator: str = "gnn"  #: "gnn" (GNNWith2DAssignment) or "kdtree" (DetectionKDTreeGNN2D)
    kdtree_window_m: float = 2000.0  #: kd-tree pre-gate half-width, metres of range ("kdtree" only)

    def __post_init__(self):
        for name in ("q", "gate", "init_speed_mps", "kdtree_window_m"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"StoneSoupConfig.{name}: expected a positive finite number, got {v!r}")
        for name in ("min_points", "delete_steps", "holding_delete_steps"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"StoneSoupConfig.{name}: expected an integer >= 1, got {v!r}")
        if self.associator not in ("gnn", "kdtree"):
            raise ValueError(f"StoneSoupConfig.associator: expected 'gnn' or 'kdtree', got {self.associator!r}")


# --------------------------------------------------------------------------- conventions


def stonesoup_bearing(bearing_deg):
    """skyweave bearing (degrees clockwise from north) to Stone Soup's (radians anticlockwise from east).

    φ = π/2 − b, wrapped to [−π, π); a target at bearing b, range r from (sx, sy) is at
    (sx + r sin b, sy + r cos b) = (sx + r cos φ, sy + r sin φ).
    """
    phi = 0.5 * np.pi - np.radians(np.asarray(bearing_deg, dtype=float))
    return (phi + np.pi) % (2.0 * np.pi) - np.pi


def stonesoup_to_skyweave(state_vectors: np.ndarray, covars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States (N, 4) and covariances (N, 4, 4) from Stone Soup's [x, vx, y, vy] to [x, y, vx, vy] (m, m/s)."""
    p = SS_TO_SKYWEAVE
    return state_vectors[:, p], covars[:, p][:, :, p]


def measurement_model(spec: SensorSpec):
    """Stone Soup bearing-range model of one 2-D radar: R = diag(σ_b², σ_r²) in rad² and m², offset at the radar."""
    from stonesoup.models.measurement.nonlinear import CartesianToBearingRange
    from stonesoup.types.array import CovarianceMatrix, StateVector

    return CartesianToBearingRange(
        ndim_state=4, mapping=(0, 2),
        noise_covar=CovarianceMatrix(np.diag([np.radians(spec.sigma_bearing_deg) ** 2, spec.sigma_range_m ** 2])),
        translation_offset=StateVector([spec.x, spec.y]),
    )


def transition_model(q: float):
    """Nearly-constant-velocity model, two axes, state [x, vx, y, vy]; q in m²/s³."""
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity

    return CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])


def predict_states(model, state_vectors: np.ndarray, covars: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kalman prediction of N states (N, 4) and covariances (N, 4, 4) by dt (N,) seconds.

    x' = F(dt) x, P' = F(dt) P F(dt)ᵀ + Q(dt) (Bar-Shalom et al. 2001, eq. 5.2.3-5, 5.2.3-9); dt = 0
    leaves a state as it is.
    """
    xs, ps = state_vectors.copy(), covars.copy()
    for step_s in np.unique(dt[dt != 0.0]).tolist():  # one F, Q per distinct interval, applied to all its rows
        k = dt == step_s
        step = timedelta(seconds=step_s)
        F = np.asarray(model.matrix(time_interval=step), dtype=float)
        Q = np.asarray(model.covar(time_interval=step), dtype=float)
        xs[k] = xs[k] @ F.T
        ps[k] = F @ ps[k] @ F.T + Q
    return xs, ps


# --------------------------------------------------------------------------- input


@dataclass
class Scan:
    """One sensor's detections at one time: Stone Soup bearings (rad), ranges (m), file line numbers."""

    t: float
    sensor: str
    bearing_rad: np.ndarray
    range_m: np.ndarray
    line: np.ndarray


def check_clutter_family(sensors: SensorSet, path) -> None:
    """Raise FormatError unless the sensors are the 2-D clutter family's kind: fixed radars in a flat plane."""
    if sensors.dims != 2:
        raise FormatError(path, None, "dims", "2: the Stone Soup runner supports the 2-D clutter benchmark family only", sensors.dims)
    for i, s in enumerate(sensors.sensors):
        if s.kind != "radar":
            raise FormatError(path, None, f"sensors[{i}].kind", "radar: the Stone Soup runner supports the 2-D clutter family's radars only", s.kind)
        if s.moving:
            raise FormatError(path, None, f"sensors[{i}].moving", "false: the Stone Soup runner supports fixed radars only", True)


def read_scans(sensors_path, detections_path, errors: list | None = None) -> tuple[SensorSet, list[Scan]]:
    """Read and validate both files and group detections into scans (sensor, t) in file order.

    Bad detection lines are skipped and appended to ``errors`` (FormatError), as skyweave does.
    """
    sensors = load_sensors(sensors_path)
    check_clutter_family(sensors, sensors_path)
    reader = DetectionReader(detections_path, sensors)
    scans: list[Scan] = []
    key = None
    b_col: list[float] = []
    r_col: list[float] = []
    l_col: list[int] = []
    open_scans: dict[tuple[str, float], int] = {}

    def flush():
        if key is None or not b_col:
            return
        b = stonesoup_bearing(np.array(b_col))
        sc = Scan(key[1], key[0], b, np.array(r_col), np.array(l_col))
        idx = open_scans.get(key)
        if idx is None:  # a sensor's scan interleaved with another's lines continues, it is not a new scan
            open_scans[key] = len(scans)
            scans.append(sc)
        else:
            old = scans[idx]
            scans[idx] = Scan(old.t, old.sensor, np.concatenate([old.bearing_rad, b]),
                              np.concatenate([old.range_m, sc.range_m]), np.concatenate([old.line, sc.line]))

    for det in reader:
        k = (det.sensor, det.t)
        if k != key:
            flush()
            key = k
            b_col, r_col, l_col = [], [], []
        b_col.append(det.values["bearing_deg"])
        r_col.append(det.values["range_m"])
        l_col.append(det.line)
    flush()
    if errors is not None:
        errors.extend(reader.errors)
    return sensors, scans


def time_order(scans: list[Scan]) -> tuple[list[Scan], int]:
    """Scans stably sorted by t, and how many arrived after a later scan (the reorder buffer's work)."""
    late, latest = 0, -math.inf
    for s in scans:
        if s.t < latest:
            late += 1
        latest = max(latest, s.t)
    return sorted(scans, key=lambda s: s.t), late


# --------------------------------------------------------------------------- tracker


def build_tracker(sensors: SensorSet, config: StoneSoupConfig):
    """The Stone Soup MultiTargetTracker of the module docstring, and the per-sensor measurement models."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator, SimpleMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    tm = transition_model(config.q)
    models = {s.id: measurement_model(s) for s in sensors.sensors}
    predictor = ExtendedKalmanPredictor(tm)
    updater = ExtendedKalmanUpdater(measurement_model=None)

    def associator():
        hyp = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=config.gate)
        if config.associator == "kdtree":
            return DetectionKDTreeGNN2D(hypothesiser=hyp, predictor=predictor, updater=updater,
                                        max_distance=config.kdtree_window_m)
        return GNNWith2DAssignment(hyp)

    v2 = config.init_speed_mps ** 2
    prior = GaussianState(StateVector([0.0, 0.0, 0.0, 0.0]), CovarianceMatrix(np.diag([0.0, v2, 0.0, v2])))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=UpdateTimeStepsDeleter(config.holding_delete_steps),
        data_associator=associator(),
        updater=updater,
        min_points=config.min_points,
        initiator=SimpleMeasurementInitiator(prior_state=prior, measurement_model=None),
    )
    tracker = MultiTargetTracker(
        initiator=initiator, deleter=UpdateTimeStepsDeleter(config.delete_steps), detector=None,
        data_associator=associator(), updater=updater,
    )
    return tracker, models, tm


def _detections(scan: Scan, model, timestamp: datetime) -> set:
    """Stone Soup Detection objects of one scan (measurement [bearing rad, range m])."""
    from stonesoup.types.angle import Bearing
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection

    return {
        Detection(StateVector([Bearing(b), r]), timestamp=timestamp, measurement_model=model, metadata={"line": ln})
        for b, r, ln in zip(scan.bearing_rad.tolist(), scan.range_m.tolist(), scan.line.tolist())
    }


def _first_line(track) -> int:
    hyp = getattr(track.states[0], "hypothesis", None)
    meas = getattr(hyp, "measurement", None)
    return int(getattr(meas, "metadata", {}).get("line", 0))


def _format_tracks(t: float, labels: list[str], xs: np.ndarray, ps: np.ndarray) -> str:
    """tracks.jsonl lines at t: states (N, 4) [x, y, vx, vy] (m, m/s) and covariances (N, 4, 4)."""
    head = '{"t": %s, "track_id": "%%s", "x": %%.3f, "y": %%.3f, "vx": %%.3f, "vy": %%.3f, "cov": [%s]}\n' % (
        repr(float(t)), ", ".join(["%.7g"] * 16))
    flat = ps.reshape(len(ps), 16)
    return "".join(head % (lab, *x, *c) for lab, x, c in zip(labels, xs.tolist(), flat.tolist()))


def run_stonesoup(sensors_path, detections_path, out_path, max_time: float | None = None,
                  config: StoneSoupConfig | None = None) -> dict:
    """Track detections.jsonl with Stone Soup into tracks.jsonl; returns the run's summary.

    ``max_time`` (seconds of scenario time) stops after the scans with t <= first t + max_time.
    Summary: ``parse_s``, ``track_s`` (tracking only), ``write_s``, ``total_s`` wall seconds;
    ``scans``, ``detections``, ``times`` (distinct t written), ``tracks_confirmed`` (distinct
    track ids written), ``track_lines``, ``peak_tracks`` (most confirmed tracks at one t),
    ``peak_tentative``, ``reordered_scans``, ``format_errors`` and the configuration.
    """
    config = config or StoneSoupConfig()
    _import_stonesoup()  # importing the library (about 0.5 s) is not part of any timing
    t_start = time.perf_counter()
    errors: list[FormatError] = []
    sensors, scans = read_scans(sensors_path, detections_path, errors)
    scans, late = time_order(scans)
    if max_time is not None and scans:
        t_end = scans[0].t + max_time
        scans = [s for s in scans if s.t <= t_end]
    parse_s = time.perf_counter() - t_start

    tracker, models, tm = build_tracker(sensors, config)
    epoch = sensors.epoch
    labels: dict = {}
    n_det = 0
    peak = peak_tentative = 0
    n_lines = 0
    track_s = write_s = 0.0
    with open(out_path, "w", buffering=1 << 20) as out:
        i = 0
        while i < len(scans):
            t = scans[i].t
            t0 = time.perf_counter()
            timestamp = epoch + timedelta(seconds=t)
            while i < len(scans) and scans[i].t == t:  # every scan at this t, one tracker step each
                sc = scans[i]
                dets = _detections(sc, models[sc.sensor], timestamp)
                n_det += len(dets)
                tracker.update_tracker(timestamp, dets)
                i += 1
            tracks = tracker.tracks
            new = sorted((tr for tr in tracks if tr not in labels), key=_first_line)
            for tr in new:
                labels[tr] = f"SS-{len(labels) + 1}"
            order = sorted(tracks, key=lambda tr: int(labels[tr][3:]))
            peak = max(peak, len(order))
            peak_tentative = max(peak_tentative, len(tracker.initiator.holding_tracks))
            if order:
                sv = np.array([np.asarray(tr.state_vector, dtype=float).ravel() for tr in order])
                cv = np.array([np.asarray(tr.covar, dtype=float) for tr in order])
                dt = np.array([(timestamp - tr.timestamp).total_seconds() for tr in order])
                sv, cv = predict_states(tm, sv, cv, dt)
                xs, ps = stonesoup_to_skyweave(sv, cv)
            t1 = time.perf_counter()
            track_s += t1 - t0
            if order:
                out.write(_format_tracks(t, [labels[tr] for tr in order], xs, ps))
                n_lines += len(order)
            write_s += time.perf_counter() - t1
    total_s = time.perf_counter() - t_start
    return {
        "tracker": "stonesoup", "stonesoup_version": _stonesoup_version(),
        "parse_s": round(parse_s, 4), "track_s": round(track_s, 4), "write_s": round(write_s, 4),
        "total_s": round(total_s, 4),
        "scans": len(scans), "detections": n_det, "times": len({s.t for s in scans}),
        "tracks_confirmed": len(labels), "track_lines": n_lines, "peak_tracks": peak,
        "peak_tentative": peak_tentative, "reordered_scans": late, "format_errors": len(errors),
        "first_errors": [str(e) for e in errors[:5]],
        "max_time": max_time, "config": asdict(config), "out": str(out_path),
    }


#: the Stone Soup modules build_tracker and _detections use
_STONESOUP_MODULES = (
    "stonesoup.dataassociator.neighbour", "stonesoup.dataassociator.tree", "stonesoup.deleter.time",
    "stonesoup.hypothesiser.distance", "stonesoup.initiator.simple", "stonesoup.measures",
    "stonesoup.predictor.kalman", "stonesoup.tracker.simple", "stonesoup.types.angle", "stonesoup.types.array",
    "stonesoup.types.detection", "stonesoup.types.state", "stonesoup.updater.kalman",
    "stonesoup.models.measurement.nonlinear", "stonesoup.models.transition.linear",
)


def _import_stonesoup() -> None:
    import importlib

    for m in _STONESOUP_MODULES:
        importlib.import_module(m)


def _stonesoup_version() -> str:
    from importlib.metadata import version

    return version("stonesoup")


# --------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    d = StoneSoupConfig()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sensors", required=True, type=Path, help="sensors.json (2-D clutter family)")
    ap.add_argument("--detections", required=True, type=Path, help="detections.jsonl")
    ap.add_argument("--out", required=True, type=Path, help="tracks.jsonl to write")
    ap.add_argument("--max-time", type=float, default=None, help="stop after this many seconds of scenario time")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--q", type=float, default=d.q, help=f"CV process noise intensity, m^2/s^3 (default {d.q:g})")
    ap.add_argument("--gate", type=float, default=d.gate, help=f"Mahalanobis missed distance (default {d.gate:g})")
    ap.add_argument("--min-points", type=int, default=d.min_points, help=f"updates to confirm (default {d.min_points})")
    ap.add_argument("--init-speed", type=float, default=d.init_speed_mps, help=f"new-track velocity sigma per axis, m/s (default {d.init_speed_mps:g})")
    ap.add_argument("--delete-steps", type=int, default=d.delete_steps, help=f"missed steps that delete a track (default {d.delete_steps})")
    ap.add_argument("--holding-delete-steps", type=int, default=d.holding_delete_steps, help=f"the same for tentative tracks (default {d.holding_delete_steps})")
    ap.add_argument("--associator", choices=("gnn", "kdtree"), default=d.associator, help="GNNWith2DAssignment or DetectionKDTreeGNN2D (default gnn)")
    ap.add_argument("--kdtree-window", type=float, default=d.kdtree_window_m, help=f"kd-tree range window, m (default {d.kdtree_window_m:g})")
    a = ap.parse_args(argv)
    if a.max_time is not None and not (math.isfinite(a.max_time) and a.max_time >= 0):
        ap.error(f"--max-time: expected seconds >= 0, got {a.max_time}")
    try:
        config = StoneSoupConfig(
            q=a.q, gate=a.gate, min_points=a.min_points, init_speed_mps=a.init_speed, delete_steps=a.delete_steps,
            holding_delete_steps=a.holding_delete_steps, associator=a.associator, kdtree_window_m=a.kdtree_window,
        )
    except ValueError as e:
        ap.error(str(e))
    try:
        import stonesoup  # noqa: F401
    except ImportError:
        print("error: Stone Soup is not installed; pip install -e '.[bench]' (stonesoup>=1.9,<2)", file=sys.stderr)
        return 2
    try:
        summary = run_stonesoup(a.sensors, a.detections, a.out, max_time=a.max_time, config=config)
    except FormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for msg in summary["first_errors"]:
        print(f"skipped: {msg}", file=sys.stderr)
    if a.json:
        print(json.dumps(summary))
    else:
        print(f"stonesoup {summary['stonesoup_version']}: {summary['scans']} scans, {summary['detections']} detections, "
              f"{summary['tracks_confirmed']} confirmed tracks (peak {summary['peak_tracks']} at once), "
              f"tracking {summary['track_s']:.2f} s, total {summary['total_s']:.2f} s -> {summary['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
