"""Tracker configuration: every parameter declared, typed, documented and validated once.

A configuration is built from keyword arguments or from a mapping (the YAML/JSON file of
``skyweave track --config FILE``); an unknown key or a value of the wrong kind raises
``ValueError`` naming the key, what was expected and what came.
"""

from __future__ import annotations

from dataclasses import dataclass

from skyweave.track.params import Configurable
from skyweave.track.params import param as _p


@dataclass(frozen=True)
class TrackerConfig(Configurable):
    association: str = _p("gnn", "data association: 'gnn' (global nearest neighbour) or 'jpda'", ("gnn", "jpda"))
    model: str = _p("imm", "motion model: 'cv', 'ca', 'ct' or 'imm' (CV and CT interacting)", ("cv", "ca", "ct", "imm"))
    filter: str = _p("ekf", "filter: 'ekf' (KF for linear models) or 'ukf'", ("ekf", "kf", "ukf"))
    q: float = _p(100.0, "process noise: white acceleration density (m²/s³) of CV and CT (100 follows 3°/s turns at 300 m/s)", lo=0.0)
    q_ca: float = _p(1.0, "process noise of CA: white jerk density (m²/s⁵)", lo=0.0)
    q_omega: float = _p(1e-3, "CT turn-rate random walk density (rad²/s³)", lo=0.0)
    imm_q_cv: float = _p(3.0, "IMM: the CV mode's acceleration density (m²/s³)", lo=0.0)
    imm_q_ct: float = _p(5.0, "IMM: the CT mode's acceleration density (m²/s³)", lo=0.0)
    imm_omega_sigma: float = _p(0.01, "IMM: the CV mode holds the turn rate at 0 with this standard deviation (rad/s)", lo=0.0)
    imm_q_high: float = _p(100.0, "IMM in 3-D: a third, CV mode of this acceleration density (m²/s³) for missiles' boost and gravity; 0 leaves it out", lo=0.0)
    imm_high_sojourn_s: float = _p(20.0, "IMM in 3-D: mean time in that mode (s)", lo=0.1)
    imm_fast_q_omega: float = _p(0.0, "IMM: a further CT mode whose turn rate wanders this fast (rad²/s³), for sharp turns' onsets while the CT mode keeps q_omega; 0 leaves it out", lo=0.0)
    imm_fast_q: float = _p(5.0, "IMM: that mode's acceleration density (m²/s³)", lo=0.0)
    imm_fast_sojourn_s: float = _p(15.0, "IMM: mean time in that mode (s)", lo=0.1)
    imm_gate: str = _p("modes", "IMM gating and association likelihood: 'mixture' (the moment-matched Gaussian of the modes) or 'modes' (a pair passes if any mode's gate holds it; likelihood Σ μ_j N(y_j; 0, S_j))", ("mixture", "modes"))
    imm_sojourn_s: tuple = _p((30.0, 15.0), "IMM: mean time in the CV and CT modes (s)")
    imm_turn_rates_dps: tuple = _p((), "IMM: add a coordinated-turn mode of each of these known turn rates (°/s, e.g. [1.5, 3, 6]), flown both ways; empty (the default) leaves the grid out; see docs/tracker.md")
    imm_turn_q: float = _p(0.1, "imm_turn_rates_dps: the known-rate turn modes' acceleration density (m²/s³)", lo=0.0)
    imm_turn_sojourn_s: float = _p(20.0, "imm_turn_rates_dps: mean time in each known-rate turn mode (s)", lo=0.1)
    imm_turn_hop: float = _p(0.1, "imm_turn_rates_dps: share of a turn mode's departures that go to another turn mode (the rest return to CV)", lo=0.0, hi=1.0)
    imm_turn_ct: bool = _p(True, "imm_turn_rates_dps: keep the ω-estimating CT mode as a catch-all for turn rates off the grid")
    imm_learn_tpm: bool = _p(False, "IMM: learn each track's mode-switching rates online from its mode probabilities (quasi-Bayesian, Jilkov & Li 2004), the sojourn times as the prior; see docs/tracker.md")
    imm_tpm_prior_count: float = _p(1.0, "imm_learn_tpm: weight of the prior, in pseudo-departures from each mode at its prior mean sojourn", lo=1e-3)
    imm_tpm_counts: str = _p("soft", "imm_learn_tpm: how switches are counted: 'soft' (expected counts from the mode probabilities, the quasi-Bayesian step) or 'decided' (each track holds one mode and counts a switch when the held mode's probability falls to 1 − imm_tpm_switch_at)", ("soft", "decided"))
    imm_tpm_switch_at: float = _p(0.9, "imm_learn_tpm with imm_tpm_counts: decided: the held mode changes (to the most probable) when its probability falls to 1 − this", lo=0.5, hi=0.999)
    imm_tpm_memory_s: float | None = _p(None, "imm_learn_tpm: fading memory of the learnt counts (s); default none (all of the track's history)", lo=1.0)
    adaptive_q: bool = _p(False, "adaptive process noise: scale each track's acceleration noise (every IMM mode's; turn-rate terms kept) by a factor learnt from its normalised innovations (covariance matching, GNN only); see docs/tracker.md")
    adaptive_q_memory: float = _p(10.0, "adaptive_q: memory of the fading average of NIS/m (updates)", lo=1.0)
    adaptive_q_min: float = _p(0.05, "adaptive_q: smallest factor on Q", lo=1e-9, hi=1.0)
    adaptive_q_max: float = _p(1.0, "adaptive_q: largest factor on Q", lo=1e-9)
    pd: float = _p(0.9, "probability of detection where a sensor does not give its own", lo=0.0, hi=1.0)
    clutter_per_scan: float = _p(10.0, "false alarms per scan where a sensor does not say", lo=0.0)
    gate_probability: float = _p(0.99999, "chi-square gate probability P_G", lo=0.5, hi=0.9999999)
    max_speed_mps: float | None = _p(None, "fastest target to initiate on (m/s): sets a new track's velocity prior; default 400 in 2-D, 3,000 in 3-D", lo=1.0)
    init_alt_m: float = _p(0.0, "assumed height (m, scenario z) of a track whose height nothing has measured (started by a radar without elevation or a 2-D position)", lo=-1000.0)
    init_alt_sigma_m: float = _p(1000.0, "its standard deviation (m): the bound on an unobserved height's uncertainty", lo=1.0)
    init_vz_sigma_mps: float = _p(10.0, "vertical velocity standard deviation (m/s) of such a track (mean 0): the bound while its height stays unobserved", lo=0.0)
    confirm: str = _p("m-of-n", "confirmation rule: 'm-of-n' or 'sprt' (sequential likelihood-ratio test on the track score)", ("m-of-n", "sprt"))
    confirm_m: int = _p(3, "M of the M-of-N rule: hits needed", lo=1)
    confirm_n: int = _p(4, "N of the M-of-N rule: within this many opportunities", lo=1, hi=32)
    sprt_false_track: float = _p(1e-4, "SPRT: accepted probability of confirming a false track (α)", lo=1e-12, hi=0.5)
    sprt_lost_track: float = _p(0.05, "SPRT: accepted probability of deleting a true track (β)", lo=1e-12, hi=0.5)
    delete_score_drop: float = _p(8.0, "delete a confirmed track when its score falls this far below its maximum (nats)", lo=0.0)
    coast_min_s: float = _p(3.0, "a confirmed track without detections for longer than max(coast_min_s, coast_revisits × its revisit interval) is deleted (s)", lo=0.0)
    coast_revisits: float = _p(3.0, "see coast_min_s", lo=1.0)
    delete_after_misses: int = _p(5, "a confirmed track missed by this many scans in a row that should have seen it is deleted", lo=1)
    exit_revisits: float = _p(2.0, "a confirmed track that no sensor's coverage holds (range, field of view, horizon) is deleted once it has gone this many revisit intervals without a detection", lo=0.0)
    max_position_sigma_m: float = _p(20_000.0, "delete a track whose position standard deviation exceeds this (m)", lo=1.0)
    free_threshold: float = _p(0.5, "JPDA: a measurement whose total association probability is below this may start a track", lo=0.0, hi=1.0)
    lag_s: float = _p(10.0, "out-of-sequence window (s): later-arriving scans up to this much older than the newest are folded in by re-processing", lo=0.0)
    id_prefix: str = _p("T", "track ids are '<prefix>-<number>'")
    jpda_exact_limit: int = _p(2000, "JPDA: enumerate joint events exactly when a cluster has at most this many", lo=1)

    _label = "tracker config"

    def __post_init__(self):
        if not isinstance(self.id_prefix, str) or not self.id_prefix or any(c in self.id_prefix for c in ' "\\'):
            raise ValueError(f"tracker config 'id_prefix': expected a non-empty string without spaces or quotes, got {self.id_prefix!r}")
        v = self.imm_sojourn_s
        if not (isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, (int, float)) and x > 0 for x in v)):
            raise ValueError(f"tracker config 'imm_sojourn_s': expected two positive times [cv, ct] in seconds, got {v!r}")
        object.__setattr__(self, "imm_sojourn_s", tuple(float(x) for x in v))
        g = self.imm_turn_rates_dps
        if not (isinstance(g, (tuple, list)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 90 for x in g)
                and len(set(g)) == len(g)):
            raise ValueError(f"tracker config 'imm_turn_rates_dps': expected a list of distinct turn rates in °/s, each in (0, 90], got {g!r}")
        object.__setattr__(self, "imm_turn_rates_dps", tuple(float(x) for x in g))
        for k in ("adaptive_q", "imm_learn_tpm", "imm_turn_ct"):
            if not isinstance(getattr(self, k), bool):
                raise ValueError(f"tracker config '{k}': expected true or false, got {getattr(self, k)!r}")
        self._validate(skip=("id_prefix", "imm_sojourn_s", "imm_turn_rates_dps", "adaptive_q", "imm_learn_tpm", "imm_turn_ct"))
        if self.imm_turn_rates_dps and self.model != "imm":
            raise ValueError(f"tracker config 'imm_turn_rates_dps': adds turn modes to the IMM; needs model: imm, got model: {self.model}")
        if self.imm_learn_tpm and self.model != "imm":
            raise ValueError(f"tracker config 'imm_learn_tpm': learns the IMM's mode switching; needs model: imm, got model: {self.model}")
        if self.adaptive_q_min > self.adaptive_q_max:
            raise ValueError(f"tracker config 'adaptive_q_min': expected at most adaptive_q_max ({self.adaptive_q_max}), got {self.adaptive_q_min}")
        if self.adaptive_q and self.association == "jpda":
            raise ValueError("tracker config 'adaptive_q': learnt from GNN updates only; set association: gnn or adaptive_q: false")
        if self.confirm_m > self.confirm_n:
            raise ValueError(f"tracker config 'confirm_m': expected at most confirm_n ({self.confirm_n}), got {self.confirm_m}")
