"""The decoders as live pipeline sources (Beast over TCP, ASTERIX over UDP, on loopback) and the
writers as sinks of a running node. Mode S: a synthetic flight (tests/support/modes_encoder.py);
ASTERIX: the real capture that ships with asterix-decoder (skips without it)."""

from __future__ import annotations

import io
import socket
import threading
import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from skyweave.core.model import Origin, SensorSet, SensorSpec
from skyweave.interop.adsb import haversine_m
from skyweave.interop.export import CotOut, GeoJsonOut
from skyweave.interop.feeds import beast_frame
from skyweave.interop.ingest import Ingest, IngestConfig
from skyweave.interop.live import AsterixUdpSource, BeastTcpSource, DecodedScans, TrackExportSink
from skyweave.interop.pcap import iter_udp
from skyweave.interop.records import Tally
from skyweave.node.core import NodeCore
from skyweave.node.sources import drive
from tests.support.asterix_samples import needs_asterix, sample_bytes
from tests.support.modes_encoder import Flight, synthetic_recording

FLIGHT = Flight()
ROWS = synthetic_recording(FLIGHT)
T0 = ROWS[0][0]
EPOCH = datetime.fromtimestamp(FLIGHT.t0 - FLIGHT.t0 % 86400, timezone.utc)  # midnight of its day


def _adsb_sensors() -> SensorSet:
    origin = Origin(51.1, 7.2, 0.0)
    spec = SensorSpec(id="ADSB", nation="DEU", kind="adsb", x=0.0, y=0.0, z=0.0, releasable_to=("DEU",), sigma_m=80.0,
                      extra={"sigma_alt_m": 30.0})
    return SensorSet(epoch=EPOCH, origin=origin, sensors=(spec,), dims=3)


def _beast_bytes() -> bytes:
    return b"".join(beast_frame(bytes.fromhex(h), int((ts - T0) * 12e6)) for ts, h in ROWS)


def _serve_once(data: bytes, chunk: int) -> tuple[int, threading.Thread]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        with conn:
            for i in range(0, len(data), chunk):
                conn.sendall(data[i:i + chunk])
        srv.close()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return srv.getsockname()[1], th


def test_beast_over_tcp_feeds_a_node_whose_picture_goes_out_as_cot():
    sensors = _adsb_sensors()
    start = T0 - EPOCH.timestamp()
    cfg = IngestConfig(sensors=sensors, start_s=start, name="live")
    file_scans = list(DecodedScans(Ingest(cfg), "beast", _beast_bytes()))
    port, th = _serve_once(_beast_bytes(), 37)  # odd chunks: frames cut between reads
    src = BeastTcpSource(Ingest(IngestConfig(sensors=sensors, start_s=start, name="live")), "127.0.0.1", port)
    core = NodeCore(sensors)
    text = io.StringIO()
    sink = TrackExportSink(CotOut(text, sensors), sensors)
    core.hub.attach(sink)
    scans = []

    class Tee:
        errors = src.errors

        def __iter__(self):
            for s in src:
                scans.append(s)
                yield s

    drive({None: core}, Tee(), sensors)
    core.finish()
    sink.close()
    th.join(5)
    assert not src.errors and src.count == len(ROWS)
    assert [(s.t, s.cols["lat"].tolist()) for s in scans] == [(s.t, s.cols["lat"].tolist()) for s in file_scans]
    assert all(set(s.identity.tolist()) == {FLIGHT.icao} for s in scans)
    events = [ET.fromstring(x) for x in text.getvalue().splitlines()]
    assert sink.updates > 10 and len(events) >= sink.updates  # one event per track per update
    last = events[-1].find("point")
    lat, lon = float(last.get("lat")), float(last.get("lon"))
    assert haversine_m(lat, lon, scans[-1].cols["lat"][0], scans[-1].cols["lon"][0]) < 500.0
    assert events[-1].find("detail/remarks").text == "ICAO %06X" % FLIGHT.icao


@needs_asterix
def test_asterix_over_udp_gives_what_the_capture_file_gives():
    from tests.test_interop_cli import sensors_for_capture  # the radars of the shipped capture

    import tempfile

    with tempfile.TemporaryDirectory() as d:
        sp = sensors_for_capture(Path(d) / "s.json")
        from skyweave.io.formats import load_sensors

        sensors = load_sensors(sp)
    capture = sample_bytes("cat_034_048.pcap")
    payloads = [p for _, p, _ in iter_udp(capture, Tally())]
    day = date(2016, 5, 5)  # the capture's day
    want = list(Ingest(IngestConfig(sensors=sensors, day=day, name="f")).run("asterix", capture))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    src = AsterixUdpSource(Ingest(IngestConfig(sensors=sensors, day=day, name="udp")), sock=rx,
                           max_datagrams=len(payloads), idle_s=5.0)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for p in payloads:
        tx.sendto(p, rx.getsockname())
    tx.close()
    scans = list(src)
    got = [(s.sensor, s.t, r, b) for s in scans for r, b in zip(s.cols["range_m"].tolist(), s.cols["bearing_deg"].tolist())]
    assert got == [(d.sensor, d.t, d.values[0], d.values[1] % 360.0) for d in want]
    assert len(got) == 63 and src.count == 81


