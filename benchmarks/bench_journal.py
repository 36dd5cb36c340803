"""Journal write rate (SQLite, WAL, batched) and replay speed (issue 15, item 3).

    python benchmarks/bench_journal.py [--n 200000] [--from JOURNAL] [--replay]

Writes ``--n`` small records (a gate verdict's JSON body, about 80 bytes: the most frequent kind
besides the clock's ``advance``) through :class:`skyweave.node.journal.Journal` with batches of
1, 100, 1,000 and 10,000 records, and prints records/s for each (goal: >= 50,000 records/s with
batching). With ``--from JOURNAL`` (a journal of ``skyweave network run --journal``) it also
rewrites that run's own records (scans with their detections, partner frames, pictures: the
real mix of sizes) at the default batch and prints records/s and MB/s; with ``--replay`` it
replays that journal and prints the replay's wall time against the scenario time it covers.
Files go to a temporary folder on the same disk as /tmp.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import tempfile
import time
from pathlib import Path

from skyweave.node.journal import Journal, JournalReader, replay

BODY = json.dumps({"admitted": True, "reason": "ok", "sender": "JPN", "kind": "tracks", "items": 12})


def write_rate(folder: Path, n: int, batch: int) -> float:
    path = folder / f"small-{batch}.sqlite"
    j = Journal(path, batch=batch, interval_s=3600)
    t0 = time.perf_counter()
    for i in range(n):
        j.write("JPN", "verdict", i * 0.01, BODY)
    j.close()
    dt = time.perf_counter() - t0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == n
    return n / dt


def mix_rate(folder: Path, source: Path) -> tuple[int, float, float]:
    r = JournalReader(source)
    rows = [(n, k, t, s, b) for _, n, k, t, _, s, b in r.records()]
    r.close()
    size = sum(len(b) if b is not None else 0 for *_, b in rows)
    j = Journal(folder / "mix.sqlite")
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
    a = ap.parse_args(argv)
    logging.getLogger("skyweave.share.admission").disabled = True  # the replayed red-team frames, one line each
    with tempfile.TemporaryDirectory(prefix="bench-journal-", dir="/tmp") as tmp:
        folder = Path(tmp)
        print(f"small records ({len(BODY)}-byte JSON body), {a.n:,} per run, SQLite WAL synchronous=NORMAL:")
        for batch in (1, 100, 1000, 10_000):
            n = a.n if batch > 1 else min(a.n, 20_000)
            print(f"  batch {batch:>6,}: {write_rate(folder, n, batch):>10,.0f} records/s  ({n:,} records)")
        if a.source is not None:
            n, rate, mb = mix_rate(folder, a.source)
            print(f"a run's own records ({a.source}, {n:,} records), batch 1,000: {rate:,.0f} records/s, {mb:,.1f} MB/s")
            if a.replay:
                r = JournalReader(a.source)
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
