"""`skyweave serve --config NODE.yaml --users FILE`: one nation's node over a real NATS, its live picture on the web.

The NODE.yaml files a network run writes start the nodes as is (only the NATS URL, the output
folder and a common paced start change): USA runs as `skyweave node`, JPN as `skyweave serve`,
each a process of its own on one nats-server; the Japanese user logs in over HTTP and sees the
joint picture (tracks with USA contributions, reached over NATS), the American user is refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from click.testing import CliRunner

from skyweave.cli.main import main
from skyweave.web.users import UserStore
from tests.support.natsserver import NatsServer, free_port, nats_server_binary

needs_nats = pytest.mark.skipif(nats_server_binary() is None, reason="nats-server not installed (scripts/services.sh)")

PASSWORD = "correct-horse-9"
SPEED = 2.0       # scenario seconds per wall-clock second
DURATION = 16     # scenario seconds the network run simulates


@pytest.fixture(scope="module")
def nats(tmp_path_factory):
    s = NatsServer(tmp_path_factory.mktemp("js") / "store").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A short in-process trilateral network run: it writes each nation's NODE.yaml."""
    out = tmp_path_factory.mktemp("net")
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", "network", "run", "trilateral", "--out", str(out),
                        "--duration", str(DURATION), "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users.json"
    store = UserStore(path)
    store.add("jpn", "JPN", "viewer", PASSWORD)
    store.add("usa", "USA", "viewer", PASSWORD)
    return path


def node_yaml(net, nation, folder, **changes):
    """NODE.yaml of ``nation`` as the network run wrote it, with ``changes`` (a key set to None is removed)."""
    cfg = yaml.safe_load((net / nation / "node.yaml").read_text())
    cfg["out"] = str(folder / nation)
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    p = folder / f"{nation}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def start(folder, name, *args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SKYWEAVE_DEBUG", None)
    so, se = open(folder / f"{name}.out", "w"), open(folder / f"{name}.err", "w")
    return subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", *map(str, args)], stdout=so, stderr=se, env=env)


def login(base, user):
    return httpx.post(f"{base}/api/login", json={"user": user, "password": PASSWORD}, timeout=10)


def until(check, deadline, what):
    """``check()``'s first truthy answer before the wall-clock ``deadline`` (a failure naming ``what`` after it)."""
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


@needs_nats
def test_serve_config_runs_the_node_over_nats_and_serves_its_nations_picture(net, nats, users, tmp_path):
    t_start = time.time() + 10.0  # both nodes' scenario time 0: after both processes are up (slow on 2 busy cores)
    paced = {"nats": nats.url, "speed": SPEED, "start_wall": t_start, "grace_s": 2.0}
    usa = start(tmp_path, "usa", "node", "--config", node_yaml(net, "USA", tmp_path, **paced))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    jpn_cfg = node_yaml(net, "JPN", tmp_path, **paced)
    serve = start(tmp_path, "serve", "serve", "--config", jpn_cfg, "--users", users, "--port", port,
                  "--out", tmp_path / "serve")
    try:
        def up():
            assert serve.poll() is None, (tmp_path / "serve.err").read_text()
            try:
                return login(base, "jpn")
            except httpx.TransportError:
                return None

        r = until(up, time.time() + 40, "the server to answer")
        assert r.status_code == 200, r.text
        assert r.json()["nation"] == "JPN"
        auth = {"Authorization": f"Bearer {r.json()['token']}"}
        # a node serves its own nation's picture: the American user may not log in here
        refused = login(base, "usa")
        assert refused.status_code == 403 and "USA" in refused.json()["detail"] and "JPN" in refused.json()["detail"]
        assert login(base, "nobody").status_code == 401
        # no anonymous liveness probe either
        assert httpx.get(f"{base}/healthz").status_code == 401
        assert httpx.get(f"{base}/healthz", headers=auth).json()["status"] == "ok"

        def joint_tracks():
            tracks = httpx.get(f"{base}/api/tracks", headers=auth).json()["tracks"]
            return tracks if any("USA" in t["nations"] for t in tracks) else None

        # JPN's own tracks and the USA node's, reached over NATS, fused into the picture the viewer sees
        tracks = until(joint_tracks, t_start + DURATION / SPEED + 30, "tracks with USA contributions")
        assert all("JPN" in t["releasable_to"] for t in tracks)
        assert all(k in tracks[0] for k in ("lat", "lon", "alt", "ellipse", "nations", "sensors"))
        health = httpx.get(f"{base}/api/health", headers=auth).json()
        assert health["node"] == "JPN" and health["sensors"]
        assert {p["nation"]: p["admitted"] for p in health["partners"]}.get("USA", 0) > 0
        assert usa.wait(60) == 0, (tmp_path / "usa.err").read_text()[-2000:]
        # the JPN node ends its replay as `skyweave node` does; the server keeps its last picture on view
        until(lambda: (tmp_path / "JPN" / "status.json").is_file(), time.time() + 30, "the JPN node to close")
        assert httpx.get(f"{base}/api/tracks", headers=auth).json()["tracks"]
    finally:
        for p in (serve, usa):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
    assert serve.wait(30) == 0
    err = (tmp_path / "serve.err").read_text()
    assert "Traceback" not in err, err
    summary = json.loads((tmp_path / "serve.out").read_text().strip().splitlines()[-1])
    assert summary["nation"] == "JPN" and summary["scans"] > 0 and summary["reports_in"] > 0 and summary["bad_lines"] == 0
    status = json.loads((tmp_path / "JPN" / "status.json").read_text())
    assert status["picture_tracks"] > 0
    audit = [json.loads(line) for line in (tmp_path / "serve" / "audit.jsonl").read_text().splitlines()]
    assert any(a["event"] == "login" and a["user"] == "jpn" for a in audit)
    assert any(a["event"] == "refused" and a["status"] == 403 and a["user"] == "usa" for a in audit)


