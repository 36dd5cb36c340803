"""Tracker against Stone Soup 1.9 over cases x seeds: accuracy on the same files, and whole-process speed (issues 3, 13).

    python benchmarks/bench_tracker.py [--cases CASE ...] [--seeds 1 2 3] [--skyweave-args "--model imm"]
        [--stonesoup run|cached|off] [--no-stonesoup] [--refresh] [--why-false] [--timing] [--json OUT.json]

For every case and seed the input files (sensors.json, detections.jsonl, truth.jsonl) are written
once into a temporary folder, and both trackers read the same files:

- skyweave as the user runs it: ``skyweave track --sensors S --detections D --out T --json``
  plus ``--skyweave-args`` (e.g. ``"--model imm"``, ``"--tracker jpda"``, ``"--config c.yaml"``),
  a subprocess started from the case's folder;
- Stone Soup 1.9 through ``benchmarks/stonesoup_runner.py`` (its default composition: EKF, CV
  q = 120 m²/s³, Mahalanobis gate 4, GNN 2-D assignment, 3-point confirmation, deletion after 5
  missed steps; on clutter-1000 its kd-tree pre-gated GNN, which writes the same tracks), also a
  subprocess.

Both tracks files are scored by skyweave's scorer (:func:`skyweave.node.score_files.score_files`,
GOSPA c = 1000 m, p = 1, alpha = 2 at every track time and truth instant).

Cases (default: all; scenario seconds):

- ``clutter-10`` 300 s, ``clutter-100`` 120 s, ``clutter-1000`` 20 s: skyweave's clutter family
  (``skyweave simulate``: two radars, Pd 0.9, 10 false alarms per scan each);
- ``manoeuvring-100`` 120 s: 6 deg/s turns at 200-300 m/s;
- ``flights`` 120 s: independent (``benchmarks/make_flights.py``): 130 real ADS-B flights
  around Paris (``traffic``'s sample), re-timed (its whole-second time stamps removed: the
  writer's ``smooth`` truth), time-shifted to fly at once (about 120 at a time), under two
  simulated radars out of phase (Pd 0.9 / 0.85, 10 / 8 false alarms per scan); 2-D;
- ``independent-3d`` 120 s: independent (``benchmarks/make_independent_3d.py``): 100 targets
  near sea level, a 3-D sensors file whose two radars measure no elevation. skyweave tracks the
  3-D file and its tracks are scored horizontally (``z``, ``vz``, ``cov`` left out) against the
  2-D truth, as nothing measures altitude; Stone Soup (2-D only) tracks the 2-D reading of the
  same detections (the same detections.jsonl).

Stone Soup cache. Stone Soup takes about a minute per 100-target run, so its tracks.jsonl and
summary are kept under ``benchmarks/.cache/stonesoup/`` keyed by the SHA-256 of sensors.json and
detections.jsonl, its configuration, its version and :data:`CACHE_VERSION`: a rerun of
skyweave with other settings takes seconds. ``--stonesoup run`` (default) uses the cache and
fills what is missing; ``cached`` uses the cache only (cases without an entry show no Stone Soup
figures); ``off`` (or ``--no-stonesoup``) runs skyweave alone; ``--refresh`` reruns Stone Soup
and replaces its entries. Scores are always recomputed from the tracks files.

Columns (means over scored instants, metres): GOSPA and its localisation, missed and false parts;
``false/inst``: tracks matched to no target per instant; ``ID ch.``: SIAP identity changes;
``RMSE``: position RMSE over GOSPA-assigned pairs; ``sw/SS``: skyweave's GOSPA over Stone
Soup's, minus 1 (negative is better). ``--why-false`` adds where skyweave's and Stone Soup's
unmatched tracks come from, per instant (see :func:`false_track_origins`).

``--timing``: whole process on clutter-100 (first seed), command line to exit: ``skyweave track``
and ``stonesoup_runner.py`` as subprocesses, 3 paired runs (one of each in turn), medians and their
ratio. With ``--stonesoup cached`` only skyweave runs, against Stone Soup's last paired timings
kept in the cache (about 3 minutes saved; say so when quoting the ratio).

Goals (issue 13): skyweave's GOSPA at least 3 % below Stone Soup's, averaged over the seeds, on
every case of 100 targets or more, and no worse on any single seed or case; identity changes no
more than Stone Soup's; whole process at least 50x faster on clutter-100.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from skyweave.cli.common import resolve_scenario  # noqa: E402
from skyweave.node.score_files import score_files  # noqa: E402
from skyweave.node.simulate import run_simulation  # noqa: E402

GOSPA_C_M = 1000.0
GOSPA_P = 1.0
GOSPA_GOAL = 0.03  #: skyweave's mean GOSPA at least this much below Stone Soup's (cases of >= 100 targets)
SPEED_GOAL = 50.0
CACHE_VERSION = 1  #: bump when stonesoup_runner.py's tracking changes: old cache entries are then ignored
CACHE_DIR = HERE / ".cache" / "stonesoup"
RUNNER = HERE / "stonesoup_runner.py"
TIMING_RUNS = 3

SCORE_KEYS = (
    "gospa_mean", "gospa_localisation_p_mean", "gospa_missed_p_mean", "gospa_false_p_mean",
    "false_per_instant", "missed_per_instant", "tracks_per_instant", "truths_per_instant",
    "siap_id_changes", "rmse_position_m", "siap_completeness", "instants",
)


@dataclass(frozen=True)
class Case:
    """A benchmark case: how its files are written, and Stone Soup's runner options on it."""

    name: str
    kind: str  # "sim" (skyweave simulate), "flights" (make_flights.py), "ind3d" (make_independent_3d.py)
    duration_s: float
    targets: int
    scenario: str = ""
    stonesoup_args: tuple = ()


