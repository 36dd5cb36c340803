"""Gating and data association over sparse track–measurement pairs.

Pairs, not matrices: a scan is a list of gated pairs (track index, measurement index, weight),
built from a coarse spatial pre-gate (a uniform grid over the measurements' horizontal
positions, or a k-d tree for very large scans) and the chi-square ellipsoidal gate, so the work
grows with the number of *plausible* pairs, about linearly in the number of targets, never as
targets × measurements.

Weights are likelihood ratios against clutter (Bar-Shalom, Daum & Huang 2009, "The probabilistic
data association filter", IEEE CSM 29(6)):
    w_ij = P_D N(y_ij; 0, S_ij) / λ     (track i took measurement j; λ: clutter density)
    w_i0 = 1 − P_D P_G                  (track i was not detected)

- GNN: the assignment maximising Π w over one-to-one matches, i.e. minimising
  Σ −ln(w_ij / w_i0), solved exactly on each independent cluster by the shortest augmenting path
  algorithm (:func:`min_cost_assignment`; a track may stay unassigned at cost 0);
  one-track–one-measurement clusters, the vast majority, are decided without a solver call.
- JPDA: marginal association probabilities β_ij, β_i0. Exact enumeration of the joint events on
  small clusters; on large ones loopy belief propagation (Williams & Lau 2014, "Approximate
  evaluation of marginal association probabilities with belief propagation", IEEE TAES 50(4)),
  which is exact on clusters without cycles and accurate and bounded in cost on the rest.

Only numpy is imported here: scipy (its k-d tree, its assignment solver) is imported on first
use, by scans or clusters large enough to need it, so ``skyweave track`` does not pay scipy's
start-up (about 0.3 s) on pictures of hundreds of targets.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

#: scans with at most this many tracks × measurements take the direct distance matrix
DIRECT_PAIRS_MAX = 4096
#: scans with more measurements than this take scipy's k-d tree instead of the numpy grid
GRID_MEASUREMENTS_MAX = 2_000
#: clusters with more tracks than this are solved by scipy's linear_sum_assignment
PYTHON_LSA_TRACKS_MAX = 24


def _chi2_upper(x: float, k: int) -> float:
    """P(χ²_k > x) for an integer k ≥ 1, by the closed forms of the regularised incomplete gamma.

    Even k = 2j: e^{−x/2} Σ_{i<j} (x/2)^i / i!;  odd k = 2j + 1: erfc(√(x/2)) + e^{−x/2}
    Σ_{i<j} (x/2)^{i+½} / Γ(i + 3/2) (Abramowitz & Stegun 26.4.4–26.4.5). Every term is
    positive, so the small upper tails of gates (1 − P_G = 1e-5) keep full relative precision.
    """
    h = 0.5 * x
    if k % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, k // 2):
            term *= h / i
            total += term
        return math.exp(-h) * total
    total = math.erfc(math.sqrt(h))
    term = math.sqrt(h) / math.gamma(1.5)
    acc = 0.0
    for i in range(k // 2):
        acc += term
        term *= h / (i + 1.5)
    return total + math.exp(-h) * acc


def _chi2_pdf(x: float, k: int) -> float:
    """Density of χ²_k at x > 0."""
    return math.exp((0.5 * k - 1.0) * math.log(x) - 0.5 * x - 0.5 * k * math.log(2.0) - math.lgamma(0.5 * k))


def chi2_gate(m: int, pg: float) -> float:
    """Gate threshold γ with P(χ²_m ≤ γ) = P_G (dimensionless), for m measured components.

    Integer m (every measurement here): the closed-form tail :func:`_chi2_upper` solved for
    1 − P_G by Newton's method on its logarithm, inside a bisection bracket, to a relative 1e-14
    (scipy's ``chi2.ppf`` to the last digit or two, without importing scipy). Other m:
    :func:`skyweave.core.stats.chi2_quantile`.
    """
    if m != int(m) or m < 1 or not 0.0 < pg < 1.0:
        from skyweave.core.stats import chi2_quantile

        return chi2_quantile(pg, m)
    k, target = int(m), math.log1p(-pg)
    lo, hi = 0.0, max(2.0 * k, 1.0)
    while math.log(_chi2_upper(hi, k)) > target:
        lo, hi = hi, 2.0 * hi
    x = 0.5 * (lo + hi)
    for _ in range(200):
        q = _chi2_upper(x, k)
        f = math.log(q) - target
        if f > 0:
            lo = x
        else:
            hi = x
        step = f * q / _chi2_pdf(x, k)   # d ln Q / dx = −pdf / Q
        nxt = x + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) <= 1e-15 * x or hi - lo <= 1e-15 * hi:
            return float(nxt)
        x = nxt
    return float(x)


def _direct_pairs(track_pos, radius, meas_pos):
    d2 = ((track_pos[:, None, :] - meas_pos[None, :, :]) ** 2).sum(axis=2)
    pt, pm = np.nonzero(d2 <= (np.asarray(radius, dtype=float) ** 2).reshape(-1, 1))
    return pt.astype(np.intp), pm.astype(np.intp)


def _grid_pairs(track_pos, radius, meas_pos):
    """Pairs within ``radius`` by a uniform grid over the first two coordinates (numpy only, exact).

    The cell side h is the 90th percentile of the radii. Measurements are sorted by cell; a track
    of radius r visits the (2k + 1)² cells around its own, k = ⌈r / h⌉ (9 for most), each cell's
    run of measurements found by ``searchsorted``; a track that would visit more cells than there
    are measurements is compared with every measurement instead. The distance test is then on all
    coordinates, so the result is exactly the set of pairs within reach.
    """
    radius = np.asarray(radius, dtype=float)
    M = len(meas_pos)
    lo = meas_pos[:, :2].min(axis=0)
    span = float(np.max(meas_pos[:, :2].max(axis=0) - lo))
    # at most about a million cells a side, so cell keys stay far inside int64
    q90 = int(0.9 * (len(radius) - 1))     # np.partition, not np.quantile: that imports numpy.ma (16 ms)
    h = max(float(np.partition(radius, q90)[q90]), 1e-6 * span, 1e-9)
    cm = np.floor((meas_pos[:, :2] - lo) / h).astype(np.int64)
    ny = int(cm[:, 1].max()) + 3
    mkey = (cm[:, 0] + 1) * ny + (cm[:, 1] + 1)
    order = np.argsort(mkey, kind="stable")
    skey = mkey[order]
    k = np.ceil(radius / h).astype(np.int64)
    side = 2 * k + 1
    wide = side * side > max(M, 9)
    pts, pms = [], []
    grid = np.flatnonzero(~wide)
    if len(grid):
        sg, kg = side[grid], k[grid]
        ncell = sg * sg
        tr_c = np.repeat(grid, ncell)                       # one row per (track, cell visited)
        local = np.arange(int(ncell.sum())) - np.repeat(np.cumsum(ncell) - ncell, ncell)
        s_r, k_r = np.repeat(sg, ncell), np.repeat(kg, ncell)
        ct = np.floor((track_pos[tr_c, :2] - lo) / h).astype(np.int64) + 1
        cx = ct[:, 0] + local // s_r - k_r
        cy = ct[:, 1] + local % s_r - k_r
        valid = (cy >= 0) & (cy < ny) & (cx >= 0)
        key = np.where(valid, cx * ny + cy, -1)
        a = np.searchsorted(skey, key, side="left")
        n = np.where(valid, np.searchsorted(skey, key, side="right") - a, 0)
        total = int(n.sum())
        if total:
            tr = np.repeat(tr_c, n)
            mi = order[np.repeat(a, n) + (np.arange(total) - np.repeat(np.cumsum(n) - n, n))]
            d2 = ((track_pos[tr] - meas_pos[mi]) ** 2).sum(axis=1)
            ok = d2 <= radius[tr] ** 2
            pts.append(tr[ok])
            pms.append(mi[ok])
    wt = np.flatnonzero(wide)
    if len(wt):
        a, b = _direct_pairs(track_pos[wt], radius[wt], meas_pos)
        pts.append(wt[a])
        pms.append(b)
    if not pts:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    pt, pm = np.concatenate(pts).astype(np.intp), np.concatenate(pms).astype(np.intp)
    srt = np.lexsort((pm, pt))
    return pt[srt], pm[srt]


def _tree_pairs(track_pos, radius, meas_pos):
    from scipy.spatial import cKDTree   # here: only very large scans need it

    tree = cKDTree(meas_pos)
    hits = tree.query_ball_point(track_pos, radius, return_sorted=False)
    lens = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
    if lens.sum() == 0:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    pt = np.repeat(np.arange(len(track_pos)), lens)
    pm = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.intp, count=int(lens.sum()))
    return pt, pm


def candidate_pairs(track_pos: np.ndarray, radius: np.ndarray, meas_pos: np.ndarray):
    """Pairs (track, measurement) whose Cartesian distance is within the track's ``radius`` (m).

    Small scans (N·M ≤ :data:`DIRECT_PAIRS_MAX`) take the direct distance matrix; larger ones a
    numpy grid (:func:`_grid_pairs`, cost ~ N + M + pairs); scans of more than
    :data:`GRID_MEASUREMENTS_MAX` measurements scipy's k-d tree (~ (N + M) log M), imported then.
    Every path returns exactly the pairs within reach; the first two sorted by track, then
    measurement.
    """
    if len(track_pos) == 0 or len(meas_pos) == 0:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    track_pos = np.asarray(track_pos, dtype=float)
    meas_pos = np.asarray(meas_pos, dtype=float)
    radius = np.broadcast_to(np.asarray(radius, dtype=float), (len(track_pos),))
    if len(track_pos) * len(meas_pos) <= DIRECT_PAIRS_MAX or track_pos.shape[1] < 2:
        return _direct_pairs(track_pos, radius, meas_pos)
    if len(meas_pos) > GRID_MEASUREMENTS_MAX:
        return _tree_pairs(track_pos, radius, meas_pos)
    return _grid_pairs(track_pos, radius, meas_pos)


def connected_labels(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected-component label (the smallest node index in it) of each of ``n`` nodes, given edges u–v.

    Label propagation with pointer jumping, all in numpy: every round each edge pulls both ends
    down to the smaller label, then labels follow their own labels to a fixed point; the rounds
    needed grow with the logarithm of a component's diameter (a few for association clusters).
    """
    lab = np.arange(n)
    if len(u) == 0:
        return lab
    while True:
        m = np.minimum(lab[u], lab[v])
        new = lab.copy()
        np.minimum.at(new, u, m)
        np.minimum.at(new, v, m)
        while True:
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, lab):
            return lab
        lab = new


