"""Covariance intersection: hand-solved cases, optimality over the simplex, and consistency under
correlated errors of unknown correlation (where the independent-errors fusion is overconfident)."""

import itertools

import numpy as np
import pytest

from skyweave.fuse.ci import ci_objective, ci_weights, covariance_intersection, fast_weights, ifci_weights, naive_fusion


def test_identical_estimates_take_half_each_and_keep_the_covariance():
    P = np.array([[4.0, 1.0], [1.0, 2.0]])
    x, Pf, w = covariance_intersection(np.array([[1.0, 2.0], [3.0, 6.0]]), np.stack([P, P]))
    assert np.allclose(w, [0.5, 0.5])
    assert np.allclose(Pf, P)             # CI never claims more than one estimate when they may be the same
    assert np.allclose(x, [2.0, 4.0])


def test_det_criterion_hand_case():
    # P1 = diag(1, 9), P2 = diag(4, 1): det(ωJ1 + (1-ω)J2) ∝ (1 + 3ω)(9 − 8ω), maximal at ω = 19/48
    P = np.array([np.diag([1.0, 9.0]), np.diag([4.0, 1.0])])
    x = np.array([[0.0, 0.0], [4.0, 1.0]])
    xf, Pf, w = covariance_intersection(x, P, "det")
    assert w[0] == pytest.approx(19 / 48, abs=1e-9)
    w1 = 19 / 48
    Pw = np.diag([1 / (w1 + (1 - w1) / 4), 1 / (w1 / 9 + (1 - w1))])
    assert np.allclose(Pf, Pw)
    assert np.allclose(xf, Pw @ ((1 - w1) * np.linalg.inv(P[1]) @ x[1]))


def test_trace_criterion_hand_case():
    # tr P(ω) = 4/(1 + 3ω) + 9/(9 − 8ω): stationary at 9 − 8ω = √6 (1 + 3ω)
    P = np.array([np.diag([1.0, 9.0]), np.diag([4.0, 1.0])])
    _, _, w = covariance_intersection(np.zeros((2, 2)), P, "trace")
    assert w[0] == pytest.approx((9 - np.sqrt(6)) / (8 + 3 * np.sqrt(6)), abs=1e-9)


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_a_dominant_estimate_takes_all_the_weight(criterion):
    # nested ellipses: the small one lies inside the large one, so CI returns it unchanged
    P = np.array([np.eye(3), 100 * np.eye(3)])
    x = np.array([[1.0, 2.0, 3.0], [50.0, -20.0, 0.0]])
    xf, Pf, w = covariance_intersection(x, P, criterion)
    assert np.allclose(w, [1.0, 0.0])
    assert np.allclose(xf, x[0]) and np.allclose(Pf, P[0])


def random_spd(rng, n, m):
    A = rng.normal(size=(n, m, m))
    return A @ np.swapaxes(A, -1, -2) + 0.05 * np.eye(m)


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_exact_weights_beat_a_grid_over_the_simplex(criterion):
    rng = np.random.default_rng(7)
    P = random_spd(rng, 3 * 20, 4).reshape(20, 3, 4, 4)
    J = np.linalg.inv(P)
    w = ci_weights(P, criterion, "exact")
    assert np.allclose(w.sum(1), 1) and np.all(w >= -1e-12)
    grid = np.array([(a, b, 1 - a - b) for a in np.linspace(0, 1, 101) for b in np.linspace(0, 1, 101) if a + b <= 1 + 1e-12])
    for g in range(20):
        f_grid = ci_objective(np.einsum("kn,nij->kij", grid, J[g]), criterion).min()
        f_exact = ci_objective(np.einsum("n,nij->ij", w[g], J[g]), criterion)
        assert f_exact <= f_grid + 1e-9
        for fast in (ci_weights(P[g:g + 1], criterion, "ifci")[0], ci_weights(P[g:g + 1], criterion, "fast")[0]):
            assert np.isclose(fast.sum(), 1.0) and np.all(fast >= 0)
            assert f_exact <= ci_objective(np.einsum("n,nij->ij", fast, J[g]), criterion) + 1e-12


