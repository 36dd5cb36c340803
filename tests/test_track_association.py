"""Gating and association against brute force: the pre-gate finds every pair within reach, GNN is
the optimal assignment, JPDA's marginals are exact on small clusters and close on loopy ones."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyweave.track.association import (
    GRID_MEASUREMENTS_MAX,
    _exact_marginals,
    candidate_pairs,
    chi2_gate,
    clusters,
    connected_labels,
    gnn,
    jpda,
    loopy_bp_marginals,
    min_cost_assignment,
)


# the numpy grid, the k-d tree (more than GRID_MEASUREMENTS_MAX measurements), the small-scan
# path, and 3-D positions on the grid (cells over x, y; the distance over all three)
@pytest.mark.parametrize("nt, nm, dims", [(300, 400, 2), (200, GRID_MEASUREMENTS_MAX + 500, 2), (30, 40, 2), (300, 400, 3)])
def test_candidate_pairs_equal_brute_force(nt, nm, dims):
    rng = np.random.default_rng(0)
    tp = rng.uniform(0, 10_000, (nt, dims))
    mp = rng.uniform(0, 10_000, (nm, dims))
    radius = rng.uniform(50, 800 * np.sqrt(300 / nt), nt)
    radius[:3] = [5_000.0, 20_000.0, 0.0]   # a few tracks far wider than the cells, one of radius 0
    tp[3] = [-30_000.0] * dims                # and one far outside the measurements' extent
    pt, pm = candidate_pairs(tp, radius, mp)
    got = list(zip(pt.tolist(), pm.tolist()))
    assert len(got) == len(set(got))
    d = np.linalg.norm(tp[:, None] - mp[None], axis=2)
    want = set(zip(*np.nonzero(d <= radius[:, None])))
    assert set(got) == {(int(a), int(b)) for a, b in want}


def test_chi2_gate_values():
    assert abs(chi2_gate(2, 0.99) - 9.2103) < 1e-3
    assert abs(chi2_gate(3, 0.95) - 7.8147) < 1e-3


def test_chi2_gate_is_scipys_quantile_without_scipy():
    from scipy.stats import chi2

    for m in range(1, 9):
        for pg in (0.5, 0.9, 0.95, 0.99, 0.999, 0.99999, 0.9999999):
            assert chi2_gate(m, pg) == pytest.approx(chi2.ppf(pg, m), rel=1e-14, abs=0.0), (m, pg)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_connected_labels_match_scipy(seed):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    k = int(rng.integers(0, 2 * n))
    u, v = rng.integers(0, n, k), rng.integers(0, n, k)
    lab = connected_labels(n, u, v)
    _, ref = connected_components(coo_matrix((np.ones(k), (u, v)), shape=(n, n)), directed=False)
    # the same partition: labels map one to one
    pairs = set(zip(lab.tolist(), ref.tolist()))
    assert len(pairs) == len(set(lab.tolist())) == len(set(ref.tolist()))
    assert np.all(lab <= np.arange(n))   # each label is the smallest node of its component
    assert np.all(lab[lab] == lab)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000))
def test_min_cost_assignment_matches_scipy(seed):
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    m = int(rng.integers(1, 10))
    C = rng.normal(0.0, 3.0, (n, m))
    C[rng.random((n, m)) < 0.4] = np.inf
    C = np.concatenate([C, np.where(np.eye(n) > 0, 0.0, np.inf)], axis=1)  # GNN's "unassigned" columns
    r, c = min_cost_assignment(C)
    rr, cc = linear_sum_assignment(C)
    assert list(r) == list(range(n)) and len(set(c.tolist())) == n
    assert C[r, c].sum() == pytest.approx(C[rr, cc].sum(), abs=1e-9)


def brute_force_gnn(pairs, costs):
    """Best total cost over every set of non-conflicting pairs (unassigned costs 0)."""
    best, best_set = 0.0, ()
    k = len(pairs)
    for r in range(1, k + 1):
        for combo in itertools.combinations(range(k), r):
            ts = [pairs[i][0] for i in combo]
            ms = [pairs[i][1] for i in combo]
            if len(set(ts)) < r or len(set(ms)) < r:
                continue
            c = sum(costs[i] for i in combo)
            if c < best - 1e-12:
                best, best_set = c, combo
    return best, set(best_set)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_gnn_is_the_optimal_assignment(seed):
    rng = np.random.default_rng(seed)
    nt, nm = rng.integers(1, 5), rng.integers(1, 5)
    pairs = [(t, m) for t in range(nt) for m in range(nm) if rng.random() < 0.6]
    if not pairs:
        return
    pt = np.array([p[0] for p in pairs])
    pm = np.array([p[1] for p in pairs])
    cost = rng.normal(-1.0, 2.0, len(pairs))
    chosen = gnn(pt, pm, cost, clusters(nt, nm, pt, pm))
    best, _ = brute_force_gnn(pairs, cost.tolist())
    assert len(set(pt[chosen])) == len(chosen) and len(set(pm[chosen])) == len(chosen)
    assert abs(cost[chosen].sum() - best) < 1e-9


def brute_force_marginals(pt, pm, w, w0):
    nt = len(w0)
    opts = [[-1] + [k for k in range(len(pt)) if pt[k] == t] for t in range(nt)]
    beta, beta0, total = np.zeros(len(w)), np.zeros(nt), 0.0
    for ev in itertools.product(*opts):
        ms = [pm[k] for k in ev if k >= 0]
        if len(set(ms)) < len(ms):
            continue
        p = np.prod([w[k] if k >= 0 else w0[t] for t, k in enumerate(ev)])
        total += p
        for t, k in enumerate(ev):
            if k >= 0:
                beta[k] += p
            else:
                beta0[t] += p
    return beta / total, beta0 / total


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_jpda_exact_marginals_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    nt, nm = rng.integers(1, 4), rng.integers(1, 5)
    pairs = [(t, m) for t in range(nt) for m in range(nm) if rng.random() < 0.7]
    if not pairs:
        return
    pt = np.array([p[0] for p in pairs])
    pm = np.array([p[1] for p in pairs])
    w = rng.uniform(0.1, 50.0, len(pairs))
    w0 = rng.uniform(0.05, 1.0, nt)
    b, b0 = jpda(pt, pm, w, np.r_[w0], clusters(nt, nm, pt, pm), nt, nm, exact_limit=10_000)
    wb, wb0 = brute_force_marginals(pt, pm, w, w0)
    present = np.unique(pt)
    np.testing.assert_allclose(b, wb, atol=1e-9)
    np.testing.assert_allclose(b0[present], wb0[present], atol=1e-9)
    # each track's probabilities sum to one, each measurement is used at most once in expectation
    s = np.bincount(pt, weights=b, minlength=nt) + b0
    np.testing.assert_allclose(s[present], 1.0, atol=1e-9)
    assert np.all(np.bincount(pm, weights=b, minlength=nm) <= 1.0 + 1e-9)


def test_belief_propagation_is_exact_on_a_tree_and_close_on_a_loopy_cluster():
    # a chain t0-m0-t1-m1-t2 (a tree): BP is exact
    pt, pm = np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1])
    w, w0 = np.array([5.0, 2.0, 3.0, 4.0]), np.array([0.2, 0.3, 0.1])
    b, b0 = loopy_bp_marginals(pt, pm, w, w0, 3, 2)
    eb, eb0 = _exact_marginals(pt, pm, w, w0)
    np.testing.assert_allclose(b, eb, atol=1e-7)
    np.testing.assert_allclose(b0, eb0, atol=1e-7)
    # a dense 4x4 cluster (many cycles): BP stays within a few per cent of the exact marginals
    rng = np.random.default_rng(3)
    pt, pm = np.repeat(np.arange(4), 4), np.tile(np.arange(4), 4)
    w = rng.uniform(0.5, 20.0, 16)
    w0 = np.full(4, 0.1)
    b, b0 = loopy_bp_marginals(pt, pm, w, w0, 4, 4)
    eb, eb0 = _exact_marginals(pt, pm, w, w0)
    assert np.max(np.abs(b - eb)) < 0.05


def test_large_clusters_take_belief_propagation_and_stay_normalised():
    rng = np.random.default_rng(4)
    nt, nm = 12, 14
    pt, pm = np.repeat(np.arange(nt), nm), np.tile(np.arange(nm), nt)
    keep = rng.random(len(pt)) < 0.5
    pt, pm = pt[keep], pm[keep]
    w = rng.uniform(0.1, 10.0, len(pt))
    b, b0 = jpda(pt, pm, w, np.full(nt, 0.1), clusters(nt, nm, pt, pm), nt, nm, exact_limit=100)
    s = np.bincount(pt, weights=b, minlength=nt) + b0
    np.testing.assert_allclose(s, 1.0, atol=1e-9)
    assert np.all(b >= 0) and np.all(b0 >= 0)


def test_belief_propagation_stays_finite_when_one_weight_dwarfs_the_rest():
    """A precise report (ADS-B) can outweigh a missed detection by e^700: per-track scaling leaves
    w0 = e^-700 beside w = 1, and the messages reach 1e300. Sums of the other messages must not
    cancel (total − own), or the marginals turn NaN."""
    # two tracks, two measurements, a loop: track 0 sees both, track 1 sees both
    pt = np.array([0, 0, 1, 1])
    pm = np.array([0, 1, 0, 1])
    w = np.array([1.0, 1e-3, 1e-3, 1.0])
    w0 = np.array([np.exp(-700.0), np.exp(-700.0)])
    beta, beta0 = loopy_bp_marginals(pt, pm, w, w0, 2, 2)
    assert np.all(np.isfinite(beta)) and np.all(np.isfinite(beta0))
    assert beta[0] == pytest.approx(1.0, abs=1e-5) and beta[3] == pytest.approx(1.0, abs=1e-5)
    # the same answer as exact enumeration, scaled or not
    b_exact, b0_exact = jpda(pt, pm, w, w0, np.zeros(4, dtype=np.intp), 2, 2, exact_limit=10)
    assert np.allclose(beta, b_exact, atol=1e-6) and np.allclose(beta0, b0_exact, atol=1e-6)
