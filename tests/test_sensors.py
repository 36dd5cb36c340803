"""Sensor statistics match their configuration within confidence bounds; masking and latency work."""

import numpy as np
import pytest

from skyweave.geo import LocalFrame, enu2polar
from skyweave.scenario.sensors import SensorSim, TargetTable
from skyweave.scenario.spec import SensorModel


def radar(**kw):
    base = dict(id="R", nation="USA", kind="radar", releasable_to=("USA",), x=0.0, y=0.0, z=0.0,
                sigma_range_m=50.0, sigma_bearing_deg=0.2, pd=0.8, clutter_per_scan=0.0, max_range_m=300_000.0)
    base.update(kw)
    return SensorModel.build(**base)


def table(n, coop=False):
    return TargetTable(ids=[f"T{i}" for i in range(n)], types=np.array(["aircraft"] * n),
                       icao24=[f"{i:06x}" if coop else None for i in range(n)])


def states_2d(n, rng, r_max=100_000.0):
    st = np.zeros((n, 6))
    st[:, :2] = rng.uniform(-r_max / 1.5, r_max / 1.5, (n, 2))
    st[:, 3:5] = rng.normal(0, 200, (n, 2))
    return st


def test_radar_noise_and_pd_match_configuration():
    rng = np.random.default_rng(3)
    n = 4000
    sim = SensorSim(radar(), None, 2, table(n))
    st = states_2d(n, rng)
    scan = sim.scan(0.0, st, rng)
    r_true, az_true, _ = enu2polar(st[:, 0], st[:, 1], 0.0)
    idx = scan.truth_index
    assert (idx >= 0).all()
    # Pd: binomial 99.9 % interval
    pd_hat = idx.size / n
    assert abs(pd_hat - 0.8) < 3.3 * np.sqrt(0.8 * 0.2 / n)
    dr = scan.columns["range_m"] - r_true[idx]
    db = (scan.columns["bearing_deg"] - az_true[idx] + 180) % 360 - 180
    # sample std within ±10 % (chi-square with ~3200 dof: 99.9 % bounds are ±5.5 %)
    assert dr.std() == pytest.approx(50.0, rel=0.1)
    assert db.std() == pytest.approx(0.2, rel=0.1)
    assert abs(dr.mean()) < 4 * 50.0 / np.sqrt(idx.size)


def test_clutter_rate_is_poisson_with_the_configured_mean_and_uniform_in_area():
    rng = np.random.default_rng(5)
    sim = SensorSim(radar(clutter_per_scan=12.0, pd=0.0), None, 2, table(1))
    counts, ranges = [], []
    for k in range(600):
        s = sim.scan(float(k), np.full((1, 6), np.nan), rng)
        counts.append(len(s))
        ranges.append(s.columns["range_m"])
        assert (s.truth_index == -1).all()
    counts = np.array(counts)
    assert abs(counts.mean() - 12.0) < 4 * np.sqrt(12.0 / 600)
    assert counts.var() == pytest.approx(12.0, rel=0.2)  # Poisson: variance = mean
    r = np.concatenate(ranges) / 300_000.0
    # uniform in area: P(r < 0.5 R) = 0.25
    assert np.mean(r < 0.5) == pytest.approx(0.25, abs=0.02)


def test_field_of_view_and_max_range_bound_detections():
    rng = np.random.default_rng(7)
    n = 3000
    sim = SensorSim(radar(pd=1.0, fov_az_deg=(300.0, 60.0), max_range_m=50_000.0), None, 2, table(n))
    st = states_2d(n, rng, 150_000.0)
    scan = sim.scan(0.0, st, rng)
    r, az, _ = enu2polar(st[scan.truth_index, 0], st[scan.truth_index, 1], 0.0)
    assert (r <= 50_000.0).all()
    assert ((az >= 300.0) | (az <= 60.0)).all()
    r_all, az_all, _ = enu2polar(st[:, 0], st[:, 1], 0.0)
    inside = (r_all <= 50_000.0) & ((az_all >= 300.0) | (az_all <= 60.0))
    assert scan.truth_index.size == inside.sum()


