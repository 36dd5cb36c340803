"""``skyweave demo``: the main job, end to end, on the shipped trilateral scenario."""

from __future__ import annotations

from pathlib import Path

import click

from skyweave.cli.common import resolve_scenario
from skyweave.cli.simulate_cmd import print_summary, run_simulation
from skyweave.cli.validate_cmd import validate_dir


def track_nations(out: Path, c: float = 2000.0) -> dict:
    """Track each nation's own sensors (its node's local picture) and score it against truth."""
    from skyweave.cli.eval_cmd import Unusable, score_files
    from skyweave.node.nations import split_by_nation
    from skyweave.node.track_files import track_files
    from skyweave.track.config import TrackerConfig

    counts = split_by_nation(out)
    rows = {}
    for nation, cnt in counts.items():
        d = out / nation
        s = track_files(d / "sensors.json", d / "detections.jsonl", d / "local.jsonl", TrackerConfig(id_prefix=nation))
        try:
            sc, _, _, _ = score_files(out / "truth.jsonl", d / "local.jsonl", c=c, at="tracks")
        except Unusable:  # no track yet (a ship that has not joined)
            sc = None
        rows[nation] = {**cnt, **s, "score": sc}
    return rows


def print_nations(rows: dict, c: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("nation", "sensors", "detections", "tracks", "truths held", "GOSPA", "RMSE", "out of seq.", "time",
                  title=f"each nation's own picture (GOSPA: c = {c:.0f} m, p = 1, mean per scan)")
    for n, r in rows.items():
        sc = r["score"] or {}
        rmse = sc.get("rmse_position_m")
        table.add_row(
            n, str(len(r["sensors"])), f"{r['detections']:,}", str(r["tracks"]),
            f"{sc['siap_completeness'] * 100:.0f} %" if sc else "-", f"{sc['gospa_mean'] / 1000:,.1f} km" if sc else "-",
            "-" if rmse is None else f"{rmse:.0f} m", str(r["out_of_sequence_scans"]), f"{r['tracker_s']:.1f} s",
        )
    Console().print(table)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"), show_default=True,
              help="Folder for the demo's files.")
@click.option("--scenario", default="trilateral", show_default=True, help="Scenario file or shipped name.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds (default: all).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
def demo(out, scenario, duration, seed):
    """Simulate the trilateral exercise, check its files and track each nation's picture, printing what a person wants to see."""
    path = resolve_scenario(scenario)
    click.echo(f"== 1. simulate {path.name}")
    summary = run_simulation(path, out, seed=seed, duration=duration)
    print_summary(summary)
    click.echo("== 2. validate the files against docs/formats.md")
    report = validate_dir(out)
    bad = sum(len(r["errors"]) for r in report.values())
    for name, r in report.items():
        click.echo(f"   {name}: {r['lines']} lines, {'ok' if not r['errors'] else str(len(r['errors'])) + ' bad'}")
    if bad:
        raise click.ClickException(f"{bad} problems in the simulated files")
    click.echo("== 3. track: each nation's node on its own sensors (DIR/<NATION>/local.jsonl)")
    rows = track_nations(out)
    print_nations(rows, 2000.0)
    click.echo("== 4. missile warning on every nation's sensors, as it happens (DIR/alerts.jsonl)")
    warn_joint(out)


def warn_joint(out: Path) -> dict:
    """Run tracking and missile warning over the whole folder, printing the alert timeline."""
    import json

    from skyweave.cli.warn_cmd import Timeline, describe
    from skyweave.node.warn_files import warn_files
    from skyweave.warn.warner import WarnConfig

    tl = Timeline(60.0)
    with open(out / "alerts.jsonl", "w") as f:
        def emit(u):
            f.write(json.dumps(u) + "\n")
            if tl.wants(u):
                click.echo("   " + describe(u))

        s = warn_files(out, emit, warn_config=WarnConfig(alert_prefix="CMD"))
    click.echo(f"   {s['alerts']} alerts, {s['alert_updates']} updates written to {out / 'alerts.jsonl'}")
    return s
