"""Start-up and whole-process time of `skyweave track` as a user runs it, with the split.

    python benchmarks/bench_startup.py [--baseline DIR] [--repeat 5] [--detections FILE --sensors FILE]

Prints, as medians of ``--repeat`` runs (process start to exit):
- ``skyweave --help`` and ``skyweave track --help``: what start-up costs before any work;
- ``skyweave track`` on clutter-100 (120 s, seed 1, simulated once unless files are given), split
  from its ``--json`` summary into the tracker (``tracker_s``), the rest of ``track_files``
  (reading sensors.json, parsing and validating detections.jsonl, building scans, writing
  tracks.jsonl: ``wall_s - tracker_s``) and what lies outside it (interpreter start, imports,
  exit: process wall - ``wall_s``).

Note that ``tracker_s`` includes any module the tracker imports on first use (scipy's k-d tree and
assignment solver, only for scans of more than 2,000 measurements or clusters of more than 24
tracks). With ``--baseline DIR`` (another checkout, e.g.
``git worktree add /tmp/base <commit>``) each run is paired with one of the baseline's code in the
same moment, alternating, so a busy machine weighs on both alike; the outputs are compared byte
for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(code_root: Path, args: list) -> tuple[float, str]:
    """(wall seconds, stdout) of ``python -m skyweave.cli.main ARGS`` with ``code_root`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    t = time.perf_counter()
    # run from a neutral folder: ``python -m`` puts the working directory first on the path
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", *map(str, args)], env=env, capture_output=True,
                       text=True, cwd=tempfile.gettempdir())
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{code_root}: skyweave {' '.join(map(str, args))} failed:\n{r.stderr[-2000:]}")
    return took, r.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, default=None, help="another skyweave checkout to compare with")
    ap.add_argument("--repeat", type=int, default=5, help="runs per case and code (default 5; the median is kept)")
    ap.add_argument("--sensors", type=Path, default=None, help="sensors.json (default: simulate clutter-100)")
    ap.add_argument("--detections", type=Path, default=None, help="detections.jsonl (with --sensors)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    if a.sensors is None or a.detections is None:
        sys.path.insert(0, str(ROOT))
        from skyweave.node.simulate import run_simulation
        from skyweave.scenario.shipped import scenario_path

        run_simulation(scenario_path("clutter-100"), work / "c100", seed=1, duration=120)
        a.sensors, a.detections = work / "c100" / "sensors.json", work / "c100" / "detections.jsonl"
    codes = {"current": ROOT} | ({"baseline": a.baseline.resolve()} if a.baseline else {})
    for name in codes:
        (work / name).mkdir()

    def track(name: str) -> list:
        return ["track", "--sensors", a.sensors, "--detections", a.detections, "--out", work / name / "tracks.jsonl",
                "--json"]

    cases = {"skyweave --help": lambda name: ["--help"], "skyweave track --help": lambda name: ["track", "--help"],
             "skyweave track": track}
    times: dict = {(c, n): [] for c in cases for n in codes}
    split: dict = {n: [] for n in codes}  # (tracker_s, wall_s) per track run
    for _ in range(a.repeat):
        for case, args in cases.items():
            for name, root in codes.items():
                took, out = run(root, args(name))
                times[case, name].append(took)
                if case == "skyweave track":
                    s = json.loads(out)
                    split[name].append((s["tracker_s"], s["wall_s"], took))
    print(f"median of {a.repeat} runs, process start to exit ({a.detections})")
    for case in cases:
        row = "  ".join(f"{n} {statistics.median(times[case, n]):6.3f} s" for n in codes)
        if a.baseline:
            ratio = statistics.median(times[case, "baseline"]) / statistics.median(times[case, "current"])
            row += f"  ({ratio:.2f}x)"
        print(f"  {case:24s} {row}")
    for name in codes:
        tr = statistics.median(x[0] for x in split[name])
        wall = statistics.median(x[1] for x in split[name])
        proc = statistics.median(x[2] for x in split[name])
        print(f"  split ({name}): tracker {tr:.3f} s, read+scan+write {wall - tr:.3f} s, "
              f"start-up+imports+exit {proc - wall:.3f} s; process {proc:.3f} s")
    if a.baseline:
        same = filecmp.cmp(work / "current" / "tracks.jsonl", work / "baseline" / "tracks.jsonl", shallow=False)
        print(f"  tracks.jsonl: {'same bytes' if same else 'DIFFERENT'} as the baseline's")


if __name__ == "__main__":
    main()
