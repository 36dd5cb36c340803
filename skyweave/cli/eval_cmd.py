"""``skyweave eval``: score tracks.jsonl against truth.jsonl (GOSPA, OSPA, RMSE, SIAP, ANEES, PCRLB).

The scoring itself (streaming, which instants are scored, truth interpolation) is
:func:`skyweave.node.score_files.score_files`; this module parses the options and prints.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import numpy as np

from skyweave.cli.common import console, fail, need_file
from skyweave.io.formats import FormatError
from skyweave.metrics.scorer import SUMMARY_KEYS
from skyweave.node.score_files import Unusable, score_files


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
    from rich.table import Table

    con = console()
    p = s["p"]
    unit_p = "m" if p == 1 else f"m^{p:g}"
    con.print(f"{s['tracks_file']} against {s['truth_file']}:", soft_wrap=True, markup=False)
    table = Table()
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("unit / note")
    rows = [
        ("instants scored", _fmt(s["instants"]),
         f"{s['dims']}-D; " + ("track times and truth instants in their span" if s["eval_at"] == "all" else "track times")
         + (f"; {s['skipped_instants']} track times outside the truth skipped" if s["skipped_instants"] else "")),
        ("GOSPA (mean)", _fmt(s["gospa_mean"]), f"m per instant for the whole picture (not per target), mean over "
         f"instants; c = {s['c_m']:g} m, p = {p:g}, alpha = 2"),
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
        n = s["anees_dim"]
        rows.append(("ANEES", _fmt(s["anees"]), f"expected {n}, honest within ±20 % [{0.8 * n:g}, {1.2 * n:g}]; pooled 95 % "
                     f"interval [{_fmt(s['anees_interval_95_low'])}, {_fmt(s['anees_interval_95_high'])}] over {s['anees_count']} pairs"))
        if s["nees_tracks"]:
            rows.append(("tracks in NEES bounds", _fmt(100 * s["nees_tracks_inside"], 1) + " %",
                         f"of {s['nees_tracks']} tracks with 60+ scored instants, each against its own 95 % bounds (batch means); "
                         f"{_fmt(100 * s['nees_tracks_above'], 1)} % above (over-confident), "
                         f"{_fmt(100 * s['nees_tracks_below'], 1)} % below (under-confident)"))
        rows.append(("covariances", *covariance_verdict(s)))
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


def covariance_verdict(s: dict) -> tuple[str, str]:
    """Whether the tracks' covariances are honest, in words: (verdict, why).

    Honest: the ANEES within ±20 % of the state dimension and at least 90 % of the judged tracks
    inside their own 95 % bounds (the pooled interval of a large sample is far narrower than any
    real filter's modelling error, so it is reported, not used as the verdict).
    """
    n, a = s["anees_dim"], s["anees"]
    if not (math.isfinite(a) and n):
        return "-", "no verdict"
    inside = s["nees_tracks_inside"]
    if a > 1.2 * n:
        return "over-confident", f"ANEES {a:.2f} > {1.2 * n:g}: the covariances are too small for the errors"
    if a < 0.8 * n:
        return "under-confident", f"ANEES {a:.2f} < {0.8 * n:g}: the covariances are larger than the errors"
    if math.isfinite(inside) and inside < 0.9:
        side = "over" if s["nees_tracks_above"] >= s["nees_tracks_below"] else "under"
        return f"mixed ({side}-confident tracks)", (f"ANEES {a:.2f} within ±20 % of {n}, but only {100 * inside:.1f} % of tracks "
                                                    f"inside their bounds (goal 90 %)")
    return "honest", f"ANEES {a:.2f} within ±20 % of {n}" + (f" and {100 * inside:.1f} % of tracks inside their bounds"
                                                          if math.isfinite(inside) else "")


def anees_verdict(anees: float, low: float, high: float) -> str:
    """What an ANEES says about the tracks' covariances, in words, against its 95 % interval."""
    if not all(math.isfinite(v) for v in (anees, low, high)):
        return "no verdict"
    if anees > high:
        return "over-confident: the covariances are too small for the errors"
    if anees < low:
        return "under-confident: the covariances are larger than the errors"
    return "consistent: the covariances match the errors"


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
    anees_skipped: over assigned pairs whose track has a cov, the assigned
    truths and tracks paired again by whole states (position and velocity)
    where targets cross
  nees_tracks, nees_tracks_inside, nees_tracks_above, nees_tracks_below:
    tracks with 60+ scored instants and the shares of them whose mean NEES is
    inside / above / below its own 95 % bounds (correlation-aware)
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
    need_file(truth, "--truth")
    need_file(tracks, "--tracks")
    if sensors is not None:
        need_file(sensors, "--sensors")
    try:
        summary, terr, kerr, notes = score_files(truth, tracks, c=c, p=p, assoc_threshold=assoc_threshold, at=at,
                                                 sensors_path=sensors, q=q)
    except (Unusable, FormatError, OSError) as e:
        fail(e)
    for e in (*terr, *kerr):
        click.echo(str(e), err=True)
    if as_json:
        keys = SUMMARY_KEYS + FILE_KEYS
        click.echo(json.dumps({k: _jsonable(summary[k]) for k in keys}))
        for note in notes:
            click.echo(f"note: {note}", err=True)
    else:
        print_table(summary, notes)
