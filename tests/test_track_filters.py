"""Filters and models: consistency (NEES inside chi-square bounds), Jacobians, and a conformance
suite every estimator passes (shapes, symmetry, positive definiteness, determinism)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from skyweave.geo import LocalFrame, sensor_transform
from skyweave.scenario.motion import ct_step
from skyweave.track.estimator import IMM, SingleModel
from skyweave.track.filters import KalmanFilter, UnscentedKalmanFilter, innovations, update
from skyweave.track.measurement import CartesianMeasurement, PolarMeasurement
from skyweave.track.motion import ConstantAcceleration, ConstantVelocity, CoordinatedTurn

RUNS = 400


def polar2d(sx=0.0, sy=-30_000.0):
    return PolarMeasurement(d=2, rot=np.eye(3), shift=np.array([-sx, -sy, 0.0]), has_elevation=False, has_range_rate=False)


def simulate_truth(model, x0, steps, dt, rng):
    """Truth that follows the model exactly, with process noise drawn from its Q."""
    N, n = x0.shape
    xs = [x0]
    x = x0
    for _ in range(steps):
        if isinstance(model, CoordinatedTurn):
            Q = model.noise(np.full(N, dt))
            x = model.f(x, np.full(N, dt))
        else:
            F, Q = model.matrices(np.full(N, dt))
            x = np.einsum("nij,nj->ni", F, x)
        L = np.linalg.cholesky(Q + 1e-12 * np.eye(n))
        x = x + np.einsum("nij,nj->ni", L, rng.standard_normal((N, n)))
        xs.append(x)
    return xs


def run_filter(filt, meas, R, truth, P0, dt, rng):
    """Run N independent tracks through predict/update; return the NEES per step (steps, N)."""
    N, n = truth[0].shape
    x = truth[0] + rng.standard_normal((N, n)) @ np.linalg.cholesky(P0).T
    P = np.broadcast_to(P0, (N, n, n)).copy()
    out = []
    Lr = np.linalg.cholesky(R)
    for k in range(1, len(truth)):
        x, P = filt.predict(x, P, np.full(N, dt))
        z = meas.h(truth[k]) + rng.standard_normal((N, R.shape[0])) @ Lr.T
        mp = filt.predict_measurement(meas, x, P)
        y, S, Si = innovations(meas, mp, z, np.broadcast_to(R, (N,) + R.shape))
        x, P = update(x, P, mp, y, S, Si)
        e = x - truth[k]
        out.append(np.einsum("ni,nij,nj->n", e, np.linalg.inv(P), e))
    return np.array(out)


def assert_consistent(nees, n, share=0.85):
    """The mean NEES over N runs lies in its 95 % chi-square interval for most steps, and overall."""
    steps, N = nees.shape
    lo, hi = chi2.ppf(0.025, N * n) / N, chi2.ppf(0.975, N * n) / N
    avg = nees.mean(axis=1)
    inside = np.mean((avg >= lo) & (avg <= hi))
    assert inside >= share, f"only {inside:.0%} of steps inside [{lo:.2f}, {hi:.2f}]; mean NEES {avg.mean():.2f}"
    total = nees[5:].mean()
    assert abs(total - n) < 0.1 * n, f"time-averaged NEES {total:.2f}, expected {n}"


def test_kf_cv_cartesian_is_consistent():
    rng = np.random.default_rng(1)
    m = ConstantVelocity(d=2, q=5.0)
    x0 = np.tile([0.0, 0.0, 200.0, -50.0], (RUNS, 1))
    truth = simulate_truth(m, x0, 40, 1.0, rng)
    P0 = np.diag([100.0**2, 100.0**2, 30.0**2, 30.0**2])
    nees = run_filter(KalmanFilter(m), CartesianMeasurement(d=2, m=2), np.eye(2) * 50.0**2, truth, P0, 1.0, rng)
    assert_consistent(nees, 4)


@pytest.mark.parametrize("filt_cls", [KalmanFilter, UnscentedKalmanFilter])
def test_ekf_and_ukf_polar_are_consistent(filt_cls):
    rng = np.random.default_rng(2)
    m = ConstantVelocity(d=2, q=5.0)
    x0 = np.tile([5_000.0, 20_000.0, 150.0, 100.0], (RUNS, 1))
    truth = simulate_truth(m, x0, 40, 1.0, rng)
    R = np.diag([20.0**2, np.radians(0.1) ** 2])
    P0 = np.diag([100.0**2, 100.0**2, 30.0**2, 30.0**2])
    nees = run_filter(filt_cls(m), polar2d(), R, truth, P0, 1.0, rng)
    assert_consistent(nees, 4)


def test_ca_is_consistent():
    rng = np.random.default_rng(3)
    m = ConstantAcceleration(d=2, q=0.5)
    x0 = np.tile([0.0, 0.0, 200.0, 0.0, 0.0, 3.0], (RUNS, 1))
    truth = simulate_truth(m, x0, 40, 1.0, rng)
    P0 = np.diag([50.0**2] * 2 + [20.0**2] * 2 + [2.0**2] * 2)
    nees = run_filter(KalmanFilter(m), CartesianMeasurement(d=2, m=2), np.eye(2) * 20.0**2, truth, P0, 1.0, rng)
    assert_consistent(nees, 6)


@pytest.mark.parametrize("filt_cls", [KalmanFilter, UnscentedKalmanFilter])
def test_ct_on_a_turning_target_is_consistent(filt_cls):
    rng = np.random.default_rng(4)
    m = CoordinatedTurn(d=2, q=0.5, q_omega=1e-6)
    x0 = np.tile([0.0, 0.0, 250.0, 0.0, np.radians(3.0)], (RUNS, 1))
    truth = simulate_truth(m, x0, 40, 1.0, rng)
    P0 = np.diag([30.0**2, 30.0**2, 10.0**2, 10.0**2, np.radians(0.5) ** 2])
    nees = run_filter(filt_cls(m), CartesianMeasurement(d=2, m=2), np.eye(2) * 30.0**2, truth, P0, 1.0, rng)
    assert_consistent(nees, 5, share=0.8)


def test_ct_transition_matches_the_simulators_exact_turn_and_its_jacobian_is_the_derivative():
    m = CoordinatedTurn(d=3, q=1.0)
    rng = np.random.default_rng(5)
    x = np.column_stack([rng.normal(0, 1e4, (20, 3)), rng.normal(0, 200, (20, 3)), rng.normal(0, 0.05, 20)])
    x[0, -1] = 0.0  # the ω → 0 limit
    x[1, -1] = 1e-7
    dt = rng.uniform(0.1, 5.0, 20)
    got = m.f(x, dt)
    for i in range(20):
        want = ct_step(x[i, [0, 1, 3, 4]][None], np.array([x[i, -1]]), dt[i])[0]
        np.testing.assert_allclose(got[i, [0, 1, 3, 4]], want, rtol=1e-9, atol=1e-6)
        assert got[i, 2] == pytest.approx(x[i, 2] + dt[i] * x[i, 5])
    J = m.jacobian(x, dt)
    eps = 1e-6
    for j in range(7):
        dx = np.zeros(7)
        dx[j] = eps * max(1.0, abs(x[:, j]).max())
        num = (m.f(x + dx, dt) - m.f(x - dx, dt)) / (2 * dx[j])
        np.testing.assert_allclose(J[:, :, j], num, rtol=1e-4, atol=1e-5)


def test_cv_matrices_are_the_textbook_ones():
    F, Q = ConstantVelocity(d=2, q=3.0).matrices(np.array([2.0]))
    np.testing.assert_allclose(F[0], [[1, 0, 2, 0], [0, 1, 0, 2], [0, 0, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(Q[0], 3.0 * np.array([[8 / 3, 0, 2, 0], [0, 8 / 3, 0, 2], [2, 0, 2, 0], [0, 2, 0, 2]]))


def test_polar_jacobian_is_the_derivative_in_a_geodetic_sensor_frame():
    frame = LocalFrame(37.5, 134.0, 0.0)
    rot, shift = sensor_transform(frame, [150_000.0, -80_000.0, 300.0])
    meas = PolarMeasurement(d=3, rot=rot, shift=shift, has_elevation=True, has_range_rate=True, v_platform=np.array([5.0, -3.0, 0.0]))
    rng = np.random.default_rng(6)
    x = np.column_stack([rng.normal(0, 2e5, (10, 2)), rng.uniform(1e3, 1e4, 10), rng.normal(0, 200, (10, 3))])
    H = meas.jacobian(x)
    for j in range(6):
        dx = np.zeros(6)
        dx[j] = 1e-3
        num = meas.residual(meas.h(x + dx), meas.h(x - dx)) / 2e-3
        np.testing.assert_allclose(H[:, :, j], num, rtol=1e-5, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.floats(1e3, 4e5), st.floats(0, 360, exclude_max=True), st.floats(-5, 60))
def test_polar_to_cartesian_inverts_h(r, b, e):
    frame = LocalFrame(37.5, 134.0, 0.0)
    rot, shift = sensor_transform(frame, [-200_000.0, 100_000.0, 50.0])
    meas = PolarMeasurement(d=3, rot=rot, shift=shift, has_elevation=True, has_range_rate=False)
    z = np.array([[r, np.radians(b), np.radians(e)]])
    p, C = meas.to_cartesian(z, np.diag([1.0, 1e-6, 1e-6])[None])
    back = meas.h(np.concatenate([p, np.zeros((1, 3))], axis=1))
    np.testing.assert_allclose(meas.residual(back, z), 0.0, atol=1e-6)
    assert np.all(np.linalg.eigvalsh(C) > -1e-6)


def estimators():
    d = 2
    return [
        SingleModel(KalmanFilter(ConstantVelocity(d=d, q=2.0))),
        SingleModel(UnscentedKalmanFilter(ConstantVelocity(d=d, q=2.0))),
        SingleModel(KalmanFilter(ConstantAcceleration(d=d, q=1.0))),
        SingleModel(KalmanFilter(CoordinatedTurn(d=d, q=2.0))),
        SingleModel(UnscentedKalmanFilter(CoordinatedTurn(d=d, q=2.0))),
        IMM([KalmanFilter(ConstantVelocity(d=d, q=1.0, turn_rate=True)), KalmanFilter(CoordinatedTurn(d=d, q=2.0))], [30.0, 15.0]),
        IMM([UnscentedKalmanFilter(ConstantVelocity(d=d, q=1.0, turn_rate=True)), UnscentedKalmanFilter(CoordinatedTurn(d=d, q=2.0))], [30.0, 15.0]),
    ]


@pytest.mark.parametrize("est", estimators(), ids=lambda e: e.name)
def test_estimator_conformance(est):
    """Shapes, symmetric positive-definite covariances, determinism, and an update that reduces uncertainty."""
    n = est.n
    N = 7
    rng = np.random.default_rng(7)
    x = np.zeros((N, n))
    x[:, :2] = rng.normal(0, 1e4, (N, 2))
    x[:, 2:4] = rng.normal(0, 200, (N, 2))
    P = np.broadcast_to(np.diag(np.r_[[100.0**2] * 2, [50.0**2] * 2, [1.0] * (n - 4)]), (N, n, n)).copy()
    st0 = est.new(x, P)
    a = est.predict(st0, np.linspace(0.5, 3.0, N))
    b = est.predict(st0, np.linspace(0.5, 3.0, N))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    xc, Pc = est.combined(a)
    assert xc.shape == (N, n) and Pc.shape == (N, n, n)
    np.testing.assert_allclose(Pc, np.swapaxes(Pc, 1, 2), atol=1e-9 * np.abs(Pc).max())
    assert np.all(np.linalg.eigvalsh(Pc) > 0)
    meas = polar2d()
    mp = est.predict_measurement(a, meas)
    assert mp.zhat.shape == (N, 2) and mp.Pzz.shape == (N, 2, 2) and mp.Pxz.shape == (N, n, 2)
    z = meas.h(xc)
    R = np.broadcast_to(np.diag([20.0**2, np.radians(0.1) ** 2]), (N, 2, 2))
    upd, loglik = est.update(a, meas, z, R)
    xu, Pu = est.combined(upd)
    assert loglik.shape == (N,) and np.all(np.isfinite(loglik))
    assert np.all(np.trace(Pu[:, :2, :2], axis1=1, axis2=2) < np.trace(Pc[:, :2, :2], axis1=1, axis2=2))
    assert np.all(np.linalg.eigvalsh(Pu) > 0)
    # a PDA update with all weight on the same measurement equals the single update
    rows = np.arange(N)
    pda = est.update_pda(a, meas, z, R, rows, np.ones(N), np.zeros(N))
    xp, Pp = est.combined(pda)
    np.testing.assert_allclose(xp, xu, rtol=1e-6, atol=1e-6)


def test_imm_mode_probability_follows_a_turn():
    """Fed a target that turns at 3°/s, the IMM moves its weight to the CT mode, and back when it flies straight."""
    d = 2
    imm = IMM([KalmanFilter(ConstantVelocity(d=d, q=0.5, turn_rate=True)), KalmanFilter(CoordinatedTurn(d=d, q=0.5, q_omega=1e-4))], [30.0, 15.0])
    meas = CartesianMeasurement(d=2, m=2)
    st_ = imm.new(np.array([[0.0, 0.0, 250.0, 0.0, 0.0]]), np.diag([50.0**2, 50.0**2, 20.0**2, 20.0**2, 0.05**2])[None])
    x = np.array([[0.0, 0.0, 250.0, 0.0]])
    rng = np.random.default_rng(8)
    R = np.eye(2)[None] * 20.0**2
    mus = []
    for k in range(90):
        w = np.radians(3.0) if 30 <= k < 60 else 0.0
        x = ct_step(x, np.array([w]), 1.0)
        st_ = imm.predict(st_, np.array([1.0]))
        z = x[:, :2] + rng.normal(0, 20.0, (1, 2))
        st_, _ = imm.update(st_, meas, z, R)
        mus.append(st_["mu"][0, 1])
    mus = np.array(mus)
    assert mus[20:30].mean() < 0.3 and mus[45:60].mean() > 0.8 and mus[80:90].mean() < 0.3


@settings(max_examples=50, deadline=None)
@given(st.floats(10.0, 4e5), st.floats(0, 360, exclude_max=True), st.floats(-5e4, 5e4), st.floats(-5e4, 5e4))
def test_flat_polar_to_cartesian_inverts_h_and_its_covariance_is_the_jacobians(r, b, sx, sy):
    meas = polar2d(sx, sy)
    z = np.array([[r, np.radians(b)]])
    R = np.diag([20.0**2, np.radians(0.1) ** 2])[None]
    p, C = meas.to_cartesian(z, R)
    back = meas.h(np.concatenate([p, np.zeros((1, 2))], axis=1))
    np.testing.assert_allclose(meas.residual(back, z), 0.0, atol=1e-6)
    H = meas.jacobian(np.concatenate([p, np.zeros((1, 2))], axis=1))[0, :, :2]
    Hi = np.linalg.inv(H)
    np.testing.assert_allclose(C[0], Hi @ R[0] @ Hi.T, rtol=1e-6, atol=1e-9)
