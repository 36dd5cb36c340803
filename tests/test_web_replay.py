"""The view's replay of a recorded run (``skyweave serve --journal``) and the operators' identities
in the journal (no browser; tests/test_web_browser.py replays a real run in Chromium).

The journal here is written by hand with the journal's own writer: JPN's and USA's fused pictures
every 10 s of a 60 s run (tracks moving east), one joint alert from 30 s, and in JPN's own
records a USA-only track and a USA-only alert that must never reach a Japanese viewer.
"""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from skyweave.cli.main import main
from skyweave.node.journal import Journal, JournalReader
from skyweave.node.node import NodeConfig
from skyweave.node.sinks import fused_text
from skyweave.web.app import ViewServer, create_app
from skyweave.web.replay import ReplayCursor, ReplayStore
from skyweave.web.users import AuditLog, UserStore
from skyweave.web.view import NationView
from tests.support.webview import PASSWORD, ROWS, FakePicture, alert, fused, sensor_set

SECRET = "USA-N00077"  # the USA-only track of ROWS


def moved(t: float):
    """ROWS with every track moved 200 m/s east for ``t`` seconds."""
    return [(r[0], r[1] + 200.0 * t, *r[2:]) for r in ROWS]


def new_journal(path) -> Journal:
    """A journal of JPN's and USA's nodes over the test's sensors (what a network run records first)."""
    doc = sensor_set().to_json()
    for s in doc["sensors"]:
        s.update(sigma_range_m=50.0, sigma_bearing_deg=0.2)
    j = Journal(path)
    j.set_meta("sensors", json.dumps(doc))
    for n in ("JPN", "USA"):
        j.add_node(n, NodeConfig(nation=n), "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    return j


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "run.sqlite"
    j = new_journal(path)
    for t in range(0, 61, 10):
        for n in ("JPN", "USA"):
            j.write(n, "fused", float(t), fused_text(FakePicture(t, moved(t)), n, 3), subject="tick")
    j.write("JPN", "alert", 30.0, json.dumps(alert("JPN-W1", t=30.0).alert))
    j.write("JPN", "alert", 40.0, json.dumps(alert("JPN-W1", t=40.0, tti=150.0).alert))
    j.write("JPN", "alert", 30.0, json.dumps(alert("USA-W9", rel=("USA",), t=30.0).alert))
    j.write("JPN", "identity", 20.0, json.dumps({"track": "JPN-N00001", "sid": "friend", "user": "jpnop"}))
    j.close()
    return path


@pytest.fixture
def env(journal, tmp_path):
    users = UserStore()
    users.add("jpn", "JPN", "viewer", PASSWORD)
    users.add("jpnop", "JPN", "operator", PASSWORD)
    users.add("usa", "USA", "viewer", PASSWORD)
    users.add("aus", "AUS", "viewer", PASSWORD)
    server = ViewServer({}, users, audit=AuditLog(tmp_path / "audit.jsonl"), frame_interval_s=0.02,
                        replay=ReplayStore(journal))
    with TestClient(create_app(server)) as client:
        yield client, server, tmp_path


def login(client, user):
    r = client.post("/api/login", json={"user": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["token"]


def test_the_timeline_seeks_and_shows_the_picture_and_alerts_as_recorded(env):
    client, _, _ = env
    h, _ = login(client, "jpn")
    assert client.get("/api/me", headers=h).json()["replay"] is True
    info = client.get("/api/replay", headers=h).json()
    assert (info["start"], info["end"], info["t"], info["playing"]) == (0.0, 60.0, 0.0, False)
    assert info["alerts"] == [{"id": "JPN-W1", "t": 30.0}]  # not the USA-only alert in JPN's records
    assert client.post("/api/replay", json={"op": "seek", "t": 25.0}, headers=h).json()["t"] == 25.0
    tracks = {t["id"]: t for t in client.get("/api/tracks", headers=h).json()["tracks"]}
    assert set(tracks) == {"JPN-N00001", "JPN-N00002"} and all(t["t"] == 20.0 for t in tracks.values())
    assert tracks["JPN-N00001"]["sid"] == "friend" and tracks["JPN-N00001"]["sid_source"] == "jpnop"  # recorded at 20 s
    assert tracks["JPN-N00002"]["sid"] == "neutral" and tracks["JPN-N00002"]["identity"] == "86a5b2"
    assert client.get("/api/alerts", headers=h).json()["alerts"] == []
    assert client.get(f"/api/tracks/{SECRET}", headers=h).status_code == 404
    client.post("/api/replay", json={"op": "seek", "t": 45.0}, headers=h)
    lon45 = client.get("/api/tracks/JPN-N00001", headers=h).json()["lon"]
    assert lon45 > tracks["JPN-N00001"]["lon"]
    al = client.get("/api/alerts", headers=h).json()["alerts"]
    assert [(a["id"], a["t"], a["time_to_impact_s"]) for a in al] == [("JPN-W1", 40.0, 150.0)]
    assert client.get("/api/alerts/USA-W9", headers=h).status_code == 404
    st = client.get("/api/replay/state", params={"t": 5.0}, headers=h).json()
    assert {t["id"] for t in st["tracks"]} == {"JPN-N00001", "JPN-N00002"} and st["alerts"] == []
    assert client.get("/api/replay", headers=h).json()["t"] == 45.0  # a REST snapshot does not move the cursor
    hist = client.get("/api/history", headers=h).json()
    assert [p[0] for p in hist["tracks"]["JPN-N00001"]][-3:] == [20.0, 30.0, 40.0] and SECRET not in hist["tracks"]
    # the USA viewer has a timeline of their own, over the USA's records
    hu, _ = login(client, "usa")
    assert client.get("/api/replay", headers=hu).json()["t"] == 0.0
    assert SECRET in {t["id"] for t in client.get("/api/tracks", headers=hu).json()["tracks"]}
    # bad commands are named; a nation the journal does not record may not log in
    assert client.post("/api/replay", json={"op": "rewind"}, headers=h).status_code == 422
    assert client.post("/api/replay", json={"op": "play", "speed": 50}, headers=h).status_code == 422
    assert client.post("/api/replay", json={"op": "seek"}, headers=h).status_code == 422
    assert client.post("/api/login", json={"user": "aus", "password": PASSWORD}).status_code == 403
    spec = client.get("/openapi.json").json()["paths"]
    assert {"/api/replay", "/api/replay/state"} <= set(spec) and "post" in spec["/api/replay"]


def test_the_websocket_plays_the_run_and_never_sends_a_usa_only_item_to_japan(env):
    client, _, _ = env
    _, tok = login(client, "jpn")
    seen = []
    with client.websocket_connect(f"/api/ws?token={tok}") as ws:
        first = orjson.loads(ws.receive_text())
        seen.append(first)
        assert first["type"] == "snapshot" and first["replay"]["t"] == 0.0 and first["replay"]["playing"] is False
        ws.send_text(json.dumps({"op": "seek", "t": 35.0}))
        fr = orjson.loads(ws.receive_text())
        seen.append(fr)
        assert fr["type"] == "snapshot" and fr["replay"]["run"] == 2 and fr["t"] == 35.0
        assert [a["id"] for a in fr["alerts"]] == ["JPN-W1"]
        ws.send_text(json.dumps({"op": "play", "speed": 20}))
        ts = []
        while len(ts) < 3:
            fr = orjson.loads(ws.receive_text())
            seen.append(fr)
            ts.append(fr["t"])
            if fr.get("tracks"):
                assert all(u["id"] != SECRET for u in fr["tracks"])
            if fr.get("moves"):
                assert SECRET not in fr["moves"]["ids"]
        assert ts[-1] > 35.0 and fr["replay"]["playing"] is True and fr["replay"]["speed"] == 20.0
        ws.send_text("not json")
        while True:
            fr = orjson.loads(ws.receive_text())
            if fr["type"] == "error":
                break
            seen.append(fr)
    for fr in seen:
        assert fr["nation"] == "JPN"
        for key in ("tracks", "alerts"):
            for it in fr.get(key) or ():
                assert it["id"] not in (SECRET, "USA-W9") and "JPN" in it["releasable_to"]
        mv = fr.get("moves") or {"ids": [], "markings": []}
        assert SECRET not in mv["ids"] and all("JPN" in m for m in mv["markings"])
    assert any(fr.get("moves") for fr in seen)  # the tracks moved as columns


def test_the_cursor_plays_at_its_speed_and_stops_at_the_end(journal):
    now = [100.0]
    c = ReplayCursor(ReplayStore(journal), "JPN", clock=lambda: now[0])
    c.control("play", speed=2.0)
    now[0] += 5.0
    assert c.t == 10.0 and c.state("JPN")["tracks"]["JPN-N00001"]["t"] == 10.0
    c.control("speed", speed=0.5)
    now[0] += 4.0
    assert c.t == 12.0
    now[0] += 1000.0
    assert c.t == 60.0 and c.playing is False
    run = c.run
    c.control("play")  # from the start again
    assert c.t == 0.0 and c.run == run + 1
    with pytest.raises(ValueError, match="speed 25"):
        c.control("play", speed=25)


def test_an_operators_identity_goes_to_the_audit_log_and_the_journal(tmp_path):
    view = NationView("JPN")
    view.start(sensor_set())
    view.handle(fused(t=100.0))
    users = UserStore()
    users.add("jpnop", "JPN", "operator", PASSWORD)
    j = new_journal(tmp_path / "live.sqlite")
    server = ViewServer({"JPN": view}, users, audit=AuditLog(tmp_path / "audit.jsonl"), journal=j)
    with TestClient(create_app(server)) as client:
        h, _ = login(client, "jpnop")
        r = client.post("/api/tracks/JPN-N00001/identity", json={"sid": "hostile"}, headers=h)
        assert r.status_code == 200
        j.close()  # the node's run ended: a later setting still holds and goes to the audit log
        assert client.post("/api/tracks/JPN-N00002/identity", json={"sid": "friend"}, headers=h).status_code == 200
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(a["event"] == "identity_set" and a["track"] == "JPN-N00001" and a["sid"] == "hostile" and a["t"] == 100.0
               for a in audit)
    assert any(a["event"] == "identity_not_journaled" and a["track"] == "JPN-N00002" for a in audit)
    recs = list(JournalReader(tmp_path / "live.sqlite").records(kinds=("identity",)))
    assert [(r[1], r[3], json.loads(r[6])) for r in recs] == [
        ("JPN", 100.0, {"track": "JPN-N00001", "sid": "hostile", "user": "jpnop"})]


def test_an_identity_set_in_a_replay_holds_on_that_users_timeline_only(env):
    client, server, tmp = env
    h, _ = login(client, "jpnop")
    client.post("/api/replay", json={"op": "seek", "t": 10.0}, headers=h)
    assert client.post("/api/tracks/JPN-N00002/identity", json={"sid": "suspect"}, headers=h).status_code == 200
    assert client.get("/api/tracks/JPN-N00002", headers=h).json()["sid"] == "suspect"
    hv, _ = login(client, "jpn")
    client.post("/api/replay", json={"op": "seek", "t": 10.0}, headers=hv)
    assert client.get("/api/tracks/JPN-N00002", headers=hv).json()["sid"] == "neutral"
    audit = [json.loads(line) for line in (tmp / "audit.jsonl").read_text().splitlines()]
    assert any(a["event"] == "identity_set" and a["replay"] is True for a in audit)


def test_serve_journal_mistakes_are_one_line(tmp_path, journal):
    r = CliRunner().invoke(main, ["serve", "--journal", str(tmp_path / "none.sqlite")])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [f"Error: {tmp_path / 'none.sqlite'}: no such journal file"]
    (tmp_path / "x.sqlite").write_text("hello")
    r = CliRunner().invoke(main, ["serve", "--journal", str(tmp_path / "x.sqlite")])
    assert r.exit_code == 1 and "not a skyweave journal" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["serve", "--journal", str(journal), "--demo"])
    assert r.exit_code == 2 and "--journal and --demo" in r.output
    r = CliRunner().invoke(main, ["serve", "--journal", str(journal), "--speed", "3"])
    assert r.exit_code == 2 and "--speed" in r.output