@needs_nats
def test_a_stop_while_the_node_replays_closes_it(net, nats, users, tmp_path):
    """SIGTERM (as Ctrl-C) in mid-replay: the server stops, the node is closed (status.json), exit 0."""
    port = free_port()
    cfg = node_yaml(net, "JPN", tmp_path, nats=nats.url, speed=0.5)
    serve = start(tmp_path, "serve", "serve", "--config", cfg, "--users", users, "--port", port)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert serve.poll() is None, (tmp_path / "serve.err").read_text()
        try:
            return login(base, "jpn")
        except httpx.TransportError:
            return None

    try:
        auth = {"Authorization": f"Bearer {until(up, time.time() + 40, 'the server to answer').json()['token']}"}
        until(lambda: httpx.get(f"{base}/api/health", headers=auth).json()["sensors"], time.time() + 20, "a first scan")
    finally:
        serve.send_signal(signal.SIGTERM)
    assert serve.wait(30) == 0, (tmp_path / "serve.err").read_text()
    status = json.loads((tmp_path / "JPN" / "status.json").read_text())
    whole = json.loads((net / "JPN" / "status.json").read_text())  # the network run's JPN node, every scan
    assert status["nation"] == "JPN" and 0 < status["scans"] < whole["scans"]  # stopped early: 16 s at half speed is 32 s
    assert (tmp_path / "JPN" / "audit.jsonl").is_file()  # without --out: next to the node's files


def one_line_error(r, *needles, code=1):
    assert r.exit_code == code, r.output
    assert isinstance(r.exception, SystemExit), r.exception  # no traceback
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: "), r.output
    for n in needles:
        assert n in last, (n, last)
    return last


@needs_nats
def test_serve_config_mistakes_are_one_line(net, users, tmp_path):
    run = CliRunner().invoke
    cfg = node_yaml(net, "JPN", tmp_path)
    missing = tmp_path / "none.yaml"
    one_line_error(run(main, ["serve", "--config", missing, "--users", users]), f"--config {missing}", "no such file")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nation: [JPN\n")
    one_line_error(run(main, ["serve", "--config", bad, "--users", users]), str(bad))
    one_line_error(run(main, ["serve", "--config", node_yaml(net, "JPN", tmp_path, colour="blue"), "--users", users]),
                   "unknown key 'colour'")
    url = f"nats://127.0.0.1:{free_port()}"
    r = run(main, ["serve", "--config", node_yaml(net, "JPN", tmp_path, nats=url, connect_retry_s=3), "--users", users,
                   "--port", free_port()])
    one_line_error(r, url, "cannot reach the NATS server")
    assert "retrying in" in r.output
    # the users: required, the file must exist, and someone of the node's nation must be in it
    one_line_error(run(main, ["serve", "--config", cfg]), "--config needs --users", code=2)
    one_line_error(run(main, ["serve", "--config", cfg, "--users", tmp_path / "nousers.json"]), "nousers.json",
                   "no such file")
    others = tmp_path / "others.json"
    UserStore(others).add("gbr", "GBR", "viewer", PASSWORD)
    one_line_error(run(main, ["serve", "--config", cfg, "--users", others]), "no user of JPN", "--nation JPN")
    # the demo's options are the demo's
    one_line_error(run(main, ["serve", "--config", cfg, "--users", users, "--demo"]), "give one", code=2)
    one_line_error(run(main, ["serve", "--config", cfg, "--users", users, "--speed", "3"]), "--speed", "only with --demo",
                   code=2)


def test_a_user_of_a_nation_the_server_serves_no_view_of_gets_403_and_no_token(tmp_path):
    from fastapi.testclient import TestClient

    from skyweave.web.app import ViewServer, create_app
    from skyweave.web.users import AuditLog
    from skyweave.web.view import NationView

    store = UserStore()
    store.add("jpn", "JPN", "viewer", PASSWORD)
    store.add("usaadmin", "USA", "admin", PASSWORD)
    server = ViewServer({"JPN": NationView("JPN")}, store, audit=AuditLog(tmp_path / "audit.jsonl"))
    with TestClient(create_app(server)) as client:
        r = client.post("/api/login", json={"user": "usaadmin", "password": PASSWORD})
        assert r.status_code == 403 and "token" not in r.json()
        assert r.json()["detail"] == "user 'usaadmin' belongs to USA: this server serves the picture of JPN only"
        assert len(server.sessions) == 0  # no session was opened, whatever the role
        assert client.post("/api/login", json={"user": "usaadmin", "password": "wrong-password"}).status_code == 401
        assert client.post("/api/login", json={"user": "jpn", "password": PASSWORD}).status_code == 200
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(a["event"], a.get("status"), a["user"]) for a in audit] == [
        ("refused", 403, "usaadmin"), ("login_failed", None, "usaadmin"), ("login", None, "jpn")]
