"""Per-report ADS-B accuracy: a detection's optional ``sigma_m`` / ``sigma_alt_m`` (from its
NACp/NUCp, written by ``skyweave ingest``) set that report's measurement covariance; a report
without them takes the sensor's figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skyweave.io.formats import DetectionReader, load_sensors
from skyweave.io.scans import ScanReader
from skyweave.node.track_files import track_files
from skyweave.track.sensors import SensorInfo, build_scan

ORIGIN = {"lat": 35.0, "lon": 139.0, "alt": 0.0}
SENSOR_SIGMA_M, SENSOR_SIGMA_ALT_M = 30.0, 20.0


def _sensors(tmp_path: Path):
    p = tmp_path / "sensors.json"
    p.write_text(json.dumps({"epoch": "2024-04-10T00:00:00Z", "origin": ORIGIN, "sensors": [
        {"id": "A1", "nation": "JPN", "kind": "adsb", "lat": 35.0, "lon": 139.0, "alt": 10.0,
         "sigma_m": SENSOR_SIGMA_M, "sigma_alt_m": SENSOR_SIGMA_ALT_M, "max_range_m": 500_000.0}]}))
    return p, load_sensors(p)


def _line(t, icao, lat, lon, alt, **kw) -> str:
    return json.dumps({"t": t, "sensor": "A1", "icao24": icao, "lat": lat, "lon": lon, "alt": alt, **kw})


def _eig(R: np.ndarray) -> list[float]:
    return sorted(np.linalg.eigvalsh(R).tolist())


def test_the_reader_keeps_the_fields_and_names_a_bad_one(tmp_path):
    _, sensors = _sensors(tmp_path)
    lines = [
        _line(1.0, "86d2a1", 35.1, 139.1, 9000.0, sigma_m=5.0, sigma_alt_m=3.5),
        _line(1.0, "86d2a2", 35.2, 139.2, 9000.0, sigma_m=0.0),
        _line(1.0, "86d2a3", 35.2, 139.2, 9000.0, sigma_m=-4.0),
        _line(1.0, "86d2a4", 35.2, 139.2, 9000.0, sigma_m="5"),
        _line(1.0, "86d2a5", 35.2, 139.2, 9000.0, sigma_alt_m=True),
        '{"t": 1.0, "sensor": "A1", "icao24": "86d2a6", "lat": 35.2, "lon": 139.2, "alt": 9000.0, "sigma_alt_m": NaN}',
        _line(1.0, "86d2a7", 35.2, 139.2, 9000.0, sigma_m=500.0, sigma_alt_m=0),
        _line(2.0, "86d2a8", 35.3, 139.3, 9500.0),
        _line(2.0, "86d2a9", 35.3, 139.3, 9500.0, sigma_m=None, sigma_alt_m=7),
    ]
    reader = DetectionReader(tmp_path / "d.jsonl", sensors, lines=lines)
    dets = list(reader)
    assert [d.values["icao24"] for d in dets] == ["86d2a1", "86d2a8", "86d2a9"]
    assert dets[0].values["sigma_m"] == 5.0 and dets[0].values["sigma_alt_m"] == 3.5
    assert "sigma_m" not in dets[1].values and "sigma_alt_m" not in dets[1].values
    assert "sigma_m" not in dets[2].values and dets[2].values["sigma_alt_m"] == 7.0
    got = [(e.line, e.field) for e in reader.errors]
    assert got == [(2, "sigma_m"), (3, "sigma_m"), (4, "sigma_m"), (5, "sigma_alt_m"), (6, "sigma_alt_m"), (7, "sigma_alt_m")]
    msgs = [str(e) for e in reader.errors]
    assert "expected a number > 0.0, got 0.0" in msgs[0] and "expected a number, got '5'" in msgs[2]
    assert "expected a finite number, got nan" in msgs[4]
    for e in reader.errors:
        assert str(e).count("\n") == 0


def test_sigma_5_and_500_give_covariances_to_match_and_a_missing_one_the_sensors(tmp_path):
    sp, sensors = _sensors(tmp_path)
    lines = [
        _line(1.0, "86d2a1", 35.1, 139.1, 9000.0, sigma_m=5.0, sigma_alt_m=4.0),
        _line(1.0, "86d2a2", 35.3, 138.7, 11000.0, sigma_m=500.0, sigma_alt_m=150.0),
        _line(1.0, "86d2a3", 34.8, 139.2, 7000.0),                      # neither: the sensor's
        _line(1.0, "86d2a4", 34.9, 139.4, 7000.0, sigma_m=12.0),          # horizontal only
    ]
    (raw,) = list(ScanReader(tmp_path / "d.jsonl", sensors, lines=lines))
    assert np.isnan(raw.cols["sigma_m"][2]) and np.isnan(raw.cols["sigma_alt_m"][3])
    frame = sensors.origin.frame()
    info = SensorInfo.from_spec(0, sensors.sensors[0], 3, 0.9, 0.0)
    scan = build_scan(info, raw.t, raw.cols, frame, raw.identity)
    want = [(5.0, 4.0), (500.0, 150.0), (SENSOR_SIGMA_M, SENSOR_SIGMA_ALT_M), (12.0, SENSOR_SIGMA_ALT_M)]
    for R, (h, v) in zip(scan.R, want):
        assert _eig(R) == pytest.approx(sorted([h * h, h * h, v * v]), rel=1e-9)
    # σv along each target's own up, σh along its east (scenario frame = frame.rotation @ ECEF)
    for (lat, lon), R, (h, v) in zip([(35.1, 139.1), (35.3, 138.7), (34.8, 139.2), (34.9, 139.4)], scan.R, want):
        cl, sl = np.cos(np.radians(lat)), np.sin(np.radians(lat))
        co, so = np.cos(np.radians(lon)), np.sin(np.radians(lon))
        up_ecef = np.array([cl * co, cl * so, sl])
        east_ecef = np.array([-so, co, 0.0])
        up = frame.rotation @ up_ecef
        east = frame.rotation @ east_ecef
        assert up @ R @ up == pytest.approx(v * v, rel=1e-6)
        assert east @ R @ east == pytest.approx(h * h, rel=1e-6)
    # the same scan in 2-D keeps the horizontal part
    info2 = SensorInfo.from_spec(0, sensors.sensors[0], 2, 0.9, 0.0)
    scan2 = build_scan(info2, raw.t, raw.cols, frame, raw.identity)
    assert scan2.R.shape == (4, 2, 2) and np.trace(scan2.R[0]) < np.trace(scan2.R[2]) < np.trace(scan2.R[1])


def _flight(tmp_path: Path, good: float, bad: float | None, *, offset_m: float = 800.0) -> dict:
    """One aircraft flying east at 200 m/s for 60 s: a report each second on the true path with
    1-σ ``good`` and, half a second later, one displaced ``offset_m`` north with 1-σ ``bad``
    (None: both written without sigma, so the sensor's 30 m applies to all). Returns the
    largest horizontal error of the confirmed track after 10 s, its last horizontal σ and the
    number of tracks."""
    sp, sensors = _sensors(tmp_path)
    frame = sensors.origin.frame()
    rng = np.random.default_rng(11)
    lines, truth = [], {}
    for k in range(60):
        for half, (sig, off) in enumerate(((good, 0.0), (bad, offset_m))):
            t = k + 0.5 * half
            p = np.array([-6000.0 + 200.0 * t, 1000.0, 9000.0])
            truth[round(t, 3)] = p
            noise = rng.normal(0.0, 3.0, 3) if half == 0 else np.zeros(3)
            lat, lon, alt = (float(v) for v in frame.to_geodetic(p + noise + np.array([0.0, off, 0.0])))
            kw = {} if bad is None else {"sigma_m": sig, "sigma_alt_m": sig}
            lines.append(_line(t, "86d2a1", round(lat, 9), round(lon, 9), round(alt, 2), **kw))
    det = tmp_path / "d.jsonl"
    det.write_text("\n".join(lines) + "\n")
    out = tmp_path / "tracks.jsonl"
    summary = track_files(sp, det, out)
    assert summary["bad_lines"] == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    if not recs:  # no track confirmed at all
        return {"err": np.inf, "sigma_h": np.inf, "tracks": 0}
    err = max((np.hypot(r["x"] - truth[round(r["t"], 3)][0], r["y"] - truth[round(r["t"], 3)][1])
               for r in recs if r["t"] >= 10.0), default=np.inf)
    cov = np.array(recs[-1]["cov"]).reshape(6, 6)
    return {"err": err, "sigma_h": float(np.sqrt(0.5 * (cov[0, 0] + cov[1, 1]))),
            "tracks": len({r["track_id"] for r in recs})}


def test_a_tracker_fed_both_weights_them_by_their_sigma(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    weighted = _flight(tmp_path / "a", 5.0, 500.0)
    # the 800 m displaced reports (1.6 σ at 500 m) barely move the track the 5 m reports hold
    assert weighted["tracks"] == 1 and weighted["err"] < 40.0 and weighted["sigma_h"] < 10.0
    # every report at the sensor's 30 m (what the reader did before): the displaced ones, 27 σ
    # off, pull the track about or keep it from ever being confirmed
    flat = _flight(tmp_path / "b", 5.0, None)
    assert flat["tracks"] != 1 or flat["err"] > 150.0
    # and a track of 500-m reports only is as unsure as they are
    loose = _flight(tmp_path / "c", 500.0, 500.0, offset_m=0.0)
    assert loose["sigma_h"] > 10 * weighted["sigma_h"]
