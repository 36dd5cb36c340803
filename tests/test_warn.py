"""Missile warning: the ballistic model against the truth's independent integration, impact
prediction and its ellipse, classification of every target type, and the alert life cycle."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from skyweave.cli.main import main
from skyweave.node.simulate import run_simulation
from skyweave.io.formats import load_sensors
from skyweave.io.scans import ScanReader
from skyweave.metrics.warning import inside_ellipse, score_alerts
from skyweave.node.track_files import make_tracker
from skyweave.node.warn_files import warn_files
from skyweave.scenario.ballistic import BallisticSpec, fly_ballistic
from skyweave.track.sensors import build_scan
from skyweave.warn import classify
from skyweave.warn.dynamics import rk4
from skyweave.warn.impact import fly_to_ground, predict_ground
from skyweave.warn.warner import Warner, WarnConfig

MINI = """
name: warn-mini
epoch: "2024-04-10T00:00:00Z"
origin: {lat: 38.0, lon: 133.0, alt: 0.0}
dims: 3
duration_s: 480
seed: 5
nations: [JPN, USA]
sensors:
  - {id: JPN-R1, nation: JPN, kind: radar, lat: 38.05, lon: 136.0, alt: 300, sigma_range_m: 40, sigma_bearing_deg: 0.12,
     sigma_elevation_deg: 0.15, pd: 0.92, clutter_per_scan: 4, period_s: 2.0, max_range_m: 800000, latency_s: 0.4,
     latency_jitter_s: 0.3, fov_el_deg: [-2, 70], releasable_to: [JPN, USA]}
  - {id: USA-DDG1, nation: USA, kind: radar, route: [{lat: 38.3, lon: 132.0, alt: 25}, {lat: 38.4, lon: 133.0, alt: 25}],
     speed_mps: 9, sigma_range_m: 30, sigma_bearing_deg: 0.1, sigma_elevation_deg: 0.12, pd: 0.93, clutter_per_scan: 5,
     period_s: 2.0, max_range_m: 600000, latency_s: 1.0, latency_jitter_s: 1.0, releasable_to: [USA, JPN]}
  - {id: JPN-ADSB, nation: JPN, kind: adsb, lat: 37.9, lon: 134.5, alt: 60, sigma_m: 25, pd: 0.97, max_range_m: 400000,
     releasable_to: [JPN, USA]}
  - {id: USA-SBIRS, nation: USA, kind: ir, sigma_m: 1500, pd: 0.95, period_s: 2.0, min_alt_m: 3000, latency_s: 6,
     latency_jitter_s: 2, releasable_to: [USA, JPN]}
targets:
  - {id: AL1, type: airliner, icao24: 86d2a1, speed_mps: 230, route: [{lat: 37.0, lon: 131.0, alt: 10000}, {lat: 39.0, lon: 136.0, alt: 10000}]}
  - {id: F1, type: military, speed_mps: 250, loop: true,
     route: [{lat: 38.5, lon: 134.0, alt: 8000}, {lat: 39.2, lon: 134.5, alt: 8000}, {lat: 39.0, lon: 135.2, alt: 8000}]}
  - {id: CM1, type: cruise, speed_mps: 240, climb_mps: 5, route: [{lat: 38.2, lon: 134.6, alt: 30}, {lat: 38.1, lon: 135.95, alt: 30}]}
  - {id: BM1, type: ballistic, t_start: 20, launch: {lat: 39.0, lon: 129.5}, azimuth_deg: 95.0, range_km: 600}
