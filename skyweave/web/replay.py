"""Replaying a recorded run in the joint command view: a journal's pictures, or a tracks file's,
on a timeline.

A :class:`ReplayStore` reads a journal (:mod:`skyweave.node.journal`, docs/journal.md) once: for
each nation, the node's own fused pictures (``fused`` records: picture.jsonl lines), its alert
updates (``alert`` records: alerts.jsonl objects), its gate's verdicts (``verdict``) and the
operators' standard identities (``identity``, written by a live server). Nothing of another
nation is ever served to a viewer: a viewer of N is given N's own records only, and every item
still goes through :func:`~skyweave.web.picture.visible` for N. :meth:`ReplayStore.from_tracks`
reads a tracks file (``skyweave track``'s output, such as a real ADS-B recording's) instead: one
nation's pictures, one per distinct time of the file, and no alerts.

A :class:`ReplayCursor` is one user's position on the timeline (scenario seconds), playing at
``speed`` times the wall clock or paused. It offers what a :class:`~skyweave.web.view.NationView`
offers a viewer (``state``, ``history``, ``health``, ``version``, ``run``), as of its time, so
the live view's :class:`~skyweave.web.view.Publisher` turns it into the same snapshot and delta
frames; a seek starts a new ``run`` (the next frame is a snapshot).
"""

from __future__ import annotations

import bisect
import json
import tempfile
import threading
import time
import zlib
from collections import Counter, OrderedDict
from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson

from skyweave.node.journal import JournalError, JournalReader
from skyweave.web.picture import STANDARD_IDENTITIES, PictureItems, alert_item, only_visible

#: replay speeds a user may choose (scenario seconds per wall-clock second)
MIN_SPEED, MAX_SPEED = 0.5, 20.0
#: the journal record kind of an operator's standard identity (body: JSON track, sid, user)
IDENTITY_KIND = "identity"


class LinesPicture:
    """The fields of a fused picture that :meth:`PictureItems.tracks` reads, from picture.jsonl
    lines (docs/formats.md): ids are the lines' ``track_id`` (the network track number)."""

    def __init__(self, t: float, lines: list[dict], dims: int):
        n = len(lines)
        self.t = float(t)
        self.dims = dims
        keys = ("x", "y", "z", "vx", "vy", "vz") if dims == 3 else ("x", "y", "vx", "vy")
        k = len(keys)
        self.x = np.array([[d[c] for c in keys] for d in lines], dtype=float).reshape(n, k)
        P = np.full((n, k * k), np.nan)
        for i, d in enumerate(lines):
            c = d.get("cov")
            if c is not None and len(c) == k * k:
                P[i] = c
        self.P = P.reshape(n, k, k)
        self.ntn = np.array([str(d["track_id"]) for d in lines], dtype=object)
        self.cls = np.array([d.get("class") or "unknown" for d in lines], dtype=object)
        self.class_conf = np.full(n, np.nan)
        self.identity = np.array([int(d["icao24"], 16) if d.get("icao24") else -1 for d in lines], dtype=np.int64)
        self.quality = np.array([int(d.get("quality", 0)) for d in lines], dtype=np.int64)
        self.responsible = np.array([bool(d.get("reporting")) for d in lines], dtype=bool)
        self.releasable_to = [tuple(d.get("releasable_to") or ()) for d in lines]
        self.sources = [tuple(d.get("sources") or ()) for d in lines]

    def __len__(self) -> int:
        return len(self.ntn)


def _load_sensors_text(text: str, path: Path):
    """The SensorSet of a journal's ``sensors`` meta (sensors.json text)."""
    from skyweave.io.formats import FormatError, load_sensors

    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(text)
        f.flush()
        try:
            return load_sensors(f.name)
        except FormatError as e:
            raise JournalError(f"{path}: its sensors (meta 'sensors') are not a valid sensors.json: {e}") from None