CASES = (
    Case("clutter-10", "sim", 300.0, 10, "clutter-10"),
    Case("clutter-100", "sim", 120.0, 100, "clutter-100"),
    Case("manoeuvring-100", "sim", 120.0, 100, "manoeuvring-100"),
    Case("clutter-1000", "sim", 20.0, 1000, "clutter-1000", ("--associator", "kdtree")),
    Case("flights", "flights", 120.0, 130),
    Case("independent-3d", "ind3d", 120.0, 100),
)
CASE_BY_NAME = {c.name: c for c in CASES}


@dataclass(frozen=True)
class Files:
    """One case-seed's files: what skyweave tracks, what Stone Soup tracks, the truth each is scored on."""

    sensors: Path
    detections: Path
    truth: Path
    ss_sensors: Path
    ss_detections: Path
    horizontal: bool  # score skyweave's tracks without z / vz (3-D file, nothing measures altitude)
    note: str


def prepare(case: Case, seed: int, folder: Path) -> Files:
    """Write the case's files for this seed into folder."""
    if case.kind == "sim":
        s = run_simulation(resolve_scenario(case.scenario), folder, seed=seed, duration=case.duration_s, progress=None)
        f = folder
        return Files(f / "sensors.json", f / "detections.jsonl", f / "truth.jsonl", f / "sensors.json",
                     f / "detections.jsonl", False, f"{s['detections_total']:,} detections")
    if case.kind == "flights":
        from make_flights import write as write_flights

        s = write_flights(folder, case.targets, case.duration_s, seed, dims=2)
        return Files(folder / "sensors.json", folder / "detections.jsonl", folder / "truth.jsonl",
                     folder / "sensors.json", folder / "detections.jsonl", False,
                     f"{s['detections']:,} detections, {s['mean_simultaneous']:.0f} flights at once")
    if case.kind == "ind3d":
        from make_independent_3d import write as write_ind3d

        p = write_ind3d(folder, case.targets, case.duration_s, seed)
        d3, d2 = p[3], p[2]
        n = sum(1 for _ in open(d3 / "detections.jsonl"))
        return Files(d3 / "sensors.json", d3 / "detections.jsonl", d2 / "truth.jsonl", d2 / "sensors.json",
                     d2 / "detections.jsonl", True, f"{n:,} detections; skyweave reads 3-D, Stone Soup the 2-D reading")
    raise ValueError(f"unknown case kind {case.kind!r}")


# --------------------------------------------------------------------------- running


