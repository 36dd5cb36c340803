"""The network: every nation's node on one scenario, in one process or as separate processes.

:func:`run_network` simulates a scenario (truth and detections), gives every nation a key pair
and a node, and feeds each node its own sensors' scans in delivery order:

- ``nats=None`` (default): all nodes in this process over an :class:`~skyweave.share.bus.InProcessBus`
  (no server needed; deterministic for a seed);
- ``nats=URL``: all nodes in this process over a real NATS JetStream;
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
from skyweave.io.scans import ScanReader
from skyweave.node.node import NationNode, NodeConfig
from skyweave.share import InProcessBus, Keyring, Sequencer, generate_nation_keys, load_private_key
from skyweave.track.config import TrackerConfig


def make_keys(nations, folder: Path) -> tuple[dict, Keyring]:
    """A key pair per nation in ``folder`` (NATION.key mode 0600, NATION.pub), kept when it exists
    (a nation's identity outlives a run); returns the private keys and the keyring."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in nations if not ((folder / f"{n}.key").exists() and (folder / f"{n}.pub").exists())]
    generate_nation_keys(missing, folder, overwrite=True)
    priv = {n: load_private_key(folder / f"{n}.key") for n in nations}
    ring = Keyring.from_config({n: str(folder / f"{n}.pub") for n in nations})
    return priv, ring


def node_configs(nations, report_interval_s: float, responsibility: bool, tracker: TrackerConfig | None = None,
                 live: bool = True) -> dict[str, NodeConfig]:
    """Every nation's node configuration. ``live=False`` (a simulation run as fast as the CPU goes)
    fuses at most once per scenario second and not on every partner frame: the same picture at the
    same instants, without re-fusing it for each of the partners' frames in between."""
    return {
        n: NodeConfig(nation=n, partners=tuple(m for m in nations if m != n), report_interval_s=report_interval_s,
                      responsibility=responsibility, tracker=tracker or TrackerConfig(),
                      fuse_on_receive=live, fuse_interval_s=0.0 if live else 1.0)
        for n in nations
    }


def drive(nodes: dict[str, NationNode], detections: Path, sensors, progress=None, pace=None):
    """Feed every scan of ``detections`` to its nation's node, ticking all nodes on the common clock.

    ``pace(t)`` (optional) is called before each scan at scenario time ``t``: it waits until that
    time is due on the wall clock, or does whatever else must happen then. Returns the reader's
    bad-line errors.
    """
    nation_of = {s.id: s.nation for s in sensors.sensors}
    reader = ScanReader(detections, sensors)
    for raw in reader:
        if pace is not None:
            pace(raw.t)
        for node in nodes.values():
            node.advance(raw.t)
            if node.due(raw.t):
                node.tick(raw.t)
        node = nodes.get(nation_of[raw.sensor])
        if node is not None:
            node.ingest(raw)
        if progress is not None:
            progress(raw.t)
    return reader.errors


def run_network(scenario, out: Path, *, seed=None, duration=None, nats: str | None = None, processes: bool = False,
                report_interval_s: float = 2.0, responsibility: bool = True, speed: float = 1.0, progress=True,
                tracker: TrackerConfig | None = None, bus=None, red_team_every_s: float | None = None) -> dict:
    """Simulate ``scenario`` and run every nation's node on it (see the module docstring); returns a summary."""
    from skyweave.cli.simulate_cmd import run_simulation

    out = Path(out)
    t0 = time.perf_counter()
    sim = run_simulation(scenario, out, seed=seed, duration=duration, progress=progress)
    sensors = load_sensors(out / "sensors.json")
    nations = sorted({s.nation for s in sensors.sensors})
    priv, ring = make_keys(nations, out / "keys")
    cfgs = node_configs(nations, report_interval_s, responsibility, tracker, live=processes)
    if nats is not None and processes:
        return _run_processes(out, nations, cfgs, nats, speed, sim, t0)
    own_bus = bus is None
    if bus is None:
        if nats is None:
            bus = InProcessBus()
        else:
            from skyweave.share import NatsBus

            bus = NatsBus(nats, nations=nations, name="network")
    nodes = {n: NationNode(cfgs[n], sensors, priv[n], ring, bus, out_dir=out / n, sequencer=Sequencer(1) if nats is None else None)
             for n in nations}
    for n in nations:
        _write_node_yaml(out, n, cfgs[n], nats)
    red = None
    if red_team_every_s:
        from skyweave.node.redteam import RedTeam

        red = RedTeam(bus, nations, priv, sensors.dims)
        nxt = [red_team_every_s]

        def attack_when_due(t):
            if t >= nxt[0]:
                red.attack(t)
                nxt[0] += red_team_every_s

    errors = drive(nodes, out / "detections.jsonl", sensors, pace=attack_when_due if red is not None else None)
    if nats is not None:
        bus.flush()
        time.sleep(0.5)  # the last frames in flight
    summary = {n: node.close() for n, node in nodes.items()}
    if own_bus:
        bus.close()
    return {"mode": "in-process" if nats is None else "nats", "nations": nations, "nodes": summary, "bad_lines": len(errors),
            "red_team": dict(red.sent) if red is not None else {}, "simulation": sim,
            "wall_s": round(time.perf_counter() - t0, 3), "out": str(out)}


def _write_node_yaml(out: Path, nation: str, cfg: NodeConfig, nats: str | None, extra: dict | None = None) -> Path:
    d = {
        "nation": nation, "node_id": cfg.node_id, "partners": list(cfg.partners), "report_interval_s": cfg.report_interval_s,
        "responsibility": cfg.responsibility, "sensors": str(out / "sensors.json"), "detections": str(out / nation / "detections.jsonl"),
        "out": str(out / nation), "private_key": str(out / "keys" / f"{nation}.key"),
        "partner_keys": {p: str(out / "keys" / f"{p}.pub") for p in (*cfg.partners, nation)},
    }
    if nats is not None:
        d["nats"] = nats
    if extra:
        d.update(extra)
    p = out / nation / "node.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    return p


def _run_processes(out: Path, nations, cfgs, nats: str, speed: float, sim: dict, t0: float) -> dict:
    from skyweave.node.nations import split_by_nation

    split_by_nation(out)
    start = time.time() + 3.0  # every node starts its clock at the same wall instant
    procs = {}
    for n in nations:
        p = _write_node_yaml(out, n, cfgs[n], nats, {"speed": speed, "start_wall": start, "timing": True})
        procs[n] = subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", "node", "--config", str(p)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    summary, failed = {}, {}
    for n, pr in procs.items():
        so, se = pr.communicate()
        if pr.returncode != 0:
            failed[n] = se.strip().splitlines()[-5:]
            continue
        summary[n] = json.loads((out / n / "status.json").read_text())
    if failed:
        raise RuntimeError(f"node processes failed: {failed}")
    return {"mode": "nats-processes", "nations": nations, "nodes": summary, "simulation": sim,
            "wall_s": round(time.perf_counter() - t0, 3), "out": str(out)}
