"""Radar horizon under the 4/3-earth refraction model.

Standard atmospheric refraction bends radar rays downward; the 4/3-earth model replaces the
bent ray over the true earth by a straight ray over a sphere of effective radius k·R with
k = 4/3 (Skolnik, *Introduction to Radar Systems*, 3rd ed., §8.2; Doerry, SAND2013-9099).

For heights h_s (sensor) and h_t (target) above that sphere, a straight line of sight clears
the effective earth when the great-circle angle between them is at most
``acos(kR/(kR+h_s)) + acos(kR/(kR+h_t))``; the horizon range is ``kR`` times that angle, which
for small heights is the familiar ``sqrt(2 kR h_s) + sqrt(2 kR h_t)``.
All heights and distances in metres.
"""

from __future__ import annotations

import numpy as np

from skyweave.geo.wgs84 import R_MEAN

#: Effective-earth factor of the standard atmosphere.
K_EFFECTIVE = 4.0 / 3.0


def _horizon_angle(h, re):
    h = np.maximum(np.asarray(h, dtype=float), 0.0)
    return np.arccos(re / (re + h))


def radar_horizon_range(h_sensor_m, h_target_m, k: float = K_EFFECTIVE, radius_m: float = R_MEAN):
    """Largest ground (great-circle) distance in metres at which a target is above the horizon."""
    re = k * radius_m
    return re * (_horizon_angle(h_sensor_m, re) + _horizon_angle(h_target_m, re))


def ground_angle(ecef_a: np.ndarray, ecef_b: np.ndarray) -> np.ndarray:
    """Angle (rad) at the earth's centre between ECEF points (..., 3), via atan2 for accuracy."""
    a = np.asarray(ecef_a, dtype=float)
    b = np.asarray(ecef_b, dtype=float)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.arctan2(cross, dot)


def above_radar_horizon(
    ecef_sensor: np.ndarray,
    h_sensor_m,
    ecef_target: np.ndarray,
    h_target_m,
    k: float = K_EFFECTIVE,
    radius_m: float = R_MEAN,
) -> np.ndarray:
    """True where the target is visible over the 4/3 earth from the sensor (arrays broadcast)."""
    re = k * radius_m
    # The effective earth stretches ground distances by k: the true central angle times k.
    theta_eff = ground_angle(ecef_sensor, ecef_target) / k
    limit = _horizon_angle(h_sensor_m, re) + _horizon_angle(h_target_m, re)
    return theta_eff <= limit
