"""``skyweave network run``: every nation's node on one scenario, in one process or over NATS."""

from __future__ import annotations

import json
from pathlib import Path

import click

from skyweave.cli.common import fail, resolve_scenario


@click.group()
def network():
    """Run a coalition network of national nodes."""


@network.command("run")
@click.argument("scenario")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write into.")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds (default: the scenario's).")
@click.option("--nats", default=None, help="NATS server URL(s) (comma-separated for a cluster); default: an in-process bus.")
@click.option("--processes", is_flag=True, help="With --nats: one `skyweave node` process per nation, paced on the wall clock.")
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True, help="With --processes: replay speed (× real time).")
@click.option("--report-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds between full reports.")
@click.option("--no-responsibility", is_flag=True, help="Every node reports every track (no reporting responsibility).")
@click.option("--red-team", "red_team_every_s", type=click.FloatRange(min=1), default=None,
              help="Every this many scenario seconds, inject forged, unsigned, tampered, replayed and unreleasable frames (in-process and NATS runs).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def run(scenario, out, seed, duration, nats, processes, speed, report_interval, no_responsibility, red_team_every_s, as_json):
    """Simulate SCENARIO and run every nation's node on it.

    Writes DIR/truth.jsonl (and sensors.json, detections.jsonl), and per nation
    DIR/<NATION>/local.jsonl (its own tracks) and DIR/<NATION>/picture.jsonl (the fused picture
    as that nation sees it), both in the tracks format with releasable_to and sources, plus
    alerts.jsonl and status.json (rejected-message counts and traffic).
    """
    from skyweave.io.formats import FormatError
    from skyweave.node.network import run_network

    if processes and not nats:
        raise click.BadParameter("--processes needs --nats URL", param_hint="--processes")
    try:
        s = run_network(resolve_scenario(scenario), out, seed=seed, duration=duration, nats=nats, processes=processes,
                        report_interval_s=report_interval, responsibility=not no_responsibility, speed=speed,
                        progress=not as_json, red_team_every_s=red_team_every_s)
    except (FormatError, ValueError, RuntimeError) as e:
        fail(e)
    if as_json:
        click.echo(json.dumps(s, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("nation", "own tracks", "picture", "reports out", "frames out", "kB out", "reports in", "rejected",
                  title=f"{s['mode']} network, {len(s['nations'])} nodes, {s['wall_s']:.1f} s")
    for n, r in s["nodes"].items():
        rej = str(sum(r.get("rejected", {}).values()))
        table.add_row(n, str(r.get("local_tracks", 0)), str(r.get("picture_tracks", 0)), str(r.get("reports_out", 0)),
                      str(r.get("frames_out", 0)), f"{r.get('bytes_out', 0) / 1000:,.0f}", str(r.get("reports_in", 0)), rej)
    Console().print(table)
    for n, r in s["nodes"].items():
        if r.get("rejected"):
            click.echo(f"{n} rejected: " + ", ".join(f"{v} {k}" for k, v in sorted(r["rejected"].items())))
    if s.get("red_team"):
        click.echo("red team injected: " + ", ".join(f"{v} {k}" for k, v in sorted(s["red_team"].items())))
    click.echo(f"files in {out}/<NATION>/local.jsonl and picture.jsonl")
