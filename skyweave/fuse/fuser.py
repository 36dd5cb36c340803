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
4. reporting responsibility (:mod:`skyweave.fuse.responsibility`), then network track numbers
   (rules a-e, :mod:`skyweave.fuse.ntn`), as written in docs/fusion.md;
5. class, identity, quality and the releasability marking (the intersection of the contributors').

What a fuser keeps between updates sits with the rule that needs it: the association memory
(:class:`~skyweave.fuse.association.AssociationMemory`), the reporting memory
(:class:`~skyweave.fuse.responsibility.ReportingMemory`) and the numbering
(:class:`~skyweave.fuse.ntn.Numbering`: block, aliases, local tracks' numbers).

Pure numerics: no I/O, no transport; the node converts its partners' TrackReports to a
:class:`~skyweave.fuse.trackset.TrackSet` and publishes the local tracks the picture says to
report. Units: seconds, metres, m/s (ENU, scenario frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from skyweave.core.stats import chi2_quantile
from skyweave.fuse.align import predict_to
from skyweave.fuse.association import (
    AssociationMemory,
    Grouping,
    Hysteresis,
    PairTable,
    candidate_track_pairs,
    compatible_pairs,
    groups_of,
    pair_distance,
    sequential_assignment,
)
from skyweave.fuse.ci import ci_combine, ci_weights, information
from skyweave.fuse.ntn import Contributors, Numbering
from skyweave.fuse.responsibility import ReportingMemory, decide, track_claims
from skyweave.fuse.trackset import TrackSet, decode_markings, intersect_markings
from skyweave.track.management import track_quality
from skyweave.track.params import Configurable
from skyweave.track.params import param as _p

__all__ = ["FuserConfig", "FusedPicture", "FusionEvents", "Fuser", "AudienceTracks"]


@dataclass(frozen=True)
class FuserConfig(Configurable):
    """Every parameter of the fuser, typed, documented and validated (``ValueError`` names the
    key)."""

    q: float = _p(100.0, "time alignment: CV white-acceleration density (m²/s³)", lo=0.0)
    gate_on: str = _p("position", "gate on 'position' (d dims) or the whole 'state' (2d dims)",
                      ("position", "state"))
    gate_probability: float = _p(
        0.99, "strict gate P_G: a new association needs d² ≤ χ²_m⁻¹(P_G)", lo=0.5, hi=0.999999999)
    loose_gate_probability: float = _p(
        0.99999, "hysteresis gate: an existing association holds while d² ≤ χ²_m⁻¹(this)",
        lo=0.5, hi=0.999999999)
    confirm_after: int = _p(
        1, "updates in a row inside the strict gate before a new association is made", lo=1)
    split_after: int = _p(
        3, "updates in a row beyond the loose gate before an association breaks", lo=1)
    ci_criterion: str = _p(
        "det", "covariance intersection minimises 'det' or 'trace' of the fused covariance",
        ("det", "trace"))
    ci_method: str = _p(
        "exact",
        "CI weights: 'exact' (optimal), 'ifci' (Franken & Hüpper 2005) or 'fast' (Niehsen 2002)",
        ("exact", "ifci", "fast"))
    quality_margin: int = _p(
        2, "reporting responsibility: a node takes over when its quality exceeds the reporter's "
        "by this much", lo=0, hi=15)
    silence_timeout_s: float = _p(
        10.0, "a partner whose last report on a track is older than this (s) has fallen silent: "
        "another node may take over", lo=0.0)
    max_age_s: float = _p(20.0, "partner tracks older than this (s) are not fused", lo=0.0)
    alias_ttl_s: float = _p(
        600.0, "a retired network track number is remembered this long (s) after last heard",
        lo=0.0)
    number_grace_s: float = _p(
        4.0, "rule a′: how long (s) this node's own number, sent to the reporter before it heard "
        "the reporter's, stands beside a report still carrying the reporter's (a report made "
        "before the reporter heard it)", lo=0.0)
    ntn_start: int = _p(1, "first number of this node's block", lo=0)
    ntn_digits: int = _p(5, "digits of the number in an NTN such as 'JPN-N00001'", lo=1, hi=12)

    _label = "fuser config"

    def __post_init__(self):
        self._validate()
        if self.loose_gate_probability < self.gate_probability:
            raise ValueError(f"fuser config 'loose_gate_probability': expected at least "
                             f"gate_probability ({self.gate_probability}), "
                             f"got {self.loose_gate_probability}")

    def gates(self, m: int) -> tuple[float, float]:
        """(strict, loose) chi-square thresholds γ for m gated dimensions."""
        strict = chi2_quantile(self.gate_probability, m)
        return strict, chi2_quantile(self.loose_gate_probability, m)


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
class AudienceTracks:
    """What this node may report to one partner (docs/fusion.md, "Who reports what to whom"):
    J tracks of the estimate releasable to it, each with its source ``keys`` (J,) (any unique
    text, e.g. "JPN:JPN-A1-7"), ``local_index`` (J,) the index of the local track of the same
    object in the update's ``local`` set (-1: not tied to one; never reported) and its
    ``quality`` (J,) 0-15."""

    keys: np.ndarray
    local_index: np.ndarray
    quality: np.ndarray

    @classmethod
    def of(cls, keys, local_index, quality) -> "AudienceTracks":
        return cls(np.asarray(keys, dtype=str), np.asarray(local_index, dtype=np.intp),
                   np.asarray(quality, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class FusedPicture:
    """The joint picture at time t (s) as one node sees it: F fused tracks, struct of arrays.

    Per fused track: ``ntn`` ('' when no node numbered it yet), ``x`` (F, 2d) and ``P``
    (F, 2d, 2d) (m, m/s), ``quality`` 0-15 (from the fused position covariance), ``cls`` and
    ``class_conf``, ``identity`` (-1 unknown), ``responsible`` (this node reports it),
    ``n_sources``, ``local_index`` (its local track's index in the update's ``local`` set, -1
    none), the markings (``rel_nations``/``rel_mask``, see :attr:`releasable_to`) and the
    contributors (CSR: ``member_keys[member_start[i]:member_start[i+1]]``, see :attr:`sources`)
    with their CI weights. Per local track of the update (in input order): ``local_ntn``,
    ``local_report`` (publish it now) and ``local_stopped`` (it was reported after the last
    update and no longer is: tell the partners the report stream ended, see docs/fusion.md).
    ``local_ntn_to`` gives each local track's number's lineage (docs/fusion.md, "Who may hear a
    number"): None for a number of this node's block (or none), else the sorted nations its owner
    released a report carrying it to (the owner included; the markings of the owner's reports as
    this fuser saw them, over time).
    Per recipient (when the update is given :class:`AudienceTracks`): ``audience_report[p]``
    (J,) bool, which of the tracks offered for partner p this node reports to p now, and
    ``audience_stopped[p]``, the keys of those whose report stream to p just ended.
    ``links`` (L, 2) are the associated pairs of source keys; ``events`` what changed;
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
    local_ntn_to: tuple = ()
    audience_report: dict = field(default_factory=dict)
    audience_stopped: dict = field(default_factory=dict)

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
        """Each fused track's marking (the intersection of its contributors'), sorted alpha-3
        codes."""
        return decode_markings(self.rel_nations, self.rel_mask)

    def find(self, key: str) -> int:
        """Index of the fused track that source track ``key`` ("NATION:local_id") contributes
        to, -1 if none."""
        hit = np.flatnonzero(self.member_keys == key)
        if len(hit) == 0:
            return -1
        return int(np.searchsorted(self.member_start, hit[0], side="right") - 1)

    def __repr__(self) -> str:
        return (f"FusedPicture(t={self.t}, {len(self)} tracks, "
                f"{int(self.responsible.sum())} reported by this node)")


#: rule d: the weight of one partner reported to in a claim on a contested number (above any
#: reporting claim score, q·R + rank < 2³²)
_BREADTH = 1 << 32


def _reach(a: "_Aligned", also_to) -> np.ndarray:
    """(M,) per partner track of an update, how many nations its sender reports the object to:
    those its report names (``also_to``), else its marking's, the sender left out."""
    tracks, L = a.tracks, a.n_local
    K = len(tracks)
    if K == L:
        return np.zeros(0, dtype=np.int64)
    keys = a.keys[L:].tolist()
    marks = tracks.take(np.arange(L, K)).releasable_to
    said = also_to or {}
    return np.array([len(said[k]) if k in said else len(set(m) - {n})
                     for k, m, n in zip(keys, marks, tracks.nation[L:].tolist())], dtype=np.int64)


def _empty_str(n: int = 0) -> np.ndarray:
    return np.full(n, "", dtype="<U1")


# ---------------------------------------------------------------------- one update's intermediates


@dataclass(frozen=True, eq=False)
class _Aligned:
    """Step 1's result: the update's K tracks, this node's ``n_local`` first, then the partners'
    fresh and usable ones, with their source ``keys`` (K,), states ``x`` (K, 2d) (m, m/s) and
    covariances ``P`` (K, 2d, 2d) carried to the picture time ``t`` (s), d = ``dims``; and the
    counts of partner tracks left out as ``stale`` (older than max_age_s) or ``invalid``
    (covariance not symmetric positive definite)."""

    t: float
    tracks: TrackSet
    n_local: int
    keys: np.ndarray
    x: np.ndarray
    P: np.ndarray
    dims: int
    stale: int
    invalid: int


@dataclass(frozen=True, eq=False)
class _GroupStates:
    """Step 3's result: each group's fused state ``x`` (G, 2d) and covariance ``P`` (G, 2d, 2d),
    and each track's CI ``weight`` ω (K,) in its group (1 alone)."""

    x: np.ndarray
    P: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True, eq=False)
class _Decisions:
    """Step 4's result: per group its ``ntn`` (G,), whether this node is ``responsible`` for
    reporting it (G,) and its local track's index (``local_index`` (G,), -1 none); per local
    track whether its report stream just ended (``local_stopped`` (L,)); the ``events``."""

    ntn: np.ndarray
    responsible: np.ndarray
    local_index: np.ndarray
    local_stopped: np.ndarray
    events: FusionEvents


# ------------------------------------------------------------------------------------------ Fuser


class Fuser:
    """One node's track-to-track fusion, keeping what it must between updates.

    ``nation``: this node's nation (alpha-3); its local tracks must all carry it, partners' none.
    State kept (all per source key or NTN, pruned as tracks disappear): the associations of the
    last picture and their strain, candidate associations waiting for confirmation
    (:class:`~skyweave.fuse.association.AssociationMemory`), each local track's reporting state
    (:class:`~skyweave.fuse.responsibility.ReportingMemory`), and its NTN, the retired-NTN
    aliases and this nation's NTN block (:class:`~skyweave.fuse.ntn.Numbering`), and the CI
    weights of each group of several tracks (where the next update's search starts).
    """

    def __init__(self, nation: str, config: FuserConfig | None = None):
        if not (isinstance(nation, str) and len(nation) == 3 and nation.isalpha()
                and nation.isupper()):
            raise ValueError(f"Fuser nation: expected an alpha-3 code such as 'JPN', "
                             f"got {nation!r}")
        self.nation = nation
        self.config = config or FuserConfig()
        cfg = self.config
        self.numbering = Numbering(nation, cfg.ntn_start, cfg.ntn_digits, cfg.alias_ttl_s,
                                   cfg.number_grace_s, cfg.silence_timeout_s)
        self.block = self.numbering.block
        self.aliases = self.numbering.aliases
        self._pairs = AssociationMemory()
        self._ci_prev: dict[tuple, np.ndarray] = {}   # sorted member keys -> their CI weights
        self._reporting = ReportingMemory.empty()
        self._reporting_to: dict[str, ReportingMemory] = {}   # per recipient, by audience key
        self.t_last: float | None = None
        # lineage: partner NTN -> nations its owner released a report carrying it to, and when
        # it was last heard from its owner or held by a local track (s)
        self._released: dict[str, set[str]] = {}
        self._released_t: dict[str, float] = {}
        # rule a′: per local track (source key), the number it carried in the last picture,
        # since which update (a count), the nations this node sent a report carrying it to, and
        # since when (s);
        # per partner report number, the update that first heard it, and when (s) it was first
        # and last heard
        self._updates = 0
        self._carried: dict[str, tuple[str, int, frozenset, float]] = {}
        self._heard: dict[str, list] = {}

    # ------------------------------------------------------------------ public

    def resolve(self, ntn: str) -> str:
        """The NTN a (possibly retired) NTN now goes by."""
        return self.aliases.resolve_one(ntn)

    def local_state(self) -> dict[str, tuple[str, bool]]:
        """source key → (NTN, holds reporting responsibility) of every local track of the last
        update."""
        # both memories were written from the same keys, in the same order, by the last update
        keys, ntn = self.numbering.local_keys.tolist(), self.numbering.local_ntn.tolist()
        return {k: (n, bool(h)) for k, n, h in zip(keys, ntn, self._reporting.holding.tolist())}

    def update(self, t: float, local: TrackSet, remote: TrackSet,
               audiences: dict[str, AudienceTracks] | None = None,
               also_to: dict[str, dict[str, int]] | None = None,
               released: dict[str, tuple[str, ...]] | None = None) -> FusedPicture:
        """The fused picture at time ``t`` (s) from this node's tracks and its partners' latest
        reports: steps 1-5 of the module docstring, each in its own method or module.

        ``audiences``: per partner nation, the tracks this node may report to it
        (:class:`AudienceTracks`); reporting responsibility is then also decided per recipient
        (:meth:`_decide_recipients`) and given in the picture's ``audience_report`` and
        ``audience_stopped``. ``also_to``: per partner report (by source key) that says so, the
        nations its sender reports that object to and the quality of each: its claims per
        recipient, and, for a number the sender owns, to whom it released it. ``released``: per
        partner report of a number its sender owns that says so, the nations the owner releases
        that number to.

        The association, reporting and numbering memories move on to this update's; nothing
        else about the fuser changes. ``ValueError`` (before any change) for a non-finite t,
        tracks of the wrong nation, mixed dimensions or a source track given twice.
        """
        t = float(t)
        self._check(t, local, remote)
        a = self._align(t, local, remote)                                     # 1. tracks at t
        tracks, L = a.tracks, a.n_local
        prev = self._reporting.recall(a.keys[:L])     # the local tracks' last reporting state
        raw = self.numbering.carried(a.keys[:L], tracks.ntn)
        grouping = self._associate(a, raw)                                  # 2. one per object
        group, n_groups = grouping.group, grouping.n_groups
        states = self._fuse_states(group, n_groups, a.x, a.P, a.keys)              # 3. CI
        # 4. reporting responsibility first: it does not depend on the numbers, they depend on it
        live, claim = self._claims(a, prev)
        local_group = group[:L]
        responsible_l, beaten = decide(
            n_groups=n_groups, local_group=local_group, q_now=tracks.quality[:L],
            holding=prev.holding, own_score=claim[:L], beaten_t=prev.beaten_t,
            remote_group=group[L:], remote_q=tracks.quality[L:], remote_score=claim[L:],
            remote_t=tracks.t[L:], live=live[L:], margin=self.config.quality_margin,
        )
        responsible = np.zeros(n_groups, dtype=bool)
        responsible[local_group] = responsible_l
        local_index = np.full(n_groups, -1, dtype=np.intp)
        local_index[local_group] = np.arange(L)
        remote_reach = _reach(a, also_to)
        num_claim = self._number_claims(a, claim, prev, audiences, remote_reach)
        self._updates += 1
        told, since, heard, heard_t, since_t = self._carried_and_heard(t, a.keys[:L], raw, L)
        reach = np.r_[np.array([len(x) for x in told[:L]], dtype=np.int64), remote_reach]
        contributors = Contributors(group=group, key=a.keys, raw=raw, claim=num_claim, live=live,
                                    told=told, since=since, heard=heard, heard_t=heard_t, reach=reach,
                                    since_t=since_t)
        gntn, nev = self.numbering.assign(t, contributors, n_groups, responsible, local_index)
        # 5. the picture
        took = tuple(sorted(gntn[local_group[responsible_l & ~prev.holding]].tolist()))
        gave = tuple(sorted(gntn[local_group[~responsible_l & prev.holding]].tolist()))
        events = FusionEvents(nev.merged, nev.contested, nev.issued, took, gave, nev.revived)
        stopped = prev.holding & ~responsible_l
        picture = _picture(a, grouping, states,
                           _Decisions(gntn, responsible, local_index, stopped, events))
        self.numbering.remember(a.keys[:L], gntn[local_group])
        picture = replace(picture, local_ntn_to=self._lineage(t, remote, picture.local_ntn, also_to, released))
        if audiences is not None:
            report_to, stopped_to = self._decide_recipients(a, group, n_groups, live, audiences, also_to or {})
            picture = replace(picture, audience_report=report_to, audience_stopped=stopped_to)
        self._remember_carried(t, a.keys[:L], picture, tracks, L, audiences)
        self._reporting = ReportingMemory.after(a.keys[:L], responsible_l, tracks.quality[:L],
                                                beaten)
        self.t_last = t
        return picture

    def _number_claims(self, a: _Aligned, claim: np.ndarray, prev: ReportingMemory, audiences,
                       remote_reach: np.ndarray) -> np.ndarray:
        """(K,) each track's claim on a contested number (rule d), with reporting per recipient
        (``audiences`` given; else the reporting claims ``claim`` unchanged): first the number
        of partners the track's estimate is reported to, then its reporting claim. A partner's
        live report counts the nations it says it reports the object to (``remote_reach``,
        :func:`_reach`); this node's own track the partners it reported the
        object to after the last update, and claims with the best quality it reported to any
        of them where it does not hold the network-wide responsibility.

        So the two nodes at a split compare the same thing. With per-recipient reporting, two
        nodes often both report an object to each other while neither holds it network-wide:
        each saw the other's report as a live claim and its own track as none, and each gave
        the number to the other's track (over NATS, BM1 at 262 s: Japan's and the USA's pictures
        crossed numbers, and Australia and the UK, who hear the USA's track only, saw it
        renumbered twice). The track reported to most partners keeps the number: the one
        the nations that hear only it know by that number."""
        if audiences is None:
            return claim
        tracks, L = a.tracks, a.n_local
        K = len(tracks)
        breadth = np.zeros(K, dtype=np.int64)
        sent = np.zeros((L, len(audiences)), dtype=bool)
        best_q = np.full(L, -1, dtype=np.int64)
        for j, (p, aud) in enumerate(audiences.items()):
            mem = self._reporting_to.get(p)
            if mem is None or not len(aud.keys):
                continue
            r = mem.recall(aud.keys)
            li = aud.local_index
            ok = r.holding & (li >= 0) & (li < L)
            sent[li[ok], j] = True
            np.maximum.at(best_q, li[ok], r.reported_q[ok])
        breadth[:L] = sent.sum(axis=1)
        nations = tuple(sorted(set(tracks.nation.tolist()) | {self.nation}))
        R = len(nations)
        out = claim.copy()
        own = (~prev.holding) & (best_q >= 0)
        out[:L] = np.where(own, track_claims(best_q, np.full(L, nations.index(self.nation)), R, own), claim[:L])
        breadth[L:] = remote_reach
        return np.where(out >= 0, breadth * _BREADTH + out, -1)

    def _carried_and_heard(self, t: float, local_keys: np.ndarray, raw: np.ndarray, L: int):
        """For rule a′ (:func:`skyweave.fuse.ntn._own_with_reporter`), (K,) each: the nations
        this node sent each own track's raw number to and since which update the track carries
        it (empty, inf for partners' tracks); the update that first heard each partner track's
        raw number and when (s) (inf for its own). Updates are counted, not timed: a node's
        clock is its newest data time, and several updates share one. Moves on the first-heard
        record (forgotten ``alias_ttl_s`` after last heard)."""
        K = len(raw)
        told = np.empty(K, dtype=object)
        told[:] = [frozenset()] * K
        since = np.full(K, np.inf)
        heard = np.full(K, np.inf)
        heard_t = np.full(K, np.inf)
        since_t = np.full(K, np.inf)
        for i, k in enumerate(local_keys.tolist()):
            c = self._carried.get(k)
            if c is not None and c[0] and c[0] == raw[i]:
                told[i], since[i], since_t[i] = c[2], c[1], c[3]
        for i in range(L, K):
            n = raw[i]
            if n:
                h = self._heard.setdefault(n, [self._updates, t, t])
                h[2] = t
                heard[i], heard_t[i] = h[0], h[1]
        ttl = self.config.alias_ttl_s
        for n in [n for n, h in self._heard.items() if t - h[2] > ttl]:
            del self._heard[n]
        return told, since, heard, heard_t, since_t

    def _remember_carried(self, t: float, local_keys: np.ndarray, picture: "FusedPicture",
                          tracks: TrackSet, L: int, audiences) -> None:
        """Move on each local track's carried number: since when (s) it carries it, and the
        nations a report carrying it went to in this update (per recipient where
        ``audiences`` are given, else every nation of its marking while this node reports it;
        a partner not in the number's lineage gets the report without it)."""
        sent: list[set] = [set() for _ in range(L)]
        if audiences is not None:
            for p, aud in audiences.items():
                rep = picture.audience_report.get(p)
                if rep is None:
                    continue
                for li in aud.local_index[rep].tolist():
                    if 0 <= li < L:
                        sent[li].add(p)
        elif L:
            marks = tracks.take(np.arange(L)).releasable_to
            for i in np.flatnonzero(picture.local_report).tolist():
                sent[i].update(m for m in marks[i] if m != self.nation)
        new: dict[str, tuple[str, float, frozenset]] = {}
        for i, k in enumerate(local_keys.tolist()):
            n = str(picture.local_ntn[i])
            if not n:
                continue
            to = picture.local_ntn_to[i] if i < len(picture.local_ntn_to) else None
            got = sent[i] if to is None else {p for p in sent[i] if p in to}
            c = self._carried.get(k)
            if c is not None and c[0] == n:
                new[k] = (n, c[1], c[2] | frozenset(got), c[3])
            else:
                new[k] = (n, self._updates, frozenset(got), t)
        self._carried = new

    def _decide_recipients(self, a: _Aligned, group: np.ndarray, n_groups: int, live: np.ndarray,
                           audiences: dict[str, AudienceTracks], also_to: dict[str, dict[str, int]]):
        """Reporting responsibility per recipient (docs/fusion.md, "Who reports what to whom").

        For partner p the rule of :func:`~skyweave.fuse.responsibility.decide` runs on the
        tracks offered for p (each in the group of the local track it is tied to; of several in
        one group only the best quality competes) against the live partner reports that are
        releasable to p, p's own left out: a report p may not see is no claim on p's behalf,
        since p never receives it, and p's own estimate does not make the others' redundant to
        it (p fuses the best other one with its own). Each recipient has its own memory (held,
        last reported quality, claims beaten), keyed by the offered tracks' keys. A report that
        says to whom its sender reports the object (``also_to``) claims exactly for those, with
        the quality it gives each.
        """
        tracks, L = a.tracks, a.n_local
        nations = tuple(sorted(set(tracks.nation.tolist()) | {self.nation}))
        R = len(nations)
        rank_all = np.searchsorted(np.array(nations), tracks.nation) if len(tracks) else np.zeros(0, np.intp)
        my_rank = nations.index(self.nation)
        vocab = tracks.rel_nations
        report_to: dict[str, np.ndarray] = {}
        stopped_to: dict[str, tuple] = {}
        memories: dict[str, ReportingMemory] = {}
        rq = tracks.quality[L:]
        rkeys = a.keys[L:].tolist()
        said = np.array([k in also_to for k in rkeys], dtype=bool)
        rnation = tracks.nation[L:]
        for p, aud in audiences.items():
            J = len(aud.keys)
            prev = self._reporting_to.get(p, ReportingMemory.empty()).recall(aud.keys)
            tied = (aud.local_index >= 0) & (aud.local_index < L)
            cg = np.full(J, -1, dtype=np.intp)
            cg[tied] = group[:L][aud.local_index[tied]]
            # one candidate per group: the best quality, then the smallest key
            cand = np.flatnonzero(tied)
            if len(cand):
                order = np.lexsort((aud.keys[cand], -aud.quality[cand], cg[cand]))
                srt = cand[order]
                first = np.r_[True, cg[srt][1:] != cg[srt][:-1]]
                cand = np.sort(srt[first])
            if p in vocab:
                bit = vocab.index(p)
                word, b = divmod(bit, 64)
                to_p = ((tracks.rel_mask[L:, word] >> np.uint64(b)) & np.uint64(1)).astype(bool)
            else:
                to_p = np.zeros(len(tracks) - L, dtype=bool)
            q_p = rq.astype(np.int64)
            if said.any():
                told = np.array([also_to[k].get(p, -1) if s_ else -1 for k, s_ in zip(rkeys, said.tolist())],
                                dtype=np.int64)
                own = rnation == p
                to_p = np.where(said & ~own, told >= 0, to_p)
                q_p = np.where(said & ~own & (told >= 0), told, q_p)
            # p's own report is no claim either: p fuses the best of the others' estimates with
            # its own (measured in BENCHMARKS.md, "Parity": without this its picture of the
            # objects it tracks best held its own estimate alone)
            rlive = live[L:] & to_p & (rnation != p)
            rclaim = track_claims(q_p, rank_all[L:], R, rlive)
            own = track_claims(prev.reported_q[cand], np.full(len(cand), my_rank), R, prev.holding[cand])
            resp_c, beaten_c = decide(
                n_groups=n_groups, local_group=cg[cand], q_now=aud.quality[cand],
                holding=prev.holding[cand], own_score=own, beaten_t=prev.beaten_t[cand],
                remote_group=group[L:], remote_q=q_p, remote_score=rclaim, remote_t=tracks.t[L:],
                live=rlive, margin=self.config.quality_margin,
            )
            resp = np.zeros(J, dtype=bool)
            resp[cand] = resp_c
            beaten = np.full(J, -np.inf)
            beaten[cand] = beaten_c
            report_to[p] = resp
            old = self._reporting_to.get(p)
            gone = ()
            if old is not None and len(old.keys):
                still = set(aud.keys[resp].tolist())
                gone = tuple(sorted(k for k in old.keys[old.holding].tolist() if k not in still))
            stopped_to[p] = gone
            memories[p] = ReportingMemory.after(aud.keys, resp, aud.quality, beaten)
        self._reporting_to = memories
        return report_to, stopped_to

    def released_to(self, ntn: str) -> tuple[str, ...] | None:
        """The nations the owner of ``ntn`` released a report carrying it to (sorted, the owner
        included), as far as this fuser has seen; None for a number of this node's block or ''."""
        owner = ntn.split("-N", 1)[0] if "-N" in ntn else ""
        if not owner or owner == self.nation:
            return None
        return tuple(sorted(self._released.get(ntn, set()) | {owner}))

    def _lineage(self, t: float, remote: TrackSet, local_ntn: np.ndarray, also_to=None, released=None) -> tuple:
        """Learn, from the partners' reports, to whom each partner released its own numbers
        (the owner's reports: their recipients or ``also_to``, and ``released``; a reporter of
        another's number: the release it passes on, ``released``); return each local track's
        :meth:`released_to`. An entry is forgotten ``alias_ttl_s``
        after it was last heard from its owner or held by a local track."""
        if len(remote):
            owned = np.flatnonzero((remote.ntn != "")
                                   & np.char.startswith(remote.ntn.astype(str),
                                                        np.char.add(remote.nation.astype(str), "-N")))
            if len(owned):
                marks = remote.take(owned).releasable_to
                keys = remote.keys[owned].tolist()
                for n, m, k in zip(remote.ntn[owned].tolist(), marks, keys):
                    rel = self._released.setdefault(n, set())
                    if also_to and k in also_to:  # the owner says whom it reports it to, numbered
                        rel.update(also_to[k])
                        rel.add(self.nation)
                    else:                         # else its marking: it went to all of them
                        rel.update(m)
                    if released and k in released:   # and whom the owner releases it to
                        rel.update(released[k])
                    self._released_t[n] = t
            # a reporter of another nation's number passes on the owner's release as it learnt
            # it from the owner's own reports (docs/fusion.md, "Who may hear a number"): so a
            # node that hears the number only from that reporter may name the object alike
            if released:
                mine = f"{self.nation}-N"
                for k, n, o in zip(remote.keys.tolist(), remote.ntn.tolist(), remote.nation.tolist()):
                    if not n or k not in released or n.startswith(f"{o}-N") or n.startswith(mine):
                        continue
                    self._released.setdefault(n, set()).update(released[k])
                    self._released_t[n] = t
        out = tuple(self.released_to(n) for n in local_ntn.tolist())
        for n, r in zip(local_ntn.tolist(), out):
            if r is not None and n in self._released:
                self._released_t[n] = t
        ttl = self.config.alias_ttl_s
        for n in [n for n, tn in self._released_t.items() if t - tn > ttl]:
            del self._released[n], self._released_t[n]
        return out

    # ------------------------------------------------------------------ steps

    def _check(self, t: float, local: TrackSet, remote: TrackSet) -> None:
        """Validate an update's inputs at the boundary (the message names what came)."""
        if not np.isfinite(t):
            raise ValueError(f"Fuser.update: t must be finite, got {t!r}")
        if len(local) and np.any(local.nation != self.nation):
            bad = local.nation[local.nation != self.nation][0]
            raise ValueError(f"Fuser.update: local tracks must be {self.nation}'s, "
                             f"got one from {bad}")
        if len(remote) and np.any(remote.nation == self.nation):
            raise ValueError(f"Fuser.update: a partner track carries this node's own nation "
                             f"{self.nation}; pass it as local")
        if len(local) and len(remote) and local.dims != remote.dims:
            raise ValueError(f"Fuser.update: local tracks have dims {local.dims}, "
                             f"partner tracks {remote.dims}")

    def _align(self, t: float, local: TrackSet, remote: TrackSet) -> _Aligned:
        """Step 1: leave out partner tracks older than ``max_age_s`` or whose covariance is
        unusable, and carry every track to t (s) (CV, density ``q``)."""
        cfg = self.config
        fresh = (t - remote.t) <= cfg.max_age_s if len(remote) else np.zeros(0, dtype=bool)
        usable = remote.covariance_ok()
        n_stale = int((~fresh).sum())
        n_invalid = int((fresh & ~usable).sum())
        if n_stale or n_invalid:
            remote = remote.take(fresh & usable)
        tracks = TrackSet.concat([local, remote])
        K = len(tracks)
        keys = tracks.keys
        if K and len(np.unique(keys)) != K:
            u, c = np.unique(keys, return_counts=True)
            raise ValueError(f"Fuser.update: source track {u[c > 1][0]!r} appears more than once")
        d = tracks.dims if K else (local.dims if len(local) else 3)
        x, P = predict_to(t, tracks.t, tracks.x, tracks.P, cfg.q)
        return _Aligned(t, tracks, len(local), keys, x, P, d, n_stale, n_invalid)

    def _claims(self, a: _Aligned, prev: ReportingMemory):
        """(live, claim), (K,) each: which partner reports are live (no older than
        ``silence_timeout_s``) and each track's reporting claim (−1 none).

        Nations are ranked alphabetically among those present and this node's (R of them), so
        a claim's score is q·R + (R − 1 − rank): a partner claims while live with the quality it
        reports, this node's own track while it holds responsibility with the quality it last
        reported (:mod:`skyweave.fuse.responsibility`).
        """
        tracks, L = a.tracks, a.n_local
        K = len(tracks)
        nations = tuple(sorted(set(tracks.nation.tolist()) | {self.nation}))
        if K:
            rank = np.searchsorted(np.array(nations), tracks.nation)
        else:
            rank = np.zeros(0, dtype=np.intp)
        live = (np.arange(K) >= L) & ((a.t - tracks.t) <= self.config.silence_timeout_s)
        quality = np.r_[prev.reported_q, tracks.quality[L:]]
        claim = track_claims(quality, rank, len(nations), np.r_[prev.holding, live[L:]])
        return live, claim

    def _associate(self, a: _Aligned, numbers: np.ndarray) -> Grouping:
        """Step 2: groups of tracks (one object each) with hysteresis; moves the association
        memory on.

        Candidate pairs: those the k-d tree pre-gate finds within reach of γ_loose, plus the
        last picture's links whose tracks are still here, less those that cannot be one object
        (one source, conflicting identities). Each pair's d² decides with its memory
        (:class:`~skyweave.fuse.association.Hysteresis`) whether it is admissible and at what
        cost; ``numbers`` (K,) are the NTNs the tracks carry as their sources give them: a pair
        whose two numbers differ is a merge of two network tracks and gets no hysteresis until
        they agree. Sources are taken in alphabetical order in the sequential assignment.
        """
        cfg = self.config
        tracks, keys, d = a.tracks, a.keys, a.dims
        if len(tracks) == 0:
            self._pairs = AssociationMemory()
            return Grouping.empty()
        m = d if cfg.gate_on == "position" else 2 * d
        rule = Hysteresis(*cfg.gates(m), cfg.split_after, cfg.confirm_after)
        # σᵢ = √tr Pᵢ of the position block (m): how far the pre-gate looks around track i
        sigma = np.sqrt(np.trace(a.P[:, :d, :d], axis1=1, axis2=2))
        pi, pj = candidate_track_pairs(a.x[:, :d], sigma, rule.loose, tracks.nation)
        pi, pj = self._pairs.with_linked(keys, pi, pj)
        ok = compatible_pairs(tracks.nation, tracks.identity, pi, pj)
        pi, pj = pi[ok], pj[ok]
        d2 = pair_distance(a.x, a.P, pi, pj, d, cfg.gate_on)
        # the memory knows a pair by its source keys, smaller first
        ka, kb = keys[pi], keys[pj]
        sa, sb = np.where(ka < kb, ka, kb), np.where(ka < kb, kb, ka)
        ni, nj = numbers[pi], numbers[pj]
        unreconciled = (ni != "") & (nj != "") & (ni != nj)
        was, strain_prev, streak_prev = self._pairs.recall(sa, sb, unreconciled)
        admissible, cost, strain, streak = rule.step(d2, was, strain_prev, streak_prev)
        sel = np.flatnonzero(admissible)
        rank = np.searchsorted(np.unique(tracks.nation), tracks.nation)
        group = sequential_assignment(rank, pi[sel], pj[sel], cost[sel])
        together = group[pi] == group[pj]
        waiting = ~together & ~was & (d2 <= rule.strict)
        self._pairs = AssociationMemory(PairTable(sa[together], sb[together], strain[together]),
                                        PairTable(sa[waiting], sb[waiting], streak[waiting]))
        if together.any():
            links = np.stack([sa[together], sb[together]], axis=1)
        else:
            links = np.zeros((0, 2), dtype="<U1")
        return Grouping(group, int(group.max()) + 1, links)

    def _fuse_states(self, group: np.ndarray, n_groups: int, x: np.ndarray,
                     P: np.ndarray, keys: np.ndarray | None = None) -> _GroupStates:
        """Step 3: CI of every group, batched by group size (a lone track is its own fused
        state, weight 1). Exact weights start from the last update's of a group with the same
        members (source ``keys``), where the optimum moved little: the USA, which fuses most
        groups of three or four, spent over half of each fusion in the search from scratch."""
        cfg = self.config
        n = x.shape[1]
        xf = np.zeros((n_groups, n))
        Pf = np.zeros((n_groups, n, n))
        weight = np.ones(len(group))
        if n_groups == 0:
            return _GroupStates(xf, Pf, weight)
        order, starts, sizes = groups_of(group)
        seen: dict[tuple, np.ndarray] = {}
        one = np.flatnonzero(sizes == 1)
        idx = order[starts[one]]
        xf[one], Pf[one] = x[idx], P[idx]
        for s in np.unique(sizes[sizes > 1]).tolist():
            gs = np.flatnonzero(sizes == s)
            members = order[starts[gs][:, None] + np.arange(s)[None, :]]
            Pm = P[members]
            J = information(Pm)
            w0 = None
            if keys is not None and cfg.ci_method == "exact":
                km = keys[members]
                srt = np.argsort(km, axis=1)
                rows = [tuple(r) for r in np.take_along_axis(km, srt, axis=1).tolist()]
                w0 = np.full((len(gs), s), np.nan)
                for r, row in enumerate(rows):
                    prev = self._ci_prev.get(row)
                    if prev is not None:
                        w0[r, srt[r]] = prev
            w = ci_weights(Pm, cfg.ci_criterion, cfg.ci_method, J=J, w0=w0)
            if w0 is not None:
                for r, row in enumerate(rows):
                    seen[row] = w[r, srt[r]]
            xf[gs], Pf[gs] = ci_combine(x[members], J, w)
            weight[members.ravel()] = w.ravel()
        self._ci_prev = seen
        return _GroupStates(xf, Pf, weight)


# ------------------------------------------------------------------------------------ the picture


def _picture(a: _Aligned, grouping: Grouping, states: _GroupStates,
             dec: _Decisions) -> FusedPicture:
    """Step 5: assemble the FusedPicture (class, identity, quality, markings, members), fused
    tracks sorted by NTN, then the unnumbered ones by their first source key."""
    tracks, group, n_groups = a.tracks, grouping.group, grouping.n_groups
    K = len(tracks)
    cls, conf, ident = _class_identity(tracks, group, n_groups)
    d = a.dims
    quality = track_quality(states.P[:, :d, :d]) if n_groups else np.zeros(0, dtype=np.int8)
    if K:
        rel = intersect_markings(tracks.rel_mask, group, n_groups)
    else:
        rel = np.zeros((0, 1), dtype=np.uint64)
    out, sizes, member_start, member_keys, member_weight = _output_order(
        a.keys, grouping, states.weight, dec.ntn)
    local_group = group[:a.n_local]
    return FusedPicture(
        t=a.t, ntn=dec.ntn[out], x=states.x[out], P=states.P[out], quality=quality[out],
        cls=np.asarray(cls)[out].astype(str), class_conf=conf[out], identity=ident[out],
        responsible=dec.responsible[out], n_sources=sizes[out], local_index=dec.local_index[out],
        rel_nations=tracks.rel_nations, rel_mask=rel[out], member_start=member_start,
        member_keys=member_keys, member_weight=member_weight, local_ntn=dec.ntn[local_group],
        local_report=dec.responsible[local_group], local_stopped=dec.local_stopped,
        links=grouping.links, events=dec.events, stale_dropped=a.stale, invalid_dropped=a.invalid,
    )


def _class_identity(tracks: TrackSet, group: np.ndarray, n_groups: int):
    """Per group (G,): class, its confidence and identity.

    The class is the one with the highest summed confidence over the members (each member adds
    ``class_conf + 10⁻⁶``, so a class nobody is sure of still counts), 'unknown' only when no
    member names another; its confidence the best single member's for that class. The identity
    is the largest known code (-1 when none: members with conflicting identities never
    associate, so at most one known value).
    """
    cls_out = np.full(n_groups, "unknown", dtype=object)
    conf_out = np.zeros(n_groups)
    ident = np.full(n_groups, -1, dtype=np.int64)
    if len(tracks) == 0:
        return cls_out, conf_out, ident
    cu, c_idx = np.unique(tracks.cls, return_inverse=True)
    score = np.zeros((n_groups, len(cu)))
    np.add.at(score, (group, c_idx), tracks.class_conf + 1e-6)
    best_conf = np.zeros((n_groups, len(cu)))
    np.maximum.at(best_conf, (group, c_idx), tracks.class_conf)
    unk = np.flatnonzero(cu == "unknown")
    if len(unk):
        known_any = (np.delete(score, unk, axis=1) > 0).any(axis=1)
        score[known_any, unk[0]] = -1.0
    pick = np.argmax(score, axis=1)
    np.maximum.at(ident, group, tracks.identity)
    return cu[pick], best_conf[np.arange(n_groups), pick], ident


def _output_order(keys: np.ndarray, grouping: Grouping, weight: np.ndarray, gntn: np.ndarray):
    """The picture's order and its members: (out (G,) the groups in output order, sizes (G,),
    member_start (G + 1,), member_keys (K,), member_weight (K,)), members sorted by key within
    each fused track, fused tracks numbered first (by NTN), then by their first member's key."""
    group, n_groups = grouping.group, grouping.n_groups
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
    member_start = np.r_[0, np.cumsum(sizes[out])].astype(np.intp)
    return out, sizes, member_start, mk[mo], mw[mo]