def clusters(n_tracks: int, n_meas: int, pair_t: np.ndarray, pair_m: np.ndarray) -> np.ndarray:
    """Cluster label of every pair: tracks and measurements linked by gated pairs share a label.

    A pair whose track and measurement appear in no other pair is a cluster of its own (the usual
    case); only the rest go through a connected-components search of the bipartite graph
    (:func:`connected_labels`).
    """
    K = len(pair_t)
    if K == 0:
        return np.zeros(0, dtype=np.intp)
    ct = np.bincount(pair_t, minlength=n_tracks)
    cm = np.bincount(pair_m, minlength=n_meas)
    lone = (ct[pair_t] == 1) & (cm[pair_m] == 1)
    labels = np.empty(K, dtype=np.intp)
    n_lone = int(lone.sum())
    labels[lone] = np.arange(n_lone)
    rest = ~lone
    if rest.any():
        rt, rm = pair_t[rest], pair_m[rest]
        nodes, inv = np.unique(np.concatenate([rt, n_tracks + rm]), return_inverse=True)
        k = len(rt)
        lab = connected_labels(len(nodes), inv[:k], inv[k:])
        _, dense = np.unique(lab[inv[:k]], return_inverse=True)
        labels[rest] = dense.reshape(-1) + n_lone
    return labels


