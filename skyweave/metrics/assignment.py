"""Optimal truth-to-track assignment within a cutoff distance, sparse and per cluster.

The GOSPA, OSPA and SIAP measures all need the same problem solved: find the partial one-to-one
assignment gamma between truth positions x_i and track positions y_j that minimises

    sum_{(i,j) in gamma} d(x_i, y_j)^p + (c^p / 2) * (|X| + |Y| - 2 |gamma|),

i.e. that maximises sum_{(i,j) in gamma} (c^p - d_ij^p). Only pairs with d_ij < c can gain, so the
problem is sparse: a KD-tree (scipy.spatial.cKDTree) finds the pairs within c, the pair graph is
split into connected components (scipy.sparse.csgraph.connected_components) and each component is
solved on its own. A component that is a single pair or a star (one truth or one track) is solved
in closed form, vectorised over all such components; the others, when they are few, one by one
by scipy.optimize.linear_sum_assignment on the component's dense cost (non-pairs cost 0 = "leave
unassigned"), and when they are many (thousands of targets give hundreds of small clusters per
instant) or one is very large, together by one call of the sparse LAPJVsp solver
(scipy.sparse.csgraph.min_weight_full_bipartite_matching) on a dummy-augmented graph, which
avoids a Python loop over clusters. Cost grows with the number of close pairs, not with |X| x |Y|.

Reference: A. S. Rahmathullah, A. F. García-Fernández, L. Svensson, "Generalized optimal
sub-pattern assignment metric", FUSION 2017, and García-Fernández, Rahmathullah & Svensson,
"A metric on the space of finite sets of trajectories ...", IEEE TSP 68, 2020 (alpha = 2 form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

#: a component with more cells than this (rows x cols) is solved sparse instead of dense
DENSE_CELLS_MAX = 250_000
#: with more non-trivial components than this, they are solved together by one sparse solve
LOOP_COMPONENTS_MAX = 16


@dataclass(frozen=True)
class Assignment:
    """A partial one-to-one assignment: truth ``rows[k]`` holds track ``cols[k]`` at distance ``dist[k]`` (m).

    Every listed pair is closer than the cutoff; truths and tracks not listed are unassigned.
    Pairs are sorted by row.
    """

    rows: np.ndarray
    cols: np.ndarray
    dist: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.size)


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=float)


def empty_assignment() -> Assignment:
    return Assignment(_EMPTY_I, _EMPTY_I, _EMPTY_F)


def _as_points(a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a.reshape(0, 0) if a.size == 0 else a.reshape(1, -1)
    if a.ndim != 2:
        raise ValueError(f"positions must have shape (N, d), got {a.shape}")
    return a


def close_pairs(truth_pos: np.ndarray, track_pos: np.ndarray, cutoff: float, truth_tree: cKDTree | None = None):
    """All pairs (i, j, d_ij) with Euclidean distance d_ij < ``cutoff`` (m), found by KD-trees."""
    x, y = _as_points(truth_pos), _as_points(track_pos)
    if x.shape[0] == 0 or y.shape[0] == 0:
        return _EMPTY_I, _EMPTY_I, _EMPTY_F
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"truth positions are {x.shape[1]}-D but track positions are {y.shape[1]}-D")
    tx = truth_tree if truth_tree is not None else cKDTree(x)
    rec = tx.sparse_distance_matrix(cKDTree(y), float(cutoff), output_type="ndarray")
    keep = rec["v"] < cutoff
    return rec["i"][keep].astype(np.int64), rec["j"][keep].astype(np.int64), rec["v"][keep].astype(float)


def assign_within(
    truth_pos: np.ndarray, track_pos: np.ndarray, cutoff: float, p: float = 1.0, *, truth_tree: cKDTree | None = None,
) -> Assignment:
    """The assignment maximising sum over pairs of (c^p - d^p), pairs only where d < c (``cutoff``, m).

    Equivalently it minimises the GOSPA (alpha = 2) cost sum d^p + c^p/2 * (#unassigned truths +
    #unassigned tracks), and the OSPA cost with cutoff c. ``truth_pos`` is (N, d), ``track_pos``
    (M, d), metres; ``truth_tree`` may pass a prebuilt cKDTree over ``truth_pos``.
    """
    if not (cutoff > 0 and np.isfinite(cutoff)):
        raise ValueError(f"cutoff must be a positive finite distance in metres, got {cutoff}")
    if not p >= 1:
        raise ValueError(f"order p must be >= 1, got {p}")
    i, j, d = close_pairs(truth_pos, track_pos, cutoff, truth_tree)
    if i.size == 0:
        return empty_assignment()
    n_rows = int(i.max()) + 1
    n_cols = int(j.max()) + 1
    gain = cutoff**p - d**p  # > 0 for every close pair
    return _solve(i, j, gain, d, n_rows, n_cols)


def _solve(i, j, gain, d, n_rows, n_cols) -> Assignment:
    """Maximum-gain matching on the sparse bipartite pair graph (i -> j), solved per component."""
    graph = csr_matrix((np.ones(i.size), (i, j + n_rows)), shape=(n_rows + n_cols, n_rows + n_cols))
    _, label = connected_components(graph, directed=False)
    comp = label[i]  # component of each pair
    n_comp = int(label.max()) + 1
    # distinct rows and cols per component: a node belongs to one component, so count nodes
    row_nodes = np.unique(i)
    col_nodes = np.unique(j)
    rows_in = np.bincount(label[row_nodes], minlength=n_comp)
    cols_in = np.bincount(label[n_rows + col_nodes], minlength=n_comp)
    star = (rows_in[comp] == 1) | (cols_in[comp] == 1)

    out_i, out_j, out_d = [], [], []
    if star.any():
        # one truth or one track in the component: the single best pair is optimal
        si, sj, sg, sd, sc = i[star], j[star], gain[star], d[star], comp[star]
        order = np.lexsort((-sg, sc))  # by component, best gain first
        first = np.ones(order.size, dtype=bool)
        first[1:] = sc[order][1:] != sc[order][:-1]
        pick = order[first]
        out_i.append(si[pick])
        out_j.append(sj[pick])
        out_d.append(sd[pick])
    general = ~star
    if general.any():
        gi, gj, gg, gd, gc = i[general], j[general], gain[general], d[general], comp[general]
        order = np.argsort(gc, kind="stable")
        gi, gj, gg, gd, gc = gi[order], gj[order], gg[order], gd[order], gc[order]
        bounds = np.flatnonzero(np.diff(gc)) + 1
        if bounds.size + 1 > LOOP_COMPONENTS_MAX:
            # many small clusters (thousands of targets): one sparse solve over all of them
            ri, ci, sel = _solve_sparse(gi, gj, gg)
            out_i.append(ri)
            out_j.append(ci)
            out_d.append(gd[sel])
        else:
            for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, gc.size]):
                ri, ci, sel = _solve_component(gi[lo:hi], gj[lo:hi], gg[lo:hi])
                out_i.append(ri)
                out_j.append(ci)
                out_d.append(gd[lo:hi][sel])
    rows = np.concatenate(out_i)
    cols = np.concatenate(out_j)
    dist = np.concatenate(out_d)
    order = np.argsort(rows, kind="stable")
    return Assignment(rows[order], cols[order], dist[order])


def _solve_component(i, j, gain):
    """One component's optimal matching; returns (rows, cols, index into the pair arrays)."""
    ur, li = np.unique(i, return_inverse=True)
    uc, lj = np.unique(j, return_inverse=True)
    nr, nc = ur.size, uc.size
    if nr * nc <= DENSE_CELLS_MAX:
        cost = np.zeros((nr, nc))
        cost[li, lj] = -gain  # a non-pair costs 0: assigning it is the same as leaving both unassigned
        r, c = linear_sum_assignment(cost)
        take = cost[r, c] < 0
        r, c = r[take], c[take]
        idx = np.full((nr, nc), -1, dtype=np.int64)
        idx[li, lj] = np.arange(i.size)
        sel = idx[r, c]
        return ur[r], uc[c], sel
    return _solve_sparse(i, j, gain)


def _solve_sparse(i, j, gain):
    """Optimal matching of any set of pairs (one or many components) by the sparse LAPJVsp solver.

    Perfect matching on an augmented graph: rows = truths + one dummy per track, cols = tracks +
    one dummy per truth. Truth i - its dummy and a track's dummy - track j cost h each (leaving
    both unassigned: 2h), a close pair costs 2h - gain, and each close pair (i, j) also links
    dummy_j - dummy_i at cost 0, so that the dummies of an assigned pair can pair up. Any h works
    (only the differences, gain, matter); h > gain/2 keeps pair costs positive. Every perfect
    matching has the same number of edges, so the constant added to all weights (the solver
    ignores explicit zeros) changes nothing. Returns (rows, cols, index into the pair arrays).
    """
    ur, li = np.unique(i, return_inverse=True)
    uc, lj = np.unique(j, return_inverse=True)
    nr, nc = ur.size, uc.size
    half = 0.5 * float(gain.max()) + 1.0
    big = 2.0 * half + 1.0
    size = nr + nc
    e_r = np.concatenate([li, np.arange(nr), nr + np.arange(nc), nr + lj])
    e_c = np.concatenate([lj, nc + np.arange(nr), np.arange(nc), nc + li])
    w = np.concatenate([2.0 * half - gain, np.full(nr, half), np.full(nc, half), np.zeros(i.size)]) + big
    m = coo_matrix((w, (e_r, e_c)), shape=(size, size)).tocsr()
    mr, mc = min_weight_full_bipartite_matching(m)
    is_pair = (mr < nr) & (mc < nc)
    r, c = mr[is_pair], mc[is_pair]
    key = li * nc + lj  # pairs are unique, so each (row, col) key names one pair
    order = np.argsort(key)
    sel = order[np.searchsorted(key[order], r * nc + c)]
    return ur[r], uc[c], sel


#: the look-ahead (s) that weighs velocity against position when the assigned pairs are re-paired by
#: their states: a velocity difference of 1 m/s counts as 10 m of position
STATE_PAIRING_HORIZON_S = 10.0


def pair_by_state(truth_states: np.ndarray, track_states: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                  dims: int, cutoff: float, horizon_s: float = STATE_PAIRING_HORIZON_S) -> np.ndarray:
    """The truths of the assigned tracks ``cols`` re-paired by their whole states; returns new rows.

    The GOSPA assignment pairs by position only, which is the metric's definition; but an error
    statistic of the whole state (NEES) needs the truth each track estimates. Where two targets
    cross, the position-only pairing can give each track the other target (positions metres apart,
    velocities hundreds of m/s apart), and one such pair's NEES (~10^4) swamps thousands of honest
    ones. Here the same truths and tracks are kept and only paired again among themselves, by the
    distance between the states' positions and their positions ``horizon_s`` seconds on at their own
    velocities (the feature [p, horizon_s·v]): each track whose nearest assigned truth in that sense
    is not its partner is solved again, together with the partners of those nearest truths, by a
    dense minimum-cost assignment; a pair whose positions are ``cutoff`` (m) or more apart is
    never formed. Where no track has a nearer truth than its own (nearly every instant) ``rows`` is
    returned unchanged. States are (N, 2·dims) [positions, velocities] in m and m/s.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.size < 2:
        return rows
    scale = np.r_[np.ones(dims), np.full(dims, float(horizon_s))]
    ft = truth_states[rows, : 2 * dims] * scale
    fk = track_states[cols, : 2 * dims] * scale
    _, nearest = cKDTree(ft).query(fk, k=1)
    wrong = np.flatnonzero(nearest != np.arange(rows.size))
    if wrong.size == 0:
        return rows
    idx = np.unique(np.concatenate([wrong, nearest[wrong]]))
    d2 = np.sum((fk[idx][:, None, :] - ft[idx][None, :, :]) ** 2, axis=2)
    pos = truth_states[rows[idx], :dims]
    far = np.sum((track_states[cols[idx], :dims][:, None, :] - pos[None, :, :]) ** 2, axis=2) >= cutoff**2
    if far.any():  # dearer than every feasible pairing together (the old one is feasible)
        d2[far] = (np.max(d2[~far]) + 1.0) * (idx.size + 1)
    k, t = linear_sum_assignment(d2)
    out = rows.copy()
    out[idx[k]] = rows[idx[t]]
    return out