def test_export_sink_writes_geojson_of_a_local_picture():
    from skyweave.node.events import LocalPicture
    from skyweave.track.tracker import Frame

    sensors = _adsb_sensors()
    out = io.StringIO()
    sink = TrackExportSink(GeoJsonOut(out, sensors), sensors)
    for t in (1.0, 2.0):
        x = np.array([[100.0 * t, 0.0, 9000.0, 100.0, 0.0, 0.0]])
        fr = Frame(t, ["T-1"], x, np.eye(6)[None] * 25.0, np.ones(1), np.array([0x406B90]), np.zeros(1), np.zeros(1))
        sink.handle(LocalPicture(t, fr))
    sink.close()
    import json

    doc = json.loads(out.getvalue())
    line = next(f for f in doc["features"] if f["geometry"]["type"] == "LineString")
    (a, b) = line["geometry"]["coordinates"]
    assert haversine_m(a[1], a[0], b[1], b[0]) == __import__("pytest").approx(100.0, abs=1.0)
    assert line["properties"]["icao24"] == "406b90" and line["properties"]["ce_m"] == 5.0


def test_avr_and_sbs_line_streams_over_tcp():
    from skyweave.interop.feeds import avr_line
    from skyweave.interop.live import LineTcpSource

    sensors = _adsb_sensors()
    start = T0 - EPOCH.timestamp()
    avr = ("\n".join(avr_line(bytes.fromhex(h), int((ts - T0) * 12e6)) for ts, h in ROWS) + "\n").encode()
    want = list(DecodedScans(Ingest(IngestConfig(sensors=sensors, start_s=start)), "avr", avr))
    port, th = _serve_once(avr, 50)
    got = list(LineTcpSource(Ingest(IngestConfig(sensors=sensors, start_s=start)), "avr", "127.0.0.1", port))
    th.join(5)
    assert [(s.t, s.cols["lon"].tolist()) for s in got] == [(s.t, s.cols["lon"].tolist()) for s in want]
    day = EPOCH.strftime("%Y/%m/%d")  # the sensors' epoch day: SBS-1 lines carry their date
    sbs = "".join(f"MSG,3,1,1,406B90,1,{day},23:00:{i:02d}.000,{day},23:00:{i:02d}.000,,38000,,,"
                  f"{51.1 + i * 0.01:.5f},7.20000,,,0,0,0,0\r\n" for i in range(30)).encode() + b"MSG,3,1,1,ZZ\r\n"
    port, th = _serve_once(sbs, 33)
    src = LineTcpSource(Ingest(IngestConfig(sensors=sensors)), "sbs", "127.0.0.1", port)
    got = list(src)
    th.join(5)
    assert len(got) == 30 and got[0].t == 23 * 3600.0 and src.count == 31
    assert [e.reason for e in src.errors] == ["truncated SBS line"]


def _cli(*args):
    from click.testing import CliRunner

    from skyweave.cli.main import main

    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.output


def test_ingest_a_live_beast_stream_writes_what_the_recording_gives(tmp_path):
    start = T0 - EPOCH.timestamp()
    file = tmp_path / "rec.beast"
    file.write_bytes(_beast_bytes())
    code, out = _cli("ingest", "beast", file, "--out", tmp_path / "f" / "d.jsonl", "--start", start, "--nation", "DEU")
    assert code == 0, out
    port, th = _serve_once(_beast_bytes(), 41)
    code, out = _cli("ingest", "beast", f"tcp://127.0.0.1:{port}", "--out", tmp_path / "l" / "d.jsonl",
                     "--start", start, "--nation", "DEU")
    th.join(5)
    assert code == 0, out
    assert f"records read: {len(ROWS)}, decoded: {len(ROWS)}" in out
    assert (tmp_path / "l" / "d.jsonl").read_text() == (tmp_path / "f" / "d.jsonl").read_text()
    assert (tmp_path / "l" / "sensors.json").read_text() == (tmp_path / "f" / "sensors.json").read_text()


@needs_asterix
def test_ingest_a_live_asterix_udp_stream_until_its_duration(tmp_path):
    import time

    from tests.test_interop_cli import sensors_for_capture

    sp = sensors_for_capture(tmp_path / "radars.json")
    capture = sample_bytes("cat_034_048.pcap")
    (tmp_path / "cap.pcap").write_bytes(capture)
    code, out = _cli("ingest", "asterix", tmp_path / "cap.pcap", "--sensors", sp, "--date", "2016-05-05",
                     "--out", tmp_path / "f.jsonl")
    assert code == 0, out
    payloads = [p for _, p, _ in iter_udp(capture, Tally())]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    def send():
        time.sleep(1.0)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for p in payloads:
            tx.sendto(p, ("127.0.0.1", port))
            time.sleep(0.001)
        tx.close()

    th = threading.Thread(target=send, daemon=True)
    th.start()
    t0 = time.monotonic()
    code, out = _cli("ingest", "asterix", f"udp://127.0.0.1:{port}", "--sensors", sp, "--date", "2016-05-05",
                     "--out", tmp_path / "l.jsonl", "--duration", 4)
    th.join(5)
    assert code == 0, out
    assert 3.5 < time.monotonic() - t0 < 15.0  # it listened for its duration, then stopped
    assert (tmp_path / "l.jsonl").read_text() == (tmp_path / "f.jsonl").read_text()


def test_ingest_live_stream_errors_are_one_line(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there
    code, out = _cli("ingest", "beast", f"tcp://127.0.0.1:{port}", "--out", tmp_path / "d.jsonl")
    assert code == 1 and f"tcp://127.0.0.1:{port}" in out and "Traceback" not in out
    code, out = _cli("ingest", "asterix", f"tcp://127.0.0.1:{port}", "--out", tmp_path / "d.jsonl")
    assert code == 2 and "asterix streams come over udp://" in out
    code, out = _cli("ingest", "beast", tmp_path / "none.beast", "--out", tmp_path / "d.jsonl", "--duration", 3)
    assert code == 2 and "--duration is for a live stream" in out