def min_cost_assignment(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and their columns of the minimum-cost assignment of every row of C (n × m, n ≤ m).

    The shortest augmenting path algorithm with dual potentials (Kuhn–Munkres as in Jonker &
    Volgenant 1987, the form of scipy's ``linear_sum_assignment``), O(n² m) in pure Python,
    which beats calling scipy (and importing it) on the few-track clusters of association. ``inf``
    marks a forbidden cell; every row must have a finite one.
    """
    n, m = C.shape
    cost = C.tolist()
    inf = math.inf
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    p = [0] * (m + 1)       # p[j]: row (1-based) holding column j; column 0 is the root
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = p[j0]
            row = cost[i0 - 1]
            ui0 = u[i0]
            delta, j1 = inf, -1
            for j in range(1, m + 1):
                if not used[j]:
                    cur = row[j - 1] - ui0 - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            if j1 < 0 or delta == inf:
                raise ValueError("min_cost_assignment: a row has no finite cost")
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    rows, cols = [], []
    for j in range(1, m + 1):
        if p[j]:
            rows.append(p[j] - 1)
            cols.append(j - 1)
    order = np.argsort(rows)
    return np.asarray(rows, dtype=np.intp)[order], np.asarray(cols, dtype=np.intp)[order]


def _groups(labels: np.ndarray):
    """Index arrays of the pairs of each label with more than one pair, and a mask of single-pair labels."""
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    starts = np.flatnonzero(np.concatenate([[True], sl[1:] != sl[:-1]]))
    ends = np.append(starts[1:], len(sl))
    single = np.zeros(len(labels), dtype=bool)
    one = (ends - starts) == 1
    single[order[starts[one]]] = True
    multi = [order[s:e] for s, e, o in zip(starts, ends, one) if not o]
    return single, multi


def gnn(pair_t: np.ndarray, pair_m: np.ndarray, cost: np.ndarray, labels: np.ndarray):
    """Global nearest neighbour: the minimum-cost one-to-one assignment, per cluster.

    ``cost`` per pair is −ln(w_ij / w_i0); leaving a track unassigned costs 0, so only pairs with
    negative cost can be chosen. Returns the chosen pair indices.
    """
    if len(pair_t) == 0:
        return np.zeros(0, dtype=np.intp)
    single, multi = _groups(labels)
    chosen = [np.flatnonzero(single & (cost < 0))]
    for idx in multi:
        tr, ti = np.unique(pair_t[idx], return_inverse=True)
        mr, mi = np.unique(pair_m[idx], return_inverse=True)
        nt, nm = len(tr), len(mr)
        C = np.full((nt, nm + nt), np.inf)
        C[ti, mi] = cost[idx]
        C[np.arange(nt), nm + np.arange(nt)] = 0.0
        if nt <= PYTHON_LSA_TRACKS_MAX:
            rows, cols = min_cost_assignment(C)
        else:  # a large cluster: scipy's compiled solver, imported only now
            from scipy.optimize import linear_sum_assignment

            rows, cols = linear_sum_assignment(C)
        real = cols < nm
        lookup = {(a, b): k for a, b, k in zip(ti.tolist(), mi.tolist(), idx.tolist())}
        chosen.append(np.array([lookup[(r, c)] for r, c in zip(rows[real].tolist(), cols[real].tolist())], dtype=np.intp))
    out = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.intp)
    return out[cost[out] < 0]


def _exact_marginals(ti, mi, w, w0):
    """Exact JPDA marginals on one cluster by enumerating every feasible joint event (vectorised)."""
    nt = len(w0)
    options = [np.r_[-1, np.flatnonzero(ti == t)] for t in range(nt)]  # pair index or -1 (missed)
    events = np.array(list(itertools.product(*options)), dtype=np.intp)  # (E, nt)
    meas = np.where(events >= 0, mi[np.maximum(events, 0)], -1 - np.arange(nt)[None, :])
    srt = np.sort(meas, axis=1)
    ok = ~np.any(srt[:, 1:] == srt[:, :-1], axis=1)
    events = events[ok]
    logw = np.where(events >= 0, np.log(np.maximum(w[np.maximum(events, 0)], 1e-300)), np.log(np.maximum(w0, 1e-300))[None, :])
    lw = logw.sum(axis=1)
    p = np.exp(lw - lw.max())
    p /= p.sum()
    beta = np.zeros(len(w))
    beta0 = np.zeros(nt)
    for t in range(nt):
        col = events[:, t]
        miss = col < 0
        beta0[t] = p[miss].sum()
        np.add.at(beta, col[~miss], p[~miss])
    return beta, beta0


def _sum_of_others(v: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """For each element k, the sum of the other elements of its group: Σ_{k' ∈ g(k), k' ≠ k} v_k'.

    ``total − v_k`` cancels catastrophically when v_k dominates its group (a message of 1e300
    beside ones), so the largest element of each group gets the sum of the rest computed without it.
    """
    total = np.zeros(n_groups)
    np.add.at(total, group, v)
    out = total[group] - v
    if len(v):
        top = np.full(n_groups, -np.inf)
        np.maximum.at(top, group, v)
        first = np.full(n_groups, len(v))
        idx = np.arange(len(v))
        np.minimum.at(first, group, np.where(v == top[group], idx, len(v)))
        lead = first[group] == idx                      # one largest element per group
        rest = np.zeros(n_groups)
        np.add.at(rest, group[~lead], v[~lead])
        out[lead] = rest[group[lead]]
    return np.maximum(out, 0.0)


def loopy_bp_marginals(pair_t, pair_m, w, w0, n_tracks, n_meas, iters=200, tol=1e-7):
    """JPDA marginals by loopy belief propagation (Williams & Lau 2014), vectorised over pairs.

    Messages: μ_k = w_k / (w_i0 + Σ_{k'∈i, k'≠k} w_k' ν_k'),  ν_k = 1 / (1 + Σ_{k'∈j, k'≠k} μ_k');
    marginals β_k ∝ w_k ν_k and β_i0 ∝ w_i0, normalised per track.
    """
    nu = np.ones(len(w))
    for _ in range(iters):
        mu = w / np.maximum(w0[pair_t] + _sum_of_others(w * nu, pair_t, n_tracks), 1e-300)
        nu_new = 1.0 / (1.0 + _sum_of_others(mu, pair_m, n_meas))
        done = np.max(np.abs(nu_new - nu)) < tol if len(nu) else True
        nu = nu_new
        if done:
            break
    den_t = w0.copy()
    np.add.at(den_t, pair_t, w * nu)
    beta = w * nu / den_t[pair_t]
    beta0 = w0 / den_t
    return beta, beta0


def jpda(pair_t, pair_m, w, w0, labels, n_tracks, n_meas, exact_limit: int = 2000):
    """JPDA marginals β (per pair) and β₀ (per track, length ``n_tracks``).

    Clusters whose joint-event count Π_i (1 + gated_i) is at most ``exact_limit`` are enumerated
    exactly; larger ones take loopy belief propagation. Tracks with no pair get β₀ = 1.
    """
    beta = np.zeros(len(w))
    beta0 = np.ones(n_tracks)
    if len(w) == 0:
        return beta, beta0
    single, multi = _groups(labels)
    # one track alone with its measurements, or one pair: closed form (also what BP gives on trees)
    approx_pairs = [np.flatnonzero(single)]
    for idx in multi:
        tr, ti = np.unique(pair_t[idx], return_inverse=True)
        if len(tr) == 1:
            approx_pairs.append(idx)
            continue
        deg = np.bincount(ti, minlength=len(tr))
        if np.prod(1.0 + deg) <= exact_limit:
            mr, mi = np.unique(pair_m[idx], return_inverse=True)
            b, b0 = _exact_marginals(ti, mi, w[idx], w0[tr])
            beta[idx] = b
            beta0[tr] = b0
        else:
            approx_pairs.append(idx)
    sel = np.concatenate(approx_pairs)
    if len(sel):
        tr, ti = np.unique(pair_t[sel], return_inverse=True)
        mr, mi = np.unique(pair_m[sel], return_inverse=True)
        b, b0 = loopy_bp_marginals(ti, mi, w[sel], w0[tr], len(tr), len(mr))
        beta[sel] = b
        beta0[tr] = b0
    return beta, beta0
