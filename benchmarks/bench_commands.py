"""Whole commands as a user runs them: `skyweave track`, `warn` and `network run`, start-up and I/O included.

    python benchmarks/bench_commands.py [--baseline DIR] [--repeat 3] [--quick]

Simulates the inputs once (clutter-100 for 120 s, the trilateral for 1,200 s, seed 5), then times
each command from process start to exit, ``--repeat`` times. With ``--baseline DIR`` (another
checkout of skyweave, e.g. ``git worktree add /tmp/base <commit>``) each run of the current tree
is paired with a run of the baseline's code on the same files in the same moment (alternating,
so a busy machine weighs on both alike), and the ratio of the medians is printed: this is how a
change is shown not to be slower. The outputs of both are compared too (same bytes, or not).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skyweave.node.simulate import run_simulation  # noqa: E402
from skyweave.scenario.shipped import scenario_path  # noqa: E402


def timed(code_root: Path, args: list[str]) -> float:
    """Wall seconds of ``python -m skyweave.cli.main ARGS`` with ``code_root``'s skyweave first on the path."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    t = time.perf_counter()
    # from a neutral folder: `python -m` puts the working folder first on the path, ahead of PYTHONPATH
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", *args], env=env, capture_output=True, text=True,
                       cwd=tempfile.gettempdir())
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{code_root}: skyweave {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, default=None, help="another skyweave checkout to compare with")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command and code (default 3; the median is kept)")
    ap.add_argument("--quick", action="store_true", help="shorter inputs (60 s, 300 s)")
    ap.add_argument("--only", nargs="*", default=None, help="commands to run: track, warn, network (default: all)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    c100, tri = work / "c100", work / "tri"
    run_simulation(scenario_path("clutter-100"), c100, seed=5, duration=60 if a.quick else 120)
    run_simulation(scenario_path("trilateral"), tri, seed=5, duration=300 if a.quick else 1200)
    net_s = 120 if a.quick else 600
    codes = {"current": ROOT} | ({"baseline": a.baseline.resolve()} if a.baseline else {})
    cases = {
        "track clutter-100": lambda out: ["track", "--sensors", c100 / "sensors.json", "--detections",
                                          c100 / "detections.jsonl", "--out", out / "tracks.jsonl", "--json"],
        "warn trilateral": lambda out: ["warn", tri, "--json", "--out", out / "alerts.jsonl"],
        f"network run trilateral {net_s} s": lambda out: ["network", "run", "trilateral", "--out", out / "net",
                                                          "--duration", str(net_s), "--seed", "6", "--json"],
    }
    print(f"# whole commands, median of {a.repeat} ({time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f})")
    print("| command | " + " | ".join(f"{c} s" for c in codes) + (" | current / baseline | same output |" if a.baseline else " |"))
    print("|---|" + "---|" * len(codes) + ("---|---|" if a.baseline else ""))
    for name, make in cases.items():
        if a.only and name.split()[0] not in a.only:
            continue
        times: dict[str, list[float]] = {c: [] for c in codes}
        outs = {}
        for i in range(a.repeat):
            for c, root in codes.items():
                out = work / "runs" / name.replace(" ", "-") / c
                out.mkdir(parents=True, exist_ok=True)
                times[c].append(timed(root, [str(x) for x in make(out)]))
                outs[c] = out
        med = {c: statistics.median(v) for c, v in times.items()}
        row = f"| {name} | " + " | ".join(f"{med[c]:.2f}" for c in codes)
        if a.baseline:
            same = _same(outs["current"], outs["baseline"])
            row += f" | {med['current'] / med['baseline']:.3f} | {same} |"
        else:
            row += " |"
        print(row, flush=True)


def _same(a: Path, b: Path) -> str:
    """'yes' when every output file (not the run's keys or summaries) has the same bytes in both."""
    names = sorted(p.relative_to(a) for p in a.rglob("*.jsonl"))
    if not names:
        return "-"
    differ = [str(n) for n in names if not (b / n).exists() or not filecmp.cmp(a / n, b / n, shallow=False)]
    return "yes" if not differ else "no: " + ", ".join(differ[:4])


if __name__ == "__main__":
    main()
