"""The federation measured (issue 5): the fused picture against each nation's own, latency from
detection to a partner's fused picture over NATS, reconvergence after a partition, bandwidth.

    python benchmarks/bench_network.py [--quick] [--duration S] [--latency-duration S]
                                       [--partition-duration S] [--speed X] [--keep DIR]
                                       [--skip fused|latency|partition ...]

About 9 min on the standard 2-core machine (``--quick``: about 4 min). Needs ``nats-server``
(scripts/services.sh) for the latency and partition parts; without them they are skipped, said so.
``--skip fused latency partition`` leaves parts out.

1. **Fused against own** (the trilateral scenario, ``--duration`` s, default 600; 120 with
   ``--quick``; the four nodes in this process over the in-process bus). At every picture
   instant of a node (its tick, every 2 s) the truth is interpolated to that instant, and the
   nation's own live picture (its tracker's confirmed tracks, carried to the instant at constant
   velocity) and its fused picture are scored with GOSPA (c = 2 km, p = 1, alpha = 2; García-
   Fernández et al. 2020): overall, and where coverage overlaps: over the truths the nation's
   own picture tracks at that instant (*tracked*: each one's error, or c/2 if the fused picture
   misses it) and over those whose fused track also holds a partner's report (*shared*: there
   fusion has two sources to combine).
2. **Latency** (four ``skyweave node`` processes over one ``nats-server`` on loopback, paced on
   the wall clock at ``--speed`` × real time, default 1, for ``--latency-duration`` s, default
   120; 60 with ``--quick``), once with the fuser's default covariance intersection (exact) and
   once with ``fusion: {ci_method: ifci}``. The British ship's radar is on from the start (it
   joins at 900 s in the scenario) so that all four nodes track and fuse. Each node logs when it
   ingested each own scan and when each partner report entered its fused picture
   (``timing.jsonl``); latency (s) = wall time the report entered the receiver's fused picture −
   wall time the sender ingested the scan of that report's time, joined on (sender, t), first
   arrival of each, infrared scans (which make no reports) left out. A report first seen after
   the sender's next tick came from the tick's re-send (the scan sent that receiver nothing):
   such pairs are shown apart. Also given from the instant the scan was due on the wall clock
   (its time / speed after the common start), which adds any lag of the sender behind real
   time; and each node's fusion cost per partner frame, replayed in one process.
3. **Partition** (four nodes in this process, each with its own NATS connection, real time for
   ``--partition-duration`` s, default 90; 60 with ``--quick``): JPN is cut off both ways (its
   durable subscription stopped, its own frames lost on the way) for 25 s (15 s with
   ``--quick``), then healed. Reconvergence = wall time from the heal to the first picture
   sample (one at every scan) from which JPN's picture and every other node's agree on network
   track numbers (≥ 95 % of the shared source tracks) and each holds what the others report to
   it (≥ 90 %, or all but one) for the rest of the run. What a node reports to a partner is what
   it was seen to send that partner (per recipient: each partner gets its own estimates, under
   their own track ids, docs/fusion.md "Who reports what to whom"): every report stream sent to
   it for 3 s and not ended by a "deleted" report, last sent no more than 10 s ago; the
   partner holds it when its picture has that source track from a report no more than 5 s older
   than the newest sent. The agreement of
   every pair at the end is printed too: a track merged under a number that only a report not
   releasable to some partner carries stays under its old number there, with or without a
   partition. Lost = frames sent to a node that it never admitted; double-counted = frames
   admitted twice, or a source track or network number twice in a picture.
4. **Bandwidth** (the run of part 1, and the same without reporting responsibility): bytes of
   signed frames sent per second, over the mean number of network tracks (distinct network
   track numbers over all pictures at each instant).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import yaml

from skyweave.cli.common import resolve_scenario
from skyweave.io.formats import load_sensors
from skyweave.io.scans import ScanReader
from skyweave.io.tracks import IdRegistry, iter_state_frames
from skyweave.metrics.gospa import gospa
from skyweave.metrics.interp import interpolate_truth
from skyweave.node.network import make_keys, node_configs, run_network
from skyweave.node.sources import DetectionsFile, drive
from skyweave.node.node import NationNode
from skyweave.share import InProcessBus, Sequencer, decode_body, decode_envelope, parse_subject

# tests.support (real nats-server processes) is not shipped with the package: import it from the
# repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.natsserver import NatsServer, nats_server_binary  # noqa: E402

C_M = 2000.0  # GOSPA cut-off (m)
P = 1.0  # GOSPA order
AGREE = 0.95
COMPLETE = 0.9
LAG_S = 3.0
SILENT_S = 10.0  # the fuser's silence_timeout_s: a report older than this is a silent holder's
FRESH_S = LAG_S + 2.0  # a receiver is current on a stream when it holds a report this close (s) to the newest sent


# --------------------------------------------------------------------------- helpers


def _frames(path: Path, id_field: str, dims: int) -> dict[float, object]:
    """Every instant of a truth or tracks file: t -> StateFrame (ids coded per file)."""
    errors: list = []
    return {round(f.t, 6): f for f in iter_state_frames(path, id_field, IdRegistry(), errors, dims)}


def _truth_at(truth: dict, times: np.ndarray, t: float, dims: int):
    """Truth ids and states at t: the instant itself, or interpolated between the two around it."""
    k = round(t, 6)
    if k in truth:
        return truth[k].ids, truth[k].states
    i = int(np.searchsorted(times, t))
    if i == 0 or i >= len(times):
        return None
    a, b = truth[times[i - 1]], truth[times[i]]
    return interpolate_truth(t, a.t, a.ids, a.states, b.t, b.ids, b.states, dims)


class Recorder:
    """Wraps each node's ``tick``: at every picture instant keeps its own live picture (the
    tracker's confirmed tracks, carried to the picture time at constant velocity) and its fused
    picture (positions, sources, network numbers)."""

    def __init__(self, nodes: dict[str, NationNode], dims: int):
        self.dims = dims
        self.samples: dict[str, list] = {n: [] for n in nodes}
        for n, node in nodes.items():
            node.tick = self._wrap(n, node, node.tick)

    def _wrap(self, n, node, tick):
        d = self.dims

        def recorded(t=None):
            fused = tick(t)
            own = node.tracker.picture()
            pos = own.x[:, :d] + (fused.t - own.t) * own.x[:, d:2 * d]
            self.samples[n].append((fused.t, pos, fused.x[:, :d].copy(), fused.sources, [str(x) for x in fused.ntn]))
            return fused

        return recorded


def score_nation(nation: str, samples: list, truth: dict, dims: int) -> dict:
    """GOSPA of a nation's own live picture and of its fused picture at its picture instants (see the docstring)."""
    times = np.array(sorted(truth))
    acc = Counter()
    per_instant = []
    for t, own, fus, sources, _ in samples:
        tr = _truth_at(truth, times, t, dims)
        if tr is None:
            continue
        ids, X = tr
        g_own = gospa(X[:, :dims], own, C_M, P)
        g_fus = gospa(X[:, :dims], fus, C_M, P)
        # where coverage overlaps: the truths the nation's own picture tracks now
        own_err = dict(zip(g_own.assignment.rows.tolist(), g_own.assignment.dist.tolist()))
        fus_err = dict(zip(g_fus.assignment.rows.tolist(), g_fus.assignment.dist.tolist()))
        fus_col = dict(zip(g_fus.assignment.rows.tolist(), g_fus.assignment.cols.tolist()))
        tracked = list(own_err)
        shared = [r for r in tracked if r in fus_col and {k.split(":")[0] == nation for k in sources[fus_col[r]]} == {True, False}]
        acc["instants"] += 1
        acc["gospa_own"] += g_own.gospa
        acc["gospa_fused"] += g_fus.gospa
        for part in ("localisation", "missed", "false"):
            acc[f"{part}_own"] += getattr(g_own, part)
            acc[f"{part}_fused"] += getattr(g_fus, part)
        acc["truths"] += len(ids)
        acc["tracked"] += len(tracked)
        acc["tracked_own"] += sum(own_err[r] for r in tracked)
        acc["tracked_fused"] += sum(fus_err.get(r, C_M / 2) for r in tracked)
        acc["shared"] += len(shared)
        acc["shared_own"] += sum(own_err[r] for r in shared)
        acc["shared_fused"] += sum(fus_err[r] for r in shared)
        acc["shared_better"] += sum(fus_err[r] < own_err[r] for r in shared)
        if tracked:
            diff = sum(fus_err.get(r, C_M / 2) for r in tracked) - sum(own_err[r] for r in tracked)
            per_instant.append(-1 if diff < -1.0 else (1 if diff > 1.0 else 0))  # better, equal (within 1 m), worse
    n = max(acc["instants"], 1)
    return {
        "nation": nation, "instants": acc["instants"], "truths": acc["truths"] / n,
        "gospa_own": acc["gospa_own"] / n, "gospa_fused": acc["gospa_fused"] / n,
        **{f"{p}_{w}": acc[f"{p}_{w}"] / n for p in ("localisation", "missed", "false") for w in ("own", "fused")},
        "tracked": acc["tracked"] / n,
        "tracked_own_m": acc["tracked_own"] / max(acc["tracked"], 1), "tracked_fused_m": acc["tracked_fused"] / max(acc["tracked"], 1),
        "tracked_instants": {k: per_instant.count(v) / max(len(per_instant), 1) for k, v in (("better", -1), ("equal", 0), ("worse", 1))},
        "shared": acc["shared"] / n,
        "shared_own_m": acc["shared_own"] / max(acc["shared"], 1), "shared_fused_m": acc["shared_fused"] / max(acc["shared"], 1),
        "shared_fused_better": acc["shared_better"] / max(acc["shared"], 1),
    }


