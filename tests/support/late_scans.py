"""A detections file with some scans delivered late: the out-of-sequence tests' input."""

from __future__ import annotations

import json
import random
from pathlib import Path


def write_late_scans(detections: Path, out: Path, *, seed: int, share: float = 0.33,
                     delay_s: tuple[float, float] = (0.5, 4.0)) -> Path:
    """Write ``detections``' lines to ``out`` in arrival order, a ``share`` of the scans (a scan:
    one sensor's lines at one time) arriving ``delay_s`` late (uniform, s); each sensor's own
    scans stay in order. Returns ``out``."""
    scans: list[list] = []
    for ln in detections.read_text().splitlines(keepends=True):
        d = json.loads(ln)
        key = (d["sensor"], d["t"])
        if not scans or scans[-1][0] != key:
            scans.append([key, []])
        scans[-1][1].append(ln)
    rnd, delayed, last = random.Random(seed), [], {}
    for (sensor, t), body in scans:
        arrive = t + (rnd.uniform(*delay_s) if rnd.random() < share else 0.0)
        arrive = max(arrive, last.get(sensor, -1.0))  # a sensor's own reports stay in order
        last[sensor] = arrive
        delayed.append((arrive, t, body))
    delayed.sort(key=lambda a: (a[0], a[1]))
    out.write_text("".join("".join(b) for _, _, b in delayed))
    return out
