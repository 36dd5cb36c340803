"""A scenario folder split by nation: each nation's node sees only its own sensors' detections.

:func:`split_by_nation` streams ``detections.jsonl`` once and routes every line, by its sensor,
to ``DIR/<NATION>/detections.jsonl``, next to a ``sensors.json`` holding that nation's sensors
only. Lines that name no known sensor (or are not JSON) go nowhere and are counted; the node's
own reader reports them in full when it validates its file.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from skyweave.io.formats import SensorSet, load_sensors, write_sensors
from skyweave.io.formats import loads_json as _loads


def split_by_nation(folder: Path, out: Path | None = None) -> dict[str, dict]:
    """Write ``out/<NATION>/sensors.json`` and ``detections.jsonl`` for each nation; returns per-nation counts."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder
    sensors = load_sensors(folder / "sensors.json")
    nation_of = {s.id: s.nation for s in sensors.sensors}
    nations = sorted(set(nation_of.values()))
    files = {}
    counts = {n: {"sensors": [s.id for s in sensors.sensors if s.nation == n], "detections": 0} for n in nations}
    unrouted = 0
    try:
        for n in nations:
            (out / n).mkdir(parents=True, exist_ok=True)
            own = SensorSet(sensors.epoch, sensors.origin, tuple(s for s in sensors.sensors if s.nation == n), sensors.dims)
            write_sensors(out / n / "sensors.json", own)
            files[n] = open(out / n / "detections.jsonl", "wb", buffering=1 << 20)
        with open(folder / "detections.jsonl", "rb") as f:
            for line in f:
                try:
                    sid = _loads(line).get("sensor")
                except (ValueError, AttributeError):
                    sid = None
                n = nation_of.get(sid) if isinstance(sid, str) else None
                if n is None:
                    unrouted += 1
                    continue
                files[n].write(line)  # the bytes as they came: the node's reader judges them
                counts[n]["detections"] += 1
    finally:
        for fh in files.values():
            fh.close()
    for n in nations:
        counts[n]["unrouted_lines"] = unrouted
    return counts


def nation_sensor_set(sensors: SensorSet, nation: str) -> SensorSet:
    return replace(sensors, sensors=tuple(s for s in sensors.sensors if s.nation == nation))


__all__ = ["split_by_nation", "nation_sensor_set", "json"]
