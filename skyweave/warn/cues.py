"""Launch cues: space-based infrared plume detections grouped into launch events.

An infrared cue is the ground projection of a rocket plume during boost: a point (lat, lon, deg)
with a one-axis standard deviation ``sigma_m`` (m) at a time ``t`` (s). Successive cues of one
launch lie along its boost path, a few kilometres apart every scan, so a cue joins the first
event whose *newest* cue is within ``ir_group_km`` and ``ir_group_s`` of it (single-link grouping:
the chain follows the plume as it moves down-range); otherwise it starts a new event, and the
warning raises a launch alert for it at once.

An event is *claimed* (``owner``) by the ballistic estimator that a radar track of the missile
starts later; until then it marks the air tracks near its cues as infrared-cued for the
classifier, and it is forgotten (its alert closed as lost) once its cues have stopped for
``lost_after_s + ir_group_s``.

Ground distances are great circles on the mean-earth sphere (:func:`ground_km`), accurate to well
under 0.5 % at these ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from skyweave.geo.sphere import great_circle_m
from skyweave.warn.config import WarnConfig

if TYPE_CHECKING:
    from skyweave.warn.bank import BallisticTrack

#: cues newer than this (s) mark the air tracks near them, and may be claimed by a new estimator
#: (the 120 s of the classification evidence "an infrared launch cue in the last 120 s")
CUE_MEMORY_S = 120.0


def ground_km(lat1, lon1, lat2, lon2):
    """Great-circle distance (km) between points given in degrees; arrays broadcast."""
    return great_circle_m(lat1, lon1, lat2, lon2) / 1000.0


@dataclass
class LaunchEvent:
    """A launch seen by infrared: its cues (t, lat, lon, sigma_m) and the alert it raised."""

    alert_id: str
    cues: list = field(default_factory=list)
    sensors: set = field(default_factory=set)
    owner: BallisticTrack | None = None

    @property
    def t_first(self) -> float:
        return self.cues[0][0]

    @property
    def t_last(self) -> float:
        return self.cues[-1][0]

    t_last_seen: float = -np.inf  # node time when the newest cue arrived


class LaunchCues:
    """The open launch events of one node, in the order they were started.

    ``new_alert_id`` numbers the alert a new event raises (the warner's one counter, shared with
    the estimators that start without a cue). ``n_cues`` counts every cue seen.
    """

    def __init__(self, config: WarnConfig, new_alert_id: Callable[[], str]):
        self.config = config
        self.new_alert_id = new_alert_id
        self.events: list[LaunchEvent] = []
        self.n_cues = 0

    def add(self, sensor_id: str, t: float, lat, lon, sigma_m, t_now: float) -> LaunchEvent | None:
        """Group one cue (deg, deg, m, seen at time ``t``; node clock ``t_now``) into its event.

        Returns the event when this cue started it (its launch alert is due), else None.
        """
        cfg = self.config
        self.n_cues += 1
        ev = None
        for e in self.events:
            _, la0, lo0, _ = e.cues[-1]
            if (abs(t - e.t_last) <= cfg.ir_group_s
                    and ground_km(la0, lo0, lat, lon) <= cfg.ir_group_km):
                ev = e
                break
        new = ev is None
        if new:
            ev = LaunchEvent(self.new_alert_id())
            self.events.append(ev)
        ev.cues.append((t, float(lat), float(lon), float(sigma_m)))
        ev.sensors.add(sensor_id)
        ev.t_last_seen = t_now
        return ev if new else None

    def near(self, lat: np.ndarray, lon: np.ndarray, t: float) -> np.ndarray:
        """Which points (deg, (N,)) lie within ``ir_link_km`` of a cue of an event seen in the last
        :data:`CUE_MEMORY_S` before ``t``: bool (N,)."""
        out = np.zeros(len(lat), dtype=bool)
        for ev in self.events:
            if t - ev.t_last > CUE_MEMORY_S:
                continue
            cl = np.array([c[1] for c in ev.cues])
            co = np.array([c[2] for c in ev.cues])
            dmin = ground_km(lat[:, None], lon[:, None], cl[None, :], co[None, :]).min(axis=1)
            out |= dmin <= self.config.ir_link_km
        return out

    def unclaimed_near(self, lat: float, lon: float, t: float) -> LaunchEvent | None:
        """The first recent event not yet claimed by an estimator that has a cue within three times
        ``ir_link_km`` of (lat, lon) (deg): the launch of a missile first tracked there at ``t``.

        A wider gate than the classifier's: a radar track is confirmed some tens of seconds into
        the flight, when the missile may be far down-range of the cues (km/s of ground speed).
        """
        for e in self.events:
            if e.owner is None and t - e.t_last <= CUE_MEMORY_S:
                d = min(ground_km(lat, lon, c[1], c[2]) for c in e.cues)
                if d <= self.config.ir_link_km * 3:
                    return e
        return None

    def expire(self, t_now: float) -> list[LaunchEvent]:
        """Forget the events never claimed whose cues stopped ``lost_after_s + ir_group_s`` before
        ``t_now``; returns them, in order (their alerts close as lost)."""
        cfg = self.config
        gone = [ev for ev in self.events
                if ev.owner is None and t_now - ev.t_last > cfg.lost_after_s + cfg.ir_group_s]
        for ev in gone:
            self.events.remove(ev)
        return gone


__all__ = ["CUE_MEMORY_S", "LaunchCues", "LaunchEvent", "ground_km"]
