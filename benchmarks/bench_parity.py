"""Parity (issue 12, item 4): each nation's fused picture and warnings against skyweave run
centrally on every detection that nation may see.

    python benchmarks/bench_parity.py [--quick] [--seed 6] [--duration S] [--bytes]
                                      [--nats [--speed X]] [--jobs 2] [--keep DIR] [--json]
    python benchmarks/bench_parity.py --score DIR [--json]   # score a finished network run

About 5-6 min on the standard 2-core machine with the other core busy (``--quick``: 300 s of
scenario, about 1 min); ``--nats`` adds a run over a real ``nats-server`` with one ``skyweave
node`` process per nation, paced at ``--speed`` × real time (default: the scenario in about 4 min
of wall time; the output says how far each process fell behind that pace).

1. **Network run**: ``skyweave network run trilateral --seed 6 --duration 1200 --out DIR`` (the
   four nodes in one process over the in-process bus), as a subprocess; and, in full mode or with
   ``--bytes``, the same with ``--no-responsibility`` for the bytes on the wire (the two run side
   by side). Only the files the command writes are read (docs/formats.md): truth.jsonl,
   sensors.json, detections.jsonl, targets.json and per nation picture.jsonl, alerts.jsonl,
   status.json and node.yaml; so the benchmark scores any version of the node.
2. **Central yardstick per nation**: the lines of DIR/detections.jsonl from the sensors whose
   ``releasable_to`` includes the nation (its own always) feed one
   :class:`~skyweave.node.core.NodeCore` over those sensors, with the tracker configuration the
   network runner gives every node (:func:`skyweave.node.network.node_configs`) and the node's
   warning settings; infrared cues go to the warner. The four runs share a pool of ``--jobs``
   processes; runs on identical detections (the in-process and NATS runs of one seed) are made once.
3. **Scores** on a 1 s grid, from one report interval after the truth's first instant (when
   every node should have written its first picture) to the last picture. At each grid time
   each picture gives its newest frame at or before it, if not older than the node's report
   interval + 1 s (the same limit for the central picture), every track carried to the grid
   time at constant velocity (a node without a picture then misses every truth); the truth is
   interpolated (:func:`skyweave.metrics.interp.interpolate_truth`) between its instants.

   - GOSPA (c = 5 km, p = 1, alpha = 2, 3-D positions; :func:`skyweave.metrics.gospa.gospa`):
     summed over the grid and its mean per instant; the ratio fused / central (goal <= 1.10);
     missed targets and false tracks per second (the unassigned truths and tracks per instant).
     Also the mean with p = 2 and its ratio, the form of issue 12's own table (its 21,153 for
     AUS is sqrt(c²/2 · 36 missed)): with p = 2 the same picture's ratio is smaller.
   - Identity changes: per truth, the number of times the id of the track GOSPA assigns to it
     differs from the id it had at its previous assigned instant (a gap with no track is no
     change in itself; ``adjacent`` counts only changes between neighbouring grid times), summed
     over truths; fused (network track numbers) against central (goal <= 1.5×).
   - Warnings: the launches are the ballistic targets of targets.json launched within the run.
     Alerts are matched to launches as :mod:`benchmarks.bench_warn` does
     (:func:`skyweave.metrics.warning.score_alerts`: the launch whose impact is nearest the
     alert's predictions; an alert that matches none but whose launch estimate lies within
     100 km and 60 s of a true launch is that launch's). Per nation and launch, the first update
     of any alert matched to it in the central run and in DIR/<NATION>/alerts.jsonl; delay =
     fused − central (goal <= 5 s for every launch the central warner warns that nation of; never
     in the fused alerts: missed). And per launch, the distinct ``alert_id`` matched to it over all
     nations' alerts.jsonl, leaving out ids that ended merged into another (last update with
     ``status: merged``, or ``closed`` with ``reason: merged``) (goal: 1 per launch). An
     update's ``t`` is its node's clock (the newest data time it has seen): the central run,
     seeing more sensors, may stamp the same cue up to a sensor's latency later than a node.
   - Agreement of network track numbers: per pair of nations, over the grid times and the truths
     to which both fused pictures assign a track, and that are settled (no other truth within
     5 km in the last 10 s, the grid time included), the share where both tracks carry the same
     number (goal 100 %). Of the pairs under different ids: how many have a track without a
     network number on one side, and how many concern an object two nations track apart
     (picture.jsonl ``sources``: each one's fused track holds its own report only), where no
     rule on the reports can make those two agree (:func:`apart_disagreements`).
   - Bytes on the wire per nation (status.json ``bytes_out``, ``frames_out``, ``reports_out``)
     per second of scenario, with and without reporting responsibility.
4. Tables per nation with the goals and whether each is met, and the wall time of each stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import msgspec
import numpy as np
import yaml
from scipy.spatial import cKDTree

from skyweave.io.formats import load_sensors
from skyweave.metrics.gospa import gospa
from skyweave.metrics.interp import interpolate_truth
from skyweave.metrics.warning import great_circle_m, score_alerts

ROOT = Path(__file__).resolve().parents[1]
# tests.support (real nats-server processes) and the other benchmarks are not shipped with the
# package: import them from the repository
for _p in (str(ROOT), str(ROOT / "benchmarks")):
    if _p not in sys.path:
        sys.path.insert(0, _p)
from bench_warn import LAUNCH_MATCH_KM, LAUNCH_MATCH_S  # noqa: E402

C_M = 5000.0  # GOSPA cut-off (m)
P = 1.0  # GOSPA order
GRID_S = 1.0  # scoring grid step (s)
SETTLE_M = 5000.0  # a truth is settled when no other truth came this close (m) ...
SETTLE_S = 10.0  # ... within this many seconds before the grid time (s)
GOAL_GOSPA = 1.10  # fused GOSPA at most this times the central one
GOAL_IDS = 1.5  # fused identity changes at most this times the central ones
GOAL_DELAY_S = 5.0  # first fused warning at most this late (s)
GOAL_AGREE = 1.0  # share of settled shared truths under the same number
SCENARIO = "trilateral"
NATS_WALL_S = 240.0  # the NATS run's default speed aims at this wall time (s)
UNNUMBERED = "-local-"  # in a picture.jsonl id: a fused track without a network number


# --------------------------------------------------------------------------- pictures


class _StateLine(msgspec.Struct):
    """One line of truth.jsonl or tracks.jsonl: only the fields scored (the rest is skipped)."""

    t: float
    x: float
    y: float
    vx: float
    vy: float
    z: float = 0.0
    vz: float = 0.0
    id: str = ""
    track_id: str = ""
    sources: list[str] = []


_LINE = msgspec.json.Decoder(_StateLine)


def read_states(path: Path, dims: int, sources: list | None = None):
    """Every line of a truth or tracks file: times (R,) s, ids, states (R, 2 dims) [p, v] in m
    and m/s, and the number of lines that did not decode (skipped); ``sources``, when given a
    list, receives each line's ``sources`` (a picture's: "NATION:track_id" each)."""
    t, ids, x, bad = [], [], [], 0
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                r = _LINE.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                bad += 1
                continue
            t.append(r.t)
            ids.append(r.track_id or r.id)
            if sources is not None:
                sources.append(r.sources)
            x.append((r.x, r.y, r.vx, r.vy) if dims == 2 else (r.x, r.y, r.z, r.vx, r.vy, r.vz))
    return np.asarray(t, dtype=float), ids, np.asarray(x, dtype=float).reshape(-1, 2 * dims), bad


@dataclasses.dataclass(frozen=True)
class Picture:
    """A series of track frames: frame ``f`` holds rows ``start[f]:start[f + 1]`` at time ``t[f]``
    (s, increasing); ``ids`` (R,) str, ``x`` (R, 2 dims) states [p, v] (m, m/s). ``max_age_s``:
    a frame older than this (s) stands for no picture. ``src`` (R,) int64, where known: the
    nations whose reports a fused track holds, as bits (:func:`nation_bits`)."""

    name: str
    t: np.ndarray
    start: np.ndarray
    ids: np.ndarray
    x: np.ndarray
    max_age_s: float
    src: np.ndarray | None = None

    @classmethod
    def from_rows(cls, name: str, t, ids, x, max_age_s: float, src=None) -> Picture:
        """Frames from rows in any order (grouped by their time, stable within a time)."""
        t = np.asarray(t, dtype=float)
        order = np.argsort(t, kind="stable")
        t, x = t[order], np.asarray(x, dtype=float)[order]
        ids = np.asarray(ids, dtype=object).reshape(-1)[order]
        src = None if src is None else np.asarray(src, dtype=np.int64)[order]
        ft, first = np.unique(t, return_index=True)
        return cls(name, ft, np.append(first, len(t)).astype(np.int64), ids, x, float(max_age_s),
                   src)

    @classmethod
    def from_frames(cls, name: str, frames: list, dims: int, max_age_s: float) -> Picture:
        """Frames given as (t, ids, states) each, in time order; empty frames are kept."""
        ts = np.array([f[0] for f in frames], dtype=float)
        n = np.array([len(f[1]) for f in frames], dtype=np.int64)
        ids = np.array([i for f in frames for i in f[1]], dtype=object)
        x = np.concatenate([f[2] for f in frames]) if frames else np.zeros((0, 2 * dims))
        start = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
        return cls(name, ts, start, ids, x.reshape(-1, 2 * dims), float(max_age_s))

    def frame_at(self, grid: np.ndarray) -> np.ndarray:
        """Index of the newest frame at or before each grid time (s), −1 where none or too old."""
        f = np.searchsorted(self.t, grid + 1e-9, side="right") - 1
        ok = f >= 0
        ok[ok] &= grid[ok] - self.t[f[ok]] <= self.max_age_s + 1e-9
        return np.where(ok, f, -1)


def nation_bits(sources, nations: list[str]) -> np.ndarray:
    """(R,) int64: per row of ``sources`` ("NATION:track_id" each), bit i set when it holds a
    report of ``nations[i]``."""
    bit = {n: 1 << i for i, n in enumerate(nations)}
    return np.fromiter(
        (sum({bit.get(k.split(":", 1)[0], 0) for k in row}) for row in sources),
        dtype=np.int64,
        count=len(sources),
    )


def read_picture(path: Path, name: str, dims: int, max_age_s: float,
                 nations: list[str] | None = None) -> Picture:
    """A tracks.jsonl (a node's picture.jsonl) as a :class:`Picture`; with ``nations``, each
    row's source nations as bits over them (:attr:`Picture.src`)."""
    src = [] if nations is not None else None
    t, ids, x, _ = read_states(path, dims, src)
    bits = nation_bits(src, nations) if nations is not None else None
    return Picture.from_rows(name, t, ids, x, max_age_s, bits)


# --------------------------------------------------------------------------- central yardstick


def releasable_sensors(sensors, nation: str) -> list[str]:
    """Ids of the sensors a nation may see: its own and those whose ``releasable_to`` names it."""
    return [
        s.id for s in sensors.sensors if s.nation == nation or nation in (s.releasable_to or ())
    ]


def node_settings(nations, nation: str):
    """The tracker configuration and warning setting the network runner gives a node."""
    from skyweave.node.network import node_configs

    try:
        cfg = node_configs(list(nations), 2.0, True, live=False)[nation]
    except TypeError:  # another signature: the node's own defaults
        from skyweave.node.node import NodeConfig

        cfg = NodeConfig(nation=nation)
    return cfg.tracker, getattr(cfg, "warn", True)


def central_run(folder: str, nation: str, max_age_s: float) -> dict:
    """skyweave's tracker and warner run centrally on the detections ``nation`` may see.

    Returns the picture (every final frame of the tracker; ``max_age_s`` its age limit, s), the
    alert updates (alerts.jsonl dicts), the sensors used and the wall time (s)."""
    from skyweave.node.core import NodeCore
    from skyweave.node.events import AlertUpdated, CallbackSink, LocalPicture
    from skyweave.node.sources import DetectionsFile

    t0 = time.perf_counter()
    folder = Path(folder)
    sensors = load_sensors(folder / "sensors.json")
    allowed = set(releasable_sensors(sensors, nation))
    sub = dataclasses.replace(sensors, sensors=tuple(s for s in sensors.sensors if s.id in allowed))
    tracker, warn = node_settings(sorted({s.nation for s in sensors.sensors}), nation)
    core = NodeCore(sub, tracker, warn=warn if warn else False)
    d = sensors.dims
    frames, alerts = [], []

    def on_picture(ev):
        frames.append(
            (
                float(ev.t),
                [str(i) for i in ev.frame.ids],
                np.array(ev.frame.x[:, : 2 * d], dtype=float),
            )
        )

    core.hub.attach(CallbackSink(on_picture, kinds=(LocalPicture,)))
    core.hub.attach(CallbackSink(lambda ev: alerts.append(ev.alert), kinds=(AlertUpdated,)))
    # the whole file is read with every sensor known, and the lines of the others dropped
    for raw in DetectionsFile(folder / "detections.jsonl", sensors):
        if raw.sensor in allowed:
            core.ingest(raw)
    core.finish()
    core.hub.close()
    return {
        "nation": nation,
        "picture": Picture.from_frames(f"central {nation}", frames, d, max_age_s),
        "alerts": alerts,
        "sensors": sorted(allowed),
        "wall_s": time.perf_counter() - t0,
        "tracker_s": core.tracker_s,
    }


# --------------------------------------------------------------------------- truth and scores


@dataclasses.dataclass(frozen=True)
class TruthGrid:
    """The truth at each grid time ``grid[k]`` (s): ``codes[k]`` (N_k,) dense truth codes (names
    in ``names``), ``pos[k]`` (N_k, dims) positions (m); ``settled`` (K, n_truths) bool."""

    grid: np.ndarray
    codes: list
    pos: list
    names: list
    settled: np.ndarray


def truth_grid(path: Path, dims: int, lead_s: float, t_to: float) -> TruthGrid:
    """The truth of ``path`` on the grid from ``lead_s`` (s) after its first instant to ``t_to``
    (s), with its settled mask."""
    t, ids, x, _ = read_states(path, dims)
    names, code = np.unique(np.asarray(ids, dtype=object), return_inverse=True)
    order = np.argsort(t, kind="stable")
    t, code, x = t[order], code[order], x[order]
    inst, first = np.unique(t, return_index=True)
    bounds = np.append(first, len(t))
    grid = np.arange(math.ceil(inst[0] + lead_s - 1e-9), min(t_to, inst[-1]) + 1e-9, GRID_S)
    codes, pos = [], []
    for g in grid:
        i = int(np.searchsorted(inst, g))
        if i < len(inst) and abs(inst[i] - g) < 1e-6:
            c, s = code[bounds[i] : bounds[i + 1]], x[bounds[i] : bounds[i + 1]]
        else:
            a, b = slice(bounds[i - 1], bounds[i]), slice(bounds[i], bounds[i + 1])
            c, s = interpolate_truth(g, inst[i - 1], code[a], x[a], inst[i], code[b], x[b], dims)
        codes.append(np.asarray(c, dtype=np.int64))
        pos.append(np.asarray(s)[:, :dims])
    close = np.zeros((len(grid), len(names)), dtype=np.int32)
    for k, (c, p) in enumerate(zip(codes, pos)):
        if len(c) > 1:
            pairs = cKDTree(p).query_pairs(SETTLE_M, output_type="ndarray")
            close[k, c[pairs.ravel()]] = 1
    # settled at k: no close pass at any grid time in [g - SETTLE_S, g]
    w = int(round(SETTLE_S / GRID_S)) + 1
    cs = np.cumsum(close, axis=0)
    before = np.concatenate([np.zeros((w, len(names)), dtype=cs.dtype), cs[:-w]])[: len(grid)]
    return TruthGrid(grid, codes, pos, list(names), cs - before == 0)


@dataclasses.dataclass(frozen=True)
class Scored:
    """One picture scored on the grid: per grid time ``gospa`` (m; p = 1), ``gospa2`` (m; p = 2,
    the form of issue 12's table), ``missed`` and ``false`` counts (of the p = 1 assignment);
    the assignments as rows: ``k`` grid index, ``truth`` code, ``track`` id code (−1: no id),
    ``dist`` the truth-to-track distance (m), ``src`` the track's source nations as bits (None
    when the picture does not say)."""

    name: str
    gospa: np.ndarray
    gospa2: np.ndarray
    missed: np.ndarray
    false: np.ndarray
    k: np.ndarray
    truth: np.ndarray
    track: np.ndarray
    dist: np.ndarray
    src: np.ndarray | None = None

    def summary(self) -> dict:
        """Sums and means per instant (per s on the 1 s grid) and the identity changes."""
        n = max(len(self.gospa), 1)
        ch, adj = identity_changes(self)
        return {
            "gospa_sum": float(self.gospa.sum()),
            "gospa_mean": float(self.gospa.sum() / n),
            "gospa2_mean": float(self.gospa2.sum() / n),
            "missed_per_s": float(self.missed.sum() / n),
            "false_per_s": float(self.false.sum() / n),
            "error_m": float(self.dist.mean()) if self.dist.size else float("nan"),
            "identity_changes": ch,
            "identity_changes_adjacent": adj,
            "instants": len(self.gospa),
        }


class IdCodes:
    """Dense integer codes for track ids, shared by every picture ('' is −1: no id)."""

    def __init__(self):
        self.codes: dict[str, int] = {"": -1}

    def unnumbered(self) -> np.ndarray:
        """Per code, whether the id names a fused track that carries no network number: the
        picture file calls it ``NATION-local-<source>`` (:func:`skyweave.node.sinks.fused_text`)."""
        out = np.zeros(len(self.codes) - 1, dtype=bool)
        for name, c in self.codes.items():
            if c >= 0:
                out[c] = UNNUMBERED in name
        return out

    def encode(self, ids) -> np.ndarray:
        c = self.codes
        return np.fromiter(
            (c.setdefault(i, len(c) - 1) for i in ids), dtype=np.int64, count=len(ids)
        )


def score_picture(pic: Picture, truth: TruthGrid, dims: int, codes: IdCodes) -> Scored:
    """GOSPA and its assignment of ``pic`` against the truth at every grid time."""
    fidx = pic.frame_at(truth.grid)
    tid = codes.encode(pic.ids)
    K = len(truth.grid)
    g1, g2 = np.zeros(K), np.zeros(K)
    missed, false = np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64)
    ks, trs, tks, ds, ss = [], [], [], [], []
    empty = np.zeros((0, dims))
    src = pic.src if pic.src is not None else np.zeros(len(pic.ids), dtype=np.int64)
    for k, g in enumerate(truth.grid):
        f = fidx[k]
        if f >= 0:
            a, b = pic.start[f], pic.start[f + 1]
            x = pic.x[a:b]
            y = x[:, :dims] + (g - pic.t[f]) * x[:, dims : 2 * dims]  # carried at constant velocity
            ids, sr = tid[a:b], src[a:b]
        else:
            y, ids, sr = empty, tid[:0], src[:0]
        r = gospa(truth.pos[k], y, C_M, P)
        g1[k], missed[k], false[k] = r.gospa, r.n_missed, r.n_false
        g2[k] = gospa(truth.pos[k], y, C_M, 2.0).gospa
        asg = r.assignment
        ks.append(np.full(len(asg), k, dtype=np.int64))
        trs.append(truth.codes[k][asg.rows])
        tks.append(ids[asg.cols])
        ss.append(sr[asg.cols])
        ds.append(asg.dist)

    def cat(a, dtype=np.int64):
        return np.concatenate(a).astype(dtype) if a else np.zeros(0, dtype=dtype)

    return Scored(pic.name, g1, g2, missed, false, cat(ks), cat(trs), cat(tks), cat(ds, float),
                  cat(ss) if pic.src is not None else None)


