"""The fuser: one node's joint picture from its own tracks and its partners' reports.

``Fuser(nation, config).update(t, local, remote) -> FusedPicture`` at each picture time t (s):

1. partners' tracks older than ``max_age_s`` are left out; every track is carried to t
   (:func:`skyweave.fuse.align.predict_to`, CV with density ``q``);
2. track-to-track association (:mod:`skyweave.fuse.association`) with hysteresis: a pair of
   source tracks fused in the last picture stays admissible while d² ≤ γ_loose, and, beyond it,
   for ``split_after − 1`` more updates; a new pair needs d² ≤ γ_strict for ``confirm_after``
   updates in a row. An old pair's cost is d² − γ_loose, a new one's d² − γ_strict, so at a
   crossing the established pairing wins unless the other is clearly better. A pair whose tracks
   carry different network numbers is a merge of two network tracks and counts as new;
3. each group's state by covariance intersection (:mod:`skyweave.fuse.ci`);
4. network track numbers (rules a-d, :mod:`skyweave.fuse.ntn`) and reporting responsibility
   (:mod:`skyweave.fuse.responsibility`), as written in docs/fusion.md;
5. class, identity, quality and the releasability marking (the intersection of the contributors').

Pure numerics: no I/O, no transport; the node converts its partners' TrackReports to a
:class:`~skyweave.fuse.trackset.TrackSet` and publishes the local tracks the picture says to report.
Units: seconds, metres, m/s (ENU, scenario frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from skyweave.fuse.align import predict_to
from skyweave.fuse.association import candidate_track_pairs, groups_of, pair_distance, sequential_assignment
from skyweave.fuse.ci import _info, ci_combine, ci_weights
from skyweave.fuse.ntn import AliasTable, NtnBlock, resolve_conflicts
from skyweave.fuse.responsibility import claim_score, decide
from skyweave.fuse.trackset import TrackSet, decode_markings, intersect_markings
from skyweave.track.management import track_quality
from skyweave.track.params import Configurable
from skyweave.track.params import param as _p

__all__ = ["FuserConfig", "FusedPicture", "FusionEvents", "Fuser"]

_STRAINED_COST = -1e-6  # cost of a kept pair beyond the loose gate: chosen only if nothing better gates


@dataclass(frozen=True)
class FuserConfig(Configurable):
    """Every parameter of the fuser, typed, documented and validated (``ValueError`` names the key)."""

    q: float = _p(100.0, "time alignment: CV white-acceleration density (m²/s³)", lo=0.0)
    gate_on: str = _p("position", "gate on 'position' (d dims) or the whole 'state' (2d dims)", ("position", "state"))
    gate_probability: float = _p(0.99, "strict gate P_G: a new association needs d² ≤ χ²_m⁻¹(P_G)", lo=0.5, hi=0.999999999)
    loose_gate_probability: float = _p(0.99999, "hysteresis gate: an existing association holds while d² ≤ χ²_m⁻¹(this)", lo=0.5, hi=0.999999999)
    confirm_after: int = _p(1, "updates in a row inside the strict gate before a new association is made", lo=1)
    split_after: int = _p(3, "updates in a row beyond the loose gate before an association breaks", lo=1)
    ci_criterion: str = _p("det", "covariance intersection minimises 'det' or 'trace' of the fused covariance", ("det", "trace"))
    ci_method: str = _p("exact", "CI weights: 'exact' (optimal), 'ifci' (Franken & Hüpper 2005) or 'fast' (Niehsen 2002)",
                        ("exact", "ifci", "fast"))
    quality_margin: int = _p(2, "reporting responsibility: a node takes over when its quality exceeds the reporter's by this much", lo=0, hi=15)
    silence_timeout_s: float = _p(10.0, "a partner whose last report on a track is older than this (s) has fallen silent: another node may take over", lo=0.0)
    max_age_s: float = _p(20.0, "partner tracks older than this (s) are not fused", lo=0.0)
    alias_ttl_s: float = _p(600.0, "a retired network track number is remembered this long (s) after last heard", lo=0.0)
    ntn_start: int = _p(1, "first number of this node's block", lo=0)
    ntn_digits: int = _p(5, "digits of the number in an NTN such as 'JPN-N00001'", lo=1, hi=12)

    _label = "fuser config"

    def __post_init__(self):
        self._validate()
        if self.loose_gate_probability < self.gate_probability:
            raise ValueError(f"fuser config 'loose_gate_probability': expected at least gate_probability ({self.gate_probability}), got {self.loose_gate_probability}")

    def gates(self, m: int) -> tuple[float, float]:
        """(strict, loose) chi-square thresholds γ for m gated dimensions."""
        return float(chi2.ppf(self.gate_probability, m)), float(chi2.ppf(self.loose_gate_probability, m))


@dataclass(frozen=True)
class FusionEvents:
    """What changed in one update: merged (retired, kept) NTNs, contested NTNs (a split), numbers
    issued, network tracks for which this node took or gave up reporting responsibility, and
    retired numbers revived (rule e)."""

    merged: tuple = ()
    split: tuple = ()
    issued: tuple = ()
    took: tuple = ()
    gave_up: tuple = ()
    revived: tuple = ()


@dataclass(frozen=True, eq=False)
class FusedPicture:
    """The joint picture at time t (s) as one node sees it: F fused tracks, struct of arrays.

    Per fused track: ``ntn`` ('' when no node numbered it yet), ``x`` (F, 2d) and ``P`` (F, 2d, 2d)
    (m, m/s), ``quality`` 0-15 (from the fused position covariance), ``cls`` and ``class_conf``,
    ``identity`` (-1 unknown), ``responsible`` (this node reports it), ``n_sources``,
    ``local_index`` (its local track's index in the update's ``local`` set, -1 none), the markings
    (``rel_nations``/``rel_mask``, see :attr:`releasable_to`) and the contributors (CSR:
    ``member_keys[member_start[i]:member_start[i+1]]``, see :attr:`sources`) with their CI weights.
    Per local track of the update (in input order): ``local_ntn``, ``local_report`` (publish it
    now) and ``local_stopped`` (it was reported after the last update and no longer is: tell the
    partners the report stream ended, see docs/fusion.md). ``links`` (L, 2) are the associated pairs of source keys; ``events`` what changed;
    ``stale_dropped`` and ``invalid_dropped`` count partner tracks left out as older than
    ``max_age_s`` or with a covariance that is not symmetric positive definite.
    """

    t: float
    ntn: np.ndarray
    x: np.ndarray
    P: np.ndarray
    quality: np.ndarray
    cls: np.ndarray
    class_conf: np.ndarray
    identity: np.ndarray
    responsible: np.ndarray
    n_sources: np.ndarray
    local_index: np.ndarray
    rel_nations: tuple
    rel_mask: np.ndarray
    member_start: np.ndarray
    member_keys: np.ndarray
    member_weight: np.ndarray
    local_ntn: np.ndarray
    local_report: np.ndarray
    local_stopped: np.ndarray
    links: np.ndarray
    events: FusionEvents
    stale_dropped: int = 0
    invalid_dropped: int = 0

    def __len__(self) -> int:
        return len(self.ntn)

    @property
    def dims(self) -> int:
        return self.x.shape[1] // 2

    @property
    def sources(self) -> list[tuple[str, ...]]:
        """Each fused track's contributors as ``"NATION:local_id"``, sorted."""
        keys = self.member_keys.tolist()
        s = self.member_start.tolist()
        return [tuple(keys[s[i]:s[i + 1]]) for i in range(len(self))]

    @property
    def releasable_to(self) -> list[tuple[str, ...]]:
        """Each fused track's marking (the intersection of its contributors'), sorted alpha-3 codes."""
        return decode_markings(self.rel_nations, self.rel_mask)

    def find(self, key: str) -> int:
        """Index of the fused track that source track ``key`` ("NATION:local_id") contributes to, -1 if none."""
        hit = np.flatnonzero(self.member_keys == key)
        if len(hit) == 0:
            return -1
        return int(np.searchsorted(self.member_start, hit[0], side="right") - 1)

    def __repr__(self) -> str:
        return f"FusedPicture(t={self.t}, {len(self)} tracks, {int(self.responsible.sum())} reported by this node)"


