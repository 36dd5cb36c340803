"""Sources: what feeds a node its own sensors' scans, and the loop that drives nodes from one.

A source is an iterable of :class:`~skyweave.io.scans.RawScan` in arrival order (lines of one
sensor in time order; across sensors, out of sequence as they arrive), with ``errors`` (bad input
it skipped, each naming file, line and field) and ``count`` (input records read so far):

- :class:`DetectionsFile`: a detections.jsonl (docs/formats.md);
- :class:`SimulatedScans`: the simulator's detections as it makes them, no file in between;
- partners' frames reach a node through its bus subscription, not through here
  (:class:`~skyweave.share.Receiver`).

:func:`drive` is the one loop that feeds every node its scans and keeps the periodic ticks on the
data's clock (the deterministic mode: the same input gives the same output, byte for byte).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

from skyweave.io.formats import SensorSet
from skyweave.io.scans import RawScan, ScanReader


class DetectionsFile:
    """The scans of a detections.jsonl; bad lines are skipped and listed in ``errors``.

    ``until`` (s): scans after this time are skipped.
    """

    def __init__(self, path: str | Path, sensors: SensorSet, until: float | None = None):
        self.path = Path(path)
        self.sensors = sensors
        self.until = until
        self._reader = ScanReader(self.path, sensors)

    @property
    def errors(self) -> list:
        return self._reader.errors

    @property
    def count(self) -> int:
        return self._reader.count

    def __iter__(self) -> Iterator[RawScan]:
        for raw in self._reader:
            if self.until is None or raw.t <= self.until:
                yield raw


class SimulatedScans:
    """The simulator's detections of a scenario, scan by scan in delivery order (no file).

    ``on_truth(t, ids, states)`` (optional) receives the truth as it is made. Columns carry the
    simulator's full precision (a detections file rounds them to well below each sensor's noise).
    """

    def __init__(self, world, on_truth: Callable | None = None):
        from skyweave.scenario.world import ScanEvent

        self.world = world
        self.sensors = world.sensor_set()
        self.on_truth = on_truth
        self._scan_event = ScanEvent
        self.errors: list = []
        self.count = 0

    def __iter__(self) -> Iterator[RawScan]:
        for ev in self.world.events():
            if not isinstance(ev, self._scan_event):
                if self.on_truth is not None:
                    self.on_truth(ev.t, ev.ids, ev.states)
                continue
            s = ev.scan
            n = len(s)
            if n == 0:
                continue
            self.count += n
            ident = None
            if s.extra.get("icao24") is not None:
                ident = np.array([int(v, 16) for v in s.extra["icao24"]], dtype=np.int64)
            plat = np.asarray(s.sensor_pos, dtype=float) if s.sensor_pos is not None else None
            cols = {k: np.asarray(v, dtype=float) for k, v in s.columns.items()}
            yield RawScan(s.sensor, s.kind, float(s.t), cols, ident, plat, np.zeros(n, dtype=np.int64))


def drive(nodes: Mapping[str | None, object], source, sensors: SensorSet, *, pace: Callable[[float], None] | None = None,
          progress: Callable[[float], None] | None = None) -> list:
    """Feed every scan of ``source`` to its nation's node, ticking national nodes on the common clock.

    ``nodes`` maps a nation to its node (a :class:`~skyweave.node.node.NationNode` or a
    :class:`~skyweave.node.core.NodeCore`); the key ``None`` takes every sensor's scans (a plain
    tracker). ``nodes`` may change while it runs (a node stopped or restarted by ``pace``). Nodes
    with ``due``/``tick`` are ticked at every ``report_interval_s`` of data time
    before the first scan past it. ``pace(t)`` is called before each scan at time ``t`` (wait for
    the wall clock, inject an attack, ...); ``progress(t)`` after it. Returns the source's errors.
    """
    nation_of = {s.id: s.nation for s in sensors.sensors}
    for raw in source:
        if pace is not None:
            pace(raw.t)
        # ``nodes`` is read afresh at every scan: a caller's ``pace`` may stop or restart a node
        for nd in list(nodes.values()):
            if hasattr(nd, "tick"):
                nd.advance(raw.t)
                if nd.due(raw.t):
                    nd.tick(raw.t)
        node = nodes.get(None) or nodes.get(nation_of.get(raw.sensor))
        if node is not None:
            node.ingest(raw)
        if progress is not None:
            progress(raw.t)
    return source.errors
