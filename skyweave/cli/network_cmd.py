"""``skyweave network run``: every nation's node on one scenario, in one process or over NATS."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from pathlib import Path

import click

from skyweave.cli.common import Failure, console, fail, make_dir, make_parent, resolve_scenario, stages_bar

#: each reason a receiving node refuses a frame for (skyweave.share.admission.REASONS), in words
REASON_MEANING = {
    "malformed": "not a well-formed skyweave envelope",
    "unsigned": "carries no signature",
    "unknown_sender": "no public key configured for the sender nation",
    "bad_signature": "signature does not verify: forged with another key, or tampered",
    "not_for_me": "addressed to another nation",
    "unreleasable": "its REL TO marking leaves the receiver out",
    "replayed": "an old message sent again, or the same id with other content",
    "duplicate": "a copy of a frame already admitted (replayed unchanged, or delivered twice): dropped",
    "stale": "content too old",
    "future": "content time ahead of the receiver's clock",
}

#: the logger the admission gate names every refused frame on
ADMISSION_LOGGER = "skyweave.share.admission"


@contextmanager
def rejections_logged_to(path: Path):
    """Send the admission gate's one line per refused frame to ``path`` instead of the terminal
    (the run prints them summarised by reason)."""
    log = logging.getLogger(ADMISSION_LOGGER)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = log.propagate, log.level
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.DEBUG)  # duplicates are logged at debug level
    try:
        yield path
    finally:
        log.removeHandler(handler)
        handler.close()
        log.propagate, log.level = saved


def rejections_table(nodes: dict):
    """A rich table of refused frames: one row per reason, one column per receiving nation, what
    the reason means; None when no node refused anything."""
    from rich.table import Table

    nations = list(nodes)
    reasons = sorted({r for node in nodes.values() for r in (node.get("rejected") or {})},
                     key=lambda r: (list(REASON_MEANING).index(r) if r in REASON_MEANING else len(REASON_MEANING), r))
    if not reasons:
        return None
    table = Table()
    table.add_column("reason")
    for n in nations:
        table.add_column(n, justify="right")
    table.add_column("what it means")
    for r in reasons:
        table.add_row(r, *[str((nodes[n].get("rejected") or {}).get(r, "")) or "-" for n in nations],
                      REASON_MEANING.get(r, ""))
    return table


@click.group()
def network():
    """Run a coalition network of national nodes."""


@network.command("run")
@click.argument("scenario")
@click.option("--out", required=True, metavar="DIR", type=click.Path(path_type=Path), help="Folder to write into (created).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Scenario seconds (default: the scenario's).")
@click.option("--nats", default=None, help="NATS server URL(s) (comma-separated for a cluster); default: an in-process bus.")
@click.option("--processes", is_flag=True, help="With --nats: one `skyweave node` process per nation, paced on the wall clock.")
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True, help="With --processes: replay speed (× real time).")
@click.option("--report-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds between full reports.")
@click.option("--no-responsibility", is_flag=True, help="Every node reports every track (no reporting responsibility).")
@click.option("--red-team", "red_team_every_s", type=click.FloatRange(min=1), default=None,
              help="Every this many scenario seconds, inject forged, unsigned, tampered, replayed and unreleasable frames (in-process and NATS runs).")
@click.option("--journal", default=None, metavar="FILE|URL",
              help="Record every node's inputs and outputs for `skyweave replay`: in this SQLite file, or in the "
                   "PostgreSQL database of a postgresql:// URL (replaced if it holds a journal). Over NATS a partner "
                   "frame is acknowledged once journaled. With --processes: one journal per node, in a folder "
                   "(DIR/<NATION>.sqlite) or in the postgresql:// URL's database, one schema per node "
                   "(skyweave_<nation>, lower case: skyweave_jpn; replay or export one with the URL plus "
                   "?options=-csearch_path%3Dskyweave_jpn), and a node process that dies is restarted on its journal.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def run(scenario, out, seed, duration, nats, processes, speed, report_interval, no_responsibility, red_team_every_s,
        journal, as_json):
    """Simulate SCENARIO and run every nation's node on it.

    Writes DIR/truth.jsonl (and sensors.json, detections.jsonl), and per nation
    DIR/<NATION>/local.jsonl (its own tracks) and DIR/<NATION>/picture.jsonl (the fused picture
    as that nation sees it), both in the tracks format with releasable_to and sources, plus
    alerts.jsonl and status.json (rejected-message counts and traffic). Every refused frame is
    named, one per line, in DIR/rejected.log.
    """
    if processes and not nats:
        raise click.BadParameter("--processes needs --nats URL", param_hint="--processes")
    path = resolve_scenario(scenario)
    make_dir(out, "--out")
    if journal is not None:
        from skyweave.node.journal import is_url

        if processes and is_url(journal):
            _check_node_journals(journal)
        elif processes:
            journal = Path(journal)
            if journal.exists() and not journal.is_dir():
                raise click.BadParameter(f"{journal} is a file; with --processes give a folder (one journal per node)",
                                         param_hint="--journal")
        elif not is_url(journal):
            journal = Path(journal)
            if journal.is_dir():
                raise click.BadParameter(f"{journal} is a folder; expected a journal file or a postgresql:// URL",
                                         param_hint="--journal")
            make_parent(journal, "--journal")
    from skyweave.io.formats import FormatError
    from skyweave.node.network import run_network

    try:
        with rejections_logged_to(out / "rejected.log"), stages_bar(None if not as_json else False) as progress:
            s = run_network(path, out, seed=seed, duration=duration, nats=nats, processes=processes,
                            report_interval_s=report_interval, responsibility=not no_responsibility, speed=speed,
                            progress=progress, red_team_every_s=red_team_every_s, journal=journal)
    except (FormatError, ValueError, RuntimeError, OSError) as e:
        from skyweave.node.journal import JournalError

        if nats is not None and "connect" in str(e).lower() and not isinstance(e, JournalError):
            raise Failure(f"--nats {nats}: {e}; start a nats-server there (scripts/services.sh) "
                          "or leave out --nats for the in-process bus") from None
        fail(e)
    node_urls = _node_journal_urls(journal, s["nations"]) if processes and journal is not None else {}
    if as_json:
        if node_urls:
            s["journals"] = node_urls
        click.echo(json.dumps(s, default=str))
        return
    from rich.table import Table

    con = console()
    con.print(f"{s['mode']} network, {len(s['nations'])} nodes, {s['wall_s']:.1f} s:")
    table = Table("nation", "own tracks", "fused tracks", "reports out", "frames out", "kB out", "reports in", "refused")
    for c in table.columns[1:]:
        c.justify = "right"
    for n, r in s["nodes"].items():
        rej = str(sum(r.get("rejected", {}).values()))
        table.add_row(n, str(r.get("local_tracks", 0)), str(r.get("picture_tracks", 0)), str(r.get("reports_out", 0)),
                      str(r.get("frames_out", 0)), f"{r.get('bytes_out', 0) / 1000:,.0f}", str(r.get("reports_in", 0)), rej)
    con.print(table)
    con.print("own / fused tracks: in the nation's own and fused picture at the end of the run; refused: partner "
              "frames its admission gate refused", soft_wrap=True)
    rej = rejections_table(s["nodes"])
    if rej is not None:
        con.print("frames refused by each receiving node, by reason:")
        con.print(rej)
        con.print(f"each refused frame, one per line: {out / 'rejected.log'}", soft_wrap=True)
    if s.get("red_team"):
        con.print("red team injected: " + ", ".join(f"{v} {k}" for k, v in sorted(s["red_team"].items())), soft_wrap=True)
    con.print(f"files in {out}/<NATION>/local.jsonl and picture.jsonl", soft_wrap=True)
    if node_urls:
        con.print("journals, one per node (skyweave replay JOURNAL --out DIR):", soft_wrap=True)
        for n, target in node_urls.items():
            con.print(f"  {n}: {target}", soft_wrap=True, markup=False, highlight=False)
    elif journal is not None:
        from skyweave.node.journal import describe

        con.print(f"journal: {describe(journal)} (skyweave replay {describe(journal)} --out DIR)", soft_wrap=True)


def _check_node_journals(url: str) -> None:
    """Fail early, in one line, when the database of a --processes journal URL cannot hold
    per-node schemas: unreachable, or a URL that already names a search_path."""
    from skyweave.node.journal import JournalError
    from skyweave.node.journal_pg import node_url, reachable

    try:
        node_url(url, "X")
        reachable(url)
    except JournalError as e:
        raise click.BadParameter(str(e), param_hint="--journal") from None


def _node_journal_urls(journal, nations) -> dict[str, str]:
    """Every node's journal of a --processes run, as replay and export take it (a URL without its password)."""
    from skyweave.node.journal import describe, is_url

    if not is_url(journal):
        return {n: str(Path(journal) / f"{n}.sqlite") for n in nations}
    from skyweave.node.journal_pg import node_url

    return {n: describe(node_url(journal, n)) for n in nations}