def identity_changes(s: Scored) -> tuple[int, int]:
    """(changes, adjacent changes): per truth, an assigned track id different from the one at its
    previous assigned grid time; adjacent: only where the two grid times are neighbours."""
    order = np.lexsort((s.k, s.truth))
    tr, k, tk = s.truth[order], s.k[order], s.track[order]
    chg = (tr[1:] == tr[:-1]) & (tk[1:] != tk[:-1])
    return int(chg.sum()), int((chg & (k[1:] == k[:-1] + 1)).sum())


def agreement(a: Scored, b: Scored, settled: np.ndarray) -> tuple[float, int]:
    """Share of (grid time, settled truth) to which both pictures assign a numbered track where
    the two tracks carry the same number, and how many such pairs there were (NaN if none)."""
    nt = settled.shape[1]
    ka, kb = a.k * nt + a.truth, b.k * nt + b.truth
    _, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    ok = settled[a.k[ia], a.truth[ia]] & (a.track[ia] >= 0) & (b.track[ib] >= 0)
    n = int(ok.sum())
    return (float((a.track[ia][ok] == b.track[ib][ok]).mean()) if n else float("nan")), n


def unnumbered_disagreements(a: Scored, b: Scored, settled: np.ndarray, unnumbered) -> int:
    """Of the pairs :func:`agreement` finds under different ids, how many have a track without a
    network number on either side (``unnumbered``: per id code, :meth:`IdCodes.unnumbered`)."""
    nt = settled.shape[1]
    _, ia, ib = np.intersect1d(
        a.k * nt + a.truth, b.k * nt + b.truth, assume_unique=True, return_indices=True
    )
    ta, tb = a.track[ia], b.track[ib]
    ok = settled[a.k[ia], a.truth[ia]] & (ta >= 0) & (tb >= 0) & (ta != tb)
    return int((unnumbered[ta[ok]] | unnumbered[tb[ok]]).sum())


