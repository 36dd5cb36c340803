"""The interop decoders and writers as pipeline sources and sinks (docs/DESIGN.md, "The node as a
pipeline").

Sources yield :class:`~skyweave.io.scans.RawScan` in arrival order, with ``errors`` (what was
skipped, each naming its byte offset or line) and ``count`` (input records read), like
:class:`~skyweave.node.sources.DetectionsFile`, so :func:`~skyweave.node.sources.drive` feeds them
to a node unchanged:

- :class:`DecodedScans`: any stream of :class:`~skyweave.interop.ingest.Det` (a recording through
  :meth:`Ingest.run`), one scan per run of detections of one sensor at one time;
- :class:`BeastTcpSource`: a live Beast stream (dump1090 port 30005);
- :class:`LineTcpSource`: a live AVR (port 30002) or SBS-1 (port 30003) line stream;
- :class:`AsterixUdpSource`: a live ASTERIX stream of UDP datagrams (CAT048/021/034).

Sinks take a node's events: :class:`TrackExportSink` writes each local picture (and each alert)
through any writer of :mod:`skyweave.interop.export` (CAT062, CoT to a file or a TAK server,
GeoJSON, KML). It is lossless (``may_drop = False``).
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Iterable, Iterator

import numpy as np

from skyweave.core.model import SensorSet
from skyweave.interop.export import TrackUpdate
from skyweave.interop.feeds import AvrReader, BeastReader
from skyweave.interop.ingest import Det, Ingest
from skyweave.io.scans import RawScan
from skyweave.node.events import AlertUpdated, Event, LocalPicture

__all__ = ["DecodedScans", "BeastTcpSource", "LineTcpSource", "AsterixUdpSource", "TrackExportSink", "scans_of"]


def _scan(group: list[Det]) -> RawScan:
    first = group[0]
    n = len(group)
    if first.kind == "radar":
        cols = {"range_m": np.fromiter((d.values[0] for d in group), float, n),
                "bearing_deg": np.fromiter((d.values[1] for d in group), float, n)}
        ident = None
    else:
        cols = {k: np.fromiter((d.values[i] for d in group), float, n)
                for i, k in ((1, "lat"), (2, "lon"), (3, "alt"), (4, "sigma_m"))}
        ident = np.fromiter((d.values[0] for d in group), np.int64, n)
    return RawScan(first.sensor, first.kind, first.t, cols, ident, None, np.zeros(n, dtype=np.int64))


def scans_of(dets: Iterable[Det]) -> Iterator[RawScan]:
    """Runs of detections with the same sensor and time, as scans."""
    group: list[Det] = []
    for d in dets:
        if group and (d.sensor != group[0].sensor or d.t != group[0].t):
            yield _scan(group)
            group = []
        group.append(d)
    if group:
        yield _scan(group)


class _Counted:
    """What the pipeline's ``drive`` reads of a source: its bad records (``errors``) and how many
    records it has read (``count``), both kept by its :class:`Ingest`'s tally. A live source also
    stops at ``until`` (a ``time.monotonic()`` deadline; None: when its stream ends), and
    :meth:`dets` gives its detections before they are grouped into scans (``skyweave ingest``
    writes them as they come)."""

    ingest: Ingest
    until: float | None = None

    def _wait(self, sock: socket.socket, timeout: float) -> bool:
        """Set ``sock``'s timeout for the next read; False once the deadline has passed."""
        if self.until is None:
            sock.settimeout(timeout)
            return True
        left = self.until - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(min(timeout, left))
        return True

    def _timed_out(self) -> bool:
        """A read timed out: True at the deadline (the source ends quietly), else the stream is
        silent for longer than its timeout (the caller raises)."""
        return self.until is not None and time.monotonic() >= self.until - 1e-3

    def _chunks(self, host: str, port: int, timeout: float) -> Iterator[bytes]:
        """The bytes of a TCP stream from ``host:port`` as they come, until it closes or the
        deadline passes (a stream silent for ``timeout`` s before then raises ``socket.timeout``)."""
        with socket.create_connection((host, port), timeout=timeout) as s:
            while self._wait(s, timeout):
                try:
                    chunk = s.recv(1 << 16)
                except socket.timeout:
                    if self._timed_out():
                        break
                    raise
                if not chunk:
                    break
                yield chunk

    def __iter__(self) -> Iterator[RawScan]:
        return scans_of(self.dets())  # each source defines dets()

    @property
    def errors(self) -> list:
        return self.ingest.tally.errors

    @property
    def count(self) -> int:
        return self.ingest.tally.read


class DecodedScans(_Counted):
    """The scans of a recording decoded by ``ingest`` (``ingest.run(fmt, data)``)."""

    def __init__(self, ingest: Ingest, fmt: str, data: bytes):
        self.ingest = ingest
        self.sensors: SensorSet | None = ingest.cfg.sensors
        self._dets = ingest.run(fmt, data)

    def dets(self) -> Iterator[Det]:
        return self._dets


