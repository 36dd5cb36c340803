"""Simulation speed: the trilateral exercise (30 min) and the clutter family at 10,000 targets × 600 scans.

    python benchmarks/bench_simulate.py [--only trilateral|clutter]

Each case runs `skyweave simulate` in-process into a temporary folder (files written, as a user
gets them) and prints wall time, detections and lines per second. Goals (issue 2): trilateral
30 min < 30 s; clutter-10000 × 600 scans < 60 s.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from skyweave.cli.common import resolve_scenario
from skyweave.node.simulate import run_simulation

CASES = {
    "trilateral": ("trilateral", 1800.0, 30.0),
    "clutter": ("clutter-10000", 600.0, 60.0),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=sorted(CASES))
    a = ap.parse_args(argv)
    for name, (scen, dur, goal) in CASES.items():
        if a.only and a.only != name:
            continue
        with tempfile.TemporaryDirectory() as d:
            s = run_simulation(resolve_scenario(scen), Path(d), duration=dur, progress=False)
        n = s["detections_total"]
        ok = "PASS" if s["wall_s"] < goal else "FAIL"
        print(f"{scen:14s} {dur:6.0f} s scenario  {s['wall_s']:6.1f} s wall  (goal < {goal:.0f} s: {ok})  "
              f"{n:,} detections, {s['truth_lines']:,} truth lines, {n / s['wall_s'] / 1e3:,.0f} k detections/s")


if __name__ == "__main__":
    main()
