"""A journal writer that never stops, for the tests that kill it mid-run (test_journal, test_journal_pg).

``python -m tests.support.journal_writer TARGET`` opens the journal at TARGET (an SQLite path or a
``postgresql://`` URL) with batches of 100 and no timed commit, writes one AUS scan record after
another (scan i has i % 7 detections), and prints the number of records in each batch it commits.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from skyweave.io.scans import RawScan
from skyweave.node.journal import encode_scan, open_journal
from skyweave.node.network import node_configs


def main(target: str) -> None:
    j = open_journal(target, batch=100, interval_s=3600, on_commit=lambda n: print(n, flush=True))
    j.set_meta("sensors", "{}")
    j.add_node("AUS", node_configs(["AUS"], 2.0, True)["AUS"], "none")
    i = 0
    while True:
        i += 1
        j.write("AUS", "scan", float(i), encode_scan(RawScan("R", "radar", float(i), {"range": np.arange(i % 7) * 0.1},
                                                              None, None, np.arange(i % 7))))


def run_and_kill(target: str, at: int = 2000) -> int:
    """Start the writer on ``target``, SIGKILL it once it has committed ``at`` records; returns
    how many records it said were committed."""
    p = subprocess.Popen([sys.executable, "-m", "tests.support.journal_writer", str(target)], stdout=subprocess.PIPE,
                         text=True, cwd=Path(__file__).resolve().parents[2])
    acked = 0
    try:
        for line in p.stdout:
            acked = int(line)
            if acked >= at:
                break
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    assert acked >= at and p.returncode == -signal.SIGKILL
    return acked


def check_whole_batches(rows: list, acked: int) -> None:
    """The records a killed writer left: every committed batch, whole batches only, no gap."""
    from skyweave.node.journal import decode_scan

    n = len(rows)
    assert n >= acked and n % 100 == 0
    assert [row[0] for row in rows] == list(range(1, n + 1))
    for seq, nation, kind, t, _, _, body in rows:
        s = decode_scan(body)
        assert (nation, kind, t, s.t, len(s)) == ("AUS", "scan", float(seq), float(seq), seq % 7)


if __name__ == "__main__":
    main(sys.argv[1])
