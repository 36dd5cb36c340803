"""Joint missile warning: one nation's alerts and its partners' fused into one list, each missile
under one network alert number (issue 12; docs/warning.md, "Joint alerts").

Every node warns from its own sensors and shares its alerts with the partners each may be
released to. :class:`JointAlerts` takes both streams (its own updates and its partners', as
:class:`~skyweave.warn.alerts.AlertUpdate` records with the sending nation) and keeps *joint
alerts*: groups of source alerts of one missile.

- **Same missile.** A source alert joins a joint alert of the same threat when their launch
  points are within ``match_km`` and their launch times within ``match_s``, unless both predict
  impacts farther apart than ``match_km`` or ``match_s``; or, without launch points, when their
  impacts are that close. A source alert whose estimate moves onto another joint alert joins
  the two.
- **Network alert number.** A joint alert goes by the id of its earliest source alert: the one
  first issued (the smallest first-update time ``t``, data time, the same at every node), ties
  by the smaller id. Every node that holds the same source alerts computes the same number, with
  no message of its own: the number is the id its issuer gave it, and reached this node from the
  issuer itself (nothing is relayed, docs/messages.md "Existence"). A nation that may not see
  the earliest source alert goes by the earliest it may see.
- **Merged.** When a joint alert's number changes (an earlier source alert joined it, or two
  joint alerts became one) the old number's last update says ``"status": "merged"`` with
  ``"merged_into"`` the new one (docs/formats.md).
- **Content.** Each update of a source alert emits an update of its joint alert, stamped with
  the newest update time this node has seen (so the list stays in time order when a partner's
  alert arrives late): the launch
  point of its earliest source alert that has one, the impact of the source alert with the
  smallest ellipse among those updated in the last ``fresh_s`` (their newest otherwise; the
  source shown stays while fresh unless another's ellipse is under ``switch_ratio`` of its
  length, so the countdown does not jump between estimators), the
  status of the newest update, the nations and sensors that contribute (``nations``,
  ``sources``; ``contributors`` the source alerts as ``"NATION:alert_id"``), the intersection
  of the source alerts' markings with this nation.
- A joint alert closes when every source alert has closed.

Numerics only, no I/O; the node converts partner messages to records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import msgspec
from msgspec import UNSET

from skyweave.warn.alerts import AlertUpdate

__all__ = ["JointAlerts", "same_missile"]

_EARTH_R_M = 6_371_008.8


def _km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (km) between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_R_M * math.asin(min(1.0, math.sqrt(a))) / 1000.0


def same_missile(a: AlertUpdate, b: AlertUpdate, match_km: float = 150.0, match_s: float = 90.0) -> bool:
    """Are two alerts of the same missile? Launch points within ``match_km`` and launch times
    within ``match_s``, unless both predict impacts farther apart than that; without launch
    points, impacts that close (module docstring)."""
    if a.threat != b.threat:
        return False
    ia, ib = a.impact, b.impact
    if ia is not None and ib is not None:
        if _km(ia.lat, ia.lon, ib.lat, ib.lon) > match_km or abs(ia.t - ib.t) > match_s:
            return False
    la, lb = a.launch, b.launch
    if la is not None and lb is not None and None not in (la.lat, la.lon, la.t, lb.lat, lb.lon, lb.t):
        return _km(la.lat, la.lon, lb.lat, lb.lon) <= match_km and abs(la.t - lb.t) <= match_s
    return ia is not None and ib is not None


@dataclass
class _Source:
    key: str            # "NATION:alert_id"
    nation: str
    alert_id: str
    first_t: float
    last: AlertUpdate
    joint: int
    closed: bool = False
    t_impact: float = -math.inf   # when its impact was last updated (s)


@dataclass
class _Joint:
    members: list[str] = field(default_factory=list)
    number: str = ""
    closed: bool = False
    impact_src: str = ""   # the source alert whose impact the joint alert shows (kept while fresh)


class JointAlerts:
    """One nation's joint alerts (see the module docstring). ``update(rec, nation)`` takes one
    source alert update (this nation's or a partner's) and returns the joint updates to write,
    in order (a ``merged`` end first when the number changed)."""

    def __init__(self, nation: str, *, match_km: float = 150.0, match_s: float = 90.0, fresh_s: float = 10.0,
                 switch_ratio: float = 0.5):
        self.nation = nation
        self.switch_ratio = float(switch_ratio)
        self.match_km = float(match_km)
        self.match_s = float(match_s)
        self.fresh_s = float(fresh_s)
        self.sources: dict[str, _Source] = {}
        self.joints: dict[int, _Joint] = {}
        self._next = 1
        self.t_now = -math.inf   # the newest update time seen (s): joint updates are stamped with it

    # ------------------------------------------------------------------ matching

    def _same(self, a: AlertUpdate, b: AlertUpdate) -> bool:
        return same_missile(a, b, self.match_km, self.match_s)

    def _matches(self, src: _Source) -> list[int]:
        """The open joint alerts (other than its own) that ``src``'s estimate matches."""
        out = []
        for jid, j in self.joints.items():
            if j.closed or jid == src.joint:
                continue
            if any(self._same(src.last, self.sources[k].last) for k in j.members if not self.sources[k].closed
                   or k == src.key):
                out.append(jid)
        return out

    # ------------------------------------------------------------------ updates

    def update(self, rec: AlertUpdate, nation: str, issued: float | None = None) -> list[AlertUpdate]:
        """One source alert update from ``nation``; returns the joint updates it makes.
        ``issued``: when its nation first issued that alert id (s), where the message says;
        else the first update seen here stands for it."""
        key = f"{nation}:{rec.alert_id}"
        src = self.sources.get(key)
        out: list[AlertUpdate] = []
        self.t_now = max(self.t_now, float(rec.t))
        t = self.t_now
        first = float(rec.t) if issued is None else min(float(issued), float(rec.t))
        if src is None:
            src = _Source(key, nation, rec.alert_id, first, rec, joint=-1)
            self.sources[key] = src
        else:
            src.last = rec
            src.first_t = min(src.first_t, first)
        if rec.impact is not None:
            src.t_impact = float(rec.t)
        src.closed = rec.status in ("closed", "merged")
        if src.joint < 0:
            hits = self._matches(src)
            if hits:
                src.joint = hits[0]
                self.joints[hits[0]].members.append(key)
                hits = hits[1:]
            else:
                src.joint = self._next
                self._next += 1
                self.joints[src.joint] = _Joint([key])
        else:
            hits = [] if src.closed else self._matches(src)
        keep = self.joints[src.joint]
        for jid in hits:  # the same missile under two joint alerts: one now
            other = self.joints.pop(jid)
            for k in other.members:
                self.sources[k].joint = src.joint
            keep.members.extend(other.members)
            number = self._number(keep)
            if other.number and other.number != number:
                head = self._content(other, t)
                out.append(msgspec.structs.replace(head, alert_id=other.number, status="merged",
                                                   merged_into=number))
        out.extend(self._emit(keep, t))
        return out

    def _number(self, j: _Joint) -> str:
        first = min((self.sources[k] for k in j.members), key=lambda s: (s.first_t, s.alert_id))
        return first.alert_id

    def _emit(self, j: _Joint, t: float) -> list[AlertUpdate]:
        out = []
        number = self._number(j)
        if j.number and j.number != number:
            head = self._content(j, t)
            out.append(msgspec.structs.replace(head, alert_id=j.number, status="merged", merged_into=number))
        j.number = number
        rec = self._content(j, t)
        if rec is None:
            return out
        if all(self.sources[k].closed for k in j.members):
            j.closed = True
            rec = msgspec.structs.replace(rec, status="closed")
        elif any(self.sources[k].closed and self.sources[k].last.reason == "impact" for k in j.members):
            # a source saw the missile come down: a partner's older phase ("tracking"), restated
            # now, would be false; the joint alert keeps quiet until its last source closes
            return out
        out.append(rec)
        return out

    def _content(self, j: _Joint, t: float) -> AlertUpdate | None:
        srcs = [self.sources[k] for k in j.members]
        if not srcs:
            return None
        newest = max(srcs, key=lambda s: (s.last.t, s.key))
        with_launch = [s for s in srcs if s.last.launch is not None and s.last.launch.lat is not None]
        launch = min(with_launch, key=lambda s: (s.first_t, s.alert_id)).last.launch if with_launch else newest.last.launch
        with_impact = [s for s in srcs if s.last.impact is not None and not s.closed]
        best = None
        if with_impact:
            fresh = [s for s in with_impact if t - s.t_impact <= self.fresh_s]
            pool = fresh or [max(with_impact, key=lambda s: s.t_impact)]
            best = min(pool, key=lambda s: (s.last.impact.semi_major_m, s.key))
            # keep showing one source's impact while it is fresh, unless another's ellipse is
            # less than half as long: two estimators' impact times differ by seconds, and a
            # countdown that jumps between them misleads
            cur = next((s for s in pool if s.key == j.impact_src), None)
            if cur is not None and best.last.impact.semi_major_m >= self.switch_ratio * cur.last.impact.semi_major_m:
                best = cur
            j.impact_src = best.key
        imp_src = best.last if best is not None else newest.last
        marks = [set(s.last.releasable_to) | {s.nation} for s in srcs]
        rel = tuple(sorted(set.intersection(*marks) | {self.nation}))
        sensors = sorted({x for s in srcs for x in (s.last.sources if s.last.sources is not UNSET else ())})
        tti = None
        if imp_src.impact is not None:
            tti = max(0.0, round(float(imp_src.impact.t) - float(t), 2))
        status = newest.last.status
        if status in ("closed", "merged"):
            open_ = [s for s in srcs if not s.closed]
            status = max(open_, key=lambda s: (s.last.t, s.key)).last.status if open_ else "closed"
        return AlertUpdate(
            t=float(t), alert_id=j.number or self._number(j), threat=newest.last.threat,
            status=status, launch=launch, impact=imp_src.impact if best is not None else None,
            time_to_impact_s=tti if best is not None else None,
            places=tuple(imp_src.places) if best is not None else tuple(newest.last.places),
            confidence=max(float(s.last.confidence or 0.0) for s in srcs), releasable_to=rel,
            sources=tuple(sensors), nations=tuple(sorted({s.nation for s in srcs})),
            contributors=tuple(sorted(s.key for s in srcs)),
            ntn=newest.last.ntn,
        )

    def open_alerts(self) -> list[str]:
        """The numbers of the joint alerts still open."""
        return sorted(j.number for j in self.joints.values() if not j.closed and j.number)
