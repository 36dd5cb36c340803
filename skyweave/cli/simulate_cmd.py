"""``skyweave simulate``: a scenario file to sensors.json, detections.jsonl and truth.jsonl."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import click

from skyweave.cli.common import fail, progress_bar, resolve_scenario
from skyweave.io.formats import FormatError, write_sensors
from skyweave.io.writers import format_detections, format_states
from skyweave.scenario.spec import load_scenario
from skyweave.scenario.world import ScanEvent, World


def run_simulation(scenario_path, out: Path, seed: int | None = None, duration: float | None = None, progress=True) -> dict:
    """Simulate into ``out``; returns a summary dict (counts, wall time). Used by the CLI and the demo."""
    scenario = load_scenario(scenario_path)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world = World(scenario, seed=seed, duration_s=duration)
    write_sensors(out / "sensors.json", world.sensor_set())
    (out / "targets.json").write_text(json.dumps(world.target_summary(), indent=1) + "\n")
    per_sensor: Counter = Counter()
    false_alarms: Counter = Counter()
    scans: Counter = Counter()
    truth_lines = 0
    late = 0
    dims = world.dims
    with open(out / "detections.jsonl", "w", buffering=1 << 22) as det, open(out / "truth.jsonl", "w", buffering=1 << 22) as tru, \
            progress_bar(world.duration_s, f"simulating {scenario.name}", enabled=None if progress else False) as update:
        for ev in world.events(update):
            if isinstance(ev, ScanEvent):
                s = ev.scan
                scans[s.sensor] += 1
                n = len(s)
                if n == 0:
                    continue
                per_sensor[s.sensor] += n
                false_alarms[s.sensor] += int((s.truth_index < 0).sum())
                late += n if ev.delivered_t > s.t else 0
                det.write(format_detections(
                    s.sensor, s.t, s.columns, icao24=s.extra.get("icao24"),
                    sensor_geo=s.sensor_geo, sensor_pos=s.sensor_pos if s.sensor_geo is None else None,
                ))
            else:
                text = format_states(ev.t, ev.ids, ev.states, dims)
                truth_lines += text.count("\n")
                tru.write(text)
    wall = time.perf_counter() - t0
    types = Counter(world.targets.types.tolist())
    return {
        "scenario": scenario.name, "seed": world.seed, "duration_s": world.duration_s, "dims": dims,
        "targets": dict(types), "sensors": {m.id: m.kind for m in world.sensor_models},
        "scans": dict(scans), "detections": dict(per_sensor), "false_alarms": dict(false_alarms),
        "detections_total": sum(per_sensor.values()), "delivered_late": late, "truth_lines": truth_lines,
        "wall_s": round(wall, 3), "out": str(out),
    }


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    tg = ", ".join(f"{n} {k}" for k, n in sorted(summary["targets"].items()))
    con.print(f"[bold]{summary['scenario']}[/]: {summary['duration_s']:.0f} s of scenario time, seed {summary['seed']}, "
              f"{summary['dims']}-D; targets: {tg}")
    table = Table("sensor", "kind", "scans", "detections", "false alarms")
    for sid, kind in summary["sensors"].items():
        table.add_row(sid, kind, str(summary["scans"].get(sid, 0)), str(summary["detections"].get(sid, 0)),
                      str(summary["false_alarms"].get(sid, 0)))
    con.print(table)
    con.print(f"{summary['detections_total']} detections ({summary['delivered_late']} delivered late, so out of "
              f"sequence across sensors), {summary['truth_lines']} truth lines, written to {summary['out']} "
              f"in {summary['wall_s']:.1f} s")


@click.command()
@click.argument("scenario")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write into (created).")
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
    try:
        summary = run_simulation(resolve_scenario(scenario), out, seed, duration, progress=not as_json)
    except FormatError as e:
        fail(e)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        print_summary(summary)
