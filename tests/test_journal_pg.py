"""The journal in a real PostgreSQL (skyweave/node/journal_pg.py): record, replay byte for byte, a killed writer.

The server is started here (tests/support/postgres.py: Debian's initdb and pg_ctl, as the
``postgres`` user when the tests run as root) and stopped at the end; the tests skip, saying
why, only where PostgreSQL or psycopg is not installed.
"""

from __future__ import annotations

import json

import pytest

from tests.support.journal_writer import check_whole_batches, run_and_kill
from tests.support.postgres import PostgresServer, skip_reason
from tests.test_journal import FILES, NATIONS, early_missile, one_error, sky

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def recorded(pg, tmp_path_factory):
    """A 20 s in-process run (with red-team frames) journaled to PostgreSQL, and its replay."""
    root = tmp_path_factory.mktemp("journal_pg")
    url = pg.create_database("run")
    run, again = root / "run", root / "replay"
    r = sky("network", "run", early_missile(root), "--out", run, "--duration", 20, "--red-team", 5,
            "--journal", url, "--json")
    assert r.returncode == 0, r.stderr
    r2 = sky("replay", url, "--out", again, "--json")
    assert r2.returncode == 0, r2.stderr
    return url, run, again, json.loads(r.stdout), json.loads(r2.stdout)


def test_pg_replay_reproduces_the_files_byte_for_byte(recorded):
    _, run, again, summary, replayed = recorded
    assert replayed["nations"] == list(NATIONS) == summary["nations"]
    for n in NATIONS:
        for f in FILES:
            assert (run / n / f).read_bytes() == (again / n / f).read_bytes(), f"{n}/{f} differs after replay"
        assert replayed["nodes"][n]["rejected"] == summary["nodes"][n]["rejected"]
    assert sum(len((run / n / "picture.jsonl").read_text().splitlines()) for n in NATIONS) > 300
    assert sum(sum(summary["nodes"][n]["rejected"].values()) for n in NATIONS) > 0
    assert replayed["verdicts_differ"] == 0


def test_pg_journal_holds_what_sqlite_would(recorded):
    import psycopg

    from skyweave.node.journal import decode_scan, open_reader

    url, run, _, _, _ = recorded
    r = open_reader(url)
    assert set(r.nodes) == set(NATIONS)
    rows = list(r.records())
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1)) == list(range(1, r.count() + 1))
    dets = (run / "detections.jsonl").read_text().splitlines()
    assert sum(len(decode_scan(b)) for *_, b in r.records(("scan",))) == len(dets)
    frames = [row for row in rows if row[2] == "frame"]
    assert frames and all(isinstance(row[6], bytes) for row in frames)  # bytes stay bytes, text stays text
    for n in NATIONS:
        assert "".join(b for *_, b in r.records(("local",), nation=n)) == (run / n / "local.jsonl").read_text()
        ticks = "".join(b for _, _, _, _, _, s, b in r.records(("fused",), nation=n) if s == "tick")
        assert ticks == (run / n / "picture.jsonl").read_text()
    # geometry: one position per picture line, on the earth near the scenario's origin
    origin = json.loads(r.meta["sensors"])["origin"]
    lines = sum(len((run / n / "picture.jsonl").read_text().splitlines()) for n in NATIONS)
    with psycopg.connect(url) as db:
        n, lat_min, lat_max, nulls = db.execute(
            "SELECT count(*), min(lat), max(lat), count(*) FILTER (WHERE lat IS NULL) FROM positions "
            "WHERE source = 'picture'").fetchone()
        assert (n, nulls) == (lines, 0)
        assert origin["lat"] - 10 < lat_min <= lat_max < origin["lat"] + 10
        if r.postgis:
            srid, far = db.execute(
                "SELECT min(ST_SRID(geom)), max(ST_Distance(geom::geography, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)) FROM positions",
                (origin["lon"], origin["lat"])).fetchone()
            assert srid == 4326 and 0 < far < 2_000_000  # metres from the origin
    r.close()


