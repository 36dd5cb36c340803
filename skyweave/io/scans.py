"""Detections grouped into scans: one sensor's consecutive lines at one time, as column arrays.

:class:`ScanReader` streams a detections.jsonl through the validating
:class:`~skyweave.io.formats.DetectionReader` (bad lines are reported with file, line and field,
and skipped; the good lines around them are kept) and yields :class:`RawScan` objects whose
measured fields are numpy columns in file units (metres, degrees). A scan is a run of
consecutive lines with the same sensor and time; lines of one sensor at one time that are not
contiguous in the file arrive as two scans at the same time, which the tracker handles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skyweave.core.model import SensorSet
from skyweave.io.formats import Detection, DetectionReader

_NUMERIC = ("range_m", "bearing_deg", "elevation_deg", "range_rate_mps", "x", "y", "z", "lat", "lon", "alt", "sigma_m",
            "sigma_alt_m")
#: ADS-B's optional per-report accuracy: a column as soon as one report of the scan gives it, NaN
#: for the others (the tracker uses the sensor's figure there)
_ADSB_OPTIONAL = ("sigma_m", "sigma_alt_m")


@dataclass
class RawScan:
    """One scan: sensor id and kind, time (s), columns (name -> (M,) float array), ADS-B
    identities as integers (or None), the moving platform's scenario position (3,) or None, and
    the source line numbers (M,)."""

    sensor: str
    kind: str
    t: float
    cols: dict
    identity: np.ndarray | None
    platform: np.ndarray | None
    lines: np.ndarray

    def __len__(self) -> int:
        return int(self.lines.size)


def _make_scan(group: list[Detection]) -> RawScan:
    first = group[0]
    keys = [k for k in _NUMERIC if all(k in d.values for d in group)]
    cols = {k: np.fromiter((d.values[k] for d in group), dtype=float, count=len(group)) for k in keys}
    if first.kind == "adsb":
        for k in _ADSB_OPTIONAL:
            if k not in cols and any(k in d.values for d in group):
                cols[k] = np.fromiter((d.values.get(k, np.nan) for d in group), dtype=float, count=len(group))
    ident = None
    if first.kind == "adsb":
        ident = np.fromiter((int(d.values["icao24"], 16) for d in group), dtype=np.int64, count=len(group))
    plat = None
    if first.sensor_pos is not None:
        plat = np.asarray(first.sensor_pos, dtype=float)
    lines = np.fromiter((d.line for d in group), dtype=np.int64, count=len(group))
    return RawScan(first.sensor, first.kind, first.t, cols, ident, plat, lines)


class ScanReader:
    """Iterate over the scans of a detections.jsonl; ``errors`` collects every bad line."""

    def __init__(self, path: str | Path, sensors: SensorSet, lines: Iterable[str] | None = None):
        self._reader = DetectionReader(path, sensors, lines=lines)

    @property
    def errors(self):
        return self._reader.errors

    @property
    def count(self) -> int:
        return self._reader.count

    def __iter__(self) -> Iterator[RawScan]:
        group: list[Detection] = []
        for det in self._reader:
            if group and (det.sensor != group[0].sensor or det.t != group[0].t):
                yield _make_scan(group)
                group = []
            group.append(det)
        if group:
            yield _make_scan(group)
