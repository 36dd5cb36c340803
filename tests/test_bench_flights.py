"""The independent flights scenario writer (benchmarks/make_flights.py): skyweave reads what it writes.

``traffic`` (whose shipped sample flights it reads) is a benchmark extra: without it every test
here is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

if importlib.util.find_spec("traffic") is None:
    pytest.skip("traffic (a bench extra) is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
WRITER = ROOT / "benchmarks" / "make_flights.py"
SKYWEAVE = [sys.executable, "-m", "skyweave.cli.main"]


def _write(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WRITER), "--out", str(out), "--targets", "6", "--duration", "30",
                           "--seed", "3", *args], capture_output=True, text=True, cwd=ROOT)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def flights2d(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flights2d")
    p = _write(out)
    assert p.returncode == 0, p.stderr
    return out


def test_skyweave_validates_and_tracks_the_2d_files(flights2d):
    v = subprocess.run(SKYWEAVE + ["validate", str(flights2d)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    t = subprocess.run(SKYWEAVE + ["track", "--sensors", str(flights2d / "sensors.json"), "--detections",
                                   str(flights2d / "detections.jsonl"), "--out", str(flights2d / "tracks.jsonl"), "--json"],
                       capture_output=True, text=True)
    assert t.returncode == 0, t.stderr
    summary = json.loads(t.stdout.strip().splitlines()[-1])
    assert summary["bad_lines"] == 0
    e = subprocess.run(SKYWEAVE + ["eval", "--truth", str(flights2d / "truth.jsonl"), "--tracks",
                                   str(flights2d / "tracks.jsonl"), "--json"], capture_output=True, text=True)
    assert e.returncode == 0, e.stderr
    score = json.loads(e.stdout)
    # six real flights, well separated by the radars: the tracker holds nearly all of them
    assert score["siap_completeness"] > 0.8
    assert score["rmse_position_m"] < 200.0


def test_detections_are_the_targets_under_the_radars(flights2d):
    """Each truth position at a scan time has a detection within 5 sigma of its exact range and bearing, mostly."""
    sensors = {s["id"]: s for s in json.loads((flights2d / "sensors.json").read_text())["sensors"]}
    assert len(sensors) >= 2 and all("z" not in s for s in sensors.values())
    dets = defaultdict(list)
    for d in _lines(flights2d / "detections.jsonl"):
        dets[(d["t"], d["sensor"])].append(d)
    truth = defaultdict(list)
    for r in _lines(flights2d / "truth.jsonl"):
        truth[r["t"]].append(r)
    assert len({r["id"] for rs in truth.values() for r in rs}) == 6
    assert {s for _, s in dets} == set(sensors)
    phases = {sid: {round(t % 1.0, 3) for t, s in dets if s == sid} for sid in sensors}
    assert len({frozenset(p) for p in phases.values()}) == len(sensors)  # scans out of phase
    hits = total = 0
    for (t, sid), ds in dets.items():
        s = sensors[sid]
        for r in truth[t]:
            rng = math.hypot(r["x"] - s["x"], r["y"] - s["y"])
            brg = math.degrees(math.atan2(r["x"] - s["x"], r["y"] - s["y"])) % 360.0
            total += 1
            hits += any(abs(d["range_m"] - rng) < 5 * s["sigma_range_m"]
                        and abs((d["bearing_deg"] - brg + 180.0) % 360.0 - 180.0) < 5 * s["sigma_bearing_deg"] for d in ds)
    pd = min(s["pd"] for s in sensors.values())
    assert total > 100 and pd - 0.1 < hits / total < 1.0


def test_3d_file_has_radars_without_elevation(tmp_path):
    p = _write(tmp_path, "--dims", "3")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "sensors.json").read_text())
    assert "origin" in doc
    assert all("z" in s and "sigma_elevation_deg" not in s for s in doc["sensors"])
    truth = _lines(tmp_path / "truth.jsonl")
    assert all("z" in r and "vz" in r for r in truth) and max(r["z"] for r in truth) > 150.0
    v = subprocess.run(SKYWEAVE + ["validate", str(tmp_path)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    t = subprocess.run(SKYWEAVE + ["track", "--sensors", str(tmp_path / "sensors.json"), "--detections",
                                   str(tmp_path / "detections.jsonl"), "--out", str(tmp_path / "tracks.jsonl")],
                       capture_output=True, text=True)
    assert t.returncode == 0, t.stderr
    assert (tmp_path / "tracks.jsonl").stat().st_size > 0


def test_bad_sample_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    p = _write(tmp_path / "out", "--sample", str(bad))
    assert p.returncode == 1
    assert p.stderr.startswith("Error: ") and str(bad) in p.stderr and "Traceback" not in p.stderr
    p = _write(tmp_path / "out", "--targets", "100000")
    assert p.returncode == 1 and "flights have" in p.stderr and "Traceback" not in p.stderr


def _by_target(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for r in rows:
        out[r["id"]].append(r)
    return out


def test_the_truth_is_the_records_re_timed_a_flyable_motion(flights2d, tmp_path):
    """The sample's time stamps are whole seconds, positions up to a second stale: as stamped, a
    flight jumps tens of metres along its track each second. The default truth re-times each
    record: its velocities are the derivative of its positions, its accelerations an airliner's,
    and it stays within about a second's flight of the recorded positions."""
    meta = json.loads((flights2d / "flights.json").read_text())
    assert meta["truth"] == "smooth"
    raw_out = tmp_path / "record"
    p = _write(raw_out, "--truth", "record")
    assert p.returncode == 0, p.stderr
    assert json.loads((raw_out / "flights.json").read_text())["truth"] == "record"

    def motion(rows):
        mismatch, accel = [], []
        for rs in _by_target(rows).values():
            for a, b in zip(rs, rs[1:]):
                dt = b["t"] - a["t"]
                # the position moves by the mean of the two velocities (trapezoid), to a metre
                px = a["x"] + 0.5 * (a["vx"] + b["vx"]) * dt - b["x"]
                py = a["y"] + 0.5 * (a["vy"] + b["vy"]) * dt - b["y"]
                mismatch.append(math.hypot(px, py))
                accel.append(math.hypot(b["vx"] - a["vx"], b["vy"] - a["vy"]) / dt)
        mismatch.sort()
        accel.sort()
        return mismatch[len(mismatch) // 2], accel[len(accel) // 2], accel[int(0.99 * len(accel))]

    smooth_mismatch, smooth_a50, smooth_a99 = motion(_lines(flights2d / "truth.jsonl"))
    raw_mismatch, raw_a50, raw_a99 = motion(_lines(raw_out / "truth.jsonl"))
    assert smooth_mismatch < 0.5 and smooth_a50 < 1.0 and smooth_a99 < 10.0
    assert raw_a50 > 3.0 * smooth_a50  # as stamped: the jumps
    # the same flights, the same stretch, within about a second's flight of each other
    smooth, raw = _by_target(_lines(flights2d / "truth.jsonl")), _by_target(_lines(raw_out / "truth.jsonl"))
    assert smooth.keys() == raw.keys()
    for tid in smooth:
        assert [r["t"] for r in smooth[tid]] == [r["t"] for r in raw[tid]]
        far = max(math.hypot(a["x"] - b["x"], a["y"] - b["y"]) for a, b in zip(smooth[tid], raw[tid]))
        assert far < 400.0, (tid, far)


def test_an_unwritable_out_is_one_line_error(tmp_path):
    """--out that is a file, or under one: one line that names it, no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        p = _write(out)
        assert p.returncode == 1 and p.stderr.startswith(f"Error: {out}: cannot write"), p.stderr
        assert "Traceback" not in p.stderr
