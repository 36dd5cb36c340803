"""``skyweave node --config NODE.yaml``: run one nation's node against a NATS JetStream."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

NODE_KEYS = {
    "nation": "the node's nation (ISO 3166-1 alpha-3)", "node_id": "the node's id within its nation (default 1)",
    "partners": "nations it shares with", "nats": "NATS server URL(s), comma-separated (a cluster)",
    "sensors": "sensors.json (the node uses its own nation's sensors)", "detections": "its detections.jsonl to replay",
    "out": "folder for local.jsonl, picture.jsonl, alerts.jsonl, status.json",
    "private_key": "the nation's Ed25519 private key file", "partner_keys": "nation -> public key file (or base64)",
    "report_interval_s": "seconds between full reports (default 2)", "responsibility": "report only held tracks (default true)",
    "speed": "replay speed against the wall clock (default 1: real time; 0: as fast as possible)",
    "start_wall": "wall-clock instant (Unix s) of scenario time 0 (default: now)", "timing": "log latency timings",
    "tracker": "tracker parameters (see skyweave track --help)", "fusion": "fuser parameters (docs/fusion.md)",
    "grace_s": "seconds to keep listening after the last scan (default 2)",
    "replicas": "JetStream replicas of the node's stream (1 on one server, 3 on a 3-server cluster; default 1)",
}


def load_node_config(path: Path) -> dict:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise click.ClickException(f"{path}: cannot read the node config ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise click.ClickException(f"{path}: expected YAML ({e})") from None
    if not isinstance(raw, dict):
        raise click.ClickException(f"{path}: expected a mapping with {', '.join(sorted(NODE_KEYS))}")
    for k in raw:
        if k not in NODE_KEYS:
            raise click.ClickException(f"{path}: unknown key {k!r} (known: {', '.join(sorted(NODE_KEYS))})")
    for k in ("nation", "sensors", "detections", "out", "private_key", "partner_keys", "nats"):
        if k not in raw:
            raise click.ClickException(f"{path}: key {k!r}: expected {NODE_KEYS[k]}, got nothing")
    return raw


@click.command(epilog="Keys of NODE.yaml:\n\n" + "\n".join(f"  {k}: {v}" for k, v in NODE_KEYS.items()))
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path), help="NODE.yaml")
def node(config_path):
    """Run one nation's node: replay its sensors' detections, track, warn, share and fuse over NATS.

    The node signs what it sends with its nation's key, sends each partner only what that partner
    may see, admits only signed, fresh, releasable partner messages, and writes its own tracks and
    its fused picture. `skyweave network run --nats URL --processes` starts one per nation.
    """
    from skyweave.fuse import FuserConfig
    from skyweave.io.formats import FormatError, load_sensors
    from skyweave.node.network import drive
    from skyweave.node.node import NationNode, NodeConfig
    from skyweave.share import Keyring, NatsBus, load_private_key
    from skyweave.track.config import TrackerConfig

    c = load_node_config(config_path)
    try:
        sensors = load_sensors(c["sensors"])
        cfg = NodeConfig(
            nation=c["nation"], node_id=str(c.get("node_id", "1")), partners=tuple(c.get("partners", ())),
            report_interval_s=float(c.get("report_interval_s", 2.0)), responsibility=bool(c.get("responsibility", True)),
            fuse_on_receive=True, fuse_thread=True,
            tracker=TrackerConfig.from_mapping(c.get("tracker") or {}), fuser=FuserConfig.from_mapping(c.get("fusion") or {}),
        )
        key = load_private_key(c["private_key"])
        ring = Keyring.from_config(c["partner_keys"])
    except (FormatError, ValueError, OSError) as e:
        raise click.ClickException(f"{config_path}: {e}") from None
    nations = sorted({cfg.nation, *cfg.partners})
    bus = NatsBus(c["nats"], nations=nations, name=f"{cfg.nation}-{cfg.node_id}", replicas=int(c.get("replicas", 1)))
    nd = NationNode(cfg, sensors, key, ring, bus, out_dir=Path(c["out"]))
    nd.keep_timing = bool(c.get("timing", False))
    speed = float(c.get("speed", 1.0))
    start = float(c.get("start_wall", time.time()))

    def pace(t):
        if speed > 0:
            wait = start + t / speed - time.time()
            if wait > 0:
                time.sleep(wait)

    try:
        errors = drive({cfg.nation: nd}, Path(c["detections"]), sensors, pace=pace)
        bus.flush()
        time.sleep(float(c.get("grace_s", 2.0)))
        summary = nd.close()
    finally:
        bus.close()
    if nd.keep_timing:
        with open(Path(c["out"]) / "timing.jsonl", "w") as f:
            for row in nd.timing:
                f.write(json.dumps(row) + "\n")
    summary["bad_lines"] = len(errors)
    click.echo(json.dumps(summary))
