"""Honest missile warnings: status labels true to the missile's phase, impact ellipses that hold the
truth as often as they say, and a drag coefficient learnt in time, on one short-range launch seen by
three kinds of node (a few seconds of simulation; the 36-launch figures are benchmarks/bench_warn.py).
"""

import json
import math

import numpy as np
import pytest

from skyweave.geo import ecef2geodetic
from skyweave.io.formats import load_sensors
from skyweave.io.scans import ScanReader
from skyweave.metrics.warning import (coverage_by_launch, coverage_interval, inside_ellipse, label_truth,
                                      phase_at, score_alerts)
from skyweave.node.simulate import run_simulation
from skyweave.node.track_files import make_tracker
from skyweave.scenario.ballistic import BallisticSpec, fly_ballistic, vehicle_for_range
from skyweave.track.sensors import build_scan
from skyweave.warn.bank import beta_for_range
from skyweave.warn.impact import fly_to_ground, predict_ground
from skyweave.warn.warner import WarnConfig, Warner

RANGE_KM = 600.0
#: the re-entry vehicle's ballistic coefficient: two standard deviations of the warner's drag prior
#: below the typical one for its range (the trilateral's BM3 case: a blunt, slow-falling warhead)
BETA_LOW = beta_for_range(RANGE_KM) * math.exp(-2.0 * WarnConfig().range_prior_sigma)

SCENARIO = f"""
name: warn-calibration
epoch: "2024-04-10T00:00:00Z"
origin: {{lat: 38.0, lon: 133.0, alt: 0.0}}
dims: 3
duration_s: 520
seed: 8
nations: [JPN, USA]
sensors:
  # sees the boost: a destroyer 250 km from the launch site
  - {{id: USA-DDG1, nation: USA, kind: radar, route: [{{lat: 38.3, lon: 132.0, alt: 25}}, {{lat: 38.4, lon: 133.0, alt: 25}}],
     speed_mps: 9, sigma_range_m: 30, sigma_bearing_deg: 0.1, sigma_elevation_deg: 0.12, sigma_range_rate_mps: 1.0,
     pd: 0.93, clutter_per_scan: 3, period_s: 2.0, max_range_m: 900000, latency_s: 1.0, latency_jitter_s: 1.0,
     releasable_to: [USA, JPN]}}
  # sees the missile only late in its flight: a coastal radar of short reach near the impact area
  - {{id: JPN-R9, nation: JPN, kind: radar, lat: 38.6, lon: 137.2, alt: 200, sigma_range_m: 30, sigma_bearing_deg: 0.08,
     sigma_elevation_deg: 0.1, sigma_range_rate_mps: 1.0, pd: 0.95, clutter_per_scan: 3, period_s: 2.0,
     max_range_m: 330000, fov_el_deg: [1, 85], latency_s: 0.5, latency_jitter_s: 0.3, releasable_to: [JPN, USA]}}
  - {{id: USA-SBIRS, nation: USA, kind: ir, sigma_m: 1500, pd: 0.95, period_s: 2.0, min_alt_m: 3000, latency_s: 6,
     latency_jitter_s: 2, releasable_to: [USA, JPN]}}
targets:
  - {{id: AL1, type: airliner, icao24: 86d2a1, speed_mps: 230, route: [{{lat: 37.0, lon: 131.0, alt: 10000}}, {{lat: 39.0, lon: 136.0, alt: 10000}}]}}
  - {{id: BM1, type: ballistic, t_start: 20, launch: {{lat: 39.0, lon: 129.5}}, azimuth_deg: 95.0, range_km: {RANGE_KM:.0f},
     beta_kg_m2: {BETA_LOW:.1f}}}
"""


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    d = tmp_path_factory.mktemp("calib")
    (d / "s.yaml").write_text(SCENARIO)
    run_simulation(d / "s.yaml", d / "run", progress=False)
    truths = [t for t in json.loads((d / "run" / "targets.json").read_text()) if t.get("type") == "ballistic"]
    return d / "run", truths


def warn_over(folder, sensors_used=None):
    """Alert updates (dicts) of a warner fed the scenario's scans, of ``sensors_used`` only (None: all)."""
    sensors = load_sensors(folder / "sensors.json")
    tr = make_tracker(sensors)
    w = Warner(tr.sensors, tr.frame, WarnConfig())
    updates, t_last = [], 0.0
    for raw in ScanReader(folder / "detections.jsonl", sensors):
        if sensors_used is not None and raw.sensor not in sensors_used:
            continue
        info = tr.sensors[raw.sensor]
        t_last = max(t_last, raw.t)
        if info.kind == "ir":
            updates += [u.to_dict() for u in w.on_ir(info, raw.t, raw.cols["lat"], raw.cols["lon"], raw.cols["sigma_m"])]
            continue
        scan = build_scan(info, raw.t, raw.cols, tr.frame, raw.identity, raw.platform)
        tr.process(scan)
        updates += [u.to_dict() for u in w.on_scan(scan, tr.picture())]
    return updates + [u.to_dict() for u in w.finish(t_last)]


