"""One node's tracking and missile warning over a scenario folder: the glue of ``skyweave warn``.

Scans stream from detections.jsonl into the air tracker; after each, the :class:`Warner` sees the
scan and the live picture (infrared cues go to it directly) and returns alert updates, which are
handed to ``emit`` in the order they are issued (their ``t`` is the node's clock: the newest data
time seen, so the stream is in time order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from skyweave.io.formats import load_sensors
from skyweave.io.places import load_places
from skyweave.io.scans import ScanReader
from skyweave.node.track_files import make_tracker
from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import build_scan
from skyweave.warn.warner import WarnConfig, Warner


def warn_files(folder: str | Path, emit: Callable[[dict], None], tracker_config: TrackerConfig | None = None,
               warn_config: WarnConfig | None = None, nation: str | None = None, tracks_out: Path | None = None) -> dict:
    """Track and warn over ``folder`` (sensors.json, detections.jsonl); returns a summary."""
    from skyweave.node.track_files import frame_text

    folder = Path(folder)
    sensors = load_sensors(folder / "sensors.json")
    tracker = make_tracker(sensors, tracker_config)
    if tracker.frame is None or sensors.dims != 3:
        raise ValueError(f"{folder / 'sensors.json'}: missile warning needs a 3-D scenario with an origin")
    warner = Warner(tracker.sensors, tracker.frame, warn_config, places=load_places())
    reader = ScanReader(folder / "detections.jsonl", sensors)
    n_alerts = 0
    ids = set()
    t0 = time.perf_counter()
    out = open(tracks_out, "w", buffering=1 << 20) if tracks_out is not None else None

    def send(updates):
        nonlocal n_alerts
        for u in updates:
            n_alerts += 1
            ids.add(u["alert_id"])
            emit(u)

    t_last = 0.0
    try:
        for raw in reader:
            info = tracker.sensors[raw.sensor]
            t_last = max(t_last, raw.t)
            if info.kind == "ir":
                send(warner.on_ir(info, raw.t, raw.cols["lat"], raw.cols["lon"],
                                  raw.cols.get("sigma_m", [info.sigma_m or 1500.0] * len(raw))))
                continue
            scan = build_scan(info, raw.t, raw.cols, tracker.frame, raw.identity, raw.platform, raw.lines)
            tracker.process(scan)
            send(warner.on_scan(scan, tracker.picture()))
            if out is not None:
                for fr in tracker.ready_frames():
                    out.write(frame_text(fr, 3, True, nation))
        send(warner.finish(t_last))
        if out is not None:
            for fr in tracker.flush():
                out.write(frame_text(fr, 3, True, nation))
    finally:
        if out is not None:
            out.close()
    return {
        "alerts": len(ids), "alert_updates": n_alerts, "open": len(warner.tracks), "bad_lines": len(reader.errors),
        "errors": [str(e) for e in reader.errors], "wall_s": round(time.perf_counter() - t0, 3), **warner.stats,
    }
