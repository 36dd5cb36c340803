"""A real ADS-B recording through skyweave, end to end, scored against an independent decoder.

The recording is a whole flight, Paris-CDG to Toulouse on 2024-07-06 (ICAO 393322, 80 minutes,
57,793 raw Mode S frames), from the samples of the ``traffic`` package (MIT, X. Olive), recorded
and decoded there by rs1090 (Rust). It ships in ``tests/data/real/`` as UNIX-stamped AVR lines
(the raw frames, exactly as received) and, beside them, the positions rs1090 decoded from the same
frames (the oracle). See tests/data/real/README.md.

What it does, each step the command a user runs (timed whole, start-up and I/O included):

1. ``skyweave ingest avr`` the frames into detections (skyweave's own Mode S / CPR decoder);
2. ``skyweave track`` them;
3. scores: every detection against rs1090's position from the same frame (decoder agreement, m),
   and the track at every position time against that position (m, horizontal, on the WGS-84
   ellipsoid), the track's coverage of the flight and its number of track ids;
4. the tracker's CPU time per scan (``time.process_time`` around ``Tracker.process`` alone, in
   this process): each ADS-B message is a scan of one measurement, so the fixed cost per scan is
   what a real feed meets.

Usage::

    python benchmarks/real_adsb.py [--minutes N] [--keep DIR] [--json]
    python benchmarks/real_adsb.py --make tests/data/real   # rewrite the shipped files from traffic's sample

``--minutes N`` uses the first N minutes only (the test in make test uses 40).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "real"
FRAMES = "cdg-tls-2024-07-06.avr.gz"
ORACLE = "cdg-tls-2024-07-06.rs1090.csv.gz"
SAMPLE = ("data", "samples", "rs1090", "full_flight_short.jsonl")


def make(out: Path) -> None:
    """Write the shipped files from traffic's installed sample (read as JSON lines, not imported)."""
    spec = importlib.util.find_spec("traffic")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("real_adsb: the 'traffic' package is not installed (pip install -e '.[bench]')")
    src = Path(list(spec.submodule_search_locations)[0]).joinpath(*SAMPLE)
    out.mkdir(parents=True, exist_ok=True)
    frames, oracle = io.StringIO(), io.StringIO()
    oracle.write("timestamp,latitude,longitude\n")
    n = 0
    with open(src) as fh:
        for line in fh:
            r = json.loads(line)
            frames.write("%.6f *%s;\n" % (r["timestamp"], r["frame"]))
            if "latitude" in r:
                oracle.write("%.6f,%.9f,%.9f\n" % (r["timestamp"], r["latitude"], r["longitude"]))
            n += 1
    for name, text in ((FRAMES, frames), (ORACLE, oracle)):
        with gzip.GzipFile(out / name, "wb", mtime=0) as gz:
            gz.write(text.getvalue().encode())
    print(f"wrote {n} frames to {out / FRAMES} and rs1090's positions to {out / ORACLE}")


