"""`skyweave node`: the NODE.yaml a network run writes starts the node as is; every mistake is one line."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.natsserver import NatsServer, free_port, nats_server_binary

pytestmark = pytest.mark.skipif(nats_server_binary() is None, reason="nats-server not installed (scripts/services.sh)")


def skyweave(*args, timeout=300):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SKYWEAVE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "skyweave.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def one_line_error(r, *needles, code=1):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: "), r.stderr
    for n in needles:
        assert n in last, (n, last)
    return last


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = NatsServer(tmp_path_factory.mktemp("js") / "store").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ran(tmp_path_factory, server):
    """A 40 s trilateral network over NATS (in this process): it writes each nation's NODE.yaml."""
    out = tmp_path_factory.mktemp("net")
    r = skyweave("network", "run", "trilateral", "--out", out, "--duration", 40, "--nats", server.url, "--json")
    assert r.returncode == 0, r.stderr
    return out


def test_the_node_yaml_a_network_run_writes_starts_that_node_as_is(ran, server):
    cfg_path = ran / "JPN" / "node.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    assert cfg["nats"] == server.url and Path(cfg["detections"]).is_file()
    before = (ran / "JPN" / "local.jsonl").read_text()
    # as is, except a shorter grace and no wall-clock pacing: the test does not wait 40 s
    fast = ran / "JPN" / "fast.yaml"
    fast.write_text(yaml.safe_dump({**cfg, "speed": 0, "grace_s": 0.5, "out": str(ran / "JPN-again")}))
    r = skyweave("node", "--config", fast)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["nation"] == "JPN" and summary["scans"] > 0 and summary["bad_lines"] == 0
    again = (ran / "JPN-again" / "local.jsonl").read_text()
    assert again and again == before  # the same own picture as in the network run
    assert (ran / "JPN-again" / "status.json").is_file()


def write_cfg(ran, tmp_path, **changes):
    cfg = yaml.safe_load((ran / "JPN" / "node.yaml").read_text())
    cfg.update(out=str(tmp_path / "o"), speed=0, grace_s=0.2)
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    p = tmp_path / "node.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_unreachable_nats_is_retried_with_back_off_then_one_line(ran, tmp_path):
    url = f"nats://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    r = skyweave("node", "--config", write_cfg(ran, tmp_path, nats=url, connect_retry_s=3))
    took = time.monotonic() - t0
    one_line_error(r, url, "cannot reach the NATS server")
    assert "retrying in" in r.stderr and 3 <= took < 60


@pytest.mark.parametrize("url", ["http://127.0.0.1:4222", "nats://bad host:4222", "nats://127.0.0.1:99999"])
def test_a_bad_nats_url_is_named(ran, tmp_path, url):
    one_line_error(skyweave("node", "--config", write_cfg(ran, tmp_path, nats=url)), "not a NATS URL")


def test_an_unknown_nation_is_named(ran, tmp_path):
    one_line_error(skyweave("node", "--config", write_cfg(ran, tmp_path, nation="FRA")), "'nation'", "FRA")


def test_a_missing_detections_file_is_named(ran, tmp_path):
    gone = tmp_path / "nowhere.jsonl"
    one_line_error(skyweave("node", "--config", write_cfg(ran, tmp_path, detections=str(gone))), "detections", str(gone))


