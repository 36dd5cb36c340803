"""Ballistic truth against independent checks: an inertial-frame integration, the Jacobi integral,
the requested range and azimuth, boost and re-entry physics, and the ENU view of the flight."""

import numpy as np
import pytest

from skyweave.geo import LocalFrame, OMEGA_EARTH, ecef2geodetic, geodetic2ecef
from skyweave.geo.earth import (
    air_density,
    frame_acceleration,
    gravity_j2,
    gravity_potential_j2,
    height_above_ellipsoid_fast,
)
from skyweave.scenario.ballistic import BallisticSpec, _ground_range_azimuth, enu_states, fly_ballistic


@pytest.fixture(scope="module")
def mrbm():
    return fly_ballistic(BallisticSpec(40.2, 127.0, 0.0, 95.0, 900_000.0, t_launch=500.0))


def _rot_z(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_free_flight_agrees_with_an_independent_inertial_integration(mrbm):
    """Integrate the coast phase in an inertial frame with a hand-written RK4 (J2 only) and compare.

    The truth integrates in the rotating ECEF frame (Coriolis, centrifugal terms) with an adaptive
    DOP853; the check integrates Newton's law in inertial axes with fixed-step RK4. Above 150 km
    the truth has no drag, so the two must agree to a few metres after over 4 minutes of flight.
    """
    t = np.linspace(mrbm.burnout_t, mrbm.impact_t, 2000)
    h = height_above_ellipsoid_fast(mrbm.ecef(t)[:, :3])
    space = t[h > 150_000.0]
    t0, t1 = space[0] + 1.0, space[-1] - 1.0
    s0 = mrbm.ecef(t0)[0]
    # ECEF -> inertial axes coinciding at t0: v_i = v_e + ω×r
    r = s0[:3].copy()
    v = s0[3:] + np.cross([0.0, 0.0, OMEGA_EARTH], r)
    dt = 0.25
    n = int(round((t1 - t0) / dt))
    y = np.concatenate([r, v])

    def f(y):
        return np.concatenate([y[3:], gravity_j2(y[:3])])  # J2 is symmetric about z: same in inertial axes

    for _ in range(n):
        k1 = f(y)
        k2 = f(y + 0.5 * dt * k1)
        k3 = f(y + 0.5 * dt * k2)
        k4 = f(y + dt * k3)
        y = y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    te = t0 + n * dt
    rot = _rot_z(-OMEGA_EARTH * (te - t0))  # inertial -> ECEF after the earth turned
    r_e = rot @ y[:3]
    v_e = rot @ y[3:] - np.cross([0.0, 0.0, OMEGA_EARTH], r_e)
    truth = mrbm.ecef(te)[0]
    assert te - t0 > 240.0
    assert np.linalg.norm(r_e - truth[:3]) < 5.0  # metres after > 4 minutes of free flight
    assert np.linalg.norm(v_e - truth[3:]) < 0.01  # m/s


def test_jacobi_integral_is_conserved_in_free_flight(mrbm):
    """In the rotating frame with a time-independent potential, ½|v|² − ½ω²(x²+y²) + U is constant."""
    t = np.linspace(mrbm.burnout_t, mrbm.impact_t, 3000)
    s = mrbm.ecef(t)
    h = height_above_ellipsoid_fast(s[:, :3])
    s = s[h > 150_000.0]
    jac = 0.5 * np.sum(s[:, 3:] ** 2, axis=1) - 0.5 * OMEGA_EARTH**2 * np.sum(s[:, :2] ** 2, axis=1) + gravity_potential_j2(s[:, :3])
    assert len(s) > 500
    assert np.ptp(jac) / abs(jac.mean()) < 1e-9


def test_gravity_is_minus_the_gradient_of_the_potential():
    rng = np.random.default_rng(3)
    for _ in range(5):
        lat, lon, alt = rng.uniform(-80, 80), rng.uniform(-180, 180), rng.uniform(0, 1e6)
        r = np.array(geodetic2ecef(lat, lon, alt))
        eps = 1.0
        grad = np.array([(gravity_potential_j2(r + e) - gravity_potential_j2(r - e)) / (2 * eps) for e in np.eye(3) * eps])
        np.testing.assert_allclose(gravity_j2(r), -grad, rtol=1e-6)


def test_frame_acceleration_is_coriolis_plus_centrifugal():
    r = np.array([4e6, 3e6, 3.5e6])
    v = np.array([100.0, -2000.0, 300.0])
    w = np.array([0.0, 0.0, OMEGA_EARTH])
    want = -2 * np.cross(w, v) - np.cross(w, np.cross(w, r))
    np.testing.assert_allclose(frame_acceleration(r, v), want, rtol=1e-12)


def test_atmosphere_matches_the_1976_standard_at_its_layer_bases_and_falls_monotonically():
    assert air_density(0.0) == pytest.approx(1.225)
    assert air_density(11_000.0) == pytest.approx(0.36480, rel=1e-9)
    # between the rows used: within 2 % of the standard's other tabulated values
    assert air_density(10_000.0) == pytest.approx(0.41351, rel=0.02)
    assert air_density(35_000.0) == pytest.approx(0.0084634, rel=0.02)
    assert air_density(65_000.0) == pytest.approx(1.6321e-4, rel=0.02)
    h = np.linspace(0, 200_000, 1000)
    assert np.all(np.diff(air_density(h)) < 0)


def test_fast_height_is_the_geodetic_height():
    rng = np.random.default_rng(1)
    lat, lon, alt = rng.uniform(-89, 89, 500), rng.uniform(-180, 180, 500), rng.uniform(0, 1e6, 500)
    r = np.stack(geodetic2ecef(lat, lon, alt), axis=-1)
    got = height_above_ellipsoid_fast(r)
    assert np.all(np.abs(got - alt) <= 1e-3 * alt + 1e-6)


@pytest.mark.parametrize("range_km, az", [(300.0, 120.0), (2500.0, 80.0)])
def test_impact_is_at_the_requested_range_and_azimuth(range_km, az):
    lat0, lon0 = 39.8, 126.2
    tr = fly_ballistic(BallisticSpec(lat0, lon0, 0.0, az, range_km * 1000.0, t_launch=10.0))
    d, flown_az = _ground_range_azimuth(lat0, lon0, tr.impact_lat, tr.impact_lon)
    assert d == pytest.approx(range_km * 1000.0, rel=1e-3)
    assert abs((flown_az - az + 180) % 360 - 180) < 0.01
    # and the impact really is on the ground
    last = tr.ecef(tr.impact_t)[0]
    _, _, alt = ecef2geodetic(*last[:3])
    assert abs(alt) < 1.0
    assert tr.t[0] == 10.0 < tr.burnout_t < tr.impact_t


def test_boost_rises_vertically_then_turns_and_reentry_slows_the_vehicle(mrbm):
    lat0, lon0 = mrbm.spec.launch_lat, mrbm.spec.launch_lon
    frame = LocalFrame(lat0, lon0, 0.0)
    early = enu_states(mrbm, frame, [mrbm.t[0] + 3.0])[0]
    assert early[5] > 0 and np.hypot(early[3], early[4]) < 1e-3 * early[5]  # straight up
    t = np.linspace(mrbm.t[0], mrbm.burnout_t, 200)
    s = enu_states(mrbm, frame, t)
    speed = np.linalg.norm(s[:, 3:], axis=1)
    assert np.all(np.diff(speed[20:]) > 0)  # thrust outweighs gravity and drag through the boost
    assert np.all(np.diff(s[:, 2]) > 0)
    # burnout: a few km/s, climbing, heading down-range
    bo = s[-1]
    assert 2000.0 < np.linalg.norm(bo[3:]) < 4500.0 and bo[5] > 0
    # re-entry: the speed falls as drag bites in the last tens of km (vacuum flight would speed up)
    t_end = np.linspace(mrbm.impact_t - 40.0, mrbm.impact_t, 200)
    e = mrbm.ecef(t_end)
    h = height_above_ellipsoid_fast(e[:, :3])
    v = np.linalg.norm(e[:, 3:], axis=1)
    low = h < 15_000.0
    assert low.sum() > 5 and np.all(np.diff(v[low]) < 0)
    # the Jacobi "energy" is lost to drag between 100 km on the way down and impact
    def jacobi(st):
        return 0.5 * st[3:] @ st[3:] - 0.5 * OMEGA_EARTH**2 * (st[0] ** 2 + st[1] ** 2) + gravity_potential_j2(st[:3])
    hi = e[np.argmin(np.abs(h - 100_000.0))] if (h > 100_000.0).any() else mrbm.ecef(mrbm.burnout_t + 60.0)[0]
    assert jacobi(e[-1]) < jacobi(hi) - 1e5


def test_enu_states_are_nan_outside_the_flight_and_velocity_is_the_derivative(mrbm):
    frame = LocalFrame(37.5, 134.0, 0.0)
    s = enu_states(mrbm, frame, [mrbm.t[0] - 1.0, mrbm.impact_t + 1.0])
    assert np.isnan(s).all()
    t = np.array([mrbm.burnout_t + 100.0])
    h = 1e-3
    p = enu_states(mrbm, frame, np.concatenate([t - h, t, t + h]))
    np.testing.assert_allclose((p[2, :3] - p[0, :3]) / (2 * h), p[1, 3:], atol=1e-3)
