"""Alert updates as typed records, and the one builder that makes them.

An :class:`AlertUpdate` is one line of alerts.jsonl (docs/formats.md): the fields the format
requires (``t``, ``alert_id``, ``threat``, ``launch``, ``impact``, ``time_to_impact_s``,
``places``, ``confidence``, ``releasable_to``) and ``status``, plus the extras the warner adds by
kind of update (``reason``, ``merged_into``, ``sources``, ``track``, ``mode_free_flight``,
``updates``). An extra a kind does not carry is :data:`msgspec.UNSET` and is left out of its
dict, where a field set to None is written as null.

Kinds of update, each with its own key order in :meth:`AlertUpdate.to_dict` (the order the
warner has always written, which consumers comparing the JSON text rely on):

- ``launch``: a launch seen by infrared alone, impact not yet known; its close (``closed``,
  ``lost``) when no radar track of the missile came;
- ``boost`` and ``tracking``: the ballistic estimator's update, without and with an impact (the
  warner issues only ``tracking``: a radar track cannot make "the engine burns now" true as it
  says it; ``boost`` records are still read and written);
- ``closed`` with ``reason: "merged"`` and ``merged_into``: the alert joins another of the same
  missile;
- ``closed`` with ``reason`` ``impact`` or ``lost``: an estimator's alert ends.

Units: ``t`` and times in seconds on the scenario clock, positions in degrees (WGS-84, rounded to
1e-5°, about a metre), ellipse semi-axes in metres, orientation in degrees clockwise from north.

:class:`AlertBuilder` makes every update the warner issues, from its launch events and
ballistic tracks; the rounding of each figure is decided there and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import numpy as np
from msgspec import UNSET, UnsetType

from skyweave.warn.config import WarnConfig
from skyweave.warn.places import PlaceIndex

if TYPE_CHECKING:
    from skyweave.track.sensors import SensorInfo
    from skyweave.warn.bank import BallisticTrack
    from skyweave.warn.cues import LaunchEvent
    from skyweave.warn.impact import GroundPoint


def _items(rec, keys) -> dict:
    """The dict of ``rec``'s fields ``keys``, in that order, leaving out the unset ones."""
    out = {}
    for k in keys:
        v = getattr(rec, k)
        if v is not UNSET:
            out[k] = v
    return out


def _required(d: dict, key: str, what: str):
    try:
        return d[key]
    except KeyError:
        raise ValueError(f"{what}: no {key!r} (has {sorted(d)})") from None


class Launch(msgspec.Struct, frozen=True, kw_only=True):
    """Launch point and time: (lat, lon) deg, ``t`` s; None where unknown. ``source``: where it
    comes from (``infrared``, ``ballistic extrapolation``, ``unknown``)."""

    lat: float | None
    lon: float | None
    t: float | None
    source: str | UnsetType = UNSET

    def to_dict(self) -> dict:
        return _items(self, ("lat", "lon", "t", "source"))

    @classmethod
    def from_dict(cls, d: dict) -> Launch:
        w = "launch"
        return cls(lat=_required(d, "lat", w), lon=_required(d, "lon", w), t=_required(d, "t", w),
                   source=d.get("source", UNSET))


class Impact(msgspec.Struct, frozen=True, kw_only=True):
    """Predicted impact: mean point (lat, lon deg) and time ``t`` (s), the 95 % ellipse on the
    ground (semi-axes m, major axis' orientation deg clockwise from north in [0, 180)) and, in a
    live update, the impact time's standard deviation ``sigma_t_s`` (s)."""

    lat: float
    lon: float
    t: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    sigma_t_s: float | UnsetType = UNSET

    _KEYS = ("lat", "lon", "t", "semi_major_m", "semi_minor_m", "orientation_deg", "sigma_t_s")

    def to_dict(self) -> dict:
        return _items(self, self._KEYS)

    @classmethod
    def from_dict(cls, d: dict) -> Impact:
        return cls(**{k: _required(d, k, "impact") for k in cls._KEYS[:-1]},
                   sigma_t_s=d.get("sigma_t_s", UNSET))


#: key order of each kind of update (see the module docstring); unset fields are skipped. The
#: first is the formats.md order followed by every extra: the infrared launch alerts and any
#: record of another kind use it.
_FORMAT_ORDER = ("t", "alert_id", "threat", "launch", "impact", "time_to_impact_s", "places",
                 "confidence", "releasable_to", "status", "sources", "reason", "merged_into",
                 "track", "mode_free_flight", "updates", "nations", "contributors", "ntn")
