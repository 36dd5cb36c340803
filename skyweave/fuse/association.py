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
gate (hysteresis, :class:`Hysteresis`) is cheaper by the difference of the gates.

Between updates a fuser keeps its :class:`AssociationMemory`: the pairs of source tracks fused in
the last picture (with their strain) and the pairs waiting for confirmation (with their streak),
two :class:`PairTable` s keyed by source keys, so a pair is found again whatever the tracks'
positions in the next update's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyweave.fuse.trackset import key_index
from skyweave.track.association import candidate_pairs, clusters, gnn

__all__ = [
    "candidate_track_pairs", "compatible_pairs", "pair_distance", "sequential_assignment",
    "group_pairs", "groups_of", "Grouping", "Hysteresis", "PairTable", "AssociationMemory",
]

# the cost of a kept pair beyond the loose gate: below zero so that it stays admissible, so close
# to zero that any pair inside a gate (cost d² − γ < 0, typically −1 or less) is chosen before it
STRAINED_COST = -1e-6


def candidate_track_pairs(pos: np.ndarray, sigma: np.ndarray, gamma: float, source: np.ndarray | None = None):
    """Unordered pairs (i < j) of tracks whose chi-square distance *might* be within ``gamma``.

    ``pos`` (K, d) positions (m), ``sigma`` (K,) = √tr Pᵢ of the position block (m). Since
    λ_max(Pᵢ + Pⱼ) ≤ (σᵢ + σⱼ)², d² ≤ γ implies |Δ| ≤ √γ (σᵢ + σⱼ) ≤ 2√γ max(σᵢ, σⱼ): each track's
    ball of radius 2√γ σᵢ in a k-d tree finds every such pair from its wider end.

    ``source`` (K,), when given, keeps only pairs of different sources (a tracker already told its
    own tracks apart): each source's balls are queried against the other sources' tracks alone,
    so many wide tracks of one source (a flood from one partner) cost pairs with the others'
    tracks, not with each other (K² of them). The pairs are returned sorted by (i, j).
    """
    K = len(pos)
    if K < 2:
        e = np.zeros(0, dtype=np.intp)
        return e, e
    radius = 2.0 * np.sqrt(gamma) * sigma
    if source is None:
        pt, pm = candidate_pairs(pos, radius, pos)
        keep = pt != pm
        pt, pm = pt[keep], pm[keep]
    else:
        parts_t, parts_m = [], []
        for s in np.unique(source):
            mine = source == s
            q, o = np.flatnonzero(mine), np.flatnonzero(~mine)
            qt, om = candidate_pairs(pos[q], radius[q], pos[o])
            parts_t.append(q[qt])
            parts_m.append(o[om])
        pt = np.concatenate(parts_t) if parts_t else np.zeros(0, dtype=np.intp)
        pm = np.concatenate(parts_m) if parts_m else np.zeros(0, dtype=np.intp)
    a, b = np.minimum(pt, pm), np.maximum(pt, pm)
    code = np.unique(a.astype(np.int64) * K + b)
    return (code // K).astype(np.intp), (code % K).astype(np.intp)


def compatible_pairs(nation: np.ndarray, identity: np.ndarray, i: np.ndarray,
                     j: np.ndarray) -> np.ndarray:
    """(L,) mask of the pairs (i, j) that may be one object: tracks of different sources
    (``nation``, one tracker already told its own tracks apart) whose ``identity`` codes do not
    conflict (both known and different: two objects)."""
    ok = nation[i] != nation[j]
    idn_i, idn_j = identity[i], identity[j]
    ok &= ~((idn_i >= 0) & (idn_j >= 0) & (idn_i != idn_j))
    return ok


def pair_distance(x: np.ndarray, P: np.ndarray, i: np.ndarray, j: np.ndarray, d: int,
                  on: str = "position") -> np.ndarray:
    """Squared Mahalanobis distance d² = Δᵀ(Pᵢ + Pⱼ)⁻¹Δ of each pair (dimensionless), on positions
    (m = d) or the whole state (m = 2d)."""
    if len(i) == 0:
        return np.zeros(0)
    m = d if on == "position" else x.shape[1]
    delta = x[i, :m] - x[j, :m]
    S = P[i, :m, :m] + P[j, :m, :m]
    sol = np.linalg.solve(S, delta[..., None])[..., 0]
    return np.einsum("ki,ki->k", delta, sol)


def sequential_assignment(rank: np.ndarray, pi: np.ndarray, pj: np.ndarray,
                          cost: np.ndarray) -> np.ndarray:
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
    """CSR view of a labelling: (order, starts, sizes), the members of label g being
    ``order[starts[g]:starts[g] + sizes[g]]``."""
    order = np.argsort(group, kind="stable")
    n = int(group.max()) + 1 if len(group) else 0
    sizes = np.bincount(group, minlength=n)
    starts = np.r_[0, np.cumsum(sizes)[:-1]] if n else np.zeros(0, dtype=np.intp)
    return order, starts.astype(np.intp), sizes


def group_pairs(group: np.ndarray):
    """Every unordered pair (a, b) of tracks sharing a label (groups of any size), index arrays."""
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


# ---------------------------------------------------------------------------- hysteresis and memory


@dataclass(frozen=True, eq=False)
class Grouping:
    """One update's association: ``group`` (K,) each track's label 0..G-1 (tracks of one object
    share it), ``n_groups`` G, and ``links`` (L, 2) the pairs of source keys fused together."""

    group: np.ndarray
    n_groups: int
    links: np.ndarray

    @classmethod
    def empty(cls) -> "Grouping":
        """No track, no group."""
        return cls(np.zeros(0, dtype=np.intp), 0, np.zeros((0, 2), dtype="<U1"))


@dataclass(frozen=True)
class Hysteresis:
    """The association hysteresis (docs/fusion.md, Association 4), vectorised over pairs.

    ``strict`` and ``loose``: the chi-square gates γ_strict ≤ γ_loose on d² (dimensionless);
    ``split_after``: updates in a row beyond γ_loose before a fused pair breaks;
    ``confirm_after``: updates in a row inside γ_strict before a new pair may be fused.
    """

    strict: float
    loose: float
    split_after: int
    confirm_after: int

    def step(self, d2: np.ndarray, was: np.ndarray, strain_prev: np.ndarray,
             streak_prev: np.ndarray):
        """One update of L candidate pairs: (admissible, cost, strain, streak), each (L,).

        ``d2`` the pairs' distances now, ``was`` fused in the last picture (and still agreeing on
        their numbers), ``strain_prev``/``streak_prev`` their counts after the last update. A
        fused pair's strain counts the updates in a row beyond γ_loose and a new pair's streak
        those inside γ_strict; a fused pair stays admissible while strain < ``split_after``, a
        new one becomes admissible once streak ≥ ``confirm_after``. Costs (lower is better,
        negative when admissible):

            fused, d² ≤ γ_loose:  d² − γ_loose
            fused, beyond it:     STRAINED_COST (−10⁻⁶: only if nothing better gates)
            new:                  d² − γ_strict

        so at a crossing the established pairing wins unless another is better by
        γ_loose − γ_strict.
        """
        in_loose = d2 <= self.loose
        in_strict = d2 <= self.strict
        strain = np.where(was & ~in_loose, strain_prev + 1, 0)
        streak = np.where(~was & in_strict, streak_prev + 1, 0)
        keep_old = was & (in_loose | (strain < self.split_after))
        new_ok = ~was & in_strict & (streak >= self.confirm_after)
        cost = np.where(was, np.where(in_loose, d2 - self.loose, STRAINED_COST), d2 - self.strict)
        return keep_old | new_ok, cost, strain, streak


@dataclass(frozen=True, eq=False)
class PairTable:
    """Unordered pairs of source tracks by key, ``a`` < ``b`` ((L,) str, "NATION:local_id"), each
    with a ``count`` ((L,) int64; what it counts is the owner's to say)."""

    a: np.ndarray
    b: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> "PairTable":
        """No pair."""
        return cls(np.zeros(0, dtype="<U1"), np.zeros(0, dtype="<U1"), np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.a)

    def index(self, qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
        """Index in this table of each query pair (qa, qb) (qa < qb), -1 where absent.

        Both sides are coded as integers over their joint key vocabulary (a·n + b, n keys) and
        matched by sorting: O(L log L) for L pairs, no Python loop.
        """
        if len(self.a) == 0 or len(qa) == 0:
            return np.full(len(qa), -1, dtype=np.intp)
        u = np.unique(np.concatenate([self.a, self.b, qa, qb]))
        n = len(u)
        stored = np.searchsorted(u, self.a).astype(np.int64) * n + np.searchsorted(u, self.b)
        query = np.searchsorted(u, qa).astype(np.int64) * n + np.searchsorted(u, qb)
        order = np.argsort(stored)
        ss = stored[order]
        pos = np.minimum(np.searchsorted(ss, query), len(ss) - 1)
        return np.where(ss[pos] == query, order[pos], -1)

    def count_at(self, idx: np.ndarray, where: np.ndarray) -> np.ndarray:
        """(Q,) the count of the pair at each ``idx`` (:meth:`index`) where ``where``, else 0."""
        return np.where(where, self.count[np.maximum(idx, 0)] if len(self.count) else 0, 0)


@dataclass(frozen=True, eq=False)
class AssociationMemory:
    """What association keeps from one update to the next (a fuser's learned state).

    ``linked``: the pairs fused in the last picture, counting their *strain* (updates in a row
    beyond the loose gate); ``pending``: the pairs inside the strict gate not fused yet, counting
    their *streak* (updates in a row inside it). Immutable: each update makes the next one.
    """

    linked: PairTable = field(default_factory=PairTable.empty)
    pending: PairTable = field(default_factory=PairTable.empty)

    def with_linked(self, keys: np.ndarray, pi: np.ndarray, pj: np.ndarray):
        """The candidate pairs (pi, pj) (track indices, pi < pj) plus every linked pair whose two
        tracks are among ``keys`` (K,) wherever they are now, so that a fused pair is tested
        again even when the pre-gate no longer finds it. Sorted and unique once any is added."""
        K = len(keys)
        ia, ib = key_index(keys, self.linked.a), key_index(keys, self.linked.b)
        present = (ia >= 0) & (ib >= 0)
        if not present.any():
            return pi, pj
        a2 = np.minimum(ia[present], ib[present])
        b2 = np.maximum(ia[present], ib[present])
        code = np.unique(np.r_[pi.astype(np.int64) * K + pj, a2.astype(np.int64) * K + b2])
        return (code // K).astype(np.intp), (code % K).astype(np.intp)

    def recall(self, sa: np.ndarray, sb: np.ndarray, unreconciled: np.ndarray):
        """For pairs of source keys (sa < sb, (L,) each): (was, strain, streak) after the last
        update. ``was``: the pair was fused, unless ``unreconciled`` (its tracks carry different
        network numbers: a merge of two network tracks gets no hysteresis until they agree)."""
        prev = self.linked.index(sa, sb)
        was = (prev >= 0) & ~unreconciled
        pend = self.pending.index(sa, sb)
        return was, self.linked.count_at(prev, was), self.pending.count_at(pend, pend >= 0)
