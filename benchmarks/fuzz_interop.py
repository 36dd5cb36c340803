"""Seeded mutation fuzzer of the interop readers (issue 15, "Bad input"): no crash, no hang.

Valid samples: the real ASTERIX recordings that ship with asterix-decoder (its package's
sample_data: CAT048, CAT034 blocks and the libpcap capture, cut to its first packets; it must be
installed, scripts/services.sh builds it), a CAT021 record, and Beast, AVR (with and without
counters, with UNIX stamps) and SBS-1 streams made from the synthetic ADS-B flight of
tests/support/modes_encoder.py. Each input is a sample mutated by byte flips, insertions, deletions, splices,
interesting byte values (0x1a, FSPEC/FX bits, lengths 0 and 0xFFFF), truncation, duplicated and
dropped lines, fed through the whole decode to detections (``Ingest.run``) of its format:

- ``asterix`` (raw blocks), ``pcap`` (a capture), ``beast``, ``avr``, ``sbs``;
- ``modes``: :func:`~skyweave.interop.modes.decode_frame` on random 7- and 14-byte messages and
  the ADS-B decoder on them (random parities are mostly wrong: the parity is forced right);
- ``tak``: :func:`~skyweave.interop.export.tak_messages` on TAK protocol streams that
  ``skyweave export tak`` writes (needs takproto): a bad message must raise ``FormatError`` naming
  its byte offset, and nothing else may be raised.

Outcomes: ``ok``; anything raised is a crash, and so is a skipped-record report without its
byte offset or line number, and a line reader that loses a line (every non-blank line must be
counted as read). An input slower than ``--hang-s`` is a hang. Crashes and hangs are saved under
``--out`` with a replay command; the exit status is 1 if there was any.

    python benchmarks/fuzz_interop.py --n 20000 --seed 1                 # a quick run
    python benchmarks/fuzz_interop.py --n 1000000 --seed 1 --jobs 2      # the full million
    python benchmarks/fuzz_interop.py --replay beast /tmp/skyweave-fuzz-interop/crash-...bin
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import random
import re
import sys
import time
import traceback
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skyweave.interop.feeds import avr_line, beast_frame  # noqa: E402
from skyweave.interop.ingest import Ingest, IngestConfig  # noqa: E402
from skyweave.interop.modes import crc24, decode_frame  # noqa: E402
from skyweave.interop.adsb import AdsbDecoder  # noqa: E402

#: share of the inputs each reader gets
WEIGHTS = {"asterix": 28, "pcap": 10, "beast": 18, "avr": 15, "sbs": 14, "modes": 10, "tak": 5}
INTERESTING = [0x00, 0x01, 0x1A, 0x30, 0x22, 0x15, 0x80, 0xFE, 0xFF, 0x7F, 0x0A, 0x0D, 0x2A, 0x3B, 0x2C]
WHERE = re.compile(r"(byte \d+|:\d+)")


def make_samples() -> dict[str, list[bytes]]:
    """Valid inputs per reader, from the shipped real recordings."""
    from skyweave.interop.cat062 import encode_fspec
    from skyweave.interop.pcap import iter_udp
    from skyweave.interop.records import Tally

    try:
        ast = Path(importlib.import_module("asterix").__file__).parent / "sample_data"
    except ImportError:
        sys.exit("fuzz_interop needs asterix-decoder (its sample_data holds the ASTERIX captures): scripts/services.sh")
    pcap = (ast / "cat_034_048.pcap").read_bytes()
    payloads = [p for _, p, _ in iter_udp(pcap, Tally())]
    lat, lon = 35.68, 139.76
    items = {1: b"\x01\x02", 2: b"\x01\x00", 5: (460864).to_bytes(3, "big"),
             7: round(lat * (1 << 30) / 180).to_bytes(4, "big", signed=True)
             + round(lon * (1 << 30) / 180).to_bytes(4, "big", signed=True),
             11: b"\x86\xd2\xa1", 16: (5600).to_bytes(2, "big"), 17: bytes([0x0F, 0x13, 0x00]), 18: bytes([2 << 3]),
             21: (1400).to_bytes(2, "big")}
    rec = encode_fspec(sorted(items)) + b"".join(items[k] for k in sorted(items))
    cat021 = bytes([21]) + (len(rec) + 3).to_bytes(2, "big") + rec
    asterix = [(ast / "cat048.raw").read_bytes(), (ast / "cat034.raw").read_bytes(), cat021,
               b"".join(payloads[:6]), payloads[4], payloads[10] + cat021]
    from tests.support.modes_encoder import synthetic_recording

    rows = synthetic_recording()
    t0 = rows[0][0]
    msgs = [(ts, bytes.fromhex(h)) for ts, h in rows]
    beast, avr, sbs = [], [], []
    for k in range(0, 100, 20):
        chunk = msgs[k:k + 20]
        beast.append(b"".join(beast_frame(m, int((ts - t0) * 12e6), 0x1A) for ts, m in chunk)
                     + beast_frame(b"\x1a\x1a", 5))
        avr.append("\n".join(avr_line(m, int((ts - t0) * 12e6)) for ts, m in chunk).encode() + b"\n")
        avr.append("\n".join("%.3f *%s;" % (ts, m.hex()) for ts, m in chunk).encode() + b"\n")
        avr.append("\n".join(avr_line(m) for _, m in chunk).encode())
        # short replies in 112-bit buffers, as rs1090 records them
        avr.append("\n".join("%.3f *%s;" % (ts, (m + m).hex() if len(m) == 7 else m.hex()) for ts, m in chunk).encode())
        sbs.append("\n".join(
            f"MSG,3,1,1,406B90,1,2016/03/14,23:00:{i:02d}.000,2016/03/14,23:00:{i:02d}.000,EZY85MH,{38000 + i * 25},"
            f"450,90.5,{51.1 + i * 0.01:.5f},{7.2 + i * 0.01:.5f},-64,1000,0,0,0,0" for i in range(20)).encode() + b"\n")
    return {"asterix": asterix, "pcap": [pcap[:2200], pcap[:600]], "beast": beast, "avr": avr, "sbs": sbs,
            "tak": tak_samples()}


def tak_samples() -> list[bytes]:
    """TAK protocol streams of a few track and alert events, as ``skyweave export tak`` writes them."""
    import io
    from datetime import datetime, timezone

    import numpy as np

    from skyweave.core.model import Origin, SensorSet
    from skyweave.interop.export import TakOut, TrackUpdate

    sensors = SensorSet(epoch=datetime(2024, 4, 10, tzinfo=timezone.utc), origin=Origin(35.0, 139.0, 0.0), sensors=())
    out = io.BytesIO()
    w = TakOut(out, sensors)
    P = np.tile(np.diag([100.0, 100.0, 400.0, 25.0, 25.0, 25.0]), (3, 1, 1))
    x = np.array([[0.0, 0.0, 9000.0, 200.0, 10.0, 0.0], [5e3, 1e3, 300.0, -50.0, 80.0, 1.0],
                  [-2e4, 7e3, 12000.0, 0.0, -240.0, 0.0]])
    for t in (10.0, 11.0):
        w.tracks(TrackUpdate(t, ["JPN-1", "JPN-2", "USA-7"], x, P, np.array([35.0, 35.01, 35.06]),
                             np.array([139.0, 139.05, 138.8]), x[:, 2], [0x86D2A1, None, None], True))
    w.alert({"alert_id": "USA-W1", "t": 10.5, "threat": "ballistic", "time_to_impact_s": 390.0, "confidence": "high",
             "places": ["Tokyo"], "impact": {"lat": 35.1, "lon": 139.1, "semi_major_m": 20000.0, "semi_minor_m": 8000.0,
                                             "orientation_deg": 30.0}})
    data = out.getvalue()
    return [data, data[: len(data) // 2], data * 2]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four random mutations of ``data``."""
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 4))):
        op = rng.randrange(9)
        n = len(b)
        i = rng.randrange(n + 1) if n else 0
        if op == 0 and n:  # bit flip
            b[min(i, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:  # random bytes inserted
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 2 and n:  # deletion
            del b[i:i + rng.randint(1, 16)]
        elif op == 3 and n:  # splice
            j = rng.randrange(n)
            b[i:i] = b[j:j + rng.randint(1, 64)]
        elif op == 4 and n:  # an interesting byte
            b[min(i, n - 1)] = rng.choice(INTERESTING)
        elif op == 5 and n:  # truncation
            del b[rng.randrange(n):]
        elif op == 6 and n > 3:  # a 16-bit length field set to an edge value
            j = rng.randrange(n - 1)
            b[j:j + 2] = rng.choice([b"\x00\x00", b"\x00\x03", b"\xff\xff", b"\x00\x04", b"\x01\x00"])
        elif op == 7:  # a line duplicated or dropped
            lines = bytes(b).split(b"\n")
            k = rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(k, lines[k])
            else:
                del lines[k]
            b = bytearray(b"\n".join(lines))
        elif op == 8 and n:  # a run of one byte (0x1a escapes, FX chains)
            b[i:i] = bytes([rng.choice(INTERESTING)]) * rng.randint(2, 40)
    return bytes(b)


class Crash(Exception):
    """A reader broke its contract without raising."""


CFG = dict(day=date(2016, 5, 5), radar=(45.8, 16.0, 0.0), reference=(51.1, 7.2), name="fuzz")


def run_reader(reader: str, data: bytes) -> None:
    """Decode ``data`` with ``reader``; raise :class:`Crash` for a broken contract."""
    if reader == "tak":
        from skyweave.core.errors import FormatError
        from skyweave.interop.export import tak_messages

        try:
            for _ in tak_messages(data):
                pass
        except FormatError as e:
            if not re.search(r"byte \d+", str(e)):
                raise Crash(f"a report without its place: {e}") from None
        return
    if reader == "modes":
        dec = AdsbDecoder((51.1, 7.2))
        for k in range(0, len(data) - 13, 14):
            msg = bytearray(data[k:k + 14 if data[k] & 0x80 else k + 7])
            m = decode_frame(bytes(msg))
            if len(msg) == 14:  # a right parity, so the ADS-B decoding runs
                body = bytes(msg[:11])
                m = decode_frame(body + crc24(body).to_bytes(3, "big"))
            if m is not None:
                dec.feed(k * 0.1, m)
        return
    fmt = "asterix" if reader == "pcap" else reader
    job = Ingest(IngestConfig(**CFG))
    n = sum(1 for _ in job.run(fmt, data))
    tally = job.tally
    if n != tally.detections:
        raise Crash(f"{n} detections yielded, {tally.detections} counted")
    for e in tally.errors:
        if not WHERE.search(e.where):
            raise Crash(f"a report without its place: {e}")
    if fmt in ("avr", "sbs"):
        lines = sum(1 for x in data.splitlines() if x.strip())
        if tally.read != lines:
            raise Crash(f"{lines} non-blank lines, {tally.read} read")


def make_input(rng: random.Random, samples: dict, reader: str) -> bytes:
    if reader == "modes":
        return rng.randbytes(rng.choice((14, 28, 70, 140)))
    return mutate(rng, rng.choice(samples[reader]))


def fuzz(n: int, seed: int, out: Path, hang_s: float, worker: int = 0, samples: dict | None = None) -> dict:
    """Run ``n`` inputs from ``seed``; returns counts per reader and outcome, and the failures."""
    samples = samples or make_samples()
    rng = random.Random(seed * 1_000_003 + worker)
    readers = list(WEIGHTS)
    weights = [WEIGHTS[r] for r in readers]
    counts: Counter = Counter()
    failures = []
    for i in range(n):
        reader = rng.choices(readers, weights)[0]
        data = make_input(rng, samples, reader)
        t = time.perf_counter()
        try:
            run_reader(reader, data)
            outcome = "ok"
        except Exception as e:  # noqa: BLE001 - every exception is a finding
            outcome = "crash"
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        if outcome == "ok" and time.perf_counter() - t > hang_s:
            outcome, detail = "hang", f"{time.perf_counter() - t:.2f} s"
        counts[(reader, outcome)] += 1
        if outcome != "ok":
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"{outcome}-{reader}-{seed}-{worker}-{i}.bin"
            path.write_bytes(data)
            failures.append(f"{reader}: {detail} (replay: python benchmarks/fuzz_interop.py --replay {reader} {path})")
    return {"counts": counts, "failures": failures}


def _job(args):
    return fuzz(*args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="inputs in total")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--hang-s", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/skyweave-fuzz-interop"))
    ap.add_argument("--replay", nargs=2, metavar=("READER", "FILE"))
    a = ap.parse_args(argv)
    if a.replay:
        run_reader(a.replay[0], Path(a.replay[1]).read_bytes())
        print("ok")
        return 0
    t0 = time.perf_counter()
    per = [a.n // a.jobs + (1 if w < a.n % a.jobs else 0) for w in range(a.jobs)]
    if a.jobs == 1:
        results = [fuzz(per[0], a.seed, a.out, a.hang_s)]
    else:
        with multiprocessing.Pool(a.jobs) as pool:
            results = pool.map(_job, [(k, a.seed, a.out, a.hang_s, w) for w, k in enumerate(per)])
    counts: Counter = Counter()
    failures = []
    for r in results:
        counts.update(r["counts"])
        failures += r["failures"]
    dt = time.perf_counter() - t0
    total = sum(counts.values())
    print(f"fuzz_interop: {total} inputs, seed {a.seed}, {a.jobs} job(s), {dt:.1f} s ({total / dt:,.0f} inputs/s)")
    for reader in WEIGHTS:
        row = {o: counts[(reader, o)] for o in ("ok", "crash", "hang")}
        print(f"  {reader:8s} {sum(row.values()):>9,d}  ok {row['ok']:,d}  crash {row['crash']}  hang {row['hang']}")
    for f in failures[:20]:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
