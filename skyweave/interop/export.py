"""skyweave's picture out to other systems: ASTERIX CAT062, Cursor-on-Target, GeoJSON and KML.

Input is a tracks.jsonl (docs/formats.md; states in the scenario's ENU frame) with the sensors
file that holds its epoch and origin, and optionally an alerts.jsonl. Every writer takes
:class:`TrackUpdate` batches (one per update time) and alert dicts, so the same writers serve
``skyweave export`` on files and the live sinks (:mod:`skyweave.interop.sinks`).

- :class:`Cat062Out`: CAT062 track records and CAT065 end-of-batch (:mod:`~skyweave.interop.cat062`);
- :class:`CotOut`: one CoT 2.0 ``<event>`` per track per update (type ``a-u-A``: an air track of
  unknown affiliation; ``ce``/``le`` the 1-σ horizontal (the covariance's larger axis) and vertical
  errors in metres, 9999999 when unknown, as CoT marks it), and one per alert update (type
  ``u-d-c-e``, an ellipse drawing at the predicted impact point: the 95 % impact ellipse's
  semi-axes and orientation, the threat and time to impact in ``remarks``; ``ce`` the 1-σ along
  the major axis, semi-major / 2.4477);
- :class:`TakOut`: the same events as TAK Protocol version 1 protobuf (``TakMessage``, built with
  the ``takproto`` package, MIT, an optional extra ``skyweave[tak]``): the *stream* form (0xBF, a
  varint length, the message) to a file or a TCP connection, or the *mesh* form (0xBF 0x01 0xBF,
  the message) one per UDP datagram, e.g. to the situational-awareness multicast group
  239.2.3.1:6969 that ATAK and WinTAK listen on;
- :class:`GeoJsonOut` and :class:`KmlOut`: each track as a line of its positions and a point at
  its last one; each alert as its launch point and its last impact ellipse as a polygon.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from skyweave.core.errors import FormatError
from skyweave.core.model import SensorSet
from skyweave.interop.cat062 import Cat062Writer
from skyweave.interop.modes import SIGMA_PER_R95
from skyweave.io.formats import JSON_ERRORS, iter_state_lines, loads_json

__all__ = ["EXPORT_FORMATS", "TrackUpdate", "read_track_updates", "read_alerts", "Cat062Out", "CotOut", "GeoJsonOut",
           "KmlOut", "TakOut", "MissingExtra", "make_writer", "cot_event", "alert_event", "ellipse_ring", "CotSender", "UdpSender",
           "merge_stream", "tak_messages"]

EXPORT_FORMATS = ("cat062", "cot", "tak", "geojson", "kml")
CE_UNKNOWN = 9999999.0


@dataclass
class TrackUpdate:
    """The confirmed tracks of one instant: ``t`` (s since the epoch), ``ids``, ENU states ``x``
    (K, 6: x, y, z, vx, vy, vz; z and vz 0 in 2-D), covariances ``P`` (K, 6, 6, NaN where
    unknown), geodetic ``lat``, ``lon``, ``alt`` (K,) and per-track ``icao24`` (int or None)."""

    t: float
    ids: list
    x: np.ndarray
    P: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    icao24: list
    three_d: bool

    def sigmas(self, k: int) -> tuple[float | None, float | None, float | None]:
        """1-σ errors of track ``k``: x, y (m) and the larger horizontal axis ... as (sx, sy, sz)."""
        P = self.P[k]
        if not np.isfinite(P[0, 0]):
            return None, None, None
        sz = math.sqrt(max(P[2, 2], 0.0)) if self.three_d else None
        return math.sqrt(max(P[0, 0], 0.0)), math.sqrt(max(P[1, 1], 0.0)), sz

    def ce(self, k: int) -> float:
        """1-σ horizontal error (m) along the covariance's larger axis (CE_UNKNOWN without one)."""
        P = self.P[k]
        if not np.isfinite(P[0, 0]):
            return CE_UNKNOWN
        a, b, c = P[0, 0], P[1, 1], P[0, 1]
        lam = 0.5 * (a + b) + math.sqrt(max(0.25 * (a - b) ** 2 + c * c, 0.0))
        return math.sqrt(max(lam, 0.0))


