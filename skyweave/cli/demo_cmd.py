"""``skyweave demo``: the main job, end to end, on the shipped trilateral scenario.

1. simulate the exercise; 2. check its files against docs/formats.md; 3. run it as a
four-nation network (in process, with a red team injecting hostile frames); 4. print each
nation's own and fused picture, scored against truth, and the rejected-message counts; 5. print
the missile alerts as the nodes issued them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from skyweave.cli.common import resolve_scenario


def score_nations(out: Path, nations, c: float = 2000.0) -> dict:
    """Each nation's own picture (local.jsonl) and fused picture (picture.jsonl) against truth."""
    from skyweave.cli.eval_cmd import Unusable, score_files

    rows = {}
    for n in nations:
        r = {}
        for which in ("local", "picture"):
            try:
                r[which], _, _, _ = score_files(out / "truth.jsonl", out / n / f"{which}.jsonl", c=c, at="tracks")
            except Unusable:  # nothing yet (a ship that has not joined)
                r[which] = None
        rows[n] = r
    return rows


def print_network(summary: dict, scores: dict, c: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("nation", "own tracks", "fused tracks", "own GOSPA", "fused GOSPA", "truths held", "rejected",
                  title=f"each nation's picture, own and fused (GOSPA: c = {c:.0f} m, p = 1, mean per instant)")
    for n, node in summary["nodes"].items():
        own, fused = scores[n]["local"], scores[n]["picture"]
        table.add_row(
            n, str(node.get("local_tracks", 0)), str(node.get("picture_tracks", 0)),
            f"{own['gospa_mean'] / 1000:,.1f} km" if own else "-", f"{fused['gospa_mean'] / 1000:,.1f} km" if fused else "-",
            f"{(own or {}).get('siap_completeness', 0) * 100:.0f} % → {(fused or {}).get('siap_completeness', 0) * 100:.0f} %",
            str(sum(node.get("rejected", {}).values())),
        )
    Console().print(table)
    for n, node in summary["nodes"].items():
        if node.get("rejected"):
            click.echo(f"   {n} rejected: " + ", ".join(f"{v} {k}" for k, v in sorted(node["rejected"].items())))
    if summary.get("red_team"):
        click.echo("   the red team sent: " + ", ".join(f"{v} {k}" for k, v in sorted(summary["red_team"].items()))
                   + "; none reached a picture")


def print_alerts(out: Path, nations, every_s: float = 60.0) -> int:
    from skyweave.cli.warn_cmd import Timeline, describe

    updates = []
    for n in nations:
        p = out / n / "alerts.jsonl"
        if p.exists():
            updates += [json.loads(x) for x in p.read_text().splitlines()]
    updates.sort(key=lambda u: (u["t"], u["alert_id"]))
    tl = Timeline(every_s)
    for u in updates:
        if tl.wants(u):
            click.echo("   " + describe(u))
    return len({u["alert_id"] for u in updates})


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"), show_default=True,
              help="Folder for the demo's files.")
@click.option("--scenario", default="trilateral", show_default=True, help="Scenario file or shipped name.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds (default: all).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
def demo(out, scenario, duration, seed):
    """Run the trilateral exercise as a four-nation network and print what the joint command sees."""
    from skyweave.cli.simulate_cmd import print_summary
    from skyweave.cli.validate_cmd import validate_dir
    from skyweave.node.network import run_network

    path = resolve_scenario(scenario)
    click.echo(f"== 1. simulate {path.name} and run every nation's node on it (in process; a red team attacks every 300 s)")
    summary = run_network(path, out, seed=seed, duration=duration, red_team_every_s=300.0)
    print_summary(summary["simulation"])
    click.echo("== 2. validate the files against docs/formats.md")
    report = validate_dir(out)
    bad = sum(len(r["errors"]) for r in report.values())
    for name, r in report.items():
        click.echo(f"   {name}: {r['lines']} lines, {'ok' if not r['errors'] else str(len(r['errors'])) + ' bad'}")
    if bad:
        raise click.ClickException(f"{bad} problems in the simulated files")
    click.echo("== 3. the network: own tracks (DIR/<NATION>/local.jsonl) and fused pictures (DIR/<NATION>/picture.jsonl)")
    scores = score_nations(out, summary["nations"])
    print_network(summary, scores, 2000.0)
    click.echo("== 4. missile warnings as the nodes issued them (DIR/<NATION>/alerts.jsonl)")
    n = print_alerts(out, summary["nations"])
    click.echo(f"   {n} alerts; network run took {summary['wall_s']:.0f} s")
