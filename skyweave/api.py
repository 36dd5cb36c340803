"""The embeddable API: run a tracker, a node or a whole network from Python, and watch it.

Everything here is also reachable as ``skyweave.<name>`` (imported on first use, so
``import skyweave`` stays instant). The pieces are those the ``skyweave`` command assembles:

- a **source** of scans: :func:`simulate` (the simulator, no file) or :class:`DetectionsFile`;
- a **node**: :func:`make_node` (tracker, and missile warning in 3-D), which emits typed events;
- **sinks**: any callable, :class:`CallbackSink`, :class:`LatestSink` (a live view that never
  slows the node), or the file sinks :class:`TracksFile`, :class:`PictureFile`, :class:`AlertsFile`;
- :func:`run` drives a node from a source to the end; :func:`run_network` runs every nation's
  node of a scenario, sharing and fusing, with sinks on each.

Pictures are numpy arrays: a :class:`LocalPicture` event's ``frame`` has ``ids`` (K,), states
``x`` (K, 2d) as [position, velocity] in metres and m/s of the scenario's ENU frame, and
covariances ``P`` (K, 2d, 2d); a :class:`PictureFused` event's ``picture`` has the same plus
network track numbers ``ntn``, ``sources`` and ``releasable_to``. See docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from skyweave.io.formats import SensorSet, load_sensors
from skyweave.node.core import NodeCore
from skyweave.node.events import (
    AlertUpdated,
    CallbackSink,
    Event,
    EventHub,
    LatestSink,
    LocalPicture,
    MessageVerdict,
    PictureFused,
    ScanIngested,
    Sink,
)
from skyweave.node.network import run_network
from skyweave.node.sinks import AlertsFile, PictureFile, TracksFile
from skyweave.node.sources import DetectionsFile, SimulatedScans, drive
from skyweave.node.track_files import track_files
from skyweave.scenario.shipped import scenario_path
from skyweave.track.config import TrackerConfig


def simulate(scenario: str | Path, *, seed: int | None = None, duration: float | None = None,
             on_truth: Callable | None = None) -> SimulatedScans:
    """A source of the simulator's scans of ``scenario`` (a path or a shipped name), made as they
    are read; its ``sensors`` is the scenario's :class:`SensorSet`. ``on_truth(t, ids, states)``
    receives the truth (states (N, 6): x, y, z, vx, vy, vz in metres and m/s)."""
    from skyweave.scenario.spec import load_scenario
    from skyweave.scenario.world import World

    world = World(load_scenario(scenario_path(scenario)), seed=seed, duration_s=duration)
    return SimulatedScans(world, on_truth=on_truth)


def make_node(sensors: SensorSet | str | Path, *, nation: str | None = None, tracker: TrackerConfig | dict | None = None,
              warn: bool = False, sinks: Iterable[Sink | Callable[[Event], object]] = ()) -> NodeCore:
    """A node over ``sensors`` (a SensorSet or a sensors.json path): with ``nation``, only that
    nation's sensors; ``tracker`` a TrackerConfig or a mapping of its parameters; ``warn`` adds
    missile warning (3-D scenarios with an origin). Each of ``sinks`` is attached."""
    if not isinstance(sensors, SensorSet):
        sensors = load_sensors(sensors)
    if isinstance(tracker, dict):
        tracker = TrackerConfig.from_mapping(tracker)
    node = NodeCore(sensors, tracker, nation=nation, warn=warn)
    for s in sinks:
        node.hub.attach(s)
    return node


def run(source, node: NodeCore, *, progress: Callable[[float], None] | None = None, close: bool = True) -> list:
    """Feed ``node`` every scan of ``source`` that is its own (all of them when it has no nation), then finish it (last pictures, closing alerts)
    and, with ``close``, close its sinks. Returns the source's bad-input errors."""
    sensors = getattr(source, "sensors", None)
    if sensors is None:
        raise TypeError("run: the source has no 'sensors' (use skyweave.simulate or skyweave.DetectionsFile)")
    try:
        errors = drive({node.nation: node}, source, sensors, progress=progress)
        node.finish()
    finally:
        if close:
            node.hub.close()
    return errors


__all__ = [
    "AlertUpdated", "AlertsFile", "CallbackSink", "DetectionsFile", "Event", "EventHub", "LatestSink", "LocalPicture",
    "MessageVerdict", "PictureFile", "PictureFused", "ScanIngested", "SensorSet", "SimulatedScans", "Sink",
    "TrackerConfig", "TracksFile", "load_sensors", "make_node", "run", "run_network", "scenario_path", "simulate",
    "track_files",
]
