"""The live demonstration: the trilateral scenario through the four-nation network, paced and looping.

:class:`DemoNetwork` runs :func:`skyweave.api.run_network` (in process, with a red team sending
hostile frames) on a thread of its own, again and again, paced so that scenario time runs
``speed`` times the wall clock; each nation's node has its :class:`NationView` attached, and
each loop starts the views afresh. ``stop()`` ends it at the next scan.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from skyweave.api import load_sensors, run_network
from skyweave.web.view import NationView

#: the nations of the shipped trilateral scenario, and the demo's user of each
DEMO_NATIONS = ("AUS", "GBR", "JPN", "USA")


class Stopped(Exception):
    """Raised inside the network run to end it when the demo is stopped."""


class Pacer:
    """Holds scenario time to at most ``speed`` times the wall clock from the first time it sees:
    ``wait(t)`` returns once the wall clock has reached that time's moment, or False at once when
    ``stop`` is set (then or while waiting)."""

    def __init__(self, speed: float, stop: threading.Event | None = None):
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = float(speed)
        self.stop = stop or threading.Event()
        self._wall0: float | None = None

    def wait(self, t: float) -> bool:
        if self.stop.is_set():
            return False
        now = time.monotonic()
        if self._wall0 is None:
            self._wall0 = now - t / self.speed
        left = self._wall0 + t / self.speed - now
        return not (left > 0 and self.stop.wait(left))


class DemoNetwork:
    """The looping, paced network run (see the module docstring)."""

    def __init__(self, views: dict[str, NationView], out: str | Path, *, scenario: str = "trilateral",
                 speed: float = 5.0, duration: float | None = None, seed: int | None = None,
                 red_team_every_s: float | None = 120.0, loops: int | None = None):
        if not speed > 0:
            raise ValueError(f"demo speed must be > 0, got {speed}")
        self.views = views
        self.out = Path(out)
        self.scenario = scenario
        self.speed = float(speed)
        self.duration = duration
        self.seed = seed
        self.red_team_every_s = red_team_every_s
        self.loops = loops
        self.runs = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-network", daemon=True)
        self._pacer = Pacer(self.speed, self._stop)

    def start(self) -> DemoNetwork:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the loops to end (``loops`` given, or stopped); True when they have."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _sinks(self, nation: str):
        view = self.views.get(nation)
        if view is None:
            return []
        return view.sinks(load_sensors(self.out / "sensors.json"))

    def _progress(self, stage: str, t: float, total: float) -> None:
        if self._stop.is_set():
            raise Stopped()
        if stage == "network" and not self._pacer.wait(t):
            raise Stopped()

    def _run(self) -> None:
        while not self._stop.is_set() and (self.loops is None or self.runs < self.loops):
            self._pacer = Pacer(self.speed, self._stop)
            try:
                run_network(self.scenario, self.out, seed=self.seed, duration=self.duration, progress=self._progress,
                            sinks=self._sinks, red_team_every_s=self.red_team_every_s)
            except Stopped:
                return
            except Exception as e:  # shown by the server's health; the demo does not loop on a broken run
                self.error = f"{type(e).__name__}: {e}"
                return
            self.runs += 1
