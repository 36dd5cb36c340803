"""``network run --nats URL --processes --journal postgresql://...``: one schema per node in a real
PostgreSQL, a node process killed and restarted with nothing lost (issue 15, items 3 and 4).

The run and its checks are those of tests/test_journal_restart.py (imported here, so pytest runs
them again on this module's ``killed_run``): the same 40 s trilateral run over a real
nats-server, JPN's process SIGKILLed mid-run and restarted by the runner, but every node's
journal is in schema ``skyweave_<nation>`` of one PostgreSQL database (tests/support/postgres.py
starts the server), JPN's addressed as the database's URL with
``?options=-csearch_path%3Dskyweave_jpn``.
"""

from __future__ import annotations

import pytest

from skyweave.node.journal import describe, open_reader
from tests.support.natsserver import nats_server_binary
from tests.support.postgres import PostgresServer, skip_reason
from tests.test_journal import NATIONS, one_error, sky
from tests.test_journal_restart import (  # noqa: F401 (collected again here, on this module's killed_run)
    VICTIM,
    killed_network,
    test_files_are_whole,
    test_a_node_refuses_another_nodes_journal,
    test_no_frame_lost_or_counted_twice,
    test_scans_once_in_time_order,
    test_the_killed_node_was_restarted,
)

pytestmark = [
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
    pytest.mark.skipif(nats_server_binary() is None, reason="nats-server not installed (scripts/services.sh)"),
]


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


def pg_scans(url: str) -> int:
    """The scans journaled at ``url`` so far (0 while its tables are not there yet)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            return db.execute("SELECT count(*) FROM records WHERE kind = 'scan'").fetchone()[0]
    except psycopg.Error:
        return 0


@pytest.fixture(scope="module")
def database(pg):
    return pg.create_database("processes")


@pytest.fixture(scope="module")
def killed_run(database, tmp_path_factory):
    root = tmp_path_factory.mktemp("pg_restart")
    victim = f"{database}?options=-csearch_path%3Dskyweave_{VICTIM.lower()}"
    with killed_network(root, database, victim, pg_scans) as run:
        yield run


def test_one_schema_per_node(killed_run, database):
    import psycopg

    out, victim, _, summary, _, _ = killed_run
    with psycopg.connect(database) as db:
        schemas = [r[0] for r in db.execute("SELECT table_schema FROM information_schema.tables "
                                            "WHERE table_name = 'records' ORDER BY table_schema")]
    assert schemas == [f"skyweave_{n.lower()}" for n in NATIONS]
    assert summary["journals"] == {n: f"{database}?options=-csearch_path%3Dskyweave_{n.lower()}" for n in NATIONS}
    assert summary["journals"][VICTIM] == victim
    for n in NATIONS:
        r = open_reader(summary["journals"][n])
        assert list(r.nodes) == [n]  # each node journals into its own schema, and only there
        assert r.count("tick") > 0 and r.count("close") == 1  # (GBR has no scan of its own in the first 40 s)
        assert [row[0] for row in r.records()] == list(range(1, r.count() + 1))  # no gap across the restart
        r.close()
    # the node processes were given their journal's URL, nothing else
    assert f"skyweave_{VICTIM.lower()}" in (out / VICTIM / "node.yaml").read_text()


def test_one_nodes_journal_exports_to_parquet(killed_run, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install 'skyweave[parquet]')")
    _, victim, _, _, _, _ = killed_run
    r = sky("export", "parquet", victim, "--out", tmp_path / "pq")
    assert r.returncode == 0, r.stderr
    reader = open_reader(victim)
    records = pq.read_table(tmp_path / "pq" / "records.parquet")
    assert records.num_rows == reader.count() and set(records.column("nation").to_pylist()) == {VICTIM}
    reader.close()


def test_the_database_url_alone_names_the_node_schemas(killed_run, database, tmp_path):
    one_error(sky("replay", database, "--out", tmp_path / "o"), "one journal per node", "skyweave_jpn",
              "options=-csearch_path")
    one_error(sky("replay", f"{database}?options=-csearch_path%3Dnowhere", "--out", tmp_path / "o2"),
              "search_path", "no schema")


def test_processes_journal_url_errors_are_one_line(database, tmp_path):
    dead = "postgresql://nobody:secret@127.0.0.1:1/none"
    line = one_error(sky("network", "run", "clutter-10", "--out", tmp_path / "n", "--duration", 2, "--nats",
                         "nats://127.0.0.1:1", "--processes", "--journal", dead), "cannot connect to PostgreSQL",
                     "127.0.0.1:1")
    assert "secret" not in line
    one_error(sky("network", "run", "clutter-10", "--out", tmp_path / "n2", "--duration", 2, "--nats",
                  "nats://127.0.0.1:1", "--processes", "--journal", f"{database}?options=-csearch_path%3Dmine"),
              "search_path", "skyweave_<nation>")


def test_a_new_run_replaces_the_node_schemas_journals(pg):
    from skyweave.node.journal import node_journals, open_journal

    url = pg.create_database("again")
    first = node_journals(url, ["AUS", "JPN"])
    j = open_journal(first["JPN"], append=True)
    j.set_meta("sensors", "{}")
    j.write("JPN", "advance", 1.0)
    j.close()
    again = node_journals(url, ["AUS", "JPN"])
    assert again == first
    import psycopg

    with psycopg.connect(again["JPN"]) as db:
        assert db.execute("SELECT current_schema(), count(*) FROM records").fetchone() == ("skyweave_jpn", 0)
    assert describe(again["JPN"]).endswith("?options=-csearch_path%3Dskyweave_jpn")


def test_pgoptions_addresses_a_node_schema_too(killed_run, database, tmp_path):
    """libpq's PGOPTIONS in the environment, with the database's URL, is the URL's options."""
    import os
    import subprocess
    import sys

    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install 'skyweave[parquet]')")
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", "export", "parquet", database, "--out", tmp_path / "pq"],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "SKYWEAVE_DEBUG": "", "PGOPTIONS": "-csearch_path=skyweave_gbr"})
    assert r.returncode == 0, r.stderr
    assert set(pq.read_table(tmp_path / "pq" / "records.parquet").column("nation").to_pylist()) == {"GBR"}