def source_digest() -> str:
    """SHA-256 (12 hex digits) of the sources that make and score tracks (skyweave/track, io, node, metrics).

    Tells apart runs on different working trees; a change during a run is warned of.
    """
    h = hashlib.sha256()
    root = HERE.parent / "skyweave"
    for p in sorted(q for d in ("track", "io", "node", "metrics") for q in (root / d).rglob("*.py")):
        h.update(str(p.relative_to(HERE.parent)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def skyweave_command() -> list[str]:
    """The ``skyweave`` command of this interpreter's environment (the entry script, as a user runs it)."""
    script = Path(sys.executable).parent / "skyweave"
    return [str(script)] if script.exists() else [sys.executable, "-m", "skyweave.cli.main"]


def run_skyweave(files: Files, out: Path, extra: list[str]) -> dict:
    """``skyweave track ... --json`` as a subprocess; its summary plus ``process_s`` (command line to exit)."""
    cmd = skyweave_command() + ["track", "--sensors", str(files.sensors), "--detections", str(files.detections),
                                "--out", str(out), "--json", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=out.parent)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"skyweave track failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr.strip()[-2000:]}")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    summary["process_s"] = dt
    return summary


def stonesoup_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        return version("stonesoup")
    except PackageNotFoundError:
        return None


def cache_key(files: Files, args: tuple) -> str:
    """SHA-256 of the Stone Soup input files, its runner options, its version and CACHE_VERSION."""
    h = hashlib.sha256()
    for p in (files.ss_sensors, files.ss_detections):
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    h.update(json.dumps({"args": list(args), "stonesoup": stonesoup_version(), "cache": CACHE_VERSION}).encode())
    return h.hexdigest()[:32]


def run_stonesoup_process(files: Files, out: Path, args: tuple) -> tuple[dict, float]:
    """stonesoup_runner.py as a subprocess (command line to exit); its summary and the wall seconds."""
    cmd = [sys.executable, str(RUNNER), "--sensors", str(files.ss_sensors), "--detections", str(files.ss_detections),
           "--out", str(out), "--json", *args]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=out.parent)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"Stone Soup runner failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1]), dt


