"""SIAP track-picture measures, accumulated instant by instant (streaming, vectorised).

The Single Integrated Air Picture measures of Votruba (SIAP System Engineering Task Force,
"Single Integrated Air Picture (SIAP) attributes version 2.0", Technical Report 2003-029, 2003),
as Stone Soup implements them (stonesoup.metricgenerator.tracktotruthmetrics.SIAPMetrics), with
tracks associated to truths at each instant as follows.

Association at instant k, threshold tau (m, default the GOSPA cutoff c):
  1. Primary: the optimal one-to-one assignment of tracks to truths that maximises
     sum (tau^p - d^p) over pairs with position distance d < tau (the GOSPA assignment with
     cutoff tau). The primary track of a truth is the one that "holds" it.
  2. Duplicates: every other track within tau of some truth is associated to its nearest truth.
     It counts in the ambiguity, and is not spurious.
A truth with a duplicate always has a primary track (else the pair would improve step 1).

With N_T(k) truths, N_JT(k) truths holding a primary track, N_A(k) associated tracks (primary +
duplicates), N_r(k) tracks and N_S(k) = N_r(k) - N_A(k) unassociated ones, sums over instants:
  - completeness  C = sum N_JT / sum N_T       (1 is best: every truth tracked)
  - ambiguity     A = sum N_A / sum N_JT       (1 is best: one track per tracked truth)
  - spuriousness  S = sum N_S / sum N_r        (0 is best: no track without a truth)
  - track-number (ID) changes: for each truth, the number of instants at which its primary
    track's id differs from its previous primary track's id (gaps without a track do not count
    as a change; a new id after a gap does). Reported in total and per truth.
  - longest track segment LS: for each truth, the longest run of consecutive instants (among
    the instants at which the truth exists) held by one and the same track id, divided by the
    number of instants at which the truth exists; averaged over truths. Counting instants
    rather than seconds equals the time fraction when instants are evenly spaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SiapResult:
    """SIAP measures (dimensionless) over all instants added; see the module docstring."""

    completeness: float
    ambiguity: float
    spuriousness: float
    id_changes: int
    id_changes_per_truth: float
    longest_segment: float
    n_truths: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class SiapAccumulator:
    """Accumulates the SIAP measures over instants; truths and tracks are named by integer ids >= 0."""

    def __init__(self):
        self._sum_nt = 0
        self._sum_njt = 0
        self._sum_na = 0
        self._sum_nr = 0
        cap = 64
        self._last_track = np.full(cap, -1, dtype=np.int64)  # primary track id last held
        self._run = np.zeros(cap, dtype=np.int64)  # current run of consecutive held instants, same id
        self._longest = np.zeros(cap, dtype=np.int64)
        self._exists = np.zeros(cap, dtype=np.int64)  # instants at which the truth existed
        self._changes = np.zeros(cap, dtype=np.int64)
        self._seen = np.zeros(cap, dtype=bool)

    def _grow(self, top: int) -> None:
        cap = self._last_track.size
        if top < cap:
            return
        new = max(top + 1, 2 * cap)
        pad = new - cap
        self._last_track = np.r_[self._last_track, np.full(pad, -1, dtype=np.int64)]
        self._run = np.r_[self._run, np.zeros(pad, dtype=np.int64)]
        self._longest = np.r_[self._longest, np.zeros(pad, dtype=np.int64)]
        self._exists = np.r_[self._exists, np.zeros(pad, dtype=np.int64)]
        self._changes = np.r_[self._changes, np.zeros(pad, dtype=np.int64)]
        self._seen = np.r_[self._seen, np.zeros(pad, dtype=bool)]

    def add(self, truth_ids: np.ndarray, track_ids: np.ndarray, primary_rows: np.ndarray,
            primary_cols: np.ndarray, n_duplicates: int) -> None:
        """One instant: truth ids (N,), track ids (M,), primary pairs (rows into truths, cols into tracks).

        ``n_duplicates`` is the number of non-primary tracks within the threshold of some truth.
        """
        tid = np.asarray(truth_ids, dtype=np.int64)
        kid = np.asarray(track_ids, dtype=np.int64)
        n_pairs = int(np.asarray(primary_rows).size)
        self._sum_nt += tid.size
        self._sum_njt += n_pairs
        self._sum_na += n_pairs + int(n_duplicates)
        self._sum_nr += kid.size
        if tid.size == 0:
            return
        self._grow(int(tid.max()))
        self._seen[tid] = True
        self._exists[tid] += 1
        held = np.zeros(tid.size, dtype=bool)
        held[primary_rows] = True
        # truths that exist but are not held: their run breaks
        self._run[tid[~held]] = 0
        if n_pairs:
            t = tid[primary_rows]
            cur = kid[primary_cols]
            prev = self._last_track[t]
            self._changes[t] += (prev >= 0) & (prev != cur)
            same_run = (prev == cur) & (self._run[t] > 0)
            self._run[t] = np.where(same_run, self._run[t] + 1, 1)
            self._longest[t] = np.maximum(self._longest[t], self._run[t])
            self._last_track[t] = cur

    def result(self) -> SiapResult:
        nan = float("nan")
        seen = self._seen
        n_truths = int(seen.sum())
        changes = int(self._changes[seen].sum())
        ls = self._longest[seen] / np.maximum(self._exists[seen], 1)
        return SiapResult(
            completeness=self._sum_njt / self._sum_nt if self._sum_nt else nan,
            ambiguity=self._sum_na / self._sum_njt if self._sum_njt else nan,
            spuriousness=(self._sum_nr - self._sum_na) / self._sum_nr if self._sum_nr else nan,
            id_changes=changes,
            id_changes_per_truth=changes / n_truths if n_truths else nan,
            longest_segment=float(ls.mean()) if n_truths else nan,
            n_truths=n_truths,
        )
