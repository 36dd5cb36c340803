"""Populated places inside an impact ellipse: a lookup over columns of places, pure numerics.

The table (names, countries, latitudes, longitudes, populations) is loaded elsewhere
(:func:`skyweave.io.places.load_places`: the warning room does no I/O); :class:`PlaceIndex` holds
its columns and answers which places lie inside the 95 % ellipse of a predicted impact.

A place at east/north offset e (m) from the impact point, in the impact's local tangent plane, is
inside the ellipse of covariance C (m²) when its squared Mahalanobis distance is within the 95 %
quantile of χ² with two degrees of freedom:

    d² = eᵀ C⁻¹ e ≤ χ²₂(0.95) ≈ 5.991

Only the places inside a latitude/longitude box around the impact that holds the whole ellipse
(its semi-major axis √(χ²₂(0.95) λ_max), plus 0.1°) are transformed and tested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.geo import LocalFrame
from skyweave.warn.impact import CHI2_2_95

#: metres per degree of latitude (and of longitude at the equator), for the search box only
M_PER_DEG = 111_000.0


@dataclass(frozen=True)
class PlaceIndex:
    """Columns of populated places: name, ISO 3166-1 alpha-2 country code, latitude and longitude
    (deg, WGS-84), population; all (K,)."""

    name: np.ndarray
    country: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray

    @classmethod
    def of(cls, table) -> PlaceIndex:
        """The index over ``table``: a :class:`PlaceIndex` as it is, anything with the five
        columns (:class:`skyweave.io.places.Places`), or None for an empty index."""
        if isinstance(table, PlaceIndex):
            return table
        if table is None:
            return cls.empty()
        return cls(table.name, table.country, table.lat, table.lon, table.population)

    @classmethod
    def empty(cls) -> PlaceIndex:
        """An index without places: every ellipse holds none."""
        e = np.zeros(0)
        return cls(np.zeros(0, dtype=object), np.zeros(0, dtype=object), e, e,
                   np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.lat.size)

    def inside(self, lat: float, lon: float, cov_en: np.ndarray, limit: int) -> list[str]:
        """The places inside the 95 % ellipse of covariance ``cov_en`` (east/north, m²) about
        (lat, lon) (deg), the most populous first (ties in table order), at most ``limit``;
        each as "name (country)"; none where the covariance is not finite."""
        if len(self) == 0 or not np.all(np.isfinite(cov_en)):
            return []
        semi = np.sqrt(CHI2_2_95 * max(np.linalg.eigvalsh(cov_en).max(), 0.0))
        box = semi / M_PER_DEG + 0.1
        # longitude difference wrapped to [-180, 180); a degree of longitude shrinks as cos(lat)
        # (floored at 0.05 near the poles)
        dlon = np.abs(((self.lon - lon + 180) % 360) - 180)
        near = np.flatnonzero((np.abs(self.lat - lat) <= box)
                              & (dlon <= box / max(np.cos(np.radians(lat)), 0.05)))
        if len(near) == 0:
            return []
        f = LocalFrame(lat, lon, 0.0)
        en = f.from_geodetic(self.lat[near], self.lon[near], np.zeros(len(near)))
        en = en.reshape(-1, 3)[:, :2]
        # 1e-6 m² on the diagonal keeps a degenerate (zero-width) ellipse invertible
        d2 = np.einsum("ni,ij,nj->n", en, np.linalg.inv(cov_en + np.eye(2) * 1e-6), en)
        hit = near[d2 <= CHI2_2_95]
        hit = hit[np.argsort(-self.population[hit], kind="stable")][:limit]
        return [f"{self.name[j]} ({self.country[j]})" for j in hit]


__all__ = ["PlaceIndex"]
