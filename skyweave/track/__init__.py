"""Tracking: filters, motion and measurement models, gating, GNN/JPDA association, track
management and the multi-sensor tracker, all batched over numpy arrays (see docs/tracker.md).

The names below are imported on first use (PEP 562), so that importing
``skyweave.track.config`` (``skyweave track --help`` does, for its parameter list) does not pull
in the tracker and scipy behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - for type checkers and readers; imported lazily below
    from skyweave.track.config import TrackerConfig
    from skyweave.track.sensors import MeasurementScan, SensorInfo, build_scan
    from skyweave.track.tracker import Frame, Tracker, make_estimator

__all__ = ["TrackerConfig", "Tracker", "Frame", "MeasurementScan", "SensorInfo", "build_scan", "make_estimator"]

#: public name -> module that defines it
_WHERE = {
    "TrackerConfig": "skyweave.track.config",
    "MeasurementScan": "skyweave.track.sensors", "SensorInfo": "skyweave.track.sensors",
    "build_scan": "skyweave.track.sensors",
    "Frame": "skyweave.track.tracker", "Tracker": "skyweave.track.tracker",
    "make_estimator": "skyweave.track.tracker",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
