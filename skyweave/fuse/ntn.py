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
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["NtnBlock", "AliasTable", "group_min", "resolve_conflicts"]


class NtnBlock:
    """One nation's block of network track numbers: ``f"{nation}-N{number:0{digits}d}"``, numbers from ``start``."""

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
        """Move the counter past every number of this block among ``ntns`` (so none is issued twice)."""
        for s in ntns:
            m = self._re.match(s)
            if m:
                self.next = max(self.next, int(m.group(1)) + 1)


class AliasTable:
    """Retired network track numbers and the ones they merged into (rule b), with the time of the merge (s)."""

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
        width = max([1, ntns.dtype.itemsize // 4] + [len(r) for r in res])   # never narrower than the input
        return np.array(res, dtype=f"<U{width}")[np.asarray(inv).reshape(-1)]

    def touch(self, ntns, t: float) -> None:
        """Keep the aliases of ``ntns`` (retired numbers still heard at time t) alive for another ``ttl_s``."""
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


def resolve_conflicts(group: np.ndarray, cand: np.ndarray, claim: np.ndarray, keys: np.ndarray, n_groups: int):
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
