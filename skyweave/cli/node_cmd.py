"""``skyweave node --config NODE.yaml``: run one nation's node against a NATS JetStream."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from skyweave.cli.common import Failure, last_time, make_dir, need_file, progress_bar

NODE_KEYS = {
    "nation": "the node's nation (ISO 3166-1 alpha-3)", "node_id": "the node's id within its nation (default 1)",
    "partners": "nations it shares with", "nats": "NATS server URL(s), comma-separated (a cluster; default nats://127.0.0.1:4222)",
    "sensors": "sensors.json (the node uses its own nation's sensors)",
    "detections": "the detections.jsonl to replay (the node takes its own sensors' scans)",
    "out": "folder for local.jsonl, picture.jsonl, alerts.jsonl, status.json (created)",
    "private_key": "the nation's Ed25519 private key file", "partner_keys": "nation -> public key file (or base64)",
    "report_interval_s": "seconds between full reports (default 2)", "responsibility": "report only held tracks (default true)",
    "speed": "replay speed against the wall clock (default 1: real time; 0: as fast as possible)",
    "start_wall": "wall-clock instant (Unix s) of scenario time 0 (default: now)", "timing": "log latency timings",
    "tracker": "tracker parameters (see skyweave track --help)", "fusion": "fuser parameters (docs/fusion.md)",
    "grace_s": "seconds to keep listening after the last scan (default 2)",
    "replicas": "JetStream replicas of the node's stream (1 on one server, 3 on a 3-server cluster; default 1)",
    "connect_retry_s": "how long to keep trying to reach NATS at start, with back-off (default 30 s)",
    "nats_user": "the node's NATS user (its nation's identity on the cluster; docs/messages.md)",
    "nats_password": "that user's password", "nats_tls_ca": "CA file that signs the NATS servers' certificates (TLS)",
    "nats_tls_cert": "client certificate file (TLS with client certificates)", "nats_tls_key": "its private key file",
    "nats_create_streams": "create the streams at connect (default true; false where an administrator made them)",
    "seal_key": "the nation's X25519 private key file: frames are sealed to each recipient, only sealed ones admitted",
    "seal_partners": "nation -> X25519 public key file (or base64) of each partner, with seal_key",
}
REQUIRED = ("nation", "sensors", "detections", "out", "private_key", "partner_keys")


def load_node_config(path: Path) -> dict:
    """NODE.yaml as a mapping, every key known and every required key present (else a Failure naming it)."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise Failure(f"--config {path}: cannot read the node config ({(e.strerror or str(e)).lower()})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise Failure(f"--config {where}: expected a YAML mapping of node settings ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(raw, dict):
        raise Failure(f"--config {path}: expected a mapping with keys {', '.join(REQUIRED)}")
    for k in raw:
        if k not in NODE_KEYS:
            raise Failure(f"--config {path}: unknown key {k!r} (known: {', '.join(sorted(NODE_KEYS))})")
    for k in REQUIRED:
        if k not in raw:
            raise Failure(f"--config {path}: key {k!r} missing: expected {NODE_KEYS[k]}")
    return raw


def connect_nats(url: str, nations, name: str, replicas: int, retry_s: float, say=None, **security):
    """A connected NatsBus, retrying with exponential back-off (0.5 s doubling to 8 s) for
    ``retry_s`` seconds and saying so; a Failure naming the URL when it cannot be reached, and at
    once when the server refuses the node's credentials or certificate. ``security``: the
    NatsBus's user, password, tls_ca, tls_cert, tls_key, create_streams, inbox_prefix."""
    from skyweave.share import BusError, NatsBus

    say = say or (lambda msg: click.echo(msg, err=True))
    deadline = time.monotonic() + retry_s
    wait = 0.5
    attempt = 0
    while True:
        attempt += 1
        try:
            return NatsBus(url, nations=nations, name=name, replicas=replicas, connect_timeout_s=2.0, **security)
        except (BusError, OSError) as e:
            why = str(e)
            if any(w in why.lower() for w in ("authorization", "refused by the server", "certificate", "permission")):
                raise Failure(f"nats {url}: the server refused this node ({why[:200]}); check nats_user, "
                              "nats_password and the TLS files in the config") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"nats {url}: cannot reach the NATS server after {attempt} attempts over "
                              f"{retry_s:g} s; start nats-server (with -js) or fix 'nats' in the config") from None
            pause = min(wait, left)
            say(f"skyweave node: NATS at {url} not reachable (attempt {attempt}); retrying in {pause:.1f} s "
                f"({left:.0f} s left)")
            time.sleep(pause)
            wait = min(wait * 2, 8.0)


