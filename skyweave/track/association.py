"""Gating and data association over sparse track–measurement pairs.

Pairs, not matrices: a scan is a list of gated pairs (track index, measurement index, weight),
built from a coarse spatial pre-gate (a k-d tree over the measurements' Cartesian positions) and
the chi-square ellipsoidal gate, so the work grows with the number of *plausible* pairs, about
linearly in the number of targets, never as targets × measurements.

Weights are likelihood ratios against clutter (Bar-Shalom, Daum & Huang 2009, "The probabilistic
data association filter", IEEE CSM 29(6)):
    w_ij = P_D N(y_ij; 0, S_ij) / λ     (track i took measurement j; λ: clutter density)
    w_i0 = 1 − P_D P_G                  (track i was not detected)

- GNN: the assignment maximising Π w over one-to-one matches, i.e. minimising
  Σ −ln(w_ij / w_i0), solved exactly on each independent cluster with scipy's
  ``linear_sum_assignment`` (a track may stay unassigned at cost 0); one-track–one-measurement
  clusters, the vast majority, are decided without a solver call.
- JPDA: marginal association probabilities β_ij, β_i0. Exact enumeration of the joint events on
  small clusters; on large ones loopy belief propagation (Williams & Lau 2014, "Approximate
  evaluation of marginal association probabilities with belief propagation", IEEE TAES 50(4)),
  which is exact on clusters without cycles and accurate and bounded in cost on the rest.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from skyweave.core.stats import chi2_quantile


def chi2_gate(m: int, pg: float) -> float:
    """Gate threshold γ with P(χ²_m ≤ γ) = P_G (:func:`skyweave.core.stats.chi2_quantile`)."""
    return chi2_quantile(pg, m)


def candidate_pairs(track_pos: np.ndarray, radius: np.ndarray, meas_pos: np.ndarray):
    """Pairs (track, measurement) whose Cartesian distance is within the track's ``radius`` (m).

    A k-d tree over the measurements answers each track's ball query; cost ~ (N + M) log M. Small
    scans (N·M ≤ 4,096) take the direct distance matrix instead, cheaper than building the tree.
    """
    if len(track_pos) == 0 or len(meas_pos) == 0:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    if len(track_pos) * len(meas_pos) <= 4096:  # a small scan: all distances at once beat building a tree
        d2 = ((track_pos[:, None, :] - meas_pos[None, :, :]) ** 2).sum(axis=2)
        pt, pm = np.nonzero(d2 <= (np.asarray(radius, dtype=float) ** 2).reshape(-1, 1))
        return pt.astype(np.intp), pm.astype(np.intp)
    tree = cKDTree(meas_pos)
    hits = tree.query_ball_point(track_pos, radius, return_sorted=False)
    lens = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
    if lens.sum() == 0:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    pt = np.repeat(np.arange(len(track_pos)), lens)
    pm = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.intp, count=int(lens.sum()))
    return pt, pm


def clusters(n_tracks: int, n_meas: int, pair_t: np.ndarray, pair_m: np.ndarray) -> np.ndarray:
    """Cluster label of every pair: tracks and measurements linked by gated pairs share a label.

    A pair whose track and measurement appear in no other pair is a cluster of its own (the usual
    case); only the rest go through a connected-components search of the bipartite graph.
    """
    K = len(pair_t)
    if K == 0:
        return np.zeros(0, dtype=np.intp)
    ct = np.bincount(pair_t, minlength=n_tracks)
    cm = np.bincount(pair_m, minlength=n_meas)
    lone = (ct[pair_t] == 1) & (cm[pair_m] == 1)
    labels = np.empty(K, dtype=np.intp)
    labels[lone] = np.arange(int(lone.sum()))
    rest = ~lone
    if rest.any():
        n = n_tracks + n_meas
        rt, rm = pair_t[rest], pair_m[rest]
        g = coo_matrix((np.ones(len(rt)), (rt, n_tracks + rm)), shape=(n, n))
        _, lab = connected_components(g, directed=False)
        labels[rest] = lab[rt] + int(lone.sum())
    return labels


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
    if multi:  # imported here: scipy.optimize is slow to import and most scans never need it
        from scipy.optimize import linear_sum_assignment
    for idx in multi:
        tr, ti = np.unique(pair_t[idx], return_inverse=True)
        mr, mi = np.unique(pair_m[idx], return_inverse=True)
        nt, nm = len(tr), len(mr)
        C = np.full((nt, nm + nt), np.inf)
        C[ti, mi] = cost[idx]
        C[np.arange(nt), nm + np.arange(nt)] = 0.0
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
