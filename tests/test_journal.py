"""The journal (skyweave/node/journal.py): recording, byte-identical replay, bad journals, a killed writer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from skyweave.cli.common import PREFIX
from skyweave.io.scans import RawScan
from skyweave.node.journal import (
    Journal,
    JournalError,
    JournalReader,
    config_from_json,
    config_to_json,
    decode_scan,
    encode_scan,
)
from skyweave.node.network import node_configs
from tests.support.journal_writer import check_whole_batches, run_and_kill


REPO = Path(__file__).resolve().parents[1]
NATIONS = ("AUS", "GBR", "JPN", "USA")
FILES = ("local.jsonl", "picture.jsonl", "alerts.jsonl")


def sky(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "skyweave.cli.main", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "SKYWEAVE_DEBUG": ""}, timeout=timeout)


def one_error(r, *words) -> str:
    """Exit 1 or 2, no traceback, exactly one Error: line, naming every one of ``words``."""
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(PREFIX)]
    assert len(lines) == 1, r.stderr
    assert r.returncode in (1, 2), (r.returncode, r.stderr)
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def early_missile(folder: Path) -> Path:
    """The trilateral scenario with its first ballistic launch at t=1 s, so that 60 s hold alerts."""
    src = (REPO / "skyweave" / "scenarios" / "trilateral.yaml").read_text()
    assert "t_start: 200, launch" in src
    p = folder / "early_missile.yaml"
    p.write_text(src.replace("t_start: 200, launch", "t_start: 1, launch"))
    return p


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A 60 s in-process run (with red-team frames) journaled, and its replay."""
    root = tmp_path_factory.mktemp("journal")
    run, journal, again = root / "run", root / "run.sqlite", root / "replay"
    r = sky("network", "run", early_missile(root), "--out", run, "--duration", 60, "--red-team", 20,
            "--journal", journal, "--json")
    assert r.returncode == 0, r.stderr
    r2 = sky("replay", journal, "--out", again, "--json")
    assert r2.returncode == 0, r2.stderr
    return run, journal, again, json.loads(r.stdout), json.loads(r2.stdout)


def test_replay_reproduces_the_files_byte_for_byte(recorded):
    run, _, again, summary, replayed = recorded
    assert replayed["nations"] == list(NATIONS) == summary["nations"]
    alerts = 0
    for n in NATIONS:
        for f in FILES:
            a, b = (run / n / f).read_bytes(), (again / n / f).read_bytes()
            assert a == b, f"{n}/{f} differs after replay"
        alerts += len((run / n / "alerts.jsonl").read_text().splitlines())
        assert replayed["nodes"][n]["rejected"] == summary["nodes"][n]["rejected"]
    # the comparison means something: pictures, alerts and refused red-team frames are there
    assert alerts > 0
    assert sum(len((run / n / "picture.jsonl").read_text().splitlines()) for n in NATIONS) > 1000
    assert sum(sum(summary["nodes"][n]["rejected"].values()) for n in NATIONS) > 0
    assert replayed["verdicts_differ"] == 0
    assert (again / "rejected.log").read_text().count("bad_signature") > 0