def _empty_str(n: int = 0) -> np.ndarray:
    return np.full(n, "", dtype="<U1")


class Fuser:
    """One node's track-to-track fusion, keeping what it must between updates.

    ``nation``: this node's nation (alpha-3); its local tracks must all carry it, partners' none.
    State kept (all per source key or NTN, pruned as tracks disappear): the associations of the
    last picture and their strain, candidate associations waiting for confirmation, each local
    track's NTN and reporting state, the retired-NTN aliases and this nation's NTN block.
    """

    def __init__(self, nation: str, config: FuserConfig | None = None):
        if not (isinstance(nation, str) and len(nation) == 3 and nation.isalpha() and nation.isupper()):
            raise ValueError(f"Fuser nation: expected an alpha-3 code such as 'JPN', got {nation!r}")
        self.nation = nation
        self.config = config or FuserConfig()
        self.block = NtnBlock(nation, self.config.ntn_start, self.config.ntn_digits)
        self.aliases = AliasTable(self.config.alias_ttl_s)
        # associations of the last picture (source-key pairs, a < b) and their strain counts
        self._pa = _empty_str()
        self._pb = _empty_str()
        self._strain = np.zeros(0, dtype=np.int64)
        # candidate associations inside the strict gate, not yet made
        self._qa = _empty_str()
        self._qb = _empty_str()
        self._qcount = np.zeros(0, dtype=np.int64)
        # per local track (source key): NTN, holding responsibility, last reported quality, newest beaten claim
        self._lk = _empty_str()
        self._lntn = _empty_str()
        self._lhold = np.zeros(0, dtype=bool)
        self._lrepq = np.zeros(0, dtype=np.int64)
        self._lbeaten = np.zeros(0)
        self.t_last: float | None = None

    # ------------------------------------------------------------------ public

    def resolve(self, ntn: str) -> str:
        """The NTN a (possibly retired) NTN now goes by."""
        return self.aliases.resolve_one(ntn)

    def local_state(self) -> dict[str, tuple[str, bool]]:
        """source key → (NTN, holds reporting responsibility) of every local track of the last update."""
        return {k: (n, bool(h)) for k, n, h in zip(self._lk.tolist(), self._lntn.tolist(), self._lhold.tolist())}

    def update(self, t: float, local: TrackSet, remote: TrackSet) -> FusedPicture:
        """The fused picture at time ``t`` (s) from this node's tracks and its partners' latest reports."""
        cfg = self.config
        t = float(t)
        if not np.isfinite(t):
            raise ValueError(f"Fuser.update: t must be finite, got {t!r}")
        if len(local) and np.any(local.nation != self.nation):
            bad = local.nation[local.nation != self.nation][0]
            raise ValueError(f"Fuser.update: local tracks must be {self.nation}'s, got one from {bad}")
        if len(remote) and np.any(remote.nation == self.nation):
            raise ValueError(f"Fuser.update: a partner track carries this node's own nation {self.nation}; pass it as local")
        if len(local) and len(remote) and local.dims != remote.dims:
            raise ValueError(f"Fuser.update: local tracks have dims {local.dims}, partner tracks {remote.dims}")
        # 1. leave out stale partner tracks and any whose covariance is unusable, align everything to t
        fresh = (t - remote.t) <= cfg.max_age_s if len(remote) else np.zeros(0, dtype=bool)
        usable = remote.covariance_ok()
        n_stale = int((~fresh).sum())
        n_invalid = int((fresh & ~usable).sum())
        if n_stale or n_invalid:
            remote = remote.take(fresh & usable)
        tracks = TrackSet.concat([local, remote])
        K, KL = len(tracks), len(local)
        is_local = np.arange(K) < KL
        keys = tracks.keys
        if K and len(np.unique(keys)) != K:
            u, c = np.unique(keys, return_counts=True)
            raise ValueError(f"Fuser.update: source track {u[c > 1][0]!r} appears more than once")
        d = tracks.dims if K else (local.dims if len(local) else 3)
        x, P = predict_to(t, tracks.t, tracks.x, tracks.P, cfg.q)

        nations = tuple(sorted(set(tracks.nation.tolist()) | {self.nation}))
        R = len(nations)
        rank = np.searchsorted(np.array(nations), tracks.nation) if K else np.zeros(0, dtype=np.intp)
        own_rank = nations.index(self.nation)
        live = ~is_local & ((t - tracks.t) <= cfg.silence_timeout_s)
        # this node's memory of its local tracks
        lpos = self._lookup(self._lk, keys[:KL])
        known = lpos >= 0
        li = np.maximum(lpos, 0)
        if KL and len(self._lk):
            hold_prev = known & self._lhold[li]
            repq_prev = np.where(known, self._lrepq[li], 0)
            beaten_prev = np.where(known, self._lbeaten[li], -np.inf)
            stored = np.where(known, self._lntn[li], "")
        else:
            hold_prev, repq_prev = np.zeros(KL, dtype=bool), np.zeros(KL, dtype=np.int64)
            beaten_prev, stored = np.full(KL, -np.inf), np.full(KL, "", dtype="<U1")
        # each track's number as its source gives it: a local track's as stored (else as given), a partner's as reported
        raw = tracks.ntn.astype(object)
        if KL:
            raw[:KL] = np.where(stored != "", stored, local.ntn)
        raw = raw.astype(str) if K else _empty_str()

        # 2. association with hysteresis
        group, n_groups, pairs = self._associate(tracks, keys, x, P, d, raw)

        # 3. covariance intersection per group
        xf, Pf, weight = self._fuse_states(group, n_groups, x, P)

        # 4. reporting responsibility first: it does not depend on the numbers, the numbers depend on it
        local_group = group[:KL]
        responsible_l, beaten_new = decide(
            n_groups, local_group, tracks.quality[:KL], hold_prev, claim_score(repq_prev, np.full(KL, own_rank), R),
            beaten_prev, group[KL:], tracks.quality[KL:], claim_score(tracks.quality[KL:], rank[KL:], R),
            tracks.t[KL:], live[KL:], cfg.quality_margin,
        )
        responsible = np.zeros(n_groups, dtype=bool)
        responsible[local_group] = responsible_l
        local_index = np.full(n_groups, -1, dtype=np.intp)
        local_index[local_group] = np.arange(KL)
        # numbers (rules a-e): candidates are the numbers the contributors carry, resolved through the aliases
        self.block.observe(np.unique(raw[raw != ""]).tolist())
        self.aliases.touch(np.unique(raw[raw != ""]).tolist(), t)
        claim = np.full(K, -1, dtype=np.int64)
        claim[live] = claim_score(tracks.quality[live], rank[live], R)
        if KL:
            claim[:KL] = np.where(hold_prev, claim_score(repq_prev, np.full(KL, own_rank), R), -1)
        # rule a': where another node reports the object, its number is used as it reports it
        auth = self._authorities(group, n_groups, claim, live, raw, responsible)
        for m in np.unique(raw[auth]).tolist():
            self.aliases.forget(m)
        cand = self.aliases.resolve(raw)
        use = cand.copy()
        follow = np.zeros(n_groups, dtype=bool)
        follow[group[auth]] = True
        use[follow[group] & ~auth] = ""
        gntn, use_after, contested = resolve_conflicts(group, use, claim, keys, n_groups)
        # rule e: a retired number that lost its conflict is in use again by its own (reporting) node
        revive = (use != "") & (use_after == "") & (raw != use)
        revived: list[str] = []
        if revive.any():
            revived = sorted(set(raw[revive].tolist()))
            for old in revived:
                self.aliases.forget(old)
            use2 = use_after.copy()
            use2[revive] = raw[revive]
            cand[revive] = raw[revive]
            gntn, use_after, more = resolve_conflicts(group, use2, claim, keys, n_groups)
            contested = contested + more
        dropped = (use != "") & (use_after == "")
        merged = self._merge(group, np.where(dropped, "", cand), gntn, t)

        # rule c: a new number for a group without one, only where this node is responsible
        need = np.flatnonzero((gntn == "") & responsible)
        issued: list[str] = []
        if len(need):
            need = need[np.argsort(keys[local_index[need]], kind="stable")]
            issued = self.block.issue(len(need))
            gntn = gntn.astype(f"<U{max(gntn.dtype.itemsize // 4, max(len(s) for s in issued))}")
            gntn[need] = issued
        self.aliases.prune(t)

        # 5. per-group attributes and the picture
        took = tuple(sorted(gntn[local_group[responsible_l & ~hold_prev]].tolist()))
        gave = tuple(sorted(gntn[local_group[~responsible_l & hold_prev]].tolist()))
        events = FusionEvents(tuple(merged), tuple(sorted(set(contested))), tuple(issued), took, gave, tuple(revived))
        picture = self._picture(t, tracks, KL, keys, group, n_groups, gntn, xf, Pf, weight, d, responsible, local_index,
                                pairs, n_stale, n_invalid, events, hold_prev & ~responsible_l)
        # remember the local tracks
        self._lk = keys[:KL].copy()
        self._lntn = gntn[local_group]
        self._lhold = responsible_l.copy()
        self._lrepq = np.where(responsible_l, tracks.quality[:KL].astype(np.int64), 0)
        self._lbeaten = beaten_new
        self.t_last = t
        return picture

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _lookup(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Index of each of ``keys`` in the unique string array ``table``, -1 where absent."""
        if len(table) == 0 or len(keys) == 0:
            return np.full(len(keys), -1, dtype=np.intp)
        order = np.argsort(table)
        st = table[order]
        pos = np.searchsorted(st, keys)
        pos = np.minimum(pos, len(st) - 1)
        hit = st[pos] == keys
        return np.where(hit, order[pos], -1)

    def _associate(self, tracks: TrackSet, keys: np.ndarray, x: np.ndarray, P: np.ndarray, d: int, numbers: np.ndarray):
        """Groups of tracks (one object each) with hysteresis; updates the pair memory.

        A pair whose two tracks carry different network numbers (``numbers``, as their sources give
        them) is a merge of two network tracks: it gets no hysteresis until the numbers agree.
        """
        cfg = self.config
        K = len(tracks)
        if K == 0:
            self._pa = self._pb = self._qa = self._qb = _empty_str()
            self._strain = self._qcount = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.intp), 0, np.zeros((0, 2), dtype="<U1")
        m = d if cfg.gate_on == "position" else 2 * d
        g_strict, g_loose = cfg.gates(m)
        sigma = np.sqrt(np.trace(P[:, :d, :d], axis1=1, axis2=2))
        pi, pj = candidate_track_pairs(x[:, :d], sigma, g_loose)
        # the last picture's associations whose tracks are still here, wherever they are now
        ia, ib = self._lookup(keys, self._pa), self._lookup(keys, self._pb)
        present = (ia >= 0) & (ib >= 0)
        if present.any():
            a2, b2 = np.minimum(ia[present], ib[present]), np.maximum(ia[present], ib[present])
            code = np.unique(np.r_[pi.astype(np.int64) * K + pj, a2.astype(np.int64) * K + b2])
            pi, pj = (code // K).astype(np.intp), (code % K).astype(np.intp)
        ok = tracks.nation[pi] != tracks.nation[pj]
        idn_i, idn_j = tracks.identity[pi], tracks.identity[pj]
        ok &= ~((idn_i >= 0) & (idn_j >= 0) & (idn_i != idn_j))
        pi, pj = pi[ok], pj[ok]
        d2 = pair_distance(x, P, pi, pj, d, cfg.gate_on)
        # hysteresis state of each candidate pair, by source keys (a < b)
        ka, kb = keys[pi], keys[pj]
        sa, sb = np.where(ka < kb, ka, kb), np.where(ka < kb, kb, ka)
        prev = self._pair_index(self._pa, self._pb, sa, sb)
        ni, nj = numbers[pi], numbers[pj]
        unreconciled = (ni != "") & (nj != "") & (ni != nj)
        was = (prev >= 0) & ~unreconciled
        strain_prev = np.where(was, self._strain[np.maximum(prev, 0)] if len(self._strain) else 0, 0)
        pend_i = self._pair_index(self._qa, self._qb, sa, sb)
        pend_prev = np.where(pend_i >= 0, self._qcount[np.maximum(pend_i, 0)] if len(self._qcount) else 0, 0)
        in_loose = d2 <= g_loose
        in_strict = d2 <= g_strict
        strain = np.where(was & ~in_loose, strain_prev + 1, 0)
        pend = np.where(~was & in_strict, pend_prev + 1, 0)
        keep_old = was & (in_loose | (strain < cfg.split_after))
        new_ok = ~was & in_strict & (pend >= cfg.confirm_after)
        admissible = keep_old | new_ok
        cost = np.where(was, np.where(in_loose, d2 - g_loose, _STRAINED_COST), d2 - g_strict)
        sel = np.flatnonzero(admissible)
        nat_u = np.unique(tracks.nation)
        rank = np.searchsorted(nat_u, tracks.nation)
        group = sequential_assignment(rank, pi[sel], pj[sel], cost[sel])
        n_groups = int(group.max()) + 1
        # remember: associated pairs (with their strain) and pending ones
        together = group[pi] == group[pj]
        self._pa, self._pb, self._strain = sa[together], sb[together], strain[together]
        waiting = ~together & ~was & in_strict
        self._qa, self._qb, self._qcount = sa[waiting], sb[waiting], pend[waiting]
        links = np.stack([sa[together], sb[together]], axis=1) if together.any() else np.zeros((0, 2), dtype="<U1")
        return group, n_groups, links

    @staticmethod
    def _pair_index(pa: np.ndarray, pb: np.ndarray, qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
        """Index in the stored pairs (pa, pb) of each query pair (qa, qb), -1 where absent."""
        if len(pa) == 0 or len(qa) == 0:
            return np.full(len(qa), -1, dtype=np.intp)
        u = np.unique(np.concatenate([pa, pb, qa, qb]))
        n = len(u)
        stored = np.searchsorted(u, pa).astype(np.int64) * n + np.searchsorted(u, pb)
        query = np.searchsorted(u, qa).astype(np.int64) * n + np.searchsorted(u, qb)
        order = np.argsort(stored)
        ss = stored[order]
        pos = np.minimum(np.searchsorted(ss, query), len(ss) - 1)
        return np.where(ss[pos] == query, order[pos], -1)

    @staticmethod
    def _authorities(group, n_groups, claim, live, raw, responsible) -> np.ndarray:
        """(K,) mask of the partner track whose number a group follows: in each group this node is
        not responsible for, the strongest live claim that carries a number (rule a')."""
        K = len(group)
        auth = np.zeros(K, dtype=bool)
        idx = np.flatnonzero(live & (raw != "") & ~responsible[group]) if K else np.zeros(0, dtype=np.intp)
        if len(idx) == 0:
            return auth
        order = idx[np.lexsort((-claim[idx], group[idx]))]
        g = group[order]
        first = np.r_[True, g[1:] != g[:-1]]
        auth[order[first]] = True
        return auth

    def _fuse_states(self, group: np.ndarray, n_groups: int, x: np.ndarray, P: np.ndarray):
        """CI of every group (batched by group size): fused x (G, n), P (G, n, n) and each track's weight (K,)."""
        cfg = self.config
        n = x.shape[1]
        xf = np.zeros((n_groups, n))
        Pf = np.zeros((n_groups, n, n))
        weight = np.ones(len(group))
        if n_groups == 0:
            return xf, Pf, weight
        order, starts, sizes = groups_of(group)
        one = np.flatnonzero(sizes == 1)
        idx = order[starts[one]]
        xf[one], Pf[one] = x[idx], P[idx]
        for s in np.unique(sizes[sizes > 1]).tolist():
            gs = np.flatnonzero(sizes == s)
            members = order[starts[gs][:, None] + np.arange(s)[None, :]]
            Pm = P[members]
            J = _info(Pm)
            w = ci_weights(Pm, cfg.ci_criterion, cfg.ci_method, J=J)
            xf[gs], Pf[gs] = ci_combine(x[members], J, w)
            weight[members.ravel()] = w.ravel()
        return xf, Pf, weight

    def _merge(self, group: np.ndarray, cand: np.ndarray, gntn: np.ndarray, t: float) -> list[tuple[str, str]]:
        """Rule b: every other NTN carried into a group is retired as an alias of the group's NTN."""
        if len(cand) == 0:
            return []
        target = gntn[group]
        m = (cand != "") & (target != "") & (cand != target)
        if not m.any():
            return []
        in_use = set(gntn[gntn != ""].tolist())
        out = []
        for old, new in sorted(set(zip(cand[m].tolist(), target[m].tolist()))):
            if old in in_use:
                continue
            self.aliases.retire(old, new, t)
            out.append((old, new))
        return out

    def _picture(self, t, tracks, KL, keys, group, n_groups, gntn, xf, Pf, weight, d, responsible, local_index, links, n_stale,
                 n_invalid, events, stopped):
        """Assemble the FusedPicture: class, identity, quality, markings, members; sorted by NTN."""
        K = len(tracks)
        # class: the known class with the highest summed confidence (unknown only when nothing else)
        cls_out = np.full(n_groups, "unknown", dtype=object)
        conf_out = np.zeros(n_groups)
        ident = np.full(n_groups, -1, dtype=np.int64)
        if K:
            cu, ci = np.unique(tracks.cls, return_inverse=True)
            score = np.zeros((n_groups, len(cu)))
            np.add.at(score, (group, ci), tracks.class_conf + 1e-6)
            best_conf = np.zeros((n_groups, len(cu)))
            np.maximum.at(best_conf, (group, ci), tracks.class_conf)
            unk = np.flatnonzero(cu == "unknown")
            if len(unk):
                known_any = (np.delete(score, unk, axis=1) > 0).any(axis=1)
                score[known_any, unk[0]] = -1.0
            pick = np.argmax(score, axis=1)
            cls_out = cu[pick]
            conf_out = best_conf[np.arange(n_groups), pick]
            np.maximum.at(ident, group, tracks.identity)
        quality = track_quality(Pf[:, :d, :d]) if n_groups else np.zeros(0, dtype=np.int8)
        rel = intersect_markings(tracks.rel_mask, group, n_groups) if K else np.zeros((0, 1), dtype=np.uint64)
        # order: numbered tracks by NTN, then the rest by their first source key
        order_m, starts, sizes = groups_of(group)
        # members sorted by key within each group
        mk = keys[order_m]
        mg = group[order_m]
        ms = np.lexsort((mk, mg))
        mk, mg, mw = mk[ms], mg[ms], weight[order_m][ms]
        first_key = mk[starts] if n_groups else _empty_str()
        out = np.lexsort((first_key, gntn, gntn == "")) if n_groups else np.zeros(0, dtype=np.intp)
        inv = np.empty(n_groups, dtype=np.intp)
        inv[out] = np.arange(n_groups)
        # members in output order
        mo = np.lexsort((mk, inv[mg]))
        member_keys, member_weight = mk[mo], mw[mo]
        member_start = np.r_[0, np.cumsum(sizes[out])].astype(np.intp)
        local_group = group[:KL]
        return FusedPicture(
            t=t, ntn=gntn[out], x=xf[out], P=Pf[out], quality=quality[out], cls=np.asarray(cls_out)[out].astype(str),
            class_conf=conf_out[out], identity=ident[out], responsible=responsible[out], n_sources=sizes[out],
            local_index=local_index[out], rel_nations=tracks.rel_nations, rel_mask=rel[out], member_start=member_start,
            member_keys=member_keys, member_weight=member_weight,
            local_ntn=gntn[local_group], local_report=responsible[local_group], local_stopped=stopped, links=links, events=events,
            stale_dropped=n_stale, invalid_dropped=n_invalid,
        )
