"""A node process on its journal, killed and restarted over a real nats-server (issue 15, item 4).

``skyweave network run --nats URL --processes --journal DIR`` runs one node process per nation,
each on its own journal. The test kills JPN's process (SIGKILL) mid-run; the runner starts it
again on its journal. Then, with "whole" meaning exactly this:

- frames: every partner frame addressed to JPN that JetStream holds as acknowledged by JPN's
  durable consumer (stream sequence from JPN's first received frame up to the consumer's ack
  floor) is in JPN's journal exactly once, and the journal holds no other frame: 0 lost, 0 twice;
- scans: JPN's journal holds each of its own scans (sensor, time) exactly once, in time order,
  every one of its detections file;
- files: JPN's ``local.jsonl`` is byte for byte the one its journal's inputs give (``skyweave
  replay`` of the journal; the local tracker depends on its own scans only, so it is also the
  uninterrupted run's); ``picture.jsonl`` holds one picture per tick time, in time order, each
  ``(t, track_id)`` once, at every tick the journal records.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

from skyweave.node.journal import decode_scan, describe, frame_digest, open_reader
from tests.support.natsserver import NatsServer, nats_server_binary

pytestmark = pytest.mark.skipif(nats_server_binary() is None, reason="nats-server not installed (scripts/services.sh)")

NATIONS = ("AUS", "GBR", "JPN", "USA")
VICTIM = "JPN"


def stream_messages(url: str, sender: str, to: str) -> list[tuple[int, str, bytes]]:
    """(stream sequence, subject, data) of every message in ``sender``'s stream addressed to ``to``."""
    import nats

    async def main():
        nc = await nats.connect(url)
        js = nc.jetstream()
        info = await js.stream_info(f"SKYWEAVE_{sender}")
        got = []
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            m = await js.get_msg(f"SKYWEAVE_{sender}", seq)
            if m.subject.split(".")[2] == to:
                got.append((seq, m.subject, m.data))
        await nc.close()
        return got

    return asyncio.run(main())


def ack_floor(url: str, sender: str, durable: str) -> tuple[int, int]:
    """The consumer's ack floor (stream sequence) and its count of deliveries not acknowledged."""
    import nats

    async def main():
        nc = await nats.connect(url)
        ci = await nc.jetstream().consumer_info(f"SKYWEAVE_{sender}", durable)
        await nc.close()
        return ci.ack_floor.stream_seq, ci.num_ack_pending

    return asyncio.run(main())


def journal_scans(path: Path) -> int:
    try:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT count(*) FROM records WHERE kind = 'scan'").fetchone()[0]
    except sqlite3.Error:
        return 0


@contextmanager
def killed_network(root: Path, journal, victim_journal, scans_in: Callable[[object], int]):
    """A 40 s trilateral run over a real nats-server, one node process per nation on its journal
    (``journal``: a folder or a postgresql:// URL), JPN's process SIGKILLed once ``scans_in(
    victim_journal)`` counts 25 journaled scans; yields (out, victim_journal, NATS URL, the run's
    summary, what was killed, the run's stderr)."""
    server = NatsServer(root / "js").start()
    out = root / "run"
    proc = subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", "network", "run", "trilateral", "--out", out,
                             "--duration", "40", "--nats", server.url, "--processes", "--speed", "4",
                             "--journal", journal, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SKYWEAVE_DEBUG": ""})
    killed = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if scans_in(victim_journal) >= 25 and (out / VICTIM / "node.pid").exists():
                pid = int((out / VICTIM / "node.pid").read_text())
                killed["scans"] = scans_in(victim_journal)
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                return
            time.sleep(0.2)

    th = threading.Thread(target=killer)
    th.start()
    try:
        so, se = proc.communicate(timeout=240)
    finally:
        th.join(timeout=5)
        if proc.poll() is None:
            proc.kill()
    try:
        assert proc.returncode == 0, se[-3000:]
        yield out, victim_journal, server.url, json.loads(so), killed, se
    finally:
        server.stop()


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("restart")
    jdir = root / "journals"
    with killed_network(root, jdir, jdir / f"{VICTIM}.sqlite", journal_scans) as run:
        yield run


def test_the_killed_node_was_restarted(killed_run):
    out, _, _, summary, killed, se = killed_run
    assert "pid" in killed, "the victim was not killed mid-run"
    assert summary["restarts"] == {VICTIM: 1}
    assert f"node {VICTIM} died" in se
    s = summary["nodes"][VICTIM]
    assert s["resumed"]["inputs"]["scan"] >= killed["scans"] >= 25
    assert s["resumed"]["scans_skipped"] == s["resumed"]["inputs"]["scan"]  # the feed resumed after them
    for n in NATIONS:
        assert summary["nodes"][n]["picture_tracks"] > 0
    # the frames sent while it was down were judged once it had caught up, not as "future"
    assert s["rejected"].get("future", 0) < s["reports_in"] / 10, s


def test_no_frame_lost_or_counted_twice(killed_run):
    out, journal, url, _, _, _ = killed_run
    r = open_reader(journal)
    frames = [(s, b) for _, _, _, _, _, s, b in r.records(("frame",), nation=VICTIM)]
    r.close()
    digests = Counter(frame_digest(s, b) for s, b in frames)
    assert digests and max(digests.values()) == 1  # 0 counted twice
    expected, senders = set(), 0
    for sender in NATIONS:
        if sender == VICTIM:
            continue
        floor, pending = ack_floor(url, sender, f"{VICTIM}-1")
        msgs = stream_messages(url, sender, VICTIM)
        if not msgs:
            continue  # a partner with nothing releasable to the victim
        mine = [(seq, frame_digest(s, d)) for seq, s, d in msgs if frame_digest(s, d) in digests]
        assert mine, f"no frame from {sender} journaled"
        senders += 1
        first = min(seq for seq, _ in mine)
        acked = {d for seq, s, d in ((q, s, frame_digest(s, d)) for q, s, d in msgs) if first <= seq <= floor}
        assert pending == 0 and max(seq for seq, _ in mine) <= floor  # what it journaled, it acknowledged
        expected |= acked
    assert senders >= 2
    assert expected == set(digests)  # 0 lost: every acknowledged frame is journaled, nothing else is


