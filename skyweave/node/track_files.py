"""One tracker over files: sensors.json + detections.jsonl in, tracks.jsonl out.

The ``skyweave track`` command, the benchmarks and the examples in the docs share this: a
:class:`~skyweave.node.sources.DetectionsFile` source drives a
:class:`~skyweave.node.core.NodeCore` (no nation, no warner) whose local pictures a
:class:`~skyweave.node.sinks.TracksFile` sink writes as soon as they are final, so memory stays
bounded on inputs of any length.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from skyweave.io.formats import SensorSet, load_sensors
from skyweave.node.core import NodeCore
from skyweave.node.sinks import TracksFile
from skyweave.node.sources import DetectionsFile, drive
from skyweave.track.config import TrackerConfig
from skyweave.track.tracker import Tracker


def make_tracker(sensors: SensorSet, config: TrackerConfig | None = None) -> Tracker:
    """A tracker over every sensor of ``sensors`` (in the scenario frame when it has an origin)."""
    frame = sensors.origin.frame() if sensors.origin is not None else None
    return Tracker(sensors.sensors, sensors.dims, frame, config)


def track_files(
    sensors_path: str | Path,
    detections_path: str | Path,
    out_path: str | Path,
    config: TrackerConfig | None = None,
    with_cov: bool = True,
    progress: Callable[[int], None] | None = None,
    max_time: float | None = None,
    every: float | None = None,
) -> dict:
    """Track a detections file into ``out_path``; returns a summary (counts, errors, wall time).

    ``progress(n)`` is called after each scan with the number of input lines read; ``max_time``
    (s) skips later scans; ``every`` (s) writes one picture per period instead of one per
    detection time.
    """
    t0 = time.perf_counter()
    sensors = load_sensors(sensors_path)
    core = NodeCore(sensors, config)
    source = DetectionsFile(detections_path, sensors, until=max_time)
    sink = core.hub.attach(TracksFile(out_path, sensors.dims, with_cov=with_cov, every=every))
    tick = (lambda t: progress(source.count)) if progress is not None else None
    try:
        drive({None: core}, source, sensors, progress=tick)
        core.finish()
    finally:
        core.hub.close()
    st = core.tracker.stats
    return {
        "scans": st["scans"], "measurements": st["measurements"], "frames": sink.frames, "track_lines": sink.lines,
        "tracks": len(sink.ids), "out_of_sequence_scans": st["out_of_sequence_scans"],
        "reprocessed_scans": st["reprocessed_scans"], "late_scans": st["late_scans"],
        "late_measurements": st["late_measurements"], "late": core.tracker.late[:20],
        "ir_cues_not_tracked": core.stats["ir_cues"], "bad_lines": len(source.errors),
        "errors": [str(e) for e in source.errors], "tracker_s": round(core.tracker_s, 3),
        "wall_s": round(time.perf_counter() - t0, 3), "config": core.tracker.config.to_dict(),
        "estimator": core.tracker.estimator.name,
    }


__all__ = ["make_tracker", "track_files"]
