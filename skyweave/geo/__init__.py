"""Geodesy: WGS-84, ECEF, local ENU, sensor polar coordinates, the radar horizon and great-circle
distances on the mean sphere (numpy only)."""

from skyweave.geo.horizon import K_EFFECTIVE, above_radar_horizon, ground_angle, radar_horizon_range
from skyweave.geo.sphere import great_circle_m, initial_azimuth_deg
from skyweave.geo.wgs84 import (
    A,
    B,
    E2,
    GM,
    J2,
    OMEGA_EARTH,
    R_MEAN,
    LocalFrame,
    ecef2enu,
    ecef2geodetic,
    enu2ecef,
    enu2geodetic,
    enu2polar,
    enu_rotation,
    geodetic2ecef,
    geodetic2enu,
    polar2enu,
    sensor_transform,
)

__all__ = [
    "A", "B", "E2", "GM", "J2", "OMEGA_EARTH", "R_MEAN", "K_EFFECTIVE", "LocalFrame",
    "above_radar_horizon", "ground_angle", "radar_horizon_range", "ecef2enu", "ecef2geodetic",
    "enu2ecef", "enu2geodetic", "enu2polar", "enu_rotation", "geodetic2ecef", "geodetic2enu",
    "polar2enu", "sensor_transform", "great_circle_m", "initial_azimuth_deg",
]