def test_scans_once_in_time_order(killed_run):
    from skyweave.io.formats import load_sensors
    from skyweave.node.sources import DetectionsFile

    out, journal, _, _, _, _ = killed_run
    r = open_reader(journal)
    scans = [decode_scan(b) for *_, b in r.records(("scan",), nation=VICTIM)]
    r.close()
    keys = [(s.sensor, s.t) for s in scans]
    assert len(keys) == len(set(keys))
    assert [s.t for s in scans] == sorted(s.t for s in scans)
    sensors = load_sensors(out / "sensors.json")
    own = [(s.sensor, s.t) for s in DetectionsFile(out / VICTIM / "detections.jsonl", sensors)]
    assert keys == own


def test_files_are_whole(killed_run, tmp_path):
    out, journal, _, _, _, _ = killed_run
    again = tmp_path / "again"
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", "replay", journal, "--out", again,
                        "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    local = (out / VICTIM / "local.jsonl").read_bytes()
    assert local and local == (again / VICTIM / "local.jsonl").read_bytes()
    # without its X25519 key the frames sealed to it stay shut, and replay says so
    assert json.loads(r.stdout)["sealed_unopened"].get(VICTIM, 0) > 0
    # with it, the node's fused picture and alerts are re-driven too: the same bytes as the killed and restarted node's
    opened = tmp_path / "opened"
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", "replay", journal, "--out", opened,
                        "--seal-keys", out / "keys", "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sealed_unopened"] == {}
    for name in ("local.jsonl", "picture.jsonl", "alerts.jsonl"):
        assert (out / VICTIM / name).read_bytes() == (opened / VICTIM / name).read_bytes(), name
    lines = [json.loads(ln) for ln in (out / VICTIM / "picture.jsonl").read_text().splitlines()]
    ts = [d["t"] for d in lines]
    assert ts == sorted(ts)
    keys = [(d["t"], d["track_id"]) for d in lines]
    assert len(keys) == len(set(keys))
    reader = open_reader(journal)
    ticks = sorted({t for _, _, _, t, *_ in reader.records(("tick",), nation=VICTIM)})
    reader.close()
    assert set(ts) <= set(ticks)
    # a picture's lines together: each tick's picture is written once
    starts = [i for i in range(len(ts)) if i == 0 or ts[i] != ts[i - 1]]
    assert len(starts) == len(set(ts))
    # the tick rhythm runs through the restart: no tick twice, none missing (2 s report interval)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert ticks and min(gaps) > 0 and max(gaps) < 2 * 2.0


def test_a_record_waits_for_its_commit_and_no_longer(tmp_path):
    from skyweave.node.journal import Journal

    j = Journal(tmp_path / "j.sqlite", batch=1000, interval_s=3600, flush_every_s=0.05)
    done = threading.Event()
    seq = j.write("JPN", "frame", 1.0, b"x", subject="skyweave.USA.JPN.tracks")
    j.when_committed(seq, done.set)
    assert done.wait(2.0)  # the flusher committed it within its interval, no other record needed
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 1
    late = []
    j.when_committed(seq, lambda: late.append(1))  # already committed: at once
    assert late == [1]
    j.close()


def test_a_frame_is_acknowledged_only_when_its_gate_lets_it(tmp_path):
    """The NatsBus ack hook: a frame whose gate never acknowledges is delivered again to the
    durable consumer; one whose gate acknowledges is not."""
    from skyweave.share import NatsBus

    server = NatsServer(tmp_path / "js").start()
    try:
        usa = NatsBus(server.url, nations=["JPN", "USA"], name="usa")

        def take(hold: bool) -> list[bytes]:
            got: list[bytes] = []
            bus = NatsBus(server.url, nations=["JPN", "USA"], name="jpn", ack_wait_s=1.0, deliver="all")
            bus.ack_gate = (lambda ack: None) if hold else (lambda ack: ack())
            bus.subscribe("skyweave.*.JPN.>", lambda s, d: got.append(d), durable="jpn-gate")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and len(got) < 3:
                time.sleep(0.05)
            time.sleep(0.3)
            bus.close()
            return got

        for i in range(3):
            usa.publish("skyweave.USA.JPN.tracks", f"frame {i}".encode(), msg_id=f"usa-{i}")
        assert take(hold=True) == [b"frame 0", b"frame 1", b"frame 2"]   # taken, never acknowledged
        assert take(hold=False) == [b"frame 0", b"frame 1", b"frame 2"]  # ... so delivered again, acknowledged now
        usa.publish("skyweave.USA.JPN.tracks", b"frame 3", msg_id="usa-3")
        assert take(hold=False) == [b"frame 3"]                             # only what was not acknowledged
        usa.close()
    finally:
        server.stop()


def test_a_node_refuses_another_nodes_journal(killed_run, tmp_path):
    from tests.test_journal import one_error

    out, journal, _, _, _, _ = killed_run
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", "node", "--config", out / "USA" / "node.yaml",
                        "--journal", journal], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "SKYWEAVE_DEBUG": ""})
    one_error(r, describe(journal), "another node's", "not USA")
    one_error(subprocess.run([sys.executable, "-m", "skyweave.cli.main", "node", "--config", out / "USA" / "node.yaml",
                              "--journal", tmp_path], capture_output=True, text=True, timeout=120), "--journal", "folder")
