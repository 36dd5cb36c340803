"""``skyweave demo``: the main job, end to end, on the shipped trilateral scenario.

1. simulate the exercise; 2. check its files against docs/formats.md; 3. run it as a
four-nation network (in process, with a red team injecting hostile frames); 4. print each
nation's own and fused picture, scored against truth, and the rejected-message counts; 5. print
the missile alerts as the nodes issued them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from skyweave.cli.common import Failure, console, fail, make_dir, resolve_scenario, stages_bar


def score_nations(out: Path, nations, c: float = 2000.0) -> dict:
    """Each nation's own picture (local.jsonl) and fused picture (picture.jsonl) against truth."""
    from skyweave.node.score_files import Unusable, score_files

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


def _pair(own, fused, fmt) -> str:
    """'own → fused' with '-' for a picture that has nothing to score."""
    return f"{fmt(own) if own is not None else '-'} → {fmt(fused) if fused is not None else '-'}"


def print_network(summary: dict, scores: dict, c: float) -> None:
    """Each nation's own and fused picture against truth, what the figures mean, and the frames
    its admission gate refused, summarised by reason."""
    from rich.table import Table

    from skyweave.cli.eval_cmd import anees_verdict
    from skyweave.cli.network_cmd import rejections_table

    con = console()
    table = Table("nation", "tracks own / fused", "targets held own → fused", "position error own → fused",
                  "GOSPA own → fused", "fused covariances", "refused")
    for col in table.columns[1:]:
        col.justify = "right"
    for col in table.columns[5:6]:
        col.justify = "left"
    for n, node in summary["nodes"].items():
        own, fused = scores[n]["local"], scores[n]["picture"]

        def get(s, k):
            return None if s is None or not math.isfinite(s.get(k, math.nan)) else s[k]

        verdict = "-"
        if get(fused, "anees") is not None:
            word = anees_verdict(fused["anees"], fused["anees_interval_95_low"], fused["anees_interval_95_high"]).split(":")[0]
            verdict = (f"{word} (ANEES {fused['anees']:.1f}; 95 %: {fused['anees_interval_95_low']:.1f}"
                       f"-{fused['anees_interval_95_high']:.1f})")
        table.add_row(
            n, f"{node.get('local_tracks', 0)} / {node.get('picture_tracks', 0)}",
            _pair(get(own, "siap_completeness"), get(fused, "siap_completeness"), lambda v: f"{v * 100:.0f} %"),
            _pair(get(own, "rmse_position_m"), get(fused, "rmse_position_m"), lambda v: f"{v:,.0f} m"),
            _pair(get(own, "gospa_mean"), get(fused, "gospa_mean"), lambda v: f"{v / 1000:,.1f} km"),
            verdict, str(sum(node.get("rejected", {}).values())),
        )
    con.print("   each nation's picture, its own and fused with its partners', against truth:")
    con.print(table)
    dim = next((s["anees_dim"] for r in scores.values() for s in r.values() if s and s.get("anees_count")), None)
    legend = [
        "tracks: in the nation's own picture (its sensors) and its fused picture at the end of the run",
        "targets held: share of the targets that have a track (SIAP completeness, over the run)",
        f"position error: RMS distance from a track to its target, over the track-target pairs closer than {c:,.0f} m",
        f"GOSPA (c = {c:,.0f} m, p = 1): at each instant, for the whole picture (not per target), the sum of the "
        f"track-target distances plus c/2 = {c / 2000:g} km for each target missed and each false track; "
        "averaged over the instants; lower is better",
        "fused covariances: ANEES, the mean squared error normalised by the track's own covariance, "
        f"expected {dim if dim else 'the state dimension'}; above its 95 % interval the picture is over-confident "
        "(covariances too small for the errors), below it under-confident (too large)",
        "refused: partner frames its admission gate refused (below, by reason)",
    ]
    for line in legend:
        con.print(f"   {line}", soft_wrap=True, markup=False)
    rej = rejections_table(summary["nodes"])
    if rej is not None:
        con.print("   frames refused by each receiving node, by reason:")
        con.print(rej)
    if summary.get("red_team"):
        con.print("   the red team sent: " + ", ".join(f"{v} {k}" for k, v in sorted(summary["red_team"].items()))
                  + "; none reached a picture", soft_wrap=True, markup=False)


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
@click.option("--out", metavar="DIR", type=click.Path(path_type=Path), default=Path("out/demo"), show_default=True,
              help="Folder for the demo's files.")
@click.option("--scenario", default="trilateral", show_default=True, help="Scenario file or shipped name.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds (default: all).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--text", "text", is_flag=True, default=True,
              help="Print what the joint command sees as text (the default, and the only view until the web view exists).")
def demo(out, scenario, duration, seed, text):
    """Run the trilateral exercise as a four-nation network and print what the joint command sees.

    The text view (--text, the default) prints the simulation, the check of its files, each
    nation's own and fused picture scored against truth with what each figure means, the frames
    the nodes refused by reason (each one in DIR/rejected.log), and the missile alerts as issued.
    """
    del text  # the text view is the only one until the web view exists
    path = resolve_scenario(scenario)
    make_dir(out, "--out")
    from skyweave.cli.network_cmd import rejections_logged_to
    from skyweave.cli.simulate_cmd import print_summary
    from skyweave.cli.validate_cmd import validate_dir
    from skyweave.node.network import run_network

    click.echo(f"== 1. simulate {path.name} and run every nation's node on it (in process; a red team attacks every 300 s)")
    try:
        with rejections_logged_to(out / "rejected.log"), stages_bar() as progress:
            summary = run_network(path, out, seed=seed, duration=duration, red_team_every_s=300.0, progress=progress)
    except (ValueError, OSError, RuntimeError) as e:  # a bad scenario file (FormatError), a file that cannot be written
        fail(e)
    print_summary(summary["simulation"])
    click.echo("== 2. validate the files against docs/formats.md")
    report = validate_dir(out)
    bad = sum(len(r["errors"]) for r in report.values())
    for name, r in report.items():
        click.echo(f"   {name}: {r['lines']} lines, {'ok' if not r['errors'] else str(len(r['errors'])) + ' bad'}")
    if bad:
        raise Failure(f"{out}: {bad} problems in the simulated files (skyweave validate {out} lists them)")
    click.echo("== 3. the network: own tracks (DIR/<NATION>/local.jsonl) and fused pictures (DIR/<NATION>/picture.jsonl)")
    scores = score_nations(out, summary["nations"])
    print_network(summary, scores, 2000.0)
    click.echo(f"   each refused frame, one per line: {out / 'rejected.log'}")
    click.echo("== 4. missile warnings as the nodes issued them (DIR/<NATION>/alerts.jsonl)")
    n = print_alerts(out, summary["nations"])
    click.echo(f"   {n} alerts; network run took {summary['wall_s']:.0f} s")