def test_horizon_hides_low_targets_far_away_in_3d():
    f = LocalFrame(37.0, 135.0, 0.0)
    sim = SensorSim(radar(pd=1.0, z=20.0, sigma_elevation_deg=0.2), f, 3, table(3))
    pts = []
    for d, h in ((30_000.0, 30.0), (80_000.0, 30.0), (80_000.0, 9_000.0)):
        lat, lon, _ = f.to_geodetic(np.array([d, 0.0, 0.0]))
        pts.append(f.from_geodetic(lat, lon, h))
    st = np.zeros((3, 6))
    st[:, :3] = pts
    scan = sim.scan(0.0, st, np.random.default_rng(0))
    assert sorted(scan.truth_index.tolist()) == [0, 2]
    assert "elevation_deg" in scan.columns


def test_adsb_reports_only_cooperative_targets_with_configured_accuracy():
    f = LocalFrame(37.0, 135.0, 0.0)
    rng = np.random.default_rng(11)
    n = 2000
    tb = table(n, coop=True)
    tb.icao24[::2] = [None] * len(tb.icao24[::2])  # every other target has no transponder
    sim = SensorSim(SensorModel.build(id="A", nation="JPN", kind="adsb", releasable_to=("JPN",), x=0.0, y=0.0, z=50.0,
                                sigma_m=30.0, sigma_alt_m=8.0, pd=1.0, max_range_m=400_000.0), f, 3, tb)
    st = np.zeros((n, 6))
    st[:, :2] = rng.uniform(-150_000, 150_000, (n, 2))
    lat, lon, _ = f.to_geodetic(st[:, :3])
    st[:, :3] = f.from_geodetic(lat, lon, np.full(n, 10_000.0))
    scan = sim.scan(0.0, st, rng)
    assert (scan.truth_index % 2 == 1).all() and scan.truth_index.size == n // 2
    got = f.from_geodetic(scan.columns["lat"], scan.columns["lon"], scan.columns["alt"])
    err = got - st[scan.truth_index, :3]
    assert err[:, 0].std() == pytest.approx(30.0, rel=0.12)
    assert err[:, 2].std() == pytest.approx(8.0, rel=0.12)
    assert scan.extra["icao24"] == [tb.icao24[i] for i in scan.truth_index]


def test_ir_sees_only_boosting_missiles():
    f = LocalFrame(37.0, 135.0, 0.0)
    sim = SensorSim(SensorModel.build(id="IR", nation="USA", kind="ir", releasable_to=("USA",), sigma_m=1000.0, pd=1.0,
                                min_alt_m=3000.0), f, 3, table(3))
    st = np.zeros((3, 6))
    st[:, 2] = [20_000.0, 20_000.0, 1_000.0]
    scan = sim.scan(0.0, st, np.random.default_rng(0), boosting=np.array([True, False, True]))
    assert scan.truth_index.tolist() == [0]


def test_moving_platform_reports_its_position():
    f = LocalFrame(37.0, 135.0, 0.0)
    from skyweave.scenario.spec import Waypoint
    m = radar(x=None, y=None, z=None, route=(Waypoint(lat=37.0, lon=135.0, alt=25.0), Waypoint(lat=37.0, lon=136.0, alt=25.0)),
              speed_mps=10.0, sigma_elevation_deg=0.1, pd=1.0)
    sim = SensorSim(m, f, 3, table(1))
    p0, p1 = sim.platform_state(0.0), sim.platform_state(100.0)
    assert np.linalg.norm(p1[:3] - p0[:3]) == pytest.approx(1000.0, rel=1e-3)
    st = np.zeros((1, 6))
    st[0, :3] = [20_000.0, 0.0, 5_000.0]
    scan = sim.scan(100.0, st, np.random.default_rng(0))
    assert scan.sensor_geo is not None and scan.sensor_geo[2] == pytest.approx(25.0, abs=0.01)
