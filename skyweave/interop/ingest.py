"""Recordings and streams of ASTERIX, Beast, AVR and SBS-1 as skyweave detections (docs/formats.md).

:class:`Ingest` turns decoded records into detections of the sensors of a
:class:`~skyweave.core.model.SensorSet`, each with the covariance its source honestly supports:

- **CAT048** (monoradar plots): a ``radar`` detection (slant ``range_m``, ``bearing_deg``) of the
  radar named by its SAC/SIC (a sensor with ``"sac"`` and ``"sic"`` fields, or the only radar of
  the sensors file, or one placed by ``--radar-lat/--radar-lon/--radar-alt``); the radar's
  ``sigma_range_m``/``sigma_bearing_deg`` give the covariance. Mode C (``flight_level``), the
  Mode S address (``icao24``), Mode 3/A, callsign and track number ride along as extra fields.
  CAT048 carries the time of day only: the date comes from ``date``.
- **CAT034**: north and sector markers count the scans and give the antenna period (``period_s``).
- **CAT021**, **Beast**, **AVR**, **SBS-1**: an ``adsb`` detection (``icao24``, ``lat``, ``lon``,
  ``alt``) with ``sigma_m``/``sigma_alt_m`` from the report's accuracy category
  (:mod:`skyweave.interop.adsb`). SBS-1 carries no category: ``sbs_sigma_m`` (default 100 m, the
  95 % bound of a NACp 7 receiver rounded up) stands in and the line says ``"quality": "none"``.

Times: time of day (CAT048/034/021) on ``date``, rolling over at midnight; UNIX times (SBS, pcap,
stamped AVR) as they are; 12 MHz receiver counters (Beast, ``@`` AVR) as seconds since the first
frame plus ``start_s``. Each detection line carries ``t`` in seconds since the sensors' epoch.
Detections leave in non-decreasing time per sensor (held ``reorder_s`` of data time to sort the
small disorder of real streams); datagrams repeated by doubled LANs are dropped once.
"""

from __future__ import annotations

from collections import Counter
import hashlib
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from operator import attrgetter
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone

from skyweave.core.model import Origin, SensorSet, SensorSpec
from skyweave.interop.adsb import FT, WAITING, SIGMA_ALT_BARO_M, SIGMA_ALT_GNSS_M, AdsbDecoder, AdsbFix
from skyweave.interop.asterix import Cat021, Cat034, Cat048, decode_block, iter_blocks
from skyweave.interop.cat048_table import cat048_table, walk_block
from skyweave.interop.feeds import AvrReader, BeastReader, SbsReader
from skyweave.interop.modes import FRAME_BYTES, SIGMA_PER_R95, crc24_heads, decode_frame, nacp_epu_m, nucp_r95_m
from skyweave.interop.pcap import is_pcap, iter_udp
from skyweave.interop.records import Tally

__all__ = ["FORMATS", "IngestConfig", "Ingest", "Det", "format_det", "UNKNOWN_NATION"]

FORMATS = ("asterix", "beast", "avr", "sbs")

#: the nation of sensors made up by ``ingest`` when none is given (ICAO Doc 9303: unspecified)
UNKNOWN_NATION = "XXX"


@dataclass(slots=True)
class Det:
    """One detection: time ``t`` (s since the epoch), ``sensor`` id, ``kind`` (radar, adsb), the
    measured ``values`` in file units (radar: range_m, bearing_deg; adsb: icao24 as an integer,
    lat, lon, alt, sigma_m), ``extra`` its further fields as a JSON fragment (``', "k": v'...``),
    and ``where`` it came from (a string, or (name, byte offset) formatted when needed)."""

    t: float
    sensor: str
    kind: str
    values: tuple
    extra: str
    where: object = ""


