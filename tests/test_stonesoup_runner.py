"""The Stone Soup baseline runner (benchmarks/stonesoup_runner.py): conventions, output contract, tracking.

Stone Soup is a benchmark extra: without it every test here is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stonesoup")

from stonesoup.types.array import StateVector  # noqa: E402
from stonesoup.types.detection import Detection  # noqa: E402
from stonesoup.types.state import State  # noqa: E402

from skyweave.cli.common import resolve_scenario  # noqa: E402
from skyweave.node.simulate import run_simulation  # noqa: E402
from skyweave.io.formats import FormatError, SensorSpec, iter_state_lines  # noqa: E402

RUNNER = Path(__file__).resolve().parents[1] / "benchmarks" / "stonesoup_runner.py"


def _load_runner():
    spec = importlib.util.spec_from_file_location("stonesoup_runner", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


ssr = _load_runner()


def _radar(x=1000.0, y=-2500.0, sid="R1"):
    return SensorSpec(id=sid, nation="USA", kind="radar", x=x, y=y, z=0.0, releasable_to=("USA",),
                      sigma_range_m=20.0, sigma_bearing_deg=0.05)


# --------------------------------------------------------------------------- conventions


def test_bearing_convention_round_trips_noiseless_detection():
    """A target at bearing b (deg clockwise from north), range r from the radar maps back to its true x, y."""
    spec = _radar()
    model = ssr.measurement_model(spec)
    # all four quadrants, the axes, and both sides of north where the wrap bites
    targets = np.array([
        [1000.0, 7500.0], [1000.5, 7500.0], [999.5, 7500.0], [9000.0, -2500.0], [1000.0, -12500.0],
        [-7000.0, -2500.0], [5000.0, 3000.0], [-3000.0, -9000.0], [6000.0, -8000.0], [-4000.0, 4000.0],
    ])
    dx, dy = targets[:, 0] - spec.x, targets[:, 1] - spec.y
    r = np.hypot(dx, dy)
    b = np.degrees(np.arctan2(dx, dy)) % 360.0  # formats.md: x = sx + r sin b, y = sy + r cos b
    phi = ssr.stonesoup_bearing(b)
    assert np.all((phi >= -np.pi) & (phi < np.pi))
    for k, (px, py) in enumerate(targets):
        det = Detection(StateVector([phi[k], r[k]]), measurement_model=model)
        back = np.asarray(model.inverse_function(det), dtype=float).ravel()
        assert back[0] == pytest.approx(px, abs=1e-6) and back[2] == pytest.approx(py, abs=1e-6)
        # and the forward model of the true state gives the same measurement
        z = np.asarray(model.function(State(StateVector([px, 0.0, py, 0.0])), noise=False), dtype=float).ravel()
        assert math.remainder(z[0] - phi[k], 2 * math.pi) == pytest.approx(0.0, abs=1e-12)
        assert z[1] == pytest.approx(r[k], rel=1e-12)
    # R is diag(sigma_bearing^2 in rad^2, sigma_range^2 in m^2), bearing first
    assert np.allclose(model.covar(), np.diag([np.radians(0.05) ** 2, 400.0]))


def test_state_order_is_converted_to_skyweave():
    """Stone Soup [x, vx, y, vy] becomes [x, y, vx, vy], covariance rows and columns alike."""
    sv = np.array([[1.0, 2.0, 3.0, 4.0]])
    P = np.array([[[10.0 * i + j for j in range(4)] for i in range(4)]])
    x, c = ssr.stonesoup_to_skyweave(sv, P)
    assert x.tolist() == [[1.0, 3.0, 2.0, 4.0]]
    # cov_sw[i, j] = P[p[i], p[j]] with p = (0, 2, 1, 3): var(y) sits at [1, 1], cov(x, vy) at [0, 3]
    assert c[0, 1, 1] == 22.0 and c[0, 0, 1] == 2.0 and c[0, 0, 3] == 3.0 and c[0, 2, 1] == 12.0 and c[0, 3, 2] == 31.0


def test_predict_states_hand_checked():
    """x' = F x, P' = F P F^T + Q with Q = q [[T^3/3, T^2/2], [T^2/2, T]] per axis; dt = 0 changes nothing."""
    tm = ssr.transition_model(3.0)
    sv = np.array([[0.0, 10.0, 5.0, -2.0], [1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0]])
    P = np.array([np.eye(4), np.eye(4), np.eye(4)])
    xs, ps = ssr.predict_states(tm, sv, P, np.array([2.0, 0.0, 2.0]))
    assert xs[0].tolist() == pytest.approx([20.0, 10.0, 1.0, -2.0])
    assert xs[2].tolist() == pytest.approx([1.0, 0.0, 2.0, 1.0])
    axis = np.array([[5.0 + 8.0, 2.0 + 6.0], [2.0 + 6.0, 1.0 + 6.0]])  # F F^T + 3 [[8/3, 2], [2, 2]]
    assert ps[0][np.ix_([0, 1], [0, 1])] == pytest.approx(axis)
    assert ps[0][np.ix_([2, 3], [2, 3])] == pytest.approx(axis)
    assert ps[0][np.ix_([0, 1], [2, 3])] == pytest.approx(np.zeros((2, 2)))
    assert xs[1].tolist() == sv[1].tolist() and np.array_equal(ps[1], P[1])


def test_scans_grouped_per_sensor_and_time_ordered(tmp_path):
    """Lines of one (sensor, t) form one scan even when interleaved; late scans are sorted and counted."""
    sensors = {"epoch": "2024-04-10T00:00:00Z", "dims": 2, "sensors": [
        {"id": "R1", "nation": "USA", "kind": "radar", "x": 0.0, "y": 0.0, "sigma_range_m": 20.0, "sigma_bearing_deg": 0.05},
        {"id": "R2", "nation": "USA", "kind": "radar", "x": 0.0, "y": 100.0, "sigma_range_m": 20.0, "sigma_bearing_deg": 0.05},
    ]}
    (tmp_path / "s.json").write_text(json.dumps(sensors))
    lines = [
        {"t": 1.0, "sensor": "R1", "range_m": 100.0, "bearing_deg": 90.0},
        {"t": 1.0, "sensor": "R2", "range_m": 200.0, "bearing_deg": 0.0},
        {"t": 1.0, "sensor": "R1", "range_m": 300.0, "bearing_deg": 180.0},
        {"t": 0.5, "sensor": "R2", "range_m": 400.0, "bearing_deg": 270.0},  # R2 going back in time: rejected
        {"t": 1.5, "sensor": "R2", "range_m": 500.0, "bearing_deg": 45.0},
        {"t": 0.5, "sensor": "R3", "range_m": 1.0, "bearing_deg": 1.0},  # unknown sensor: rejected
    ]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    errors = []
    _, scans = ssr.read_scans(tmp_path / "s.json", tmp_path / "d.jsonl", errors)
    assert [(s.sensor, s.t, s.range_m.tolist(), s.line.tolist()) for s in scans] == [
        ("R1", 1.0, [100.0, 300.0], [1, 3]), ("R2", 1.0, [200.0], [2]), ("R2", 1.5, [500.0], [5]),
    ]
    assert [e.line for e in errors] == [4, 6]
    assert scans[0].bearing_rad.tolist() == pytest.approx([0.0, -math.pi / 2])  # east is 0, south is -pi/2

    late = [ssr.Scan(t, "R", np.zeros(0), np.zeros(0), np.zeros(0, int)) for t in (1.0, 0.5, 2.0, 1.5, 1.5)]
    ordered, n_late = ssr.time_order(late)
    assert [s.t for s in ordered] == [0.5, 1.0, 1.5, 1.5, 2.0] and n_late == 3
    assert ordered[2] is late[3] and ordered[3] is late[4]  # stable among equal t


def test_three_d_sensors_are_refused(tmp_path, capsys):
    sensors = {"epoch": "2024-04-10T00:00:00Z", "dims": 3, "sensors": [
        {"id": "R1", "nation": "USA", "kind": "radar", "x": 0.0, "y": 0.0, "z": 0.0, "sigma_range_m": 20.0, "sigma_bearing_deg": 0.05},
    ]}
    (tmp_path / "s.json").write_text(json.dumps(sensors))
    (tmp_path / "d.jsonl").write_text('{"t": 0.0, "sensor": "R1", "range_m": 1.0, "bearing_deg": 1.0, "elevation_deg": 1.0}\n')
    with pytest.raises(FormatError, match=r"s\.json: field 'dims': expected 2: .*2-D clutter .*got 3"):
        ssr.run_stonesoup(tmp_path / "s.json", tmp_path / "d.jsonl", tmp_path / "t.jsonl")
    rc = ssr.main(["--sensors", str(tmp_path / "s.json"), "--detections", str(tmp_path / "d.jsonl"), "--out", str(tmp_path / "t.jsonl")])
    assert rc == 2 and "2-D clutter" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end on clutter-10


@pytest.fixture(scope="module")
def clutter10(tmp_path_factory):
    """clutter-10 simulated for 30 s and tracked by Stone Soup: (folder, summary)."""
    d = tmp_path_factory.mktemp("clutter10")
    run_simulation(resolve_scenario("clutter-10"), d, duration=30.0, progress=False)
    summary = ssr.run_stonesoup(d / "sensors.json", d / "detections.jsonl", d / "tracks.jsonl")
    return d, summary


def test_output_follows_the_tracks_contract(clutter10):
    d, summary = clutter10
    errors = []
    recs = list(iter_state_lines(d / "tracks.jsonl", "track_id", errors, dims=2))
    assert errors == [] and len(recs) == summary["track_lines"] > 0
    det_times, scans, n_det = set(), set(), 0
    with open(d / "detections.jsonl") as f:
        for line in f:
            r = json.loads(line)
            det_times.add(r["t"])
            scans.add((r["sensor"], r["t"]))
            n_det += 1
    assert summary["detections"] == n_det and summary["scans"] == len(scans) and summary["format_errors"] == 0
    times = [r["t"] for r in recs]
    assert times == sorted(times) and set(times) <= det_times
    per_t = defaultdict(list)
    for r in recs:
        per_t[r["t"]].append(r["track_id"])
    assert all(len(ids) == len(set(ids)) for ids in per_t.values())
    assert summary["peak_tracks"] == max(len(ids) for ids in per_t.values())
    # ids are SS-1, SS-2, ... in order of first appearance, and each one appears once
    first = list(dict.fromkeys(r["track_id"] for r in recs))
    assert first == [f"SS-{n}" for n in range(1, len(first) + 1)] == [f"SS-{n}" for n in range(1, summary["tracks_confirmed"] + 1)]
    # once confirmed, a track is written at every time until it is deleted: a life without gaps
    order = sorted(det_times)
    for tid in first:
        ts = [order.index(t) for t, ids in per_t.items() if tid in ids]
        assert ts == list(range(ts[0], ts[0] + len(ts)))
    for r in recs:
        c = np.array(r["cov"]).reshape(4, 4)
        assert np.allclose(c, c.T, rtol=1e-6, atol=1e-6) and np.linalg.eigvalsh(c).min() > 0


def test_finds_the_ten_targets(clutter10):
    """At the last time with truth, 8 or more of the 10 targets have a track within 500 m, and few tracks are false."""
    d, _ = clutter10
    truth = defaultdict(list)
    for r in iter_state_lines(d / "truth.jsonl", "id"):
        truth[r["t"]].append((r["x"], r["y"], r["vx"], r["vy"]))
    tracks = defaultdict(list)
    for r in iter_state_lines(d / "tracks.jsonl", "track_id"):
        tracks[r["t"]].append((r["x"], r["y"], r["vx"], r["vy"]))
    t = max(set(truth) & set(tracks))
    assert t >= 29.0
    T, K = np.array(truth[t]), np.array(tracks[t])
    assert len(T) == 10
    dist = np.hypot(T[:, None, 0] - K[None, :, 0], T[:, None, 1] - K[None, :, 1])
    near = dist.min(axis=1) < 500.0
    assert near.sum() >= 8
    assert (dist.min(axis=0) >= 500.0).sum() <= 2  # tracks far from every target
    # the matched tracks' velocities are the targets' (a swapped x/y or sign would break this)
    j = dist.argmin(axis=1)[near]
    assert np.median(np.hypot(*(T[near, 2:4] - K[j, 2:4]).T)) < 30.0


def test_cli_max_time_and_json_summary(clutter10, tmp_path):
    d, _ = clutter10
    out = tmp_path / "tracks.jsonl"
    res = subprocess.run(
        [sys.executable, str(RUNNER), "--sensors", str(d / "sensors.json"), "--detections", str(d / "detections.jsonl"),
         "--out", str(out), "--max-time", "5", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["scans"] == 11  # R1 at t = 0, 1, ..., 5 (inclusive), R2 at 0.5, 1.5, ..., 4.5
    assert s["track_s"] <= s["total_s"] and s["parse_s"] <= s["total_s"]
    times = [r["t"] for r in iter_state_lines(out, "track_id")]
    assert times and max(times) <= 5.0