def read_track_updates(path: str | Path, sensors: SensorSet, errors: list) -> Iterator[TrackUpdate]:
    """The tracks.jsonl at ``path`` as one :class:`TrackUpdate` per distinct time (bad lines go
    to ``errors`` with their line numbers and are skipped)."""
    if sensors.origin is None:
        raise FormatError(None, None, "origin", "a sensors file with an origin {lat, lon, alt} to place the tracks", None)
    frame = sensors.origin.frame()
    batch: list[dict] = []

    def flush():
        recs = batch
        k = len(recs)
        three = all("z" in r for r in recs)
        x = np.zeros((k, 6))
        P = np.full((k, 6, 6), np.nan)
        for i, r in enumerate(recs):
            x[i] = (r["x"], r["y"], r.get("z", 0.0), r["vx"], r["vy"], r.get("vz", 0.0))
            c = r.get("cov")
            if c is not None:
                if len(c) == 36:
                    P[i] = np.asarray(c, dtype=float).reshape(6, 6)
                elif len(c) == 16:  # 2-D: x, y, vx, vy
                    c4 = np.asarray(c, dtype=float).reshape(4, 4)
                    idx = [0, 1, 3, 4]
                    P[i][np.ix_(idx, idx)] = c4
        lat, lon, alt = frame.to_geodetic(x[:, :3])
        icao = []
        for r in recs:
            v = r.get("icao24")
            icao.append(int(v, 16) if isinstance(v, str) and len(v) == 6 and all(ch in "0123456789abcdef" for ch in v)
                        else None)
        return TrackUpdate(float(recs[0]["t"]), [r["track_id"] for r in recs], x, P, np.atleast_1d(lat),
                           np.atleast_1d(lon), np.atleast_1d(alt), icao, three)

    for rec in iter_state_lines(path, "track_id", errors):
        if batch and abs(float(rec["t"]) - float(batch[0]["t"])) > 1e-6:
            if float(rec["t"]) < float(batch[0]["t"]):
                errors.append(FormatError(path, None, "t", "non-decreasing time", rec["t"]))
                continue
            yield flush()
            batch = []
        batch.append(rec)
    if batch:
        yield flush()


def read_alerts(path: str | Path, errors: list) -> list[dict]:
    """The updates of an alerts.jsonl that carry an impact ellipse (bad lines go to ``errors``)."""
    out = []
    with open(path, "rb") as f:
        for lineno, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                rec = loads_json(text)
            except JSON_ERRORS as e:
                errors.append(FormatError(path, lineno, None, "one JSON object per line", str(e)[:60]))
                continue
            ok = isinstance(rec, dict) and isinstance(rec.get("alert_id"), str) and isinstance(rec.get("t"), (int, float))
            imp = rec.get("impact") if ok else None
            if not ok or not isinstance(imp, dict) or not all(
                    isinstance(imp.get(k), (int, float)) and math.isfinite(imp[k])
                    for k in ("lat", "lon", "semi_major_m", "semi_minor_m", "orientation_deg")):
                errors.append(FormatError(path, lineno, "impact", "an alert with t, alert_id and an impact ellipse",
                                          None))
                continue
            if not (-90 <= imp["lat"] <= 90 and -180 <= imp["lon"] <= 180):
                errors.append(FormatError(path, lineno, "impact", "latitude and longitude in range", imp))
                continue
            out.append(rec)
    return out


