"""The joint command view's server: access, nation filtering, frames (no browser; tests/test_web_browser.py has those)."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from skyweave.cli.main import main
from skyweave.node.events import MessageVerdict
from skyweave.web.app import ViewServer, create_app, encode_frame
from skyweave.web.users import AuditLog, Sessions, UserStore
from skyweave.web.view import NationView, Publisher
from tests.support.webview import PASSWORD, ROWS, alert, fused, sensor_set

SECRET = "USA-N00077"  # the USA-only track of ROWS


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def env(tmp_path):
    views = {n: NationView(n) for n in ("JPN", "USA")}
    for v in views.values():
        v.start(sensor_set())
        v.handle(fused(nation=v.nation))
        v.handle(alert())
        v.handle(alert("USA-W9", rel=("USA",)))
    users = UserStore()
    users.add("jpn", "JPN", "viewer", PASSWORD)
    users.add("jpnop", "JPN", "operator", PASSWORD)
    users.add("jpnadmin", "JPN", "admin", PASSWORD)
    users.add("usa", "USA", "viewer", PASSWORD)
    clock = Clock()
    server = ViewServer(views, users, sessions=Sessions(3600.0, clock=clock), audit=AuditLog(tmp_path / "audit.jsonl"),
                        frame_interval_s=0.02)
    with TestClient(create_app(server)) as client:
        yield client, server, clock, tmp_path


def login(client, user):
    r = client.post("/api/login", json={"user": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["token"]


def audit_lines(tmp_path):
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_login_gives_a_token_and_wrong_passwords_are_refused_and_audited(env):
    client, server, _, tmp = env
    assert client.post("/api/login", json={"user": "jpn", "password": "wrong-password"}).status_code == 401
    assert client.post("/api/login", json={"user": "nobody", "password": PASSWORD}).status_code == 401
    h, _ = login(client, "jpn")
    me = client.get("/api/me", headers=h).json()
    assert (me["user"], me["nation"], me["role"]) == ("jpn", "JPN", "viewer")
    events = [(r["event"], r.get("user")) for r in audit_lines(tmp)]
    assert ("login_failed", "jpn") in events and ("login_failed", "nobody") in events and ("login", "jpn") in events


@pytest.mark.parametrize("path", ["/api/tracks", "/api/alerts", "/api/history", "/api/health", "/api/me",
                                  f"/api/tracks/{SECRET}", "/api/audit", "/metrics", "/healthz"])
def test_missing_or_bad_token_is_401_and_audited(env, path):
    client, _, _, tmp = env
    assert client.get(path).status_code == 401
    r = client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    refused = [r for r in audit_lines(tmp) if r["event"] == "refused"]
    assert [r["status"] for r in refused] == [401, 401] and refused[0]["route"] == f"GET {path}"


def test_sessions_expire(env):
    client, _, clock, _ = env
    h, _ = login(client, "jpn")
    assert client.get("/api/tracks", headers=h).status_code == 200
    clock.now += 3601.0
    assert client.get("/api/tracks", headers=h).status_code == 401


def test_roles_give_403_where_they_may_not_go(env):
    client, server, _, tmp = env
    viewer, _ = login(client, "jpn")
    op, _ = login(client, "jpnop")
    admin, _ = login(client, "jpnadmin")
    body = {"sid": "friend"}
    assert client.post("/api/tracks/JPN-N00001/identity", json=body, headers=viewer).status_code == 403
    r = client.post("/api/tracks/JPN-N00001/identity", json=body, headers=op)
    assert r.status_code == 200 and r.json()["sid_source"] == "jpnop"
    assert client.get("/api/tracks/JPN-N00001", headers=viewer).json()["sid"] == "friend"
    assert client.post("/api/tracks/JPN-N00001/identity", json={"sid": "maybe"}, headers=op).status_code == 422
    for path in ("/api/audit", "/api/users", "/metrics"):
        assert client.get(path, headers=viewer).status_code == 403
        assert client.get(path, headers=op).status_code == 403
        assert client.get(path, headers=admin).status_code == 200
    log = audit_lines(tmp)
    assert sum(1 for r in log if r["event"] == "refused" and r["status"] == 403) == 7
    assert any(r["event"] == "identity_set" and r["track"] == "JPN-N00001" for r in log)
    users = client.get("/api/users", headers=admin).json()["users"]
    assert {u["user"] for u in users} == {"jpn", "jpnop", "jpnadmin", "usa"} and all("hash" not in u for u in users)


def test_rest_answers_hold_only_what_the_viewers_nation_may_see(env):
    client, _, _, _ = env
    jpn, _ = login(client, "jpn")
    usa, _ = login(client, "usa")
    tracks = client.get("/api/tracks", headers=jpn).json()["tracks"]
    assert {t["id"] for t in tracks} == {"JPN-N00001", "JPN-N00002"}
    for t in tracks:
        assert "JPN" in t["releasable_to"]
        for k in ("lat", "lon", "alt", "ve", "vn", "vu", "ellipse", "identity", "category", "nations", "sensors", "sources"):
            assert k in t
    civil = next(t for t in tracks if t["id"] == "JPN-N00002")
    assert civil["identity"] == "86a5b2" and civil["sid"] == "neutral"
    assert abs(civil["lat"] - 37.5) < 0.2 and abs(civil["lon"] - 133.66) < 0.05 and civil["alt"] > 10000
    ell = civil["ellipse"]
    assert ell["semi_major_m"] == pytest.approx(400 * 5.991464547107979 ** 0.5, abs=1) and ell["orientation_deg"] == 90.0
    assert [a["id"] for a in client.get("/api/alerts", headers=jpn).json()["alerts"]] == ["JPN-W1"]
    assert SECRET not in client.get("/api/history", headers=jpn).text
    # the USA viewer does get the USA-only items: the filter is by nation, not a blanket drop
    assert SECRET in {t["id"] for t in client.get("/api/tracks", headers=usa).json()["tracks"]}
    assert {a["id"] for a in client.get("/api/alerts", headers=usa).json()["alerts"]} == {"JPN-W1", "USA-W9"}
    missile = client.get(f"/api/tracks/{SECRET}", headers=usa).json()
    assert missile["sid"] == "suspect" and missile["category"] == "ballistic"


def test_an_item_the_nation_may_not_see_is_404_exactly_as_one_that_does_not_exist(env):
    client, _, _, tmp = env
    jpn, _ = login(client, "jpn")
    for kind, hidden in (("tracks", SECRET), ("alerts", "USA-W9")):
        a = client.get(f"/api/{kind}/{hidden}", headers=jpn)
        b = client.get(f"/api/{kind}/NO-SUCH-ID", headers=jpn)
        assert a.status_code == b.status_code == 404
        assert a.content == b.content and dict(a.headers) == dict(b.headers)
    hist = client.get(f"/api/history?track={SECRET}", headers=jpn)
    assert hist.status_code == 404 and hist.content == client.get("/api/history?track=NOPE", headers=jpn).content
    op = login(client, "jpnop")[0]
    assert client.post(f"/api/tracks/{SECRET}/identity", json={"sid": "hostile"}, headers=op).status_code == 404
    reasons = [r["reason"] for r in audit_lines(tmp) if r["event"] == "refused" and r["status"] == 404]
    assert reasons.count("not releasable to the viewer's nation") == 4 and reasons.count("no such item") == 3


def test_alerts_are_acknowledged_per_user(env):
    client, _, _, tmp = env
    jpn, _ = login(client, "jpn")
    other, _ = login(client, "jpnop")
    assert client.get("/api/acks", headers=jpn).json() == {"acknowledged": []}
    assert client.post("/api/alerts/JPN-W1/ack", headers=jpn).json() == {"id": "JPN-W1", "acknowledged": True}
    assert client.get("/api/acks", headers=jpn).json() == {"acknowledged": ["JPN-W1"]}
    assert client.get("/api/acks", headers=other).json() == {"acknowledged": []}  # per user
    a = client.post("/api/alerts/USA-W9/ack", headers=jpn)
    b = client.post("/api/alerts/NO-SUCH/ack", headers=jpn)
    assert a.status_code == b.status_code == 404 and a.content == b.content
    assert client.post("/api/alerts/JPN-W1/ack").status_code == 401
    assert [r["alert"] for r in audit_lines(tmp) if r["event"] == "alert_ack"] == ["JPN-W1"]


def test_websocket_needs_a_token(env):
    client, _, _, _ = env
    from starlette.websockets import WebSocketDisconnect

    for url in ("/api/ws", "/api/ws?token=forged"):
        with pytest.raises(WebSocketDisconnect) as e:
            with client.websocket_connect(url) as ws:
                ws.receive_text()
        assert e.value.code == 4401


def test_websocket_sends_a_snapshot_then_deltas_and_never_a_usa_only_item_to_japan(env):
    client, server, _, _ = env
    _, token = login(client, "jpn")
    frames = []
    with client.websocket_connect(f"/api/ws?token={token}") as ws:
        frames.append(ws.receive_text())
        first = json.loads(frames[0])
        assert first["type"] == "snapshot" and {t["id"] for t in first["tracks"]} == {"JPN-N00001", "JPN-N00002"}
        # the stream the Japanese viewer is served: a picture with a moved shared track, the USA-only
        # track still there, and a new USA-only track; then the shared track becomes USA-only
        moved = [(ROWS[0][0], 12000.0, *ROWS[0][2:])] + ROWS[1:] + [
            ("USA-N00078", 1.0, 2.0, 3.0, ["USA"], ["USA:USA-10"], "aircraft", -1)]
        server.views["JPN"].handle(fused(t=104.0, rows=moved))
        frames.append(ws.receive_text())
        delta = json.loads(frames[-1])
        assert delta["type"] == "delta" and delta["seq"] == first["seq"] + 1
        # the shared track only moved: a row of the delta's columns, not an item; only what changed
        assert delta["tracks"] == [] and delta["moves"]["ids"] == ["JPN-N00001"]
        mv = delta["moves"]
        assert "lon" in mv and "lat" in mv and "identity" not in mv and "category" not in mv
        assert mv["markings"][mv["marking"][0]] == ["JPN", "USA"] and mv["t"] == 104.0
        narrowed = [(ROWS[0][0], 13000.0, ROWS[0][2], ROWS[0][3], ["USA"], *ROWS[0][5:])] + ROWS[1:]
        server.views["JPN"].handle(fused(t=106.0, rows=narrowed))
        frames.append(ws.receive_text())
        gone = json.loads(frames[-1])
        assert gone["removed"] == ["JPN-N00001"] and gone["tracks"] == []
        server.views["JPN"].handle(alert("USA-W10", rel=("USA",), t=130.0))
        server.views["JPN"].handle(alert("JPN-W2", t=131.0))
        frames.append(ws.receive_text())
        assert [a["id"] for a in json.loads(frames[-1])["alerts"]] == ["JPN-W2"]
    for f in frames:
        assert SECRET not in f and "USA-N00078" not in f and "USA-W10" not in f and "USA-W9" not in f
        assert json.loads(f)["nation"] == "JPN"


def test_publisher_filters_by_the_viewers_nation_before_it_diffs():
    v = NationView("JPN")
    v.start(sensor_set())
    v.handle(fused())
    usa_side = Publisher(v, "USA").poll()
    jpn_side = Publisher(v, "JPN").poll()
    assert SECRET in {t["id"] for t in usa_side["tracks"]}
    assert SECRET not in {t["id"] for t in jpn_side["tracks"]}


def moved_rows(dx: float, rows=ROWS):
    """``rows`` with every track moved ``dx`` m east."""
    return [(r[0], r[1] + dx, *r[2:]) for r in rows]


def test_moving_tracks_go_as_columns_and_changed_attributes_as_items():
    v = NationView("USA")
    v.start(sensor_set())
    v.handle(fused(t=100.0))
    pub = Publisher(v, "USA")
    pub.poll()
    # every track moves; JPN-N00002 also changes its category: it goes as an item of its changed fields
    rows = moved_rows(250.0)
    rows[1] = (*rows[1][:6], "cruise", rows[1][7])
    v.handle(fused(t=101.0, rows=rows))
    fr = pub.poll()
    mv = fr["moves"]
    assert mv["ids"] == ["JPN-N00001", SECRET] and mv["t"] == 101.0
    cur = v.state("USA")["tracks"]
    for i, tid in enumerate(mv["ids"]):  # each column holds each row's current value, rounded as the item
        assert mv["lat"][i] == cur[tid]["lat"] and mv["lon"][i] == cur[tid]["lon"]
        assert mv["markings"][mv["marking"][i]] == cur[tid]["releasable_to"]
    assert {k for k in mv} <= {"ids", "t", "markings", "marking", "lat", "lon", "alt", "ve", "vn", "vu", "speed",
                               "course", "smaj", "smin", "orient", "sigma_alt_m", "quality"}
    (item,) = fr["tracks"]
    assert item["id"] == "JPN-N00002" and item["category"] == "cruise" and "lon" in item
    assert item["releasable_to"] == ["AUS", "GBR", "JPN", "USA"]
    # a track whose marking changes goes as an item (its new releasable_to with it), never as a row
    rows2 = moved_rows(500.0, rows)
    rows2[0] = (rows2[0][0], *rows2[0][1:4], ["GBR", "JPN", "USA"], *rows2[0][5:])
    v.handle(fused(t=102.0, rows=rows2))
    fr = pub.poll()
    assert [t["id"] for t in fr["tracks"]] == ["JPN-N00001"] and fr["tracks"][0]["releasable_to"] == ["GBR", "JPN", "USA"]
    assert "JPN-N00001" not in fr["moves"]["ids"]


def test_a_japanese_viewer_gets_no_usa_only_row_in_any_column():
    """The USA-only track moves in every picture of JPN's node: it is in the American viewer's
    columns and in no column of the Japanese one's frames; and the last gate (encode_frame) drops a
    USA-only row put straight into a frame's columns."""
    v = NationView("JPN")
    v.start(sensor_set())
    pubs = {n: Publisher(v, n) for n in ("JPN", "USA")}
    seen = {"JPN": [], "USA": []}
    for k in range(4):
        v.handle(fused(t=100.0 + k, rows=moved_rows(100.0 * k)))
        for n, pub in pubs.items():
            fr = pub.poll()
            seen[n].append(encode_frame(fr, n))
    assert any(SECRET.encode() in f for f in seen["USA"]) and not any(SECRET.encode() in f for f in seen["JPN"])
    assert all(json.loads(f).get("moves") for f in seen["JPN"][1:])
    forged = {"type": "delta", "nation": "JPN", "seq": 9, "tracks": [], "moves": {
        "ids": ["JPN-N00001", SECRET, "JPN-N00002"], "t": 5.0, "markings": [["JPN", "USA"], ["USA"], ["JPN"]],
        "marking": [0, 1, 2], "lat": [1.0, 2.0, 3.0], "lon": [4.0, 5.0, 6.0]}}
    out = json.loads(encode_frame(forged, "JPN"))
    assert out["moves"] == {"ids": ["JPN-N00001", "JPN-N00002"], "t": 5.0, "markings": [["JPN", "USA"], ["JPN"]],
                            "marking": [0, 1], "lat": [1.0, 3.0], "lon": [4.0, 6.0]}
    assert SECRET not in json.dumps(out) and '"USA"]' not in json.dumps(out["moves"]["markings"][1:])