# ---------------------------------------------------------------------------- the measures

TRUTH = {"id": "M1", "launch": {"lat": 39.0, "lon": 129.5, "t": 100.0}, "burnout_t": 160.0,
         "impact": {"lat": 38.5, "lon": 136.4, "t": 520.0}}


def test_phase_of_a_missile():
    assert [phase_at(TRUTH, t) for t in (99.0, 100.0, 160.0, 160.5, 519.9, 520.0)] == [
        "before launch", "boost", "boost", "free flight", "free flight", "landed"]


def test_labels_are_judged_against_the_phase_at_their_time():
    ups = [{"alert_id": "A", "t": 130.0, "status": "launch"},
           {"alert_id": "A", "t": 150.0, "status": "boost"},
           {"alert_id": "B", "t": 172.0, "status": "boost"},                       # 12 s after burnout
           {"alert_id": "A", "t": 158.0, "status": "tracking"},                    # 2 s before burnout
           {"alert_id": "A", "t": 300.0, "status": "tracking"},
           {"alert_id": "A", "t": 523.0, "status": "tracking"},                    # 3 s after impact
           {"alert_id": "A", "t": 510.0, "status": "closed", "reason": "impact"},  # 10 s early
           {"alert_id": "A", "t": 525.0, "status": "closed", "reason": "impact"},
           {"alert_id": "C", "t": 400.0, "status": "closed", "reason": "lost"}]    # claims no phase
    got = label_truth(ups, TRUTH)
    assert [(x["label"], x["ok"]) for x in got] == [
        ("launch", True), ("boost", True), ("boost", False), ("tracking", False), ("tracking", True),
        ("tracking", False), ("closed impact", False), ("closed impact", True)]
    assert [x["off_s"] for x in got if not x["ok"]] == [12.0, 2.0, 3.0, 10.0]
    assert got[2]["phase"] == "free flight" and got[3]["phase"] == "boost"


def test_score_alerts_reports_false_labels():
    ups = [{"t": 172.0, "alert_id": "A", "status": "boost", "launch": {"lat": 39.0, "lon": 129.5, "t": 100.0},
            "impact": None}]
    sc = score_alerts(ups, [TRUTH])
    assert sc.summary()["labels_false"] == 1 and sc.labels[0]["label"] == "boost"


def test_coverage_interval_takes_launches_as_the_unit():
    # ten launches of 200 updates: five always inside their ellipse, five inside half the time
    ups = [{"truth": f"L{k}", "inside": (k < 5) or (i % 2 == 0)} for k in range(10) for i in range(200)]
    assert coverage_by_launch(ups)["L0"] == (200, 200) and coverage_by_launch(ups)["L7"] == (200, 100)
    p, lo, hi, n = coverage_interval(ups)
    assert p == 0.75 and n == 10
    # far wider than the binomial interval of 2,000 independent updates (±1.9 %): the unit is a launch
    assert lo < 0.68 and hi > 0.82 and lo < p < hi
    assert coverage_interval(ups) == (p, lo, hi, n)          # deterministic
    assert coverage_interval([{"truth": "L", "inside": True}] * 5) == (1.0, 1.0, 1.0, 1)
    p, lo, hi, n = coverage_interval([])
    assert n == 0 and math.isnan(p)


# ---------------------------------------------------------------------------- the warner

def test_a_node_that_sees_the_boost_without_infrared_warns_of_a_launch_then_the_impact(flight):
    """Without infrared, a radar that sees the boost cannot make "boost" true as it says it (its
    evidence lags the burnout by scans): the alert opens with "launch" (a ballistic launch is
    known, true in every phase) while the engine burns, and gives the impact soon after burnout."""
    folder, truths = flight
    tr = truths[0]
    ups = warn_over(folder, {"USA-DDG1", "JPN-R9"})
    sc = score_alerts(ups, truths)
    assert sc.missed == [] and sc.false_alerts == []
    assert "boost" not in {u["status"] for u in ups}
    assert ups[0]["status"] == "launch" and ups[0]["impact"] is None and ups[0]["t"] < tr["burnout_t"]
    first_impact = next(u for u in ups if u["status"] == "tracking")
    assert tr["burnout_t"] < first_impact["t"] < tr["burnout_t"] + 30.0
    assert [x for x in sc.labels if not x["ok"]] == []


