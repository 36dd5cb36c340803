"""Truth motion against closed forms: legs, coordinated turns, climbs, and the exact CT step."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from skyweave.geo import LocalFrame
from skyweave.scenario.motion import G0, RoutePath, ct_step, plane_from_geodetic, route_states


def square_route(speed=230.0, bank=25.0):
    pts = np.array([[0.0, 0.0], [100_000.0, 0.0], [100_000.0, 100_000.0]])
    return RoutePath.plan(pts, np.array([1000.0, 10_000.0, 10_000.0]), speed, bank)


def test_turn_radius_is_the_coordinated_turn_radius():
    v, bank = 230.0, 25.0
    path = square_route(v, bank)
    arc = np.flatnonzero(path.kind == 1)[0]
    assert np.isclose(path.r[arc], v**2 / (G0 * np.tan(np.radians(bank))))
    # sampled positions on the arc are at that distance from the centre
    s = np.linspace(path.s0[arc], path.s0[arc + 1], 50)
    pos, vel, _, _ = path.plane_state(s, v, 10.0)
    np.testing.assert_allclose(np.linalg.norm(pos - path.c[arc], axis=1), path.r[arc], rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(vel, axis=1), v)


def test_path_is_continuous_and_flown_at_constant_speed_in_2d():
    path = square_route()
    t = np.arange(0.0, path.length / 230.0, 0.25)
    st_ = route_states(path, t, 0.0, 230.0, 10.0, None, dims=2)
    steps = np.linalg.norm(np.diff(st_[:, :2], axis=0), axis=1)
    np.testing.assert_allclose(steps, 230.0 * 0.25, rtol=1e-5)  # chords of the arcs are shorter by ~1e-6
    # the path length is the legs minus what the turn cuts off: 2·L − 2r·tan(45°) + r·π/2
    r = path.r[path.kind == 1][0]
    assert np.isclose(path.length, 200_000.0 - 2 * r + r * np.pi / 2)


def test_climb_at_the_configured_rate_then_level():
    path = square_route()
    t = np.array([0.0, 100.0, 500.0, 800.0, 820.0])
    st_ = route_states(path, t, 0.0, 230.0, 10.0, None, dims=3)
    # the climb carries on past the first waypoint without a jump, then levels at 10,000 m
    np.testing.assert_allclose(st_[:, 2], [1000.0, 2000.0, 6000.0, 9000.0, 9200.0])
    np.testing.assert_allclose(st_[:, 5], [10.0, 10.0, 10.0, 10.0, 10.0])
    t = np.arange(0.0, path.length / 230.0, 0.5)
    alt = route_states(path, t, 0.0, 230.0, 10.0, None, dims=3)[:, 2]
    assert np.max(np.abs(np.diff(alt))) <= 5.0 + 1e-9
    assert np.isclose(alt[-1], min(10_000.0, 1000.0 + 10.0 * t[-1]))


def test_not_alive_before_start_or_after_the_end():
    path = square_route()
    st_ = route_states(path, np.array([-1.0, 1e6]), 0.0, 230.0, 10.0, None, dims=2)
    assert np.isnan(st_).all()


def test_geodetic_placement_keeps_altitude_and_velocity_is_the_derivative():
    f = LocalFrame(37.5, 134.0, 0.0)
    pts = plane_from_geodetic(f, np.array([37.0, 40.0]), np.array([130.0, 139.0]))
    path = RoutePath.plan(pts, np.array([10_000.0, 10_000.0]), 240.0)
    t = np.arange(0.0, 3000.0, 1.0)
    st_ = route_states(path, t, 0.0, 240.0, 10.0, f, dims=3)
    _, _, alt = f.to_geodetic(st_[:, :3])
    np.testing.assert_allclose(alt, 10_000.0, atol=1e-3)
    fd = (st_[2:, :3] - st_[:-2, :3]) / 2.0
    np.testing.assert_allclose(st_[1:-1, 3:], fd, atol=0.01)
    lat, lon, _ = f.to_geodetic(np.array([[*pts[1], 0.0]]))
    np.testing.assert_allclose([lat[0], lon[0]], [40.0, 139.0], atol=1e-8)


@given(st.floats(-0.2, 0.2), st.floats(0.01, 20.0))
def test_ct_step_matches_fine_integration(omega, dt):
    x0 = np.array([[1000.0, -500.0, 200.0, 50.0]])
    exact = ct_step(x0, np.array([omega]), dt)
    # integrate x'' = ω × v with many tiny exact-rotation-free Euler-Cromer steps via RK4
    def f(s):
        return np.array([s[2], s[3], -omega * s[3], omega * s[2]])
    s = x0[0].copy()
    n = 400
    h = dt / n
    for _ in range(n):
        k1 = f(s); k2 = f(s + h / 2 * k1); k3 = f(s + h / 2 * k2); k4 = f(s + h * k3)
        s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    np.testing.assert_allclose(exact[0], s, atol=1e-6)


def test_ct_full_circle_returns_home_and_zero_rate_is_constant_velocity():
    x0 = np.array([[0.0, 0.0, 100.0, 0.0], [5.0, 6.0, 7.0, 8.0]])
    w = np.array([2 * np.pi / 100.0, 0.0])
    out = ct_step(x0, w, 100.0)
    np.testing.assert_allclose(out[0], x0[0], atol=1e-9)
    np.testing.assert_allclose(out[1], [5.0 + 700.0, 6.0 + 800.0, 7.0, 8.0])
