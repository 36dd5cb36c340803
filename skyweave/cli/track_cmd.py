"""``skyweave track``: detections.jsonl to tracks.jsonl with the vectorised multi-sensor tracker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from skyweave.cli.common import Failure, fail, make_parent, need_file
from skyweave.cli.main import help_list
from skyweave.track.config import TrackerConfig

#: bad lines printed in full on stderr (all are counted)
SHOW = 20


def load_config(path: Path | None, **overrides) -> TrackerConfig:
    """A tracker configuration from a YAML or JSON file (or defaults), with command-line overrides.

    Every problem with the file is a :class:`Failure` naming the file (and line, or parameter).
    """
    raw: dict = {}
    if path is not None:
        import yaml

        need_file(path, "--config")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise Failure(f"--config {path}: cannot read the tracker config ({getattr(e, 'strerror', None) or e})") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise Failure(f"{where}: expected a YAML or JSON mapping of tracker parameters "
                          f"({getattr(e, 'problem', None) or e}); fix the file") from None
        if not isinstance(raw, dict):
            raise Failure(f"{path}: expected a YAML or JSON mapping of tracker parameters (name: value), "
                          f"got a {type(raw).__name__}; see skyweave track --help")
        if "tracker" in raw and isinstance(raw["tracker"], dict):
            raw = raw["tracker"]
    try:
        return TrackerConfig.from_mapping(raw, **overrides)
    except (ValueError, TypeError) as e:
        raise Failure(f"{path or 'command line'}: {e}") from None


def _estimate_lines(path: Path) -> int:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        n = head.count(b"\n")
        return int(size / (len(head) / n)) if n else 1
    except OSError:
        return 1


#: one line per tracker parameter (click's no-rewrap block), for the help's epilog
_PARAMS = help_list(f"  {n} (default {d!r}): {doc}" for n, d, doc in TrackerConfig.describe())


@click.command(epilog="Tracker parameters for --config (YAML or JSON mapping):\n\n" + _PARAMS)
@click.option("--sensors", "sensors_path", required=True, type=click.Path(path_type=Path), help="sensors.json")
@click.option("--detections", "detections_path", required=True, type=click.Path(path_type=Path), help="detections.jsonl")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="tracks.jsonl to write (its folder is created).")
@click.option("--tracker", "association", type=click.Choice(["gnn", "jpda"]), default=None, help="Data association (default gnn).")
@click.option("--model", type=click.Choice(["cv", "ca", "ct", "imm"]), default=None, help="Motion model (default imm: CV and CT interacting; cv, ca, ct: one model).")
@click.option("--filter", "filter_", type=click.Choice(["ekf", "ukf"]), default=None, help="Filter (default ekf).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help="YAML/JSON file of tracker parameters (see below).")
@click.option("--lag", "lag_s", type=click.FloatRange(min=0), default=None, help="Out-of-sequence window in seconds (default 10).")
@click.option("--id-prefix", default=None, help="Track ids are PREFIX-N (default T).")
@click.option("--no-cov", is_flag=True, help="Leave the covariance out of tracks.jsonl (smaller files).")
@click.option("--every", "every_s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Write one picture per this many seconds of data time (sources whose every detection has its own "
                   "time: ADS-B, plot-by-plot radar). Default: one per distinct detection time.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def track(sensors_path, detections_path, out_path, association, model, filter_, config_path, lag_s, id_prefix, no_cov,
          every_s, as_json):
    """Track DETECTIONS from SENSORS into tracks.jsonl (docs/formats.md).

    Scans are processed at their own times; scans that arrive late (out of sequence) by up to
    the lag are folded in exactly by re-processing. For every distinct detection time, the
    output has one line per confirmed track with its state (and covariance) at that time. Bad
    input lines are reported by file, line and field on stderr and skipped; the good lines
    around them are tracked.
    """
    from skyweave.cli.common import progress_bar
    from skyweave.io.formats import FormatError  # here: it pulls in numpy, which --help never needs
    from skyweave.node.track_files import track_files

    need_file(sensors_path, "--sensors")
    need_file(detections_path, "--detections")
    cfg = load_config(config_path, association=association, model=model, filter=filter_, lag_s=lag_s, id_prefix=id_prefix)
    make_parent(out_path, "--out")
    total = _estimate_lines(detections_path)
    try:
        with progress_bar(total, f"tracking {detections_path.name}", enabled=None if not as_json else False) as update:
            summary = track_files(sensors_path, detections_path, out_path, cfg, with_cov=not no_cov, progress=update,
                                      every=every_s)
    except (FormatError, ValueError, OSError) as e:
        fail(e)
    errors = summary.pop("errors")
    for msg in errors[:SHOW]:
        click.echo(msg, err=True)
    if len(errors) > SHOW:
        click.echo(f"... and {len(errors) - SHOW} more bad lines", err=True)
    for sensor, t, newest in summary["late"][:SHOW]:
        click.echo(f"{detections_path}: scan of {sensor} at t={t} arrived after t={newest}, beyond the {cfg.lag_s} s "
                   "out-of-sequence window: not folded in (raise --lag to keep such scans)", err=True)
    if as_json:
        summary["late"] = [list(x) for x in summary["late"]]
        click.echo(json.dumps(summary))
        return
    rate = summary["measurements"] / max(summary["tracker_s"], 1e-9)
    click.echo(
        f"{summary['scans']} scans, {summary['measurements']} measurements -> {summary['tracks']} confirmed tracks "
        f"({summary['track_lines']} lines in {summary['frames']} frames) written to {out_path}\n"
        f"tracker {summary['estimator']}/{cfg.association}: {summary['tracker_s']:.2f} s "
        f"({rate:,.0f} measurements/s), total {summary['wall_s']:.2f} s; "
        f"{summary['out_of_sequence_scans']} out-of-sequence scans folded in, {summary['late_scans']} too late, "
        f"{summary['bad_lines']} bad lines"
    )
    if summary["ir_cues_not_tracked"]:
        click.echo(f"{summary['ir_cues_not_tracked']} infrared launch cues are for `skyweave warn`, not the air tracker")
    sys.stdout.flush()