def test_journal_holds_inputs_and_outputs(recorded):
    run, journal, _, summary, _ = recorded
    r = JournalReader(journal)
    assert set(r.nodes) == set(NATIONS)
    with sqlite3.connect(journal) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        seqs = [s for (s,) in db.execute("SELECT seq FROM records ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    # inputs: every detection of the run was recorded in its scan, exactly (floats round-trip)
    dets = [json.loads(ln) for ln in (run / "detections.jsonl").read_text().splitlines()]
    scans = [decode_scan(b) for *_, b in r.records(("scan",))]
    assert sum(len(s) for s in scans) == len(dets)
    first = dets[0]
    s0 = next(s for s in scans if s.sensor == first["sensor"] and s.t == first["t"])
    assert any(float(first[k]) == s0.cols[k][0] for k in s0.cols if k in first)
    frames = sum(1 for _ in r.records(("frame",)))
    verdicts = sum(1 for _ in r.records(("verdict",)))
    assert frames > 0 and verdicts >= frames
    assert r.count("close") == len(NATIONS)
    # outputs: the recorded pictures and alerts are the node's files
    for n in NATIONS:
        local = "".join(b for *_, b in r.records(("local",), nation=n))
        assert local == (run / n / "local.jsonl").read_text()
        ticks = "".join(b for _, _, _, _, _, subj, b in r.records(("fused",), nation=n) if subj == "tick")
        assert ticks == (run / n / "picture.jsonl").read_text()
        alerts = "".join(b + "\n" for *_, b in r.records(("alert",), nation=n))
        assert alerts == (run / n / "alerts.jsonl").read_text()
    r.close()


def test_scan_and_config_round_trip():
    raw = RawScan("R1", "radar", 12.5, {"range": np.array([1.0 / 3, np.pi]), "az": np.array([-0.1, np.nan])},
                  np.array([0xABCDEF, -1]), np.array([1.5, 2.5, 3.5]), np.array([7, 8]))
    back = decode_scan(encode_scan(raw))
    assert (back.sensor, back.kind, back.t) == ("R1", "radar", 12.5)
    np.testing.assert_array_equal(back.cols["range"], raw.cols["range"])
    np.testing.assert_array_equal(back.cols["az"], raw.cols["az"])  # NaN included
    np.testing.assert_array_equal(back.identity, raw.identity)
    np.testing.assert_array_equal(back.platform, raw.platform)
    np.testing.assert_array_equal(back.lines, raw.lines)
    bare = decode_scan(encode_scan(RawScan("A", "adsb", 1.0, {}, None, None, np.zeros(0, dtype=np.int64))))
    assert bare.identity is None and bare.platform is None
    cfg = node_configs(NATIONS, 2.0, True, live=False, deterministic=True)["JPN"]
    assert config_from_json(config_to_json(cfg)) == cfg


def test_batches_commit_every_n_records(tmp_path):
    path = tmp_path / "j.sqlite"
    commits = []
    j = Journal(path, batch=10, interval_s=3600, on_commit=commits.append)

    def visible() -> int:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT count(*) FROM records").fetchone()[0]

    for i in range(9):
        j.write("AUS", "advance", float(i))
    assert visible() == 0  # the batch is not committed yet
    j.write("AUS", "advance", 9.0)
    assert visible() == 10 and commits == [10]
    j.write("AUS", "tick", float("nan"))  # a clock not set yet is stored as NULL
    j.close()
    assert visible() == 11 and commits == [10, 11]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT t FROM records WHERE seq = 11").fetchone()[0] is None
    with pytest.raises(JournalError, match="closed"):
        j.write("AUS", "tick", 1.0)
    with pytest.raises(ValueError, match="batch"):
        Journal(tmp_path / "k.sqlite", batch=0)


def test_missing_or_corrupt_journal_gives_one_error_line(tmp_path, recorded):
    _, journal, _, _, _ = recorded
    one_error(sky("replay", tmp_path / "nowhere.sqlite", "--out", tmp_path / "o1"), "nowhere.sqlite", "no such journal")
    junk = tmp_path / "junk.sqlite"
    junk.write_text('{"not": "a journal"}\n')
    one_error(sky("replay", junk, "--out", tmp_path / "o2"), "junk.sqlite", "not a skyweave journal")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    one_error(sky("replay", other, "--out", tmp_path / "o3"), "other.sqlite", "not a readable skyweave journal")
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(journal.read_bytes()[:20000])
    one_error(sky("replay", cut, "--out", tmp_path / "o4"), "cut.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(journal.read_bytes())
    with sqlite3.connect(bad) as db:
        db.execute("UPDATE records SET body = 'xx' WHERE seq = (SELECT min(seq) FROM records WHERE kind = 'scan')")
    one_error(sky("replay", bad, "--out", tmp_path / "o5"), "bad.sqlite", "damaged record")
    one_error(sky("replay", journal, "--out", tmp_path / "o6", "--speed", "-1"), "--speed")
    one_error(sky("replay", journal, "--out", tmp_path / "o7", "--seal-keys", tmp_path / "nokeys"), "nokeys",
              "no such folder")
    (tmp_path / "keys").mkdir()
    one_error(sky("replay", journal, "--out", tmp_path / "o8", "--seal-keys", tmp_path / "keys"), "keys",
              "holds no X25519 key")
    (tmp_path / "keys" / "JPN.x25519").write_text("not a key\n")
    one_error(sky("replay", journal, "--out", tmp_path / "o9", "--seal-keys", tmp_path / "keys"), "JPN.x25519",
              "not a usable X25519 private key")
    # --processes takes a URL too (a schema per node), checked before the run starts
    one_error(sky("network", "run", "clutter-10", "--out", tmp_path / "n", "--journal", "postgresql://h/db",
                  "--nats", "nats://127.0.0.1:9", "--processes"), "--journal", "postgresql://h/db",
              "cannot connect to PostgreSQL")
    afile = tmp_path / "afile"
    afile.write_text("")
    one_error(sky("network", "run", "clutter-10", "--out", tmp_path / "n3", "--journal", afile,
                  "--nats", "nats://127.0.0.1:9", "--processes"), "--journal", "folder")
    one_error(sky("network", "run", "clutter-10", "--out", tmp_path / "n2", "--journal", tmp_path), "--journal")


def test_killed_writer_leaves_every_committed_batch(tmp_path):
    path = tmp_path / "killed.sqlite"
    acked = run_and_kill(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    r = JournalReader(path)
    check_whole_batches(list(r.records()), acked)
    r.close()


def test_killed_network_run_leaves_a_replayable_journal(tmp_path):
    journal = tmp_path / "run.sqlite"
    p = subprocess.Popen([sys.executable, "-m", "skyweave.cli.main", "network", "run", "trilateral", "--out",
                          tmp_path / "run", "--duration", "300", "--journal", journal, "--json"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scans = 0
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.5)
            if journal.exists():
                try:
                    with sqlite3.connect(journal) as db:
                        scans = db.execute("SELECT count(*) FROM records WHERE kind = 'scan'").fetchone()[0]
                except sqlite3.Error:
                    continue
                if scans >= 30:
                    break
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    assert scans >= 30, "the run did not journal 30 scans in time"
    assert p.returncode == -signal.SIGKILL  # killed mid-run, not finished
    r = sky("replay", journal, "--out", tmp_path / "again", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["inputs"]["scan"] >= scans and s["inputs"].get("close", 0) == 0
    assert s["verdicts_differ"] == 0
    for n in NATIONS:
        assert (tmp_path / "again" / n / "picture.jsonl").stat().st_size > 0
