"""``skyweave ingest`` and ``skyweave export`` end to end: recordings in (a real ASTERIX capture
from asterix-decoder's package; a synthetic Mode S flight from this project's encoder), a TAK
listener out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from skyweave.cli.main import main
from skyweave.interop.feeds import avr_line, beast_frame
from skyweave.io.formats import DetectionReader, load_sensors
from tests.support.asterix_samples import needs_asterix, sample_path
from tests.support.modes_encoder import Flight, synthetic_recording

FLIGHT = Flight()
ROWS = synthetic_recording(FLIGHT)
T0 = ROWS[0][0]
DAY_START = FLIGHT.t0 - FLIGHT.t0 % 86400  # midnight UTC of the recording's day


def run(*args):
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.output


def sensors_for_capture(path: Path) -> Path:
    """A sensors.json placing each radar of the shipped capture (SAC 25) by its SIC."""
    sics = (11, 12, 13, 14, 201, 204, 205)
    doc = {"epoch": "2016-05-05T00:00:00Z", "origin": {"lat": 45.8, "lon": 16.0, "alt": 0.0},
           "sensors": [{"id": f"HR-{sic}", "nation": "HRV", "kind": "radar", "lat": 45.8 + 0.1 * i, "lon": 16.0,
                        "alt": 200.0, "sigma_range_m": 60.0, "sigma_bearing_deg": 0.07, "sac": 25, "sic": sic}
                       for i, sic in enumerate(sics)]}
    path.write_text(json.dumps(doc))
    return path


@needs_asterix
def test_ingest_asterix_capture_with_sensors(tmp_path):
    sp = sensors_for_capture(tmp_path / "s.json")
    code, out = run("ingest", "asterix", sample_path("cat_034_048.pcap"), "--sensors", sp, "--date", "2016-05-05",
                    "--out", tmp_path / "d.jsonl")
    assert code == 0, out
    # every datagram of the capture is there twice (LAN A and B): 162 records, 81 once each
    assert "records read: 81, decoded: 81, detections: 63" in out and "skipped" not in out
    assert "duplicate datagram: 50" in out and "north marker: 1" in out
    sensors = load_sensors(sp)
    reader = DetectionReader(tmp_path / "d.jsonl", sensors)
    dets = list(reader)
    assert len(dets) == 63 and not reader.errors
    last: dict = {}
    for d in dets:  # non-decreasing time per radar, though the radars' plots come a little out of order
        assert d.t >= last.get(d.sensor, -1.0)
        last[d.sensor] = d.t
    first = json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])
    assert first["sensor"] == "HR-201" and first["icao24"] == "3c660c" and first["flight_level"] == 330
    assert first["t"] == pytest.approx(27354.6015625, abs=1e-6)
    assert first["range_m"] == pytest.approx(197.68359375 * 1852, abs=1e-3)


@needs_asterix
def test_ingest_asterix_needs_a_date_and_a_radar(tmp_path):
    raw = sample_path("cat048.raw")
    code, out = run("ingest", "asterix", raw, "--radar-lat", 45, "--radar-lon", 16,
                    "--out", tmp_path / "d.jsonl")
    assert code == 1 and "give the date (--date YYYY-MM-DD)" in out
    code, out = run("ingest", "asterix", raw, "--date", "2024-05-01", "--out", tmp_path / "d.jsonl")
    assert code == 1 and "unknown radar: 1" in out and "no detection decoded" in out
    code, out = run("ingest", "asterix", raw, "--date", "2024-13-01", "--out", tmp_path / "d.jsonl")
    assert code == 2 and "YYYY-MM-DD" in out
    code, out = run("ingest", "asterix", raw, "--radar-lat", 45, "--date", "2024-05-01",
                    "--out", tmp_path / "d.jsonl")
    assert code == 2 and "--radar-lon" in out


def _modes_files(tmp_path: Path) -> dict:
    msgs = [bytes.fromhex(h) for _, h in ROWS]
    counters = [int((ts - T0) * 12e6) for ts, _ in ROWS]
    files = {"beast": tmp_path / "r.beast", "avr": tmp_path / "r.avr", "sbs": tmp_path / "r.sbs"}
    files["beast"].write_bytes(b"".join(beast_frame(m, c) for m, c in zip(msgs, counters)))
    files["avr"].write_text("\n".join(avr_line(m, c) for m, c in zip(msgs, counters)) + "\n")
    return files


@pytest.mark.parametrize("fmt", ["beast", "avr"])
def test_ingest_modes_recordings_place_the_aircraft_as_pymodes_does(tmp_path, fmt):
    pms = pytest.importorskip("pyModeS")
    files = _modes_files(tmp_path)
    day = datetime.fromtimestamp(FLIGHT.t0, timezone.utc).date().isoformat()
    code, out = run("ingest", fmt, files[fmt], "--out", tmp_path / "d.jsonl", "--date", day,
                    "--start", T0 - DAY_START, "--nation", "DEU")
    assert code == 0, out
    assert f"records read: {len(ROWS)}, decoded: {len(ROWS)}" in out and "skipped" not in out
    sensors = load_sensors(tmp_path / "sensors.json")
    (adsb,) = sensors.sensors
    assert adsb.kind == "adsb" and adsb.nation == "DEU" and sensors.epoch.isoformat().startswith(day)
    reader = DetectionReader(tmp_path / "d.jsonl", sensors)
    dets = list(reader)
    assert not reader.errors and len(dets) > 90
    lines = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert len(lines) == len(dets)
    ref = {}
    for ts, h in ROWS:
        r = pms.decode(h, reference=(51.15, 7.24))
        if r.get("latitude") is not None:
            ref.setdefault(round(ts - DAY_START, 3), []).append((r["latitude"], r["longitude"]))
    qualities = set()
    for rec, det in zip(lines, dets):
        assert rec["icao24"] == "%06x" % FLIGHT.icao and rec.get("callsign", FLIGHT.callsign) == FLIGHT.callsign
        # the file keeps 8 decimals of a degree (1 mm)
        assert any(abs(rec["lat"] - a) < 1e-8 and abs(rec["lon"] - b) < 1e-8 for a, b in ref[round(rec["t"], 3)])
        # TC 11 before the operational status (NUCp 7 / NIC 8, the wider), NACp 8 after it
        qualities.add(rec["quality"])
        assert 30.0 < rec["sigma_m"] < 200.0 and rec["alt_source"] in ("baro", "baro+gnss")
        # the reader hands each report's own accuracy on to the tracker
        assert (det.values["sigma_m"], det.values["sigma_alt_m"]) == (rec["sigma_m"], rec["sigma_alt_m"])
    assert qualities == {"NUCp/NIC", "NACp 8"}


def test_ingest_sbs_and_its_bad_lines(tmp_path):
    lines = []
    for i, (ts, _h) in enumerate(ROWS[:20]):
        hh = 23
        s = 0.5 * i
        lines.append(f"MSG,3,1,1,406B90,1,2016/03/14,{hh}:00:{s:06.3f},2016/03/14,{hh}:00:{s:06.3f},,38000,,,"
                     f"{51.1 + i * 0.001:.5f},{7.2:.5f},,,0,0,0,0")
    lines.insert(5, "MSG,3,1,1,406B90,1,2016/03/14,23:00")
    lines.insert(9, "MSG,3,1,1,406B90,1,2016/03/14,23:00:09.000,2016/03/14,23:00:09.000,,38000,,,95.0,7.2,,,0,0,0,0")
    lines.append("MSG,1,1,1,406B90,1,2016/03/14,23:00:11.000,2016/03/14,23:00:11.000,EZY85MH,,,,,,,,0,0,0,0")
    p = tmp_path / "r.sbs"
    p.write_text("\n".join(lines) + "\n")
    code, out = run("ingest", "sbs", p, "--out", tmp_path / "d.jsonl")
    assert code == 0, out
    assert "records read: 23, decoded: 21, detections: 20" in out
    assert "r.sbs:6: truncated SBS line" in out and "r.sbs:10: bad SBS field" in out
    first = json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])
    assert first["t"] == pytest.approx(23 * 3600.0) and first["quality"] == "none"
    assert first["alt"] == pytest.approx(38000 * 0.3048)


def test_corrupt_beast_is_reported_by_offset_and_good_frames_kept(tmp_path):
    msgs = [bytes.fromhex(h) for _, h in ROWS]
    frames = [beast_frame(m, int((ts - T0) * 12e6)) for m, (ts, _) in zip(msgs, ROWS)]
    starts = [sum(len(f) for f in frames[:i]) for i in range(len(frames) + 1)]
    # an extended squitter frame with no escaped byte: flip a bit of its message, its parity fails
    i = next(k for k in range(10, len(frames)) if msgs[k][0] >> 3 == 17 and len(frames[k]) == 2 + 7 + 14)
    bad = bytearray(b"".join(frames))
    bad[starts[i] + 12] ^= 0x01
    cut = starts[40]
    bad = bytes(bad[:cut]) + b"\x1a\x33\x00" + bytes(bad[cut:]) + b"\x1a\x32\x00"
    (tmp_path / "r.beast").write_bytes(bad)
    code, out = run("ingest", "beast", tmp_path / "r.beast", "--out", tmp_path / "d.jsonl")
    assert code == 0, out
    assert f"byte {starts[i]}: bad parity" in out
    assert f"byte {cut}: truncated Beast frame" in out
    assert f"records read: {len(ROWS) + 2}, decoded: {len(ROWS) - 1}" in out


TRACKS = [
    {"t": 10.0, "track_id": "JPN-1", "x": 1000.0, "y": 2000.0, "z": 9000.0, "vx": 200.0, "vy": 0.0, "vz": 0.0,
     "cov": [100.0 if i % 7 == 0 else 0.0 for i in range(36)], "icao24": "86d2a1"},
    {"t": 10.0, "track_id": "JPN-2", "x": -5000.0, "y": 300.0, "z": 3000.0, "vx": 0.0, "vy": -150.0, "vz": 1.0},
    {"t": 11.0, "track_id": "JPN-1", "x": 1200.0, "y": 2000.0, "z": 9000.0, "vx": 200.0, "vy": 0.0, "vz": 0.0,
     "cov": [100.0 if i % 7 == 0 else 0.0 for i in range(36)], "icao24": "86d2a1"},
]
ALERT = {"t": 10.5, "alert_id": "JPN-W1", "threat": "ballistic", "launch": {"lat": 39.0, "lon": 125.0, "t": 0.0},
         "impact": {"lat": 35.1, "lon": 139.1, "t": 400.0, "semi_major_m": 20000.0, "semi_minor_m": 8000.0,
                    "orientation_deg": 30.0}, "time_to_impact_s": 389.5, "places": ["Tokyo"], "confidence": 0.9}


def _picture(tmp_path: Path) -> tuple[Path, Path, Path]:
    s = tmp_path / "sensors.json"
    s.write_text(json.dumps({"epoch": "2024-04-10T00:00:00Z", "origin": {"lat": 35.0, "lon": 139.0, "alt": 0.0},
                             "sensors": [{"id": "R", "nation": "JPN", "kind": "radar", "x": 0, "y": 0, "z": 0,
                                          "sigma_range_m": 50, "sigma_bearing_deg": 0.2}]}))
    t = tmp_path / "tracks.jsonl"
    t.write_text("\n".join(json.dumps(r) for r in TRACKS[:2]) + "\n{not json\n" + json.dumps(TRACKS[2]) + "\n")
    a = tmp_path / "alerts.jsonl"
    a.write_text(json.dumps(ALERT) + "\n")
    return s, t, a


def test_export_geojson_and_kml(tmp_path):
    _s, t, a = _picture(tmp_path)
    code, out = run("export", "geojson", t, "--alerts", a, "--out", tmp_path / "p.geojson")
    assert code == 0, out and "1 bad lines skipped" in out
    doc = json.loads((tmp_path / "p.geojson").read_text())
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("track") == 2 and "impact ellipse (95 %)" in kinds and "launch point" in kinds
    poly = next(f for f in doc["features"] if f["geometry"]["type"] == "Polygon")
    ring = poly["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 37
    from skyweave.interop.adsb import haversine_m

    radii = [haversine_m(35.1, 139.1, lat, lon) for lon, lat in ring]
    assert max(radii) == pytest.approx(20000.0, rel=0.01) and min(radii) == pytest.approx(8000.0, rel=0.02)
    far = ring[max(range(len(ring)), key=lambda i: radii[i])]
    import math

    bearing = math.degrees(math.atan2((far[0] - 139.1) * math.cos(math.radians(35.1)), far[1] - 35.1)) % 180.0
    assert bearing == pytest.approx(30.0, abs=6.0)
    track = next(f for f in doc["features"] if f["properties"]["kind"] == "track" and f["properties"]["track_id"] == "JPN-1")
    assert track["properties"]["icao24"] == "86d2a1" and track["properties"]["ce_m"] == 10.0
    code, out = run("export", "kml", t, "--alerts", a, "--out", tmp_path / "p.kml")
    assert code == 0, out
    root = ET.parse(tmp_path / "p.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(root.findall(".//k:Polygon", ns)) == 1 and len(root.findall(".//k:Point", ns)) == 2


def _check_cot(ev: ET.Element) -> None:
    """The rules of the CoT 2.0 event schema (Event.xsd): required attributes and their forms."""
    import re

    assert ev.tag == "event" and ev.get("version") == "2.0" and ev.get("uid")
    assert re.fullmatch(r"[a-z](-[A-Za-z0-9]+)*", ev.get("type")), ev.get("type")
    assert re.fullmatch(r"[a-z]-[a-z]", ev.get("how"))
    for k in ("time", "start", "stale"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev.get(k))
    assert ev.get("stale") > ev.get("start")
    (pt,) = ev.findall("point")
    assert -90 <= float(pt.get("lat")) <= 90 and -180 <= float(pt.get("lon")) <= 180
    for k in ("hae", "ce", "le"):
        float(pt.get(k))
    assert ev.find("detail") is not None


class _TcpListener:
    """A local TCP server that accepts one connection and keeps what it receives in ``got``."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.got = bytearray()
        self.th = threading.Thread(target=self._listen)
        self.th.start()

    def _listen(self):
        conn, _ = self.srv.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.got.extend(chunk)

    def done(self) -> bytes:
        self.th.join(10)
        self.srv.close()
        return bytes(self.got)


