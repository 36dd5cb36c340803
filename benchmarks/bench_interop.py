"""Interop rates per core (CPU time of the one thread): CAT048 and Beast ingest (whole decode to detection lines), the GPL
decoders' own rates beside them, and the CAT062 export rate.

- CAT048: the real CAT048 blocks of cat_034_048.pcap, the capture that ships with
  asterix-decoder (its package's sample_data; needed installed) (each datagram once),
  repeated with their times of day moved on by 5 s per repetition, decoded by
  ``Ingest.run("asterix")`` to detections.jsonl lines (radars placed by a sensors set);
  asterix-decoder's ``asterix.parse`` on the same bytes (parsing only, to Python dicts).
- Beast: the extended squitters of the synthetic flight of tests/support/modes_encoder.py, repeated as new aircraft
  (a new address and parity each time) later in time, as a Beast stream decoded by
  ``Ingest.run("beast")`` to detection lines; pyModeS's ``decode`` on the same messages as hex
  (one message at a time: its fields, no CPR pairing) and its batch mode (with CPR pairing).
- CAT062: ``Cat062Out.tracks`` on 1,000 tracks per update (positions placed on the ellipsoid
  beforehand), records per second.

    python benchmarks/bench_interop.py            # about a minute
    python benchmarks/bench_interop.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skyweave.core.model import Origin, SensorSet, SensorSpec  # noqa: E402
from skyweave.interop.asterix import UAP, iter_blocks, parse_record  # noqa: E402
from skyweave.interop.export import Cat062Out, TrackUpdate  # noqa: E402
from skyweave.interop.feeds import beast_frame  # noqa: E402
from skyweave.interop.ingest import Ingest, IngestConfig, format_det  # noqa: E402
from skyweave.interop.modes import crc24  # noqa: E402
from skyweave.interop.pcap import iter_udp  # noqa: E402
from skyweave.interop.records import Tally  # noqa: E402


def cat048_stream(reps: int) -> tuple[bytes, int]:
    """CAT048 blocks of the real capture, ``reps`` times, times of day moved on 5 s per repetition."""
    import asterix

    pcap = (Path(asterix.__file__).parent / "sample_data" / "cat_034_048.pcap").read_bytes()
    seen, blocks = set(), []
    for _, payload, _ in iter_udp(pcap, Tally()):
        if payload in seen:
            continue
        seen.add(payload)
        for cat, a, b in iter_blocks(payload, Tally()):
            if cat == 48:
                blocks.append(bytearray(payload[a:b]))
    spans = []  # (block index, I140 offset in the block)
    n_rec = 0
    for bi, blk in enumerate(blocks):
        pos = 3
        while pos < len(blk):
            items, pos = parse_record(bytes(blk), pos, len(blk), UAP[48])
            n_rec += 1
            if "I140" in items:
                spans.append((bi, items["I140"][0]))
    out = bytearray()
    for k in range(reps):
        for bi, off in spans:
            blk = blocks[bi]
            tod = int.from_bytes(blocks[bi][off:off + 3], "big")
            blk[off:off + 3] = ((tod + k * 5 * 128) % (86400 * 128)).to_bytes(3, "big")
        out += b"".join(blocks)
        for bi, off in spans:  # back to the original times for the next repetition's offset
            tod = int.from_bytes(blocks[bi][off:off + 3], "big")
            blocks[bi][off:off + 3] = ((tod - k * 5 * 128) % (86400 * 128)).to_bytes(3, "big")
    return bytes(out), n_rec * reps


def capture_sensors() -> SensorSet:
    specs = tuple(SensorSpec(id=f"HR-{sic}", nation="HRV", kind="radar", x=0.0, y=0.0, z=0.0, releasable_to=("HRV",),
                             lat=45.8, lon=16.0, alt=0.0, sigma_range_m=60.0, sigma_bearing_deg=0.07,
                             extra={"sac": 25, "sic": sic}) for sic in (11, 12, 13, 14, 201, 204, 205))
    return SensorSet(epoch=datetime(2016, 5, 5, tzinfo=timezone.utc), origin=Origin(45.8, 16.0, 0.0), sensors=specs)


def beast_stream(reps: int) -> tuple[bytes, list[str], list[float]]:
    from tests.support.modes_encoder import synthetic_recording

    rows = [(ts, bytes.fromhex(h)) for ts, h in synthetic_recording() if h.startswith("8D")]  # DF 17 only
    t0 = rows[0][0]
    span = rows[-1][0] - t0 + 10.0
    frames, hexes, times = [], [], []
    for k in range(reps):
        icao = (0x400000 + k).to_bytes(3, "big")
        for ts, m in rows:
            body = m[:1] + icao + m[4:11]
            msg = body + crc24(body).to_bytes(3, "big")
            t = ts - t0 + k * span
            frames.append(beast_frame(msg, int(t * 12e6)))
            hexes.append(msg.hex())
            times.append(t)
    return b"".join(frames), hexes, times


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} /s"


def best(fn, repeat: int):
    """The fastest of ``repeat`` runs of ``fn`` in CPU seconds of this process (one thread: the
    time of one core, whatever else the machine runs) and its last result."""
    bt, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        bt = min(bt, time.process_time() - t)
    return bt, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    a = ap.parse_args(argv)
    reps = 20 if a.quick else 400
    repeat = 1 if a.quick else 3
    figures = {}

    data, n048 = cat048_stream(reps)
    sensors = capture_sensors()

    def ingest_cat048():
        job = Ingest(IngestConfig(sensors=sensors, day=date(2016, 5, 5), name="bench"))
        buf = io.StringIO()
        w = buf.write
        for d in job.run("asterix", data):
            w(format_det(d))
        return job.tally

    dt, tally = best(ingest_cat048, repeat)
    assert tally.decoded == n048 and not tally.skipped, tally.summary()
    figures["cat048_ingest_records_per_s"] = n048 / dt
    figures["cat048_detections"] = tally.detections
    print(f"CAT048 ingest (decode + detections.jsonl lines): {n048:,d} records {rate(n048, dt)}")
    try:
        import asterix

        dt, parsed = best(lambda: asterix.parse(data), repeat)
        figures["asterix_decoder_parse_records_per_s"] = len(parsed) / dt
        print(f"  asterix-decoder parse (to dicts, no detections): {len(parsed):,d} records {rate(len(parsed), dt)}")
    except ImportError:
        print("  asterix-decoder not installed: its rate not measured")

    bdata, hexes, times = beast_stream(reps // 2 or 1)
    nb = len(hexes)

    def ingest_beast():
        job = Ingest(IngestConfig(name="bench"))
        buf = io.StringIO()
        w = buf.write
        for d in job.run("beast", bdata):
            w(format_det(d))
        return job.tally

    dt, tally = best(ingest_beast, repeat)
    assert tally.decoded == nb and not tally.skipped, tally.summary()
    figures["beast_ingest_records_per_s"] = nb / dt
    figures["beast_detections"] = tally.detections
    print(f"Beast ingest (frames, parity, CPR, detections.jsonl lines): {nb:,d} frames {rate(nb, dt)}")
    try:
        import pyModeS as pms

        m = min(nb, 20000)
        dt, _ = best(lambda: [pms.decode(h) for h in hexes[:m]], repeat)
        figures["pymodes_decode_msgs_per_s"] = m / dt
        print(f"  pyModeS decode (one message at a time, no CPR pairing): {m:,d} messages {rate(m, dt)}")
        dt, _ = best(lambda: pms.decode(hexes[:m], timestamps=times[:m]), repeat)
        figures["pymodes_batch_msgs_per_s"] = m / dt
        print(f"  pyModeS batch decode (with CPR pairing): {m:,d} messages {rate(m, dt)}")
    except ImportError:
        print("  pyModeS not installed: its rate not measured")

    rng = np.random.default_rng(1)
    k = 1000
    origin = Origin(35.0, 139.0, 0.0)
    ss = SensorSet(epoch=datetime(2024, 4, 10, tzinfo=timezone.utc), origin=origin, sensors=())
    x = np.zeros((k, 6))
    x[:, :2] = rng.uniform(-300e3, 300e3, (k, 2))
    x[:, 2] = rng.uniform(0, 12e3, k)
    x[:, 3:5] = rng.uniform(-250, 250, (k, 2))
    P = np.tile(np.eye(6) * 400.0, (k, 1, 1))
    lat, lon, alt = origin.frame().to_geodetic(x[:, :3])
    ids = [f"T{i}" for i in range(k)]
    updates = [TrackUpdate(float(t), ids, x, P, lat, lon, alt, [None] * k, True) for t in range(20 if a.quick else 100)]

    def export():
        out = Cat062Out(io.BytesIO(), ss)
        for u in updates:
            out.tracks(u)
        return out.records

    dt, nrec = best(export, repeat)
    figures["cat062_export_records_per_s"] = nrec / dt
    print(f"CAT062 export (records + CAT065 end of batch): {nrec:,d} track records {rate(nrec, dt)}")
    if a.json:
        print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
