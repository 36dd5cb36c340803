"""One node's tracker over files: sensors.json + detections.jsonl in, tracks.jsonl out.

This is the glue the ``skyweave track`` command, the demo and the benchmarks share: it streams
scans from the reader into the :class:`~skyweave.track.tracker.Tracker` and writes each output
frame as soon as it is final, so memory stays bounded on inputs of any length.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skyweave.io.formats import SensorSet, load_sensors
from skyweave.io.scans import ScanReader
from skyweave.io.writers import format_tracks
from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import build_scan
from skyweave.track.tracker import Frame, Tracker


def make_tracker(sensors: SensorSet, config: TrackerConfig | None = None) -> Tracker:
    frame = sensors.origin.frame() if sensors.origin is not None else None
    return Tracker(sensors.sensors, sensors.dims, frame, config)


def frame_text(fr: Frame, dims: int, with_cov: bool = True, nation: str | None = None) -> str:
    extra = []
    for ident in fr.identity.tolist():
        e = ""
        if ident >= 0:
            e += ', "icao24": "%06x"' % ident
        if nation:
            e += ', "nation": "%s"' % nation
        extra.append(e)
    return format_tracks(fr.t, fr.ids, fr.x, fr.P if with_cov else None, dims, fr.quality, extra)


def track_files(
    sensors_path: str | Path,
    detections_path: str | Path,
    out_path: str | Path,
    config: TrackerConfig | None = None,
    with_cov: bool = True,
    progress: Callable[[int], None] | None = None,
    max_time: float | None = None,
) -> dict:
    """Track a detections file; returns a summary (counts, errors, wall time)."""
    sensors = load_sensors(sensors_path)
    tracker = make_tracker(sensors, config)
    reader = ScanReader(detections_path, sensors)
    frame = tracker.frame
    dims = sensors.dims
    ids: set[str] = set()
    frames = lines = 0
    ir = 0
    t_proc = 0.0
    t0 = time.perf_counter()
    with open(out_path, "w", buffering=1 << 20) as out:
        def write(fr):
            nonlocal frames, lines
            frames += 1
            lines += len(fr)
            ids.update(fr.ids)
            out.write(frame_text(fr, dims, with_cov))

        for raw in reader:
            if max_time is not None and raw.t > max_time:
                continue
            info = tracker.sensors[raw.sensor]
            scan = build_scan(info, raw.t, raw.cols, frame, raw.identity, raw.platform, raw.lines)
            if scan is None:
                ir += len(raw)
                continue
            a = time.perf_counter()
            tracker.process(scan)
            t_proc += time.perf_counter() - a
            for fr in tracker.ready_frames():
                write(fr)
            if progress is not None:
                progress(reader.count)
        for fr in tracker.flush():
            write(fr)
    wall = time.perf_counter() - t0
    st = tracker.stats
    return {
        "scans": st["scans"], "measurements": st["measurements"], "frames": frames, "track_lines": lines,
        "tracks": len(ids), "out_of_sequence_scans": st["out_of_sequence_scans"],
        "reprocessed_scans": st["reprocessed_scans"], "late_scans": st["late_scans"],
        "late_measurements": st["late_measurements"], "late": tracker.late[:20],
        "ir_cues_not_tracked": ir, "bad_lines": len(reader.errors), "errors": [str(e) for e in reader.errors],
        "tracker_s": round(t_proc, 3), "wall_s": round(wall, 3), "config": tracker.config.to_dict(),
        "estimator": tracker.estimator.name,
    }


def tracker_time_per_scan(summary: dict) -> float:
    return summary["tracker_s"] / max(summary["scans"], 1)


__all__ = ["make_tracker", "track_files", "frame_text", "tracker_time_per_scan", "np"]