def test_a_bad_key_file_is_named(ran, tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    one_line_error(skyweave("node", "--config", write_cfg(ran, tmp_path, private_key=str(bad))), "private_key", str(bad))


def test_config_mistakes_are_named(ran, tmp_path):
    one_line_error(skyweave("node", "--config", write_cfg(ran, tmp_path, colour="blue")), "unknown key 'colour'")
    one_line_error(skyweave("node", "--config", write_cfg(ran, tmp_path, sensors=None)), "'sensors'")
    one_line_error(skyweave("node", "--config", tmp_path / "none.yaml"), "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nation: [JPN\n")
    one_line_error(skyweave("node", "--config", bad), "bad.yaml")


def test_two_nodes_over_a_secured_cluster_share_sealed_frames(ran, tmp_path):
    """JPN and USA as separate `skyweave node` processes on a nats-server with TLS, one user per
    nation with least permissions, streams made by the administrator, every frame sealed."""
    from skyweave.share.natsbus import ensure_streams
    from tests.support.natsserver import SecureSetup, make_test_pki

    nations = ["AUS", "GBR", "JPN", "USA"]
    users = {n: (n.lower(), f"pw-{n}") for n in nations}
    pki = make_test_pki(tmp_path / "pki")
    server = NatsServer(tmp_path / "js", secure=SecureSetup(pki, users=users, admin=("admin", "pw-admin"))).start()
    try:
        ensure_streams(server.url, nations, user="admin", password="pw-admin", tls_ca=str(pki.ca))
        start = time.time() + 4.0
        procs = {}
        for n in ("JPN", "USA"):
            cfg = yaml.safe_load((ran / n / "node.yaml").read_text())
            cfg.update(nats=server.url, nats_user=users[n][0], nats_password=users[n][1], nats_tls_ca=str(pki.ca),
                       nats_create_streams=False, out=str(tmp_path / n), speed=4, start_wall=start, grace_s=3)
            p = tmp_path / f"{n}.yaml"
            p.write_text(yaml.safe_dump(cfg))
            procs[n] = subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", "node", "--config", str(p)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n, pr in procs.items():
            out, err = pr.communicate(timeout=120)
            assert pr.returncode == 0, (n, err[-2000:])
            status = json.loads((tmp_path / n / "status.json").read_text())
            assert status["reports_in"] > 50, (n, status)  # the partner's sealed reports, opened and admitted
            # nothing refused: no frame unsealable, unsealed, forged or unreleasable; only a node
            # that fell behind its partner by more than 5 s of scenario time (1.25 s of wall time
            # at 4x on a loaded machine) may see a few of its partner's frames as "future"
            assert set(status["rejected"]) <= {"future"}, (n, status["rejected"])
            assert status["rejected"].get("future", 0) < status["reports_in"] / 10, (n, status)
        # a node without credentials is refused at once, with one line
        cfg = yaml.safe_load((tmp_path / "JPN.yaml").read_text())
        cfg.update(nats_password="wrong", connect_retry_s=5)
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump(cfg))
        one_line_error(skyweave("node", "--config", bad), server.url)
    finally:
        server.stop()


def test_a_paced_node_whose_sensors_are_silent_keeps_its_clock_and_ticks(ran, tmp_path):
    """A node process paced on the wall clock moves its clock and ticks while it waits for its
    own first scan (GBR's ship joins the trilateral at 900 s): it judges its partners' frames and
    writes its picture meanwhile, instead of holding them unjudged (``no_clock``)."""
    from types import SimpleNamespace

    from skyweave.io.formats import load_sensors
    from skyweave.node.node_config import LiveNode

    first = next(json.loads(x) for x in (ran / "detections.jsonl").read_text().splitlines()
                 if json.loads(x)["sensor"].startswith("USA-DDG"))
    first["t"] = 6.0   # its first scan comes 6 s of scenario time (1.5 s of wall at 4x) after the start
    (tmp_path / "detections.jsonl").write_text(json.dumps(first) + "\n")
    calls = []

    class Node:
        keep_timing = False
        ticked = 0.0

        def advance(self, t):
            calls.append(("advance", t))

        def due(self, t):
            return t >= self.ticked + 2.0

        def tick(self, t):
            self.ticked = t
            calls.append(("tick", t))

        def ingest(self, raw):
            calls.append(("ingest", raw.t))

        def close(self):
            return {}

    setup = SimpleNamespace(speed=4.0, start_wall=time.time(), detections=tmp_path / "detections.jsonl",
                            sensors=load_sensors(ran / "sensors.json"), nation="USA", grace_s=0.0, out=tmp_path,
                            end_s=12.0)
    LiveNode(setup, Node(), SimpleNamespace(flush=lambda: None, close=lambda: None)).run()
    at = calls.index(("ingest", 6.0))
    before, after = calls[:at], calls[at + 1:]
    assert any(k == "tick" and 2.0 <= t < 6.0 for k, t in before), calls
    assert any(k == "advance" and 0.0 < t < 6.0 for k, t in before), calls
    # and on to the run's end (``end_s``) after its last scan
    assert any(k == "tick" and t >= 10.0 for k, t in after), calls
    assert ("advance", 12.0) in after, calls