def ellipse_ring(lat: float, lon: float, semi_major_m: float, semi_minor_m: float, orientation_deg: float,
                 n: int = 36) -> list[tuple[float, float]]:
    """The closed ring (lon, lat) of an ellipse on the ground: semi-axes (m), major axis
    ``orientation_deg`` clockwise from north, on the local tangent plane (good to well under a
    metre for ellipses of tens of kilometres)."""
    from skyweave.geo.wgs84 import LocalFrame

    fr = LocalFrame(lat, lon, 0.0)
    th = np.linspace(0.0, 2 * math.pi, n + 1)
    a, b = semi_major_m * np.cos(th), semi_minor_m * np.sin(th)
    o = math.radians(orientation_deg)
    # major axis along bearing o: east = a sin o + b cos o, north = a cos o - b sin o
    e = a * math.sin(o) + b * math.cos(o)
    nn = a * math.cos(o) - b * math.sin(o)
    la, lo, _ = fr.to_geodetic(np.stack([e, nn, np.zeros_like(e)], -1))
    ring = [(float(x), float(y)) for x, y in zip(lo, la)]
    ring[-1] = ring[0]
    return ring


# --------------------------------------------------------------------------- writers


class Cat062Out:
    """CAT062 + CAT065 bytes to a binary file (or any object with ``write(bytes)``)."""

    def __init__(self, out, sensors: SensorSet, *, sac: int = 0, sic: int = 1):
        self.out = out
        self.writer = Cat062Writer(sensors.epoch, sac=sac, sic=sic)
        self.records = 0

    def tracks(self, u: TrackUpdate) -> bytes:
        w = self.writer
        recs = []
        for k, tid in enumerate(u.ids):
            sx, sy, _ = u.sigmas(k)
            x = u.x[k]
            recs.append(w.record(u.t, tid, float(u.lat[k]), float(u.lon[k]), float(u.alt[k]) if u.three_d else None,
                                 float(x[0]), float(x[1]), float(x[3]), float(x[4]), sx, sy, u.icao24[k]))
        data = w.batch(u.t, recs)
        self.records += len(recs)
        self.out.write(data)
        return data

    def alert(self, rec: dict) -> None:
        """CAT062 carries no alerts: alerts are not written."""

    def close(self) -> None:
        pass


