"""A journal writer that never stops, for the tests that kill it mid-run (test_journal, test_journal_pg).

``python -m tests.support.journal_writer TARGET`` opens the journal at TARGET (an SQLite path or a
``postgresql://`` URL) with batches of 100 and no timed commit, writes one AUS scan record after
another (scan i has i % 7 detections), and prints the number of records in each batch it commits.
"""

from __future__ import annotations

import sys

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


if __name__ == "__main__":
    main(sys.argv[1])
