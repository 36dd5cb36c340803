"""Geodesy: round trips below a millimetre, agreement with pymap3d, radar horizon geometry."""

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyweave import geo

lats = st.floats(-89.9, 89.9)
lons = st.floats(-180.0, 180.0)
alts = st.floats(-500.0, 2_000_000.0)  # sea floor to beyond a ballistic apogee


@given(lats, lons, alts)
def test_geodetic_ecef_round_trip_below_a_millimetre(lat, lon, alt):
    x, y, z = geo.geodetic2ecef(lat, lon, alt)
    la, lo, al = geo.ecef2geodetic(x, y, z)
    back = np.array(geo.geodetic2ecef(la, lo, al))
    assert np.linalg.norm(back - np.array([x, y, z])) < 1e-3
    assert abs(al - alt) < 1e-3


@given(lats, lons, alts, st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-2e4, 1e6))
@settings(max_examples=200)
def test_enu_round_trip_below_a_millimetre(lat0, lon0, alt0, e, n, u):
    alt0 = min(alt0, 10_000.0)
    lat, lon, alt = geo.enu2geodetic(e, n, u, lat0, lon0, alt0)
    e2, n2, u2 = geo.geodetic2enu(lat, lon, alt, lat0, lon0, alt0)
    assert np.linalg.norm(np.array([e2 - e, n2 - n, u2 - u])) < 1e-3


@given(st.floats(1.0, 5e6), st.floats(0.0, 359.999), st.floats(-89.0, 89.0))
def test_polar_round_trip(r, az, el):
    e, n, u = geo.polar2enu(r, az, el)
    r2, az2, el2 = geo.enu2polar(e, n, u)
    assert abs(r2 - r) < 1e-6 * max(r, 1.0)
    assert abs((az2 - az + 180.0) % 360.0 - 180.0) < 1e-7
    assert abs(el2 - el) < 1e-7


def test_azimuth_is_clockwise_from_north():
    _, az, _ = geo.enu2polar(np.array([0.0, 1.0, 0.0, -1.0]), np.array([1.0, 0.0, -1.0, 0.0]), 0.0)
    np.testing.assert_allclose(az, [0.0, 90.0, 180.0, 270.0])


def test_agrees_with_pymap3d_vectorised():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-80, 80, 2000)
    lon = rng.uniform(-180, 180, 2000)
    alt = rng.uniform(0, 1e6, 2000)
    ours = np.array(geo.geodetic2enu(lat, lon, alt, 35.0, 139.0, 10.0))
    ref = np.array(pymap3d.geodetic2enu(lat, lon, alt, 35.0, 139.0, 10.0))
    assert np.max(np.abs(ours - ref)) < 1e-3
    back = np.array(geo.ecef2geodetic(*geo.geodetic2ecef(lat, lon, alt)))
    ref_back = np.array(pymap3d.ecef2geodetic(*pymap3d.geodetic2ecef(lat, lon, alt)))
    assert np.max(np.abs(back[2] - ref_back[2])) < 1e-3


def test_local_frame_matches_functions_and_transform_composes():
    f = geo.LocalFrame(37.5, 134.0, 0.0)
    p = np.array([[120_000.0, -80_000.0, 9_000.0], [-300_000.0, 250_000.0, 100.0]])
    lat, lon, alt = f.to_geodetic(p)
    np.testing.assert_allclose(np.column_stack(geo.geodetic2enu(lat, lon, alt, 37.5, 134.0, 0.0)), p, atol=1e-6)
    sensor = np.array([50_000.0, 20_000.0, 300.0])
    R, t = geo.sensor_transform(f, sensor)
    s_lat, s_lon, s_alt = f.to_geodetic(sensor)
    want = np.column_stack(geo.geodetic2enu(lat, lon, alt, s_lat, s_lon, s_alt))
    np.testing.assert_allclose(p @ R.T + t, want, atol=1e-6)
    np.testing.assert_allclose(sensor @ R.T + t, 0.0, atol=1e-6)


def test_flat_sensor_transform_is_a_shift():
    R, t = geo.sensor_transform(None, [10.0, 20.0])
    np.testing.assert_allclose(np.array([[11.0, 22.0, 3.0]]) @ R.T + t, [[1.0, 2.0, 3.0]])


def test_radar_horizon_matches_the_textbook_approximation():
    # d ≈ sqrt(2 k R h_s) + sqrt(2 k R h_t): 4/3 earth, 10 m mast, 30 m target ≈ 13.0 + 22.6 km
    d = geo.radar_horizon_range(10.0, 30.0)
    re = geo.K_EFFECTIVE * geo.R_MEAN
    approx = np.sqrt(2 * re * 10.0) + np.sqrt(2 * re * 30.0)
    assert abs(d - approx) / approx < 1e-4
    assert 35_000 < d < 36_500
    # Skolnik's rule of thumb: d[km] ≈ 4.12 (sqrt(h_s[m]) + sqrt(h_t[m]))
    assert d / 1000 == pytest.approx(4.12 * (np.sqrt(10.0) + np.sqrt(30.0)), rel=0.01)


def test_above_radar_horizon_hides_a_sea_skimmer_and_shows_an_airliner():
    f = geo.LocalFrame(37.0, 135.0, 0.0)
    s = f.to_ecef(np.array([0.0, 0.0, 25.0]))
    far_low = f.from_geodetic(*geo.enu2geodetic(60_000.0, 0.0, 0.0, 37.0, 135.0, 0.0)[:2], 30.0)
    far_high = f.from_geodetic(*geo.enu2geodetic(60_000.0, 0.0, 0.0, 37.0, 135.0, 0.0)[:2], 10_000.0)
    near_low = f.from_geodetic(*geo.enu2geodetic(20_000.0, 0.0, 0.0, 37.0, 135.0, 0.0)[:2], 30.0)
    tgt = f.to_ecef(np.array([far_low, far_high, near_low]))
    vis = geo.above_radar_horizon(s, 25.0, tgt, np.array([30.0, 10_000.0, 30.0]))
    assert vis.tolist() == [False, True, True]