"""


@pytest.fixture(scope="module")
def srbm():
    return fly_ballistic(BallisticSpec(39.0, 129.5, 0.0, 95.0, 600_000.0, t_launch=20.0))


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    d = tmp_path_factory.mktemp("warn")
    (d / "mini.yaml").write_text(MINI)
    run_simulation(d / "mini.yaml", d / "run", progress=False)
    return d / "run"


def truth_state(traj, t):
    s = traj.ecef(t)[0]
    return np.r_[s, -np.log(traj.vehicle.beta_rv)]


def test_estimator_dynamics_agree_with_the_truths_independent_integration(srbm):
    """RK4 on the estimator's equations against the simulator's adaptive DOP853, through re-entry."""
    t0 = srbm.burnout_t + 5.0
    x = truth_state(srbm, t0)
    for t1 in (t0 + 100.0, srbm.impact_t - 30.0, srbm.impact_t - 5.0):
        got = rk4(x[None], t1 - t0, max_step_s=1.0)[0]
        want = srbm.ecef(t1)[0]
        assert np.linalg.norm(got[:3] - want[:3]) < 20.0, t1
        assert np.linalg.norm(got[3:6] - want[3:6]) < 0.5
    # and run backwards it retraces its path (the out-of-sequence update relies on it)
    fwd = rk4(x[None], 200.0)[0]
    back = rk4(fwd[None], -200.0)[0]
    np.testing.assert_allclose(back[:6], x[:6], atol=1e-3)


def test_impact_prediction_from_the_true_state_hits_the_true_impact(srbm):
    for t in (srbm.burnout_t + 30.0, srbm.impact_t - 60.0):
        g = predict_ground(truth_state(srbm, t), np.diag([1.0] * 3 + [0.01] * 3 + [1e-6]), t)
        assert g.ok
        imp = {"lat": g.lat, "lon": g.lon, "semi_major_m": 150.0, "semi_minor_m": 150.0, "orientation_deg": 0.0}
        assert inside_ellipse(imp, srbm.impact_lat, srbm.impact_lon), (g.lat, g.lon)
        assert abs(g.t - srbm.impact_t) < 1.0


def test_the_unscented_ellipse_holds_95_percent_of_monte_carlo_impacts(srbm):
    t = srbm.burnout_t + 60.0
    x = truth_state(srbm, t)
    P = np.diag([200.0**2] * 3 + [3.0**2] * 3 + [0.3**2])
    g = predict_ground(x, P, t)
    a, b, o = g.ellipse()
    imp = {"lat": g.lat, "lon": g.lon, "semi_major_m": a, "semi_minor_m": b, "orientation_deg": o}
    rng = np.random.default_rng(1)
    draws = rng.multivariate_normal(x, P, 300)
    dt, r = fly_to_ground(draws)
    from skyweave.geo import ecef2geodetic

    lat, lon, _ = ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])
    share = np.mean([inside_ellipse(imp, la, lo) for la, lo in zip(lat, lon)])
    assert 0.9 <= share <= 0.99, share
    assert abs(np.median(dt) + t - g.t) < 0.35 * np.std(dt)  # the centre point: near the median of a skewed map


def test_classification_evidence():
    alt = np.array([10_000.0, 30.0, 80_000.0, 10_000.0])
    speed = np.array([230.0, 240.0, 2500.0, 240.0])
    climb = np.array([0.0, 0.0, 900.0, 0.0])
    coop = np.array([True, False, False, False])
    e = classify.evidence(alt, speed, climb, coop, np.zeros(4, dtype=bool))
    L = classify.PRIOR[None].repeat(4, 0)
    for _ in range(3):
        L = classify.accumulate(L, e, np.ones(4, dtype=bool))
    c = classify.confidence(L)
    assert [classify.CLASSES[i] for i in c.argmax(1)] == ["aircraft", "cruise", "ballistic", "aircraft"]
    assert c[2, classify.BALLISTIC] > 0.99 and c[0, classify.AIRCRAFT] > 0.99


def run_warner(folder):
    sensors = load_sensors(folder / "sensors.json")
    tr = make_tracker(sensors)
    w = Warner(tr.sensors, tr.frame, WarnConfig(alert_prefix="JPN"))
    updates, pictures = [], {}
    for raw in ScanReader(folder / "detections.jsonl", sensors):
        info = tr.sensors[raw.sensor]
        if info.kind == "ir":
            updates += [u.to_dict() for u in w.on_ir(info, raw.t, raw.cols["lat"], raw.cols["lon"], raw.cols["sigma_m"])]
            continue
        scan = build_scan(info, raw.t, raw.cols, tr.frame, raw.identity, raw.platform)
        tr.process(scan)
        pic = tr.picture()
        updates += [u.to_dict() for u in w.on_scan(scan, pic)]
        pictures[pic.t] = (pic, dict(w.track_class))
    updates += [u.to_dict() for u in w.finish(max(pictures))]
    return tr, w, updates, pictures


def test_every_target_type_is_classified_and_the_missile_warned_of(mini):
    tr, w, updates, pictures = run_warner(mini)
    truths = [d for d in json.loads((mini / "targets.json").read_text()) if d.get("type") == "ballistic"]
    sc = score_alerts(updates, truths)
    assert sc.false_alerts == [] and sc.missed == [] and len(sc.alerts) == 1
    s = sc.summary()
    assert s["coverage_95"] >= 0.85
    late = [u for u in sc.updates if 55.0 <= u["before_impact_s"] <= 120.0]
    assert late and max(u["error_m"] for u in late) < 2_000.0
    # the alert's life: launch (infrared) first, then predicted impacts, closed at impact
    mine = [u for u in updates if u["alert_id"] == "JPN-W1"]
    assert mine[0]["status"] == "launch" and mine[0]["impact"] is None and mine[0]["launch"]["source"] == "infrared"
    assert "tracking" in {u["status"] for u in mine}
    assert mine[-1]["status"] == "closed" and mine[-1]["reason"] == "impact"
    assert all(set(u["releasable_to"]) <= {"USA", "JPN"} for u in mine)
    assert abs(mine[0]["launch"]["lat"] - 39.0) < 0.2 and abs(mine[0]["launch"]["lon"] - 129.5) < 0.2
    # every target type: match the final-ish picture's tracks to truth and check their class
    truth = {}
    for line in (mini / "truth.jsonl").read_text().splitlines():
        d = json.loads(line)
        truth.setdefault(d["t"], []).append(d)
    seen = {}
    for t in sorted(pictures):
        if t not in truth:
            continue
        pic, classes = pictures[t]
        for i, tid in enumerate(pic.ids):
            if tid not in classes:
                continue
            best = min(truth[t], key=lambda d: np.hypot(np.hypot(d["x"] - pic.x[i, 0], d["y"] - pic.x[i, 1]), d["z"] - pic.x[i, 2]))
            dist = np.hypot(np.hypot(best["x"] - pic.x[i, 0], best["y"] - pic.x[i, 1]), best["z"] - pic.x[i, 2])
            if dist < 3_000.0:
                seen.setdefault(best["id"], []).append(classes[tid])
    want = {"AL1": "aircraft", "F1": "aircraft", "CM1": "cruise", "BM1": "ballistic"}
    for target, cls in want.items():
        assert target in seen, f"{target} was never tracked"
        settled = seen[target][len(seen[target]) // 2:]  # after the evidence has built up
        share = np.mean([c == cls for c, conf in settled])
        assert share > 0.9, (target, cls, settled[-5:])


def test_an_infrared_launch_without_radar_is_closed_as_lost():
    from skyweave.track.sensors import SensorInfo

    ir = SensorInfo(index=0, id="SBIRS", kind="ir", nation="USA", dims=3, position=np.zeros(3), moving=False, pd=0.9,
                    clutter_per_scan=0.0, period_s=2.0, max_range_m=1e7, releasable_to=("USA", "JPN"))
    from skyweave.geo import LocalFrame

    w = Warner({"SBIRS": ir}, LocalFrame(38.0, 133.0, 0.0))
    first = [u.to_dict() for u in w.on_ir(ir, 10.0, [39.0], [129.5], [1500.0])]
    assert len(first) == 1 and first[0]["status"] == "launch" and first[0]["releasable_to"] == ["JPN", "USA"]
    assert w.on_ir(ir, 12.0, [39.0], [129.52], [1500.0]) == []  # the same launch: one alert
    assert w.finish(100.0) == []
    last = [u.to_dict() for u in w.finish(1000.0)]
    assert [(u["alert_id"], u["status"], u["reason"]) for u in last] == [(first[0]["alert_id"], "closed", "lost")]


def test_warn_command_prints_the_timeline_and_writes_alerts_jsonl(mini, tmp_path):
    r = CliRunner().invoke(main, ["warn", str(mini), "--out", str(tmp_path / "alerts.jsonl"), "--prefix", "JPN"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "LAUNCH" in r.output and "TRACKING" in r.output and "CLOSED" in r.output and "1 alerts" in r.output
    lines = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    keys = {"t", "alert_id", "threat", "launch", "impact", "time_to_impact_s", "places", "confidence", "releasable_to", "status"}
    assert lines and all(keys <= set(u) for u in lines)
    assert [u["t"] for u in lines] == sorted(u["t"] for u in lines)
    tracking = [u for u in lines if u["status"] == "tracking"]
    assert {"lat", "lon", "t", "semi_major_m", "semi_minor_m", "orientation_deg"} <= set(tracking[0]["impact"])


def test_warn_json_prints_one_object_per_update(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI.replace("duration_s: 480", "duration_s: 60"))
    run_simulation(tmp_path / "mini.yaml", tmp_path / "run", progress=False)
    r = CliRunner().invoke(main, ["warn", str(tmp_path / "run"), "--json"], catch_exceptions=False)
    assert r.exit_code == 0
    got = [json.loads(x) for x in r.stdout.splitlines()]
    assert got and got[0]["status"] == "launch" and got[0]["alert_id"] == "SW-W1"
    s = warn_files(tmp_path / "run", lambda u: None)
    assert s["alert_updates"] == len(got) and s["bad_lines"] == 0


def test_warn_refuses_a_flat_scenario(tmp_path):
    r = CliRunner().invoke(main, ["simulate", "clutter-10", "--out", str(tmp_path / "c"), "--duration", "5", "--json"])
    assert r.exit_code == 0
    r = CliRunner().invoke(main, ["warn", str(tmp_path / "c")])
    assert r.exit_code == 1 and "needs a 3-D scenario" in r.stderr