def network_tracks(samples: dict[str, list]) -> float:
    """Mean over picture instants of the number of distinct network track numbers in all pictures."""
    per_t: dict[float, set] = defaultdict(set)
    for rows in samples.values():
        for t, _, _, _, ntns in rows:
            per_t[round(t, 6)].update(x for x in ntns if x)
    return statistics.fmean(len(v) for v in per_t.values()) if per_t else 0.0


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


# --------------------------------------------------------------------------- 1 + 4: in-process runs


def fused_and_bandwidth(tmp: Path, duration: float) -> dict:
    """The trilateral scenario simulated once, then its network in process with and without responsibility."""
    from skyweave.node.simulate import run_simulation

    sim = tmp / "sim"
    run_simulation(resolve_scenario("trilateral"), sim, duration=duration, progress=False)
    sensors = load_sensors(sim / "sensors.json")
    nations = sorted({s.nation for s in sensors.sensors})
    priv, ring = make_keys(nations, sim / "keys")
    dims = sensors.dims
    truth = _frames(sim / "truth.jsonl", "id", dims)
    out = {}
    for resp in (True, False):
        cfgs = node_configs(nations, 2.0, resp, live=False)
        bus = InProcessBus()
        nodes = {n: NationNode(cfgs[n], sensors, priv[n], ring, bus, sequencer=Sequencer(1)) for n in nations}
        rec = Recorder(nodes, dims)
        t0 = time.perf_counter()
        drive(nodes, DetectionsFile(sim / "detections.jsonl", sensors), sensors)
        summary = {n: node.close() for n, node in nodes.items()}
        wall = time.perf_counter() - t0
        bus.close()
        bytes_out = sum(r.get("bytes_out", 0) for r in summary.values())
        frames = sum(r.get("frames_out", 0) for r in summary.values())
        reports = sum(r.get("reports_out", 0) for r in summary.values())
        tracks = network_tracks(rec.samples)
        row = {"wall_s": wall, "bytes_out": bytes_out, "frames_out": frames, "reports_out": reports,
               "network_tracks": tracks, "bytes_per_s": bytes_out / duration,
               "bytes_per_track_s": bytes_out / duration / tracks if tracks else float("nan"),
               "reports_per_track_s": reports / duration / tracks if tracks else float("nan"),
               "frames_per_s": frames / duration, "per_node": {n: r.get("bytes_out", 0) / duration for n, r in summary.items()},
               "scores": [score_nation(n, rec.samples[n], truth, dims) for n in nations if summary[n].get("scans")]}
        out["with" if resp else "without"] = row
    return out


