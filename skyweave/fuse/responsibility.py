"""Reporting responsibility: which node reports each fused track (inspired by Link 16's R2 rule,
not claiming compliance with it).

For every object only one node should publish its track: the one with the best track quality,
with hysteresis so that responsibility does not bounce between nodes of similar quality. A node
sees the claims of the others only through their reports (a node reports exactly the tracks it
is responsible for), so the rule is written per group (one fused object) at one node, using only
what that node has: its own local track (quality now, whether it held responsibility after the
last update, the quality it last reported) and the partners' reports in the group (quality,
nation, report time). With R nations in a fixed order, a claim's strength is the total order

    score(q, nation) = q · R + (R − 1 − rank(nation)),

higher quality first, then the nation code earlier in the alphabet. A partner's report is *live*
while no older than ``silence_timeout_s``.

- **Keep** (the node held responsibility): it keeps it unless a live report newer than the
  claims it has already beaten has a higher score than its own last reported quality.
- **Take** (it did not): it starts reporting when the group has no live report (the holder fell
  silent, the object is seen by this node alone) or when its quality exceeds the best live
  report's by at least ``margin`` (hysteresis).

Two nodes that both claim (after taking over, or after two local-only tracks met) compare the
same two reported (quality, nation) pairs, so exactly one keeps reporting.

What a node must remember between updates, per local track, is its :class:`ReportingMemory`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.fuse.trackset import key_index

__all__ = ["claim_score", "track_claims", "decide", "ReportingMemory"]


def claim_score(quality: np.ndarray, nation_rank: np.ndarray, n_nations: int) -> np.ndarray:
    """The strength of a reporting claim: q·R + (R − 1 − rank), an integer total order (higher
    wins)."""
    rank = np.asarray(nation_rank, dtype=np.int64)
    return np.asarray(quality, dtype=np.int64) * n_nations + (n_nations - 1 - rank)


def track_claims(quality: np.ndarray, nation_rank: np.ndarray, n_nations: int,
                 claiming: np.ndarray) -> np.ndarray:
    """(K,) each track's claim on reporting its object: :func:`claim_score` where ``claiming``,
    else −1 (no claim; every score is ≥ 0).

    Who claims (docs/fusion.md): a partner's report while live, with the quality it reports; this
    node's own track while it holds responsibility, with the quality it last reported.
    """
    return np.where(claiming, claim_score(quality, nation_rank, n_nations), -1)


def decide(
    n_groups: int,
    local_group: np.ndarray,
    q_now: np.ndarray,
    holding: np.ndarray,
    own_score: np.ndarray,
    beaten_t: np.ndarray,
    remote_group: np.ndarray,
    remote_q: np.ndarray,
    remote_score: np.ndarray,
    remote_t: np.ndarray,
    live: np.ndarray,
    margin: int,
):
    """Responsibility of this node for each of its local tracks, vectorised.

    Local tracks (L,): ``local_group`` their group, ``q_now`` quality now, ``holding`` whether
    this node held responsibility after the last update, ``own_score`` the claim score of the
    quality it last reported, ``beaten_t`` the newest partner report time it has already beaten (s).
    Partner tracks (M,): ``remote_group``, ``remote_q``, ``remote_score``, ``remote_t`` (s) and
    ``live`` (report no older than the silence timeout). ``own_score`` is read only where
    ``holding`` and ``remote_score`` only where ``live``, so :func:`track_claims` (−1 elsewhere)
    serves for both.
    Returns (responsible (L,) bool, new beaten_t (L,)).
    """
    L = len(local_group)
    if L == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    lg = local_group
    # the best live report per group, for the take-over rule
    best_q = np.full(n_groups, -1, dtype=np.int64)
    last_t = np.full(n_groups, -np.inf)
    lv = np.flatnonzero(live)
    np.maximum.at(best_q, remote_group[lv], remote_q[lv].astype(np.int64))
    np.maximum.at(last_t, remote_group[lv], remote_t[lv])
    any_live = best_q[lg] >= 0
    take = ~holding & (~any_live | (q_now.astype(np.int64) >= best_q[lg] + margin))
    # challengers: live reports newer than what the holder has already beaten
    local_of_group = np.full(n_groups, -1, dtype=np.intp)
    local_of_group[lg] = np.arange(L)
    li = local_of_group[remote_group[lv]]
    has_local = li >= 0
    lv, li = lv[has_local], li[has_local]
    chal = remote_t[lv] > beaten_t[li]
    ch, chl = lv[chal], li[chal]
    best_chal = np.full(L, np.iinfo(np.int64).min, dtype=np.int64)
    chal_t = np.full(L, -np.inf)
    np.maximum.at(best_chal, chl, remote_score[ch])
    np.maximum.at(chal_t, chl, remote_t[ch])
    keep = holding & (own_score > best_chal)
    responsible = keep | take
    new_beaten = np.where(keep, np.maximum(beaten_t, chal_t), beaten_t)
    new_beaten = np.where(take, np.maximum(beaten_t, last_t[lg]), new_beaten)
    new_beaten = np.where(responsible, new_beaten, -np.inf)
    return responsible, new_beaten


@dataclass(frozen=True, eq=False)
class ReportingMemory:
    """Per local track of the last update (by source key), what the rule needs next time.

    ``keys`` (L,) str "NATION:local_id"; ``holding`` (L,) bool: this node reported it;
    ``reported_q`` (L,) int64: the quality it last reported (0 when not holding); ``beaten_t``
    (L,) float: the newest partner report time (s) its claim has beaten (−inf when not holding).
    """

    keys: np.ndarray
    holding: np.ndarray
    reported_q: np.ndarray
    beaten_t: np.ndarray

    @classmethod
    def empty(cls) -> "ReportingMemory":
        """No local track remembered."""
        return cls(np.zeros(0, dtype="<U1"), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64),
                   np.zeros(0))

    @classmethod
    def after(cls, keys: np.ndarray, responsible: np.ndarray, quality: np.ndarray,
              beaten_t: np.ndarray) -> "ReportingMemory":
        """The memory after an update: local tracks ``keys`` (L,), whether this node is now
        ``responsible`` for each, their ``quality`` now (what a responsible node reports) and
        the new ``beaten_t`` (from :func:`decide`)."""
        return cls(keys.copy(), responsible.copy(),
                   np.where(responsible, quality.astype(np.int64), 0), beaten_t)

    def recall(self, keys: np.ndarray) -> "ReportingMemory":
        """This memory for local tracks ``keys`` (L,), in that order; a track it does not know
        (new, or not seen last update) is not holding, with quality 0 and beaten time −inf."""
        L = len(keys)
        if not (L and len(self.keys)):
            return ReportingMemory(keys, np.zeros(L, dtype=bool), np.zeros(L, dtype=np.int64),
                                   np.full(L, -np.inf))
        pos = key_index(self.keys, keys)
        known = pos >= 0
        i = np.maximum(pos, 0)
        return ReportingMemory(keys, known & self.holding[i],
                               np.where(known, self.reported_q[i], 0),
                               np.where(known, self.beaten_t[i], -np.inf))
