"""One node's tracking and missile warning over a scenario folder: the glue of ``skyweave warn``.

A :class:`~skyweave.node.sources.DetectionsFile` source drives a
:class:`~skyweave.node.core.NodeCore` with its warner; every alert update is handed to ``emit``
in the order it is issued (its ``t`` is the node's clock: the newest data time seen, so the stream
is in time order), and the air picture optionally goes to a tracks file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from skyweave.io.formats import load_sensors
from skyweave.node.core import NodeCore
from skyweave.node.events import AlertUpdated, CallbackSink
from skyweave.node.sinks import TracksFile
from skyweave.node.sources import DetectionsFile, drive
from skyweave.track.config import TrackerConfig


def warn_files(folder: str | Path, emit: Callable[[dict], None], tracker_config: TrackerConfig | None = None,
               warn_config=None, nation: str | None = None, tracks_out: Path | None = None,
               progress: Callable[[float], None] | None = None) -> dict:
    """Track and warn over ``folder`` (sensors.json, detections.jsonl); returns a summary.

    ``nation`` labels the lines of ``tracks_out``; ``progress(t)`` is called after each scan
    with its time (s).
    """
    folder = Path(folder)
    t0 = time.perf_counter()
    sensors = load_sensors(folder / "sensors.json")
    try:
        core = NodeCore(sensors, tracker_config, warn=warn_config or True, require_warner=True)
    except ValueError as e:
        raise ValueError(f"{folder / 'sensors.json'}: {e}") from None
    source = DetectionsFile(folder / "detections.jsonl", sensors)
    core.hub.attach(CallbackSink(lambda ev: emit(ev.alert), kinds=(AlertUpdated,)))
    if tracks_out is not None:
        core.hub.attach(TracksFile(tracks_out, sensors.dims, nation=nation))
    try:
        drive({None: core}, source, sensors, progress=progress)
        core.finish()
    finally:
        core.hub.close()
    warner = core.warner
    return {
        "alerts": len(core.alert_ids), "alert_updates": core.stats["alert_updates"], "open": len(warner.tracks),
        "bad_lines": len(source.errors), "errors": [str(e) for e in source.errors],
        "wall_s": round(time.perf_counter() - t0, 3), **warner.stats,
    }
