"""A scenario simulated into the files of docs/formats.md: sensors.json, detections.jsonl, truth.jsonl.

Used by ``skyweave simulate``, the network runner, the demo and the benchmarks. Detections are
written in delivery order (each sensor's latency after its measurement), so lines are in time
order per sensor but not across sensors.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skyweave.io.formats import write_sensors
from skyweave.io.writers import format_detections, format_states
from skyweave.scenario.spec import load_scenario
from skyweave.scenario.world import ScanEvent, World


def run_simulation(scenario_path, out: Path, seed: int | None = None, duration: float | None = None,
                   progress: Callable[[float, float], None] | None = None) -> dict:
    """Simulate into ``out`` (created); returns a summary dict (counts, wall time).

    ``progress(t, total)``, when given, is called with the scenario time reached and the
    duration (s).

    Every scan reaches detections.jsonl its sensor's latency after it was measured, so lines are
    in time order per sensor but not across sensors. ``out_of_order`` counts the detections a
    consumer reading the file receives after a detection measured later (scan time ``t`` earlier
    than the newest ``t`` already in the file): the out-of-sequence measurements a tracker must
    fold in. ``out_of_order_scans`` counts their scans and ``max_out_of_order_s`` is the largest
    such step back in time (s).
    """
    scenario = load_scenario(scenario_path)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world = World(scenario, seed=seed, duration_s=duration)
    write_sensors(out / "sensors.json", world.sensor_set())
    (out / "targets.json").write_text(json.dumps(world.target_summary(), indent=1) + "\n")
    per_sensor: Counter = Counter()
    false_alarms: Counter = Counter()
    scans: Counter = Counter()
    truth_lines = 0
    ooo = ooo_scans = 0  # detections (and scans) measured before the newest already in the file
    ooo_max = 0.0
    newest = -np.inf
    dims = world.dims
    update = (lambda t: progress(t, world.duration_s)) if callable(progress) else None
    with open(out / "detections.jsonl", "w", buffering=1 << 22) as det, open(out / "truth.jsonl", "w", buffering=1 << 22) as tru:
        for ev in world.events(update):
            if isinstance(ev, ScanEvent):
                s = ev.scan
                scans[s.sensor] += 1
                n = len(s)
                if n == 0:
                    continue
                per_sensor[s.sensor] += n
                false_alarms[s.sensor] += int((s.truth_index < 0).sum())
                if s.t < newest - 1e-9:
                    ooo += n
                    ooo_scans += 1
                    ooo_max = max(ooo_max, newest - s.t)
                newest = max(newest, s.t)
                det.write(format_detections(
                    s.sensor, s.t, s.columns, icao24=s.extra.get("icao24"),
                    sensor_geo=s.sensor_geo, sensor_pos=s.sensor_pos if s.sensor_geo is None else None,
                ))
            else:
                text = format_states(ev.t, ev.ids, ev.states, dims)
                truth_lines += text.count("\n")
                tru.write(text)
    wall = time.perf_counter() - t0
    types = Counter(world.targets.types.tolist())
    return {
        "scenario": scenario.name, "seed": world.seed, "duration_s": world.duration_s, "dims": dims,
        "targets": dict(types), "sensors": {m.id: m.kind for m in world.sensor_models},
        "scans": dict(scans), "detections": dict(per_sensor), "false_alarms": dict(false_alarms),
        "detections_total": sum(per_sensor.values()), "out_of_order": ooo, "out_of_order_scans": ooo_scans,
        "max_out_of_order_s": round(ooo_max, 3), "truth_lines": truth_lines,
        "wall_s": round(wall, 3), "out": str(out),
    }