def test_pg_without_postgis_keeps_plain_columns(pg, monkeypatch):
    import psycopg

    from skyweave.node.journal import open_reader
    from skyweave.node.journal_pg import PgJournal

    monkeypatch.setattr(PgJournal, "_enable_postgis", lambda self: False)
    url = pg.create_database("plain")
    j = PgJournal(url, batch=3)
    j.set_meta("sensors", json.dumps({"origin": {"lat": 35.0, "lon": 139.0, "alt": 0.0}, "sensors": []}))
    j.add_node("JPN", _cfg(), "key")
    j.write("JPN", "fused", 1.0, '{"t": 1.0, "track_id": "N1", "x": 1000.0, "y": 0.0, "z": 0.0}\n', subject="tick")
    j.write("JPN", "frame", 1.0, b"\x00\x01bytes", subject="skyweave.USA.JPN.tracks")
    j.close()
    r = open_reader(url)
    assert not r.postgis and r.meta["postgis"] == "absent"
    assert [row[6] for row in r.records()] == ['{"t": 1.0, "track_id": "N1", "x": 1000.0, "y": 0.0, "z": 0.0}\n',
                                               b"\x00\x01bytes"]
    r.close()
    with psycopg.connect(url) as db:
        cols = {c for (c,) in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'positions'")}
        assert "geom" not in cols and {"lat", "lon", "alt"} <= cols
        lat, lon = db.execute("SELECT lat, lon FROM positions").fetchone()
    assert lat == pytest.approx(35.0, abs=1e-6) and lon == pytest.approx(139.0 + 1000.0 / 91_290, abs=1e-3)


def _cfg():
    from skyweave.node.network import node_configs

    return node_configs(["JPN", "USA"], 2.0, True)["JPN"]


def test_killed_pg_writer_leaves_every_committed_batch(pg):
    from skyweave.node.journal import open_reader

    url = pg.create_database("killed")
    acked = run_and_kill(url)
    r = open_reader(url)
    check_whole_batches(list(r.records()), acked)
    r.close()


def test_pg_append_continues_the_numbering(pg):
    from skyweave.node.journal import open_journal, open_reader

    url = pg.create_database("append")
    j = open_journal(url, batch=2)
    j.set_meta("sensors", "{}")
    j.add_node("JPN", _cfg(), "key")
    for i in range(5):
        j.write("JPN", "advance", float(i))
    j.close()
    j = open_journal(url, append=True)
    assert j.last_seq == 5
    j.write("JPN", "advance", 5.0)
    j.close()
    r = open_reader(url)
    assert [(s, t) for s, _, _, t, *_ in r.records()] == [(i + 1, float(i)) for i in range(6)]
    r.close()
    open_journal(url).close()  # without append: replaced
    import psycopg

    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0


def test_pg_errors_are_one_line(pg, tmp_path):
    import psycopg

    url = pg.create_database("foreign")
    with psycopg.connect(url) as db:
        db.execute("CREATE TABLE records (x int)")
    one_error(sky("replay", url, "--out", tmp_path / "o1"), "not a skyweave journal")
    one_error(sky("network", "run", "clutter-10", "--out", tmp_path / "n", "--duration", 2, "--journal", url),
              "not a skyweave journal")
    dead = "postgresql://nobody:secret@127.0.0.1:1/none"
    line = one_error(sky("replay", dead, "--out", tmp_path / "o2"), "cannot connect to PostgreSQL", "127.0.0.1:1")
    assert "secret" not in line


def test_pg_journal_exports_to_parquet(recorded, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install 'skyweave[parquet]')")
    from skyweave.node.journal import open_reader

    url, run, _, _, _ = recorded
    r = sky("export", "parquet", url, "--out", tmp_path / "pq")
    assert r.returncode == 0, r.stderr
    reader = open_reader(url)
    assert pq.read_table(tmp_path / "pq" / "records.parquet").num_rows == reader.count()
    assert pq.read_table(tmp_path / "pq" / "frames.parquet").num_rows == reader.count("frame")
    reader.close()
    ticks = pq.read_table(tmp_path / "pq" / "picture.parquet").to_pylist()
    assert sum(1 for p in ticks if p["tick"]) == sum(len((run / n / "picture.jsonl").read_text().splitlines())
                                                      for n in NATIONS)
