"""Distances and bearings on the mean-earth sphere (radius ``R_MEAN``, IUGG mean radius).

For ground distances between geodetic points where a spherical earth is accurate enough (well
under 0.5 % against the ellipsoid): grouping launch cues, warning ranges, impact errors.
The haversine form is well conditioned at small distances (Sinnott, "Virtues of the
Haversine", *Sky and Telescope* 68(2), 1984):

    a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2),    d = 2 R asin(√a)

Angles in degrees, distances in metres; inputs broadcast as numpy arrays.
"""

from __future__ import annotations

import numpy as np

from skyweave.geo.wgs84 import R_MEAN

__all__ = ["great_circle_m", "initial_azimuth_deg"]


def great_circle_m(lat1, lon1, lat2, lon2, radius_m: float = R_MEAN):
    """Great-circle (haversine) distance in metres between (lat1, lon1) and (lat2, lon2), degrees.

    Arrays broadcast; a 0-d result for scalar inputs (``float()`` it for a Python number).
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * radius_m * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def initial_azimuth_deg(lat1, lon1, lat2, lon2):
    """Initial azimuth (degrees clockwise from north, in [0, 360)) of the great circle from point 1
    to point 2, degrees in; arrays broadcast."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0
