"""``skyweave simulate``: a scenario file to sensors.json, detections.jsonl and truth.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import click

from skyweave.cli.common import console, fail, make_dir, resolve_scenario, stages_bar
from skyweave.io.formats import FormatError
from skyweave.node.simulate import run_simulation


def print_summary(summary: dict) -> None:
    """The simulation summary for a person: targets, one row per sensor, what was written."""
    from rich.table import Table

    con = console()
    tg = ", ".join(f"{n} {k}" for k, n in sorted(summary["targets"].items()))
    con.print(f"[bold]{summary['scenario']}[/]: {summary['duration_s']:.0f} s of scenario time, seed {summary['seed']}, "
              f"{summary['dims']}-D; targets: {tg}", soft_wrap=True)
    table = Table("sensor", "kind", "scans", "detections", "false alarms")
    for c in table.columns[2:]:
        c.justify = "right"
    for sid, kind in summary["sensors"].items():
        table.add_row(sid, kind, str(summary["scans"].get(sid, 0)), str(summary["detections"].get(sid, 0)),
                      str(summary["false_alarms"].get(sid, 0)))
    con.print(table)
    ooo = summary.get("out_of_order", 0)
    order = (f"{ooo} of them reach the file after a detection measured later (out of sequence across sensors, "
             f"by up to {summary.get('max_out_of_order_s', 0):.1f} s)" if ooo else "all in time order")
    con.print(f"{summary['detections_total']} detections, {order}; {summary['truth_lines']} truth lines; "
              f"written to {summary['out']} in {summary['wall_s']:.1f} s", soft_wrap=True)


@click.command()
@click.argument("scenario")
@click.option("--out", "out", required=True, metavar="DIR", type=click.Path(path_type=Path), help="Folder to write into (created).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's). Same seed, same files.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds to simulate (default: the scenario's).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def simulate(scenario, out, seed, duration, as_json):
    """Simulate SCENARIO (a YAML file, or a shipped name such as 'trilateral').

    Writes DIR/sensors.json, DIR/detections.jsonl and DIR/truth.jsonl exactly as docs/formats.md
    says, plus DIR/targets.json (each target's type; launch and impact of ballistic missiles).
    Detections are in delivery order: each sensor's reports arrive after its latency, so lines are
    in time order per sensor but not across sensors.
    """
    path = resolve_scenario(scenario)
    make_dir(out, "--out")
    try:
        with stages_bar(None if not as_json else False) as update:
            bar = (lambda t, total: update("simulate", t, total)) if update else None
            summary = run_simulation(path, out, seed, duration, progress=bar)
    except (FormatError, OSError) as e:
        fail(e)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        print_summary(summary)
