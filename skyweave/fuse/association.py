"""Track-to-track association across sources: pre-gate, chi-square gate, global assignment.

Two tracks i, j of different sources, carried to the same time, are the same object when their
difference passes the chi-square gate (Bar-Shalom, Willett & Tian, *Tracking and Data Fusion*,
2011, §9.2, ignoring the unknown cross-covariance, which only makes the gate looser):

    d²ᵢⱼ = Δᵀ (Pᵢ + Pⱼ)⁻¹ Δ ≤ γ,    Δ = Hxᵢ − Hxⱼ,   P(χ²_m ≤ γ) = P_G,

with H selecting positions (m = d) or the whole state (m = 2d). Pairs, not matrices: a k-d tree
over the positions finds the pairs within reach (:func:`candidate_track_pairs`), so the work
grows with the number of plausible pairs. Two tracks of one source never associate (its tracker
already decided they are two objects), nor do two tracks with different known identities.

Many sources (:func:`sequential_assignment`): the S-dimensional assignment is solved as a
sequence of 2-D ones (Bar-Shalom et al. 2011, §9.4, "sequential" T2TA), in a fixed source order:
the groups formed so far are matched against the next source's tracks by global nearest
neighbour (``linear_sum_assignment`` per independent cluster, via
:func:`skyweave.track.association.gnn`), a group's cost being the sum of its members' pair costs
and a track joining a group only if it gates with every member. A pair's cost is d² − γ, its gate
subtracted, so only gated pairs (negative cost) are ever chosen, and a pair kept under a looser
gate (hysteresis, decided by the caller) is cheaper by the difference of the gates.
"""

from __future__ import annotations

import numpy as np

from skyweave.track.association import candidate_pairs, clusters, gnn

__all__ = ["candidate_track_pairs", "pair_distance", "sequential_assignment", "group_pairs", "groups_of"]


def candidate_track_pairs(pos: np.ndarray, sigma: np.ndarray, gamma: float):
    """Unordered pairs (i < j) of tracks whose chi-square distance *might* be within ``gamma``.

    ``pos`` (K, d) positions (m), ``sigma`` (K,) = √tr Pᵢ of the position block (m). Since
    λ_max(Pᵢ + Pⱼ) ≤ (σᵢ + σⱼ)², d² ≤ γ implies |Δ| ≤ √γ (σᵢ + σⱼ) ≤ 2√γ max(σᵢ, σⱼ): each track's
    ball of radius 2√γ σᵢ in a k-d tree finds every such pair from its wider end.
    """
    K = len(pos)
    if K < 2:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    pt, pm = candidate_pairs(pos, 2.0 * np.sqrt(gamma) * sigma, pos)
    keep = pt != pm
    a, b = np.minimum(pt[keep], pm[keep]), np.maximum(pt[keep], pm[keep])
    code = np.unique(a.astype(np.int64) * K + b)
    return (code // K).astype(np.intp), (code % K).astype(np.intp)


def pair_distance(x: np.ndarray, P: np.ndarray, i: np.ndarray, j: np.ndarray, d: int, on: str = "position") -> np.ndarray:
    """Squared Mahalanobis distance d² = Δᵀ(Pᵢ + Pⱼ)⁻¹Δ of each pair, on positions (m = d) or the whole state (m = 2d)."""
    if len(i) == 0:
        return np.zeros(0)
    m = d if on == "position" else x.shape[1]
    delta = x[i, :m] - x[j, :m]
    S = P[i, :m, :m] + P[j, :m, :m]
    sol = np.linalg.solve(S, delta[..., None])[..., 0]
    return np.einsum("ki,ki->k", delta, sol)


def sequential_assignment(rank: np.ndarray, pi: np.ndarray, pj: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Group label (K,) of every track: tracks fused together share a label, labels 0..G-1.

    ``rank`` (K,) is each track's source in the order the sources are taken (0 first; tracks of
    one rank never share a group); (``pi``, ``pj``, ``cost``) are the admissible pairs and their
    costs (negative; a pair not listed cannot be in one group). Sources are added one at a time:
    the next source's tracks are matched to the existing groups by minimum total cost (per
    cluster, exactly), a group-track cost being the sum over the group's members, admissible
    only when every member pairs with the track.
    """
    K = len(rank)
    group = np.full(K, -1, dtype=np.intp)
    if K == 0:
        return group
    ranks = np.unique(rank)
    # orient pairs so that `lo` has the smaller rank
    swap = rank[pi] > rank[pj]
    lo = np.where(swap, pj, pi)
    hi = np.where(swap, pi, pj)
    ok = rank[lo] != rank[hi]
    lo, hi, cost = lo[ok], hi[ok], cost[ok]
    first = np.flatnonzero(rank == ranks[0])
    group[first] = np.arange(len(first))
    n_groups = len(first)
    size = np.ones(K, dtype=np.int64)  # size per group label (allocated generously)
    for r in ranks[1:]:
        tr = np.flatnonzero(rank == r)
        sel = np.flatnonzero(rank[hi] == r)
        if len(sel):
            g = group[lo[sel]]
            j = hi[sel]
            code = g.astype(np.int64) * K + j
            u, inv = np.unique(code, return_inverse=True)
            csum = np.bincount(inv, weights=cost[sel], minlength=len(u))
            cnt = np.bincount(inv, minlength=len(u))
            ug, uj = (u // K).astype(np.intp), (u % K).astype(np.intp)
            full = cnt == size[ug]
            ug, uj, csum = ug[full], uj[full], csum[full]
            if len(ug):
                labels = clusters(n_groups, K, ug, uj)
                chosen = gnn(ug, uj, csum, labels)
                group[uj[chosen]] = ug[chosen]
                size[ug[chosen]] += 1
        free = tr[group[tr] < 0]
        group[free] = n_groups + np.arange(len(free))
        n_groups += len(free)
    return group


def groups_of(group: np.ndarray):
    """CSR view of a labelling: (order, starts, sizes) with the members of label g at order[starts[g]:starts[g]+sizes[g]]."""
    order = np.argsort(group, kind="stable")
    n = int(group.max()) + 1 if len(group) else 0
    sizes = np.bincount(group, minlength=n)
    starts = np.r_[0, np.cumsum(sizes)[:-1]] if n else np.zeros(0, dtype=np.intp)
    return order, starts.astype(np.intp), sizes


def group_pairs(group: np.ndarray):
    """Every unordered pair (a, b) of tracks sharing a label (groups of any size), as index arrays."""
    if len(group) == 0:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    order, starts, sizes = groups_of(group)
    out_a, out_b = [], []
    for s in np.unique(sizes[sizes > 1]):
        gs = np.flatnonzero(sizes == s)
        members = order[starts[gs][:, None] + np.arange(s)[None, :]]  # (G_s, s)
        ia, ib = np.triu_indices(s, k=1)
        out_a.append(members[:, ia].ravel())
        out_b.append(members[:, ib].ravel())
    if not out_a:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    return np.concatenate(out_a), np.concatenate(out_b)