_ESTIMATE_ORDER = ("t", "alert_id", "threat", "launch", "confidence", "releasable_to", "sources",
                   "track", "mode_free_flight", "updates", "impact", "time_to_impact_s", "places",
                   "status", "nations", "contributors", "ntn")
_MERGED_ORDER = ("t", "alert_id", "threat", "status", "reason", "merged_into", "launch", "impact",
                 "time_to_impact_s", "places", "confidence", "releasable_to", "nations", "contributors", "ntn")
_EXTRAS = ("reason", "merged_into", "sources", "track", "mode_free_flight", "updates", "nations",
           "contributors", "ntn")
_CLOSED_ORDER = ("t", "alert_id", "threat", "status", "reason", "launch", "places", "confidence",
                 "releasable_to", "impact", "time_to_impact_s", "nations", "contributors", "ntn")


class AlertUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One alert update (a line of alerts.jsonl); see the module docstring for the fields."""

    t: float
    alert_id: str
    threat: str
    status: str
    launch: Launch | None
    impact: Impact | None
    time_to_impact_s: float | None
    places: tuple[str, ...]
    confidence: float
    releasable_to: tuple[str, ...]
    reason: str | UnsetType = UNSET
    merged_into: str | UnsetType = UNSET
    sources: tuple[str, ...] | UnsetType = UNSET
    track: str | None | UnsetType = UNSET
    mode_free_flight: float | UnsetType = UNSET
    updates: int | UnsetType = UNSET
    #: a joint alert's contributing nations and source alerts ("NATION:alert_id"), see
    #: skyweave.warn.joint
    nations: tuple[str, ...] | UnsetType = UNSET
    contributors: tuple[str, ...] | UnsetType = UNSET
    #: the missile's network track number, set by a national node (the same object in every
    #: nation's picture); written last
    ntn: str | UnsetType = UNSET

    def _order(self) -> tuple[str, ...]:
        if self.status in ("boost", "tracking"):
            return _ESTIMATE_ORDER
        if self.status == "closed" and self.sources is UNSET:  # an estimator's alert ends
            return _MERGED_ORDER if self.reason == "merged" else _CLOSED_ORDER
        return _FORMAT_ORDER

    def to_dict(self) -> dict:
        """The alerts.jsonl object: plain dicts, lists, str, numbers and None, keys in the order of
        this kind of update."""
        d = _items(self, self._order())
        for k in ("launch", "impact"):
            if d[k] is not None:
                d[k] = d[k].to_dict()
        for k in ("places", "releasable_to", "sources", "nations", "contributors"):
            if k in d:
                d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AlertUpdate:
        """The record of an alerts.jsonl object (``to_dict`` gives it back, key order included,
        for every update the warner makes). Fields outside the record are ignored; a missing
        required one is a ValueError naming it."""
        w = f"alert {d.get('alert_id', '?')}"
        launch, impact = _required(d, "launch", w), _required(d, "impact", w)
        extras = {k: (tuple(d[k]) if k in ("sources", "nations", "contributors") else d[k]) for k in _EXTRAS if k in d}
        return cls(
            t=_required(d, "t", w), alert_id=_required(d, "alert_id", w),
            threat=_required(d, "threat", w), status=_required(d, "status", w),
            launch=None if launch is None else Launch.from_dict(launch),
            impact=None if impact is None else Impact.from_dict(impact),
            time_to_impact_s=_required(d, "time_to_impact_s", w),
            places=tuple(_required(d, "places", w)), confidence=_required(d, "confidence", w),
            releasable_to=tuple(_required(d, "releasable_to", w)), **extras)


class AlertBuilder:
    """Makes every alert update of one node's warner.

    ``sensors`` (id → :class:`~skyweave.track.sensors.SensorInfo`) gives each source's
    releasability: an update may go to the nations every one of its sources is releasable to.
    ``places`` is the populated-places index that impact updates name.
    """

    def __init__(self, sensors: dict[str, SensorInfo], config: WarnConfig, places: PlaceIndex):
        self.sensors = sensors
        self.config = config
        self.places = places

    def releasable(self, sensor_ids) -> tuple[str, ...]:
        """Nations (sorted) that every known sensor of ``sensor_ids`` is releasable to; none if no
        sensor is known."""
        sets = [set(self.sensors[s].releasable_to) for s in sensor_ids if s in self.sensors]
        if not sets:
            return ()
        return tuple(sorted(set.intersection(*sets)))

    def infrared_launch(self, ev: LaunchEvent) -> Launch:
        """The launch an infrared event shows: its first cue's place, and its time less the typical
        climb to the first cue (``ir_climb_s``)."""
        t0, la, lo, _ = ev.cues[0]
        return Launch(lat=round(la, 5), lon=round(lo, 5), t=round(t0 - self.config.ir_climb_s, 1),
                      source="infrared")

    @staticmethod
    def extrapolated_launch(g: GroundPoint | None) -> Launch:
        """The launch the free flight flown back to the ground shows (``g``; None: it never
        reached the ground)."""
        if g is None:
            return Launch(lat=None, lon=None, t=None, source="unknown")
        return Launch(lat=round(g.lat, 5), lon=round(g.lon, 5), t=round(g.t, 1),
                      source="ballistic extrapolation")

    def impact(self, g: GroundPoint, live: bool = True) -> Impact:
        """The impact record of ground point ``g``; a ``live`` one carries the time's σ."""
        a, b, o = g.ellipse()
        return Impact(lat=round(g.lat, 5), lon=round(g.lon, 5), t=round(g.t, 2),
                      semi_major_m=round(a, 1), semi_minor_m=round(b, 1),
                      orientation_deg=round(o, 2),
                      sigma_t_s=round(float(np.sqrt(g.var_t)), 2) if live else UNSET)

    def _places(self, g: GroundPoint) -> tuple[str, ...]:
        return tuple(self.places.inside(g.lat, g.lon, g.cov_en, self.config.places_max))

    def cue(self, ev: LaunchEvent, t_now: float, lost: bool = False) -> AlertUpdate:
        """The launch alert of an infrared event (``lost``: its close, no missile tracked).

        Its confidence grows with the event's cues: 0.6 for the first, 0.1 more a cue, at most 0.9.
        """
        return AlertUpdate(
            t=round(t_now, 3), alert_id=ev.alert_id, threat="ballistic",
            status="closed" if lost else "launch", launch=self.infrared_launch(ev), impact=None,
            time_to_impact_s=None, places=(),
            confidence=round(min(0.5 + 0.1 * len(ev.cues), 0.9), 3),
            releasable_to=self.releasable(ev.sensors), sources=tuple(sorted(ev.sensors)),
            reason="lost" if lost else UNSET)

    def estimate(self, bt: BallisticTrack, t_now: float, launch: Launch, mode_free_flight: float,
                 g: GroundPoint | None) -> AlertUpdate:
        """A ballistic estimator's update: ``launch`` without a ground point ``g`` (a ballistic
        launch is known, its impact cannot be predicted yet: a label true whatever the missile's
        phase), ``tracking`` with its impact, time to go and places.

        Its sources are the estimator's radars and its launch event's infrared sensors; a launch
        seen by infrared makes the alert at least 0.95 sure.
        """
        srcs = set(bt.sensors) | (bt.event.sensors if bt.event is not None else set())
        return AlertUpdate(
            t=round(t_now, 3), alert_id=bt.alert_id, threat="ballistic",
            status="launch" if g is None else "tracking", launch=launch,
            impact=None if g is None else self.impact(g),
            time_to_impact_s=None if g is None else round(g.t - t_now, 2),
            places=() if g is None else self._places(g),
            confidence=round(max(bt.confidence, 0.95 if bt.event is not None else 0.0), 3),
            releasable_to=self.releasable(srcs), sources=tuple(sorted(srcs)), track=bt.air_track,
            mode_free_flight=round(mode_free_flight, 3), updates=bt.n_updates)

    def merged(self, drop: BallisticTrack, into: str, t_now: float) -> AlertUpdate:
        """The last update of ``drop``'s alert, which joins alert ``into`` (the same missile)."""
        return AlertUpdate(
            t=round(t_now, 3), alert_id=drop.alert_id, threat="ballistic", status="closed",
            reason="merged", merged_into=into, launch=drop.launch, impact=None,
            time_to_impact_s=None, places=(), confidence=round(drop.confidence, 3),
            releasable_to=self.releasable(drop.sensors))

    def closed(self, bt: BallisticTrack, reason: str, launch: Launch, t_now: float) -> AlertUpdate:
        """The last update of an estimator's alert (``reason``: ``impact`` or ``lost``), with its
        last predicted impact where it had one."""
        g = bt.impact
        return AlertUpdate(
            t=round(t_now, 3), alert_id=bt.alert_id, threat="ballistic", status="closed",
            reason=reason, launch=launch, impact=None if g is None else self.impact(g, live=False),
            time_to_impact_s=None if g is None else round(g.t - t_now, 2),
            places=() if g is None else self._places(g), confidence=round(bt.confidence, 3),
            releasable_to=self.releasable(bt.sensors | (bt.event.sensors if bt.event else set())))


__all__ = ["AlertBuilder", "AlertUpdate", "Impact", "Launch"]
