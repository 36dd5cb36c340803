"""Journal write rate (SQLite, WAL, batched; PostgreSQL, COPY per batch) and replay speed (issue 15, item 3).

    python benchmarks/bench_journal.py [--n 200000] [--from JOURNAL] [--replay] [--pg URL | --pg-start]

Writes ``--n`` small records (a gate verdict's JSON body, about 80 bytes: the most frequent kind
besides the clock's ``advance``) through :class:`skyweave.node.journal.Journal` with batches of
1, 100, 1,000 and 10,000 records, and prints records/s for each (goal: >= 50,000 records/s with
batching). With ``--from JOURNAL`` (a journal of ``skyweave network run --journal``) it also
rewrites that run's own records (scans with their detections, partner frames, pictures: the
real mix of sizes) at the default batch and prints records/s and MB/s; with ``--replay`` it
replays that journal and prints the replay's wall time against the scenario time it covers.
Files go to a temporary folder on the same disk as /tmp. ``--pg URL`` (a database the benchmark
may replace journal tables in) or ``--pg-start`` (a throw-away server from Debian's PostgreSQL,
tests/support/postgres.py, with fsync off: a PostgreSQL figure without the disk's flush) also
measures the PostgreSQL back end at the same batch sizes (and the run's mix with ``--from``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from skyweave.node.journal import open_journal, open_reader, replay

REPO = Path(__file__).resolve().parents[1]

BODY = json.dumps({"admitted": True, "reason": "ok", "sender": "JPN", "kind": "tracks", "items": 12})


def write_rate(folder: Path, n: int, batch: int, pg: str | None = None) -> float:
    target = pg if pg is not None else folder / f"small-{batch}.sqlite"
    j = open_journal(target, batch=batch, interval_s=3600)
    t0 = time.perf_counter()
    for i in range(n):
        j.write("JPN", "verdict", i * 0.01, BODY)
    j.close()
    dt = time.perf_counter() - t0
    if pg is None:
        with sqlite3.connect(target) as db:
            assert db.execute("SELECT count(*) FROM records").fetchone()[0] == n
    else:
        r = _pg_count(pg)
        assert r == n, (r, n)
    return n / dt


def _pg_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as db:
        return db.execute("SELECT count(*) FROM records").fetchone()[0]


def mix_rate(folder: Path, source: Path, pg: str | None = None) -> tuple[int, float, float]:
    r = open_reader(source)
    rows = [(n, k, t, s, b) for _, n, k, t, _, s, b in r.records()]
    sensors = r.meta["sensors"]
    r.close()
    size = sum(len(b) if b is not None else 0 for *_, b in rows)
    j = open_journal(pg if pg is not None else folder / "mix.sqlite")
    j.set_meta("sensors", sensors)  # the origin: PostgreSQL also stores every picture's positions
    t0 = time.perf_counter()
    for n, k, t, s, b in rows:
        j.write(n, k, t, b, subject=s)
    j.close()
    dt = time.perf_counter() - t0
    return len(rows), len(rows) / dt, size / dt / 1e6


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="small records per batch size")
    ap.add_argument("--from", dest="source", type=Path, default=None, help="a journal whose records to rewrite")
    ap.add_argument("--replay", action="store_true", help="also replay --from and time it")
    ap.add_argument("--pg", default=None, metavar="URL", help="also measure PostgreSQL in this database")
    ap.add_argument("--pg-start", action="store_true", help="also measure PostgreSQL on a throw-away local server")
    a = ap.parse_args(argv)
    server = None
    if a.pg_start:
        sys.path.insert(0, str(REPO))
        from tests.support.postgres import PostgresServer

        server = PostgresServer().start()
        a.pg = server.create_database("bench")
    try:
        _run(a)
    finally:
        if server is not None:
            server.stop()


def _run(a) -> None:
    logging.getLogger("skyweave.share.admission").disabled = True  # the replayed red-team frames, one line each
    with tempfile.TemporaryDirectory(prefix="bench-journal-", dir="/tmp") as tmp:
        folder = Path(tmp)
        print(f"small records ({len(BODY)}-byte JSON body), {a.n:,} per run, SQLite WAL synchronous=NORMAL:")
        for batch in (1, 100, 1000, 10_000):
            n = a.n if batch > 1 else min(a.n, 20_000)
            print(f"  batch {batch:>6,}: {write_rate(folder, n, batch):>10,.0f} records/s  ({n:,} records)")
        if a.pg is not None:
            print("PostgreSQL (one COPY per batch, in one transaction):")
            for batch in (1, 100, 1000, 10_000):
                n = a.n if batch > 1 else min(a.n, 5_000)
                print(f"  batch {batch:>6,}: {write_rate(folder, n, batch, a.pg):>10,.0f} records/s  ({n:,} records)")
        if a.source is not None:
            n, rate, mb = mix_rate(folder, a.source)
            print(f"a run's own records ({a.source}, {n:,} records), batch 1,000: {rate:,.0f} records/s, {mb:,.1f} MB/s")
            if a.pg is not None:
                n, rate, mb = mix_rate(folder, a.source, a.pg)
                print(f"  the same into PostgreSQL (with the pictures' positions): {rate:,.0f} records/s, {mb:,.1f} MB/s")
            if a.replay:
                r = open_reader(a.source)
                ts = [t for *_, t, _, _, _ in r.records(("scan",))]
                r.close()
                t0 = time.perf_counter()
                s = replay(a.source, folder / "replay")
                dt = time.perf_counter() - t0
                span = max(ts) - min(ts) if ts else 0.0
                print(f"replay: {len(s['nations'])} nodes, {span:.0f} s of scenario time in {dt:.2f} s wall "
                      f"({span / dt:,.1f} x real time)")


if __name__ == "__main__":
    main()
