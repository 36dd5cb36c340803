"""From a NODE.yaml to a running node: settings checked, keys read, NATS reached, the node built.

``skyweave node --config NODE.yaml`` and ``skyweave serve --config NODE.yaml`` start a node the
same way, in two steps:

- :meth:`NodeSetup.prepare` reads NODE.yaml (:data:`NODE_KEYS`; the file a network run writes
  starts its node as is), checks every file it names, reads the sensors, keys and sealing keys,
  and creates the output folder; nothing is connected yet;
- :meth:`NodeSetup.start` connects to NATS (retrying with back-off, :func:`connect_nats`),
  builds the :class:`~skyweave.node.node.NationNode` and attaches the caller's extra sinks (a
  live view, a callback) before a scan is taken; :meth:`LiveNode.run` then replays the node's
  detections paced on the wall clock, flushes, waits ``grace_s`` for partners' last frames and
  closes the node and its bus. A ``stop`` event ends the replay early (the node is closed all the
  same), so the replay may run on a thread of a server.

Every mistake is a :class:`NodeSetupError` whose message is one line naming the file, the key and
what was expected (the CLI prints it as its ``Error:`` line).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from skyweave.core.paths import file_problem, folder_problem
from skyweave.io.formats import SensorSet
from skyweave.node.node import NationNode, NodeConfig

NODE_KEYS = {
    "nation": "the node's nation (ISO 3166-1 alpha-3)", "node_id": "the node's id within its nation (default 1)",
    "partners": "nations it shares with", "nats": "NATS server URL(s), comma-separated (a cluster; default nats://127.0.0.1:4222)",
    "sensors": "sensors.json (the node uses its own nation's sensors)",
    "detections": "the detections.jsonl to replay (the node takes its own sensors' scans)",
    "out": "folder for local.jsonl, picture.jsonl, alerts.jsonl, status.json (created)",
    "private_key": "the nation's Ed25519 private key file", "partner_keys": "nation -> public key file (or base64)",
    "report_interval_s": "seconds between full reports (default 2)", "responsibility": "report only held tracks (default true)",
    "number_release": "whom the node releases its own network track numbers to: partners (default) or heard",
    "speed": "replay speed against the wall clock (default 1: real time; 0: as fast as possible)",
    "start_wall": "wall-clock instant (Unix s) of scenario time 0 (default: now)", "timing": "log latency timings",
    "tracker": "tracker parameters (see skyweave track --help)", "fusion": "fuser parameters (docs/fusion.md)",
    "grace_s": "seconds to keep listening after the last scan (default 2)",
    "end_s": "scenario time (s) the node runs to, paced, even when its own scans end sooner (default: its last scan)",
    "replicas": "JetStream replicas of the node's stream (1 on one server, 3 on a 3-server cluster; default 1)",
    "connect_retry_s": "how long to keep trying to reach NATS at start, with back-off (default 30 s)",
    "nats_user": "the node's NATS user (its nation's identity on the cluster; docs/messages.md)",
    "nats_password": "that user's password", "nats_tls_ca": "CA file that signs the NATS servers' certificates (TLS)",
    "nats_tls_cert": "client certificate file (TLS with client certificates)", "nats_tls_key": "its private key file",
    "nats_create_streams": "create the streams at connect (default true; false where an administrator made them)",
    "seal_key": "the nation's X25519 private key file: frames are sealed to each recipient, only sealed ones admitted",
    "seal_partners": "nation -> X25519 public key file (or base64) of each partner, with seal_key",
    "journal": "the node's own journal, an SQLite file or a postgresql:// URL: its inputs and outputs are recorded, a "
               "partner frame is acknowledged once journaled, and a restart on the same journal resumes without loss",
}
REQUIRED = ("nation", "sensors", "detections", "out", "private_key", "partner_keys")


class NodeSetupError(ValueError):
    """A NODE.yaml that cannot start its node, or a NATS server that cannot be reached: the
    message is one line naming the file (and key) or the URL, and what to do."""


def need_file(path: Path, what: str) -> Path:
    """``path`` if it is a readable file; else a NodeSetupError naming ``what`` and the path."""
    problem = file_problem(path, what)
    if problem:
        raise NodeSetupError(problem)
    return Path(path)


def make_dir(path: Path, what: str) -> Path:
    """Create the output folder ``path`` (and its parents); a NodeSetupError naming ``what`` if it cannot be."""
    problem = folder_problem(path, what)
    if problem:
        raise NodeSetupError(problem)
    return Path(path)


def load_node_config(path: Path, what: str = "--config") -> dict:
    """NODE.yaml as a mapping, every key known and every required key present (else a
    NodeSetupError naming it; ``what`` is how the caller names the file, its option)."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise NodeSetupError(f"{what} {path}: cannot read the node config ({(e.strerror or str(e)).lower()})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise NodeSetupError(f"{what} {where}: expected a YAML mapping of node settings "
                             f"({getattr(e, 'problem', None) or e})") from None
    if not isinstance(raw, dict):
        raise NodeSetupError(f"{what} {path}: expected a mapping with keys {', '.join(REQUIRED)}")
    for k in raw:
        if k not in NODE_KEYS:
            raise NodeSetupError(f"{what} {path}: unknown key {k!r} (known: {', '.join(sorted(NODE_KEYS))})")
    for k in REQUIRED:
        if k not in raw:
            raise NodeSetupError(f"{what} {path}: key {k!r} missing: expected {NODE_KEYS[k]}")
    return raw


