"""A real ADS-B recording (tests/data/real: a whole flight's raw frames) through `skyweave ingest
avr` and `skyweave track`, as a user runs them, scored against rs1090, an independent decoder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_real_flight_is_decoded_as_rs1090_does_and_tracked_under_one_id(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_adsb.py"), "--minutes", "40", "--json",
                        "--keep", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(r.stdout)
    # every short reply in a long buffer is read (none skipped as a bad message)
    assert res["ingest_summary"].startswith("records read: ") and "decoded: " in res["ingest_summary"]
    read, decoded = (int(x.split(": ")[1]) for x in res["ingest_summary"].split(", ")[:2])
    assert read == decoded == res["frames"] > 10_000
    # each airborne position decoded to within a metre of rs1090's reading of the same frame
    assert res["detections_matched"] > 500
    assert res["decoder_agreement_m"]["max"] < 1.0
    # one aircraft, one track, following its reported positions closely
    assert res["track_ids"] == ["T-1"]
    assert res["positions_with_track"] >= res["detections_matched"] - 3
    assert res["track_error_m"]["median"] < 20.0 and res["track_error_m"]["p95"] < 100.0
    lines = (tmp_path / "tracks.jsonl").read_text().splitlines()
    assert all(json.loads(x)["icao24"] == "393322" for x in lines[:50])
