"""Metrics: how good a track picture is against truth (numpy/scipy only, no I/O).

- :mod:`~skyweave.metrics.assignment`: the optimal within-cutoff truth-track assignment, sparse
  (KD-tree pairs, solved per connected component).
- :mod:`~skyweave.metrics.gospa`: GOSPA (alpha = 2) with its localisation / missed / false parts,
  and OSPA.
- :mod:`~skyweave.metrics.errors`: RMSE, NEES and ANEES with its chi-square interval.
- :mod:`~skyweave.metrics.siap`: the SIAP measures (completeness, ambiguity, spuriousness,
  track-number changes, longest track segment).
- :mod:`~skyweave.metrics.pcrlb`: the posterior Cramér-Rao lower bound for a constant-velocity
  target seen by polar and Cartesian sensors.
- :mod:`~skyweave.metrics.interp`: truth states between truth instants (cubic Hermite).
- :mod:`~skyweave.metrics.scorer`: all of the above accumulated instant by instant.
"""

from skyweave.metrics.assignment import Assignment, assign_within, close_pairs
from skyweave.metrics.errors import AneesResult, anees, anees_interval, nees, rmse
from skyweave.metrics.gospa import GospaResult, GospaSeries, gospa, gospa_series, ospa
from skyweave.metrics.interp import hermite_states, interpolate_truth
from skyweave.metrics.pcrlb import (
    CartesianSensor,
    PcrlbResult,
    PcrlbStream,
    PolarSensor,
    cv_process_noise,
    cv_transition,
    pcrlb,
)
from skyweave.metrics.scorer import SUMMARY_KEYS, InstantScore, Scorer
from skyweave.metrics.siap import SiapAccumulator, SiapResult

__all__ = [
    "Assignment", "assign_within", "close_pairs", "AneesResult", "anees", "anees_interval", "nees", "rmse",
    "GospaResult", "GospaSeries", "gospa", "gospa_series", "ospa", "hermite_states", "interpolate_truth",
    "CartesianSensor", "PcrlbResult", "PcrlbStream", "PolarSensor", "cv_process_noise", "cv_transition", "pcrlb",
    "SUMMARY_KEYS", "InstantScore", "Scorer", "SiapAccumulator", "SiapResult",
]