def check_nats_url(url: str) -> None:
    """A NodeSetupError unless ``url`` is one NATS URL or a comma-separated list of them."""
    from urllib.parse import urlparse

    for part in (p.strip() for p in str(url).split(",")):
        u = urlparse(part if "://" in part else f"nats://{part}")
        try:
            port = u.port
        except ValueError:
            port = -1
        if u.scheme not in ("nats", "tls", "ws", "wss") or not u.hostname or port == -1 or " " in part:
            raise NodeSetupError(f"nats {url!r}: not a NATS URL; expected e.g. nats://127.0.0.1:4222 "
                                 "(comma-separated for a cluster)")


def say_on_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def connect_nats(url: str, nations, name: str, replicas: int, retry_s: float, say: Callable[[str], None] | None = None,
                 **security):
    """A connected NatsBus, retrying with exponential back-off (0.5 s doubling to 8 s) for
    ``retry_s`` seconds and saying so (``say``, default stderr); a NodeSetupError naming the URL
    when it cannot be reached, and at once when the server refuses the node's credentials or
    certificate. ``security``: the NatsBus's user, password, tls_ca, tls_cert, tls_key,
    create_streams, inbox_prefix."""
    from skyweave.share import BusError, NatsBus

    say = say or say_on_stderr
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
                raise NodeSetupError(f"nats {url}: the server refused this node ({why[:200]}); check nats_user, "
                                     "nats_password and the TLS files in the config") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise NodeSetupError(f"nats {url}: cannot reach the NATS server after {attempt} attempts over "
                                     f"{retry_s:g} s; start nats-server (with -js) or fix 'nats' in the config") from None
            pause = min(wait, left)
            say(f"skyweave node: NATS at {url} not reachable (attempt {attempt}); retrying in {pause:.1f} s "
                f"({left:.0f} s left)")
            time.sleep(pause)
            wait = min(wait * 2, 8.0)


def nats_security(c: dict, config_path: Path, nation: str) -> dict:
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


