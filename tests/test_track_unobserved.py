"""3-D tracking with sensors that do not measure everything (issue 13, item 1).

A 3-D picture from radars without elevation must hold its altitude as an unobserved state (a
bounded prior that never drifts), lose nothing horizontally against the 2-D reading of the same
data, and take its altitude from a sensor that measures it.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from skyweave.cli.main import main
from skyweave.track import TrackerConfig
from skyweave.track.tracker import Tracker, bound_unobserved_altitude

ROOT = Path(__file__).resolve().parents[1]


def _writer():
    spec = importlib.util.spec_from_file_location("make_independent_3d", ROOT / "benchmarks" / "make_independent_3d.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _track_and_score(d: Path, truth: Path, horizontal: bool) -> tuple[dict, list]:
    runner = CliRunner()
    out = d / "tracks.jsonl"
    r = runner.invoke(main, ["track", "--sensors", str(d / "sensors.json"), "--detections", str(d / "detections.jsonl"),
                             "--out", str(out)])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    scored = out
    if horizontal:  # nothing measures altitude here: score x, y only
        scored = d / "tracks_xy.jsonl"
        scored.write_text("".join(json.dumps({k: v for k, v in rec.items() if k not in ("z", "vz", "cov")}) + "\n"
                                  for rec in recs))
    r = runner.invoke(main, ["eval", "--truth", str(truth), "--tracks", str(scored), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output), recs


@pytest.fixture(scope="module")
def small_case(tmp_path_factory):
    """A small independent scenario (20 targets, 40 s), its 3-D and 2-D readings tracked and scored."""
    base = tmp_path_factory.mktemp("unobserved")
    paths = _writer().write(base, n_targets=20, duration=40.0, seed=5)
    s3, recs3 = _track_and_score(paths[3], paths[2] / "truth.jsonl", horizontal=True)
    s2, _ = _track_and_score(paths[2], paths[2] / "truth.jsonl", horizontal=False)
    return s3, s2, recs3


def test_3d_reading_of_2d_radars_is_as_good_horizontally_as_the_2d_reading(small_case):
    s3, s2, _ = small_case
    assert s3["gospa_mean"] <= 1.02 * s2["gospa_mean"], (s3["gospa_mean"], s2["gospa_mean"])
    assert s3["siap_id_changes"] <= s2["siap_id_changes"] + 1
    assert s3["rmse_position_m"] <= 1.05 * s2["rmse_position_m"]


def test_unobserved_altitude_does_not_drift(small_case):
    *_, recs3 = small_case
    z = np.array([r["z"] for r in recs3])
    vz = np.array([r["vz"] for r in recs3])
    cfg = TrackerConfig()
    assert np.all(np.abs(z - cfg.init_alt_m) < 1.0)   # nothing measures it: it stays at the prior
    assert np.all(np.abs(vz) < 1.0)
    P = np.array([r["cov"] for r in recs3]).reshape(len(recs3), 6, 6)
    assert np.all(np.sqrt(P[:, 2, 2]) <= cfg.init_alt_sigma_m + 1e-6)   # bounded, however long
    assert np.all(np.sqrt(P[:, 5, 5]) <= cfg.init_vz_sigma_mps + 1e-6)
    assert np.allclose(P[:, 2, [0, 1, 3, 4]], 0.0)                      # and no leak into x, y


def test_bound_keeps_covariances_positive_and_leaves_observed_tracks_alone():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 6, 6))
    P = A @ np.swapaxes(A, 1, 2) * 1e6
    D = np.diag([1.0, 1.0, 1e-2, 1.0, 1.0, 1.0])
    P[0] = D @ P[0] @ D   # an observed altitude (σ_z ≪ 500 m): untouched
    out = bound_unobserved_altitude({"x": np.zeros((3, 6)), "P": P}, 1000.0, 10.0, 3)
    assert np.array_equal(out["P"][0], P[0])
    assert np.all(np.linalg.eigvalsh(out["P"]) > -1e-6)
    assert np.all(out["P"][1:, 2, 2] <= 1e6 + 1e-6) and np.all(out["P"][1:, 5, 5] <= 100 + 1e-9)


class _Spec:
    def __init__(self, **kw):
        self.extra = {}
        self.moving = False
        self.z = 0.0
        self.pd = 0.99
        self.clutter_per_scan = 0.0
        self.period_s = 1.0
        self.max_range_m = 100_000.0
        self.releasable_to = ()
        for k in ("sigma_range_m", "sigma_bearing_deg", "sigma_elevation_deg", "sigma_range_rate_mps", "sigma_m"):
            setattr(self, k, None)
        self.__dict__.update(kw)


@pytest.mark.parametrize("source", ["radar3d", "cartesian"])
def test_a_height_measuring_sensor_gives_the_track_its_altitude(source):
    """A track started by a radar without elevation takes its altitude from a 3-D radar or a 3-D position."""
    from skyweave.geo import LocalFrame
    from skyweave.track.sensors import build_scan

    frame = LocalFrame(35.0, 139.0, 0.0)
    r2 = _Spec(id="R2D", kind="radar", nation="JPN", x=0.0, y=0.0, sigma_range_m=30.0, sigma_bearing_deg=0.1)
    r3 = _Spec(id="R3D", kind="radar", nation="JPN", x=5000.0, y=0.0, sigma_range_m=30.0, sigma_bearing_deg=0.1,
               sigma_elevation_deg=0.1)
    cart = _Spec(id="C3D", kind="cartesian", nation="JPN", x=0.0, y=0.0, sigma_m=30.0)
    tr = Tracker([r2, r3, cart], 3, frame, TrackerConfig(confirm_m=2, confirm_n=3))
    info = tr.sensors
    rng = np.random.default_rng(1)
    alt = 800.0
    for k in range(30):
        t = float(k)
        p = np.array([20_000.0 + 150.0 * t, 10_000.0, alt])
        ps = p @ info["R2D"].transform(frame, None)[0].T + info["R2D"].transform(frame, None)[1]
        cols = {"range_m": np.array([np.linalg.norm(ps) + rng.normal(0, 30)]),
                "bearing_deg": np.array([np.degrees(np.arctan2(ps[0], ps[1])) % 360 + rng.normal(0, 0.1)])}
        tr.process(build_scan(info["R2D"], t, cols, frame))
        if k >= 10:
            if source == "radar3d":
                rot, sh = info["R3D"].transform(frame, None)
                q = rot @ p + sh
                cols = {"range_m": np.array([np.linalg.norm(q)]),
                        "bearing_deg": np.array([np.degrees(np.arctan2(q[0], q[1])) % 360]),
                        "elevation_deg": np.array([np.degrees(np.arctan2(q[2], np.hypot(q[0], q[1])))])}
                tr.process(build_scan(info["R3D"], t + 0.5, cols, frame))
            else:
                cols = {"x": np.array([p[0]]), "y": np.array([p[1]]), "z": np.array([p[2]]), "sigma_m": np.array([30.0])}
                tr.process(build_scan(info["C3D"], t + 0.5, cols, frame))
        if k == 9:  # before any height: at the prior
            pic = tr.picture()
            assert len(pic) == 1 and abs(pic.x[0, 2] - tr.config.init_alt_m) < 1.0
    pic = tr.picture()
    assert len(pic) == 1
    assert abs(pic.x[0, 2] - alt) < 100.0, pic.x[0]
    assert np.sqrt(pic.P[0, 2, 2]) < 100.0
    assert np.hypot(pic.x[0, 0] - (20_000.0 + 150.0 * 29.5), pic.x[0, 1] - 10_000.0) < 150.0