# --------------------------------------------------------------------------- 2: latency over NATS


def latency_run(tmp: Path, duration: float, speed: float, ci_methods=("exact", "ifci")) -> list[dict]:
    """The four-process run over NATS, once per covariance-intersection method (the first, the
    fuser's default, through ``run_network``; the others by re-running the same node.yaml files
    with ``fusion: {ci_method: ...}`` against a fresh server)."""
    spec = yaml.safe_load(Path(resolve_scenario("trilateral")).read_text())
    for s in spec["sensors"]:
        if s["id"] == "GBR-T45":
            s.pop("active_s", None)  # the British ship's radar on from the start: four nodes that track
    scen = tmp / "trilateral-gbr.yaml"
    scen.write_text(yaml.safe_dump(spec, sort_keys=False))
    folder = tmp / "latency"
    out = []
    for i, method in enumerate(ci_methods):
        server = NatsServer(tmp / f"lat-js-{method}").start()
        try:
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            if i == 0:
                s = run_network(scen, folder, duration=duration, nats=server.url, processes=True, speed=speed, progress=False)
                nations, summary = s["nations"], s["nodes"]
            else:
                summary = _rerun_processes(folder, nations, server.url, {"ci_method": method})
            wall = time.perf_counter() - t0
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            varz = server.varz("varz")
            server_cpu = _proc_cpu(server.proc.pid)
        finally:
            server.stop()
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        out.append({**analyse_latency(folder, nations, speed), "ci_method": method, "duration": duration, "speed": speed,
                    "wall_s": wall, "nodes_cpu_s": cpu, "server_cpu_s": server_cpu,
                    "server_in_bytes": varz.get("in_bytes"), "server_out_bytes": varz.get("out_bytes"),
                    "server_in_msgs": varz.get("in_msgs"), "server_out_msgs": varz.get("out_msgs"),
                    "signed_bytes": sum(r.get("bytes_out", 0) for r in summary.values()),
                    "frames": sum(r.get("frames_out", 0) for r in summary.values()),
                    "rejected": {n: r.get("rejected", {}) for n, r in summary.items()},
                    "picture": {n: r.get("picture_tracks") for n, r in summary.items()}})
    return out


def _rerun_processes(folder: Path, nations, url: str, fusion: dict) -> dict:
    """Run the nodes of an earlier process run again (their node.yaml) with ``fusion`` settings."""
    start = time.time() + 3.0
    procs = {}
    for n in nations:
        p = folder / n / "node.yaml"
        c = yaml.safe_load(p.read_text())
        c.update(nats=url, start_wall=start, fusion=fusion)
        p.write_text(yaml.safe_dump(c, sort_keys=False))
        procs[n] = subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", "node", "--config", str(p)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    summary = {}
    for n, pr in procs.items():
        _, err = pr.communicate()
        if pr.returncode != 0:
            raise RuntimeError(f"node {n} failed: {err.strip().splitlines()[-5:]}")
        summary[n] = json.loads((folder / n / "status.json").read_text())
    return summary


