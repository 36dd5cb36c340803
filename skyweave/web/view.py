"""One nation's live view: the state a node's events build, and the frames its viewers get.

A :class:`NationView` attaches to a nation's node as two sinks (:meth:`NationView.sinks`):

- a :class:`~skyweave.node.events.LatestSink` for pictures and alerts: the view keeps only the
  newest state and never slows the node;
- a lossless :class:`~skyweave.node.events.CallbackSink` that only counts scans and the gate's
  verdicts (a counter increment), so the network health panel counts every rejected message.

:meth:`NationView.state` gives what a viewer of a nation may see (every item through
:func:`~skyweave.web.picture.visible`), and a :class:`Publisher` turns successive states into
numbered frames: a ``snapshot`` first, then ``delta`` frames carrying only the tracks that
changed, the removed ids, the changed alerts and the health when it changed. A delta's tracks
that only moved (their changed fields all kinematic, :data:`MOVE_FIELDS`, their marking
unchanged) go as the columns of one ``moves`` object (:func:`moves_columns`); the others (new
tracks whole, tracks whose other fields changed: only those fields, with ``id`` and
``releasable_to``) as items in ``tracks``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from datetime import timedelta

from skyweave.node.events import (
    AlertUpdated,
    CallbackSink,
    LatestSink,
    LocalPicture,
    MessageVerdict,
    PictureFused,
    ScanIngested,
)
from skyweave.web.picture import PictureItems, alert_item, only_visible

#: fields of a track item a delta always carries, changed or not
ALWAYS = ("id", "releasable_to")
#: the fields of a moving track (its kinematics) a delta sends as columns of ``moves``: a track
#: whose changed fields are all among these (and whose marking did not change) goes there; the
#: ellipse goes as the three columns ``smaj``, ``smin``, ``orient``
MOVE_FIELDS = ("t", "lat", "lon", "alt", "ve", "vn", "vu", "speed", "course", "ellipse", "sigma_alt_m", "quality")
#: the ``moves`` columns, in order, and the whole-number ones (sent as integers: m, quality)
MOVE_COLUMNS = ("lat", "lon", "alt", "ve", "vn", "vu", "speed", "course", "smaj", "smin", "orient", "sigma_alt_m",
                "quality")
_INT_COLUMNS = frozenset(("alt", "smaj", "smin", "sigma_alt_m", "quality"))
_MOVE_SET = frozenset(MOVE_FIELDS) | frozenset(ALWAYS)
_ELLIPSE_KEYS = (("smaj", "semi_major_m"), ("smin", "semi_minor_m"), ("orient", "orientation_deg"))


class NationView:
    """The live state of one nation's node (see the module docstring).

    ``trail_step_s`` and ``trail_points``: each track's trail keeps a point every that many
    scenario seconds, at most that many points.
    """

    def __init__(self, nation: str, *, trail_step_s: float = 10.0, trail_points: int = 40):
        self.nation = nation
        self.trail_step_s = float(trail_step_s)
        self.trail_points = int(trail_points)
        self._lock = threading.RLock()
        self.run = 0
        self._latest: LatestSink | None = None
        self.overrides: dict[str, tuple[str, str]] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        self.items: PictureItems | None = None
        self.sensor_nation: dict[str, str] = {}
        self.sensor_list: list[dict] = []
        self.epoch = None
        self.t = 0.0
        self.tracks: dict[str, dict] = {}
        self.alerts: dict[str, dict] = {}
        self.trails: dict[str, deque] = {}
        self.alert_history: dict[str, list] = {}
        self.partners: dict[str, dict] = {}
        self.rejected: Counter = Counter()
        self.scans: Counter = Counter()
        self.sensor_t: dict[str, float] = {}
        self.pictures = 0
        self.version = 0
        #: wall-clock time (s) at which the node emitted the picture the view holds
        self.picture_wall = 0.0
        self._emitted: dict[float, float] = {}

    # --------------------------------------------------------------------------- set-up

    def start(self, sensors) -> None:
        """Begin a (new) run over a :class:`~skyweave.core.model.SensorSet`: everything is reset."""
        if sensors.origin is None:
            raise ValueError(f"view {self.nation}: the sensor set has no origin; the live view needs a geodetic frame")
        with self._lock:
            self._reset_state()
            self.run += 1
            self.overrides = {}
            own = [s.id for s in sensors.sensors if s.nation == self.nation]
            o = sensors.origin
            self.items = PictureItems(self.nation, (o.lat, o.lon, o.alt), own)
            self.sensor_nation = {s.id: s.nation for s in sensors.sensors}
            self.sensor_list = [{"id": s.id, "nation": s.nation, "kind": s.kind, "lat": s.lat, "lon": s.lon,
                                 "max_range_m": s.max_range_m, "releasable_to": list(s.releasable_to)}
                                for s in sensors.sensors if s.lat is not None and s.lon is not None]
            self.epoch = sensors.epoch
            self.version += 1

    def sinks(self, sensors=None) -> list:
        """The two sinks to attach to this nation's node (starting a run over ``sensors`` if given)."""
        if sensors is not None:
            self.start(sensors)
        if self._latest is not None:
            self._latest.close()
        self._latest = LatestSink(self.handle, name=f"view-{self.nation}")
        return [CallbackSink(self.count, kinds=(MessageVerdict, ScanIngested, PictureFused)), self._latest]

    @property
    def dropped(self) -> int:
        return self._latest.dropped if self._latest is not None else 0

    # --------------------------------------------------------------------------- events

    def count(self, event) -> None:
        """Count a scan or a gate verdict, note when a picture was emitted (lossless: called for every one)."""
        with self._lock:
            if isinstance(event, PictureFused):
                if len(self._emitted) > 256:
                    self._emitted.clear()
                self._emitted.setdefault(event.t, time.time())
                return
            if isinstance(event, ScanIngested):
                self.scans[event.sensor] += 1
                self.sensor_t[event.sensor] = max(self.sensor_t.get(event.sensor, 0.0), event.t)
                return
            p = self.partners.setdefault(event.sender or "?", {"admitted": 0, "rejected": 0, "last_t": None,
                                                                 "reasons": {}})
            if event.admitted:
                p["admitted"] += 1
                if event.t == event.t:  # not NaN
                    p["last_t"] = event.t if p["last_t"] is None else max(p["last_t"], event.t)
            else:
                p["rejected"] += 1
                p["reasons"][event.reason] = p["reasons"].get(event.reason, 0) + 1
                self.rejected[event.reason] += 1

    def handle(self, event) -> None:
        """Take a picture or an alert update (on the LatestSink's thread)."""
        if self.items is None:
            return
        if isinstance(event, LocalPicture):
            with self._lock:
                self.items.local(event.frame)
            return
        if isinstance(event, PictureFused):
            items = self.items.tracks(event.picture, self.overrides)
            with self._lock:
                self.picture_wall = self._emitted.pop(event.t, None) or time.time()
                self.tracks = {it["id"]: it for it in items}
                self.t = max(self.t, float(event.t))
                self._trail(items)
                self.pictures += 1
                self.version += 1
            return
        if isinstance(event, AlertUpdated):
            it = alert_item(event.alert, self.sensor_nation)
            with self._lock:
                self.alerts[it["id"]] = it
                self.t = max(self.t, float(event.t))
                h = self.alert_history.setdefault(it["id"], [])
                imp = it.get("impact") or {}
                h.append([it.get("t"), it.get("time_to_impact_s"), imp.get("semi_major_m")])
                del h[:-200]
                self.version += 1

    def _trail(self, items) -> None:
        step = self.trail_step_s
        seen = set()
        for it in items:
            tid = it["id"]
            seen.add(tid)
            tr = self.trails.get(tid)
            if tr is None:
                tr = self.trails[tid] = deque(maxlen=self.trail_points)
            if not tr or it["t"] - tr[-1][0] >= step:
                tr.append([it["t"], it["lat"], it["lon"], it["alt"]])
        for tid in [k for k in self.trails if k not in seen]:
            del self.trails[tid]

    def set_identity(self, track_id: str, sid: str, who: str) -> None:
        """An operator's standard identity for a track (kept for this run, shown from the next picture on)."""
        with self._lock:
            self.overrides[track_id] = (sid, who)
            it = self.tracks.get(track_id)
            if it is not None:
                self.tracks[track_id] = {**it, "sid": sid, "sid_source": who}
            self.version += 1

    # --------------------------------------------------------------------------- what a viewer sees

    def utc(self, t: float) -> str | None:
        if self.epoch is None:
            return None
        return (self.epoch + timedelta(seconds=float(t))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def health(self, nation: str) -> dict:
        """The network health panel: own sensors, each partner link, rejections by reason."""
        with self._lock:
            t = self.t
            partners = []
            for p, v in sorted(self.partners.items()):
                age = None if v["last_t"] is None else round(max(0.0, t - v["last_t"]), 1)
                partners.append({"nation": p, "admitted": v["admitted"], "rejected": v["rejected"], "age_s": age,
                                 "reasons": dict(sorted(v["reasons"].items()))})
            sensors = [{"id": s, "scans": n, "age_s": round(max(0.0, t - self.sensor_t.get(s, t)), 1)}
                       for s, n in sorted(self.scans.items())]
            return {"node": self.nation, "t": round(t, 1), "partners": partners, "sensors": sensors,
                    "rejected": dict(sorted(self.rejected.items())), "pictures": self.pictures,
                    "dropped": self.dropped}

    def state(self, nation: str) -> dict:
        """What a viewer of ``nation`` may see now: tracks and alerts releasable to it, and the health."""
        with self._lock:
            tracks = only_visible(self.tracks.values(), nation)
            alerts = only_visible(self.alerts.values(), nation)
            return {"t": round(self.t, 2), "utc": self.utc(self.t), "run": self.run, "version": self.version,
                    "picture_wall": round(self.picture_wall, 3),
                    "tracks": {it["id"]: it for it in tracks}, "alerts": {it["id"]: it for it in alerts},
                    "health": self.health(nation),
                    "sensors": only_visible(self.sensor_list, nation)}

    def history(self, nation: str, track: str | None = None) -> dict:
        """Trails of the tracks and the alerts' updates (time, time to impact, ellipse) that
        ``nation`` may see now (one track's only, with ``track``)."""
        with self._lock:
            vis_t = {it["id"] for it in only_visible(self.tracks.values(), nation)}
            vis_a = {it["id"] for it in only_visible(self.alerts.values(), nation)}
            if track is not None:
                vis_t &= {track}
            return {"t": round(self.t, 2),
                    "tracks": {k: list(self.trails.get(k, ())) for k in sorted(vis_t)},
                    "alerts": {k: list(self.alert_history.get(k, ())) for k in sorted(vis_a)}}


_MISSING = object()


def _changed(old: dict, new: dict) -> dict | None:
    """The fields of ``new`` that differ from ``old`` (with ``id`` and ``releasable_to``), None if none.
    A field holding the same object in both is unchanged without a comparison (the track items
    share their lists from picture to picture while they do not change)."""
    out = {}
    get = old.get
    for k, v in new.items():
        o = get(k, _MISSING)
        if o is not v and o != v:
            out[k] = v
    if not out or (len(out) == 1 and "t" in out):
        return None
    for k in ALWAYS:
        out[k] = new[k]
    return out


def moves_columns(rows: list[tuple[dict, set]]) -> dict:
    """The ``moves`` object of a delta from (track item, its changed fields) rows, all visible to
    the frame's nation: ``ids``; ``t`` (one number when every row has the same time, else one per
    row); ``markings`` (the distinct ``releasable_to`` lists) and ``marking`` (each row's index
    into them); then, for each column of :data:`MOVE_COLUMNS` that changed in any row, every
    row's current value (deg, m, m/s, deg clockwise from north; the ellipse's ``smaj``, ``smin``
    in m and ``orient`` in deg; ``sigma_alt_m`` m; ``quality`` 0-15)."""
    items = [it for it, _ in rows]
    changed: set = set()
    for _, ch in rows:
        changed.update(ch)
    ts = {it["t"] for it in items}
    out: dict = {"ids": [it["id"] for it in items], "t": ts.pop() if len(ts) == 1 else [it["t"] for it in items]}
    index: dict[tuple, int] = {}
    by_obj: dict[int, int] = {}  # the items share one list object per marking: look it up by identity first
    markings, marking = [], []
    for it in items:
        rel = it["releasable_to"]
        k = by_obj.get(id(rel))
        if k is None:
            key = tuple(rel)
            k = index.get(key)
            if k is None:
                k = index[key] = len(markings)
                markings.append(list(key))
            by_obj[id(rel)] = k
        marking.append(k)
    out["markings"], out["marking"] = markings, marking
    for col in MOVE_COLUMNS:
        if col in ("smaj", "smin", "orient"):
            if "ellipse" not in changed:
                continue
            key = dict(_ELLIPSE_KEYS)[col]
            vals = [(it.get("ellipse") or {}).get(key) for it in items]
        elif col in changed:
            vals = [it.get(col) for it in items]
        else:
            continue
        # the whole-number columns were rounded to 0 decimals (None where unknown): sent as integers
        out[col] = [None if v is None else int(v) for v in vals] if col in _INT_COLUMNS else vals
    return out


class Publisher:
    """Numbered frames for the viewers of one nation from one view (one thread polls; any may take snapshots).

    :meth:`poll` compares the view's state with the last one published and returns a delta frame
    (or None when nothing changed); :meth:`snapshot` returns the full frame a new viewer starts
    from, numbered so that the next delta follows it. Each frame carries ``nation``, the nation
    it was filtered for.
    """

    def __init__(self, view: NationView, nation: str, speed: float = 1.0, classification: str = ""):
        self.view = view
        self.nation = nation
        self.speed = float(speed)
        self.classification = classification
        self.seq = 0
        self._state = {"run": None, "version": None, "tracks": {}, "alerts": {}, "health": None, "t": 0.0,
                       "utc": None, "sensors": []}
        self.frames = 0
        self._lock = threading.Lock()
        #: the health panel goes out at most this often (s of wall clock)
        self.health_every_s = 2.0
        self._health_wall = -1e9
        self._sent_health = None

    def snapshot(self) -> dict:
        """The full frame of the last state published (thread-safe against :meth:`poll`)."""
        with self._lock:
            s, seq = self._state, self.seq
        return {"type": "snapshot", "nation": self.nation, "seq": seq, "run": s["run"], "t": s["t"],
                "picture_wall": s.get("picture_wall"),
                "utc": s["utc"], "speed": self.speed, "classification": self.classification,
                "tracks": list(s["tracks"].values()), "alerts": list(s["alerts"].values()),
                "health": s["health"], "sensors": s["sensors"], "wall": time.time()}

    def pending(self) -> bool:
        """True when the view has changed since the last frame (a cheap check: no state is taken)."""
        prev = self._state
        return not (prev["version"] == self.view.version and prev["run"] == self.view.run)

    def poll(self) -> dict | None:
        """The next frame: a delta, a snapshot when the run changed, or None when nothing did."""
        prev = self._state
        if prev["version"] == self.view.version and prev["run"] == self.view.run:
            return None
        cur = self.view.state(self.nation)
        with self._lock:
            self._state = cur
            self.seq += 1
            seq = self.seq
        self.frames += 1
        if cur["run"] != prev["run"]:
            return self.snapshot()
        frame = {"type": "delta", "nation": self.nation, "seq": seq, "t": cur["t"], "utc": cur["utc"],
                 "wall": time.time(), "picture_wall": cur["picture_wall"]}
        upd, removed, moved = [], [], []
        old_t = prev["tracks"]
        for tid, it in cur["tracks"].items():
            o = old_t.get(tid)
            if o is None:
                upd.append(it)
            elif o is not it:
                ch = _changed(o, it)
                if ch is None:
                    continue
                keys = ch.keys()
                if _MOVE_SET.issuperset(keys) and (o.get("releasable_to") is it["releasable_to"]
                                                   or o.get("releasable_to") == it["releasable_to"]):
                    moved.append((it, keys))
                else:
                    upd.append(ch)
        removed = [tid for tid in old_t if tid not in cur["tracks"]]
        alerts = [a for k, a in cur["alerts"].items() if prev["alerts"].get(k) != a]
        alerts_removed = [k for k in prev["alerts"] if k not in cur["alerts"]]
        frame["tracks"] = upd
        if moved:
            frame["moves"] = moves_columns(moved)
        frame["removed"] = removed
        frame["alerts"] = alerts
        frame["alerts_removed"] = alerts_removed
        now = time.monotonic()
        if cur["health"] != self._sent_health and now - self._health_wall >= self.health_every_s:
            frame["health"] = self._sent_health = cur["health"]
            self._health_wall = now
        return frame