def _iso(epoch: datetime, t: float) -> str:
    return (epoch + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ms(epoch: datetime, t: float) -> int:
    """Unix milliseconds of scenario time ``t`` (s), cut to the millisecond as :func:`_iso` writes it."""
    when = epoch + timedelta(seconds=t)
    return (when - datetime(1970, 1, 1, tzinfo=when.tzinfo)) // timedelta(milliseconds=1)


def cot_event(uid: str, typ: str, when: str, stale: str, lat: float, lon: float, hae: float, ce: float, le: float,
              detail: str = "", how: str = "m-f") -> str:
    """One CoT 2.0 event as XML text (no declaration); ``how`` ``m-f``: machine, fused (a track),
    ``m-c``: machine, calculated (a predicted impact)."""
    return ('<event version="2.0" uid=%s type=%s how="%s" time="%s" start="%s" stale="%s">'
            '<point lat="%.7f" lon="%.7f" hae="%.1f" ce="%.1f" le="%.1f"/><detail>%s</detail></event>') % (
        quoteattr(uid), quoteattr(typ), how, when, when, stale, lat, lon, hae, ce, le, detail)


def alert_event(rec: dict, epoch: datetime, stale_s: float = 120.0) -> str:
    """The CoT event of one alert update: an ellipse drawing at the predicted impact point."""
    imp = rec["impact"]
    t = float(rec["t"])
    remarks = "%s missile, impact in %.0f s; confidence %s; places: %s%s" % (
        rec.get("threat", "unknown"), float(rec.get("time_to_impact_s", float("nan"))), rec.get("confidence", "?"),
        ", ".join(str(p) for p in rec.get("places", [])[:5]) or "none",
        "; " + str(rec["status"]) if rec.get("status") else "")
    detail = ('<shape><ellipse major="%.1f" minor="%.1f" angle="%.1f"/></shape><contact callsign=%s/>'
              '<remarks>%s</remarks>') % (float(imp["semi_major_m"]), float(imp["semi_minor_m"]),
                                          float(imp["orientation_deg"]), quoteattr("ALERT " + rec["alert_id"]),
                                          escape(remarks))
    return cot_event("skyweave.alert." + rec["alert_id"], "u-d-c-e", _iso(epoch, t), _iso(epoch, t + stale_s),
                     float(imp["lat"]), float(imp["lon"]), 0.0, float(imp["semi_major_m"]) * SIGMA_PER_R95, CE_UNKNOWN, detail,
                     how="m-c")


class CotOut:
    """CoT events, one per line, to a text stream (or sent over TCP by :class:`CotSender`)."""

    def __init__(self, out, sensors: SensorSet, *, stale_s: float = 30.0, send=None):
        self.out = out
        self.epoch = sensors.epoch
        self.stale_s = stale_s
        self.send = send
        self.events = 0

    def _emit(self, text: str, t: float, stale_s: float) -> None:
        if self.out is not None:
            self.out.write(text + "\n")
        if self.send is not None:
            self.send(text.encode())
        self.events += 1

    def tracks(self, u: TrackUpdate) -> None:
        when, stale = _iso(self.epoch, u.t), _iso(self.epoch, u.t + self.stale_s)
        for k, tid in enumerate(u.ids):
            x = u.x[k]
            _, _, sz = u.sigmas(k)
            course = math.degrees(math.atan2(x[3], x[4])) % 360.0
            speed = math.hypot(x[3], x[4])
            icao = u.icao24[k]
            detail = '<track course="%.1f" speed="%.1f"/><contact callsign=%s/>' % (course, speed, quoteattr(str(tid)))
            if icao is not None:
                detail += '<remarks>ICAO %06X</remarks>' % icao
            self._emit(cot_event("skyweave." + str(tid), "a-u-A", when, stale, float(u.lat[k]), float(u.lon[k]),
                                 float(u.alt[k]) if u.three_d else 0.0, u.ce(k), sz if sz is not None else CE_UNKNOWN,
                                 detail), u.t, self.stale_s)

    def alert(self, rec: dict) -> None:
        self._emit(alert_event(rec, self.epoch, ALERT_STALE_S), float(rec["t"]), ALERT_STALE_S)

    def close(self) -> None:
        pass


ALERT_STALE_S = 120.0


class MissingExtra(RuntimeError):
    """An optional package a format needs is not installed: the message says which extra brings it."""


def _takproto():
    try:
        import takproto
    except ImportError:
        raise MissingExtra("the tak format needs the takproto package: pip install 'skyweave[tak]'") from None
    return takproto


class TakOut(CotOut):
    """The CoT events of :class:`CotOut` as TAK Protocol version 1 ``TakMessage`` protobufs.

    Each event is the CoT XML :class:`CotOut` writes, converted by ``takproto`` (the typed fields
    -- point, contact, track -- in their protobuf fields, the rest of ``<detail>`` in
    ``xmlDetail``), with its times set exactly in Unix milliseconds. ``out`` (a binary stream)
    and ``send`` get the *stream* form; ``mesh`` (a callable taking bytes, e.g. a
    :class:`UdpSender`) gets the *mesh* form, one message per call.
    """

    def __init__(self, out, sensors: SensorSet, *, stale_s: float = 30.0, send=None, mesh=None):
        super().__init__(out, sensors, stale_s=stale_s, send=send)
        self._tp = _takproto()
        self.mesh = mesh

    def _emit(self, text: str, t: float, stale_s: float) -> None:
        tp = self._tp
        msg = tp.functions.xml2message(text)
        ev = msg.cotEvent
        ev.sendTime = ev.startTime = _ms(self.epoch, t)
        ev.staleTime = _ms(self.epoch, t + stale_s)
        if self.out is not None or self.send is not None:
            data = bytes(tp.functions.msg2proto(msg, tp.TAKProtoVer.STREAM))
            if self.out is not None:
                self.out.write(data)
            if self.send is not None:
                self.send(data)
        if self.mesh is not None:
            self.mesh(bytes(tp.functions.msg2proto(msg, tp.TAKProtoVer.MESH)))
        self.events += 1


def tak_messages(data: bytes, path: str | Path | None = None) -> Iterator:
    """The ``TakMessage`` objects of a TAK Protocol version 1 *stream* (0xBF, varint length,
    message, back to back), as :class:`TakOut` writes them. A byte that is not 0xBF where a
    message must start, or a message cut short, raises :class:`FormatError` naming the file
    (``path``) and the byte offset."""
    TakMessage = _takproto().proto.TakMessage
    i, n = 0, len(data)
    while i < n:
        if data[i] != 0xBF:
            raise FormatError(path, None, f"byte {i}", "0xBF where a TAK message starts", f"0x{data[i]:02X}")
        j, length, shift = i + 1, 0, 0
        while True:
            if j >= n or shift > 63:
                raise FormatError(path, None, f"byte {i}", "a TAK message's varint length", "it cut short")
            b = data[j]
            length |= (b & 0x7F) << shift
            j += 1
            shift += 7
            if not b & 0x80:
                break
        if j + length > n:
            raise FormatError(path, None, f"byte {i}", f"a TAK message of {length} bytes", f"{n - j} bytes, cut short")
        msg = TakMessage()
        try:
            msg.ParseFromString(data[j:j + length])
        except Exception as e:  # protobuf's DecodeError
            raise FormatError(path, None, f"byte {i}", "a TAK message (protobuf TakMessage)", str(e)) from None
        yield msg
        i = j + length


class _Collect:
    """Tracks' paths and alerts' last updates, kept for writers of whole documents."""

    def __init__(self, sensors: SensorSet):
        self.epoch = sensors.epoch
        self.paths: dict[str, list] = {}
        self.last: dict[str, dict] = {}
        self.alerts: dict[str, dict] = {}

    def tracks(self, u: TrackUpdate) -> None:
        for k, tid in enumerate(u.ids):
            self.paths.setdefault(tid, []).append((float(u.lon[k]), float(u.lat[k]), float(u.alt[k]), u.t))
            self.last[tid] = {"t": u.t, "ce_m": round(u.ce(k), 1), "icao24": None if u.icao24[k] is None else "%06x" % u.icao24[k],
                              "speed_mps": round(math.hypot(u.x[k][3], u.x[k][4]), 1),
                              "course_deg": round(math.degrees(math.atan2(u.x[k][3], u.x[k][4])) % 360.0, 1)}

    def alert(self, rec: dict) -> None:
        self.alerts[rec["alert_id"]] = rec


class GeoJsonOut(_Collect):
    """A GeoJSON FeatureCollection written on :meth:`close`."""

    def __init__(self, out, sensors: SensorSet):
        super().__init__(sensors)
        self.out = out

    def features(self) -> list[dict]:
        feats = []
        for tid, pts in self.paths.items():
            props = {"track_id": tid, "t_first": pts[0][3], "t_last": pts[-1][3],
                     "time_last": _iso(self.epoch, pts[-1][3]), **self.last[tid]}
            coords = [[round(p[0], 7), round(p[1], 7), round(p[2], 1)] for p in pts]
            if len(coords) > 1:
                feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                              "properties": {**props, "kind": "track path"}})
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords[-1]},
                          "properties": {**props, "kind": "track"}})
        for aid, rec in self.alerts.items():
            imp = rec["impact"]
            props = {"alert_id": aid, "t": rec["t"], "threat": rec.get("threat"), "status": rec.get("status", "open"),
                     "time_to_impact_s": rec.get("time_to_impact_s"), "places": rec.get("places", []),
                     "confidence": rec.get("confidence")}
            ring = ellipse_ring(imp["lat"], imp["lon"], imp["semi_major_m"], imp["semi_minor_m"], imp["orientation_deg"])
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
                          "properties": {**props, "kind": "impact ellipse (95 %)"}})
            la = rec.get("launch")
            if isinstance(la, dict) and isinstance(la.get("lat"), (int, float)) and isinstance(la.get("lon"), (int, float)):
                feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [la["lon"], la["lat"]]},
                              "properties": {**props, "kind": "launch point"}})
        return feats

    def close(self) -> None:
        json.dump({"type": "FeatureCollection", "features": self.features()}, self.out)
        self.out.write("\n")