def fusion_cost(folder: Path, ci_method: str) -> dict:
    """Wall time of each node's fusion when a partner's frame arrives (ms), replaying the latency
    run's detections in one process over the in-process bus, without pacing."""
    from dataclasses import replace

    from skyweave.fuse import FuserConfig

    sensors = load_sensors(folder / "sensors.json")
    nations = sorted({x.nation for x in sensors.sensors})
    priv, ring = make_keys(nations, folder / "keys")
    cfgs = {n: replace(c, fuser=FuserConfig(ci_method=ci_method)) for n, c in node_configs(nations, 2.0, True, live=True).items()}
    bus = InProcessBus()
    nodes = {n: NationNode(cfgs[n], sensors, priv[n], ring, bus, sequencer=Sequencer(1)) for n in nations}
    cost: dict[str, list] = {n: [] for n in nations}
    for n, node in nodes.items():
        def timed(env, reports, on=node.receiver.on["tracks"], n=n):
            t = time.perf_counter()
            on(env, reports)
            cost[n].append(time.perf_counter() - t)

        node.receiver.on["tracks"] = timed
    drive(nodes, DetectionsFile(folder / "detections.jsonl", sensors), sensors)
    for node in nodes.values():
        node.close()
    return {n: (len(v), 1e3 * statistics.fmean(v), 1e3 * pct(v, 99)) for n, v in cost.items() if v}


def analyse_latency(folder: Path, nations, speed: float) -> dict:
    """Latencies from the nodes' timing.jsonl files (see the module docstring)."""
    sensors = load_sensors(folder / "sensors.json")
    kind = {x.id: x.kind for x in sensors.sensors}
    start = {}
    scans: dict[str, dict[float, float]] = {}
    fused: dict[tuple[str, str], dict[float, float]] = defaultdict(dict)
    for n in nations:
        start[n] = yaml.safe_load((folder / n / "node.yaml").read_text())["start_wall"]
        scans[n] = {}
        # the node logs every scan it ingests, in file order: the k-th "scan" row is the k-th scan of
        # its detections; only scans the tracker takes make reports (infrared goes to the warner)
        own = iter(ScanReader(folder / n / "detections.jsonl", sensors))
        with open(folder / n / "timing.jsonl") as f:
            for line in f:
                row = json.loads(line)
                if row[0] == "scan":
                    raw = next(own)
                    t, w = row[1], row[2]
                    assert raw.t == t, (n, raw.t, t)
                    if kind[raw.sensor] != "ir":
                        scans[n][t] = min(w, scans[n].get(t, math.inf))
                else:
                    _, sender, t, w = row
                    d = fused[sender, n]
                    d[t] = min(w, d.get(t, math.inf))
    # a report of time t first seen after the sender's next tick came from that tick's re-send:
    # the scan itself sent the receiver nothing (no track it updated was the sender's to report)
    interval = {n: float(yaml.safe_load((folder / n / "node.yaml").read_text()).get("report_interval_s", 2.0)) for n in nations}
    lat, scan_lat, lat_due, warm, per_pair, unmatched = [], [], [], [], {}, 0
    for (sender, recv), d in sorted(fused.items()):
        pair = []
        for t, w in d.items():
            w0 = scans[sender].get(t)
            if w0 is None:
                unmatched += 1
                continue
            lat.append(w - w0)
            next_tick = start[sender] + (math.floor(t / interval[sender]) + 1) * interval[sender] / speed
            if w >= next_tick:
                continue
            pair.append(w - w0)
            lat_due.append(w - (start[sender] + t / speed))
            if t >= 5.0:
                warm.append(w - w0)
        scan_lat += pair
        per_pair[f"{sender}→{recv}"] = (len(pair), pct(pair, 50) * 1e3, pct(pair, 99) * 1e3)
    behind = [w - (start[n] + t / speed) for n in nations for t, w in scans[n].items()]
    return {"n_all": len(lat), "all_p50_ms": pct(lat, 50) * 1e3, "all_p99_ms": pct(lat, 99) * 1e3, "all_max_ms": max(lat) * 1e3,
            "n": len(scan_lat), "unmatched": unmatched, "warm_p99_ms": pct(warm, 99) * 1e3,
            "p50_ms": pct(scan_lat, 50) * 1e3, "p90_ms": pct(scan_lat, 90) * 1e3, "p99_ms": pct(scan_lat, 99) * 1e3,
            "max_ms": max(scan_lat) * 1e3,
            "due_p50_ms": pct(lat_due, 50) * 1e3, "due_p99_ms": pct(lat_due, 99) * 1e3,
            "ingest_behind_p50_ms": pct(behind, 50) * 1e3, "ingest_behind_p99_ms": pct(behind, 99) * 1e3,
            "per_pair": per_pair}