def _security(c: dict, config_path: Path, nation: str) -> dict:
    """The NatsBus keyword arguments for the config's nats_* keys (files checked first)."""
    from skyweave.share.natsbus import inbox_prefix

    kw: dict = {}
    for k in ("nats_tls_ca", "nats_tls_cert", "nats_tls_key"):
        if c.get(k):
            kw[k[5:]] = str(need_file(Path(c[k]), f"{config_path} key {k!r}:"))
    if c.get("nats_user"):
        kw["user"] = str(c["nats_user"])
        kw["password"] = str(c.get("nats_password") or "")
        kw["inbox_prefix"] = inbox_prefix(nation)  # the only inboxes its permissions let it read
    if "nats_create_streams" in c:
        kw["create_streams"] = bool(c["nats_create_streams"])
    return kw


def _sealing(c: dict, config_path: Path, cfg) -> tuple:
    """(seal_to, seal_key) from the config's seal_key and seal_partners, or (None, None)."""
    from skyweave.share.seal import SealRing, load_seal_private_key

    if not c.get("seal_key"):
        if c.get("seal_partners"):
            raise Failure(f"{config_path} key 'seal_key': missing; seal_partners needs the node's own X25519 key")
        return None, None
    try:
        key = load_seal_private_key(need_file(Path(c["seal_key"]), f"{config_path} key 'seal_key':"))
    except (ValueError, OSError, TypeError) as e:
        raise Failure(f"{config_path} key 'seal_key': {c['seal_key']}: not a usable X25519 private key ({e})") from None
    partners = c.get("seal_partners") or {}
    if not isinstance(partners, dict):
        raise Failure(f"{config_path} key 'seal_partners': expected a mapping nation -> public key file")
    missing = [p for p in cfg.partners if p not in partners]
    if missing:
        raise Failure(f"{config_path} key 'seal_partners': no X25519 public key for partner(s) {', '.join(missing)}")
    try:
        ring = SealRing.from_config({p: partners[p] for p in cfg.partners})
    except (ValueError, OSError, TypeError) as e:
        raise Failure(f"{config_path} key 'seal_partners': {e}") from None
    return ring, key


def _check_url(url: str) -> None:
    from urllib.parse import urlparse

    for part in (p.strip() for p in str(url).split(",")):
        u = urlparse(part if "://" in part else f"nats://{part}")
        try:
            port = u.port
        except ValueError:
            port = -1
        if u.scheme not in ("nats", "tls", "ws", "wss") or not u.hostname or port == -1 or " " in part:
            raise Failure(f"nats {url!r}: not a NATS URL; expected e.g. nats://127.0.0.1:4222 "
                          "(comma-separated for a cluster)")