def apart_disagreements(scored: dict, nations: list[str], settled: np.ndarray) -> dict:
    """Per pair of nations "A-B", how many of the pairs :func:`agreement` finds under different
    ids concern an object that two nations track *apart*: each one's fused track holds its own
    report only (their markings let neither hear the other, and no partner reports the object
    to either). Such two nodes name the object each from its own block, and no rule that uses
    only the reports can make them agree: a third nation that hears both can side with one of
    them only. Counted are the differing pairs at an instant where two such pictures differ on
    that object (the two, or a third nation siding with one). Needs the pictures' sources
    (:attr:`Scored.src`); {} without."""
    if any(scored[n].src is None for n in nations):
        return {}
    nt = settled.shape[1]
    bit = {n: 1 << i for i, n in enumerate(nations)}
    diff, apart = {}, set()
    for i, a in enumerate(nations):
        for b in nations[i + 1 :]:
            A, B = scored[a], scored[b]
            _, ia, ib = np.intersect1d(
                A.k * nt + A.truth, B.k * nt + B.truth, assume_unique=True, return_indices=True
            )
            ta, tb = A.track[ia], B.track[ib]
            ok = settled[A.k[ia], A.truth[ia]] & (ta >= 0) & (tb >= 0) & (ta != tb)
            key = (A.k[ia] * nt + A.truth[ia])[ok]
            sa, sb = A.src[ia][ok], B.src[ib][ok]
            cut = (sa == bit[a]) & (sb == bit[b])
            diff[f"{a}-{b}"] = key
            apart.update(key[cut].tolist())
    if not apart:
        return {k: 0 for k in diff}
    lost = np.fromiter(apart, dtype=np.int64)
    return {k: int(np.isin(v, lost).sum()) for k, v in diff.items()}