def _proc_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        import os

        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# --------------------------------------------------------------------------- 3: partition over NATS


class Wire:
    """A node's link to the bus: counts frames sent to each nation and records, per recipient,
    the report streams it was sent; when cut, what it publishes is lost (and not recorded)."""

    def __init__(self, bus):
        self.bus = bus
        self.cut = False
        self.lost = 0
        self.sent: Counter = Counter()
        # recipient -> "NATION:track_id" -> [scenario t of the stream's first report, of its last]
        self.streams: dict[str, dict[str, list[float]]] = defaultdict(dict)
        self._lock = threading.Lock()

    def publish(self, subject, data, *, msg_id=None):
        _, recipient, kind = parse_subject(subject)
        if self.cut:
            self.lost += 1
            return
        self.bus.publish(subject, data, msg_id=msg_id)
        body = decode_body(kind, decode_envelope(data).payload) if kind != "status" else None
        with self._lock:
            self.sent[recipient] += 1
            self.sent[recipient, "items"] += len(body) if body is not None else 1
            if kind == "tracks":
                streams = self.streams[recipient]
                for r in body:
                    key = f"{r.nation}:{r.track_id}"
                    if r.status == "deleted":
                        streams.pop(key, None)
                    elif key in streams:
                        streams[key][1] = max(streams[key][1], r.t)
                    else:
                        streams[key] = [r.t, r.t]

    def open_streams(self, recipient: str, t: float) -> dict[str, float]:
        """The source keys this node reports to ``recipient`` at scenario time ``t`` (s), each
        with the time of its newest report sent (s): streams sent, not ended by a "deleted"
        report, begun at least ``LAG_S`` before ``t`` and last reported no more than ``SILENT_S``
        before it (a report older than that is a silent holder's, which the recipient may
        drop)."""
        with self._lock:
            return {k: t1 for k, (t0, t1) in self.streams.get(recipient, {}).items()
                    if t0 <= t - LAG_S and t1 >= t - SILENT_S}

    def subscribe(self, subject, handler, **kw):
        return self.bus.subscribe(subject, handler, **kw)

    def flush(self, timeout=None):
        self.bus.flush(timeout)

    def close(self):
        self.bus.close()


def _source_ntn(node: NationNode) -> dict[str, str]:
    pic = node.last_picture
    if pic is None:
        return {}
    return {k: str(pic.ntn[i]) for i, src in enumerate(pic.sources) for k in src}


def _snapshot(nodes, wires, t):
    """One sample at scenario time ``t``: per pair, the agreement on network track numbers, and
    per (receiver a, sender b) the share of what b has been reporting to a (its report streams to
    a, :meth:`Wire.open_streams`: with per-recipient reporting, the estimates b sends a, under
    their own track ids) that a's picture holds from a report no more than ``FRESH_S`` older
    than the newest b sent, with the number missing and which."""
    pics = {n: _source_ntn(x) for n, x in nodes.items()}
    row = {"t": t, "wall": time.monotonic(), "agree": {}, "complete": {}, "missing": {}}
    for a in nodes:
        for b in nodes:
            if a == b:
                continue
            if a < b:
                # numbers both know: a report whose number's owner never told a nation reaches it
                # unnumbered (no existence leaks, docs/messages.md), which is no disagreement
                shared = {k for k in pics[a].keys() & pics[b].keys() if pics[a][k] and pics[b][k]}
                row["agree"][a, b] = sum(pics[a][k] == pics[b][k] for k in shared) / len(shared) if shared else 1.0
            want = wires[b].open_streams(a, t)
            held = nodes[a].remote
            # held: in a's picture, from a report no more than FRESH_S older than b's newest
            gone = sorted(k for k, t1 in want.items()
                          if k not in pics[a] or getattr(held.get(k), "t", -math.inf) < t1 - FRESH_S)
            row["complete"][a, b] = (1.0 - len(gone) / len(want) if want else 1.0, len(gone))
            if gone:
                row["missing"][a, b] = gone
    return row


def _converged(row, nation):
    return (all(v >= AGREE for k, v in row["agree"].items() if nation in k)
            and all(f >= COMPLETE or m <= 1 for k, (f, m) in row["complete"].items() if nation in k))


def _duplicates(node: NationNode) -> int:
    pic = node.last_picture
    if pic is None:
        return 0
    seen = Counter(k for src in pic.sources for k in src)
    ntns = Counter(str(x) for x in pic.ntn if str(x))
    return sum(c - 1 for c in seen.values() if c > 1) + sum(c - 1 for c in ntns.values() if c > 1)


