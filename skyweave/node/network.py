"""The network: every nation's node on one scenario, in one process or as separate processes.

:func:`run_network` simulates a scenario (truth and detections), gives every nation a key pair
and a node, and feeds each node its own sensors' scans in delivery order:

- ``nats=None`` (default): all nodes in this process over an :class:`~skyweave.share.bus.InProcessBus`
  (no server needed; deterministic for a seed);
- ``nats=URL``: all nodes in this process over a real NATS JetStream, every frame sealed to its
  recipient (the cluster sees only ciphertext);
- ``nats=URL, processes=True``: one ``skyweave node --config`` process per nation over NATS,
  each replaying its own detections paced on the wall clock (``speed`` × real time) from a common
  start, as separate machines would run.

It writes ``DIR/truth.jsonl`` (and the other simulated files), and per nation
``DIR/<NATION>/local.jsonl`` (its own tracks) and ``DIR/<NATION>/picture.jsonl`` (the fused
picture as that nation sees it), ``alerts.jsonl``, ``status.json`` and ``node.yaml`` (its
configuration); keys go to ``DIR/keys``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from skyweave.io.formats import load_sensors
from skyweave.node.node import NationNode, NodeConfig
from skyweave.node.sources import DetectionsFile, drive
from skyweave.share import InProcessBus, Keyring, generate_nation_keys, load_private_key
from skyweave.track.config import TrackerConfig

#: where a node looks for NATS when its configuration names no server
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def make_keys(nations, folder: Path) -> tuple[dict, Keyring]:
    """A signing key pair per nation in ``folder`` (NATION.key mode 0600, NATION.pub) and a sealing
    pair (NATION.x25519 mode 0600, NATION.x25519.pub), kept when they exist (a nation's identity
    outlives a run); returns the private signing keys and the keyring."""
    from skyweave.share.seal import generate_nation_seal_keys

    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in nations if not ((folder / f"{n}.key").exists() and (folder / f"{n}.pub").exists())]
    generate_nation_keys(missing, folder, overwrite=True)
    unsealed = [n for n in nations if not ((folder / f"{n}.x25519").exists() and (folder / f"{n}.x25519.pub").exists())]
    generate_nation_seal_keys(unsealed, folder, overwrite=True)
    priv = {n: load_private_key(folder / f"{n}.key") for n in nations}
    ring = Keyring.from_config({n: str(folder / f"{n}.pub") for n in nations})
    return priv, ring


def seal_keys(folder: Path, nation: str, partners) -> dict:
    """``seal_to`` and ``seal_key`` for a NationNode from the key files of :func:`make_keys`."""
    from skyweave.share.seal import SealRing, load_seal_private_key

    return {"seal_to": SealRing.from_config({p: folder / f"{p}.x25519.pub" for p in partners}),
            "seal_key": load_seal_private_key(folder / f"{nation}.x25519")}


def node_configs(nations, report_interval_s: float, responsibility: bool, tracker: TrackerConfig | None = None,
                 live: bool = True, deterministic: bool = False) -> dict[str, NodeConfig]:
    """Every nation's node configuration. ``live=False`` (a simulation run as fast as the CPU goes)
    fuses at most once per scenario second and not on every partner frame: the same picture at the
    same instants, without re-fusing it for each of the partners' frames in between.
    ``deterministic`` (one process, in-process bus) numbers every node's messages from 1, so that
    a run is reproduced byte for byte; over NATS a node keeps wall-clock sequence numbers, so
    that a restarted node continues above what it sent before."""
    return {
        n: NodeConfig(nation=n, partners=tuple(m for m in nations if m != n), report_interval_s=report_interval_s,
                      responsibility=responsibility, tracker=tracker or TrackerConfig(),
                      fuse_on_receive=live, fuse_interval_s=0.0 if live else 1.0, deterministic=deterministic)
        for n in nations
    }


def run_network(scenario, out: Path, *, seed=None, duration=None, nats: str | None = None, processes: bool = False,
                report_interval_s: float = 2.0, responsibility: bool = True, speed: float = 1.0, progress=True,
                tracker: TrackerConfig | None = None, bus=None, red_team_every_s: float | None = None,
                sinks=None, journal: Path | str | None = None) -> dict:
    """Simulate ``scenario`` and run every nation's node on it (see the module docstring); returns a summary.

    ``progress(stage, t, total)`` (optional) is called with stage "simulate" then "network", the
    scenario time reached and the scenario's duration (s). ``sinks(nation)`` (optional, in-process
    and NATS runs in this process) returns sinks to attach to that nation's node. ``journal``
    records every node's inputs and outputs in that SQLite file, or the PostgreSQL database of a
    ``postgresql://`` URL (:mod:`skyweave.node.journal`), from which ``skyweave replay``
    reproduces an in-process run; over NATS a partner frame is acknowledged once journaled. With
    ``processes``, ``journal`` is a folder or a ``postgresql://`` URL: each node process keeps its
    own journal, ``JOURNAL/<NATION>.sqlite`` or schema ``skyweave_<nation>`` of that database
    (:func:`~skyweave.node.journal.node_journals`, :mod:`skyweave.node.resume`), and a node process
    that dies is started again on it (``restarts`` in the summary).
    """
    from skyweave.node.simulate import run_simulation

    from skyweave.scenario.shipped import scenario_path

    scenario = scenario_path(scenario)
    out = Path(out)
    t0 = time.perf_counter()
    report = progress if callable(progress) else None
    sim_progress = (lambda t, total: report("simulate", t, total)) if report is not None else None
    sim = run_simulation(scenario, out, seed=seed, duration=duration, progress=sim_progress)
    sensors = load_sensors(out / "sensors.json")
    nations = sorted({s.nation for s in sensors.sensors})
    priv, ring = make_keys(nations, out / "keys")
    cfgs = node_configs(nations, report_interval_s, responsibility, tracker, live=processes, deterministic=nats is None)
    if nats is not None and processes:
        return _run_processes(out, nations, cfgs, nats, speed, sim, t0, journal=journal)
    own_bus = bus is None
    if bus is None:
        if nats is None:
            bus = InProcessBus()
        else:
            from skyweave.share import NatsBus

            bus = NatsBus(nats, nations=nations, name="network")
    seal = {n: seal_keys(out / "keys", n, cfgs[n].partners) for n in nations} if nats is not None else {}
    jr = None
    if journal is not None:
        from skyweave.node.journal import JournalSink, RecordingBus, open_journal

        # over NATS a partner frame is acknowledged once journaled: commit at least every 50 ms
        jr = open_journal(journal, **({} if nats is None else {"interval_s": 0.05, "flush_every_s": 0.05}))
        if hasattr(bus, "ack_gate"):
            bus.ack_gate = lambda ack: jr.when_committed(jr.last_seq, ack)
        jr.set_meta("sensors", (out / "sensors.json").read_text())
        clocks = {}
    nodes = {}
    for n in nations:
        node_bus = bus
        if jr is not None:
            node_bus = RecordingBus(bus, jr, n, clock=lambda n=n: clocks[n]())
        nodes[n] = NationNode(cfgs[n], sensors, priv[n], ring, node_bus, out_dir=out / n, **seal.get(n, {}))
        if jr is not None:
            node_bus.lock = nodes[n].lock
    for n in nations:
        _write_node_yaml(out, n, cfgs[n], nats)
        for sink in (sinks(n) if sinks is not None else ()):
            nodes[n].attach(sink)
        if jr is not None:
            clocks[n] = lambda node=nodes[n]: node.t_now
            jr.add_node(n, cfgs[n], (out / "keys" / f"{n}.pub").read_text())
            nodes[n].attach(JournalSink(jr, n, sensors.dims))
    if jr is not None:
        from skyweave.node.journal import RecordingNode

        nodes = {n: RecordingNode(node, jr) for n, node in nodes.items()}
    red = None
    if red_team_every_s:
        from skyweave.node.redteam import RedTeam

        red = RedTeam(bus, nations, priv, sensors.dims)
        nxt = [red_team_every_s]

        def attack_when_due(t):
            if t >= nxt[0]:
                red.attack(t)
                nxt[0] += red_team_every_s

    total = float(sim["duration_s"])
    errors = drive(nodes, DetectionsFile(out / "detections.jsonl", sensors), sensors,
                   pace=attack_when_due if red is not None else None,
                   progress=(lambda t: report("network", t, total)) if report is not None else None)
    if nats is not None:
        bus.flush()
        time.sleep(0.5)  # the last frames in flight
    try:
        summary = {n: node.close() for n, node in nodes.items()}
    finally:
        if jr is not None:
            jr.close()
    if own_bus:
        bus.close()
    return {"mode": "in-process" if nats is None else "nats", "nations": nations, "nodes": summary, "bad_lines": len(errors),
            "red_team": dict(red.sent) if red is not None else {}, "simulation": sim,
            "wall_s": round(time.perf_counter() - t0, 3), "out": str(out)}


def _write_node_yaml(out: Path, nation: str, cfg: NodeConfig, nats: str | None, extra: dict | None = None) -> Path:
    d = {
        "nation": nation, "node_id": cfg.node_id, "partners": list(cfg.partners), "report_interval_s": cfg.report_interval_s,
        "responsibility": cfg.responsibility, "sensors": str(out / "sensors.json"),
        # the whole scenario's detections: a node takes its own nation's sensors' scans from them
        "detections": str(out / "detections.jsonl"),
        "out": str(out / nation), "private_key": str(out / "keys" / f"{nation}.key"),
        "partner_keys": {p: str(out / "keys" / f"{p}.pub") for p in (*cfg.partners, nation)},
        # frames sealed to each recipient (an untrusted cluster sees only ciphertext)
        "seal_key": str(out / "keys" / f"{nation}.x25519"),
        "seal_partners": {p: str(out / "keys" / f"{p}.x25519.pub") for p in cfg.partners},
    }
    # an in-process run has no server: the written config starts the node on a local one
    d["nats"] = nats if nats is not None else DEFAULT_NATS_URL
    if extra:
        d.update(extra)
    p = out / nation / "node.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    return p


def _run_processes(out: Path, nations, cfgs, nats: str, speed: float, sim: dict, t0: float,
                   journal: Path | str | None = None, max_restarts: int = 3) -> dict:
    """One ``skyweave node`` process per nation (see the module docstring). With ``journal`` (a
    folder, or a ``postgresql://`` URL: a schema per node, :func:`~skyweave.node.journal.node_journals`)
    each keeps its journal there, and one that dies (a signal, or an exit other than 0 or
    a user error's 1 and 2) is started again on it, ``max_restarts`` times at most per node.
    Each process's id is in ``DIR/<NATION>/node.pid`` while it runs."""
    from skyweave.node.nations import split_by_nation

    split_by_nation(out)
    journals = {}
    if journal is not None:
        from skyweave.node.journal import node_journals

        journals = node_journals(journal, nations)  # a folder's DIR/<NATION>.sqlite, or a schema per node
    start = time.time() + 3.0  # every node starts its clock at the same wall instant
    configs, procs = {}, {}
    for n in nations:
        extra = {"speed": speed, "start_wall": start, "timing": True,
                 "end_s": float(sim["duration_s"]) if "duration_s" in sim else None,
                 "detections": str(out / n / "detections.jsonl")}
        if journal is not None:
            extra["journal"] = str(journals[n])
        for f in ("node.out", "node.err"):
            (out / n / f).unlink(missing_ok=True)
        configs[n] = _write_node_yaml(out, n, cfgs[n], nats, extra)
        procs[n] = _start_node(out, n, configs[n])
    summary, failed, restarts = {}, {}, {}
    running = dict(procs)
    while running:
        for n, pr in list(running.items()):
            if pr.poll() is None:
                continue
            pr.wait()
            so = (out / n / "node.out").read_text(errors="replace")
            se = (out / n / "node.err").read_text(errors="replace")
            del running[n]
            (out / n / "node.pid").unlink(missing_ok=True)
            died = pr.returncode < 0 or pr.returncode not in (0, 1, 2)
            if pr.returncode != 0 and journal is not None and died and restarts.get(n, 0) < max_restarts:
                restarts[n] = restarts.get(n, 0) + 1
                print(f"skyweave network: node {n} died (exit {pr.returncode}); restarting it on its journal "
                      f"({restarts[n]} of {max_restarts})", file=sys.stderr, flush=True)
                running[n] = _start_node(out, n, configs[n])
                continue
            if pr.returncode != 0:
                failed[n] = (se or "").strip().splitlines()[-5:] or [f"exit {pr.returncode}"]
                continue
            summary[n] = json.loads((out / n / "status.json").read_text())
            try:
                summary[n].update({k: v for k, v in json.loads(so.strip().splitlines()[-1]).items() if k not in summary[n]})
            except (ValueError, IndexError):
                pass
        time.sleep(0.1)
    if failed:
        raise RuntimeError(f"node processes failed: {failed}")
    return {"mode": "nats-processes", "nations": nations, "nodes": summary, "simulation": sim, "restarts": restarts,
            "wall_s": round(time.perf_counter() - t0, 3), "out": str(out)}


def _start_node(out: Path, nation: str, config: Path) -> subprocess.Popen:
    """A ``skyweave node --config`` process, its output kept in files (no pipe to fill while the
    parent waits on others), its id in ``DIR/<NATION>/node.pid``."""
    # appended to: a restarted node's lines follow those of its earlier life
    log_out = open(out / nation / "node.out", "a")
    log_err = open(out / nation / "node.err", "a")
    try:
        pr = subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", "node", "--config", str(config)],
                              stdout=log_out, stderr=log_err, text=True)
    finally:
        log_out.close()
        log_err.close()
    (out / nation / "node.pid").write_text(f"{pr.pid}\n")
    return pr
