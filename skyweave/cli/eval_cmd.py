"""``skyweave eval``: score tracks.jsonl against truth.jsonl (GOSPA, OSPA, RMSE, SIAP, ANEES, PCRLB).

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

import json
import math
import sys
from pathlib import Path

import click
import numpy as np

from skyweave.io.formats import FormatError, load_sensors
from skyweave.io.tracks import TIME_TOL, IdRegistry, detect_dims, iter_state_frames
from skyweave.metrics.interp import interpolate_truth
from skyweave.metrics.pcrlb import CartesianSensor, PcrlbStream, PolarSensor
from skyweave.metrics.scorer import SUMMARY_KEYS, Scorer


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
    if dims_truth is None:
        raise Unusable(f"{truth_path}: no line with a state (t, id, x, y, vx, vy) to score against")
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
        raise Unusable(f"{truth_path}: no good truth line ({len(truth_errors)} bad)")
    if track_stats.get("lines", 0) == 0:
        raise Unusable(f"{tracks_path}: no good track line ({len(track_errors)} bad)")
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


#: file-level keys added to the metric keys, in output order
FILE_KEYS = ("dims", "eval_at", "skipped_instants", "truth_file", "tracks_file", "truth_lines", "track_lines",
             "bad_truth_lines", "bad_track_lines", "pcrlb_q", "pcrlb_sensors")


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    return v


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.{digits}f}"


def print_table(s: dict, notes: list[str]) -> None:
    """The summary as a readable rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False)
    if not con.is_terminal:  # a pipe or a file: wide enough that no row wraps
        con.width = 120
    p = s["p"]
    unit_p = "m" if p == 1 else f"m^{p:g}"
    table = Table(title=f"{s['tracks_file']} against {s['truth_file']}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("unit / note")
    rows = [
        ("instants scored", _fmt(s["instants"]),
         f"{s['dims']}-D; " + ("track times and truth instants in their span" if s["eval_at"] == "all" else "track times")
         + (f"; {s['skipped_instants']} track times outside the truth skipped" if s["skipped_instants"] else "")),
        ("GOSPA (mean)", _fmt(s["gospa_mean"]), f"m; c = {s['c_m']:g} m, p = {p:g}, alpha = 2"),
        ("  localisation part", _fmt(s["gospa_localisation_p_mean"]), f"{unit_p}, mean over instants"),
        ("  missed part", _fmt(s["gospa_missed_p_mean"]), unit_p),
        ("  false part", _fmt(s["gospa_false_p_mean"]), unit_p),
        ("OSPA (mean)", _fmt(s["ospa_mean"]), "m"),
        ("truths / tracks per instant", f"{_fmt(s['truths_per_instant'], 2)} / {_fmt(s['tracks_per_instant'], 2)}", ""),
        ("missed per instant", _fmt(s["missed_per_instant"], 3), "truths without a track within c"),
        ("false per instant", _fmt(s["false_per_instant"], 3), "tracks without a truth within c"),
        ("position RMSE", _fmt(s["rmse_position_m"]), f"m over {s['assigned_pairs']} assigned pairs"),
        ("velocity RMSE", _fmt(s["rmse_velocity_mps"]), "m/s"),
        ("SIAP completeness", _fmt(s["siap_completeness"], 4), f"association within {s['assoc_threshold_m']:g} m"),
        ("SIAP ambiguity", _fmt(s["siap_ambiguity"], 4), "tracks per tracked truth"),
        ("SIAP spuriousness", _fmt(s["siap_spuriousness"], 4), "share of tracks with no truth"),
        ("SIAP ID changes", _fmt(s["siap_id_changes"]), f"{_fmt(s['siap_id_changes_per_truth'], 3)} per truth, {s['truths']} truths"),
        ("SIAP longest segment", _fmt(s["siap_longest_segment"], 4), "mean share of a truth's life held by one track"),
    ]
    if s["anees_count"]:
        rows.append(("ANEES", _fmt(s["anees"]), f"expected {s['anees_dim']}; 95 % interval "
                     f"[{_fmt(s['anees_interval_95_low'])}, {_fmt(s['anees_interval_95_high'])}] over {s['anees_count']} pairs"))
    else:
        rows.append(("ANEES", "-", "no track carries a covariance"))
    if s["pcrlb_q"] is not None:
        rows.append(("PCRLB position (RMS)", _fmt(s["pcrlb_position_m"]), f"m over the same pairs; q = {s['pcrlb_q']:g} m^2/s^3"))
        rows.append(("RMSE / PCRLB", _fmt(s["rmse_to_pcrlb"]), "1 is the best possible"))
    bad = s["bad_truth_lines"] + s["bad_track_lines"]
    rows.append(("lines scored", f"{s['truth_lines']} / {s['track_lines']}",
                 f"truth / tracks; {s['bad_truth_lines']} / {s['bad_track_lines']} bad lines skipped" if bad else "truth / tracks"))
    for r in rows:
        table.add_row(*r)
    con.print(table)
    for note in notes:
        con.print(f"note: {note}")


_KEY_HELP = """
\b
--json keys (numbers in SI units; null where undefined):
  instants, c_m, p, assoc_threshold_m: instants scored and the settings
  gospa_mean: mean GOSPA (m); gospa_localisation_p_mean, gospa_missed_p_mean,
    gospa_false_p_mean: means of its p-th-power parts (m^p; they add up to
    the mean of GOSPA^p); ospa_mean (m)
  truths_per_instant, tracks_per_instant, missed_per_instant, false_per_instant
  assigned_pairs, rmse_position_m, rmse_velocity_mps: over GOSPA pairs (d < c)
  siap_completeness, siap_ambiguity, siap_spuriousness, siap_id_changes,
    siap_id_changes_per_truth, siap_longest_segment, truths
  anees, anees_count, anees_dim, anees_interval_95_low, anees_interval_95_high,
    anees_skipped: over assigned pairs whose track has a cov
  pcrlb_position_m: RMS of the PCRLB position bound over the same pairs as
    rmse_position_m (m); rmse_to_pcrlb: their ratio; pcrlb_q, pcrlb_sensors:
    the settings (with --sensors)
  dims, eval_at, skipped_instants, truth_file, tracks_file, truth_lines,
    track_lines, bad_truth_lines, bad_track_lines
"""


@click.command(name="eval", epilog=_KEY_HELP)
@click.option("--truth", "truth", required=True, type=click.Path(path_type=Path), help="truth.jsonl")
@click.option("--tracks", "tracks", required=True, type=click.Path(path_type=Path), help="tracks.jsonl")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (keys below) instead of a table.")
@click.option("--c", "c", type=float, default=1000.0, show_default=True, help="GOSPA/OSPA cutoff c (m).")
@click.option("--p", "p", type=float, default=1.0, show_default=True, help="GOSPA/OSPA order p (>= 1).")
@click.option("--assoc-threshold", type=float, default=None, help="SIAP association distance (m); default c.")
@click.option("--at", "at", type=click.Choice(["all", "tracks"]), default="all", show_default=True,
              help="Score at track times and truth instants in their span (all), or at track times only.")
@click.option("--sensors", "sensors", type=click.Path(path_type=Path), default=None,
              help="sensors.json: also compute the PCRLB of each truth (needs --q).")
@click.option("--q", "q", type=float, default=None,
              help="PCRLB constant-velocity process noise spectral density (m^2/s^3).")
def eval_(truth, tracks, as_json, c, p, assoc_threshold, at, sensors, q):
    """Score tracks against truth: GOSPA, OSPA, RMSE, SIAP, ANEES and the PCRLB.

    Both files are streamed in time order. Scoring happens at every time of the tracks file (the
    truth interpolated there when it has no instant at that time, by cubic Hermite over position and
    velocity) and, with --at all, at every truth instant within the tracks' time span (no track
    lines there: every truth missed). Bad lines are reported on stderr as FILE:LINE: field ... and
    skipped; the good lines are scored. Exit status 0 when scoring happened, 1 when a file is
    unusable.
    """
    if not (c > 0 and math.isfinite(c)):
        raise click.BadParameter(f"expected a positive number of metres, got {c}", param_hint="--c")
    if not (p >= 1 and math.isfinite(p)):
        raise click.BadParameter(f"expected a number >= 1, got {p}", param_hint="--p")
    if assoc_threshold is not None and not (assoc_threshold > 0 and math.isfinite(assoc_threshold)):
        raise click.BadParameter(f"expected a positive number of metres, got {assoc_threshold}", param_hint="--assoc-threshold")
    if (sensors is None) != (q is None):
        raise click.UsageError("--sensors and --q go together (the PCRLB needs both)")
    if q is not None and not (q >= 0 and math.isfinite(q)):
        raise click.BadParameter(f"expected a spectral density >= 0 (m^2/s^3), got {q}", param_hint="--q")
    try:
        summary, terr, kerr, notes = score_files(truth, tracks, c=c, p=p, assoc_threshold=assoc_threshold, at=at,
                                                 sensors_path=sensors, q=q)
    except (Unusable, FormatError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    for e in (*terr, *kerr):
        click.echo(str(e), err=True)
    if as_json:
        keys = SUMMARY_KEYS + FILE_KEYS
        click.echo(json.dumps({k: _jsonable(summary[k]) for k in keys}))
        for note in notes:
            click.echo(f"note: {note}", err=True)
    else:
        print_table(summary, notes)
