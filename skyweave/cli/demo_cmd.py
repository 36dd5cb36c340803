"""``skyweave demo``: the main job, end to end, on the shipped trilateral scenario."""

from __future__ import annotations

from pathlib import Path

import click

from skyweave.cli.common import resolve_scenario
from skyweave.cli.simulate_cmd import print_summary, run_simulation
from skyweave.cli.validate_cmd import validate_dir


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"), show_default=True,
              help="Folder for the demo's files.")
@click.option("--scenario", default="trilateral", show_default=True, help="Scenario file or shipped name.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds (default: all).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
def demo(out, scenario, duration, seed):
    """Simulate the trilateral exercise and check its files, printing what a person wants to see."""
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