def _callsigns(path: Path) -> dict[str, str]:
    """ICAO address -> the last callsign the detections of ``path`` (detections.jsonl) give it."""
    out: dict[str, str] = {}
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise JournalError(f"--detections {path}: cannot read it ({e.strerror or e})") from None
    with fh:
        for no, line in enumerate(fh, 1):
            if b"callsign" not in line:
                continue
            try:
                d = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                raise JournalError(f"--detections {path} line {no}: not JSON ({str(e).splitlines()[0]})") from None
            if isinstance(d, dict) and d.get("icao24") and d.get("callsign"):
                out[str(d["icao24"]).lower()] = str(d["callsign"]).strip()
    return out


class NationRecords:
    """One nation's recorded pictures, alerts, verdicts and identities, in time order."""

    def __init__(self, nation: str):
        self.nation = nation
        self.times: list[float] = []
        self.bodies: list[bytes] = []  # zlib-compressed picture.jsonl text
        self.alert_times: list[float] = []
        self.alerts: list[dict] = []
        self.verdicts: list[tuple[float, str, bool, str]] = []
        self.identities: list[tuple[float, str, str, str]] = []  # t, track, sid, user
        self.health_at: list[dict] = []  # the gate's counts as of each picture


class ReplayStore:
    """A recorded run read from a journal (see the module docstring); :class:`JournalError` when the
    file is not a journal or records no fused picture."""

    def __init__(self, path: str | Path, *, cache: int = 64):
        self.path = Path(path)
        reader = JournalReader(self.path)
        try:
            sensors = _load_sensors_text(reader.meta["sensors"], self.path)
            by_nation = {n: NationRecords(n) for n in sorted(reader.nodes)}
            for _seq, nation, kind, t, _wall, _subject, body in reader.records(
                    kinds=("fused", "alert", "verdict", IDENTITY_KIND)):
                rec = by_nation.get(nation)
                if rec is None or t is None:
                    continue
                if isinstance(body, bytes):
                    body = body.decode()
                if kind == "fused":
                    rec.times.append(float(t))
                    rec.bodies.append(zlib.compress((body or "").encode(), 1))
                elif kind == "alert":
                    rec.alert_times.append(float(t))
                    rec.alerts.append(json.loads(body))
                elif kind == "verdict":
                    v = json.loads(body)
                    rec.verdicts.append((float(t), v.get("sender") or "?", bool(v.get("admitted")), v.get("reason") or ""))
                else:
                    v = json.loads(body)
                    if v.get("sid") in STANDARD_IDENTITIES:
                        rec.identities.append((float(t), str(v.get("track")), v["sid"], str(v.get("user"))))
        except (ValueError, KeyError) as e:
            raise JournalError(f"{self.path}: a damaged record ({e})") from None
        finally:
            reader.close()
        self._setup(sensors, by_nation, cache, f"{self.path}: the journal records no fused picture: nothing to replay")

    @classmethod
    def from_tracks(cls, tracks_path: str | Path, sensors_path: str | Path, *, detections_path: str | Path | None = None,
                    cache: int = 64) -> ReplayStore:
        """A tracks file (``skyweave track``'s tracks.jsonl, docs/formats.md) as a recorded run of one
        nation: each distinct ``t`` is one picture (the file holds every confirmed track at each
        detection time). The nation is the sensors' (all of one nation; else each line's
        ``nation``); a track's ``releasable_to`` is the intersection of that nation's sensors'
        markings (the nation itself always in it), its category ``aircraft`` when it carries an
        ICAO address (``icao24``: standard identity neutral by rule), else ``unknown``.
        ``detections_path`` (the detections the tracks came from) names each ICAO address's
        ``callsign``. :class:`JournalError` names the file and line of a mistake."""
        from skyweave.io.formats import FormatError, load_sensors

        tracks_path, sensors_path = Path(tracks_path), Path(sensors_path)
        self = cls.__new__(cls)
        self.path = tracks_path
        try:
            sensors = load_sensors(sensors_path)
        except FormatError as e:
            raise JournalError(f"--sensors {sensors_path}: {e}") from None
        except OSError as e:
            raise JournalError(f"--sensors {sensors_path}: cannot read it ({e.strerror or e})") from None
        nations = sorted({s.nation for s in sensors.sensors})
        marking: dict[str, list[str]] = {}
        for n in nations:
            rel = None
            for s in sensors.sensors:
                if s.nation == n:
                    r = set(s.releasable_to) | {n}
                    rel = r if rel is None else rel & r
            marking[n] = sorted(rel or {n})
        self.callsigns = _callsigns(Path(detections_path)) if detections_path is not None else {}
        pictures: dict[str, dict[float, list[bytes]]] = {}
        keys = ("x", "y", "z", "vx", "vy", "vz") if sensors.dims == 3 else ("x", "y", "vx", "vy")
        try:
            fh = open(tracks_path, "rb")
        except OSError as e:
            raise JournalError(f"--tracks {tracks_path}: cannot read it ({e.strerror or e})") from None
        with fh:
            for no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    d = orjson.loads(line)
                    t = float(d["t"])
                    tid = str(d["track_id"])
                    for k in keys:
                        float(d[k])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                    what = f"no {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
                    raise JournalError(f"--tracks {tracks_path} line {no}: not a tracks.jsonl line ({what})") from None
                nation = d.get("nation") if len(nations) != 1 else nations[0]
                if nation not in marking:
                    raise JournalError(f"--tracks {tracks_path} line {no}: nation {nation!r} is none of the sensors' "
                                       f"nations ({', '.join(nations)}) in {sensors_path}")
                icao = d.get("icao24")
                rec = {**{k: d[k] for k in keys}, "track_id": tid, "cov": d.get("cov"), "quality": d.get("quality", 0),
                       "icao24": icao, "class": "aircraft" if icao else "unknown", "reporting": True,
                       "releasable_to": marking[nation], "sources": [f"{nation}:{tid}"]}
                pictures.setdefault(nation, {}).setdefault(t, []).append(orjson.dumps(rec))
        by_nation = {}
        for n, pics in pictures.items():
            rec = by_nation[n] = NationRecords(n)
            for t in sorted(pics):
                rec.times.append(t)
                rec.bodies.append(zlib.compress(b"\n".join(pics[t]), 1))
        self._setup(sensors, by_nation, cache, f"--tracks {tracks_path}: no track in it: nothing to show",
                    origin_from=f"--sensors {sensors_path}")
        return self

    def _setup(self, sensors, by_nation: dict[str, NationRecords], cache: int, empty: str,
               origin_from: str | None = None) -> None:
        """The timeline of ``by_nation``'s records over ``sensors`` (``empty``: the error when no
        nation has a picture)."""
        self.sensors = sensors
        if self.sensors.origin is None:
            raise JournalError(f"{origin_from or self.path}: the run has no geodetic origin; the view needs one")
        if not hasattr(self, "callsigns"):
            self.callsigns = {}
        self.by_nation = by_nation
        self.nations = tuple(n for n in sorted(by_nation) if by_nation[n].times)
        if not self.nations:
            raise JournalError(empty)
        for n in self.nations:
            self._order(self.by_nation[n])
        self.start = min(self.by_nation[n].times[0] for n in self.nations)
        self.end = max(max(self.by_nation[n].times[-1], *(self.by_nation[n].alert_times or [0.0])) for n in self.nations)
        self.epoch = self.sensors.epoch
        own = {n: [s.id for s in self.sensors.sensors if s.nation == n] for n in self.nations}
        o = self.sensors.origin
        self._items = {n: PictureItems(n, (o.lat, o.lon, o.alt), own[n]) for n in self.nations}
        self.sensor_nation = {s.id: s.nation for s in self.sensors.sensors}
        self.sensor_list = [{"id": s.id, "nation": s.nation, "kind": s.kind, "lat": s.lat, "lon": s.lon,
                             "max_range_m": s.max_range_m, "releasable_to": list(s.releasable_to)}
                            for s in self.sensors.sensors if s.lat is not None and s.lon is not None]
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = int(cache)
        self._lock = threading.Lock()

    @staticmethod
    def _order(rec: NationRecords) -> None:
        """Sort by time (stable: records of one time keep the journal's order) and count the
        gate's verdicts as of each picture."""
        order = sorted(range(len(rec.times)), key=lambda i: rec.times[i])
        rec.times = [rec.times[i] for i in order]
        rec.bodies = [rec.bodies[i] for i in order]
        order = sorted(range(len(rec.alert_times)), key=lambda i: rec.alert_times[i])
        rec.alert_times = [rec.alert_times[i] for i in order]
        rec.alerts = [rec.alerts[i] for i in order]
        rec.identities.sort(key=lambda r: r[0])
        verdicts = sorted(rec.verdicts, key=lambda v: v[0])
        partners: dict[str, dict] = {}
        rejected: Counter = Counter()
        k = 0
        for t in rec.times:
            while k < len(verdicts) and verdicts[k][0] <= t:
                vt, sender, ok, reason = verdicts[k]
                p = partners.setdefault(sender, {"admitted": 0, "rejected": 0, "last_t": None, "reasons": {}})
                if ok:
                    p["admitted"] += 1
                    p["last_t"] = vt if p["last_t"] is None else max(p["last_t"], vt)
                else:
                    p["rejected"] += 1
                    p["reasons"][reason] = p["reasons"].get(reason, 0) + 1
                    rejected[reason] += 1
                k += 1
            rec.health_at.append({"partners": {s: {**p, "reasons": dict(p["reasons"])} for s, p in partners.items()},
                                  "rejected": dict(rejected)})
        rec.verdicts = []

    def info(self, nation: str) -> dict:
        """The timeline of ``nation``'s records: start, end (scenario s), the UTC epoch, the number
        of pictures and each alert's first update time (alerts releasable to ``nation`` only)."""
        rec = self.by_nation.get(nation)
        first: dict[str, float] = {}
        if rec is not None:
            for t, a in zip(rec.alert_times, rec.alerts):
                if nation in (a.get("releasable_to") or ()):
                    first.setdefault(a["alert_id"], t)
        return {"journal": self.path.name, "nation": nation, "start": self.start, "end": self.end,
                "epoch": self.epoch.strftime("%Y-%m-%dT%H:%M:%SZ") if self.epoch else None,
                "pictures": len(rec.times) if rec else 0,
                "alerts": [{"id": k, "t": v} for k, v in sorted(first.items(), key=lambda kv: kv[1])]}

    def picture_index(self, nation: str, t: float) -> int:
        """The index of ``nation``'s latest picture at or before ``t`` (-1: none yet)."""
        rec = self.by_nation.get(nation)
        return -1 if rec is None else bisect.bisect_right(rec.times, t) - 1

    def overrides(self, nation: str, t: float) -> dict[str, tuple[str, str]]:
        """The operators' standard identities recorded at or before ``t``: track -> (sid, user)."""
        rec = self.by_nation.get(nation)
        out = {}
        for it, track, sid, user in (rec.identities if rec else ()):
            if it > t:
                break
            out[track] = (sid, user)
        return out

    def tracks(self, nation: str, idx: int, extra: dict | None = None) -> dict[str, dict]:
        """The track items (id -> item) of ``nation``'s picture number ``idx`` (cached), with the
        identities recorded by then and ``extra`` (track -> (sid, who)) over them."""
        if idx < 0:
            return {}
        rec = self.by_nation[nation]
        key = (nation, idx)
        with self._lock:
            items = self._cache.get(key)
            if items is not None:
                self._cache.move_to_end(key)
        if items is None:
            text = zlib.decompress(rec.bodies[idx])
            lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
            t = rec.times[idx]
            pic = LinesPicture(t, lines, self.sensors.dims)
            items = {it["id"]: it for it in self._items[nation].tracks(pic, self.overrides(nation, t))}
            if self.callsigns:
                for it in items.values():
                    it["callsign"] = self.callsigns.get(it["identity"])
            with self._lock:
                self._cache[key] = items
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if extra:
            items = {k: ({**v, "sid": extra[k][0], "sid_source": extra[k][1]} if k in extra else v) for k, v in items.items()}
        return items

    def alerts(self, nation: str, t: float) -> dict[str, dict]:
        """The latest update at or before ``t`` of each of ``nation``'s alerts (id -> item)."""
        rec = self.by_nation.get(nation)
        if rec is None:
            return {}
        k = bisect.bisect_right(rec.alert_times, t)
        out = {}
        for a in rec.alerts[:k]:
            out[a["alert_id"]] = a
        return {k_: alert_item(a, self.sensor_nation) for k_, a in out.items()}

    def utc(self, t: float) -> str | None:
        if self.epoch is None:
            return None
        return (self.epoch + timedelta(seconds=float(t))).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReplayCursor:
    """One user's position on a recorded run's timeline (see the module docstring).

    ``clock`` gives wall-clock seconds (monotonic). Playing, the time runs ``speed`` times the
    wall clock from where it was set and stops at the run's end.
    """

    def __init__(self, store: ReplayStore, nation: str, *, clock=time.monotonic):
        self.store = store
        self.nation = nation
        self.clock = clock
        self._lock = threading.RLock()
        self._t0 = store.start
        self._wall0 = clock()
        self.playing = False
        self.speed = 1.0
        self.run = 1
        self.version = 0
        self._key = None
        #: identities an operator set while replaying (shown on this timeline only)
        self.extra: dict[str, tuple[str, str]] = {}
        self.pictures = 0
        self.dropped = 0
        self.refresh()

    # ---------------------------------------------------------------------------- the clock
    @property
    def t(self) -> float:
        with self._lock:
            if not self.playing:
                return self._t0
            t = self._t0 + (self.clock() - self._wall0) * self.speed
            if t >= self.store.end:
                self._t0, self.playing = self.store.end, False
                self.version += 1
                return self.store.end
            return t

    def control(self, op: str, t: float | None = None, speed: float | None = None) -> dict:
        """``play``, ``pause`` or ``seek`` (to ``t``, scenario s, clamped to the run); ``speed``
        (0.5-20) with any of them. A ValueError names a bad command."""
        if op not in ("play", "pause", "seek", "speed"):
            raise ValueError(f"op {op!r}: expected play, pause, seek or speed")
        if speed is not None and not (MIN_SPEED <= float(speed) <= MAX_SPEED):
            raise ValueError(f"speed {speed}: expected {MIN_SPEED} to {MAX_SPEED}")
        if op == "seek" and t is None:
            raise ValueError("seek needs t (scenario seconds)")
        with self._lock:
            now = self.t
            self._t0, self._wall0 = now, self.clock()
            if speed is not None:
                self.speed = float(speed)
            if op == "play":
                if now >= self.store.end:  # from the start again
                    self._t0 = self.store.start
                    self.run += 1
                self.playing = True
            elif op == "pause":
                self.playing = False
            elif op == "seek":
                self._t0 = min(max(float(t), self.store.start), self.store.end)
                self.run += 1
            self.version += 1
            self.refresh()
            return self.info()

    def info(self) -> dict:
        """Where the cursor is: ``t``, ``playing``, ``speed`` and the timeline (:meth:`ReplayStore.info`)."""
        with self._lock:
            return {**self.store.info(self.nation), "t": round(self.t, 2), "playing": self.playing,
                    "speed": self.speed, "run": self.run}

    def refresh(self) -> None:
        """Take the cursor's time: a new version when the picture or the alerts it shows change."""
        with self._lock:
            t = self.t
            rec = self.store.by_nation.get(self.nation)
            idx = self.store.picture_index(self.nation, t)
            na = bisect.bisect_right(rec.alert_times, t) if rec else 0
            ni = bisect.bisect_right([r[0] for r in rec.identities], t) if rec and rec.identities else 0
            key = (idx, na, ni, len(self.extra))
            if key != self._key:
                self._key = key
                self.pictures = idx + 1
                self.version += 1

    # ---------------------------------------------------------------------------- what NationView offers
    @property
    def tracks(self) -> dict[str, dict]:
        """Every track item of the picture at the cursor (not yet filtered by nation)."""
        with self._lock:
            return self.store.tracks(self.nation, self.store.picture_index(self.nation, self.t), self.extra)

    @property
    def alerts(self) -> dict[str, dict]:
        return self.store.alerts(self.nation, self.t)

    def set_identity(self, track_id: str, sid: str, who: str) -> None:
        with self._lock:
            self.extra[track_id] = (sid, who)
            self.refresh()

    def health(self, nation: str) -> dict:
        """The gate's counts as of the picture at the cursor (the network health panel)."""
        with self._lock:
            t = self.t
            rec = self.store.by_nation.get(self.nation)
            idx = self.store.picture_index(self.nation, t)
            h = rec.health_at[idx] if rec is not None and idx >= 0 else {"partners": {}, "rejected": {}}
        partners = [{"nation": p, "admitted": v["admitted"], "rejected": v["rejected"],
                     "age_s": None if v["last_t"] is None else round(max(0.0, t - v["last_t"]), 1),
                     "reasons": dict(sorted(v["reasons"].items()))} for p, v in sorted(h["partners"].items())]
        return {"node": self.nation, "t": round(t, 1), "partners": partners, "sensors": [],
                "rejected": dict(sorted(h["rejected"].items())), "pictures": idx + 1, "dropped": 0}

    def state(self, nation: str) -> dict:
        """What a viewer of ``nation`` may see at the cursor (the same dict as :meth:`NationView.state`)."""
        with self._lock:
            t = self.t
            return {"t": round(t, 2), "utc": self.store.utc(t), "run": self.run, "version": self.version,
                    "picture_wall": 0.0,
                    "tracks": {it["id"]: it for it in only_visible(self.tracks.values(), nation)},
                    "alerts": {it["id"]: it for it in only_visible(self.alerts.values(), nation)},
                    "health": self.health(nation),
                    "sensors": only_visible(self.store.sensor_list, nation) if nation == self.nation else []}

    def history(self, nation: str, track: str | None = None, *, step_s: float = 10.0, points: int = 40) -> dict:
        """Trails up to the cursor (a point every ``step_s`` s, at most ``points``) of the tracks
        ``nation`` may see at the cursor, and the alerts' updates up to it."""
        with self._lock:
            t = self.t
        now = {k for k, it in self.tracks.items() if nation in (it.get("releasable_to") or ())}
        if track is not None:
            now &= {track}
        trails: dict[str, list] = {k: [] for k in now}
        rec = self.store.by_nation.get(self.nation)
        seen = set()
        if now and rec is not None:
            for j in range(points, -1, -1):
                idx = self.store.picture_index(self.nation, t - j * step_s)
                if idx < 0 or idx in seen:
                    continue
                seen.add(idx)
                for k, it in self.store.tracks(self.nation, idx).items():
                    if k in trails and nation in (it.get("releasable_to") or ()):
                        trails[k].append([it["t"], it["lat"], it["lon"], it["alt"]])
        alerts: dict[str, list] = {}
        if rec is not None:
            k = bisect.bisect_right(rec.alert_times, t)
            for a in rec.alerts[:k]:
                if nation in (a.get("releasable_to") or ()):
                    imp = a.get("impact") or {}
                    alerts.setdefault(a["alert_id"], []).append([a.get("t"), a.get("time_to_impact_s"),
                                                                 imp.get("semi_major_m")])
        return {"t": round(t, 2), "tracks": {k: trails[k] for k in sorted(trails)}, "alerts": alerts}