# --------------------------------------------------------------------------- warnings


def launches_in(folder: Path, until: float) -> list[dict]:
    """The ballistic targets of targets.json launched at or before ``until`` (s)."""
    return [
        d
        for d in json.loads((folder / "targets.json").read_text())
        if d.get("type") == "ballistic" and d["launch"]["t"] <= until
    ]


def read_alerts(path: Path) -> list[dict]:
    """The alert updates of an alerts.jsonl (lines that are no alert update skipped)."""
    out = []
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        try:
            u = json.loads(line)
        except ValueError:
            continue
        if isinstance(u, dict) and "alert_id" in u and "t" in u:
            out.append(u)
    return out


def match_alerts(updates: list[dict], launches: list[dict]) -> dict[str, str | None]:
    """alert id -> the launch it warns of, or None (see the module docstring)."""
    if not updates or not launches:
        return {u["alert_id"]: None for u in updates}
    truth_of = dict(score_alerts(updates, launches).alerts)
    first_launch: dict[str, dict] = {}
    for u in updates:
        la = u.get("launch") or {}
        if (
            u["alert_id"] not in first_launch
            and la.get("lat") is not None
            and la.get("t") is not None
        ):
            first_launch[u["alert_id"]] = la
    for aid, t in truth_of.items():
        la = first_launch.get(aid)
        if t is not None or la is None:
            continue
        for tr in launches:
            d_m = great_circle_m(la["lat"], la["lon"], tr["launch"]["lat"], tr["launch"]["lon"])
            if d_m <= LAUNCH_MATCH_KM * 1000 and abs(la["t"] - tr["launch"]["t"]) <= LAUNCH_MATCH_S:
                truth_of[aid] = tr["id"]
                break
    return truth_of


def first_warning(updates: list[dict], match: dict, launch_id: str) -> float | None:
    """Time (s) of the first update of any alert matched to ``launch_id``; None if none."""
    ts = [u["t"] for u in updates if match.get(u["alert_id"]) == launch_id]
    return float(min(ts)) if ts else None