def partition_run(tmp: Path, duration: float, cut_s: float, speed: float = 1.0) -> dict:
    from skyweave.node.simulate import run_simulation
    from skyweave.share import NatsBus

    folder = tmp / "partition"
    run_simulation(resolve_scenario("trilateral"), folder, duration=duration, progress=False)
    sensors = load_sensors(folder / "sensors.json")
    nations = sorted({s.nation for s in sensors.sensors})
    priv, ring = make_keys(nations, folder / "keys")
    cfgs = node_configs(nations, 2.0, True, live=True)
    server = NatsServer(tmp / "part-js").start()
    wires = {n: Wire(NatsBus(server.url, nations=nations, name=n)) for n in nations}
    nodes = {n: NationNode(cfgs[n], sensors, priv[n], ring, wires[n]) for n in nations}
    victim = "JPN"
    t_cut = 30.0 if duration >= 90 else 20.0
    t_heal = t_cut + cut_s
    history: list[dict] = []
    marks: dict = {}
    start = time.monotonic()

    def pace(t):
        wait = start + t / speed - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if "cut" not in marks and t >= t_cut:
            nodes[victim].receiver.stop()
            wires[victim].cut = True
            marks["cut"] = time.monotonic()
        if "heal" not in marks and t >= t_heal:
            wires[victim].cut = False
            nodes[victim].receiver.start()
            marks["heal"] = time.monotonic()
            marks["heal_t"] = t
        history.append(_snapshot(nodes, wires, t))  # at every scan (about every 0.1-0.5 s)

    try:
        drive(nodes, DetectionsFile(folder / "detections.jsonl", sensors), sensors, pace=pace)
        for w in wires.values():
            w.flush(5.0)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(nodes[n].gate.admitted + sum(nodes[n].gate.counts.values()) < sum(
                w.sent[n] for w in wires.values()) for n in nations):
            time.sleep(0.05)
        sent = {n: sum(w.sent[n] for w in wires.values()) for n in nations}
        admitted = {n: nodes[n].gate.admitted for n in nations}
        rejected = {n: {k: v for k, v in nodes[n].gate.counts.items() if v} for n in nations}
        reports_ok = all(nodes[n].stats["reports_in"] == sum(w.sent[n, "items"] for w in wires.values()) for n in nations)
        dups = {n: _duplicates(nodes[n]) for n in nations}
    finally:
        for n in nations:
            nodes[n].close()
        for w in wires.values():
            w.close()
        server.stop()
    after = [r for r in history if r["t"] >= t_heal]
    settled = None
    for r in after:
        if _converged(r, victim):
            settled = settled or r
        else:
            settled = None
    first = next((r for r in after if _converged(r, victim)), None)
    diverged = any(not _converged(r, victim) for r in history if t_cut <= r["t"] < t_heal)
    return {"duration": duration, "cut_s": cut_s, "t_cut": t_cut, "t_heal": t_heal, "diverged_while_cut": diverged,
            "reconverged_wall_s": (settled["wall"] - marks["heal"]) if settled else None,
            "reconverged_scenario_s": (settled["t"] - t_heal) if settled else None,
            "first_agree_wall_s": (first["wall"] - marks["heal"]) if first else None,
            "sent": sent, "admitted": admitted, "rejected": rejected, "reports_match": reports_ok,
            "lost": sum(max(sent[n] - admitted[n], 0) for n in nations),
            "admitted_twice": sum(max(admitted[n] - sent[n], 0) for n in nations),
            "picture_duplicates": dups, "lost_on_the_cut_link": wires[victim].lost,
            "history": history}


# --------------------------------------------------------------------------- report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter runs (120 s fused/bandwidth, 60 s latency and partition)")
    ap.add_argument("--duration", type=float, default=None, help="scenario s of the in-process runs (default 600; 120 quick)")
    ap.add_argument("--latency-duration", type=float, default=None, help="scenario s of the NATS process run (default 120; 60 quick)")
    ap.add_argument("--partition-duration", type=float, default=None, help="scenario s of the partition run (default 90; 60 quick)")
    ap.add_argument("--speed", type=float, default=1.0, help="wall-clock pacing of the NATS runs (× real time, default 1)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the run folders here")
    ap.add_argument("--skip", nargs="*", default=[], choices=["fused", "latency", "partition"], help="parts to leave out")
    a = ap.parse_args(argv)
    duration = a.duration or (120.0 if a.quick else 600.0)
    lat_d = a.latency_duration or (60.0 if a.quick else 120.0)
    part_d = a.partition_duration or (60.0 if a.quick else 90.0)
    cut_s = 15.0 if part_d < 90 else 25.0
    tmp = Path(tempfile.mkdtemp(prefix="bench-network-")) if a.keep is None else a.keep
    tmp.mkdir(parents=True, exist_ok=True)
    have_nats = nats_server_binary() is not None
    print(f"# bench_network  {time.strftime('%Y-%m-%d %H:%M')}  python {sys.version.split()[0]}  "
          f"{'quick' if a.quick else 'full'}  (folders in {tmp})\n", flush=True)
    ok = True
    try:
        if "fused" not in a.skip:
            r = fused_and_bandwidth(tmp, duration)
            ok &= report_fused(r, duration)
            report_bandwidth(r, duration)
        if "latency" not in a.skip:
            if have_nats:
                runs = latency_run(tmp, lat_d, a.speed)
                costs = {m: fusion_cost(tmp / "latency", m) for m in ("exact", "ifci")}
                ok &= report_latency(runs, costs)
            else:
                print("## Latency: skipped, nats-server not installed (scripts/services.sh)\n")
        if "partition" not in a.skip:
            if have_nats:
                ok &= report_partition(partition_run(tmp, part_d, cut_s, a.speed))
            else:
                print("## Partition: skipped, nats-server not installed (scripts/services.sh)\n")
    finally:
        if a.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("all goals met" if ok else "some goals not met (see above)")
    return 0