def stonesoup_tracks(files: Files, case: Case, folder: Path, mode: str, refresh: bool) -> tuple[Path | None, dict | None]:
    """Stone Soup's tracks.jsonl for these files (from the cache, or run and cached); (None, None) if none.

    The cache entry (``CACHE_DIR/KEY/``) holds ``tracks.jsonl.gz`` and ``meta.json`` (the runner's
    summary, its whole-process seconds ``process_s`` (a list: every run timed), the case, the seed).
    """
    key = cache_key(files, case.stonesoup_args)
    entry = CACHE_DIR / key
    out = folder / "tracks-stonesoup.jsonl"
    if entry.is_dir() and (entry / "meta.json").is_file() and not refresh:
        with gzip.open(entry / "tracks.jsonl.gz", "rb") as g, open(out, "wb") as f:
            shutil.copyfileobj(g, f)
        meta = json.loads((entry / "meta.json").read_text())
        meta["cached"] = True
        return out, meta
    if mode != "run":
        return None, None
    summary, dt = run_stonesoup_process(files, out, case.stonesoup_args)
    entry.mkdir(parents=True, exist_ok=True)
    with open(out, "rb") as f, gzip.open(entry / "tracks.jsonl.gz", "wb", compresslevel=6) as g:
        shutil.copyfileobj(f, g)
    meta = {"summary": summary, "process_s": [dt], "case": case.name, "args": list(case.stonesoup_args),
            "stonesoup": stonesoup_version(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    (entry / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    meta["cached"] = False
    return out, meta


def record_stonesoup_timing(files: Files, case: Case, seconds: list[float]) -> None:
    """Keep paired whole-process timings of Stone Soup in its cache entry (``timing_s``), for ``--stonesoup cached``."""
    entry = CACHE_DIR / cache_key(files, case.stonesoup_args)
    meta = json.loads((entry / "meta.json").read_text())
    meta["timing_s"] = seconds
    meta["timing_date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    (entry / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


# --------------------------------------------------------------------------- scoring


def horizontal_copy(src: Path, dst: Path) -> None:
    """tracks.jsonl without z, vz and cov: the horizontal picture (altitude is scored only where measured)."""
    with open(src) as f, open(dst, "w") as g:
        for line in f:
            rec = json.loads(line)
            for k in ("z", "vz", "cov"):
                rec.pop(k, None)
            g.write(json.dumps(rec) + "\n")


def score(truth: Path, tracks: Path) -> dict:
    s, _, _, _ = score_files(truth, tracks, c=GOSPA_C_M, p=GOSPA_P)
    return {k: float(s[k]) for k in SCORE_KEYS}


def _frames(path: Path, id_key: str) -> dict[float, tuple[list, np.ndarray]]:
    """{t: (ids, positions (K, 2))} of a truth or tracks file (horizontal positions)."""
    out: dict = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            ids, pos = out.setdefault(round(float(r["t"]), 6), ([], []))
            ids.append(r[id_key])
            pos.append((float(r["x"]), float(r["y"])))
    return {t: (ids, np.array(pos).reshape(-1, 2)) for t, (ids, pos) in sorted(out.items())}


def _truth_at(frames: dict, times: list[float], t: float) -> tuple[list, np.ndarray]:
    """Truth ids and positions at t: the instant itself, or linear between the bracketing instants (common ids)."""
    if t in frames:
        return frames[t]
    i = int(np.searchsorted(times, t))
    if i == 0 or i >= len(times):
        return frames[times[min(max(i, 0), len(times) - 1)]]
    (ia, pa), (ib, pb) = frames[times[i - 1]], frames[times[i]]
    w = (t - times[i - 1]) / (times[i] - times[i - 1])
    ib_at = {k: j for j, k in enumerate(ib)}
    ids, pos = [], []
    for j, k in enumerate(ia):
        if k in ib_at:
            ids.append(k)
            pos.append((1 - w) * pa[j] + w * pb[ib_at[k]])
    return ids, np.array(pos).reshape(-1, 2)


def false_track_origins(truth: Path, tracks: Path, c: float = GOSPA_C_M) -> dict:
    """Where the tracks matched to no target come from, per scored track instant.

    At each track time, tracks and targets are matched as GOSPA does (optimal assignment of the
    distances cut at c, pairs closer than c). An unmatched track is a

    - ``duplicate``: a target lies within c of it, but that target is matched to another track
      (two tracks on one target, e.g. started by radars out of phase);
    - ``outlived``: no target within c, and the target this track was last matched to no longer
      exists (a track coasting after its target ended or left the data);
    - ``lost``: no target within c, and its last matched target still exists (a track that slid off);
    - ``clutter``: no target within c and never matched before (a track born of false alarms).
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial import cKDTree

    tf = _frames(truth, "id")
    times = sorted(tf)
    alive_last = {}
    for t, (ids, _) in tf.items():
        for k in ids:
            alive_last[k] = t
    last_match: dict = {}
    counts = {"duplicate": 0, "outlived": 0, "lost": 0, "clutter": 0}
    instants = 0
    for t, (kids, kp) in _frames(tracks, "track_id").items():
        tids, tp = _truth_at(tf, times, t)
        instants += 1
        matched = np.zeros(len(kids), bool)
        if len(tids) and len(kids):
            d = np.linalg.norm(kp[:, None, :] - tp[None, :, :], axis=2)
            rows, cols = linear_sum_assignment(np.minimum(d, c))
            for r, q in zip(rows, cols):
                if d[r, q] < c:
                    matched[r] = True
                    last_match[kids[r]] = tids[q]
            near = cKDTree(tp).query(kp[~matched], k=1)[0] < c if (~matched).any() else np.zeros(0, bool)
        else:
            near = np.zeros(int((~matched).sum()), bool)
        for j, r in enumerate(np.flatnonzero(~matched)):
            k = kids[r]
            if near[j]:
                counts["duplicate"] += 1
            elif k not in last_match:
                counts["clutter"] += 1
            elif alive_last.get(last_match[k], -math.inf) < t - 1e-6:
                counts["outlived"] += 1
            else:
                counts["lost"] += 1
    return {k: v / max(instants, 1) for k, v in counts.items()}


# --------------------------------------------------------------------------- tables


def fmt(v, digits=1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:,.{digits}f}"


def pct(a, b) -> str:
    if a is None or b is None or not b:
        return "-"
    return f"{100.0 * (a / b - 1):+.1f} %"


def print_rows(lines: list[tuple]) -> None:
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for k, line in enumerate(lines):
        print("  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def mean_of(rs: list[dict], key: str):
    vals = [r[key] for r in rs if r is not None]
    return sum(vals) / len(vals) if vals else None


def table(results: list[dict], why: bool) -> None:
    head = ("case", "seed", "tracker", "GOSPA", "loc", "missed", "false", "false/inst", "ID ch.", "RMSE m", "sw/SS GOSPA")
    if why:
        head += ("dup", "outlived", "lost", "clutter")
    lines = [head]

    def line(case, seed, label, s, ref, origins):
        row = (case, seed, label, fmt(s["gospa_mean"]), fmt(s["gospa_localisation_p_mean"]), fmt(s["gospa_missed_p_mean"]),
               fmt(s["gospa_false_p_mean"]), fmt(s["false_per_instant"], 2), fmt(s["siap_id_changes"], 0 if seed != "mean" else 1),
               fmt(s["rmse_position_m"]), pct(s["gospa_mean"], ref) if ref is not None else "")
        if why:
            row += tuple(fmt(origins[k], 2) if origins else "" for k in ("duplicate", "outlived", "lost", "clutter"))
        return row

    for case in dict.fromkeys(r["case"] for r in results):
        cr = [r for r in results if r["case"] == case]
        for r in cr:
            ss = r.get("stonesoup")
            lines.append(line(case, str(r["seed"]), "skyweave", r["skyweave"], ss["gospa_mean"] if ss else None, r.get("why_sw")))
            if ss:
                lines.append(line(case, str(r["seed"]), "Stone Soup", ss, None, r.get("why_ss")))
        if len(cr) > 1:
            sw = {k: mean_of([r["skyweave"] for r in cr], k) for k in SCORE_KEYS}
            have_ss = all(r.get("stonesoup") for r in cr)
            ssm = {k: mean_of([r["stonesoup"] for r in cr], k) for k in SCORE_KEYS} if have_ss else None
            whysw = {k: mean_of([r["why_sw"] for r in cr], k) for k in ("duplicate", "outlived", "lost", "clutter")} if why else None
            whyss = ({k: mean_of([r["why_ss"] for r in cr], k) for k in ("duplicate", "outlived", "lost", "clutter")}
                     if why and have_ss else None)
            lines.append(line(case, "mean", "skyweave", sw, ssm["gospa_mean"] if ssm else None, whysw))
            if ssm:
                lines.append(line(case, "mean", "Stone Soup", ssm, None, whyss))
    print_rows(lines)


def verdicts(results: list[dict]) -> list[str]:
    """The issue 13 accuracy goals per case, honest both ways."""
    out = []
    for case in dict.fromkeys(r["case"] for r in results):
        cr = [r for r in results if r["case"] == case]
        if not all(r.get("stonesoup") for r in cr):
            out.append(f"{case}: Stone Soup missing for some seed, no comparison")
            continue
        g_sw = mean_of([r["skyweave"] for r in cr], "gospa_mean")
        g_ss = mean_of([r["stonesoup"] for r in cr], "gospa_mean")
        rel = g_sw / g_ss - 1
        big = CASE_BY_NAME[case].targets >= 100
        worse = [str(r["seed"]) for r in cr if r["skyweave"]["gospa_mean"] > r["stonesoup"]["gospa_mean"]]
        id_sw = sum(r["skyweave"]["siap_id_changes"] for r in cr)
        id_ss = sum(r["stonesoup"]["siap_id_changes"] for r in cr)
        parts = [f"mean GOSPA {g_sw:,.1f} vs {g_ss:,.1f} ({100 * rel:+.1f} %"]
        if big:
            parts[0] += f"; goal <= -{100 * GOSPA_GOAL:.0f} %: {'PASS' if rel <= -GOSPA_GOAL else 'FAIL'})"
        else:
            parts[0] += f"; goal no worse: {'PASS' if rel <= 0 else 'FAIL'})"
        parts.append(f"worse on seed(s) {', '.join(worse)}: FAIL" if worse else "no seed worse: PASS")
        parts.append(f"ID changes {id_sw:.0f} vs {id_ss:.0f} over the seeds: {'PASS' if id_sw <= id_ss else 'FAIL'}")
        out.append(f"{case} ({len(cr)} seed(s)): " + "; ".join(parts))
    return out


# --------------------------------------------------------------------------- main


def timing(case: Case, seed: int, extra: list[str], mode: str) -> dict:
    """Whole process, command line to exit, median of TIMING_RUNS paired runs (skyweave, then Stone Soup).

    With ``--stonesoup cached`` Stone Soup's timings are the last paired ones kept in its cache entry.
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-tracker-timing-{case.name}-") as tmp:
        folder = Path(tmp)
        files = prepare(case, seed, folder)
        sw, ss = [], []
        meta = None
        if mode != "off":
            _, meta = stonesoup_tracks(files, case, folder, mode, refresh=False)
        for k in range(TIMING_RUNS):
            s = run_skyweave(files, folder / "tracks-skyweave.jsonl", extra)
            sw.append(s["process_s"])
            line = f"    run {k + 1}: skyweave {s['process_s']:.2f} s (tracker {s['tracker_s']:.2f} s)"
            if mode == "run" and meta is not None:
                _, dt = run_stonesoup_process(files, folder / "tracks-stonesoup-timing.jsonl", case.stonesoup_args)
                ss.append(dt)
                line += f", Stone Soup {dt:.1f} s"
            print(line, flush=True)
        if mode == "run" and ss:
            record_stonesoup_timing(files, case, ss)
        elif mode == "cached" and meta is not None:
            ss = meta.get("timing_s") or []
            if ss:
                print(f"    Stone Soup: cached paired timings of {meta.get('timing_date')}", flush=True)
            else:  # no paired timing yet: the run that filled the cache (one run, not paired)
                ss = meta["process_s"]
                print(f"    Stone Soup: the cache-filling run of {meta.get('date')} (not paired)", flush=True)
    res = {"case": case.name, "seed": seed, "load_average": os.getloadavg()[0], "skyweave_s": sw,
           "skyweave_median_s": statistics.median(sw), "stonesoup_s": ss or None,
           "stonesoup_median_s": statistics.median(ss) if ss else None}
    print(f"whole process on {case.name} (seed {seed}), command line to exit, median of {TIMING_RUNS}: "
          f"skyweave {res['skyweave_median_s']:.2f} s ({', '.join(f'{x:.2f}' for x in sw)})", end="")
    if ss:
        ratio = res["stonesoup_median_s"] / res["skyweave_median_s"]
        res["ratio"] = ratio
        print(f", Stone Soup {res['stonesoup_median_s']:.1f} s ({', '.join(f'{x:.1f}' for x in ss)}): {ratio:.1f}x "
              f"(goal >= {SPEED_GOAL:.0f}x: {'PASS' if ratio >= SPEED_GOAL else 'FAIL'})")
    else:
        print(", Stone Soup not timed")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", choices=[c.name for c in CASES], metavar="CASE",
                    help=f"cases (default all: {' '.join(c.name for c in CASES)})")
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds (default 1 2 3)")
    ap.add_argument("--skyweave-args", default="", help='extra `skyweave track` options, e.g. "--model imm"')
    ap.add_argument("--stonesoup", choices=("run", "cached", "off"), default="run",
                    help="run: cache, filling what is missing (default); cached: cache only; off: skyweave alone")
    ap.add_argument("--no-stonesoup", action="store_true", help="the same as --stonesoup off")
    ap.add_argument("--refresh", action="store_true", help="rerun Stone Soup and replace its cache entries")
    ap.add_argument("--why-false", action="store_true", help="classify unmatched tracks: duplicate, outlived, lost, clutter")
    ap.add_argument("--timing", action="store_true", help="whole-process timing on clutter-100 (first seed) instead")
    ap.add_argument("--keep", type=Path, help="keep each case-seed's files and tracks under this folder")
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    a = ap.parse_args(argv)
    mode = "off" if a.no_stonesoup else a.stonesoup
    try:
        extra = shlex.split(a.skyweave_args)
    except ValueError as e:
        ap.error(f"--skyweave-args: {e}")
    if mode != "off" and stonesoup_version() is None:
        print("Stone Soup is not installed (pip install -e '.[bench]'): skyweave alone", flush=True)
        mode = "off"
    if a.timing:
        res = timing(CASE_BY_NAME["clutter-100"], a.seeds[0], extra, mode)
        if a.json:
            a.json.write_text(json.dumps(res, indent=1) + "\n")
        return 0
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    digest = source_digest()
    print(f"skyweave track {shlex.join(extra) or '(defaults)'} (sources {digest}); Stone Soup: {mode}", flush=True)
    results, config = [], None
    cases = [c for c in CASES if not a.cases or c.name in a.cases]
    for seed in a.seeds:
        for c in cases:
            with tempfile.TemporaryDirectory(prefix=f"bench-tracker-{c.name}-{seed}-") as tmp:
                folder = Path(tmp)
                files = prepare(c, seed, folder)
                sw_out = folder / "tracks-skyweave.jsonl"
                s = run_skyweave(files, sw_out, extra)
                config = s.get("config", config)
                scored = sw_out
                if files.horizontal:
                    scored = folder / "tracks-skyweave-xy.jsonl"
                    horizontal_copy(sw_out, scored)
                r = {"case": c.name, "seed": seed, "note": files.note, "skyweave": score(files.truth, scored),
                     "skyweave_run": {k: s.get(k) for k in ("tracker_s", "wall_s", "process_s", "tracks")},
                     "skyweave_config": s.get("config")}
                if a.why_false:
                    r["why_sw"] = false_track_origins(files.truth, scored)
                msg = (f"{c.name} seed {seed} ({files.note}): skyweave GOSPA {r['skyweave']['gospa_mean']:,.1f}, "
                       f"process {s['process_s']:.2f} s")
                if mode != "off":
                    t0 = time.perf_counter()
                    ss_out, meta = stonesoup_tracks(files, c, folder, mode, a.refresh)
                    if ss_out is not None:
                        r["stonesoup"] = score(files.truth, ss_out)
                        r["stonesoup_run"] = {"track_s": meta["summary"]["track_s"], "process_s": meta["process_s"],
                                              "cached": meta["cached"]}
                        if a.why_false:
                            r["why_ss"] = false_track_origins(files.truth, ss_out)
                        msg += (f"; Stone Soup GOSPA {r['stonesoup']['gospa_mean']:,.1f} "
                                f"({'cached' if meta['cached'] else f'ran {time.perf_counter() - t0:.0f} s'}), "
                                f"sw/SS {pct(r['skyweave']['gospa_mean'], r['stonesoup']['gospa_mean'])}")
                    else:
                        msg += "; Stone Soup not in the cache"
                print(msg, flush=True)
                if a.keep:
                    dst = a.keep / f"{c.name}-seed{seed}"
                    shutil.copytree(folder, dst, dirs_exist_ok=True)
                results.append(r)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if source_digest() != digest:
        print(f"WARNING: skyweave's sources changed during this run (from {digest} to {source_digest()}): rerun")
    print()
    print(f"GOSPA c = {GOSPA_C_M:g} m, p = {GOSPA_P:g}, alpha = 2 (m per instant, mean over instants); "
          f"skyweave track {shlex.join(extra) or '(defaults)'}")
    if config:
        print("skyweave config: " + ", ".join(f"{k}={v}" for k, v in config.items()))
    changed = [f"{r['case']} seed {r['seed']}" for r in results if r["skyweave_config"] != config]
    if changed:  # the working tree's defaults moved while the benchmark ran: the rows are not one configuration
        print(f"WARNING: skyweave's configuration differed from the line above on: {', '.join(changed)}")
    table(results, a.why_false)
    if mode != "off":
        print()
        for v in verdicts(results):
            print(v)
    if a.json:
        a.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "skyweave_args": extra, "stonesoup": mode,
                                      "sources": digest,
                                      "config": config, "results": results, "verdicts": verdicts(results)},
                                     indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