def ended_merged(updates: list[dict]) -> set[str]:
    """Alert ids whose last update says they joined another alert."""
    last: dict[str, dict] = {}
    for u in updates:
        last[u["alert_id"]] = u
    return {
        a
        for a, u in last.items()
        if u.get("status") == "merged"
        or (u.get("status") == "closed" and u.get("reason") == "merged")
    }


def score_warnings(folder: Path, nations: list[str], centrals: dict, until: float) -> dict:
    """First warning of each launch per nation, central against fused; alert ids per launch."""
    launches = launches_in(folder, until)
    fused = {n: read_alerts(folder / n / "alerts.jsonl") for n in nations}
    rows, met, false = {}, {}, {}
    ids: dict[str, set] = {ln["id"]: set() for ln in launches}
    merged = set().union(*(ended_merged(u) for u in fused.values()))
    for n in nations:
        mc = match_alerts(centrals[n]["alerts"], launches)
        mf = match_alerts(fused[n], launches)
        # alerts that warn of no launch (an aircraft taken for a missile): fused / central
        false[n] = [sum(v is None for v in mf.values()), sum(v is None for v in mc.values())]
        for aid, lid in mf.items():
            if lid is not None and aid not in merged:
                ids[lid].add(aid)
        rows[n] = []
        for ln in launches:
            c = first_warning(centrals[n]["alerts"], mc, ln["id"])
            f = first_warning(fused[n], mf, ln["id"])
            delay = (f - c) if (c is not None and f is not None) else None
            ok = None if c is None else (delay is not None and delay <= GOAL_DELAY_S)
            rows[n].append(
                {
                    "launch": ln["id"],
                    "launch_t": ln["launch"]["t"],
                    "central_first_t": c,
                    "fused_first_t": f,
                    "delay_s": delay,
                    "missed": c is not None and f is None,
                    "met": ok,
                }
            )
        met[n] = all(r["met"] is not False for r in rows[n])
    per_launch = {lid: sorted(v) for lid, v in ids.items()}
    return {
        "launches": [ln["id"] for ln in launches],
        "per_nation": rows,
        "met": met,
        "alert_ids": per_launch,
        "ids_met": all(len(v) == 1 for v in per_launch.values()),
        "fused_alerts": {n: len({u["alert_id"] for u in fused[n]}) for n in nations},
        "central_alerts": {n: len({u["alert_id"] for u in centrals[n]["alerts"]}) for n in nations},
        "false_alerts": false,
    }


# --------------------------------------------------------------------------- runs


def network_run(
    out: Path,
    seed: int,
    duration: float,
    *,
    responsibility: bool = True,
    nats: str | None = None,
    speed: float = 1.0,
) -> subprocess.Popen:
    """Start ``skyweave network run`` into ``out`` (a subprocess; its --json summary on stdout)."""
    cmd = [
        sys.executable,
        "-m",
        "skyweave.cli.main",
        "network",
        "run",
        SCENARIO,
        "--seed",
        str(seed),
        "--duration",
        f"{duration:g}",
        "--out",
        str(out),
        "--json",
    ]
    if not responsibility:
        cmd.append("--no-responsibility")
    if nats is not None:
        cmd += ["--nats", nats, "--processes", "--speed", f"{speed:g}"]
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )


