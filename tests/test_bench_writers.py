"""The benchmark scenario writers' own code, without the ``traffic`` samples (those tests are in
test_bench_flights.py, skipped where the bench extra is missing): the re-timing of recorded
flights (benchmarks/make_flights.py) and both writers' errors for an unusable --out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from make_flights import RetimedPath, local_quadratic  # noqa: E402


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_an_unwritable_out_is_one_line_error(tmp_path):
    """make_independent_3d.py: --out that is a file, or under one, and a bad duration are one-line
    errors, no traceback (make_flights.py's: test_bench_flights.py, it needs the samples)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        p = _run("make_independent_3d.py", "--out", str(out), "--targets", "3", "--duration", "10")
        assert p.returncode == 1 and p.stderr.startswith(f"Error: {out}: cannot write"), p.stderr
        assert "Traceback" not in p.stderr
    p = _run("make_independent_3d.py", "--out", str(tmp_path / "ok"), "--duration", "-1")
    assert p.returncode == 1 and "--duration > 0" in p.stderr and "Traceback" not in p.stderr
    p = _run("make_independent_3d.py", "--out", str(tmp_path / "ok"), "--targets", "3", "--duration", "10")
    assert p.returncode == 0 and (tmp_path / "ok" / "3d" / "detections.jsonl").stat().st_size > 0


def test_local_quadratic_and_the_path_reproduce_a_known_motion():
    """A coordinated turn with a speed change, sampled every second with stale time stamps: the
    re-timed path gives back its positions and velocities."""
    x = np.linspace(-5.0, 5.0, 41)
    val, slope = local_quadratic(x, 2.0 + 3.0 * x - 0.5 * x**2, 2.0)
    assert np.allclose(val, 2.0 + 3.0 * x - 0.5 * x**2) and np.allclose(slope, 3.0 - x)

    t = np.arange(0.0, 121.0)
    speed = 200.0 + 0.3 * t                   # m/s, accelerating
    s = 200.0 * t + 0.15 * t**2               # arc length
    r = 8_000.0                               # m: a turn of 200/8000 rad/s ≈ 1.4°/s at first
    ang = s / r
    p = np.column_stack([r * np.sin(ang), r * (1 - np.cos(ang)), 3_000.0 + 5.0 * t])
    rng = np.random.default_rng(7)
    stamped = t + rng.uniform(-0.5, 0.5, t.size)  # the instant each stamped position was taken
    s_stamped = 200.0 * stamped + 0.15 * stamped**2
    path = RetimedPath.of(t, np.column_stack([r * np.sin(s_stamped / r), r * (1 - np.cos(s_stamped / r)),
                                              3_000.0 + 5.0 * stamped]))
    inner = (t > 25) & (t < 95)
    pos, vel = path.state(t[inner])
    err = np.linalg.norm(pos - p[inner], axis=1)
    true_v = np.column_stack([speed * np.cos(ang), speed * np.sin(ang), np.full(t.size, 5.0)])[inner]
    verr = np.linalg.norm(vel - true_v, axis=1)
    assert np.median(err) < 12.0 and err.max() < 30.0, (np.median(err), err.max())
    assert np.median(verr) < 1.5 and verr.max() < 4.0, (np.median(verr), verr.max())


def test_short_records_give_a_line_or_a_point():
    """A stretch of two or three fixes (gaps of up to 15 s are allowed) is fitted, never singular."""
    val, slope = local_quadratic(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 5.0)
    assert np.allclose(val, [1.0, 3.0], atol=1e-5) and np.allclose(slope, 2.0, atol=1e-5)
    val, slope = local_quadratic(np.array([0.0]), np.array([7.0]), 5.0)
    assert val[0] == 7.0 and slope[0] == 0.0
    for k in (2, 3):
        t = np.arange(k) * 10.0
        p = np.column_stack([200.0 * t, np.zeros(k), np.full(k, 1_000.0)])
        pos, vel = RetimedPath.of(t, p).state(np.array([5.0]))
        assert np.allclose(pos[0], [1_000.0, 0.0, 1_000.0], atol=1.0)
        assert np.allclose(vel[0], [200.0, 0.0, 0.0], atol=0.5)