def test_two_track_weights_are_the_exact_minimum():
    rng = np.random.default_rng(3)
    P = random_spd(rng, 2 * 50, 6).reshape(50, 2, 6, 6)
    J = np.linalg.inv(P)
    for criterion in ("det", "trace"):
        w = ci_weights(P, criterion)
        s = np.linspace(0, 1, 2001)
        for g in range(50):
            f = ci_objective(s[:, None, None] * J[g, 0] + (1 - s)[:, None, None] * J[g, 1], criterion)
            fw = ci_objective(w[g, 0] * J[g, 0] + w[g, 1] * J[g, 1], criterion)
            assert fw <= f.min() + 1e-9


def test_batched_equals_one_group_at_a_time():
    rng = np.random.default_rng(11)
    P = random_spd(rng, 3 * 8, 4).reshape(8, 3, 4, 4)
    x = rng.normal(size=(8, 3, 4))
    xb, Pb, wb = covariance_intersection(x, P)
    for g in range(8):
        xg, Pg, wg = covariance_intersection(x[g], P[g])
        assert np.allclose(xg, xb[g], atol=1e-7) and np.allclose(Pg, Pb[g], atol=1e-7) and np.allclose(wg, wb[g], atol=1e-6)


def test_fast_and_improved_fast_formulas():
    P = np.array([[np.diag([1.0, 1.0]), np.diag([2.0, 2.0]), np.diag([4.0, 4.0])]])
    assert np.allclose(fast_weights(P)[0], np.array([1, 1 / 2, 1 / 4]) / 1.75)   # ω ∝ 1/tr P (Niehsen 2002)
    J = np.linalg.inv(P)
    # Franken & Hüpper 2005 by hand: det J = 1.75², det(J − Jᵢ) = 0.75², 1.25², 1.5², det Jᵢ = 1, 1/4, 1/16
    dj, rest, di = 1.75**2, np.array([0.75, 1.25, 1.5]) ** 2, np.array([1, 0.25, 0.0625])
    want = (dj - rest + di) / (3 * dj + (di - rest).sum())
    assert np.allclose(ifci_weights(J)[0], want)


def correlated_pair(rng, m, rho, rotate=True):
    """P1, P2 and a cross-covariance C with the joint covariance valid: C = ρ L1 Q L2ᵀ, Q orthogonal (I unless rotate)."""
    P1, P2 = random_spd(rng, 2, m)
    L1, L2 = np.linalg.cholesky(P1), np.linalg.cholesky(P2)
    Q = np.linalg.qr(rng.normal(size=(m, m)))[0] if rotate else np.eye(m)
    return P1, P2, rho * L1 @ Q @ L2.T


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_ci_is_consistent_for_any_correlation_and_naive_fusion_is_not(criterion):
    """The true error covariance of a fused estimate K₁e₁ + K₂e₂ (fixed gains) is
    K₁P₁K₁ᵀ + K₂P₂K₂ᵀ + K₁CK₂ᵀ + K₂CᵀK₁ᵀ: CI's P must bound it for every C; the naive one does not."""
    rng = np.random.default_rng(5)
    worst_ci, worst_naive = np.inf, np.inf
    for trial in range(200):
        m = 4
        rho = rng.choice([0.0, 0.3, 0.7, 0.95, 1.0])
        P1, P2, C = correlated_pair(rng, m, rho)
        P = np.stack([P1, P2])
        J = np.linalg.inv(P)
        for fuse in ("ci", "naive"):
            if fuse == "ci":
                _, Pf, w = covariance_intersection(np.zeros((2, m)), P, criterion)
            else:
                _, Pf = naive_fusion(np.zeros((2, m)), P)
                w = np.ones(2)
            K1, K2 = Pf @ (w[0] * J[0]), Pf @ (w[1] * J[1])
            E = K1 @ P1 @ K1.T + K2 @ P2 @ K2.T + K1 @ C @ K2.T + K2 @ C.T @ K1.T
            # smallest eigenvalue of P_f − E relative to P_f's scale: ≥ 0 means consistent
            Li = np.linalg.inv(np.linalg.cholesky(Pf))
            lam = np.linalg.eigvalsh(np.eye(m) - Li @ E @ Li.T).min()
            if fuse == "ci":
                worst_ci = min(worst_ci, lam)
            elif rho >= 0.7:
                worst_naive = min(worst_naive, lam)
    assert worst_ci >= -1e-9
    assert worst_naive < -0.2      # the independent-errors fusion understates the error


