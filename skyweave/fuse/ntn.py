"""Network track numbers (NTNs): blocks, aliases, and the rules that make every node agree.

An NTN is a string ``"<NATION>-N<number>"`` (e.g. ``JPN-N00017``); each nation numbers only from
its own block, so two nodes never hand out the same number. NTNs are compared as plain strings
(lexicographic order, a total order every implementation computes the same way). The rules
themselves (which number a fused track takes, merge, split) are written out in docs/fusion.md;
this module holds their pieces, vectorised over tracks:

- :class:`NtnBlock`: a nation's counter; it also moves past any number of its own block seen in
  the network, so a node that restarted without its state never re-issues a live number.
- :class:`AliasTable`: retired NTN → the NTN it merged into (with the time of the merge), resolved
  transitively, forgotten after a time to live.
- :func:`group_min`: per group, the smallest candidate NTN its contributors carry (rules a, b).
- :func:`resolve_conflicts`: one NTN claimed by several groups (a split, or stale reports) is kept
  by the group holding the strongest reporting claim on it; the others drop it (rule d).
- :class:`Numbering`: a node's numbering as a whole, rules a-e applied in order at each update,
  with what it keeps between updates (its block, its aliases, the number of each local track).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from skyweave.fuse.trackset import key_index

__all__ = [
    "NtnBlock", "AliasTable", "group_min", "resolve_conflicts", "Contributors", "NumberingEvents",
    "Numbering",
]


class NtnBlock:
    """One nation's block of network track numbers ``f"{nation}-N{number:0{digits}d}"``, numbers
    from ``start``."""

    def __init__(self, nation: str, start: int = 1, digits: int = 5):
        self.nation = nation
        self.prefix = f"{nation}-N"
        self.digits = int(digits)
        self.next = int(start)
        self._re = re.compile(r"^" + re.escape(self.prefix) + r"(\d+)$")

    def issue(self, k: int = 1) -> list[str]:
        """``k`` new numbers, in increasing order."""
        out = [f"{self.prefix}{n:0{self.digits}d}" for n in range(self.next, self.next + k)]
        self.next += k
        return out

    def observe(self, ntns) -> None:
        """Move the counter past every number of this block among ``ntns`` (none issued twice)."""
        for s in ntns:
            m = self._re.match(s)
            if m:
                self.next = max(self.next, int(m.group(1)) + 1)


class AliasTable:
    """Retired network track numbers and the ones they merged into (rule b), with the time of the
    merge (s)."""

    def __init__(self, ttl_s: float):
        self.ttl_s = float(ttl_s)
        self._to: dict[str, str] = {}
        self._t: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._to)

    def as_dict(self) -> dict[str, str]:
        """retired → surviving NTN, each resolved to the end of its chain."""
        return {k: self.resolve_one(k) for k in self._to}

    def retire(self, old: str, new: str, t: float) -> None:
        """Record that ``old`` merged into ``new`` at time ``t`` (s)."""
        if old and new and old != new:
            self._to[old] = new
            self._t[old] = float(t)

    def forget(self, old: str) -> None:
        """Drop the alias of ``old`` (it is in use again: see rule e in docs/fusion.md)."""
        self._to.pop(old, None)
        self._t.pop(old, None)

    def resolve_one(self, ntn: str) -> str:
        """The surviving NTN of ``ntn`` (itself when not retired)."""
        seen = 0
        while ntn in self._to and seen < 64:
            ntn = self._to[ntn]
            seen += 1
        return ntn

    def resolve(self, ntns: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`resolve_one` over an array of NTNs ('' stays '')."""
        ntns = np.asarray(ntns)
        if not self._to or len(ntns) == 0:
            return ntns
        u, inv = np.unique(ntns, return_inverse=True)
        res = [self.resolve_one(s) for s in u.tolist()]
        # never narrower than the input
        width = max([1, ntns.dtype.itemsize // 4] + [len(r) for r in res])
        return np.array(res, dtype=f"<U{width}")[np.asarray(inv).reshape(-1)]

    def touch(self, ntns, t: float) -> None:
        """Keep the aliases of ``ntns`` (retired numbers still heard at time t, s) alive for another
        ``ttl_s``."""
        for s in ntns:
            if s in self._to:
                self._t[s] = float(t)

    def prune(self, t: float) -> None:
        """Forget aliases not heard of for longer than ``ttl_s``."""
        old = [k for k, tk in self._t.items() if t - tk > self.ttl_s]
        for k in old:
            del self._to[k], self._t[k]


def group_min(group: np.ndarray, cand: np.ndarray, n_groups: int) -> np.ndarray:
    """(G,) the smallest non-empty candidate per group ('' for a group with none)."""
    out = np.full(n_groups, "", dtype=cand.dtype if cand.dtype.kind == "U" else "<U1")
    idx = np.flatnonzero(cand != "")
    if len(idx) == 0:
        return out
    order = idx[np.lexsort((cand[idx], group[idx]))]
    g = group[order]
    first = np.r_[True, g[1:] != g[:-1]]
    out = out.astype(cand.dtype)
    out[g[first]] = cand[order[first]]
    return out


def resolve_conflicts(group: np.ndarray, cand: np.ndarray, claim: np.ndarray, keys: np.ndarray,
                      n_groups: int):
    """Make every non-empty NTN the number of at most one group.

    ``cand`` (K,) each track's candidate NTN ('' none), ``claim`` (K,) its reporting-claim score
    (larger wins; negative: no claim), ``keys`` (K,) its source reference (tie-break). While some
    NTN N is the smallest candidate of several groups, the group holding the track that carries N
    with the highest claim keeps it (without any claim: the one with the smallest source key), and
    the other tracks carrying N drop it. Returns (per-group NTN (G,), the candidates after the
    drops (K,), the NTNs that were contested).
    """
    cand = cand.copy()
    contested: list[str] = []
    while True:
        gntn = group_min(group, cand, n_groups)
        ne = np.flatnonzero(gntn != "")
        if len(ne) == 0:
            return gntn, cand, contested
        u, cnt = np.unique(gntn[ne], return_counts=True)
        dups = u[cnt > 1]
        if len(dups) == 0:
            return gntn, cand, contested
        for N in dups.tolist():
            gs = ne[gntn[ne] == N]
            carriers = np.flatnonzero((cand == N) & np.isin(group, gs))
            sc = claim[carriers]
            if sc.max() >= 0:
                top = carriers[sc == sc.max()]
            else:
                top = carriers
            best = top[np.argmin(keys[top])] if len(top) > 1 else top[0]
            keeper = group[best]
            drop = carriers[group[carriers] != keeper]
            cand[drop] = ""
            contested.append(N)


@dataclass(frozen=True, eq=False)
class Contributors:
    """One update's tracks as the numbering rules see them, (K,) each.

    ``group``: the fused track (label 0..G-1) each contributes to; ``key``: its source key
    ("NATION:local_id", the tie-break); ``raw``: the number it carries as its source gives it
    ('' none, see :meth:`Numbering.carried`); ``claim``: its reporting-claim score (−1 none,
    :func:`skyweave.fuse.responsibility.track_claims`); ``live``: a partner's report no older than
    the silence timeout (always False for this node's own tracks). For rule a′
    (:func:`_own_with_reporter`), optional: ``told`` (K,) the nations this node has sent an own
    track's raw number to (an empty set elsewhere), ``since`` (K,) since which of the fuser's
    updates (a count) an own track has carried its raw number, ``heard`` (K,) the update that
    first heard a partner track's raw number and ``heard_t`` (K,) when (s) (inf elsewhere),
    ``reach`` (K,) how many nations the track's number goes to (an own track: ``told``; a
    partner's report: the nations its sender says it reports the object to), ``since_t`` (K,)
    since when (s) an own track has carried its raw number.
    """

    group: np.ndarray
    key: np.ndarray
    raw: np.ndarray
    claim: np.ndarray
    live: np.ndarray
    told: np.ndarray | None = None
    since: np.ndarray | None = None
    heard: np.ndarray | None = None
    heard_t: np.ndarray | None = None
    reach: np.ndarray | None = None
    since_t: np.ndarray | None = None


@dataclass(frozen=True)
class NumberingEvents:
    """What numbering changed in one update: ``merged`` (retired, kept) NTN pairs (rule b),
    ``contested`` NTNs (rule d, sorted), ``issued`` new NTNs (rule c), ``revived`` NTNs (rule e)."""

    merged: tuple = ()
    contested: tuple = ()
    issued: tuple = ()
    revived: tuple = ()


class Numbering:
    """A node's network track numbering: rules a-e of docs/fusion.md, applied at each update.

    Kept between updates: ``block`` (this nation's :class:`NtnBlock`), ``aliases`` (the retired
    numbers, :class:`AliasTable`, ``alias_ttl_s`` s) and the number each local track went by in
    the last picture (``local_keys``, ``local_ntn``: source keys and NTNs, (L,) each).
    """

    def __init__(self, nation: str, start: int, digits: int, alias_ttl_s: float, grace_s: float = 4.0,
                 old_after_s: float = 10.0):
        self.grace_s = float(grace_s)   # rule a′: FuserConfig.number_grace_s (s)
        self.old_after_s = float(old_after_s)   # rule a′: FuserConfig.silence_timeout_s (s)
        self.block = NtnBlock(nation, start, digits)
        self.aliases = AliasTable(alias_ttl_s)
        self.local_keys = np.zeros(0, dtype="<U1")
        self.local_ntn = np.zeros(0, dtype="<U1")

    def carried(self, local_keys: np.ndarray, ntn: np.ndarray) -> np.ndarray:
        """(K,) the *raw* number of each track: this node's own tracks (the first L, source keys
        ``local_keys``) carry the number they went by in the last picture, else their ``ntn``
        (e.g. restored after a restart); partners' tracks the ``ntn`` of their report."""
        L, K = len(local_keys), len(ntn)
        pos = key_index(self.local_keys, local_keys)
        if L and len(self.local_keys):
            stored = np.where(pos >= 0, self.local_ntn[np.maximum(pos, 0)], "")
        else:
            stored = np.full(L, "", dtype="<U1")
        raw = ntn.astype(object)
        if L:
            raw[:L] = np.where(stored != "", stored, ntn[:L])
        return raw.astype(str) if K else np.zeros(0, dtype="<U1")

    def remember(self, local_keys: np.ndarray, local_ntn: np.ndarray) -> None:
        """Keep the NTN (L,) of each local track (source keys (L,)) for the next update."""
        self.local_keys = local_keys.copy()
        self.local_ntn = local_ntn

    def assign(self, t: float, tracks: Contributors, n_groups: int, responsible: np.ndarray,
               local_index: np.ndarray):
        """Each group's NTN at time ``t`` (s): (G,) str ('' where none), and the events.

        ``responsible`` (G,): this node reports the group; ``local_index`` (G,): the index in
        ``tracks`` of its own track in the group (−1 none). In order: every number heard moves the
        block's counter and keeps its alias alive; rule a′ (follow the reporter) and the aliases
        give each track a candidate; rules a, b, d, e settle one number per group; rule b retires
        the others; rule c issues a number to each group left without one that this node
        reports, in the order of its own tracks' source keys (so the same inputs always give the
        same numbers).
        """
        raw, group = tracks.raw, tracks.group
        heard = np.unique(raw[raw != ""]).tolist()
        self.block.observe(heard)
        self.aliases.touch(heard, t)
        cand, use = self._candidates(t, tracks, n_groups, responsible)
        gntn, use_after, contested, revived = self._settle(tracks, n_groups, cand, use)
        dropped = (use != "") & (use_after == "")
        merged = self._merge(group, np.where(dropped, "", cand), gntn, t)
        need = np.flatnonzero((gntn == "") & responsible)
        issued: list[str] = []
        if len(need):
            need = need[np.argsort(tracks.key[local_index[need]], kind="stable")]
            issued = self.block.issue(len(need))
            # widen the array when the new numbers are longer than any it holds
            gntn = gntn.astype(f"<U{max(gntn.dtype.itemsize // 4, max(len(s) for s in issued))}")
            gntn[need] = issued
        self.aliases.prune(t)
        return gntn, NumberingEvents(tuple(merged), tuple(sorted(set(contested))), tuple(issued),
                                     tuple(revived))

    def _candidates(self, t: float, tracks: Contributors, n_groups: int, responsible: np.ndarray):
        """(cand, use), (K,) each: every track's raw number resolved through the aliases, and
        the candidates the group may take, where a group that follows a reporter (rule a′) keeps
        only that reporter's number, raw (its alias, if any, is forgotten: it is in use again),
        and this node's own number where it is *established with the reporter*
        (:func:`_own_with_reporter`): the smaller of the two then wins.
        """
        raw, group = tracks.raw, tracks.group
        auth = _authorities(tracks, responsible)
        for m in np.unique(raw[auth]).tolist():
            self.aliases.forget(m)
        cand = self.aliases.resolve(raw)
        use = cand.copy()
        follow = np.zeros(n_groups, dtype=bool)
        follow[group[auth]] = True
        beside, instead = _own_with_reporter(t, tracks, auth, follow, self.grace_s, self.old_after_s)
        keep = (auth & ~instead[group]) | beside
        use[follow[group] & ~keep] = ""
        return cand, use

    def _settle(self, tracks: Contributors, n_groups: int, cand: np.ndarray, use: np.ndarray):
        """One number per group from the candidates ``use`` (rules a, b, d,
        :func:`resolve_conflicts`) and rule e: a track whose retired number (resolved to a
        survivor) lost a conflict revives that number, its alias forgotten, and the conflicts
        are settled again.

        Returns (per-group NTN (G,), the candidates after the drops (K,), the contested NTNs,
        the revived NTNs (sorted)). ``cand`` is updated in place where a number was revived.
        """
        raw, group, claim, keys = tracks.raw, tracks.group, tracks.claim, tracks.key
        gntn, use_after, contested = resolve_conflicts(group, use, claim, keys, n_groups)
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
        return gntn, use_after, contested, revived

    def _merge(self, group: np.ndarray, cand: np.ndarray, gntn: np.ndarray,
               t: float) -> list[tuple[str, str]]:
        """Rule b: every other NTN carried into a group is retired as an alias of the group's NTN
        (at time t, s), unless it is the current number of another group."""
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


def _authorities(tracks: Contributors, responsible: np.ndarray) -> np.ndarray:
    """(K,) mask of the partner track whose number a group follows: in each group this node is
    not responsible for, the live claim that carries the smallest number, the strongest of them
    on a tie (rule a'). With reporting per recipient two partners may both report one object to
    this node (each sees no claim of the other releasable to it) under numbers they cannot agree
    on (neither may see the other's): the smallest, unlike the strongest, does not flip as their
    qualities wobble."""
    group, claim = tracks.group, tracks.claim
    K = len(group)
    auth = np.zeros(K, dtype=bool)
    if K:
        idx = np.flatnonzero(tracks.live & (tracks.raw != "") & ~responsible[group])
    else:
        idx = np.zeros(0, dtype=np.intp)
    if len(idx) == 0:
        return auth
    order = idx[np.lexsort((-claim[idx], tracks.raw[idx], group[idx]))]
    g = group[order]
    first = np.r_[True, g[1:] != g[:-1]]
    auth[order[first]] = True
    return auth


def _own_with_reporter(t: float, tracks: Contributors, auth: np.ndarray, follow: np.ndarray,
                       grace_s: float, old_after_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(K,) mask of this node's own tracks whose number stays a candidate beside the reporter's
    in a group that follows a reporter (rule a′), at time ``t`` (s): the track carried its number
    at an update before the one that first heard the reporter's, less than ``grace_s`` ago, and this
    node sent its number to the reporter's nation and to at least as many nations as the
    reporter says it reports the object to (``tracks.told``, ``since``, ``heard``, ``reach``).
    The smaller number then wins. (Where the reporter's number reaches more nations, they
    already know the object by it: in process, at start-up, Japan's own number for an
    airliner that only Japan and the USA track, sent to the USA alone, replaced the USA's
    number that Australia and the UK had been shown.)

    Two nodes that numbered one object each before hearing the other (over NATS the node
    processes hear each other seconds late at start-up; an aircraft entering two nations'
    coverage at once) each sent the other its number. The reporter takes the smaller one (rule
    b), or counts its own alike if it follows this node in turn; but its report in hand was made
    before it heard this node's number, and following it showed the reporter's old number for
    one report (Australia's picture at start-up, and for the USA's F/A-18 no. 2 at 186 s, over
    NATS), or swapped the two at every report where both follow each other. A number this node
    issued after it heard the reporter's does not count: the reporter's number stands. And if
    the reporter still carries its own number ``grace_s`` after this node first heard it, this
    node follows it after all (the reporter may follow a third node's number that this node
    cannot hear).

    And (G,) mask of the groups where the own number stands *instead of* the reporter's: this
    node carried it for ``old_after_s`` (the silence timeout) or more before it first heard the
    reporter's, longer than nodes take to hear each other at start-up. The reporter
    then had heard it (it was sent to it) and numbered its own track before that track joined
    this object (a fresh track, its number issued while it stood alone); it follows this
    node's number itself, as its own fresh number does not count there. Taking the smaller
    number instead showed, over NATS, Japan's fresh number for the USA's F/A-18 no. 1 at the
    USA and its hearers for 18 s while Japan showed the USA's.
    """
    K = len(tracks.group)
    out = np.zeros(K, dtype=bool)
    told, since, heard, heard_t = tracks.told, tracks.since, tracks.heard, tracks.heard_t
    reach, since_t = tracks.reach, tracks.since_t
    instead = np.zeros(len(follow), dtype=bool)
    if (told is None or since is None or heard is None or heard_t is None or reach is None or since_t is None
            or not K or not auth.any()):
        return out, instead
    idx = [k for k in np.flatnonzero(~tracks.live & (tracks.raw != "") & follow[tracks.group]).tolist() if told[k]]
    if not idx:
        return out, instead
    reporter = {int(g): (str(key).split(":", 1)[0], float(heard[i]), float(heard_t[i]), int(reach[i]))
                for g, key, i in zip(tracks.group[auth].tolist(), tracks.key[auth].tolist(), np.flatnonzero(auth).tolist())}
    for k in idx:
        r = reporter.get(int(tracks.group[k]))
        if (r is not None and r[0] in told[k] and since[k] < r[1] and t - r[2] < grace_s
                and len(told[k]) >= r[3]):
            out[k] = True
            if r[2] - since_t[k] >= old_after_s:
                instead[tracks.group[k]] = True
    return out, instead
