"""``skyweave replay``: re-drive every node of a journal and write its picture files again."""

from __future__ import annotations

import json
from pathlib import Path

import click

from skyweave.cli.common import console, fail, make_dir


@click.command()
@click.argument("journal")
@click.option("--out", required=True, metavar="DIR", type=click.Path(path_type=Path), help="Folder to write into (created).")
@click.option("--speed", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Pace the recorded scans at this many times the scenario's time; 0: as fast as it goes.")
@click.option("--seal-keys", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="Folder of the nodes' X25519 private keys, <NATION>.x25519 (a run over NATS writes them in "
                   "OUT/keys): a run over NATS seals every frame to its recipient and a journal holds no private "
                   "key, so without it a node's partner frames stay shut and only its local.jsonl is reproduced.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def replay(journal, out, speed, seal_keys, as_json):
    """Re-drive every node recorded in JOURNAL (an SQLite file or a postgresql:// URL, written by
    `skyweave network run --journal`) from its
    recorded scans, partner frames and ticks, in the pipeline's deterministic mode.

    A run with --processes keeps one journal per node: DIR/<NATION>.sqlite, or in PostgreSQL one
    schema per node, skyweave_<nation> (lower case); address one with libpq's search_path option,
    e.g. 'postgresql://USER@HOST/DB?options=-csearch_path%3Dskyweave_jpn' (or the database's URL
    with the environment's PGOPTIONS set to -csearch_path=skyweave_jpn). The run prints each
    node's URL.

    Writes DIR/sensors.json and per nation DIR/<NATION>/local.jsonl, picture.jsonl, alerts.jsonl and
    status.json: for an in-process run, the same files byte for byte; each frame the gates refused
    again, one per line, in DIR/rejected.log. A journal cut short (its
    writer killed) replays up to its last committed batch.
    """
    make_dir(out, "--out")
    from skyweave.io.formats import FormatError
    from skyweave.node.journal import replay as run_replay

    from skyweave.cli.network_cmd import rejections_logged_to

    try:
        keys = None
        if seal_keys is not None:
            from skyweave.node.journal import open_reader, seal_keys_from

            r = open_reader(journal)
            nations = sorted(r.nodes)
            r.close()
            keys = seal_keys_from(seal_keys, nations)
        with rejections_logged_to(out / "rejected.log"):
            s = run_replay(journal, out, speed=speed, seal_keys=keys)
    except (FormatError, ValueError, OSError) as e:
        fail(e)
    if as_json:
        click.echo(json.dumps(s, default=str))
        return
    con = console()
    ins = s["inputs"]
    con.print(f"replayed {len(s['nations'])} nodes from {journal} in {s['wall_s']:.1f} s: {ins.get('scan', 0)} scans, "
              f"{ins.get('frame', 0)} partner frames, {ins.get('tick', 0)} ticks", soft_wrap=True)
    if s["verdicts_differ"]:
        con.print(f"[yellow]{s['verdicts_differ']} gate verdicts differ from the recorded ones[/yellow]")
    for n, k in sorted(s["sealed_unopened"].items()):
        con.print(f"[yellow]{k} partner frames sealed to {n} stayed shut: give --seal-keys DIR (the folder holding "
                  f"{n}.x25519, e.g. the run's OUT/keys) to re-drive its fused picture and alerts too[/yellow]",
                  soft_wrap=True)
    con.print(f"files in {out}/<NATION>/local.jsonl, picture.jsonl and alerts.jsonl", soft_wrap=True)