def test_a_node_that_sees_the_missile_only_late_never_says_boost(flight):
    """The GBR case of the trilateral: a radar that first sees the missile long after burnout, no
    infrared. Its alert says "launch" or gives the impact, never ``boost``."""
    folder, truths = flight
    ups = warn_over(folder, {"JPN-R9"})
    tr = truths[0]
    sc = score_alerts(ups, truths)
    assert sc.missed == [] and ups
    assert ups[0]["t"] > tr["burnout_t"] + 60.0           # the radar only sees the descent
    assert "boost" not in {u["status"] for u in ups}
    assert {u["status"] for u in ups} <= {"launch", "tracking", "closed"}
    assert next(u for u in ups if u["status"] == "tracking")["impact"] is not None
    assert [x for x in sc.labels if not x["ok"]] == []


def test_full_node_labels_coverage_and_a_drag_two_sigma_off_the_prior(flight):
    """Infrared, the boost radar and the terminal radar: every label true, the ellipses hold the true
    impact in at least 80 % of the updates, and the drag of a warhead two standard deviations off
    the prior is learnt on its climb, in time for the prediction standing 60 s after burnout to be
    within 2 km, and in its re-entry, for the one standing 60 s before impact."""
    folder, truths = flight
    tr = truths[0]
    assert abs(math.log(tr["beta_kg_m2"] / beta_for_range(RANGE_KM)) + 0.8) < 0.01
    ups = warn_over(folder)
    sc = score_alerts(ups, truths)
    assert sc.missed == [] and sc.false_alerts == [] and len(sc.alerts) == 1
    assert [x for x in sc.labels if not x["ok"]] == []
    assert {x["label"] for x in sc.labels} >= {"launch", "tracking", "closed impact"}
    # "tracking" only while the missile surely flies: before its predicted impact time less the
    # margin and 3 σ of that time; the close at impact comes after the last one, past the true impact
    cfg = WarnConfig()
    tracking = [u for u in ups if u["status"] == "tracking"]
    for u in tracking:
        imp = u["impact"]
        assert u["t"] <= imp["t"] - cfg.impact_margin_s - cfg.impact_sigmas * imp["sigma_t_s"] + 0.02, u
    close = next(u for u in ups if u["status"] == "closed")
    assert close["reason"] == "impact" and tracking[-1]["t"] < tr["impact"]["t"] <= close["t"]
    n, k = coverage_by_launch(sc.updates)[tr["id"]]
    assert n > 50 and k / n >= 0.8, (k, n)
    # its climb after the burnout at 45 km shows the blunt warhead's drag (skyweave/warn/climb.py):
    # 60 s after the burnout the prediction standing is within 2 km (3.9 km with the drag prior alone)
    after_burnout = [x for x in sc.updates if x["t"] <= tr["burnout_t"] + 60.0]
    assert after_burnout and after_burnout[-1]["error_m"] < 2_000.0, after_burnout[-1]
    standing = [x for x in sc.updates if x["t"] <= tr["impact"]["t"] - 60.0]
    assert standing and standing[-1]["error_m"] < 2_000.0, standing[-1]
    assert np.median([x["error_m"] for x in sc.updates if x["before_impact_s"] < 30.0]) < 500.0


# ---------------------------------------------------------------------------- the ellipse

def test_the_ellipse_reaches_the_long_side_of_an_unknown_drag():
    """Before re-entry the drag coefficient is a prior (σ 0.4 in ln β) and the map from ln β to the
    impact is skewed: a blunt warhead falls far shorter than a slender one falls long. The ellipse
    takes each direction's farther side, so a warhead two σ on the long side still lies inside it,
    and about 95 % of Monte Carlo impacts or more do."""
    traj = fly_ballistic(BallisticSpec(39.0, 129.5, 0.0, 95.0, 600_000.0), vehicle_for_range(600_000.0))
    t = traj.burnout_t + 60.0
    sigma = WarnConfig().range_prior_sigma
    x = np.r_[traj.ecef(t)[0], -math.log(beta_for_range(600.0))]
    P = np.diag([150.0**2] * 3 + [2.0**2] * 3 + [sigma**2])
    g = predict_ground(x, P, t)
    a, b, o = g.ellipse()
    imp = {"lat": g.lat, "lon": g.lon, "semi_major_m": a, "semi_minor_m": b, "orientation_deg": o}
    blunt = x.copy()
    blunt[6] += 2.0 * sigma                                   # β two σ below the prior: more drag
    _, r = fly_to_ground(blunt[None])
    lat, lon, _ = ecef2geodetic(r[0, 0], r[0, 1], r[0, 2])
    assert inside_ellipse(imp, float(lat), float(lon))
    plain = predict_ground(x, P, t, worse_side=False)          # the symmetric transform: shorter
    assert plain.ellipse()[0] < 0.9 * a and (plain.lat, plain.lon, plain.t) == (g.lat, g.lon, g.t)
    draws = np.random.default_rng(3).multivariate_normal(x, P, 300)
    _, r = fly_to_ground(draws)
    lat, lon, _ = ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])
    share = np.mean([inside_ellipse(imp, la, lo) for la, lo in zip(lat, lon)])
    assert 0.95 <= share <= 0.995, share