def sealing(c: dict, config_path: Path, cfg: NodeConfig) -> tuple:
    """(seal_to, seal_key) from the config's seal_key and seal_partners, or (None, None)."""
    from skyweave.share.seal import SealRing, load_seal_private_key

    if not c.get("seal_key"):
        if c.get("seal_partners"):
            raise NodeSetupError(f"{config_path} key 'seal_key': missing; seal_partners needs the node's own X25519 key")
        return None, None
    try:
        key = load_seal_private_key(need_file(Path(c["seal_key"]), f"{config_path} key 'seal_key':"))
    except (ValueError, OSError, TypeError) as e:
        if isinstance(e, NodeSetupError):
            raise
        raise NodeSetupError(f"{config_path} key 'seal_key': {c['seal_key']}: not a usable X25519 private key ({e})") from None
    partners = c.get("seal_partners") or {}
    if not isinstance(partners, dict):
        raise NodeSetupError(f"{config_path} key 'seal_partners': expected a mapping nation -> public key file")
    missing = [p for p in cfg.partners if p not in partners]
    if missing:
        raise NodeSetupError(f"{config_path} key 'seal_partners': no X25519 public key for partner(s) {', '.join(missing)}")
    try:
        ring = SealRing.from_config({p: partners[p] for p in cfg.partners})
    except (ValueError, OSError, TypeError) as e:
        raise NodeSetupError(f"{config_path} key 'seal_partners': {e}") from None
    return ring, key


def _number(c: dict, config_path: Path, key: str, default: float) -> float:
    """The config's ``key`` as a float (``default`` when absent), else a NodeSetupError naming it."""
    v = c.get(key, default)
    try:
        if isinstance(v, bool):
            raise TypeError
        return float(v)
    except (TypeError, ValueError):
        raise NodeSetupError(f"{config_path} key {key!r}: expected a number, got {v!r}") from None


class _Stopped(Exception):
    """Raised inside the replay when its ``stop`` event is set."""