def test_health_counts_every_verdict_through_the_lossless_sink():
    v = NationView("JPN")
    v.start(sensor_set())
    counter, latest = v.sinks()
    assert counter.may_drop is False and latest.may_drop is True
    for k in range(50):
        counter.handle(MessageVerdict(float(k), True, "ok", "USA", "tracks", 3))
    for reason in ("bad_signature", "bad_signature", "unreleasable"):
        counter.handle(MessageVerdict(60.0, False, reason, "USA", "tracks", 1))
    latest.handle(fused(t=70.0))
    latest.close()
    h = v.health("JPN")
    assert h["partners"] == [{"nation": "USA", "admitted": 50, "rejected": 3, "age_s": 21.0,
                              "reasons": {"bad_signature": 2, "unreleasable": 1}}]
    assert h["rejected"] == {"bad_signature": 2, "unreleasable": 1}


def test_openapi_healthz_and_metrics(env):
    client, _, _, _ = env
    spec = client.get("/openapi.json").json()
    for p in ("/api/login", "/api/tracks", "/api/alerts", "/api/history", "/api/tracks/{track_id}", "/metrics", "/healthz"):
        assert p in spec["paths"]
    viewer, _ = login(client, "jpn")
    assert client.get("/healthz").status_code == 401  # no anonymous route but the login, the page and the spec
    assert client.get("/healthz", headers=viewer).json()["status"] == "ok"  # any role
    admin, token = login(client, "jpnadmin")
    with client.websocket_connect(f"/api/ws?token={token}") as ws:
        ws.receive_text()
        text = client.get("/metrics", headers=admin).text
    assert 'skyweave_view_clients{nation="JPN"} 1' in text
    assert 'skyweave_node_tracks{node="JPN"} 3' in text
    assert "# TYPE skyweave_refusals_total counter" in text and "process_cpu_seconds_total" in text
    assert client.get("/docs").status_code == 404  # its page would load scripts from outside


