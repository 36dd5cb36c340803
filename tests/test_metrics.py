"""The metrics room: GOSPA/OSPA, RMSE, SIAP, ANEES and the PCRLB, on hand-checkable cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import solve_discrete_are
from scipy.optimize import linear_sum_assignment

from skyweave.metrics import (
    CartesianSensor,
    PcrlbStream,
    PolarSensor,
    Scorer,
    SUMMARY_KEYS,
    anees,
    anees_interval,
    assign_within,
    cv_process_noise,
    cv_transition,
    gospa,
    gospa_series,
    hermite_states,
    interpolate_truth,
    ospa,
    pcrlb,
    rmse,
)
from skyweave.metrics import assignment as assignment_mod


def gospa_dense(X, Y, c, p):
    """Reference GOSPA (alpha = 2) by brute force on the dummy-augmented square assignment problem."""
    X, Y = np.asarray(X, float).reshape(-1, 2), np.asarray(Y, float).reshape(-1, 2)
    n, m = len(X), len(Y)
    if n + m == 0:
        return 0.0
    big = 1e18
    C = np.full((n + m, m + n), big)
    if n and m:
        d = np.linalg.norm(X[:, None] - Y[None], axis=2)
        C[:n, :m] = np.minimum(d, c) ** p
    C[np.arange(n), m + np.arange(n)] = c**p / 2  # truth i left unassigned
    C[n + np.arange(m), np.arange(m)] = c**p / 2  # track j left unassigned
    C[n:, m:] = 0.0
    r, k = linear_sum_assignment(C)
    return C[r, k].sum() ** (1 / p)


# --------------------------------------------------------------------------- GOSPA by hand


def test_one_truth_one_track_closer_than_c_costs_their_distance():
    g = gospa([[0.0, 0.0]], [[30.0, 40.0]], c=100.0, p=1)
    assert g.gospa == pytest.approx(50.0)
    assert (g.localisation, g.missed, g.false) == (pytest.approx(50.0), 0.0, 0.0)
    assert (g.n_assigned, g.n_missed, g.n_false) == (1, 0, 0)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_far_apart_costs_one_missed_and_one_false(p):
    c = 100.0
    g = gospa([[0.0, 0.0]], [[500.0, 0.0]], c=c, p=p)
    assert g.gospa == pytest.approx((c**p / 2 * 2) ** (1 / p))
    assert g.missed_p == pytest.approx(c**p / 2) and g.false_p == pytest.approx(c**p / 2)
    assert g.localisation_p == 0.0 and (g.n_missed, g.n_false) == (1, 1)


def test_missed_and_false_counts_and_parts():
    c, p = 100.0, 2.0
    truth = [[0, 0], [1000, 0], [2000, 0]]
    tracks = [[3, 4], [5000, 5000], [6000, 0], [1000, 10]]
    g = gospa(truth, tracks, c=c, p=p)
    assert (g.n_assigned, g.n_missed, g.n_false) == (2, 1, 2)
    assert g.localisation_p == pytest.approx(25 + 100)
    assert g.missed_p == pytest.approx(c**p / 2) and g.false_p == pytest.approx(2 * c**p / 2)
    assert g.gospa == pytest.approx(np.sqrt(125 + 1.5 * c**2))


def test_empty_sets():
    assert gospa(np.zeros((0, 2)), np.zeros((0, 2))).gospa == 0.0
    assert gospa([[0, 0], [9, 9]], np.zeros((0, 2)), c=10, p=1).gospa == pytest.approx(10.0)
    assert gospa(np.zeros((0, 3)), [[0, 0, 0]], c=10, p=2).gospa == pytest.approx(np.sqrt(50.0))


def test_assignment_prefers_the_pairing_with_the_least_total_cost():
    # nearest first would pair truth 1 with track 0 (4 m) and leave truth 0 and track 1 alone: 4 + 5 + 5
    truth = [[0.0, 0.0], [10.0, 0.0]]
    tracks = [[6.0, 0.0], [16.0, 0.0]]
    g = gospa(truth, tracks, c=10.0, p=1)
    assert g.n_assigned == 2 and g.gospa == pytest.approx(12.0)
    assert g.gospa == pytest.approx(gospa_dense(truth, tracks, 10.0, 1))


@pytest.mark.parametrize("path", ["per-component", "large-component", "batched"])
def test_sparse_clustered_solution_equals_dense_brute_force(path, monkeypatch):
    if path == "large-component":  # a component too big for a dense matrix: LAPJVsp
        monkeypatch.setattr(assignment_mod, "DENSE_CELLS_MAX", 0)
    elif path == "batched":  # many clusters: all solved together by one LAPJVsp call
        monkeypatch.setattr(assignment_mod, "LOOP_COMPONENTS_MAX", 0)
    rng = np.random.default_rng(3)
    for _ in range(30):
        n, m = rng.integers(0, 25, size=2)
        centres = rng.uniform(0, 300, (4, 2))  # clusters, so components have many rows and cols
        X = centres[rng.integers(0, 4, n)] + rng.normal(0, 15, (n, 2))
        Y = centres[rng.integers(0, 4, m)] + rng.normal(0, 15, (m, 2))
        for c, p in ((20.0, 1.0), (40.0, 2.0)):
            g = gospa(X, Y, c=c, p=p)
            assert g.gospa == pytest.approx(gospa_dense(X, Y, c, p), rel=1e-9, abs=1e-9)
            a = g.assignment
            assert np.unique(a.rows).size == len(a) and np.unique(a.cols).size == len(a)
            assert np.all(a.dist < c)
            assert np.allclose(a.dist, np.linalg.norm(X[a.rows] - Y[a.cols], axis=1))


def test_ten_thousand_each_is_solved_sparse_and_exactly():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1e6, (10_000, 2))
    Y = X + rng.normal(0, 30, X.shape)
    a = assign_within(X, Y, 1000.0, 1.0)
    assert len(a) == 10_000 and np.array_equal(a.rows, a.cols)  # every track on its own truth


points = st.lists(st.tuples(st.integers(-30, 30), st.integers(-30, 30)), max_size=5).map(
    lambda v: np.array(v, dtype=float).reshape(-1, 2))


@settings(max_examples=150, deadline=None)
@given(points, points, points, st.sampled_from([1.0, 2.0]))
def test_gospa_is_a_metric(X, Y, Z, p):
    c = 20.0

    def d(a, b):
        return gospa(a, b, c=c, p=p).gospa

    assert d(X, X) == 0.0
    assert d(X, Y) == pytest.approx(d(Y, X), abs=1e-9)
    if d(X, Y) == 0.0:
        assert sorted(map(tuple, X)) == sorted(map(tuple, Y))
    assert d(X, Z) <= d(X, Y) + d(Y, Z) + 1e-9


# --------------------------------------------------------------------------- OSPA


def test_ospa_known_values():
    X = [[0.0, 0.0], [100.0, 0.0]]
    Y = [[3.0, 4.0]]
    assert ospa(X, Y, c=10, p=1) == pytest.approx((5 + 10) / 2)
    assert ospa(X, Y, c=10, p=2) == pytest.approx(np.sqrt((25 + 100) / 2))
    assert ospa(Y, X, c=10, p=2) == pytest.approx(np.sqrt((25 + 100) / 2))  # symmetric in the sizes
    assert ospa(np.zeros((0, 2)), np.zeros((0, 2)), c=10) == 0.0
    assert ospa(X, np.zeros((0, 2)), c=10, p=2) == pytest.approx(10.0)
    # a pair farther than c counts c, like a cardinality error
    assert ospa([[0, 0]], [[50, 0]], c=10, p=1) == pytest.approx(10.0)


def test_gospa_series_means():
    truths = [np.array([[0.0, 0.0]]), np.array([[0.0, 0.0]]), np.zeros((0, 2))]
    tracks = [np.array([[3.0, 4.0]]), np.zeros((0, 2)), np.array([[1.0, 1.0]])]
    s = gospa_series(truths, tracks, c=10, p=1)
    assert np.allclose(s.gospa, [5.0, 5.0, 5.0]) and list(s.n_missed) == [0, 1, 0] and list(s.n_false) == [0, 0, 1]
    assert np.allclose(s.ospa, [5.0, 10.0, 10.0])
    assert s.mean()["gospa"] == pytest.approx(5.0)


# --------------------------------------------------------------------------- RMSE and the scorer


def test_rmse_over_assigned_pairs_only():
    assert rmse(np.array([[3.0, 4.0], [0.0, 0.0]])) == pytest.approx(np.sqrt(25 / 2))
    sc = Scorer(c=100.0, p=1)
    truth = np.array([[0, 0, 10, 0], [500, 0, 0, 10]], float)
    tracks = np.array([[3, 4, 11, 0], [500, 3, 0, 10], [9000, 9000, 0, 0]], float)  # last one is false
    sc.add(0.0, np.array([0, 1]), truth, np.array([7, 8, 9]), tracks)
    s = sc.summary()
    assert tuple(s) == SUMMARY_KEYS
    assert s["assigned_pairs"] == 2
    assert s["rmse_position_m"] == pytest.approx(np.sqrt((25 + 9) / 2))
    assert s["rmse_velocity_mps"] == pytest.approx(np.sqrt(1 / 2))
    assert s["gospa_mean"] == pytest.approx(5 + 3 + 50) and s["false_per_instant"] == 1.0


def test_scorer_accepts_string_ids_and_rejects_a_dimension_change():
    sc = Scorer(c=10.0)
    sc.add(0.0, ["T1"], [[0, 0, 0, 0]], ["A"], [[1, 0, 0, 0]])
    with pytest.raises(ValueError, match="3-D"):
        sc.add(1.0, ["T1"], [[0, 0, 0, 0, 0, 0]], ["A"], [[1, 0, 0, 0, 0, 0]])


# --------------------------------------------------------------------------- SIAP


def _siap_run(frames, **kw):
    sc = Scorer(c=50.0, p=1, **kw)
    for t, (truth, tracks) in enumerate(frames):
        tids = [k for k, _ in truth]
        kids = [k for k, _ in tracks]
        X = np.array([[x, y, 0, 0] for _, (x, y) in truth], float).reshape(-1, 4)
        Y = np.array([[x, y, 0, 0] for _, (x, y) in tracks], float).reshape(-1, 4)
        sc.add(float(t), tids, X, kids, Y)
    return sc.summary()


def test_siap_with_an_id_swap():
    frames = []
    for t in range(10):
        a, b = ("A", "B") if t < 5 else ("B", "A")  # the two tracks swap truths at t = 5
        frames.append(([("T1", (0, 0)), ("T2", (1000, 0))], [(a, (5, 0)), (b, (1005, 0))]))
    s = _siap_run(frames)
    assert s["siap_completeness"] == 1.0 and s["siap_ambiguity"] == 1.0 and s["siap_spuriousness"] == 0.0
    assert s["siap_id_changes"] == 2 and s["siap_id_changes_per_truth"] == 1.0
    assert s["siap_longest_segment"] == pytest.approx(0.5)


def test_siap_gaps_duplicates_and_spurious_tracks():
    frames = [
        ([("T1", (0, 0)), ("T2", (1000, 0))], [("A", (5, 0)), ("D", (0, 20)), ("S", (5000, 0))]),  # D duplicates T1, S spurious
        ([("T1", (0, 0)), ("T2", (1000, 0))], [("A", (5, 0))]),  # T2 untracked
        ([("T1", (0, 0)), ("T2", (1000, 0))], []),  # T1 untracked: its run breaks, no id change
        ([("T1", (0, 0))], [("A", (5, 0)), ("C", (1000, 0))]),  # same id after a gap: no change
    ]
    s = _siap_run(frames)
    assert s["siap_completeness"] == pytest.approx(3 / 7)  # held truths 1+1+0+1 of 2+2+2+1
    assert s["siap_ambiguity"] == pytest.approx(4 / 3)  # associated tracks 2+1+0+1 over held truths 3
    assert s["siap_spuriousness"] == pytest.approx(2 / 6)  # S and C (no truth at t=3) of 3+1+0+2 tracks
    assert s["siap_id_changes"] == 0
    # T1: longest run 2 (t = 0, 1) of 4 instants; T2: never held
    assert s["siap_longest_segment"] == pytest.approx((2 / 4 + 0 / 3) / 2)


def test_siap_threshold_can_differ_from_the_gospa_cutoff():
    frames = [([("T1", (0, 0))], [("A", (30, 0))])]
    assert _siap_run(frames)["siap_completeness"] == 1.0
    assert _siap_run(frames, assoc_threshold=20.0)["siap_completeness"] == 0.0


# --------------------------------------------------------------------------- ANEES


def _gaussian_errors(rng, k, n):
    A = rng.normal(size=(k, n, n))
    P = A @ np.swapaxes(A, 1, 2) + 0.5 * np.eye(n)
    e = np.einsum("kij,kj->ki", np.linalg.cholesky(P), rng.normal(size=(k, n)))
    return e, P


@pytest.mark.parametrize("n", [4, 6])
def test_anees_is_n_for_consistent_errors_and_far_off_otherwise(n):
    rng = np.random.default_rng(11)
    e, P = _gaussian_errors(rng, 2000, n)
    good = anees(e, P)
    assert good.count == 2000 and good.dim == n
    assert good.consistent and abs(good.anees - n) < 0.15 * n
    lo, hi = good.interval_95
    assert lo < n < hi and hi - lo < 0.2 * n
    inflated, deflated = anees(e, 4 * P), anees(e, P / 4)
    assert inflated.anees == pytest.approx(good.anees / 4) and not inflated.consistent
    assert deflated.anees == pytest.approx(good.anees * 4) and not deflated.consistent


def test_anees_interval_is_the_chi_square_quantile_over_count():
    lo, hi = anees_interval(1, 4)
    assert (lo, hi) == (pytest.approx(0.4844186), pytest.approx(11.1432868))


def test_anees_skips_a_covariance_that_is_not_positive_definite():
    e = np.ones((3, 2))
    P = np.stack([np.eye(2), -np.eye(2), 2 * np.eye(2)])
    r = anees(e, P)
    assert r.count == 2 and r.skipped == 1 and r.anees == pytest.approx((2 + 1) / 2)


def test_scorer_anees_uses_pairs_with_a_covariance():
    rng = np.random.default_rng(5)
    sc = Scorer(c=1e4)
    for t in range(200):
        X = np.c_[np.arange(10) * 1e5, np.zeros(10), np.full(10, 100.0), np.zeros(10)]
        e, P = _gaussian_errors(rng, 10, 4)
        covs = P.copy()
        covs[0] = np.nan  # track 0 has no cov
        sc.add(float(t), np.arange(10), X, np.arange(10), X + e, covs)
    s = sc.summary()
    assert s["anees_count"] == 200 * 9 and s["anees_dim"] == 4
    assert s["anees_interval_95_low"] < s["anees"] < s["anees_interval_95_high"]


# --------------------------------------------------------------------------- PCRLB


def kf_covariances(times, P0, q, sigma, dims, pd=1.0):
    """Kalman filter covariance with position measurements of noise sigma / sqrt(pd) at every time."""
    n = 2 * dims
    H = np.hstack([np.eye(dims), np.zeros((dims, dims))])
    R = np.eye(dims) * sigma**2 / pd
    P = P0.copy()
    out = []
    for k, t in enumerate(times):
        if k:
            F = cv_transition(t - times[k - 1], dims)
            P = F @ P @ F.T + cv_process_noise(t - times[k - 1], dims, q)
        S = H @ P @ H.T + R
        K = P @ H.T @ np.linalg.inv(S)
        P = (np.eye(n) - K @ H) @ P
        out.append(P)
    return np.array(out)


@pytest.mark.parametrize("dims", [2, 3])
def test_pcrlb_of_a_linear_cartesian_model_is_the_kalman_covariance(dims):
    times = np.arange(0.0, 60.0, 1.0)
    x = np.zeros((times.size, 2 * dims))
    x[:, 0] = 200.0 * times
    x[:, dims] = 200.0
    q, sigma = 2.0, 30.0
    P0 = np.diag([1e6] * dims + [1e4] * dims)
    r = pcrlb(times, x, [CartesianSensor(sigma_m=sigma)], q, prior_cov=P0)
    P = kf_covariances(times, P0, q, sigma, dims)
    assert np.allclose(np.linalg.inv(r.info), P, rtol=1e-8, atol=1e-8)
    assert np.allclose(r.position, np.sqrt(np.trace(P[:, :dims, :dims], axis1=1, axis2=2)), rtol=1e-9)
    # and the steady state is the one of the discrete Riccati equation
    F, Q = cv_transition(1.0, dims), cv_process_noise(1.0, dims, q)
    H = np.hstack([np.eye(dims), np.zeros((dims, dims))])
    Ppred = solve_discrete_are(F.T, H.T, Q, sigma**2 * np.eye(dims))
    Pss = Ppred - Ppred @ H.T @ np.linalg.inv(H @ Ppred @ H.T + sigma**2 * np.eye(dims)) @ H @ Ppred
    assert np.allclose(np.linalg.inv(r.info[-1]), Pss, rtol=1e-6)


def test_pcrlb_recursion_equals_the_tichavsky_d_form_and_pd_scales_information():
    dims, q, dt = 2, 1.5, 2.0
    times = np.arange(0.0, 20.0, dt)
    x = np.c_[100 * times, 50 * times, np.full(times.size, 100.0), np.full(times.size, 50.0)]
    radar = PolarSensor(position=(-5000.0, 2000.0), sigma_range_m=25.0, sigma_bearing_deg=0.3, pd=0.7)
    r = pcrlb(times, x, [radar], q)
    F, Q = cv_transition(dt, dims), cv_process_noise(dt, dims, q)
    Qi = np.linalg.inv(Q)
    D11, D12, D22q = F.T @ Qi @ F, -F.T @ Qi, Qi
    for k in range(1, times.size):
        Jz = radar.information(x[k: k + 1])[0]
        J = D22q + Jz - D12.T @ np.linalg.inv(r.info[k - 1] + D11) @ D12
        assert np.allclose(J, r.info[k], rtol=1e-7)
    full = PolarSensor(position=(-5000.0, 2000.0), sigma_range_m=25.0, sigma_bearing_deg=0.3, pd=1.0)
    assert np.allclose(radar.information(x), 0.7 * full.information(x))


def test_polar_information_is_range_and_cross_range_by_hand():
    r0, sr, sb = 10_000.0, 20.0, 0.1
    cross = r0 * np.radians(sb)
    # due north in 2-D: y is the range axis, x the cross-range axis
    J = PolarSensor(position=(0.0, 0.0), sigma_range_m=sr, sigma_bearing_deg=sb).information(np.array([[0.0, r0, 5.0, 0.0]]))[0]
    assert np.allclose(J[:2, :2], np.diag([1 / cross**2, 1 / sr**2]))
    assert np.all(J[2:, :] == 0)
    # due east in 3-D with elevation: x is range, y and z cross-range
    se = 0.2
    radar = PolarSensor(position=(0.0, 0.0, 0.0), sigma_range_m=sr, sigma_bearing_deg=sb, sigma_elevation_deg=se)
    J = radar.information(np.array([[r0, 0.0, 0.0, 0.0, 0.0, 0.0]]))[0]
    assert np.allclose(J[:3, :3], np.diag([1 / sr**2, 1 / cross**2, 1 / (r0 * np.radians(se)) ** 2]))
    # a sensor whose own ENU axes are turned by R sees d_s = R d: its information is R' J(R d) R
    a, b = np.radians(30.0), np.radians(10.0)
    Rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    R = Rx @ Rz
    d = np.array([4000.0, 7000.0, 2500.0])
    turned = PolarSensor(position=(0.0, 0.0, 0.0), sigma_range_m=sr, sigma_bearing_deg=sb, sigma_elevation_deg=se,
                         rotation=R).information(np.r_[d, 0.0, 0.0, 0.0][None])[0]
    plain = radar.information(np.r_[R @ d, 0.0, 0.0, 0.0][None])[0]
    assert np.allclose(turned[:3, :3], R.T @ plain[:3, :3] @ R)
    assert not np.allclose(turned[:3, :3], radar.information(np.r_[d, 0.0, 0.0, 0.0][None])[0][:3, :3])
    # out of range: nothing
    far = PolarSensor(position=(0.0, 0.0), sigma_range_m=sr, sigma_bearing_deg=sb, max_range_m=5000.0)
    assert np.all(far.information(np.array([[0.0, r0, 0.0, 0.0]])) == 0)


def test_range_rate_adds_radial_velocity_information():
    base = dict(position=(0.0, 0.0), sigma_range_m=20.0, sigma_bearing_deg=0.1)
    x = np.array([[0.0, 10_000.0, 0.0, 0.0]])
    J0 = PolarSensor(**base).information(x)[0]
    J1 = PolarSensor(**base, sigma_range_rate_mps=2.0).information(x)[0]
    # target north of the sensor, not moving: range rate measures vy with sigma 2 m/s
    assert J1[3, 3] == pytest.approx(1 / 4.0) and J1[2, 2] == pytest.approx(0.0)
    assert np.allclose(J1[:2, :2], J0[:2, :2])


def test_pcrlb_stream_matches_the_single_trajectory_bound():
    dims, q = 2, 1.0
    tt = np.arange(0.0, 30.0, 1.0)  # truth instants
    v = np.array([120.0, -80.0])
    p0 = np.array([3000.0, 8000.0])

    def states(t):
        return np.c_[p0 + np.outer(t, v), np.tile(v, (len(t), 1))]

    radar = PolarSensor(position=(0.0, 0.0), sigma_range_m=20.0, sigma_bearing_deg=0.1, pd=0.9,
                        period_s=1.0, phase_s=0.5)
    stream = PcrlbStream([radar], q, dims)
    got = []
    for k, t in enumerate(tt):
        stream.add_frame(t, np.array([4]), states(tt[k: k + 1]))
        if k:
            got.append(stream.bound(t - 0.5, np.array([4]))[0])  # at the scan time between instants
    # the same bound on one trajectory: prior at t = 0 (no scan), then scans at 0.5, 1.5, ...
    steps = np.r_[0.0, tt[:-1] + 0.5]
    scans = np.ones((steps.size, 1), dtype=bool)
    scans[0] = False
    ref = pcrlb(steps, states(steps), [radar], q, scans=scans)
    assert np.allclose(got, ref.position[1:], rtol=1e-9)


def test_hermite_interpolation_is_exact_for_constant_acceleration():
    a = np.array([2.0, -1.0, 0.5])
    p0, v0 = np.array([10.0, 20.0, 30.0]), np.array([100.0, 0.0, -5.0])

    def s(t):
        return np.r_[p0 + v0 * t + 0.5 * a * t**2, v0 + a * t][None]

    got = hermite_states(1.3, 1.0, s(1.0), 2.0, s(2.0), 3)
    assert np.allclose(got, s(1.3))
    ids, st_ = interpolate_truth(1.5, 1.0, np.array([1, 2]), np.vstack([s(1.0), s(1.0)]), 2.0, np.array([3, 1]),
                                 np.vstack([s(2.0), s(2.0)]), 3)
    assert list(ids) == [1] and np.allclose(st_, s(1.5))  # truths 2 and 3 exist at one instant only
