"""The missile warning's parameters: one frozen declaration shared by its parts.

Units: metres, seconds, kilometres where the name says ``_km``; densities of white acceleration
in m²/s³. :class:`WarnConfig` is re-exported by :mod:`skyweave.warn.warner`, where callers have
always imported it from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WarnConfig:
    """Parameters of :class:`~skyweave.warn.warner.Warner` and of the parts it coordinates."""

    alert_prefix: str = "SW"
    # ballistic class confidence that starts an estimator ...
    spawn_confidence: float = 0.9
    # ... after at least this many classifications (one per second)
    spawn_evaluations: int = 3
    boost_q: float = 2000.0             # boost mode acceleration density (m²/s³): unknown thrust
    # free-flight mode density (m²/s³): model error only, the gravity beyond J2 (up to a few
    # 10⁻⁴ m/s² in space, changing over ~100 s of flight: 2σ²τ ≈ 10⁻⁵ m²/s³); the estimate stays
    # honest with up to 3·10⁻⁴ m/s² left out (tests/test_warn_parts.py), 0.0005 was under-confident
    coast_q: float = 1e-5
    # mean time in boost (s) before the mode chain moves to free flight
    boost_sojourn_s: float = 60.0
    # free flight can hand back to boost (a late stage, a wrong switch) ...
    coast_sojourn_s: float = 600.0
    # ... until free flight has been this likely for this long (s): a later stage lights within
    # seconds of the last burnout, and a wrong switch shows its thrust within a minute; from then
    # on free flight is final (the boost mode no longer mixed into it: that was ~0.1-0.5 m²/s³ of
    # velocity noise)
    final_probability: float = 0.99
    final_after_s: float = 60.0
    # prior ballistic coefficient β (kg/m²), log-normal, before the range is known: β from about
    # 2,000 to 15,000 kg/m² within 2σ of ln β
    beta0: float = 5400.0
    log_beta_sigma: float = 0.5
    # once the range is known: σ of ln β about the typical β of that range
    range_prior_sigma: float = 0.4
    q_k: float = 1e-8                   # random walk of ln k (1/s)
    # above this height (m), or in boost, or climbing, ln k is a consider parameter
    drag_observable_m: float = 70_000.0
    # the drag learnt on the climb after burnout (:mod:`skyweave.warn.climb`): the measurements
    # an estimator takes while climbing below this height (m; 0: not at all) are kept, and once
    # free flight is sure above it (``climb_mode_probability``) a backward filter over them finds
    # the burnout and what they say of ln k ...
    climb_fit_until_m: float = 85_000.0
    climb_mode_probability: float = 0.99
    # ... leaving out the measurements within this (s) of the newest one under thrust ...
    climb_margin_s: float = 1.0
    # ... with at least this σ of ln k (the model atmosphere's own error), and only if at most
    # this one (weaker evidence rests on a likelihood too flat to be taken as Gaussian)
    climb_sigma_floor: float = 0.1
    climb_sigma_max: float = 0.5
    gate_probability: float = 0.9999    # χ² gate of a radar measurement to an estimator
    # free-flight mode probability from which the impact is predicted
    coast_threshold: float = 0.9
    min_updates: int = 3                # ballistic updates before the first impact prediction
    refresh_s: float = 2.0              # at most one impact refresh per alert this often (s)
    # lost: no measurement this long (s) and no impact yet or a position σ beyond lost_sigma_m (m)
    lost_after_s: float = 90.0
    lost_sigma_m: float = 50_000.0
    ir_group_km: float = 150.0          # cues this close (and within ir_group_s) are one launch
    ir_group_s: float = 180.0           # (s)
    ir_link_km: float = 60.0            # an air track this close to a launch event's cues is cued
    ir_climb_s: float = 15.0            # typical time from launch to the first infrared cue (s)
    ir_climb_sigma_s: float = 8.0       # its spread (s)
    # while plume cues keep arriving (within this, s), the engine burns: no impact yet
    ir_burning_s: float = 10.0
    # an air track this close (plus 3 σ) to a ballistic estimate is the same missile
    link_km: float = 30.0
    # an estimator without a measurement this long (s) restarts from its air track
    reseed_after_s: float = 8.0
    # ... and one this long (s) without, whose air track lies far from it (a fed one stays)
    reseed_apart_s: float = 5.0
    # around the predicted impact time t̂ (σ_t its standard deviation) the missile may have come
    # down: ``tracking`` is said only until t̂ − (impact_margin_s + impact_sigmas σ_t), the close
    # at ``impact`` comes from t̂ + max(landed_after_s, impact_margin_s + impact_sigmas σ_t), and
    # in between the alert keeps quiet (no label could be true in both phases)
    impact_sigmas: float = 3.0
    impact_margin_s: float = 1.0        # (s) the newest measurement is up to a scan old
    landed_after_s: float = 5.0         # (s)
    places_max: int = 10                # an alert names at most this many places


__all__ = ["WarnConfig"]
