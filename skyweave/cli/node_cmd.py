"""``skyweave node --config NODE.yaml``: run one nation's node against a NATS JetStream.

The set-up (NODE.yaml, keys, NATS with retries, the node) is :mod:`skyweave.node.node_config`,
shared with ``skyweave serve --config``; this command adds the progress bar and the summary line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from skyweave.cli.common import Failure, last_time, progress_bar
from skyweave.node.node_config import NODE_KEYS, REQUIRED, NodeSetup, NodeSetupError

__all__ = ["NODE_KEYS", "REQUIRED", "node"]


@click.command(epilog="\b\nKeys of NODE.yaml:\n" + "\n".join(f"  {k}: {v}" for k, v in NODE_KEYS.items()))
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="NODE.yaml")
@click.option("--journal", default=None, metavar="FILE|URL",
              help="The node's own journal (an SQLite file or a postgresql:// URL; overrides NODE.yaml's 'journal'): "
                   "inputs and outputs recorded, partner frames acknowledged once journaled; started again on the "
                   "same journal, the node resumes where it stopped.")
def node(config_path, journal):
    """Run one nation's node: replay its sensors' detections, track, warn, share and fuse over NATS.

    The node signs what it sends with its nation's key, sends each partner only what that partner
    may see, admits only signed, fresh, releasable partner messages, and writes its own tracks and
    its fused picture. `skyweave network run` writes a NODE.yaml per nation that starts its node
    as is; `skyweave network run --nats URL --processes` starts one per nation.

    With a journal (docs/journal.md, "A node on its journal"), a node killed and started again
    rebuilds its state from the journal, takes the partner frames it had not journaled, skips the
    scans it had, and goes on: nothing lost, nothing counted twice.
    """
    try:
        setup = NodeSetup.prepare(config_path)
        if journal is not None:
            setup.journal = journal
        if setup.journal is not None:
            _check_journal(setup.journal)
        live = setup.start(say=lambda msg: click.echo(msg, err=True))
    except NodeSetupError as e:
        raise Failure(str(e)) from None
    total = last_time(setup.detections)
    with progress_bar(total, f"node {setup.nation}", enabled=None if total else False) as update:
        summary = live.run(progress=update)
    for e in live.errors[:20]:
        click.echo(str(e), err=True)
    click.echo(json.dumps(summary))
    sys.stdout.flush()


def _check_journal(target: str) -> None:
    from skyweave.node.journal import is_url

    if is_url(target):
        return
    p = Path(target)
    if p.is_dir():
        raise Failure(f"--journal {p}: is a folder; expected a journal file or a postgresql:// URL")
    if not p.parent.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise Failure(f"--journal {p}: cannot create its folder ({e.strerror or e})") from None