class BeastTcpSource(_Counted):
    """Scans from a live Beast TCP stream at ``host:port`` until it closes (or ``max_frames``).

    Frames cut between two reads are joined; timing is the receiver's 12 MHz counter from the
    first frame plus ``ingest.cfg.start_s``.
    """

    def __init__(self, ingest: Ingest, host: str = "127.0.0.1", port: int = 30005, *, timeout: float = 30.0,
                 until: float | None = None):
        self.ingest = ingest
        self.host, self.port, self.timeout, self.until = host, port, timeout, until
        self.reader = BeastReader(tally=ingest.tally, name=f"beast://{host}:{port}")

    def _frames(self) -> Iterator[tuple]:
        for chunk in self._chunks(self.host, self.port, self.timeout):
            yield from self.reader.feed(chunk)
        yield from self.reader.feed(b"", final=True)

    def dets(self) -> Iterator[Det]:
        return self.ingest.ordered(self.ingest.modes_frames(self._frames(), lambda: False))


class LineTcpSource(_Counted):
    """Scans from a live line stream at ``host:port``: AVR (``fmt`` "avr", dump1090 port 30002)
    or SBS-1 (``fmt`` "sbs", port 30003), until the stream closes."""

    def __init__(self, ingest: Ingest, fmt: str, host: str = "127.0.0.1", port: int | None = None, *,
                 timeout: float = 30.0, until: float | None = None):
        if fmt not in ("avr", "sbs"):
            raise ValueError(f"a line stream is avr or sbs, not {fmt!r}")
        self.ingest, self.fmt, self.until = ingest, fmt, until
        self.host, self.port, self.timeout = host, port or (30002 if fmt == "avr" else 30003), timeout

    def _lines(self) -> Iterator[bytes]:
        rest = b""
        for chunk in self._chunks(self.host, self.port, self.timeout):
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                yield line + b"\n"
        if rest:
            yield rest

    def dets(self) -> Iterator[Det]:
        ing = self.ingest
        if self.fmt == "sbs":
            return ing.ordered(ing.sbs_lines(self._lines()))
        reader = AvrReader(self._lines(), ing.tally, f"avr://{self.host}:{self.port}")
        return ing.ordered(ing.modes_frames(reader, lambda: bool(reader.absolute)))


class AsterixUdpSource(_Counted):
    """Scans from ASTERIX datagrams received on ``host:port`` (bind) until ``max_datagrams`` or
    ``idle_s`` seconds without one."""

    def __init__(self, ingest: Ingest, host: str = "0.0.0.0", port: int = 8600, *, max_datagrams: int | None = None,
                 idle_s: float = 5.0, sock: socket.socket | None = None, until: float | None = None):
        self.ingest = ingest
        self.until = until
        self.max_datagrams = max_datagrams
        self.idle_s = idle_s
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, port))
        self.sock = sock
        self.address = sock.getsockname()

    def _dets(self) -> Iterator[Det]:
        n = 0
        offset = 0
        try:
            while (self.max_datagrams is None or n < self.max_datagrams) and self._wait(self.sock, self.idle_s):
                try:
                    data = self.sock.recv(1 << 16)
                except socket.timeout:
                    break
                n += 1
                if self.ingest.duplicate(data):
                    continue
                yield from self.ingest.asterix_bytes(data, offset, f"udp://{self.address[0]}:{self.address[1]}")
                offset += len(data)
        finally:
            self.sock.close()

    def dets(self) -> Iterator[Det]:
        return self.ingest.ordered(self._dets())


class TrackExportSink:
    """Writes each :class:`LocalPicture` (and :class:`AlertUpdated`) through an export writer
    (:func:`skyweave.interop.export.make_writer`); ``close`` finishes the writer's document."""

    may_drop = False

    def __init__(self, writer, sensors: SensorSet):
        if sensors.origin is None:
            raise ValueError("a sensor set with an origin is needed to place tracks on the earth")
        self.writer = writer
        self.frame = sensors.origin.frame()
        self.updates = 0

    def handle(self, event: Event) -> None:
        if getattr(event, "snapshot", False):
            return
        if isinstance(event, LocalPicture) and len(event.frame):
            fr = event.frame
            x = np.asarray(fr.x, dtype=float)
            k, n = x.shape
            full = np.zeros((k, 6))
            P = np.full((k, 6, 6), np.nan)
            idx = [0, 1, 2, 3, 4, 5] if n == 6 else [0, 1, 3, 4]
            full[:, idx] = x
            if getattr(fr, "P", None) is not None:
                P[np.ix_(range(k), idx, idx)] = np.asarray(fr.P, dtype=float)
            lat, lon, alt = self.frame.to_geodetic(full[:, :3])
            ident = getattr(fr, "identity", None)
            icao = [int(v) if v is not None and 0 <= v < (1 << 24) else None
                    for v in (ident.tolist() if ident is not None else [None] * k)]
            self.writer.tracks(TrackUpdate(float(fr.t), [str(i) for i in fr.ids], full, P, np.atleast_1d(lat),
                                           np.atleast_1d(lon), np.atleast_1d(alt), icao, n == 6))
            self.updates += 1
        elif isinstance(event, AlertUpdated):
            rec = event.alert
            imp = rec.get("impact") or {}
            if all(isinstance(imp.get(k), (int, float)) and math.isfinite(imp[k])
                   for k in ("lat", "lon", "semi_major_m", "semi_minor_m", "orientation_deg")):
                self.writer.alert(rec)

    def close(self) -> None:
        self.writer.close()
