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
def node(config_path):
    """Run one nation's node: replay its sensors' detections, track, warn, share and fuse over NATS.

    The node signs what it sends with its nation's key, sends each partner only what that partner
    may see, admits only signed, fresh, releasable partner messages, and writes its own tracks and
    its fused picture. `skyweave network run` writes a NODE.yaml per nation that starts its node
    as is; `skyweave network run --nats URL --processes` starts one per nation.
    """
    try:
        setup = NodeSetup.prepare(config_path)
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