@click.command(epilog="\b\nKeys of NODE.yaml:\n" + "\n".join(f"  {k}: {v}" for k, v in NODE_KEYS.items()))
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="NODE.yaml")
def node(config_path):
    """Run one nation's node: replay its sensors' detections, track, warn, share and fuse over NATS.

    The node signs what it sends with its nation's key, sends each partner only what that partner
    may see, admits only signed, fresh, releasable partner messages, and writes its own tracks and
    its fused picture. `skyweave network run` writes a NODE.yaml per nation that starts its node
    as is; `skyweave network run --nats URL --processes` starts one per nation.
    """
    from skyweave.fuse import FuserConfig
    from skyweave.io.formats import FormatError, load_sensors
    from skyweave.node.node import NationNode, NodeConfig
    from skyweave.node.sources import DetectionsFile, drive
    from skyweave.share import Keyring, load_private_key
    from skyweave.track.config import TrackerConfig

    need_file(config_path, "--config")
    c = load_node_config(config_path)
    from skyweave.node.network import DEFAULT_NATS_URL

    url = str(c.get("nats") or DEFAULT_NATS_URL)
    _check_url(url)
    for k in ("sensors", "detections", "private_key"):
        need_file(Path(c[k]), f"{config_path} key {k!r}:")
    out = make_dir(Path(c["out"]), f"{config_path} key 'out':")
    try:
        sensors = load_sensors(c["sensors"])
        cfg = NodeConfig(
            nation=str(c["nation"]), node_id=str(c.get("node_id", "1")), partners=tuple(c.get("partners", ())),
            report_interval_s=float(c.get("report_interval_s", 2.0)), responsibility=bool(c.get("responsibility", True)),
            fuse_on_receive=True, fuse_thread=True,
            tracker=TrackerConfig.from_mapping(c.get("tracker") or {}), fuser=FuserConfig.from_mapping(c.get("fusion") or {}),
        )
    except (FormatError, ValueError, TypeError) as e:
        raise Failure(f"{config_path}: {e}") from None
    if not any(s.nation == cfg.nation for s in sensors.sensors):
        have = ", ".join(sorted({s.nation for s in sensors.sensors}))
        raise Failure(f"{config_path} key 'nation': {cfg.nation!r} has no sensor in {c['sensors']} (its nations: {have})")
    try:
        key = load_private_key(c["private_key"])
    except (ValueError, OSError, TypeError) as e:
        raise Failure(f"{config_path} key 'private_key': {c['private_key']}: not a usable Ed25519 private key ({e})") from None
    try:
        ring = Keyring.from_config(c["partner_keys"])
    except (ValueError, OSError, TypeError) as e:
        raise Failure(f"{config_path} key 'partner_keys': {e}") from None
    missing = [p for p in cfg.partners if p not in ring]
    if missing:
        raise Failure(f"{config_path} key 'partner_keys': no public key for partner(s) {', '.join(missing)}")
    seal_to, seal_key = _sealing(c, config_path, cfg)
    nations = sorted({cfg.nation, *cfg.partners})
    bus = connect_nats(url, nations, f"{cfg.nation}-{cfg.node_id}", int(c.get("replicas", 1)),
                       float(c.get("connect_retry_s", 30.0)), **_security(c, config_path, cfg.nation))
    try:
        nd = NationNode(cfg, sensors, key, ring, bus, out_dir=out, seal_to=seal_to, seal_key=seal_key)
    except ValueError as e:
        bus.close()
        raise Failure(f"{config_path}: {e}") from None
    nd.keep_timing = bool(c.get("timing", False))
    speed = float(c.get("speed", 1.0))
    start = float(c.get("start_wall", time.time()))

    def pace(t):
        if speed > 0:
            wait = start + t / speed - time.time()
            if wait > 0:
                time.sleep(wait)

    source = DetectionsFile(Path(c["detections"]), sensors)
    total = last_time(Path(c["detections"]))
    try:
        with progress_bar(total, f"node {cfg.nation}", enabled=None if total else False) as update:
            errors = drive({cfg.nation: nd}, source, sensors, pace=pace, progress=update)
        bus.flush()
        time.sleep(float(c.get("grace_s", 2.0)))
        summary = nd.close()
    finally:
        bus.close()
    if nd.keep_timing:
        with open(out / "timing.jsonl", "w") as f:
            for row in nd.timing:
                f.write(json.dumps(row) + "\n")
    for e in errors[:20]:
        click.echo(str(e), err=True)
    summary["bad_lines"] = len(errors)
    click.echo(json.dumps(summary))
    sys.stdout.flush()
