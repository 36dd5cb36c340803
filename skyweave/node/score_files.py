"""Scoring files: a tracks.jsonl against its truth.jsonl (GOSPA, OSPA, RMSE, SIAP, ANEES, PCRLB).

The glue of ``skyweave eval``, the demo and the benchmarks.
The files are streamed (both are in non-decreasing ``t``): memory holds two truth instants, one
track instant and a few numbers per truth id, whatever the length of the files.

When the picture is scored (the instants):
- at every time ``t`` of tracks.jsonl. The truth at ``t`` is the truth instant at the same time
  (within 1e-6 s); when there is none, the truth is interpolated between the neighbouring truth
  instants by cubic Hermite interpolation of positions and velocities (exact for constant velocity
  and constant acceleration), over the truths present at both; a track time before the first or
  after the last truth instant cannot be scored and is counted in ``skipped_instants``;
- with ``--at all`` (the default) also at every truth instant inside [first, last] track time that
  has no track lines: no lines there means no confirmed track, so every truth is missed. Use
  ``--at tracks`` when the sensors' scan times do not fall on the truth instants (then a truth
  instant is no detection time, and the tracker had no reason to write lines at it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyweave.io.formats import FormatError, load_sensors
from skyweave.io.tracks import TIME_TOL, IdRegistry, detect_dims, iter_state_frames
from skyweave.metrics.interp import interpolate_truth
from skyweave.metrics.pcrlb import CartesianSensor, PcrlbStream, PolarSensor
from skyweave.metrics.scorer import Scorer


def _first(errors: list) -> str:
    """'; the first: <path:line: what was wrong>' for a message, or '' when there is none."""
    return f"; the first: {errors[0]}" if errors else ""


class Unusable(Exception):
    """A file that cannot be scored at all (missing, unreadable, no good line, wrong dimension)."""


def pcrlb_sensors(sensor_set, dims: int) -> tuple[list, list[str]]:
    """PCRLB sensor models for the sensors of a sensors.json; returns (models, notes on those left out).

    Radars become :class:`PolarSensor` (elevation used in 3-D when it has ``sigma_elevation_deg``,
    range rate when it has ``sigma_range_rate_mps``), with the exact rotation into their own ENU
    frame when the file has a geodetic origin; ``cartesian`` sensors with ``sigma_m`` become
    :class:`CartesianSensor`. Moving platforms, ADS-B and space-based infrared sensors are left out
    (their measurement model depends on per-detection data or on the target type). A missing
    ``pd`` is taken as 1; a missing ``period_s`` means a scan at every truth instant.
    """
    from skyweave.geo import sensor_transform

    frame = sensor_set.origin.frame() if (sensor_set.origin is not None and dims == 3) else None
    models, notes = [], []
    for s in sensor_set.sensors:
        pos = (s.x, s.y, s.z)[:dims]
        common = dict(pd=1.0 if s.pd is None else s.pd, period_s=s.period_s,
                      phase_s=float(s.extra.get("phase_s", 0.0) or 0.0), name=s.id, max_range_m=s.max_range_m)
        if s.moving:
            notes.append(f"{s.id}: moving platform, left out of the bound")
        elif s.kind == "radar":
            rot = sensor_transform(frame, (s.x, s.y, s.z))[0] if frame is not None else None
            models.append(PolarSensor(
                position=pos, sigma_range_m=s.sigma_range_m, sigma_bearing_deg=s.sigma_bearing_deg,
                sigma_elevation_deg=s.sigma_elevation_deg if dims == 3 else None,
                sigma_range_rate_mps=s.sigma_range_rate_mps, rotation=rot, **common))
        elif s.kind == "cartesian" and s.sigma_m is not None:
            models.append(CartesianSensor(sigma_m=s.sigma_m, position=pos, **common))
        else:
            notes.append(f"{s.id}: {s.kind} sensor, left out of the bound")
    return models, notes


def score_files(truth_path: Path, tracks_path: Path, *, c: float = 1000.0, p: float = 1.0,
                assoc_threshold: float | None = None, at: str = "all", sensors_path: Path | None = None,
                q: float | None = None) -> tuple[dict, list[FormatError], list[FormatError], list[str]]:
    """Score a tracks file against a truth file, streaming both.

    Returns (summary, truth errors, track errors, notes). The summary has the keys of
    :data:`skyweave.metrics.scorer.SUMMARY_KEYS` plus the file figures (see the command's help).
    Raises :class:`Unusable` when a file cannot be scored and :class:`FormatError` for a bad
    sensors file.
    """
    for path in (truth_path, tracks_path):
        if not Path(path).is_file():
            raise Unusable(f"{path}: no such file")
    try:
        dims_truth = detect_dims(truth_path)
        dims_tracks = detect_dims(tracks_path)
    except OSError as e:
        raise Unusable(f"{e.filename}: cannot read ({e.strerror})") from None
    if dims_truth is None:  # read it through once for what was wrong with its first bad line
        errors: list[FormatError] = []
        for _ in iter_state_frames(truth_path, "id", IdRegistry(), errors, 2):
            pass
        raise Unusable(f"{truth_path}: no line with a state (t, id, x, y, vx, vy) to score against "
                       f"({len(errors)} bad{_first(errors)})")
    if dims_tracks is not None and dims_tracks != dims_truth:
        raise Unusable(f"{tracks_path}: tracks are {dims_tracks}-D but the truth in {truth_path} is {dims_truth}-D")
    dims = dims_truth
    notes: list[str] = []
    pcrlb = None
    if sensors_path is not None:
        sensor_set = load_sensors(sensors_path)
        models, notes = pcrlb_sensors(sensor_set, dims)
        if models:
            pcrlb = PcrlbStream(models, q, dims)
        else:
            notes.append("no sensor usable for the PCRLB")

    scorer = Scorer(c=c, p=p, assoc_threshold=assoc_threshold)
    truth_errors: list[FormatError] = []
    track_errors: list[FormatError] = []
    truth_stats: dict = {}
    track_stats: dict = {}
    truth_frames = iter_state_frames(truth_path, "id", IdRegistry(), truth_errors, dims, truth_stats)
    track_frames = iter_state_frames(tracks_path, "track_id", IdRegistry(), track_errors, dims, track_stats)
    n = 2 * dims
    no_ids = np.zeros(0, dtype=np.int64)
    no_states = np.zeros((0, n))
    skipped = 0

    def evaluate(t, ids, states, frame):
        bound = pcrlb.bound(t, ids) if pcrlb is not None else None
        if frame is None:
            scorer.add(t, ids, states, no_ids, no_states, None, bound)
        else:
            scorer.add(t, ids, states, frame.ids, frame.states, frame.covs, bound)

    def read_truth():
        f = next(truth_frames, None)
        if f is not None and pcrlb is not None:
            pcrlb.add_frame(f.t, f.ids, f.states)
        return f

    prev = nxt = None  # truth instants just before, and at or after, the track time in hand
    truth_done = False
    first_t = None
    for frame in track_frames:
        tt = frame.t
        if first_t is None:
            first_t = tt
        while True:
            if nxt is None:
                if truth_done:
                    break
                nxt = read_truth()
                if nxt is None:
                    truth_done = True
                    break
            if nxt.t < tt - TIME_TOL:  # a truth instant with no track lines
                if at == "all" and nxt.t >= first_t - TIME_TOL:
                    evaluate(nxt.t, nxt.ids, nxt.states, None)
                prev, nxt = nxt, None
                continue
            break
        if nxt is not None and abs(nxt.t - tt) <= TIME_TOL:
            evaluate(tt, nxt.ids, nxt.states, frame)
            prev, nxt = nxt, None
        elif prev is not None and nxt is not None:
            ids, states = interpolate_truth(tt, prev.t, prev.ids, prev.states, nxt.t, nxt.ids, nxt.states, dims)
            evaluate(tt, ids, states, frame)
        else:
            skipped += 1
    for _ in truth_frames:  # read the rest of the truth file for its line counts and errors
        pass
    if truth_stats.get("lines", 0) == 0:
        raise Unusable(f"{truth_path}: no good truth line ({len(truth_errors)} bad{_first(truth_errors)})")
    if track_stats.get("lines", 0) == 0:
        raise Unusable(f"{tracks_path}: no good track line ({len(track_errors)} bad{_first(track_errors)})")
    out = scorer.summary()
    out.update({
        "dims": dims, "eval_at": at, "skipped_instants": skipped,
        "truth_file": str(truth_path), "tracks_file": str(tracks_path),
        "truth_lines": truth_stats["lines"], "track_lines": track_stats["lines"],
        "bad_truth_lines": len(truth_errors), "bad_track_lines": len(track_errors),
        "pcrlb_q": q if pcrlb is not None else None,
        "pcrlb_sensors": [m.name for m in pcrlb.sensors] if pcrlb is not None else [],
    })
    return out, truth_errors, track_errors, notes