def finish_run(proc: subprocess.Popen, what: str) -> dict:
    """Wait for a :func:`network_run` and return its summary (RuntimeError if it failed)."""
    so, se = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what}: skyweave network run failed ({proc.returncode}): {se.strip()[-2000:]}"
        )
    lines = [x for x in so.splitlines() if x.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def run_nations(folder: Path) -> list[str]:
    """The nations of a finished run: the folders holding a picture.jsonl."""
    return sorted(p.name for p in folder.iterdir() if (p / "picture.jsonl").is_file())


def report_interval(folder: Path, nation: str) -> float:
    """A node's report interval (s) from its node.yaml (2 s if not given)."""
    try:
        cfg = yaml.safe_load((folder / nation / "node.yaml").read_text()) or {}
        return float(cfg.get("report_interval_s", 2.0))
    except (OSError, yaml.YAMLError, ValueError, TypeError, AttributeError):
        return 2.0


def detections_key(folder: Path) -> str:
    """A digest of a run's sensors.json and detections.jsonl (equal keys: the same centrals)."""
    h = hashlib.sha1()
    for name in ("sensors.json", "detections.jsonl"):
        with open(folder / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def centrals_for(folder: Path, nations: list[str], max_age: dict, jobs: int) -> dict:
    """The central runs of every nation on ``folder``'s detections, ``jobs`` at a time."""
    if jobs <= 1:
        return {n: central_run(str(folder), n, max_age[n]) for n in nations}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futs = {n: pool.submit(central_run, str(folder), n, max_age[n]) for n in nations}
        return {n: f.result() for n, f in futs.items()}


# --------------------------------------------------------------------------- scoring a run


def score_run(folder: Path, centrals: dict, label: str) -> dict:
    """Every figure of one finished network run against its central yardsticks (plain data)."""
    t0 = time.perf_counter()
    dims = load_sensors(folder / "sensors.json").dims
    nations = run_nations(folder)
    fused = {
        n: read_picture(
            folder / n / "picture.jsonl",
            f"fused {n}",
            dims,
            report_interval(folder, n) + 1.0,
            nations,
        )
        for n in nations
    }
    pics = [*fused.values(), *(centrals[n]["picture"] for n in nations)]
    # from the first instant every node should have written a picture (one report interval in)
    lead = max((report_interval(folder, n) for n in nations), default=0.0)
    t_to = max((p.t[-1] for p in pics if len(p.t)), default=0.0)
    truth = truth_grid(folder / "truth.jsonl", dims, lead, t_to)
    t_read = time.perf_counter() - t0
    codes = IdCodes()
    sf = {n: score_picture(fused[n], truth, dims, codes) for n in nations}
    sc = {n: score_picture(centrals[n]["picture"], truth, dims, codes) for n in nations}
    t_score = time.perf_counter() - t0 - t_read
    per = {}
    for n in nations:
        f, c = sf[n].summary(), sc[n].summary()
        fi, ci = f["identity_changes"], c["identity_changes"]
        per[n] = {
            "sensors": centrals[n]["sensors"],
            "fused": f,
            "central": c,
            "gospa_ratio": f["gospa_sum"] / c["gospa_sum"] if c["gospa_sum"] > 0 else float("nan"),
            "gospa2_ratio": f["gospa2_mean"] / c["gospa2_mean"]
            if c["gospa2_mean"] > 0
            else float("nan"),
            "ids_ratio": fi / ci if ci else (1.0 if not fi else float("inf")),
            "gospa_met": bool(f["gospa_sum"] <= GOAL_GOSPA * c["gospa_sum"]),
            "ids_met": bool(fi <= GOAL_IDS * ci),
        }
    agree = {}
    unnumbered = codes.unnumbered()
    apart = apart_disagreements(sf, nations, truth.settled)
    for i, a in enumerate(nations):
        for b in nations[i + 1 :]:
            share, n = agreement(sf[a], sf[b], truth.settled)
            agree[f"{a}-{b}"] = {
                "share": share,
                "pairs": n,
                "differ": int(round((1.0 - share) * n)) if n else 0,
                "differ_unnumbered": unnumbered_disagreements(
                    sf[a], sf[b], truth.settled, unnumbered
                ),
                "differ_apart": apart.get(f"{a}-{b}"),
                "met": bool(n == 0 or share >= GOAL_AGREE),
            }
    t_end = float(truth.grid[-1]) if len(truth.grid) else 0.0
    warn = score_warnings(folder, nations, centrals, t_end)
    present = [truth.settled[k, c].mean() for k, c in enumerate(truth.codes) if len(c)]
    pacing = pacing_lag(folder, nations)
    # a picture file that stops before the run does (a node that failed, a sink that gave up)
    short = {
        n: float(fused[n].t[-1]) if len(fused[n].t) else None
        for n in nations
        if not len(fused[n].t) or fused[n].t[-1] < t_end - fused[n].max_age_s
    }
    return {
        "label": label,
        "folder": str(folder),
        "nations": nations,
        "dims": dims,
        "grid": [float(truth.grid[0]), t_end, len(truth.grid)] if len(truth.grid) else [],
        "truths_per_s": float(np.mean([len(c) for c in truth.codes])) if truth.codes else 0.0,
        "settled_share": float(np.mean(present)) if present else float("nan"),
        "per_nation": per,
        "agreement": agree,
        "warnings": warn,
        "pacing_lag": pacing,
        "pictures_end_early": short,
        "stage_s": {
            "read": t_read,
            "score": t_score,
            "agreement and warnings": time.perf_counter() - t0 - t_read - t_score,
        },
    }


def pacing_lag(folder: Path, nations: list[str]) -> dict:
    """How far behind the wall clock each node process ingested its own scans (a paced run over
    NATS, from its timing.jsonl): per nation p50, p99 and max of wall − (start + t / speed), in
    wall seconds, the p99 in scenario seconds, and whether that exceeds the age limit of a
    picture (report interval + 1 s): then the node's pace, not its method, shapes its figures;
    {} for a run without timing files."""
    out = {}
    for n in nations:
        tp, cp = folder / n / "timing.jsonl", folder / n / "node.yaml"
        if not (tp.is_file() and cp.is_file()):
            continue
        cfg = yaml.safe_load(cp.read_text()) or {}
        if "start_wall" not in cfg:
            continue
        start, speed = float(cfg["start_wall"]), float(cfg.get("speed", 1.0))
        lag = []
        with open(tp) as f:
            for line in f:
                row = json.loads(line)
                if row and row[0] == "scan":
                    lag.append(row[2] - (start + row[1] / speed))
        if lag:
            q = np.percentile(lag, [50, 99])
            behind = float(q[1]) * speed
            limit = float(cfg.get("report_interval_s", 2.0)) + 1.0
            out[n] = {
                "p50_s": float(q[0]),
                "p99_s": float(q[1]),
                "max_s": float(max(lag)),
                "scans": len(lag),
                "speed": speed,
                "p99_scenario_s": behind,
                "too_slow": behind > limit,
            }
    return out


def bytes_table(with_dir: Path, without_dir: Path | None, duration: float) -> dict:
    """Per nation, the sending counters of status.json per second of scenario (``duration``, s),
    with and without reporting responsibility, and the share of bytes responsibility saves."""
    out = {}
    for n in run_nations(with_dir):
        row = {}
        for key, d in (("with", with_dir), ("without", without_dir)):
            p = d / n / "status.json" if d is not None else None
            if p is None or not p.is_file():
                continue
            st = json.loads(p.read_text())
            row[key] = {
                k: st[k] / duration
                for k in ("bytes_out", "frames_out", "reports_out", "alerts_out")
                if isinstance(st.get(k), (int, float))
            }
        w, wo = row.get("with", {}).get("bytes_out"), row.get("without", {}).get("bytes_out")
        row["saving"] = (1.0 - w / wo) if (w is not None and wo) else None
        out[n] = row
    return out


def goals_met(r: dict) -> bool:
    """Every goal of one scored run."""
    w = r["warnings"]
    return (
        all(p["gospa_met"] and p["ids_met"] for p in r["per_nation"].values())
        and all(w["met"].values())
        and w["ids_met"]
        and all(v["met"] for v in r["agreement"].values())
        and not r.get("pictures_end_early")
    )


# --------------------------------------------------------------------------- the command


def build_parser() -> argparse.ArgumentParser:
    """The command's options (see the module docstring)."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a short run (300 s); no run without responsibility unless --bytes",
    )
    ap.add_argument("--seed", type=int, default=6, help="scenario seed (default 6)")
    ap.add_argument(
        "--duration",
        type=float,
        default=None,
        help="scenario seconds (default 1200; 300 with --quick)",
    )
    ap.add_argument(
        "--bytes",
        action="store_true",
        help="also run without reporting responsibility (always in full mode)",
    )
    ap.add_argument(
        "--nats",
        action="store_true",
        help="also run over a real nats-server, one node process per nation",
    )
    ap.add_argument(
        "--speed",
        type=float,
        default=None,
        help=f"NATS run pacing (× real time; default duration / {NATS_WALL_S:.0f} s, at least 1)",
    )
    ap.add_argument(
        "--jobs", type=int, default=2, help="processes for the central runs (default 2)"
    )
    ap.add_argument("--keep", type=Path, default=None, help="keep the run folders here")
    ap.add_argument(
        "--score",
        type=Path,
        default=None,
        metavar="DIR",
        help="only score this finished `skyweave network run` folder",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return ap


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    result = run(a)
    if a.json:
        print(json.dumps(plain(result), allow_nan=False))
    else:
        print("\n".join(render(result)))
    return 0


def plain(o):
    """``o`` as strict JSON data: numpy scalars as Python ones, NaN and infinities as None."""
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [plain(v) for v in o]
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return str(o)


def _network_runs(a, tmp: Path, duration: float, say, stages: dict, info: dict) -> dict[str, Path]:
    """The network runs the options ask for; returns their folders by label."""
    runs = {}
    t0 = time.perf_counter()
    procs = {"in-process": (tmp / "inprocess", network_run(tmp / "inprocess", a.seed, duration))}
    if a.bytes or not a.quick:
        d = tmp / "inprocess-noresp"
        procs["no-responsibility"] = (d, network_run(d, a.seed, duration, responsibility=False))
    say(f"network runs ({', '.join(procs)}), {duration:.0f} s of {SCENARIO} seed {a.seed} ...")
    info["network_wall_s"] = {k: finish_run(p, k).get("wall_s") for k, (_, p) in procs.items()}
    stages["network runs (in process; side by side)"] = time.perf_counter() - t0
    runs.update({k: d for k, (d, _) in procs.items()})
    if not a.nats:
        return runs
    from tests.support.natsserver import NatsServer, nats_server_binary

    if nats_server_binary() is None:
        say("--nats: nats-server is not installed (scripts/services.sh): NATS run skipped")
        info["nats_skipped"] = "nats-server not installed"
        return runs
    speed = a.speed or max(1.0, duration / NATS_WALL_S)
    info["nats_speed"] = speed
    say(
        f"NATS run: one node process per nation over nats-server at {speed:g}× real time "
        f"(about {duration / speed:.0f} s of wall time) ..."
    )
    t0 = time.perf_counter()
    server = NatsServer(tmp / "nats-js").start()
    try:
        s = finish_run(
            network_run(tmp / "nats", a.seed, duration, nats=server.url, speed=speed), "nats"
        )
    finally:
        server.stop()
    info["network_wall_s"]["nats"] = s.get("wall_s")
    stages[f"NATS run ({speed:g}× real time)"] = time.perf_counter() - t0
    runs["nats"] = tmp / "nats"
    return runs


def run(a) -> dict:
    """Run and score as the options ``a`` say (:func:`build_parser`); returns every figure."""
    stages: dict[str, float] = {}
    say = (
        (lambda m: print(m, file=sys.stderr, flush=True))
        if a.json
        else (lambda m: print(m, flush=True))
    )
    info = {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
    }
    tmp, duration = None, None
    if a.score is not None:
        runs = {"given": a.score}
    else:
        duration = a.duration or (300.0 if a.quick else 1200.0)
        tmp = Path(tempfile.mkdtemp(prefix="bench-parity-")) if a.keep is None else a.keep
        tmp.mkdir(parents=True, exist_ok=True)
        info.update(seed=a.seed, duration=duration, quick=a.quick, folders=str(tmp))
    try:
        if a.score is None:
            runs = _network_runs(a, tmp, duration, say, stages, info)
        centrals: dict[str, dict] = {}
        results = []
        for label, folder in runs.items():
            if label == "no-responsibility":
                continue
            nations = run_nations(folder)
            key = detections_key(folder)
            if key not in centrals:
                say(f"central runs of {', '.join(nations)} on {folder} ...")
                t0 = time.perf_counter()
                max_age = {n: report_interval(folder, n) + 1.0 for n in nations}
                centrals[key] = centrals_for(folder, nations, max_age, a.jobs)
                stages[f"central runs ({len(nations)} nations, {a.jobs} processes)"] = (
                    time.perf_counter() - t0
                )
            t0 = time.perf_counter()
            results.append(score_run(folder, centrals[key], label))
            stages[f"scoring {label}"] = time.perf_counter() - t0
        if duration is None:
            duration = results[0]["grid"][1] if results and results[0]["grid"] else 1.0
        base = runs.get("in-process", runs.get("given"))
        by = (
            bytes_table(base, runs.get("no-responsibility"), duration) if base is not None else None
        )
        central_wall = {n: c["wall_s"] for cs in centrals.values() for n, c in cs.items()}
    finally:
        if a.keep is None and tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "info": info,
        "duration": duration,
        "runs": results,
        "bytes": by,
        "stages_s": stages,
        "central_wall_s": central_wall,
        "all_goals_met": all(goals_met(r) for r in results),
    }


# --------------------------------------------------------------------------- report


def fmt(v, spec=",.0f", none="—") -> str:
    """A figure for a table: ``none`` for None or NaN, ∞ for an infinity."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return none
    if isinstance(v, float) and math.isinf(v):
        return "∞"
    return format(v, spec)


def verdict(ok) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def report_run(r: dict) -> list[str]:
    """Markdown tables of one scored run."""
    g = r["grid"]
    out = [f"## {r['label']}: {r['folder']}\n"]
    if g:
        out.append(
            f"grid {g[0]:.0f}–{g[1]:.0f} s ({g[2]} instants), {r['truths_per_s']:.1f} truths per "
            f"instant, {r['settled_share']:.0%} of them settled; GOSPA c = {C_M / 1000:g} km, "
            f"p = {P:g}, 3-D positions\n"
        )
    out += [
        "| nation | sensors (central) | GOSPA fused | central | **ratio** (goal ≤ 1.10) "
        "| mean per s fused / central | missed/s fused / central | false/s fused / central "
        "| error of assigned tracks (m) fused / central "
        "| identity changes fused / central (adjacent) | **ratio** (goal ≤ 1.5) "
        "| p = 2: mean fused / central, ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in r["nations"]:
        p = r["per_nation"][n]
        f, c = p["fused"], p["central"]
        out.append(
            f"| {n} | {len(p['sensors'])} | {fmt(f['gospa_sum'])} | {fmt(c['gospa_sum'])} | "
            f"**{fmt(p['gospa_ratio'], '.3f')}×** {verdict(p['gospa_met'])} | "
            f"{fmt(f['gospa_mean'])} / {fmt(c['gospa_mean'])} | "
            f"{fmt(f['missed_per_s'], '.1f')} / {fmt(c['missed_per_s'], '.1f')} | "
            f"{fmt(f['false_per_s'], '.1f')} / {fmt(c['false_per_s'], '.1f')} | "
            f"{fmt(f['error_m'])} / {fmt(c['error_m'])} | "
            f"{f['identity_changes']} / {c['identity_changes']} "
            f"({f['identity_changes_adjacent']} / {c['identity_changes_adjacent']}) | "
            f"**{fmt(p['ids_ratio'], '.2f')}×** {verdict(p['ids_met'])} | "
            f"{fmt(f['gospa2_mean'])} / {fmt(c['gospa2_mean'])}, {fmt(p['gospa2_ratio'], '.2f')}× |"
        )
    if r.get("pictures_end_early"):
        out.append(
            "\n**picture.jsonl ends before the run**: "
            + ", ".join(
                f"{n} at {fmt(t, '.0f', 'the start')} s" for n, t in r["pictures_end_early"].items()
            )
            + f" (the run ends at {g[1]:.0f} s): the node stopped or its file sink failed"
        )
    if r.get("pacing_lag"):
        out.append(
            "\nnode processes behind the wall clock at their own scans (p50 / p99 / max, "
            "s of wall time): "
            + ", ".join(
                f"{n} {v['p50_s']:.2f} / {v['p99_s']:.2f} / {v['max_s']:.2f}"
                for n, v in r["pacing_lag"].items()
            )
        )
        slow = [n for n, v in r["pacing_lag"].items() if v.get("too_slow")]
        if slow:
            out.append(
                f"**{', '.join(slow)} fell behind the pace** (p99 more than a picture's age limit "
                "in scenario time): their figures, and their partners', measure the CPU as much as "
                "the method; run slower (--speed) to tell them apart"
            )
    w = r["warnings"]
    out.append("")
    if w["launches"]:
        out.append(
            "First warning of each launch (s of scenario time; delay = fused − central; goal ≤ 5 s "
            "for every launch the central warner warns that nation of):\n"
        )
        out.append(
            "| nation | "
            + " | ".join(f"{lid} central / fused / delay" for lid in w["launches"])
            + " | goal |"
        )
        out.append("|---|" + "---|" * (len(w["launches"]) + 1))
        for n in r["nations"]:
            cells = []
            for x in w["per_nation"][n]:
                d = (
                    fmt(x["delay_s"], "+.1f")
                    if x["delay_s"] is not None
                    else ("**missed**" if x["missed"] else "—")
                )
                cells.append(
                    f"{fmt(x['central_first_t'], '.1f')} / {fmt(x['fused_first_t'], '.1f')} / {d}"
                )
            out.append(f"| {n} | " + " | ".join(cells) + f" | {verdict(w['met'][n])} |")
        listed = "; ".join(
            f"{lid}: {len(v)} ({', '.join(v[:8])}{', ...' if len(v) > 8 else ''})"
            for lid, v in w["alert_ids"].items()
        )
        out.append(
            f"\nalert ids per launch over all nations' alerts.jsonl (merged ones left out; goal 1 "
            f"each): {listed} — {verdict(w['ids_met'])}"
        )
        out.append(
            "distinct alert ids per nation, fused / central: "
            + ", ".join(
                f"{n} {w['fused_alerts'][n]} / {w['central_alerts'][n]} "
                f"(of no launch {w['false_alerts'][n][0]} / {w['false_alerts'][n][1]})"
                for n in r["nations"]
            )
        )
    else:
        out.append("no launch within the run: warnings not scored")
    pairs = ", ".join(
        f"{k} {fmt(100 * v['share'], '.1f')} % of {v['pairs']:,}" for k, v in r["agreement"].items()
    )
    out.append(
        f"\nagreement of network track numbers on settled truths both pictures track (goal 100 %): "
        f"{pairs} — {verdict(all(v['met'] for v in r['agreement'].values()))}"
    )
    out.append(
        "pairs under different ids, of them with a track without a network number on one side: "
        + ", ".join(
            f"{k} {v['differ']:,} ({v['differ_unnumbered']:,})" for k, v in r["agreement"].items()
        )
    )
    if any(v.get("differ_apart") is not None for v in r["agreement"].values()):
        out.append(
            "of them on an object two nations track apart (each picture holds its own report "
            "only: no rule on the reports can agree them): "
            + ", ".join(f"{k} {fmt(v.get('differ_apart'), ',d')}" for k, v in r["agreement"].items())
        )
    out.append("")
    return out


def report_bytes(b: dict, duration: float) -> list[str]:
    """Markdown table of the bytes each nation sent, with and without responsibility."""
    out = [
        f"## Bytes on the wire per nation (signed frames sent, status.json; per s of the "
        f"{duration:.0f} s run)\n",
        "| nation | bytes/s with responsibility | without | saving | frames/s with / without "
        "| reports/s with / without |",
        "|---|---|---|---|---|---|",
    ]
    for n, row in b.items():
        w, wo = row.get("with", {}), row.get("without", {})
        out.append(
            f"| {n} | {fmt(w.get('bytes_out'))} | {fmt(wo.get('bytes_out'))} | "
            f"{fmt(row['saving'], '.0%')} | {fmt(w.get('frames_out'), '.1f')} / "
            f"{fmt(wo.get('frames_out'), '.1f')} | {fmt(w.get('reports_out'), '.1f')} / "
            f"{fmt(wo.get('reports_out'), '.1f')} |"
        )
    tw = sum(r.get("with", {}).get("bytes_out", 0) for r in b.values())
    two = sum(r.get("without", {}).get("bytes_out", 0) for r in b.values())
    if two:
        out.append(
            f"\nall nations: {tw:,.0f} B/s with, {two:,.0f} B/s without: responsibility saves "
            f"{1 - tw / two:.0%}"
        )
    out.append("")
    return out


def render(res: dict) -> list[str]:
    """The whole result as markdown text."""
    i = res["info"]
    head = f"# bench_parity  {i['started']}  python {i['python']}  {i['cores']} cores"
    if "seed" in i:
        head += (
            f"  {SCENARIO} seed {i['seed']}, {i['duration']:.0f} s{'  quick' if i['quick'] else ''}"
        )
    out = [head + "\n"]
    if i.get("nats_speed"):
        out.append(
            f"NATS run: one `skyweave node` process per nation, paced at {i['nats_speed']:g}× real "
            f"time\n"
        )
    for r in res["runs"]:
        out += report_run(r)
    if res["bytes"]:
        out += report_bytes(res["bytes"], res["duration"])
    out.append("## Wall time per stage (s)\n")
    out += [f"- {k}: {v:.1f}" for k, v in res["stages_s"].items()]
    if i.get("network_wall_s"):
        out.append(
            "- network runs as they report it: "
            + ", ".join(f"{k} {fmt(v, '.1f')}" for k, v in i["network_wall_s"].items())
        )
    out.append(
        "- central run per nation: "
        + ", ".join(f"{n} {v:.1f}" for n, v in res["central_wall_s"].items())
    )
    out.append(
        "\n" + ("all goals met" if res["all_goals_met"] else "some goals not met (see above)")
    )
    return out


if __name__ == "__main__":
    sys.exit(main())
