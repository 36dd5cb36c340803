"""3-D tracking with radars that do not measure elevation, against the 2-D reading of the same data.

Writes the independent scenario (benchmarks/make_independent_3d.py), tracks its 3-D and 2-D
readings with ``skyweave track`` and scores both with ``skyweave eval``. Nothing measures the
altitude here, so the 3-D picture is scored horizontally: a 2-D copy of its tracks file (``z``,
``vz`` and the covariance left out) against the 2-D truth, as the issue asks ("altitude is scored
only where something measures it").

    python benchmarks/bench_unobserved.py [--targets 100] [--duration 120] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_independent_3d import write  # noqa: E402

SKYWEAVE = [sys.executable, "-m", "skyweave.cli.main"]


def horizontal_copy(src: Path, dst: Path) -> None:
    """tracks.jsonl without z, vz and cov: the horizontal picture."""
    with open(src) as f, open(dst, "w") as g:
        for line in f:
            rec = json.loads(line)
            for k in ("z", "vz", "cov"):
                rec.pop(k, None)
            g.write(json.dumps(rec) + "\n")


def run(targets=100, duration=120.0, seed=1, out: str | None = None, extra=()) -> dict:
    base = Path(out or tempfile.mkdtemp(prefix="unobs_"))
    paths = write(base, targets, duration, seed)
    res = {}
    for dims in (3, 2):
        d = paths[dims]
        tracks = d / "tracks.jsonl"
        subprocess.run(SKYWEAVE + ["track", "--sensors", str(d / "sensors.json"), "--detections", str(d / "detections.jsonl"),
                                   "--out", str(tracks), *extra], check=True, capture_output=True)
        scored = tracks
        if dims == 3:
            scored = d / "tracks_xy.jsonl"
            horizontal_copy(tracks, scored)
        ev = subprocess.run(SKYWEAVE + ["eval", "--truth", str(paths[2] / "truth.jsonl"), "--tracks", str(scored), "--json"],
                            check=True, capture_output=True, text=True)
        res[dims] = json.loads(ev.stdout)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=100)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    res = run(a.targets, a.duration, a.seed, a.out)
    keys = ("gospa_mean", "rmse_position_m", "siap_id_changes", "tracks_per_instant", "false_per_instant", "missed_per_instant")
    print(f"{'':22s}{'3-D (x, y)':>12s}{'2-D':>12s}")
    for k in keys:
        print(f"{k:22s}{res[3][k]:12.2f}{res[2][k]:12.2f}")
    g3, g2 = res[3]["gospa_mean"], res[2]["gospa_mean"]
    print(f"3-D / 2-D GOSPA: {g3 / g2 - 1:+.2%}")


if __name__ == "__main__":
    main()
