"""``skyweave validate``: check every file of a scenario folder against docs/formats.md."""

from __future__ import annotations

import json
from pathlib import Path

import click

from skyweave.cli.common import need_dir
from skyweave.io.formats import DetectionReader, FormatError, iter_state_lines, load_sensors

#: how many errors per file are printed in full (all are counted)
SHOW = 50


def validate_dir(folder: Path) -> dict:
    """Validate sensors.json, detections.jsonl, truth.jsonl and tracks.jsonl where present.

    Returns {file: {"lines": n_good, "errors": [messages]}}; a missing sensors.json is an error
    because detections cannot be checked without it.
    """
    report: dict[str, dict] = {}
    sensors = None
    sp = folder / "sensors.json"
    if sp.exists():
        try:
            sensors = load_sensors(sp)
            report["sensors.json"] = {"lines": len(sensors.sensors), "errors": []}
        except FormatError as e:
            report["sensors.json"] = {"lines": 0, "errors": [str(e)]}
    else:
        report["sensors.json"] = {"lines": 0, "errors": [f"{sp}: missing (needed to check detections)"]}
    dp = folder / "detections.jsonl"
    if dp.exists() and sensors is not None:
        reader = DetectionReader(dp, sensors)
        for _ in reader:
            pass
        report["detections.jsonl"] = {"lines": reader.count, "errors": [str(e) for e in reader.errors]}
    dims = sensors.dims if sensors is not None else None
    for name, id_field in (("truth.jsonl", "id"), ("tracks.jsonl", "track_id")):
        p = folder / name
        if p.exists():
            errors: list[FormatError] = []
            n = sum(1 for _ in iter_state_lines(p, id_field, errors, dims))
            report[name] = {"lines": n, "errors": [str(e) for e in errors]}
    return report


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def validate(folder, as_json):
    """Check FOLDER's sensors.json, detections.jsonl, truth.jsonl (and tracks.jsonl).

    Every bad line is reported with its file, line number, field, what was expected and what came;
    good lines are counted. Exits 1 if anything is wrong, 0 if all is well.
    """
    need_dir(folder, "FOLDER")
    report = validate_dir(folder)
    bad = sum(len(r["errors"]) for r in report.values())
    if as_json:
        click.echo(json.dumps({"folder": str(folder), "ok": bad == 0, "files": report}))
    else:
        for name, r in report.items():
            status = "ok" if not r["errors"] else f"{len(r['errors'])} bad"
            click.echo(f"{name}: {r['lines']} good, {status}")
            for msg in r["errors"][:SHOW]:
                click.echo(f"  {msg}")
            if len(r["errors"]) > SHOW:
                click.echo(f"  ... and {len(r['errors']) - SHOW} more")
        click.echo("all files valid" if bad == 0 else f"{bad} problems found")
    if bad:
        raise SystemExit(1)
