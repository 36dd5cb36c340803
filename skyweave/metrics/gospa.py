"""GOSPA and OSPA distances between a set of truth positions and a set of track positions.

GOSPA (alpha = 2), García-Fernández, Rahmathullah & Svensson (IEEE TSP 68, 2020; FUSION 2017):

    d_p^(c,2)(X, Y) = ( min_gamma [ sum_{(i,j) in gamma} d(x_i, y_j)^p + c^p/2 (|X| + |Y| - 2|gamma|) ] )^(1/p)

over partial assignments gamma of pairs with d < c. Its p-th power splits into a localisation
part (sum of d^p over assigned pairs), a missed part (c^p/2 per unassigned truth) and a false part
(c^p/2 per unassigned track).

OSPA, Schuhmacher, Vo & Vo, "A consistent metric for performance evaluation of multi-object
filters", IEEE TSP 56(8), 2008: for |X| = m <= n = |Y| (else swap),

    d_p^(c)(X, Y) = ( (1/n) [ min_pi sum_{i=1}^m min(d(x_i, y_pi(i)), c)^p + c^p (n - m) ] )^(1/p),

0 when both sets are empty and c when exactly one is. Its optimal assignment is the same as
GOSPA's (pairs at d >= c cost c^p either way), so one sparse solve serves both.

Positions are metres in any Cartesian frame (the scenario ENU frame); d is Euclidean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.metrics.assignment import Assignment, assign_within


@dataclass(frozen=True)
class GospaResult:
    """GOSPA at one instant and its decomposition.

    ``gospa`` (m) = (localisation_p + missed_p + false_p)^(1/p); the ``*_p`` parts are p-th powers
    (m^p); ``localisation``, ``missed``, ``false`` are each part to the power 1/p (m), so with p = 1
    they add up to ``gospa``. ``n_assigned``, ``n_missed``, ``n_false`` count pairs, unassigned
    truths and unassigned tracks.
    """

    gospa: float
    localisation_p: float
    missed_p: float
    false_p: float
    n_assigned: int
    n_missed: int
    n_false: int
    c: float
    p: float
    assignment: Assignment

    @property
    def localisation(self) -> float:
        return self.localisation_p ** (1.0 / self.p)

    @property
    def missed(self) -> float:
        return self.missed_p ** (1.0 / self.p)

    @property
    def false(self) -> float:
        return self.false_p ** (1.0 / self.p)

    def as_dict(self) -> dict:
        return {
            "gospa": self.gospa, "localisation": self.localisation, "missed": self.missed, "false": self.false,
            "localisation_p": self.localisation_p, "missed_p": self.missed_p, "false_p": self.false_p,
            "n_assigned": self.n_assigned, "n_missed": self.n_missed, "n_false": self.n_false,
        }


def _check_cp(c: float, p: float) -> None:
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"cutoff c must be a positive finite distance in metres, got {c}")
    if not (np.isfinite(p) and p >= 1):
        raise ValueError(f"order p must be a finite number >= 1, got {p}")


def _n(a) -> int:
    a = np.asarray(a)
    return 0 if a.size == 0 else (a.shape[0] if a.ndim == 2 else 1)


def gospa_from_assignment(n_truth: int, n_tracks: int, a: Assignment, c: float, p: float) -> GospaResult:
    """GOSPA (alpha = 2) given the optimal within-cutoff assignment ``a`` (see :func:`gospa`)."""
    k = len(a)
    loc = float(np.sum(a.dist**p))
    half = c**p / 2.0
    missed = half * (n_truth - k)
    false = half * (n_tracks - k)
    return GospaResult(
        gospa=(loc + missed + false) ** (1.0 / p), localisation_p=loc, missed_p=missed, false_p=false,
        n_assigned=k, n_missed=n_truth - k, n_false=n_tracks - k, c=float(c), p=float(p), assignment=a,
    )


def gospa(truth_pos, track_pos, c: float = 1000.0, p: float = 1.0) -> GospaResult:
    """GOSPA (alpha = 2) between truth positions (N, d) and track positions (M, d), metres.

    ``c`` is the cutoff (m): a pair farther apart than c is never assigned, and each unassigned
    truth or track costs c^p/2. ``p`` >= 1 is the order.
    """
    _check_cp(c, p)
    a = assign_within(truth_pos, track_pos, c, p)
    return gospa_from_assignment(_n(truth_pos), _n(track_pos), a, c, p)


def ospa_from_assignment(n_truth: int, n_tracks: int, a: Assignment, c: float, p: float) -> float:
    """OSPA (m) given the optimal within-cutoff assignment ``a``: ((sum d^p + c^p (n - |a|)) / n)^(1/p), n = max(N, M)."""
    n = max(n_truth, n_tracks)
    if n == 0:
        return 0.0
    loc = float(np.sum(a.dist**p))
    return ((loc + c**p * (n - len(a))) / n) ** (1.0 / p)


def ospa(truth_pos, track_pos, c: float = 1000.0, p: float = 1.0) -> float:
    """OSPA (Schuhmacher et al. 2008) between position sets (N, d) and (M, d), metres; cutoff c (m), order p."""
    _check_cp(c, p)
    a = assign_within(truth_pos, track_pos, c, p)
    return ospa_from_assignment(_n(truth_pos), _n(track_pos), a, c, p)


@dataclass(frozen=True)
class GospaSeries:
    """GOSPA over many instants: one value per instant of each field (arrays of length K)."""

    gospa: np.ndarray
    localisation_p: np.ndarray
    missed_p: np.ndarray
    false_p: np.ndarray
    n_missed: np.ndarray
    n_false: np.ndarray
    ospa: np.ndarray

    def mean(self) -> dict:
        """Time means of every field (an empty series gives NaN)."""
        return {k: (float(np.mean(v)) if v.size else float("nan")) for k, v in self.__dict__.items()}


def gospa_series(truths, tracks, c: float = 1000.0, p: float = 1.0) -> GospaSeries:
    """GOSPA and OSPA at each instant k of paired sequences ``truths[k]`` (N_k, d) and ``tracks[k]`` (M_k, d)."""
    _check_cp(c, p)
    truths, tracks = list(truths), list(tracks)
    if len(truths) != len(tracks):
        raise ValueError(f"{len(truths)} truth instants but {len(tracks)} track instants")
    rows = []
    for x, y in zip(truths, tracks):
        nx, ny = _n(x), _n(y)
        a = assign_within(x, y, c, p)
        g = gospa_from_assignment(nx, ny, a, c, p)
        rows.append((g.gospa, g.localisation_p, g.missed_p, g.false_p, g.n_missed, g.n_false,
                     ospa_from_assignment(nx, ny, a, c, p)))
    cols = np.array(rows, dtype=float).reshape(-1, 7).T
    return GospaSeries(cols[0], cols[1], cols[2], cols[3], cols[4].astype(np.int64), cols[5].astype(np.int64), cols[6])
