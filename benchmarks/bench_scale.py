"""Tracker scale: the largest number of targets skyweave's GNN keeps in real time on this machine (issue 3).

    python benchmarks/bench_scale.py [--quick] [--n 1000 3000 10000 ...] [--duration 60] [--max-n 100000]

The clutter family (two radars, 1 s scans interleaved every 0.5 s, Pd 0.9, 10 false alarms per
scan per radar, the same target density for every N) is simulated for ``--duration`` seconds
(seed 1) and tracked with skyweave's default GNN (CV, EKF, q = 100 m²/s³). N = 1,000 and
10,000 are the shipped ``clutter-1000``/``clutter-10000``; other N use a temporary copy of
``skyweave/scenarios/clutter-10000.yaml`` with ``n_targets`` changed. By default N = 1,000, 3,000 and
10,000 run, then 20,000, 30,000, 50,000 and 100,000 in turn while the previous N still ran at
least 1.5x faster than real time (``--max-n`` caps it; ``--n`` gives an explicit list instead).

Each N is tracked in a fresh child process (so ``ru_maxrss`` is that run's peak memory) that
drives the tracker scan by scan, exactly as ``skyweave track`` does
(:class:`~skyweave.io.scans.ScanReader` -> :func:`~skyweave.track.sensors.build_scan` ->
:meth:`~skyweave.track.tracker.Tracker.process` -> output frames), and times each stage:

- ``tracker s``: the sum of ``Tracker.process`` over all scans; real-time factor (RTF) =
  scenario seconds / tracker seconds (> 1: faster than real time);
- per scan: mean, 99th percentile and maximum of one ``process`` call (ms); the radars' scans
  arrive every 0.5 s, so a scan must take well under 500 ms;
- I/O: reading and validating detections.jsonl (JSON parsing, grouping into scans, building the
  measurement arrays) and formatting + writing tracks.jsonl, once with covariances and once
  without (both written in the same run from the same frames);
- RTF with I/O = scenario s / (read + tracker + write with covariances);
- peak memory: the child's ``ru_maxrss`` (MiB), the whole process (Python, numpy, reader, tracker);
- GOSPA (c = 1000 m, p = 1) per target and position RMSE, scored afterwards on the tracks.

N keeps real time when the tracker alone is faster than the scenario (RTF > 1) and the 99th
percentile scan fits the 0.5 s scan interval; the verdict with I/O is printed next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from skyweave.cli.common import resolve_scenario
from skyweave.node.score_files import score_files
from skyweave.node.simulate import run_simulation
from skyweave.io.formats import load_sensors
from skyweave.io.scans import ScanReader
from skyweave.node.track_files import frame_text, make_tracker
from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import build_scan

SCAN_INTERVAL_S = 0.5  # two radars, 1 s period each, interleaved
DEFAULT_N = (1000, 3000, 10000)
EXTEND_N = (20000, 30000, 50000, 100000)
COMFORT = 1.5  # extend past 10,000 while the last N ran at least this much faster than real time
SHIPPED = {1000: "clutter-1000", 10000: "clutter-10000"}


def scenario_for(n: int, folder: Path) -> Path:
    """The shipped clutter scenario for n, or a copy of clutter-10000.yaml with n_targets = n."""
    if n in SHIPPED:
        return resolve_scenario(SHIPPED[n])
    text = resolve_scenario("clutter-10000").read_text()
    text, k1 = re.subn(r"(?m)^(\s*n_targets:\s*)\d+", rf"\g<1>{n}", text)
    text, k2 = re.subn(r"(?m)^name:.*$", f"name: clutter-{n}", text)
    if k1 != 1 or k2 != 1:
        raise RuntimeError("skyweave/scenarios/clutter-10000.yaml changed shape: no single 'n_targets:' / 'name:' line")
    path = folder / f"clutter-{n}.yaml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- child: one tracking run


def child(folder: Path, out_json: Path) -> None:
    """Track folder's files scan by scan, timing each stage; write the figures to out_json."""
    sensors = load_sensors(folder / "sensors.json")
    tracker = make_tracker(sensors, TrackerConfig())
    dims = sensors.dims
    reader = iter(ScanReader(folder / "detections.jsonl", sensors))
    per_scan: list[float] = []
    read_s = build_s = write_cov_s = write_nocov_s = 0.0
    lines = 0
    pc = time.perf_counter
    t_wall = pc()
    with open(folder / "tracks.jsonl", "w", buffering=1 << 20) as f_cov, \
            open(folder / "tracks-nocov.jsonl", "w", buffering=1 << 20) as f_nocov:
        def write(frames):
            nonlocal write_cov_s, write_nocov_s, lines
            for fr in frames:
                a = pc()
                f_cov.write(frame_text(fr, dims, True))
                b = pc()
                f_nocov.write(frame_text(fr, dims, False))
                write_cov_s += b - a
                write_nocov_s += pc() - b
                lines += len(fr)

        while True:
            a = pc()
            raw = next(reader, None)
            read_s += pc() - a
            if raw is None:
                break
            a = pc()
            scan = build_scan(tracker.sensors[raw.sensor], raw.t, raw.cols, tracker.frame, raw.identity, raw.platform, raw.lines)
            build_s += pc() - a
            if scan is None:
                continue
            a = pc()
            tracker.process(scan)
            per_scan.append(pc() - a)
            write(tracker.ready_frames())
        write(tracker.flush())
        a = pc()
        f_cov.flush()
        b = pc()
        f_nocov.flush()
        write_cov_s += b - a
        write_nocov_s += pc() - b
    wall = pc() - t_wall
    ps = np.array(per_scan)
    out_json.write_text(json.dumps({
        "scans": int(ps.size), "measurements": int(tracker.stats["measurements"]), "track_lines": lines,
        "tracker_s": float(ps.sum()), "scan_mean_ms": 1e3 * float(ps.mean()), "scan_p99_ms": 1e3 * float(np.percentile(ps, 99)),
        "scan_max_ms": 1e3 * float(ps.max()), "read_s": read_s + build_s, "write_cov_s": write_cov_s,
        "write_nocov_s": write_nocov_s, "wall_s": wall,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


# --------------------------------------------------------------------------- parent


def run_case(n: int, duration: float, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{n}-") as tmp:
        folder = Path(tmp)
        sim = run_simulation(scenario_for(n, folder), folder / "run", seed=seed, duration=duration, progress=False)
        run = folder / "run"
        res_path = folder / "child.json"
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(run), "--child-out", str(res_path)],
                       check=True)
        r = json.loads(res_path.read_text())
        s, _, _, _ = score_files(run / "truth.jsonl", run / "tracks-nocov.jsonl", c=1000.0, p=1.0)
    r.update({
        "n": n, "duration_s": duration, "detections": sim["detections_total"],
        "rtf": duration / r["tracker_s"], "rtf_io": duration / (r["read_s"] + r["tracker_s"] + r["write_cov_s"]),
        "rtf_io_nocov": duration / (r["read_s"] + r["tracker_s"] + r["write_nocov_s"]),
        "gospa_per_target_m": s["gospa_mean"] / n, "gospa_mean": s["gospa_mean"], "rmse_position_m": s["rmse_position_m"],
        "siap_completeness": s["siap_completeness"], "false_per_instant": s["false_per_instant"],
    })
    r["real_time"] = bool(r["rtf"] > 1.0 and r["scan_p99_ms"] < 1e3 * SCAN_INTERVAL_S)
    r["real_time_io"] = bool(r["rtf_io"] > 1.0)
    return r


def print_table(rows: list[dict]) -> None:
    head = ("N", "detections", "tracker s", "RTF", "scan mean ms", "scan p99 ms", "scan max ms", "read s",
            "write s (cov)", "write s (no cov)", "RTF with I/O", "peak MiB", "GOSPA/target m", "RMSE m", "real time")
    lines = [head]
    for r in rows:
        lines.append((
            f"{r['n']:,}", f"{r['detections']:,}", f"{r['tracker_s']:.2f}", f"{r['rtf']:.1f}", f"{r['scan_mean_ms']:.1f}",
            f"{r['scan_p99_ms']:.1f}", f"{r['scan_max_ms']:.1f}", f"{r['read_s']:.2f}", f"{r['write_cov_s']:.2f}",
            f"{r['write_nocov_s']:.2f}", f"{r['rtf_io']:.1f} ({r['rtf_io_nocov']:.1f})", f"{r['peak_mib']:,.0f}",
            f"{r['gospa_per_target_m']:.1f}", f"{r['rmse_position_m']:.1f}",
            ("yes" if r["real_time"] else "NO") + (" (with I/O too)" if r["real_time_io"] else " (not with I/O)"),
        ))
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    for k, line in enumerate(lines):
        print("  ".join(c.rjust(w) for c, w in zip(line, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N = 1,000, 3,000, 10,000 for 20 s, no extension")
    ap.add_argument("--n", type=int, nargs="*", help="explicit list of target counts (no extension)")
    ap.add_argument("--duration", type=float, default=None, help="scenario seconds (default 60; 20 with --quick)")
    ap.add_argument("--max-n", type=int, default=100000, help="largest N the extension may try (default 100,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child is not None:
        child(a.child, a.child_out)
        return 0
    duration = a.duration if a.duration is not None else (20.0 if a.quick else 60.0)
    if a.n:
        plan, extend = list(a.n), []
    else:
        plan, extend = list(DEFAULT_N), ([] if a.quick else [n for n in EXTEND_N if n <= a.max_n])
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores; > 1 means other work shared the machine)", flush=True)
    rows = []
    while plan:
        n = plan.pop(0)
        r = run_case(n, duration, a.seed)
        rows.append(r)
        print(f"N = {n:,}: tracker {r['tracker_s']:.2f} s for {duration:.0f} s (RTF {r['rtf']:.1f}), "
              f"p99 scan {r['scan_p99_ms']:.0f} ms, with I/O RTF {r['rtf_io']:.1f}, peak {r['peak_mib']:.0f} MiB, "
              f"GOSPA/target {r['gospa_per_target_m']:.1f} m", flush=True)
        if not plan and extend and r["rtf"] >= COMFORT and r["real_time"]:
            plan.append(extend.pop(0))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(f"skyweave GNN-CV, clutter family, {duration:.0f} s scenario, scans every {SCAN_INTERVAL_S} s (two radars)")
    print_table(rows)
    ok = [r["n"] for r in rows if r["real_time"]]
    ok_io = [r["n"] for r in rows if r["real_time_io"]]
    bad = [r["n"] for r in rows if not r["real_time"]]
    print()
    if ok:
        tail = f" (the next tried, {min(bad):,}, does not)" if bad else " (the largest tried)"
        print(f"largest N in real time (tracker): {max(ok):,}{tail}; with file I/O: {max(ok_io):,}" if ok_io else
              f"largest N in real time (tracker): {max(ok):,}{tail}; with file I/O: none")
    else:
        print("no N kept real time")
    print(f"goal 10,000 targets in real time: {'PASS' if 10000 in ok else 'FAIL' if 10000 in [r['n'] for r in rows] else 'not run'}")
    if a.json:
        a.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "duration_s": duration, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