def _js(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return "%.6g" % v if abs(v) < 1e15 else "%.1f" % v
    return str(v)


def format_det(d: Det) -> str:
    """The detections.jsonl line of ``d`` (newline included)."""
    v = d.values
    t = ("%.6f" % d.t).rstrip("0")
    if t[-1] == ".":
        t += "0"
    sensor = _SENSOR_JSON.get(d.sensor)
    if sensor is None:
        sensor = _SENSOR_JSON[d.sensor] = _js(d.sensor)
    if d.kind == "radar":
        head = '{"t": %s, "sensor": %s, "range_m": %.3f, "bearing_deg": %.6f' % (t, sensor, v[0], v[1])
    else:
        head = '{"t": %s, "sensor": %s, "icao24": "%06x", "lat": %.8f, "lon": %.8f, "alt": %.2f, "sigma_m": %.1f' % (
            t, sensor, v[0], v[1], v[2], v[3], v[4])
    return head + d.extra + "}\n"


_SENSOR_JSON: dict[str, str] = {}


def fragment(fields: dict) -> str:
    """Extra fields as a JSON fragment to append to a line (``', "k": v'`` per field)."""
    return "".join(', "%s": %s' % (k, _js(x)) for k, x in fields.items())


def where_text(where) -> str:
    """A detection's place as text (``name: byte N`` for a (name, offset) pair)."""
    return "%s: byte %d" % where if isinstance(where, tuple) else str(where)


@dataclass
class IngestConfig:
    """What ``ingest`` needs besides the records: the sensors (or how to make them), the date, the
    noise of a radar placed by position, the receiver reference for ADS-B local decoding."""

    sensors: SensorSet | None = None
    radar: tuple[float, float, float] | None = None     # lat, lon (deg), alt (m)
    day: date | None = None
    start_s: float = 0.0
    nation: str = UNKNOWN_NATION
    sensor_id: str | None = None
    sigma_range_m: float = 70.0
    sigma_bearing_deg: float = 0.08
    reference: tuple[float, float] | None = None
    sbs_sigma_m: float = 100.0
    name: str = "<input>"
    keep_test_targets: bool = False
    reorder_s: float = 2.0


class Ingest:
    """Records in, :class:`Det` out, for one stream. ``tally`` counts; ``sensors()`` gives the
    sensor set the detections refer to (the one given, or the one made up as the data came)."""

    def __init__(self, cfg: IngestConfig, tally: Tally | None = None):
        self.cfg = cfg
        self.tally = tally if tally is not None else Tally()
        self.adsb = AdsbDecoder(cfg.reference)
        given = cfg.sensors
        self.epoch: datetime | None = given.epoch if given is not None else (
            datetime(cfg.day.year, cfg.day.month, cfg.day.day, tzinfo=timezone.utc) if cfg.day else None)
        self._made: dict[str, SensorSpec] = {}
        self._radar_by_src: dict[tuple[int, int], SensorSpec | None] = {}
        self._last_t: dict[str, float] = {}
        self._tod_day: dict[tuple[int, int], list] = {}  # src -> [last tod, days, epoch to midnight]
        self.markers = Counter()
        self._north: dict[tuple[int, int], list[float]] = {}
        self._sigmas: list[float] = []
        self._alt_sigmas: list[float] = []
        self.origin: Origin | None = given.origin if given is not None else (
            Origin(*cfg.radar) if cfg.radar else (Origin(cfg.reference[0], cfg.reference[1], 0.0) if cfg.reference else None))
        self.relative_clock = False
        self._recent: deque = deque()
        self._recent_set: set = set()

    # ------------------------------------------------------------------ time

    def _epoch_for_unix(self, ts: float) -> datetime:
        if self.epoch is None:  # the UTC midnight before the first record
            d = datetime.fromtimestamp(ts, timezone.utc).date()
            self.epoch = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        return self.epoch

    def t_unix(self, ts: float) -> float:
        """Seconds since the epoch of a UNIX time."""
        return ts - self._epoch_for_unix(ts).timestamp()

    def t_relative(self, ts: float) -> float:
        """Seconds since the epoch of a receiver-counter time (s since the stream's first frame)."""
        self.relative_clock = True
        if self.epoch is None:
            self.epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        return self.cfg.start_s + ts

    def t_tod(self, src: tuple[int, int], tod: float) -> float | None:
        """Seconds since the epoch of a time of day (s) of source ``src``, rolling over at midnight:
        a time of day 12 h or more before the source's last one starts the next day; one 12 h or
        more after it is a late record of the day before."""
        st = self._tod_day.get(src)
        if st is None:
            day = self.cfg.day
            if day is None:
                return None
            midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            if self.epoch is None:
                self.epoch = midnight
            st = self._tod_day[src] = [tod, 0, (midnight - self.epoch).total_seconds()]
        if tod < st[0] - 43200.0:
            st[1] += 1
        elif tod > st[0] + 43200.0:
            return st[2] + (st[1] - 1) * 86400.0 + tod
        st[0] = tod
        return st[2] + st[1] * 86400.0 + tod

    def ordered(self, dets: Iterable[Det]) -> Iterator[Det]:
        """``dets`` in non-decreasing time per sensor: each is held until the data's clock has
        passed it by ``reorder_s`` (radar plots of one antenna turn and receivers' frames arrive a
        little out of order); one still older than its sensor's last released detection is
        reported as "time goes backwards". Counts ``tally.detections``.

        The held detections are sorted (a stable sort of a nearly sorted list) and released
        every ``reorder_s`` of data time, so a detection is held at most about twice that."""
        window = self.cfg.reorder_s
        last = self._last_t
        tally = self.tally
        key = attrgetter("t")
        buf: list[Det] = []
        newest = -math.inf
        flushed_at = -math.inf

        def release(run: list[Det]) -> Iterator[Det]:
            for d in run:
                prev = last.get(d.sensor)
                if prev is not None and d.t < prev:
                    tally.skip(where_text(d.where), "time goes backwards", f"{d.sensor}: t {d.t:.3f} s after {prev:.3f} s")
                    continue
                last[d.sensor] = d.t
                tally.detections += 1
                yield d

        for d in dets:
            t = d.t
            if t > newest:
                newest = t
            buf.append(d)
            if newest - flushed_at >= window:
                flushed_at = newest
                buf.sort(key=key)
                k = bisect_right(buf, newest - window, key=key)
                if k:
                    yield from release(buf[:k])
                    del buf[:k]
        buf.sort(key=key)
        yield from release(buf)

    # ------------------------------------------------------------------ sensors

    def _sensor(self, kind: str, src: tuple[int, int] | None, where: str) -> SensorSpec | None:
        """The sensor of a radar (``src`` = SAC/SIC) or of the ADS-B receiver (``src`` None)."""
        if kind == "radar":
            if src in self._radar_by_src:
                return self._radar_by_src[src]
            spec = self._find_radar(src)
            self._radar_by_src[src] = spec
            if spec is None:
                self.tally.skip(where, "unknown radar", f"SAC {src[0]} SIC {src[1]}: give --sensors with its "
                                "\"sac\"/\"sic\", or --radar-lat/--radar-lon")
            return spec
        key = "adsb" if src is None else f"adsb:{src[0]}/{src[1]}"
        spec = self._made.get(key)
        if spec is not None:
            return spec
        given = self.cfg.sensors
        if given is not None:
            cands = [s for s in given.sensors if s.kind == "adsb"]
            if src is not None:
                cands = [s for s in cands if (s.extra.get("sac"), s.extra.get("sic")) == src] or cands
            if not cands:
                raise ValueError(f"{self.cfg.name}: the sensors file has no adsb sensor for these ADS-B reports")
            spec = cands[0]
        else:
            sid = self.cfg.sensor_id or ("ADSB" if src is None else f"ADSB-{src[0]}-{src[1]}")
            spec = SensorSpec(id=sid, nation=self.cfg.nation, kind="adsb", x=0.0, y=0.0, z=0.0,
                              releasable_to=(self.cfg.nation,), extra={} if src is None else {"sac": src[0], "sic": src[1]})
        self._made[key] = spec
        return spec

    def _find_radar(self, src: tuple[int, int]) -> SensorSpec | None:
        given = self.cfg.sensors
        if given is not None:
            radars = [s for s in given.sensors if s.kind == "radar"]
            hit = [s for s in radars if (s.extra.get("sac"), s.extra.get("sic")) == src]
            if hit:
                return hit[0]
            if len(radars) == 1 and "sac" not in radars[0].extra:
                return radars[0]
            return None
        if self.cfg.radar is None:
            return None
        if any(s.kind == "radar" for s in self._made.values()):
            return None  # one position given: one radar
        lat, lon, alt = self.cfg.radar
        spec = SensorSpec(id=self.cfg.sensor_id or f"R{src[0]}-{src[1]}", nation=self.cfg.nation, kind="radar",
                          x=0.0, y=0.0, z=0.0, releasable_to=(self.cfg.nation,), lat=lat, lon=lon, alt=alt,
                          sigma_range_m=self.cfg.sigma_range_m, sigma_bearing_deg=self.cfg.sigma_bearing_deg,
                          extra={"sac": src[0], "sic": src[1]})
        self._made[f"radar:{src}"] = spec
        return spec

    def sensors(self) -> SensorSet:
        """The sensor set of the detections made so far (the given one if any)."""
        if self.cfg.sensors is not None:
            return self.cfg.sensors
        made = list(self._made.values())
        if not made:
            raise ValueError(f"{self.cfg.name}: no sensor was heard, so there is no sensors.json to write")
        origin = self.origin or Origin(0.0, 0.0, 0.0)
        frame = origin.frame()
        out = []
        for s in made:
            if s.kind == "adsb":
                lat, lon, alt = (self.cfg.reference + (0.0,)) if self.cfg.reference else (origin.lat, origin.lon, origin.alt)
                sig = sorted(self._sigmas)
                extra = dict(s.extra)
                salt = sorted(self._alt_sigmas)
                extra["sigma_alt_m"] = round(salt[int(0.9 * (len(salt) - 1))], 1) if salt else SIGMA_ALT_GNSS_M
                s = replace(s, lat=lat, lon=lon, alt=alt, extra=extra,
                            sigma_m=round(sig[int(0.9 * (len(sig) - 1))], 1) if sig else 50.0)
            else:
                lat, lon, alt = s.lat, s.lon, s.alt
                period = self._period(s)
                if period is not None:
                    s = replace(s, period_s=round(period, 3))
            x, y, z = (float(v) for v in frame.from_geodetic(lat, lon, alt))
            out.append(replace(s, x=x, y=y, z=z, lat=lat, lon=lon, alt=alt))
        return SensorSet(epoch=self.epoch or datetime(1970, 1, 1, tzinfo=timezone.utc), origin=origin,
                         sensors=tuple(out), dims=3)

    def _period(self, spec: SensorSpec) -> float | None:
        src = (spec.extra.get("sac"), spec.extra.get("sic"))
        tods = self._north.get(src)
        if not tods or len(tods) < 2:
            return None
        gaps = sorted((b - a) % 86400.0 for a, b in zip(tods, tods[1:]))
        return gaps[len(gaps) // 2]

    # ------------------------------------------------------------------ records to detections

    def cat048(self, rec: Cat048, where) -> Det | None:
        """A radar detection from a CAT048 plot (None: reported or counted why not)."""
        return self.radar_det(rec.sac, rec.sic, rec.tod, rec.rho_m, rec.theta_deg, rec.fl, rec.icao,
                              -1 if rec.mode3a is None else int(rec.mode3a, 8), rec.callsign, rec.track,
                              rec.height_ft, rec.test, where)

    def radar_det(self, sac: int, sic: int, tod, rho_m, theta_deg, fl, icao, mode3a: int, callsign, track,
                  height_ft, test: bool, where) -> Det | None:
        """A radar detection from the fields of one CAT048 plot (None, NaN or -1: absent)."""
        tally = self.tally
        if test and not self.cfg.keep_test_targets:
            tally.ignored["test or simulated target"] += 1
            return None
        if rho_m is None or rho_m != rho_m:
            tally.ignored["CAT048 without polar position"] += 1
            return None
        if tod is None or tod != tod:
            tally.skip(where_text(where), "no time of day", "CAT048 record without I140")
            return None
        src = (sac, sic)
        t = self.t_tod(src, tod)
        if t is None:
            raise ValueError("CAT048 carries the time of day only: give the date (--date YYYY-MM-DD)")
        spec = self._radar_by_src.get(src, False)
        if spec is False:  # first plot of this radar: look it up (an unknown one is reported once)
            spec = self._sensor("radar", src, where_text(where))
        elif spec is None:
            tally.skipped["unknown radar"] += 1
        if spec is None:
            return None
        extra = ""
        if fl is not None and fl == fl:
            extra = ', "flight_level": %g' % fl
        if icao is not None and icao >= 0:
            extra += ', "icao24": "%06x"' % icao
        if mode3a >= 0:
            extra += ', "mode3a": "%04o"' % mode3a
        if callsign:
            extra += ', "callsign": "%s"' % callsign  # A-Z, 0-9 and blanks only: nothing to escape
        if track is not None and track >= 0:
            extra += ', "track_number": %d' % track
        if height_ft is not None and height_ft == height_ft:
            extra += ', "height_ft": %g' % height_ft
        return Det(t, spec.id, "radar", (rho_m, theta_deg % 360.0), extra, where)

    def cat034(self, rec: Cat034) -> None:
        """Count a marker; keep north-marker times to measure the antenna period."""
        kind = {1: "north marker", 2: "sector crossing"}.get(rec.kind, f"CAT034 type {rec.kind}")
        self.markers[kind] += 1
        self.tally.ignored[kind] += 1
        if rec.kind == 1 and rec.tod is not None:
            self._north.setdefault((rec.sac, rec.sic), []).append(rec.tod)

    def cat021(self, rec: Cat021, where: str) -> Det | None:
        """An ADS-B detection from a CAT021 report."""
        tally = self.tally
        if rec.test and not self.cfg.keep_test_targets:
            tally.ignored["test or simulated target"] += 1
            return None
        if rec.lat is None or rec.icao is None:
            tally.ignored["CAT021 without position or address"] += 1
            return None
        if rec.tod is None:
            tally.skip(where, "no time of day", "CAT021 record without a time of applicability")
            return None
        t = self.t_tod((rec.sac, rec.sic), rec.tod)
        if t is None:
            raise ValueError("CAT021 carries the time of day only: give the date (--date YYYY-MM-DD)")
        if rec.version and rec.nacp is not None:
            r95, quality = nacp_epu_m(rec.nacp), f"NACp {rec.nacp}"
        elif rec.nucp is not None and not rec.version:
            r95, quality = nucp_r95_m(rec.nucp), f"NUCp {rec.nucp}"
        else:
            r95, quality = None, ""
        if r95 is None:
            tally.skip(where, "no accuracy category", "CAT021 report without NACp/NUCp")
            return None
        if rec.geo_height_ft is not None:
            alt, salt, asrc = rec.geo_height_ft * FT, SIGMA_ALT_GNSS_M, "gnss"
        elif rec.fl is not None:
            alt, salt, asrc = rec.fl * 100.0 * FT, SIGMA_ALT_BARO_M, "baro"
        else:
            tally.skip(where, "no altitude", "CAT021 report without geometric height or flight level")
            return None
        spec = self._sensor("adsb", (rec.sac, rec.sic), where)
        sigma = r95 * SIGMA_PER_R95
        self._sigmas.append(sigma)
        self._alt_sigmas.append(salt)
        extra = {"sigma_alt_m": salt, "alt_source": asrc, "quality": quality}
        if rec.callsign:
            extra["callsign"] = rec.callsign
        self._see(rec.lat, rec.lon)
        return Det(t, spec.id, "adsb", (rec.icao, rec.lat, rec.lon, alt, sigma), fragment(extra), where)

    def _see(self, lat: float, lon: float) -> None:
        if self.origin is None:  # the first position, to 0.1 degree, is the scenario origin
            self.origin = Origin(round(lat, 1), round(lon, 1), 0.0)

    def fix(self, fix: AdsbFix, t: float, where: str) -> Det | None:
        """An ADS-B detection from a placed Mode S position."""
        if fix.alt is None:
            self.tally.skip(where, "no altitude", "airborne position without altitude")
            return None
        spec = self._sensor("adsb", None, where)
        self._sigmas.append(fix.sigma_m)
        self._alt_sigmas.append(fix.sigma_alt_m)
        extra = ', "sigma_alt_m": %.1f, "alt_source": "%s", "quality": "%s", "cpr": "%s"' % (
            fix.sigma_alt_m, fix.alt_source, fix.quality, fix.decode)
        if fix.callsign:
            extra += ', "callsign": "%s"' % fix.callsign  # A-Z, 0-9 and blanks only: nothing to escape
        if fix.velocity is not None:
            gs, trk, vr = fix.velocity
            extra += ', "gs_kt": %.1f, "track_deg": %.2f' % (gs, trk)
            if vr is not None:
                extra += ', "vrate_fpm": %d' % vr
        self._see(fix.lat, fix.lon)
        return Det(t, spec.id, "adsb", (fix.icao, fix.lat, fix.lon, fix.alt, fix.sigma_m), extra, where)

    # ------------------------------------------------------------------ streams

    def asterix_bytes(self, data: bytes, base: int = 0, name: str | None = None) -> Iterator[Det]:
        """The detections of raw ASTERIX bytes (blocks back to back); ``base`` is the offset of
        ``data`` in its file or stream, for the reports."""
        return self.asterix_segments(data, [(0, len(data), name or self.cfg.name, base)])

    def asterix_segments(self, buf: bytes, segments: list[tuple[int, int, str, int]]) -> Iterator[Det]:
        """The detections of the ASTERIX blocks in ``segments`` of ``buf``: (start, end, name,
        offset of ``start`` in the named file), one per datagram of a capture. CAT048 plots are
        decoded a few thousand at a time into columns (:mod:`~skyweave.interop.cat048_table`),
        CAT021 and CAT034 record by record."""
        tally = self.tally
        offs: list[int] = []
        starts: list[int] = []
        marks: list[tuple[int, str, int]] = []  # (first row, name, file offset - buffer offset)
        for s0, s1, name, fbase in segments:
            view = memoryview(buf)[s0:s1]
            delta = fbase - s0
            for cat, a, b in iter_blocks(view, tally, name, fbase):
                a += s0
                b += s0
                if cat == 48:
                    o, st, err, epos = walk_block(buf, a + 3, b)
                    if st:
                        if not marks or marks[-1][1:] != (name, delta):
                            marks.append((len(starts), name, delta))
                        offs += o
                        starts += st
                        tally.read += len(st)
                        tally.decoded += len(st)
                    if err is not None:
                        tally.read += 1
                        tally.skip(f"{name}: byte {delta + epos}", err.reason,
                                   f"CAT048: {err}; {b - epos} bytes of the block skipped")
                    if len(starts) >= 4096:
                        yield from self._cat048_rows(buf, offs, starts, marks)
                        offs, starts, marks = [], [], []
                    continue
                where = f"{name}: block at byte {delta + a}"
                for rec in decode_block(buf, cat, a, b, tally, name, delta):
                    if cat == 21:
                        d = self.cat021(rec, where)
                    else:
                        self.cat034(rec)
                        d = None
                    if d is not None:
                        yield d
        if starts:
            yield from self._cat048_rows(buf, offs, starts, marks)

    def _cat048_rows(self, buf: bytes, offs: list[int], starts: list[int], marks: list) -> Iterator[Det]:
        """Detections of the CAT048 records walked so far, decoded as columns."""
        tb = cat048_table(buf, offs, starts)
        radar_det = self.radar_det
        bounds = [m[0] for m in marks[1:]] + [len(starts)]
        rows = zip(tb.sac.tolist(), tb.sic.tolist(), tb.tod.tolist(), tb.rho_m.tolist(), tb.theta_deg.tolist(),
                   tb.fl.tolist(), tb.icao.tolist(), tb.mode3a.tolist(), tb.callsign, tb.track.tolist(),
                   tb.height_ft.tolist(), tb.test.tolist(), starts)
        k = 0
        for (_, name, delta), stop in zip(marks, bounds):
            while k < stop:
                row = next(rows)
                k += 1
                d = radar_det(*row[:12], (name, delta + row[12]))
                if d is not None:
                    yield d

    def duplicate(self, datagram: bytes) -> bool:
        """True (and counted) for a datagram identical to one of the last 64: surveillance LANs
        are doubled (A and B), and a capture of both holds every datagram twice."""
        key = hashlib.blake2b(datagram, digest_size=16).digest()
        if key in self._recent_set:
            self.tally.ignored["duplicate datagram"] += 1
            return True
        self._recent.append(key)
        self._recent_set.add(key)
        if len(self._recent) > 64:
            self._recent_set.discard(self._recent.popleft())
        return False

    def asterix_file(self, data: bytes) -> Iterator[Det]:
        """The detections of an ASTERIX recording: raw blocks, or a libpcap capture of UDP."""
        if is_pcap(data):
            parts, segments, n = [], [], 0
            for _ts, payload, off in iter_udp(data, self.tally, self.cfg.name):
                if self.duplicate(payload):
                    continue
                parts.append(payload)
                segments.append((n, n + len(payload), f"{self.cfg.name} (packet at byte {off})", 0))
                n += len(payload)
            yield from self.asterix_segments(b"".join(parts), segments)
        else:
            yield from self.asterix_bytes(data)

    def modes_frames(self, frames, absolute) -> Iterator[Det]:
        """The detections of ``(ts, msg, pos)`` Mode S frames (AVR or Beast readers);
        ``absolute()`` says whether their ``ts`` are UNIX times. Parities are computed a few
        thousand frames at a time (:func:`~skyweave.interop.modes.crc24_heads`)."""
        tally = self.tally
        feed = self.adsb.feed
        name = self.cfg.name
        lines = isinstance(frames, AvrReader)
        fmt_where = "%s:%d" if lines else "%s: byte %d"
        it = iter(frames)
        last_ts = None
        untimed = 0
        while True:
            batch = list(islice(it, 4096))
            if not batch:
                break
            crcs = crc24_heads([f[1] for f in batch])
            for (ts, msg, pos), crc in zip(batch, crcs):
                m = decode_frame(msg, crc)
                if m is None and len(msg) == 14 and FRAME_BYTES[msg[0] >> 3] == 7:
                    # a short reply (DF 0/4/5/11) in a 112-bit buffer, as some receivers and
                    # recorders (rs1090, jet1090) write it: its 56 bits are the first 7 bytes
                    m = decode_frame(msg[:7])
                    if m is not None:
                        tally.noted["short reply in a 14-byte frame"] += 1
                if m is None:
                    tally.skip(fmt_where % (name, pos), "bad Mode S message", f"DF {msg[0] >> 3} in {len(msg)} bytes")
                    continue
                if not m.crc_ok:
                    tally.skip(fmt_where % (name, pos), "bad parity", f"DF {m.df}")
                    continue
                tally.decoded += 1
                if m.tc is None:
                    tally.ignored[f"DF{m.df}"] += 1
                    continue
                if ts is None:
                    untimed += 1
                    ts = last_ts if last_ts is not None else 0.0
                last_ts = ts
                out = feed(ts, m)
                if out is None:
                    if m.surface:
                        tally.ignored["surface position"] += 1
                    elif m.cpr_lat is None:
                        tally.ignored[f"ADS-B TC {m.tc}"] += 1
                    continue
                if out.__class__ is str:
                    if out == WAITING:  # a good message, placed once its pair arrives
                        tally.ignored[out] += 1
                    else:
                        tally.skip(fmt_where % (name, pos), out, "%06x" % m.icao)
                    continue
                t = self.t_unix(ts) if absolute() else self.t_relative(ts)
                d = self.fix(out, t, f"{name}:{pos}" if lines else (name, pos))
                if d is not None:
                    yield d
        if untimed:
            tally.ignored["frames without a time (given the last known time)"] += untimed

    def sbs_lines(self, lines) -> Iterator[Det]:
        """The detections of SBS-1 lines (MSG,3 airborne positions)."""
        tally = self.tally
        name = self.cfg.name
        sigma = self.cfg.sbs_sigma_m * SIGMA_PER_R95
        for ts, rec, lineno in SbsReader(lines, tally, name):
            tally.decoded += 1
            if rec.lat is None:
                tally.ignored[f"SBS MSG,{rec.msg_type}"] += 1
                continue
            where = f"{name}:{lineno}"
            if rec.alt_ft is None:
                tally.skip(where, "no altitude", "MSG,3 without altitude")
                continue
            spec = self._sensor("adsb", None, where)
            t = self.t_unix(ts)
            self._sigmas.append(sigma)
            self._alt_sigmas.append(SIGMA_ALT_BARO_M)
            self._see(rec.lat, rec.lon)
            extra = {"sigma_alt_m": SIGMA_ALT_BARO_M, "alt_source": "baro", "quality": "none"}
            if rec.callsign:
                extra["callsign"] = rec.callsign
            yield Det(t, spec.id, "adsb", (rec.icao, rec.lat, rec.lon, rec.alt_ft * FT, sigma), fragment(extra), where)

    def run(self, fmt: str, data: bytes) -> Iterator[Det]:
        """The detections of a whole recording of format ``fmt`` (one of :data:`FORMATS`), in
        non-decreasing time per sensor (:meth:`ordered`)."""
        if fmt == "asterix":
            return self.ordered(self.asterix_file(data))
        if fmt == "beast":
            reader = BeastReader(data, self.tally, self.cfg.name)
            return self.ordered(self.modes_frames(reader, lambda: False))
        if fmt == "avr":
            reader = AvrReader(data.splitlines(), self.tally, self.cfg.name)
            return self.ordered(self.modes_frames(reader, lambda: bool(reader.absolute)))
        if fmt == "sbs":
            return self.ordered(self.sbs_lines(data.splitlines()))
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