def test_monte_carlo_nees_of_ci_and_naive_fusion_with_correlated_errors():
    """Draw correlated errors (unknown to the fuser) and compare the NEES with its dimension."""
    rng = np.random.default_rng(12)
    m, N = 4, 20_000
    P1, P2, C = correlated_pair(rng, m, 0.8, rotate=False)
    joint = np.block([[P1, C], [C.T, P2]])
    e = rng.multivariate_normal(np.zeros(2 * m), joint, size=N)
    x = np.stack([e[:, :m], e[:, m:]], axis=1)                      # truth is 0
    P = np.broadcast_to(np.stack([P1, P2]), (N, 2, m, m))
    xc, Pc, _ = covariance_intersection(x, P)
    xn, Pn = naive_fusion(x, P)
    nees_ci = np.einsum("ki,kij,kj->k", xc, np.linalg.inv(Pc), xc).mean()
    nees_naive = np.einsum("ki,kij,kj->k", xn, np.linalg.inv(Pn), xn).mean()
    # a consistent estimator has mean NEES ≤ m (equality for an exact covariance); 3σ of the mean ≈ 0.06
    assert nees_ci <= m + 0.1
    assert nees_naive > m + 0.5


def test_ci_of_more_than_two_correlated_estimates_is_consistent():
    rng = np.random.default_rng(21)
    m, n = 3, 4
    for _ in range(30):
        L = [np.linalg.cholesky(P) for P in random_spd(rng, n, m)]
        # a valid joint covariance with full cross-correlation structure: common factor plus own noise
        A = rng.normal(size=(n * m, n * m))
        joint = A @ A.T + 0.1 * np.eye(n * m)
        blocks = [[joint[i * m:(i + 1) * m, k * m:(k + 1) * m] for k in range(n)] for i in range(n)]
        P = np.stack([blocks[i][i] for i in range(n)])
        for method in ("exact", "ifci", "fast"):
            _, Pf, w = covariance_intersection(np.zeros((n, m)), P, "det", method)
            J = np.linalg.inv(P)
            K = [Pf @ (w[i] * J[i]) for i in range(n)]
            E = sum(K[i] @ blocks[i][k] @ K[k].T for i, k in itertools.product(range(n), range(n)))
            Li = np.linalg.inv(np.linalg.cholesky(Pf))
            assert np.linalg.eigvalsh(np.eye(m) - Li @ E @ Li.T).min() >= -1e-9
        del L


def test_bad_arguments_are_named():
    P = np.stack([np.eye(2), np.eye(2)])[None]
    with pytest.raises(ValueError, match="criterion"):
        ci_weights(P, "volume")
    with pytest.raises(ValueError, match="method"):
        ci_weights(P, "det", "magic")


@pytest.mark.parametrize("n", [2, 3, 4])
def test_a_warm_start_reaches_the_same_minimum(n):
    """Weights started from the last update's (``w0``: here the optimum of slightly different
    covariances, or a NaN row for a group seen for the first time) end at the same minimum as a
    search from scratch, to the search's tolerance."""
    rng = np.random.default_rng(7 + n)
    A = rng.normal(size=(20, n, 4, 4))
    P = A @ np.swapaxes(A, -1, -2) + 0.5 * np.eye(4)
    cold = ci_weights(P, "det", "exact")
    moved = P * (1.0 + 0.05 * rng.random(size=(20, n, 1, 1)))
    w0 = ci_weights(moved, "det", "exact")
    w0[::5] = np.nan
    warm = ci_weights(P, "det", "exact", w0=w0)
    M = lambda w: np.einsum("gn,gnij->gij", w, np.linalg.inv(P))  # noqa: E731
    assert np.allclose(ci_objective(M(warm)), ci_objective(M(cold)), atol=1e-8)
    assert np.allclose(warm, cold, atol=1e-3)
