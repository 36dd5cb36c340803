"""Scoring tracks against truth instant by instant, with streaming aggregates over time.

At each instant the caller gives the truths and the tracks (ids, states and optionally track
covariances and each truth's PCRLB position bound); :class:`Scorer` computes the GOSPA / OSPA
assignment once (sparse, :mod:`skyweave.metrics.assignment`) and accumulates

- GOSPA (alpha = 2) and its localisation / missed / false parts, OSPA;
- position and velocity RMSE over the GOSPA-assigned pairs (distance < c);
- the SIAP measures (:mod:`skyweave.metrics.siap`) with association threshold tau;
- ANEES over assigned pairs whose track carries a covariance (:mod:`skyweave.metrics.errors`), the
  assigned truths and tracks paired again by their whole states where targets cross
  (:func:`~skyweave.metrics.assignment.pair_by_state`);
- the RMS of the PCRLB position bound over the same pairs as the position RMSE, so that the two
  compare directly (their ratio is the efficiency figure: 1 is the best possible).

Memory is constant in the number of instants (plus a few integers per truth id for SIAP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from skyweave.metrics.assignment import assign_within, empty_assignment, pair_by_state
from skyweave.metrics.errors import TrackNees, anees_from_sum, nees
from skyweave.metrics.gospa import GospaResult, gospa_from_assignment, ospa_from_assignment
from skyweave.metrics.siap import SiapAccumulator

#: keys of :meth:`Scorer.summary`, in the order they are documented and printed
SUMMARY_KEYS = (
    "instants", "c_m", "p", "assoc_threshold_m",
    "gospa_mean", "gospa_localisation_p_mean", "gospa_missed_p_mean", "gospa_false_p_mean", "ospa_mean",
    "truths_per_instant", "tracks_per_instant", "missed_per_instant", "false_per_instant",
    "assigned_pairs", "rmse_position_m", "rmse_velocity_mps",
    "siap_completeness", "siap_ambiguity", "siap_spuriousness", "siap_id_changes", "siap_id_changes_per_truth",
    "siap_longest_segment", "truths",
    "anees", "anees_count", "anees_dim", "anees_interval_95_low", "anees_interval_95_high", "anees_skipped",
    "nees_tracks", "nees_tracks_inside", "nees_tracks_above", "nees_tracks_below",
    "pcrlb_position_m", "rmse_to_pcrlb",
)


@dataclass(frozen=True)
class InstantScore:
    """The scores of one instant: time (s), GOSPA (with its assignment), OSPA (m) and set sizes."""

    t: float
    gospa: GospaResult
    ospa: float
    n_truth: int
    n_tracks: int


class _Coder:
    """Maps arbitrary hashable ids to dense integers (integer ids >= 0 pass through unchanged)."""

    def __init__(self):
        self._codes: dict = {}
        self._integers: bool | None = None

    def __call__(self, ids) -> np.ndarray:
        a = np.asarray(ids)
        if a.size == 0:
            return np.zeros(0, dtype=np.int64)
        integers = a.dtype.kind in "iu" and a.min() >= 0
        if self._integers is None:
            self._integers = integers
        elif integers != self._integers:
            raise ValueError("ids must be all integers >= 0 or all other hashables, not a mix")
        if integers:
            return a.astype(np.int64, copy=False)
        codes = self._codes
        return np.fromiter((codes.setdefault(k, len(codes)) for k in a.tolist()), dtype=np.int64, count=a.size)


class Scorer:
    """Accumulates GOSPA, OSPA, RMSE, SIAP, ANEES and the PCRLB comparison over instants.

    ``c`` (m) and ``p`` are GOSPA's/OSPA's cutoff and order; ``assoc_threshold`` (m, default c) is
    the SIAP association distance. States are [x, y, (z), vx, vy, (vz)] in m and m/s; the number of
    dimensions is taken from the first instant with any state.
    """

    def __init__(self, c: float = 1000.0, p: float = 1.0, assoc_threshold: float | None = None):
        if not (np.isfinite(c) and c > 0):
            raise ValueError(f"cutoff c must be a positive finite distance in metres, got {c}")
        if not (np.isfinite(p) and p >= 1):
            raise ValueError(f"order p must be a finite number >= 1, got {p}")
        tau = c if assoc_threshold is None else assoc_threshold
        if not (np.isfinite(tau) and tau > 0):
            raise ValueError(f"association threshold must be a positive finite distance in metres, got {tau}")
        self.c, self.p, self.tau = float(c), float(p), float(tau)
        self.dims: int | None = None
        self._truth_codes = _Coder()
        self._track_codes = _Coder()
        self._siap = SiapAccumulator()
        self._n = 0
        self._sum = dict.fromkeys(("gospa", "loc", "missed", "false", "ospa", "n_missed", "n_false", "n_truth",
                                   "n_tracks", "pos2", "vel2", "pairs", "nees", "nees_n", "nees_bad", "bound2",
                                   "bound_n"), 0.0)
        self._nees_dim = 0
        self._track_nees = TrackNees()

    def _states(self, s, count: int, what: str) -> np.ndarray:
        a = np.asarray(s, dtype=float)
        if count == 0:
            return a.reshape(0, 2 * (self.dims or 2))
        if a.ndim != 2 or a.shape[0] != count or a.shape[1] not in (4, 6):
            raise ValueError(f"{what} states must be ({count}, 4) or ({count}, 6), got {a.shape}")
        if self.dims is None:
            self.dims = a.shape[1] // 2
        elif a.shape[1] != 2 * self.dims:
            raise ValueError(f"{what} states are {a.shape[1] // 2}-D but earlier instants were {self.dims}-D")
        return a

    def add(self, t: float, truth_ids, truth_states, track_ids, track_states, track_covs=None,
            truth_bound=None) -> InstantScore:
        """Score one instant t (s).

        ``truth_ids`` (N,), ``truth_states`` (N, n); ``track_ids`` (M,), ``track_states`` (M, n);
        ``track_covs`` (M, n, n) or None, NaN-filled for tracks without one; ``truth_bound`` (N,)
        the PCRLB position bound of each truth (m) or None. Ids are unique within an instant.
        """
        tid = self._truth_codes(truth_ids)
        kid = self._track_codes(track_ids)
        X = self._states(truth_states, tid.size, "truth")
        Y = self._states(track_states, kid.size, "track")
        dims = self.dims or 2
        c, p = self.c, self.p
        tree = cKDTree(X[:, :dims]) if tid.size and kid.size else None
        a = assign_within(X[:, :dims], Y[:, :dims], c, p, truth_tree=tree) if tree is not None else empty_assignment()
        g = gospa_from_assignment(tid.size, kid.size, a, c, p)
        o = ospa_from_assignment(tid.size, kid.size, a, c, p)
        S = self._sum
        self._n += 1
        S["gospa"] += g.gospa
        S["loc"] += g.localisation_p
        S["missed"] += g.missed_p
        S["false"] += g.false_p
        S["ospa"] += o
        S["n_missed"] += g.n_missed
        S["n_false"] += g.n_false
        S["n_truth"] += tid.size
        S["n_tracks"] += kid.size
        if len(a):
            e = Y[a.cols] - X[a.rows]
            S["pos2"] += float(np.einsum("kd,kd->", e[:, :dims], e[:, :dims]))
            S["vel2"] += float(np.einsum("kd,kd->", e[:, dims:], e[:, dims:]))
            S["pairs"] += len(a)
            if track_covs is not None:
                P = np.asarray(track_covs, dtype=float)[a.cols]
                has = np.all(np.isfinite(P), axis=(1, 2))
                if has.any():
                    # NEES compares a state with the truth it estimates: paired by whole states
                    en = Y[a.cols] - X[pair_by_state(X, Y, a.rows, a.cols, dims, c)]
                    v, ok = nees(en[has], P[has])
                    S["nees"] += float(v[ok].sum())
                    S["nees_n"] += int(ok.sum())
                    S["nees_bad"] += int((~ok).sum())
                    self._nees_dim = 2 * dims
                    self._track_nees.add(kid[a.cols][has][ok], v[ok])
            if truth_bound is not None:
                b = np.asarray(truth_bound, dtype=float)[a.rows]
                fin = np.isfinite(b)
                S["bound2"] += float(np.sum(b[fin] ** 2))
                S["bound_n"] += int(fin.sum())
        # SIAP: primary assignment at tau (the GOSPA one when tau == c), then duplicates
        if tree is not None and self.tau != c:
            prim = assign_within(X[:, :dims], Y[:, :dims], self.tau, p, truth_tree=tree)
        else:
            prim = a
        n_dup = 0
        if tree is not None and len(prim) < kid.size:
            rest = np.ones(kid.size, dtype=bool)
            rest[prim.cols] = False
            d, _ = tree.query(Y[rest, :dims], k=1, distance_upper_bound=self.tau)
            n_dup = int(np.count_nonzero(d < self.tau))
        self._siap.add(tid, kid, prim.rows, prim.cols, n_dup)
        return InstantScore(float(t), g, o, int(tid.size), int(kid.size))

    def summary(self) -> dict:
        """Time-aggregated figures under the keys of :data:`SUMMARY_KEYS` (NaN where undefined).

        Means are over instants; RMSEs pool every assigned pair of every instant:
        rmse = sqrt(sum |e|^2 / pairs). ``gospa_*_p_mean`` are the means of the p-th-power parts
        (m^p), which add up to the mean of GOSPA^p (with p = 1, to ``gospa_mean``).
        """
        S, n = self._sum, self._n
        nan = float("nan")

        def mean(k):
            return S[k] / n if n else nan

        pairs = int(S["pairs"])
        rmse_pos = float(np.sqrt(S["pos2"] / pairs)) if pairs else nan
        siap = self._siap.result()
        nees_n = int(S["nees_n"])
        an = anees_from_sum(S["nees"], nees_n, self._nees_dim, int(S["nees_bad"]))
        bound = float(np.sqrt(S["bound2"] / S["bound_n"])) if S["bound_n"] else nan
        tn = self._track_nees.result(self._nees_dim)
        out = {
            "instants": n, "c_m": self.c, "p": self.p, "assoc_threshold_m": self.tau,
            "gospa_mean": mean("gospa"), "gospa_localisation_p_mean": mean("loc"),
            "gospa_missed_p_mean": mean("missed"), "gospa_false_p_mean": mean("false"), "ospa_mean": mean("ospa"),
            "truths_per_instant": mean("n_truth"), "tracks_per_instant": mean("n_tracks"),
            "missed_per_instant": mean("n_missed"), "false_per_instant": mean("n_false"),
            "assigned_pairs": pairs, "rmse_position_m": rmse_pos,
            "rmse_velocity_mps": float(np.sqrt(S["vel2"] / pairs)) if pairs else nan,
            "siap_completeness": siap.completeness, "siap_ambiguity": siap.ambiguity,
            "siap_spuriousness": siap.spuriousness, "siap_id_changes": siap.id_changes,
            "siap_id_changes_per_truth": siap.id_changes_per_truth, "siap_longest_segment": siap.longest_segment,
            "truths": siap.n_truths,
            "anees": an.anees if nees_n else nan, "anees_count": nees_n, "anees_dim": self._nees_dim or nan,
            "anees_interval_95_low": an.interval_95[0], "anees_interval_95_high": an.interval_95[1],
            "anees_skipped": int(S["nees_bad"]),
            "nees_tracks": tn["tracks"], "nees_tracks_inside": tn["inside"], "nees_tracks_above": tn["above"],
            "nees_tracks_below": tn["below"],
            "pcrlb_position_m": bound,
            "rmse_to_pcrlb": rmse_pos / bound if (pairs and S["bound_n"] and bound > 0) else nan,
        }
        return out
