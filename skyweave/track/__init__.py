"""Tracking: filters, motion and measurement models, gating, GNN/JPDA association, track
management and the multi-sensor tracker, all batched over numpy arrays (see docs/tracker.md)."""

from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import MeasurementScan, SensorInfo, build_scan
from skyweave.track.tracker import Frame, Tracker, make_estimator

__all__ = ["TrackerConfig", "Tracker", "Frame", "MeasurementScan", "SensorInfo", "build_scan", "make_estimator"]