def test_export_cot_file_and_tcp_listener(tmp_path):
    _s, t, a = _picture(tmp_path)
    tcp = _TcpListener()
    code, out = run("export", "cot", t, "--alerts", a, "--out", tmp_path / "p.cot", "--send", f"127.0.0.1:{tcp.port}")
    got = tcp.done()
    assert code == 0, out and "sent to 127.0.0.1" in out
    lines = (tmp_path / "p.cot").read_text().splitlines()
    assert len(lines) == 4  # 2 tracks at 10 s, the alert at 10.5 s, 1 track at 11 s
    assert got.decode() == "".join(lines)
    events = [ET.fromstring(x) for x in lines]
    for ev in events:
        _check_cot(ev)
    assert [ev.get("type") for ev in events] == ["a-u-A", "a-u-A", "u-d-c-e", "a-u-A"]
    assert events[0].get("time") == "2024-04-10T00:00:10.000Z" and events[0].find("point").get("ce") == "10.0"
    assert events[1].find("point").get("ce") == "9999999.0"
    assert "ballistic missile, impact in 390 s" in events[2].find("detail/remarks").text
    code, out = run("export", "cot", t, "--send", "127.0.0.1:1")
    assert code == 1 and "127.0.0.1:1" in out


def test_export_cat062_file(tmp_path):
    _s, t, _a = _picture(tmp_path)
    code, out = run("export", "cat062", t, "--out", tmp_path / "p.ast", "--sac", 7, "--sic", 9)
    assert code == 0, out
    from skyweave.interop.asterix import iter_blocks
    from skyweave.interop.records import Tally

    data = (tmp_path / "p.ast").read_bytes()
    tally = Tally()
    assert [c for c, _, _ in iter_blocks(data, tally)] == [62, 65, 62, 65] and not tally.skipped