def read_oracle(path: Path, t_max: float | None) -> np.ndarray:
    """rs1090's positions as rows (unix s, lat, lon)."""
    with gzip.open(path, "rt") as fh:
        rows = [(float(r["timestamp"]), float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(fh)]
    a = np.array(rows)
    return a if t_max is None else a[a[:, 0] <= t_max]


def geodesic_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Distance (m) between points on the WGS-84 ellipsoid, by their ECEF chord (exact to
    well under a millimetre at the distances scored here: metres to kilometres)."""
    from skyweave.geo.wgs84 import geodetic2ecef

    a = np.stack(geodetic2ecef(np.asarray(lat1), np.asarray(lon1), np.zeros(np.shape(lat1))))
    b = np.stack(geodetic2ecef(np.asarray(lat2), np.asarray(lon2), np.zeros(np.shape(lat2))))
    return np.linalg.norm(a - b, axis=0)


def run_cmd(args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"real_adsb: skyweave {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return wall, r.stdout


def score(work: Path, oracle: np.ndarray) -> dict:
    """Detections and tracks of ``work`` against rs1090's positions."""
    from skyweave.geo.wgs84 import enu2geodetic
    from skyweave.io.formats import load_sensors

    sensors = load_sensors(work / "sensors.json")
    epoch = sensors.epoch.timestamp()
    o = sensors.origin
    key = lambda t: round(t * 1000.0)  # noqa: E731  (one frame: the same time to the millisecond)
    omap = {key(t - epoch): (lat, lon) for t, lat, lon in oracle}
    det_t, det_lat, det_lon, ref = [], [], [], []
    with open(work / "detections.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            k = key(d["t"])
            if k in omap:
                det_t.append(d["t"])
                det_lat.append(d["lat"])
                det_lon.append(d["lon"])
                ref.append(omap[k])
    ref = np.array(ref)
    det_err = geodesic_m(np.array(det_lat), np.array(det_lon), ref[:, 0], ref[:, 1])
    tracks: dict[int, list] = {}
    ids = set()
    with open(work / "tracks.jsonl") as fh:
        for line in fh:
            r = json.loads(line)
            if r.get("status", "confirmed") != "confirmed":
                continue
            ids.add(r["track_id"])
            tracks.setdefault(key(r["t"]), []).append((r["x"], r["y"], r.get("z", 0.0)))
    hit_t, xyz, tref = [], [], []
    for (t_unix, lat, lon) in oracle:
        k = key(t_unix - epoch)
        if k in tracks:
            hit_t.append(t_unix)
            xyz.append(tracks[k][0])
            tref.append((lat, lon))
    xyz, tref = np.array(xyz), np.array(tref)
    lat, lon, _ = enu2geodetic(xyz[:, 0], xyz[:, 1], xyz[:, 2], o.lat, o.lon, o.alt)
    trk_err = geodesic_m(lat, lon, tref[:, 0], tref[:, 1])
    span = oracle[-1, 0] - oracle[0, 0]
    covered = (hit_t[-1] - hit_t[0]) / span if hit_t else 0.0
    q = lambda a, p: float(np.percentile(a, p)) if len(a) else math.nan  # noqa: E731
    return {
        "positions_rs1090": int(len(oracle)), "detections_matched": int(len(det_err)),
        "decoder_agreement_m": {"median": q(det_err, 50), "p99": q(det_err, 99), "max": float(det_err.max())},
        "track_ids": sorted(ids), "positions_with_track": int(len(trk_err)), "coverage": covered,
        "track_error_m": {"median": q(trk_err, 50), "p95": q(trk_err, 95), "max": float(trk_err.max())},
    }


def tracker_cpu_per_scan(work: Path) -> tuple[int, float]:
    """(scans, tracker CPU seconds per scan) of the detections in ``work``, with the defaults."""
    from skyweave.io.formats import load_sensors
    from skyweave.io.scans import ScanReader
    from skyweave.node.track_files import make_tracker
    from skyweave.track import TrackerConfig, build_scan

    sensors = load_sensors(work / "sensors.json")
    tracker = make_tracker(sensors, TrackerConfig())
    scans = [build_scan(tracker.sensors[r.sensor], r.t, r.cols, tracker.frame, r.identity, r.platform)
             for r in ScanReader(work / "detections.jsonl", sensors)]
    scans = [s for s in scans if s is not None]
    c0 = time.process_time()
    for s in scans:
        tracker.process(s)
        for _ in tracker.ready_frames():
            pass
    return len(scans), (time.process_time() - c0) / max(len(scans), 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--make", type=Path, metavar="DIR", help="write the shipped files from traffic's sample and stop")
    ap.add_argument("--minutes", type=float, default=None, help="the first N minutes of the flight only")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep the working files here")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args(argv)
    if a.make:
        make(a.make)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        frames = work / "flight.avr"
        with gzip.open(DATA / FRAMES, "rt") as src, open(frames, "w") as dst:
            t_first = t_max = None
            for line in src:
                ts = float(line.split(" ", 1)[0])
                t_first = ts if t_first is None else t_first
                if a.minutes is not None and ts > t_first + 60.0 * a.minutes:
                    t_max = t_first + 60.0 * a.minutes
                    break
                dst.write(line)
        oracle = read_oracle(DATA / ORACLE, t_max)
        w_ingest, out_ingest = run_cmd(["ingest", "avr", str(frames), "--out", str(work / "detections.jsonl")])
        w_track, out_track = run_cmd(["track", "--sensors", str(work / "sensors.json"),
                                      "--detections", str(work / "detections.jsonl"), "--out", str(work / "tracks.jsonl")])
        res = score(work, oracle)
        res["scans"], res["tracker_cpu_per_scan_ms"] = tracker_cpu_per_scan(work)
        res["tracker_cpu_per_scan_ms"] *= 1e3
        res.update(frames=sum(1 for _ in open(frames)), ingest_s=w_ingest, track_s=w_track,
                   ingest_summary=out_ingest.strip().splitlines()[0])
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    d, t = res["decoder_agreement_m"], res["track_error_m"]
    print(f"real ADS-B flight CDG-TLS 2024-07-06: {res['frames']} raw frames, {res['positions_rs1090']} positions "
          f"decoded by rs1090")
    print(f"  skyweave ingest avr: {res['ingest_s']:.2f} s whole command ({res['ingest_summary']})")
    print(f"  skyweave track:      {res['track_s']:.2f} s whole command; the tracker alone "
          f"{res['tracker_cpu_per_scan_ms']:.3f} ms CPU per scan ({res['scans']} scans)")
    print(f"  decoder agreement with rs1090, {res['detections_matched']} positions: median {d['median']:.2f} m, "
          f"p99 {d['p99']:.2f} m, max {d['max']:.2f} m")
    print(f"  track: ids {', '.join(res['track_ids'])}; {res['positions_with_track']} positions with a confirmed "
          f"track, {100 * res['coverage']:.1f} % of the flight's span")
    print(f"  track against rs1090's positions: median {t['median']:.1f} m, p95 {t['p95']:.1f} m, max {t['max']:.1f} m")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
