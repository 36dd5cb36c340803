"""``skyweave serve --tracks``: a tracks file (``skyweave track``'s output) on the view's replay
timeline, over REST and the WebSocket (no browser: tests/test_web_browser.py shows a real ADS-B
flight's tracks in Chromium).

The tracks file here is written by hand: a civil aircraft (ICAO 393322) flying west at 100 m/s
and a track without an address, one line per track every 2 s for 20 s, over one ADS-B sensor
of nation XXX at Paris-CDG.
"""

from __future__ import annotations

import json
import math

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from skyweave.cli.main import main
from skyweave.node.journal import JournalError
from skyweave.web.app import ViewServer, create_app
from skyweave.web.replay import ReplayStore
from skyweave.web.users import AuditLog, UserStore

PASSWORD = "correct-horse-1"
ORIGIN = (49.0, 2.6)


def write_files(tmp_path):
    """sensors.json, tracks.jsonl and detections.jsonl of the test (paths)."""
    sensors = {"epoch": "2024-07-06T00:00:00Z", "origin": {"lat": ORIGIN[0], "lon": ORIGIN[1], "alt": 0.0}, "dims": 3,
               "sensors": [{"id": "ADSB", "nation": "XXX", "kind": "adsb", "lat": ORIGIN[0], "lon": ORIGIN[1],
                            "alt": 0.0, "x": 0.0, "y": 0.0, "z": 0.0, "sigma_m": 150.0, "releasable_to": ["XXX"]}]}
    (tmp_path / "sensors.json").write_text(json.dumps(sensors))
    lines = []
    for k in range(11):
        t = 25000.0 + 2.0 * k
        cov = [0.0] * 36
        for i, v in enumerate((900.0, 900.0, 400.0, 25.0, 25.0, 4.0)):
            cov[7 * i] = v
        lines.append({"t": t, "track_id": "T-1", "x": -100.0 * 2.0 * k, "y": 0.0, "z": 3000.0, "vx": -100.0,
                      "vy": 0.0, "vz": 0.0, "cov": cov, "quality": 12, "icao24": "393322", "status": "confirmed"})
        lines.append({"t": t, "track_id": "T-2", "x": 5000.0, "y": 30.0 * 2.0 * k, "z": 1000.0, "vx": 0.0,
                      "vy": 30.0, "vz": 0.0, "quality": 9, "status": "confirmed"})
    (tmp_path / "tracks.jsonl").write_text("".join(json.dumps(d) + "\n" for d in lines))
    (tmp_path / "detections.jsonl").write_text(json.dumps(
        {"t": 25000.0, "sensor": "ADSB", "icao24": "393322", "lat": 49.0, "lon": 2.6, "callsign": "AFR34ZG "}) + "\n")
    return tmp_path / "tracks.jsonl", tmp_path / "sensors.json", tmp_path / "detections.jsonl"


@pytest.fixture
def env(tmp_path):
    tracks, sensors, dets = write_files(tmp_path)
    store = ReplayStore.from_tracks(tracks, sensors, detections_path=dets)
    users = UserStore()
    users.add("xxx", "XXX", "viewer", PASSWORD)
    users.add("jpn", "JPN", "viewer", PASSWORD)
    server = ViewServer({}, users, audit=AuditLog(tmp_path / "audit.jsonl"), frame_interval_s=0.02, replay=store)
    with TestClient(create_app(server)) as client:
        yield client, store


