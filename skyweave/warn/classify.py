"""Track classification: aircraft, cruise missile or ballistic missile, from kinematics and cues.

Each confirmed track accumulates evidence for each class as log-odds, one increment per update
it receives, with a forgetting factor so a class can change when the evidence does:

    L_c ← λ L_c + e_c,    confidence_c = exp(L_c) / Σ exp(L)

Evidence (per update, nats), chosen so that one implausible number never decides alone:

| class | evidence |
|---|---|
| ballistic | height above 30 km (+2.5); speed above 1,200 m/s (+2.5); climbing faster than 250 m/s (+1.5); diving faster than 300 m/s (+2.5, a re-entering warhead); a space-based infrared launch cue near its ground track in the last 120 s while it climbs faster than 100 m/s or flies above 15 km (+4) |
| aircraft | an ADS-B identity (+4); height 0.5–16 km at 60–350 m/s (+1) |
| cruise | below 300 m at 150–350 m/s without a transponder (+1.2) |

A new track starts at L = (0.5, 0, 0): aircraft until shown otherwise. Heights are geodetic
(above the WGS-84 ellipsoid), speeds ground-relative. The kinematic tests use the track's lower
two-sigma bound (height − 2σ, speed − 2σ, climb − 2σ from its covariance), so a young track
whose velocity is still unknown cannot look like a missile by accident.
"""

from __future__ import annotations

import numpy as np

CLASSES = ("aircraft", "cruise", "ballistic")
AIRCRAFT, CRUISE, BALLISTIC = 0, 1, 2
PRIOR = np.array([0.5, 0.0, 0.0])
FORGET = 0.9


def evidence(alt_m: np.ndarray, speed: np.ndarray, climb: np.ndarray, cooperative: np.ndarray, ir_near: np.ndarray,
             dive: np.ndarray | None = None) -> np.ndarray:
    """Per-update log-odds increments (N, 3) for tracks with these features.

    ``dive`` (m/s, the upper bound of the vertical speed) marks a re-entering warhead: nothing that
    flies comes down faster than 300 m/s.
    """
    e = np.zeros((alt_m.size, 3))
    e[:, BALLISTIC] += 2.5 * (alt_m > 30_000.0) + 2.5 * (speed > 1200.0) + 1.5 * (climb > 250.0) + 4.0 * ir_near
    if dive is not None:
        e[:, BALLISTIC] += 2.5 * (dive < -300.0)
    e[:, AIRCRAFT] += 4.0 * cooperative + 1.0 * ((alt_m > 500.0) & (alt_m < 16_000.0) & (speed > 60.0) & (speed < 350.0))
    e[:, CRUISE] += 1.2 * ((alt_m < 300.0) & (speed > 150.0) & (speed < 350.0) & ~cooperative)
    return e


def accumulate(L: np.ndarray, e: np.ndarray, updated: np.ndarray) -> np.ndarray:
    """New log-odds (N, 3): forget and add evidence for the tracks that were updated."""
    return np.where(updated[:, None], FORGET * L + e, L)


def confidence(L: np.ndarray) -> np.ndarray:
    """Class probabilities (N, 3) from log-odds."""
    z = L - L.max(axis=1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)