def test_the_page_is_served_without_login(env):
    client, _, _, _ = env
    r = client.get("/")
    assert r.status_code == 200 and "skyweave" in r.text and "<script" in r.text
    assert "http://" not in r.text and "https://" not in r.text


def test_users_command_stores_hashed_users(tmp_path):
    f = tmp_path / "users.json"
    run = CliRunner().invoke
    r = run(main, ["users", "add", "alice", "--nation", "AUS", "--role", "operator", "--password", "s3cret-pass", "--file", str(f)])
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    body = f.read_text()
    assert "s3cret-pass" not in body and "$argon2id$" in body
    assert UserStore(f).verify("alice", "s3cret-pass").role == "operator"
    assert UserStore(f).verify("alice", "wrong-pass") is None
    assert run(main, ["users", "list", "--file", str(f)]).output == "alice\tAUS\toperator\n"
    r = run(main, ["users", "add", "alice", "--nation", "AUS", "--password", "s3cret-pass", "--file", str(f)])
    assert r.exit_code == 2 and "Error: user 'alice' exists" in r.output
    r = run(main, ["users", "add", "bob", "--nation", "australia", "--password", "s3cret-pass", "--file", str(f)])
    assert r.exit_code == 2 and "nation 'australia'" in r.output
    r = run(main, ["users", "add", "bob", "--nation", "GBR", "--password", "short", "--file", str(f)])
    assert r.exit_code == 2 and "at least 8 characters" in r.output
    assert run(main, ["users", "remove", "alice", "--file", str(f)]).exit_code == 0
    r = run(main, ["users", "remove", "alice", "--file", str(f)])
    assert r.exit_code == 1 and "no user 'alice'" in r.output
    r = run(main, ["users", "list", "--file", str(tmp_path / "none.json")])
    assert r.exit_code == 1 and r.output.startswith("Error: ")
    (tmp_path / "bad.json").write_text("{not json")
    r = run(main, ["users", "list", "--file", str(tmp_path / "bad.json")])
    assert r.exit_code == 1 and "not JSON" in r.output