def login(client, user):
    r = client.post("/api/login", json={"user": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["token"]


def test_a_tracks_file_is_one_nations_timeline(env):
    client, store = env
    assert store.nations == ("XXX",) and store.start == 25000.0 and store.end == 25020.0
    h, _ = login(client, "xxx")
    info = client.get("/api/replay", headers=h).json()
    assert (info["start"], info["end"], info["pictures"], info["alerts"]) == (25000.0, 25020.0, 11, [])
    assert info["epoch"] == "2024-07-06T00:00:00Z" and info["playing"] is False and info["t"] == 25000.0
    tracks = {t["id"]: t for t in client.get("/api/tracks", headers=h).json()["tracks"]}
    civil, other = tracks["T-1"], tracks["T-2"]
    # placed on the earth by the sensors' origin; civil ADS-B neutral, its address and callsign shown
    assert (civil["lat"], civil["lon"]) == pytest.approx(ORIGIN, abs=1e-4) and civil["alt"] == pytest.approx(3000, abs=2)
    assert (civil["identity"], civil["callsign"], civil["sid"], civil["category"]) == ("393322", "AFR34ZG", "neutral",
                                                                                     "aircraft")
    assert civil["speed"] == 100.0 and civil["course"] == 270.0 and civil["releasable_to"] == ["XXX"]
    assert civil["nations"] == ["XXX"] and civil["quality"] == 12 and civil["ellipse"]["semi_major_m"] == pytest.approx(
        math.sqrt(5.991464547107979 * 900.0), abs=1)
    assert (other["identity"], other["callsign"], other["sid"], other["category"]) == (None, None, "unknown", "unknown")
    assert other["ellipse"]["semi_major_m"] is None  # no covariance in its lines
    # seek: the picture as of that time (10 s: the civil track 1 km west of the origin)
    client.post("/api/replay", json={"op": "seek", "t": 25010.0}, headers=h)
    civil = client.get("/api/tracks/T-1", headers=h).json()
    assert civil["t"] == 25010.0 and civil["lon"] == pytest.approx(ORIGIN[1] - 1000.0 / (111320.0 * math.cos(
        math.radians(ORIGIN[0]))), abs=2e-4)
    trail = client.get("/api/history?track=T-1", headers=h).json()["tracks"]["T-1"]
    assert [p[0] for p in trail] == [25000.0, 25010.0]
    # another nation's user: the file is XXX's picture only
    assert client.post("/api/login", json={"user": "jpn", "password": PASSWORD}).status_code == 403


def test_the_websocket_plays_the_tracks_file(env):
    client, _ = env
    _, tok = login(client, "xxx")
    with client.websocket_connect(f"/api/ws?token={tok}") as ws:
        first = orjson.loads(ws.receive_text())
        assert first["type"] == "snapshot" and {t["id"] for t in first["tracks"]} == {"T-1", "T-2"}
        lon0 = {t["id"]: t["lon"] for t in first["tracks"]}["T-1"]
        ws.send_text(json.dumps({"op": "play", "speed": 20}))
        lons, ts = [], []
        while len(ts) < 4 or ts[-1] < 25008.0:
            fr = orjson.loads(ws.receive_text())
            assert fr["nation"] == "XXX"
            mv = fr.get("moves")
            if mv and "T-1" in mv["ids"]:
                lons.append(mv["lon"][mv["ids"].index("T-1")])
                assert all(m == ["XXX"] for m in mv["markings"])
            ts.append(fr["t"])
        assert fr["replay"]["playing"] is True and fr["replay"]["speed"] == 20.0
    assert lons and all(b < a for a, b in zip([lon0, *lons], lons))  # the aircraft flies west


def test_mistakes_are_one_line(tmp_path):
    tracks, sensors, _ = write_files(tmp_path)
    cases = []
    (tmp_path / "bad.jsonl").write_text(tracks.read_text().splitlines()[0] + "\n{\"t\": 1}\n")
    cases.append((["--tracks", str(tmp_path / "bad.jsonl"), "--sensors", str(sensors)],
                  f"Error: --tracks {tmp_path / 'bad.jsonl'} line 2: not a tracks.jsonl line (no 'track_id')"))
    (tmp_path / "empty.jsonl").write_text("")
    cases.append((["--tracks", str(tmp_path / "empty.jsonl"), "--sensors", str(sensors)],
                  f"Error: --tracks {tmp_path / 'empty.jsonl'}: no track in it: nothing to show"))
    cases.append((["--tracks", str(tmp_path / "none.jsonl"), "--sensors", str(sensors)],
                  f"Error: --tracks {tmp_path / 'none.jsonl'}: no such file; check the path"))
    cases.append((["--tracks", str(tmp_path / "none.jsonl")],   # the missing file named before its sensors
                  f"Error: --tracks {tmp_path / 'none.jsonl'}: no such file; check the path"))
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "tracks.jsonl").write_text(tracks.read_text())
    cases.append((["--tracks", str(sub / "tracks.jsonl")],
                  f"Error: --tracks {sub / 'tracks.jsonl'}: no sensors.json beside it; give --sensors S.json "
                  "(the sensors file the tracks were made over)"))
    doc = json.loads(sensors.read_text())
    del doc["origin"]
    for s in doc["sensors"]:
        s.pop("lat"), s.pop("lon"), s.pop("alt")
    (tmp_path / "flat.json").write_text(json.dumps(doc))
    cases.append((["--tracks", str(tracks), "--sensors", str(tmp_path / "flat.json")],
                  f"Error: --sensors {tmp_path / 'flat.json'}: the run has no geodetic origin; the view needs one"))
    for args, line in cases:
        r = CliRunner().invoke(main, ["serve", *args])
        assert r.exit_code == 1 and r.output.strip().splitlines() == [line], (args, r.output)
    for args, words in ((["--tracks", str(tracks), "--demo"], "--tracks and --demo"),
                        (["--tracks", str(tracks), "--speed", "3"], "--speed"),
                        (["--demo", "--sensors", str(sensors)], "--sensors and --detections go with --tracks")):
        r = CliRunner().invoke(main, ["serve", *args])
        assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, r.output
    with pytest.raises(JournalError, match="line 1: not a tracks.jsonl line"):
        (tmp_path / "junk.jsonl").write_text("not json\n")
        ReplayStore.from_tracks(tmp_path / "junk.jsonl", sensors)