@dataclass
class NodeSetup:
    """A NODE.yaml checked and read: everything a node needs but its bus (see the module docstring)."""

    path: Path
    settings: dict
    config: NodeConfig
    sensors: SensorSet
    url: str
    out: Path
    detections: Path
    key: object
    keyring: object
    seal_to: object = None
    seal_key: object = None
    security: dict = field(default_factory=dict)
    replicas: int = 1
    connect_retry_s: float = 30.0
    speed: float = 1.0
    start_wall: float | None = None
    grace_s: float = 2.0
    end_s: float | None = None
    timing: bool = False
    journal: str | None = None

    @property
    def nation(self) -> str:
        return self.config.nation

    @classmethod
    def prepare(cls, config_path: Path, what: str = "--config") -> NodeSetup:
        """Read and check ``config_path`` (see :data:`NODE_KEYS`), its files and keys, and create
        its output folder; a NodeSetupError naming the first mistake."""
        from skyweave.fuse import FuserConfig
        from skyweave.io.formats import FormatError, load_sensors
        from skyweave.node.network import DEFAULT_NATS_URL
        from skyweave.share import Keyring, load_private_key
        from skyweave.track.config import TrackerConfig

        config_path = Path(config_path)
        need_file(config_path, what)
        c = load_node_config(config_path, what)
        url = str(c.get("nats") or DEFAULT_NATS_URL)
        check_nats_url(url)
        for k in ("sensors", "detections", "private_key"):
            need_file(Path(c[k]), f"{config_path} key {k!r}:")
        out = make_dir(Path(c["out"]), f"{config_path} key 'out':")
        try:
            sensors = load_sensors(c["sensors"])
            cfg = NodeConfig(
                nation=str(c["nation"]), node_id=str(c.get("node_id", "1")), partners=tuple(c.get("partners", ())),
                report_interval_s=float(c.get("report_interval_s", 2.0)), responsibility=bool(c.get("responsibility", True)),
                fuse_on_receive=True, fuse_thread=True,
                number_release=str(c.get("number_release", "partners")),
                tracker=TrackerConfig.from_mapping(c.get("tracker") or {}),
                fuser=FuserConfig.from_mapping(c.get("fusion") or {}),
            )
        except (FormatError, ValueError, TypeError) as e:
            raise NodeSetupError(f"{config_path}: {e}") from None
        if not any(s.nation == cfg.nation for s in sensors.sensors):
            have = ", ".join(sorted({s.nation for s in sensors.sensors}))
            raise NodeSetupError(f"{config_path} key 'nation': {cfg.nation!r} has no sensor in {c['sensors']} "
                                 f"(its nations: {have})")
        try:
            key = load_private_key(c["private_key"])
        except (ValueError, OSError, TypeError) as e:
            raise NodeSetupError(f"{config_path} key 'private_key': {c['private_key']}: "
                                 f"not a usable Ed25519 private key ({e})") from None
        try:
            ring = Keyring.from_config(c["partner_keys"])
        except (ValueError, OSError, TypeError) as e:
            raise NodeSetupError(f"{config_path} key 'partner_keys': {e}") from None
        missing = [p for p in cfg.partners if p not in ring]
        if missing:
            raise NodeSetupError(f"{config_path} key 'partner_keys': no public key for partner(s) {', '.join(missing)}")
        seal_to, seal_key = sealing(c, config_path, cfg)
        start_wall = c.get("start_wall")
        return cls(
            path=config_path, settings=c, config=cfg, sensors=sensors, url=url, out=out, detections=Path(c["detections"]),
            key=key, keyring=ring, seal_to=seal_to, seal_key=seal_key,
            security=nats_security(c, config_path, cfg.nation),
            replicas=int(_number(c, config_path, "replicas", 1)),
            connect_retry_s=_number(c, config_path, "connect_retry_s", 30.0),
            speed=_number(c, config_path, "speed", 1.0),
            start_wall=None if start_wall is None else _number(c, config_path, "start_wall", 0.0),
            grace_s=_number(c, config_path, "grace_s", 2.0), timing=bool(c.get("timing", False)),
            end_s=None if c.get("end_s") is None else _number(c, config_path, "end_s", 0.0),
            journal=None if c.get("journal") is None else str(c["journal"]),
        )

    def start(self, sinks: Iterable = (), say: Callable[[str], None] | None = None) -> LiveNode:
        """Connect to NATS (with retries; ``say`` tells of each) and build the node with ``sinks``
        attached (each gets the node's events from its first scan on); a NodeSetupError when NATS
        cannot be reached or the node cannot be built."""
        cfg = self.config
        nations = sorted({cfg.nation, *cfg.partners})
        bus = connect_nats(self.url, nations, f"{cfg.nation}-{cfg.node_id}", self.replicas, self.connect_retry_s,
                           say=say, **self.security)
        if self.journal is not None:
            return self._start_journaled(bus, sinks)
        try:
            nd = NationNode(cfg, self.sensors, self.key, self.keyring, bus, out_dir=self.out,
                            seal_to=self.seal_to, seal_key=self.seal_key)
        except ValueError as e:
            bus.close()
            raise NodeSetupError(f"{self.path}: {e}") from None
        nd.keep_timing = self.timing
        for sink in sinks:
            nd.attach(sink)
        return LiveNode(self, nd, bus)

    def _start_journaled(self, bus, sinks) -> LiveNode:
        """The node on its own journal (:mod:`skyweave.node.resume`): rebuilt from it after a restart."""
        from skyweave.node.journal import JournalError, describe
        from skyweave.node.resume import public_pem, start_journaled

        cfg = self.config

        def make(rbus):
            nd = NationNode(cfg, self.sensors, self.key, self.keyring, rbus, out_dir=self.out,
                            seal_to=self.seal_to, seal_key=self.seal_key)
            nd.keep_timing = self.timing
            return nd

        try:
            jn = start_journaled(self.journal, cfg.nation, cfg, Path(self.settings["sensors"]).read_text(),
                                 public_pem(self.key), bus, make, sinks=sinks, partner_keys=self.keyring.to_config())
        except (JournalError, ValueError, OSError) as e:
            bus.close()
            msg = str(e)
            raise NodeSetupError(msg if describe(self.journal) in msg else f"journal {describe(self.journal)}: {msg}") from None
        live = LiveNode(self, jn.node, bus)
        live.journaled = jn
        return live