def report_fused(r: dict, duration: float) -> bool:
    w = r["with"]
    print(f"## Fused picture against each nation's own (trilateral, {duration:.0f} s, in-process, GOSPA c = 2 km, p = 1)\n")
    print(f"in-process run {w['wall_s']:.1f} s wall\n")
    print("| nation | instants | truths | GOSPA own | GOSPA fused | own loc / missed / false | fused loc / missed / false "
          "| tracked by own | error there own → fused (m) | instants fused better / equal / worse | shared with a partner | error there own → fused (m) | fused better (truths) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for s in w["scores"]:
        ti = s["tracked_instants"]
        print(f"| {s['nation']} | {s['instants']} | {s['truths']:.1f} | {s['gospa_own']:,.0f} | {s['gospa_fused']:,.0f} | "
              f"{s['localisation_own']:,.0f} / {s['missed_own']:,.0f} / {s['false_own']:,.0f} | "
              f"{s['localisation_fused']:,.0f} / {s['missed_fused']:,.0f} / {s['false_fused']:,.0f} | {s['tracked']:.1f} | "
              f"{s['tracked_own_m']:.0f} → {s['tracked_fused_m']:.0f} | {ti['better']:.0%} / {ti['equal']:.0%} / {ti['worse']:.0%} | {s['shared']:.1f} | "
              f"{s['shared_own_m']:.0f} → {s['shared_fused_m']:.0f} | {s['shared_fused_better']:.0%} |")
        good = s["gospa_fused"] < s["gospa_own"] and s["tracked_fused_m"] <= s["tracked_own_m"] and (
            s["shared"] == 0 or s["shared_fused_m"] < s["shared_own_m"])
        ok &= good
    wo = r["without"]
    print("\nwithout reporting responsibility (every node reports every track; fused from every source):\n")
    print("| nation | GOSPA own | GOSPA fused | tracked: error own → fused (m) | shared: error own → fused (m) |")
    print("|---|---|---|---|---|")
    for s in wo["scores"]:
        print(f"| {s['nation']} | {s['gospa_own']:,.0f} | {s['gospa_fused']:,.0f} | {s['tracked_own_m']:.0f} → {s['tracked_fused_m']:.0f} | "
              f"{s['shared_own_m']:.0f} → {s['shared_fused_m']:.0f} ({s['shared']:.1f} truths) |")
    print(f"\ngoal (fused better than own overall and wherever coverage overlaps): {'met' if ok else 'NOT met'}\n", flush=True)
    return ok


def report_bandwidth(r: dict, duration: float) -> None:
    print(f"## Bandwidth (trilateral, {duration:.0f} s, signed frames as sent)\n")
    print("| reporting | network tracks | bytes/s (all nodes) | frames/s | reports/(track·s) | **bytes/(track·s)** | per node bytes/s |")
    print("|---|---|---|---|---|---|---|")
    for k in ("with", "without"):
        x = r[k]
        per = ", ".join(f"{n} {v / 1000:,.1f} k" for n, v in x["per_node"].items())
        print(f"| {k} responsibility | {x['network_tracks']:.1f} | {x['bytes_per_s']:,.0f} | {x['frames_per_s']:.1f} | "
              f"{x['reports_per_track_s']:.2f} | **{x['bytes_per_track_s']:,.0f}** | {per} |")
    ratio = r["without"]["bytes_per_track_s"] / r["with"]["bytes_per_track_s"]
    print(f"\nresponsibility saves {1 - 1 / ratio:.0%} of the bytes ({ratio:.2f}× less)\n", flush=True)


def report_latency(runs: list[dict], costs: dict) -> bool:
    r0 = runs[0]
    print(f"## Latency, detection to a partner's fused picture (4 node processes + nats-server on loopback, "
          f"{r0['duration']:.0f} s at {r0['speed']:g}× real time)\n")
    print("| CI method | reports sent at the scan | p50 ms | p90 ms | **p99 ms** | max ms | p99 after the first 5 s | from due time p50 / p99 ms "
          "| sender behind real time p50 / p99 ms | all joined (with tick re-sends): n, p50, p99, max ms | node CPU s (cores) | nats-server CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        busy = r["nodes_cpu_s"] / (r["duration"] / r["speed"])
        print(f"| {r['ci_method']}{' (default)' if r is r0 else ''} | {r['n']:,} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
              f"**{r['p99_ms']:.1f}** | {r['max_ms']:.0f} | {r['warm_p99_ms']:.1f} | {r['due_p50_ms']:.1f} / {r['due_p99_ms']:.1f} | "
              f"{r['ingest_behind_p50_ms']:.1f} / {r['ingest_behind_p99_ms']:.1f} | "
              f"{r['n_all']:,}, {r['all_p50_ms']:.0f}, {r['all_p99_ms']:.0f}, {r['all_max_ms']:.0f} | {r['nodes_cpu_s']:.1f} ({busy:.2f}) | "
              f"{r['server_cpu_s'] or float('nan'):.1f} |")
    for r in runs:
        print(f"\nper link, {r['ci_method']} (sender→receiver: reports, p50 ms, p99 ms): " + "; ".join(
            f"{k} {n}, {p50:.0f}, {p99:.0f}" for k, (n, p50, p99) in r["per_pair"].items()))
    print(f"\nserver traffic ({r0['ci_method']}): in {r0['server_in_bytes'] / 1e6:,.1f} MB / {r0['server_in_msgs']:,} msgs, "
          f"out {r0['server_out_bytes'] / 1e6:,.1f} MB / {r0['server_out_msgs']:,} msgs (signed frames "
          f"{r0['signed_bytes'] / 1e6:,.1f} MB in {r0['frames']:,} frames); unmatched fused entries {r0['unmatched']}; "
          f"pictures {r0['picture']}; rejected {r0['rejected']}")
    if costs:
        print("\nwhere the time goes: each node's fusion when a partner's frame arrives (the same detections in one "
              "process, unpaced; count, mean ms, p99 ms):\n")
        print("| node | " + " | ".join(costs) + " |")
        print("|---|" + "---|" * len(costs))
        for n in next(iter(costs.values())):
            print(f"| {n} | " + " | ".join(f"{c[n][0]}, {c[n][1]:.1f}, {c[n][2]:.1f}" for c in costs.values()) + " |")
    ok = r0["p99_ms"] < 250
    print(f"\ngoal p99 < 250 ms (default configuration): {'met' if ok else 'NOT met'}"
          + "".join(f"; with ci_method={r['ci_method']}: {'met' if r['p99_ms'] < 250 else 'NOT met'}" for r in runs[1:]) + "\n",
          flush=True)
    return ok


def report_partition(r: dict) -> bool:
    print(f"## Partition and heal (JPN cut off both ways for {r['cut_s']:.0f} s at t = {r['t_cut']:.0f} s, "
          f"{r['duration']:.0f} s at real time over NATS)\n")
    rc = r["reconverged_wall_s"]
    print("| diverged while cut | reconverged after heal (wall s) | (scenario s) | first agreeing sample (wall s) | frames sent to nodes | admitted | lost | admitted twice | duplicates in pictures | JPN frames lost on the cut link (re-sent by later reports) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {'yes' if r['diverged_while_cut'] else 'no'} | **{rc:.2f}** | {r['reconverged_scenario_s']:.1f} | "
          f"{r['first_agree_wall_s']:.2f} | {sum(r['sent'].values()):,} | {sum(r['admitted'].values()):,} | **{r['lost']}** | "
          f"**{r['admitted_twice']}** | {sum(r['picture_duplicates'].values())} | {r['lost_on_the_cut_link']} |" if rc is not None else
          f"| {r['diverged_while_cut']} | never | | | {r['sent']} | {r['admitted']} | {r['lost']} | {r['admitted_twice']} | {r['picture_duplicates']} | {r['lost_on_the_cut_link']} |")
    last = r["history"][-1]
    print(f"\nrejections (duplicates are redeliveries dropped by message id): {r['rejected']}; reports handed to nodes = reports sent: {r['reports_match']}")
    print("\nagreement on network track numbers at the end, per pair: " + ", ".join(
        f"{a}-{b} {v:.3f}" for (a, b), v in sorted(last["agree"].items())))
    after = [h for h in r["history"] if h["t"] >= r["t_heal"]]
    held = [h for h in after if not _converged(h, "JPN")]
    print(f"\nsamples after the heal: {len(after)}, of them not converged: {len(held)}"
          + (f" (the last at t = {held[-1]['t']:.1f} s)" if held else ""))
    if held:
        h = held[-1]
        print("  in it, agreement below 95 %: " + (", ".join(f"{a}-{b} {v:.3f}" for (a, b), v in sorted(h["agree"].items())
                                                        if v < AGREE and "JPN" in (a, b)) or "none"))
        print("  reported streams missing from the receiver's picture (receiver <- sender: keys): " + ("; ".join(
            f"{a} <- {b}: {', '.join(ks[:6])}{' ...' if len(ks) > 6 else ''}" for (a, b), ks in sorted(h["missing"].items())
            if "JPN" in (a, b)) or "none"))
    ok = rc is not None and rc < 5.0 and r["lost"] == 0 and r["admitted_twice"] == 0 and not sum(r["picture_duplicates"].values())
    print(f"\ngoals reconvergence < 5 s, 0 lost, 0 double-counted: {'met' if ok else 'NOT met'}\n", flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(main())