def test_serve_refuses_what_it_cannot_serve():
    run = CliRunner().invoke
    r = run(main, ["serve"])
    assert r.exit_code == 2 and "give --demo" in r.output
    r = run(main, ["serve", "--demo", "--demo-password", "short"])
    assert r.exit_code == 2 and "at least 8 characters" in r.output
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run(main, ["serve", "--demo", "--port", str(port)])
    assert r.exit_code == 1 and f"Error: --port {port}: cannot listen" in r.output
    r = run(main, ["serve", "--config", "node.yaml"])
    assert r.exit_code == 2 and "--config needs --users" in r.output  # tests/test_web_node.py runs one


def test_the_demo_loops_paced_and_starts_the_views_afresh(tmp_path):
    from skyweave.web.demo import DEMO_NATIONS, DemoNetwork

    views = {n: NationView(n) for n in DEMO_NATIONS}
    seen = []
    jpn = views["JPN"]
    orig = jpn.start

    def start(sensors):
        seen.append((jpn.run, len(jpn.tracks)))
        orig(sensors)

    jpn.start = start
    net = DemoNetwork(views, tmp_path / "net", speed=20.0, duration=12.0, loops=2, red_team_every_s=None).start()
    assert net.join(240)
    assert net.error is None and net.runs == 2
    assert [r for r, _ in seen] == [0, 1] and seen[1][1] > 0  # the second run began from a picture and reset it
    assert jpn.run == 2 and len(jpn.tracks) > 0 and jpn.t > 8.0
    assert all(v.run == 2 for v in views.values())


def test_the_pacer_holds_scenario_time_to_the_speed():
    import threading
    import time

    from skyweave.web.demo import Pacer

    p = Pacer(20.0)
    t0 = time.monotonic()
    assert p.wait(100.0)  # the first time seen is now
    assert p.wait(104.0) and p.wait(106.0)
    assert 0.28 <= time.monotonic() - t0 < 1.0  # 6 scenario seconds at 20x: 0.3 s
    stop = threading.Event()
    q = Pacer(1.0, stop)
    q.wait(0.0)
    threading.Timer(0.2, stop.set).start()
    t1 = time.monotonic()
    assert q.wait(30.0) is False and time.monotonic() - t1 < 2.0  # a stop ends the wait at once