def test_export_errors_are_one_line(tmp_path):
    _s, t, _a = _picture(tmp_path)
    env = {**os.environ, "SKYWEAVE_DEBUG": ""}
    cmd = [sys.executable, "-m", "skyweave.cli.main", "export", "kml", str(t), "--out", str(tmp_path / "x.kml"),
           "--sensors", str(tmp_path / "none.json")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode in (1, 2) and r.stderr.count("Error: ") == 1 and "none.json" in r.stderr
    r = subprocess.run(cmd[:6] + ["--send", "x:1"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "--send streams Cursor-on-Target only" in r.stderr


@needs_asterix
def test_the_docs_first_example_runs_as_written(tmp_path, monkeypatch):
    import re
    import shlex

    text = (Path(__file__).resolve().parents[1] / "docs" / "interop.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, flags=re.S).group(1)
    cmd = block.replace("\\\n", " ").splitlines()
    first = next(line for line in cmd if line.startswith("skyweave ingest asterix cat048.raw"))
    args = shlex.split(first)[1:]
    args[2] = str(sample_path("cat048.raw"))  # the sample the docs point to, in asterix-decoder
    monkeypatch.chdir(tmp_path)
    code, out = run(*args)
    assert code == 0, out
    assert "detections: 1" in out and (tmp_path / "rec" / "sensors.json").exists()


def test_export_tak_protobuf_file_tcp_and_udp(tmp_path):
    """TAK protocol v1: the stream form in the file and over TCP, the mesh form over UDP; each
    message read back by takproto itself and holding the same event as the CoT XML export."""
    takproto = pytest.importorskip("takproto")
    _s, t, a = _picture(tmp_path)
    tcp = _TcpListener()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    code, out = run("export", "tak", t, "--alerts", a, "--out", tmp_path / "p.tak",
                    "--send", f"127.0.0.1:{tcp.port}", "--udp", f"127.0.0.1:{udp.getsockname()[1]}")
    got = tcp.done()
    assert code == 0, out
    datagrams = [udp.recv(65536) for _ in range(4)]
    udp.close()
    data = (tmp_path / "p.tak").read_bytes()
    assert bytes(got) == data
    code, out = run("export", "cot", t, "--alerts", a, "--out", tmp_path / "p.cot")
    assert code == 0, out
    xml = [ET.fromstring(x) for x in (tmp_path / "p.cot").read_text().splitlines()]
    from skyweave.interop.export import tak_messages

    ours = list(tak_messages(data))
    assert len(ours) == len(xml) == 4
    mesh = [takproto.parse_proto(bytearray(d)) for d in datagrams]
    assert all(d[:3] == b"\xbf\x01\xbf" for d in datagrams)
    # takproto's own reader, message by message on the stream form
    pos = 0
    for m in ours:
        n = len(m.SerializeToString())
        size = 1 + max(1, (n.bit_length() + 6) // 7) + n
        assert takproto.parse_proto(bytearray(data[pos:pos + size])) == m
        pos += size
    assert pos == len(data)
    for ev, m, mm in zip(xml, ours, mesh):
        c = m.cotEvent
        assert mm == m
        assert (c.uid, c.type, c.how) == (ev.get("uid"), ev.get("type"), ev.get("how"))
        pt = ev.find("point")
        assert c.lat == pytest.approx(float(pt.get("lat")), abs=1e-7) and c.lon == pytest.approx(float(pt.get("lon")), abs=1e-7)
        assert c.ce == float(pt.get("ce")) and c.le == float(pt.get("le"))
        from datetime import datetime, timezone

        for attr, key in (("sendTime", "time"), ("startTime", "start"), ("staleTime", "stale")):
            when = datetime.strptime(ev.get(key), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            assert getattr(c, attr) == round(when.timestamp() * 1000), (attr, key)
    assert ours[0].cotEvent.detail.contact.callsign == "JPN-1" and ours[0].cotEvent.detail.track.speed > 0
    assert "<ellipse" in ours[2].cotEvent.detail.xmlDetail and "impact in 390 s" in ours[2].cotEvent.detail.xmlDetail


def test_tak_reader_names_the_offset_of_a_bad_message(tmp_path):
    pytest.importorskip("takproto")
    from skyweave.core.errors import FormatError
    from skyweave.interop.export import tak_messages

    _s, t, a = _picture(tmp_path)
    code, out = run("export", "tak", t, "--out", tmp_path / "p.tak")
    assert code == 0, out
    data = (tmp_path / "p.tak").read_bytes()
    assert len(list(tak_messages(data))) == 3
    with pytest.raises(FormatError, match=r"byte 0.*0x00"):
        list(tak_messages(b"\x00" + data))
    with pytest.raises(FormatError, match="cut short"):
        list(tak_messages(data[:-3]))


def test_export_tak_without_takproto_says_which_extra(tmp_path, monkeypatch):
    _s, t, _a = _picture(tmp_path)
    monkeypatch.setitem(sys.modules, "takproto", None)  # import takproto now raises ImportError
    code, out = run("export", "tak", t, "--out", tmp_path / "p.tak")
    assert code == 1 and "pip install 'skyweave[tak]'" in out