class KmlOut(_Collect):
    """A KML 2.2 document written on :meth:`close`: folders of tracks and of alerts."""

    def __init__(self, out, sensors: SensorSet):
        super().__init__(sensors)
        self.out = out

    def close(self) -> None:
        w = self.out.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
          '<name>skyweave picture</name>\n<Folder><name>tracks</name>\n')
        for tid, pts in self.paths.items():
            name = escape(str(tid))
            coords = " ".join("%.7f,%.7f,%.1f" % p[:3] for p in pts)
            if len(pts) > 1:
                w(f"<Placemark><name>{name}</name><LineString><altitudeMode>absolute</altitudeMode>"
                  f"<coordinates>{coords}</coordinates></LineString></Placemark>\n")
            last = pts[-1]
            w(f"<Placemark><name>{name}</name><TimeStamp><when>{_iso(self.epoch, last[3])}</when></TimeStamp>"
              f"<Point><altitudeMode>absolute</altitudeMode><coordinates>%.7f,%.7f,%.1f</coordinates></Point>"
              f"</Placemark>\n" % last[:3])
        w("</Folder>\n<Folder><name>alerts</name>\n")
        for aid, rec in self.alerts.items():
            imp = rec["impact"]
            ring = ellipse_ring(imp["lat"], imp["lon"], imp["semi_major_m"], imp["semi_minor_m"], imp["orientation_deg"])
            coords = " ".join("%.7f,%.7f,0" % p for p in ring)
            desc = escape("%s missile, status %s, time to impact %s s" % (
                rec.get("threat", "unknown"), rec.get("status", "open"), rec.get("time_to_impact_s")))
            w(f"<Placemark><name>{escape(aid)} impact (95 %)</name><description>{desc}</description>"
              f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>"
              f"</outerBoundaryIs></Polygon></Placemark>\n")
        w("</Folder>\n</Document></kml>\n")