class LiveNode:
    """A node built and connected by :meth:`NodeSetup.start`; :meth:`run` replays its detections."""

    def __init__(self, setup: NodeSetup, node: NationNode, bus):
        self.setup = setup
        self.node = node
        self.bus = bus
        #: the detections file's bad lines (each names file, line and field), after :meth:`run`
        self.errors: list = []
        #: True when :meth:`run` ended early on its ``stop`` event
        self.stopped = False
        #: the node's journal (:class:`~skyweave.node.resume.JournaledNode`) when it keeps one
        self.journaled = None

    def run(self, progress: Callable[[float], None] | None = None, stop: threading.Event | None = None) -> dict:
        """Replay the node's own sensors' scans paced at ``speed`` × the wall clock from
        ``start_wall`` (as fast as possible at speed 0), flush, keep listening ``grace_s``, close
        the node and its bus; write ``timing.jsonl`` when asked. Returns the node's summary with
        ``bad_lines``. ``stop`` (set from any thread) ends the replay at the next scan and skips
        the grace; the node is closed all the same."""
        from skyweave.node.sources import DetectionsFile, drive

        s, nd = self.setup, self.node
        stop = stop if stop is not None else threading.Event()
        speed = s.speed
        start = s.start_wall if s.start_wall is not None else time.time()

        jn = self.journaled
        if jn is not None and speed <= 0:
            jn.caught_up()  # no wall clock to catch up with

        def pace(t):
            if stop.is_set():
                raise _Stopped
            if speed > 0:
                # wait for the scan's time in steps, moving the node's clock with the wall clock
                # meanwhile: a node whose sensors are silent (a ship that joins late) still judges
                # its partners' frames, ticks and writes its picture
                while True:
                    wait = start + t / speed - time.time()
                    if wait <= 0:
                        break
                    if jn is not None and jn.holding:
                        # a restarted node has caught up: set its clock to the wall's, then take
                        # the frames held since its restart
                        now = min((time.time() - start) * speed, t)
                        if now > 0:
                            nd.advance(now)
                        jn.caught_up()
                    if stop.wait(min(wait, 0.25)):
                        raise _Stopped
                    now = min((time.time() - start) * speed, t)
                    if now > 0:
                        nd.advance(now)
                        if nd.due(now):
                            nd.tick(now)

        source = DetectionsFile(s.detections, s.sensors)
        try:
            try:
                self.errors = drive({s.nation: nd}, source, s.sensors, pace=pace, progress=progress)
                end = getattr(s, "end_s", None)
                if end is not None and speed > 0:
                    # its own scans may end (or never begin: a ship that joins after the run's
                    # end) before the run does: keep the clock, the ticks and the picture going
                    pace(end)
                    nd.advance(end)
                    if nd.due(end):
                        nd.tick(end)
            except _Stopped:
                self.errors, self.stopped = source.errors, True
            finally:
                if jn is not None:
                    jn.caught_up()
            self.bus.flush()
            if not self.stopped:
                stop.wait(s.grace_s)
            summary = nd.close()
            if self.journaled is not None:
                self.journaled.journal.close()  # every record committed: the last frames' acknowledgements go out
                summary.update(self.journaled.summary())
        finally:
            if jn is not None:
                jn.caught_up()  # never leave the bus's delivery thread held: closing the bus waits for it
                jn.journal.close()
            self.bus.close()
        if nd.keep_timing:
            with open(s.out / "timing.jsonl", "w") as f:
                for row in nd.timing:
                    f.write(json.dumps(row) + "\n")
        summary["bad_lines"] = len(self.errors)
        return summary
