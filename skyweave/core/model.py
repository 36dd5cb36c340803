"""The core model every room shares: nations, the scenario origin, sensors and their set, time.

These are the domain types of docs/formats.md (``sensors.json``) and docs/scenarios.md: plain
frozen dataclasses with no I/O. Readers that build them from files live in :mod:`skyweave.io`
and :mod:`skyweave.scenario.spec`; the numerical rooms take them as they are.

Units: positions in scenario ENU metres, geodetic angles in degrees, altitudes in metres above
the WGS-84 ellipsoid, noise figures one standard deviation in the unit their name carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from skyweave.core.errors import FormatError
from skyweave.geo import LocalFrame

__all__ = [
    "NATION_RE", "ICAO24_RE", "SENSOR_KINDS", "Origin", "SensorSpec", "SensorSet", "parse_epoch",
]

_EPOCH = "an ISO 8601 UTC instant such as 2024-04-10T00:00:00Z"

#: What a sensor measures: polar radar plots, Cartesian positions, ADS-B reports, space-based
#: infrared launch detections (ground-projected plume).
SENSOR_KINDS = ("radar", "cartesian", "adsb", "ir")

#: A nation: an ISO 3166-1 alpha-3 code such as ``JPN``.
NATION_RE = re.compile(r"^[A-Z]{3}\Z")  # \Z, not $: "JPN\n" is no nation

#: An aircraft's 24-bit ICAO address as 6 lower-case hex digits (ADS-B, Mode S).
ICAO24_RE = re.compile(r"^[0-9a-f]{6}\Z")


def parse_epoch(s: Any, path=None, line=None, field_name="epoch") -> datetime:
    """ISO 8601 UTC instant ('2024-04-10T00:00:00Z') to an aware datetime.

    Raises :class:`FormatError` naming ``path``, ``line`` and ``field_name`` for anything that is
    not a UTC instant (a naive time or another offset included).
    """
    if not isinstance(s, str):
        raise FormatError(path, line, field_name, _EPOCH, s)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(path, line, field_name, _EPOCH, s) from None
    if dt.tzinfo is None or dt.utcoffset().total_seconds() != 0:
        raise FormatError(path, line, field_name, "a UTC instant (ending in Z or +00:00)", s)
    return dt


@dataclass(frozen=True)
class Origin:
    """Geodetic origin of the scenario's ENU frame (degrees, degrees, metres)."""

    lat: float
    lon: float
    alt: float = 0.0

    def frame(self) -> LocalFrame:
        """The local east-north-up frame with its origin here."""
        return LocalFrame(self.lat, self.lon, self.alt)


@dataclass(frozen=True)
class SensorSpec:
    """One sensor of sensors.json. Position in scenario ENU metres (``z`` 0 in 2-D).

    Noise figures are one standard deviation in the units their names carry. ``extra`` keeps every
    field this class does not name, so richer files pass through unchanged.
    """

    id: str
    nation: str
    kind: str
    x: float
    y: float
    z: float
    releasable_to: tuple[str, ...]
    pd: float | None = None
    clutter_per_scan: float | None = None
    period_s: float | None = None
    max_range_m: float | None = None
    sigma_range_m: float | None = None
    sigma_bearing_deg: float | None = None
    sigma_elevation_deg: float | None = None
    sigma_range_rate_mps: float | None = None
    sigma_m: float | None = None
    moving: bool = False
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def position(self) -> np.ndarray:
        """Sensor position (3,) in scenario ENU metres."""
        return np.array([self.x, self.y, self.z])

    @property
    def measures_elevation(self) -> bool:
        return self.sigma_elevation_deg is not None

    @property
    def measures_range_rate(self) -> bool:
        return self.sigma_range_rate_mps is not None

    def to_json(self, dims: int = 3) -> dict:
        """The sensor as a sensors.json object (``dims`` 2 leaves ``z`` out)."""
        d: dict[str, Any] = {"id": self.id, "nation": self.nation, "kind": self.kind}
        if self.lat is not None:
            d.update(lat=self.lat, lon=self.lon, alt=self.alt)
        if self.kind != "ir":  # a space-based infrared sensor has no position on the scenario frame
            d.update(x=self.x, y=self.y)
            if dims == 3:
                d["z"] = self.z
        for k in (
            "sigma_range_m", "sigma_bearing_deg", "sigma_elevation_deg", "sigma_range_rate_mps",
            "sigma_m", "pd", "clutter_per_scan", "period_s", "max_range_m",
        ):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.moving:
            d["moving"] = True
        d["releasable_to"] = list(self.releasable_to)
        d.update(self.extra)
        return d


@dataclass(frozen=True)
class SensorSet:
    """The content of a sensors.json: epoch, optional origin, the sensors and the dimension."""

    epoch: datetime
    origin: Origin | None
    sensors: tuple[SensorSpec, ...]
    dims: int = 3

    def by_id(self) -> dict[str, SensorSpec]:
        """Sensors by id."""
        return {s.id: s for s in self.sensors}

    def to_json(self) -> dict:
        """The set as a sensors.json document."""
        d: dict[str, Any] = {"epoch": self.epoch.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if self.origin is not None:
            d["origin"] = {"lat": self.origin.lat, "lon": self.origin.lon, "alt": self.origin.alt}
        d["dims"] = self.dims
        d["sensors"] = [s.to_json(self.dims) for s in self.sensors]
        return d