def make_writer(fmt: str, out, sensors: SensorSet, **kw):
    """The writer of export format ``fmt`` over an open stream (binary for cat062, text else)."""
    if fmt == "cat062":
        return Cat062Out(out, sensors, **kw)
    if fmt == "cot":
        return CotOut(out, sensors, **kw)
    if fmt == "tak":
        return TakOut(out, sensors, **kw)
    if fmt == "geojson":
        return GeoJsonOut(out, sensors)
    if fmt == "kml":
        return KmlOut(out, sensors)
    raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")


class CotSender:
    """Sends CoT events over TCP (a TAK server's or client's streaming input, e.g. port 8087):
    connects on the first event, and once more if the connection drops."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock = None
        self.sent = 0

    def __call__(self, data: bytes) -> None:
        import socket

        for attempt in (0, 1):
            try:
                if self._sock is None:
                    self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                self._sock.sendall(data)
                self.sent += 1
                return
            except OSError:
                self.close()
                if attempt:
                    raise

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


class UdpSender:
    """Sends each event as one UDP datagram to ``host:port`` (a unicast address, or a multicast
    group such as TAK's situational-awareness mesh 239.2.3.1:6969, with ``ttl`` hops)."""

    def __init__(self, host: str, port: int, ttl: int = 1):
        import socket

        self.addr = (host, port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        self.sent = 0

    def __call__(self, data: bytes) -> None:
        self._sock.sendto(data, self.addr)
        self.sent += 1

    def close(self) -> None:
        self._sock.close()


def merge_stream(updates: Iterator[TrackUpdate], alerts: list[dict]) -> Iterator[tuple[str, object]]:
    """Track updates and alert updates in time order as ``("tracks", u)`` / ``("alert", rec)``."""
    alerts = sorted(alerts, key=lambda r: float(r["t"]))
    i = 0
    for u in updates:
        while i < len(alerts) and float(alerts[i]["t"]) <= u.t:
            yield "alert", alerts[i]
            i += 1
        yield "tracks", u
    for rec in alerts[i:]:
        yield "alert", rec

