"""Seeded mutation fuzzer of every reader at a trust boundary (issue 11, "Readers that never crash").

Valid samples come from the simulator (a few seconds of a shipped scenario: sensors.json,
detections.jsonl, truth.jsonl and a tracks.jsonl made from the truth), the shipped scenario
YAMLs, and signed partner frames (``skyweave.share.Publisher``). Each input is a sample mutated
by byte flips, insertions, deletions, splices, numeric boundary values, deep nesting, unicode
junk, truncation, CRLF and BOMs, fed to its reader:

- ``detections``: :class:`~skyweave.io.formats.DetectionReader`; ``scans``:
  :class:`~skyweave.io.scans.ScanReader`; ``truth``: :func:`~skyweave.io.formats.iter_state_lines`;
  ``tracks``: :func:`~skyweave.io.tracks.iter_state_frames`; ``sensors``:
  :func:`~skyweave.io.formats.load_sensors`; ``scenario``:
  :func:`~skyweave.scenario.spec.load_scenario`;
- ``frames``: :meth:`skyweave.share.Gate.admit` on raw frame bytes mutated, and on mutated
  payloads re-signed with a valid key (a compromised partner).

Outcomes: ``ok``; ``format_error`` (a :class:`FormatError`, or a ``Rejected`` verdict for a
frame); anything else is a crash (including a ``Rejected`` whose detail says the gate caught an
unexpected exception), and so is a line reader that loses a line (every non-blank line must be
either delivered or named in an error) or an error without a line number. An input slower than
``--hang-s`` is a hang. Each crash or hang is saved under ``--out`` with a one-line replay
command; the exit status is 1 if there was any.

    python benchmarks/fuzz_readers.py --n 20000 --seed 1          # a quick run
    python benchmarks/fuzz_readers.py --n 1000000 --seed 1 --jobs 8   # the full million
    python benchmarks/fuzz_readers.py --replay detections /tmp/skyweave-fuzz/crash-...bin
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skyweave.core.errors import FormatError  # noqa: E402

#: share of the inputs each reader gets (the YAML loader is pure Python and ~50x slower)
WEIGHTS = {"detections": 22, "scans": 10, "truth": 15, "tracks": 15, "sensors": 15, "scenario": 4, "frames": 19}

NUMBERS = [b"0", b"-0", b"1e308", b"-1e308", b"1e309", b"1e-400", b"NaN", b"Infinity", b"-Infinity",
           b"1" + b"0" * 309, b"9" * 4301, b"18446744073709551616", b"-9223372036854775809", b"1.5",
           b"true", b"null", b'"1"', b"[]", b"{}", b"4.9e-324", b"2.2250738585072014e-308"]
JUNK = ["\ufeff", "\u2028", "\x00", "\x1b", "\ud800", "\U0001f600", "\u00e9", "\r", "\r\n", "\x85", "\ufffe", "\u202e"]


# --------------------------------------------------------------------------- samples


def make_samples(work: Path) -> dict:
    """Valid inputs per reader: bytes of files, and for frames (kind, items, key, publisher)."""
    from skyweave.node.simulate import run_simulation

    sim = work / "sim"
    run_simulation(ROOT / "skyweave/scenarios/trilateral.yaml", sim, seed=1, duration=6.0)
    sim2 = work / "sim2"
    run_simulation(ROOT / "skyweave/scenarios/clutter-10.yaml", sim2, seed=2, duration=4.0)
    samples: dict = {"sensors": [], "detections": [], "truth": [], "tracks": [], "scenario": []}
    for d in (sim, sim2):
        sensors = (d / "sensors.json").read_bytes()
        det = (d / "detections.jsonl").read_bytes().splitlines(keepends=True)
        truth = (d / "truth.jsonl").read_bytes().splitlines(keepends=True)
        samples["sensors"].append(sensors)
        tracks = []
        for ln in truth:  # a tracks.jsonl: the truth with track ids and a covariance
            rec = json.loads(ln)
            rec["track_id"] = "T-" + str(rec.pop("id"))
            n = 6 if "z" in rec else 4
            rec["cov"] = [1.0 if i % (n + 1) == 0 else 0.0 for i in range(n * n)]
            tracks.append((json.dumps(rec) + "\n").encode())
        # readers run on windows of 8-24 consecutive lines (small inputs, many of them)
        for name, lines in (("detections", det), ("truth", truth), ("tracks", tracks)):
            for i in range(0, max(1, len(lines) - 24), 7):
                samples[name].append((sensors, b"".join(lines[i:i + random.Random(i).randint(8, 24)])))
    for p in sorted((ROOT / "skyweave/scenarios").glob("*.yaml")):
        samples["scenario"].append(p.read_bytes())
    samples["scans"] = samples["detections"]
    samples["frames"] = make_frame_samples()
    return samples


def make_frame_samples():
    from skyweave.share import (AlertReport, Gate, Keyring, NodeStatus, Publisher, Sequencer, TrackReport,
                                generate_key)

    keys = {n: generate_key() for n in ("USA", "JPN", "AUS")}
    pub = Publisher("USA", "usa-1", keys["USA"], ["JPN", "AUS"], sequencer=Sequencer(1))
    reports = [TrackReport(nation="USA", node="usa-1", track_id=f"USA-{i}", t=100.0 + 0.1 * i,
                           state=[1000.0 * i, 2000.0, 3000.0, 200.0, -10.0, 0.0],
                           cov=[float(j == k) * 100.0 for j in range(6) for k in range(6)],
                           releasable_to=("AUS", "JPN", "USA"), quality=9) for i in range(5)]
    frames = [pub.build("tracks", reports[:k], 100.0, "JPN").data for k in (1, 3, 5)]
    try:
        st = NodeStatus(nation="USA", node="usa-1", t=100.0, tracks=5)
        f = pub.build("status", [st], 100.0, "JPN")
        if f is not None:
            frames.append(f.data)
    except Exception:  # the status fields are the schema's business; tracks frames suffice
        pass
    try:
        alert = AlertReport(alert_id="USA-A1", t=100.0, threat="ballistic", time_to_impact_s=300.0, confidence=0.8,
                            places=["Tokyo"], releasable_to=("AUS", "JPN", "USA"), nation="USA")
        frames.append(pub.build("alerts", [alert], 100.0, "JPN").data)
    except Exception:
        pass
    return {"frames": frames, "keys": keys, "gate": lambda: Gate("JPN", Keyring({n: k.public_key() for n, k in keys.items()}),
                                                                  max_age_s=30.0, max_future_s=5.0, window=4096)}


# --------------------------------------------------------------------------- mutations


def _deep(rng: random.Random) -> bytes:
    n = rng.choice([50, 900, 1000, 1025, 5000, 100_000])
    o, c = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    return o * n + b"1" + c * (n if rng.random() < 0.5 else rng.randrange(n))


def _number_swap(rng: random.Random, data: bytes) -> bytes:
    import re

    spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", data[:20000])]
    if not spans:
        return data
    a, b = rng.choice(spans)
    return data[:a] + rng.choice(NUMBERS) + data[b:]


def mutate(rng: random.Random, data: bytes, *, text: bool = True) -> bytes:
    """One to four random mutations of ``data``."""
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 4))):
        op = rng.randrange(13)
        n = len(b)
        i = rng.randrange(n + 1) if n else 0
        if op == 0 and n:  # byte flip
            b[min(i, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:  # random bytes inserted
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 2 and n:  # deletion
            del b[i:i + rng.randint(1, 16)]
        elif op == 3 and n:  # splice: a chunk copied elsewhere
            j = rng.randrange(n)
            b[i:i] = b[j:j + rng.randint(1, 64)]
        elif op == 4 and text:  # a number replaced by a boundary value
            b = bytearray(_number_swap(rng, bytes(b)))
        elif op == 5 and text:  # deep nesting
            b[i:i] = _deep(rng)
        elif op == 6:  # unicode junk
            b[i:i] = rng.choice(JUNK).encode("utf-8", "surrogatepass")
        elif op == 7 and n:  # truncation
            del b[rng.randrange(n):]
        elif op == 8 and text:  # CRLF line ends
            b = bytearray(bytes(b).replace(b"\n", b"\r\n"))
        elif op == 9 and text:  # a BOM at the start
            b[0:0] = b"\xef\xbb\xbf"
        elif op == 10 and text:  # a value swapped for a wrong type
            import re

            spans = [m.span() for m in re.finditer(rb'(?<=: )("[^"]*"|-?[\d.eE+-]+|\[[^\[\]]*\])', bytes(b[:20000]))]
            if spans:
                x, y = rng.choice(spans)
                b[x:y] = rng.choice([b"null", b"true", b"[]", b"{}", b'""', b'"x"', b"[1, 2]", b'{"a": 1}', b"-1", b"0"])
        elif op == 11 and n:  # a byte set to an interesting value
            b[min(i, n - 1)] = rng.choice([0, 0x0A, 0x0D, 0x22, 0x5C, 0x7F, 0x80, 0xC0, 0xFF, 0x7B, 0x5B, 0x3A, 0x20])
        elif op == 12 and n:  # a line duplicated or dropped
            lines = bytes(b).split(b"\n")
            k = rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(k, lines[k])
            else:
                del lines[k]
            b = bytearray(b"\n".join(lines))
    return bytes(b)


# --------------------------------------------------------------------------- readers


class Crash(Exception):
    """A reader broke its contract without raising (a lost line, an error without a line)."""


def _nonblank(data: bytes) -> int:
    return sum(1 for ln in io.BytesIO(data) if ln.strip())


def _check_lines(data: bytes, good: int, errors: list) -> None:
    want = _nonblank(data)
    if good + len(errors) != want:
        raise Crash(f"{good} good + {len(errors)} errors != {want} non-blank lines")
    for e in errors:
        if not isinstance(e, FormatError) or e.line is None or e.path is None:
            raise Crash(f"an error without file and line: {e!r}")
        str(e)


class Runner:
    """Feeds one input to one reader; returns "ok" or "format_error", raises on a crash."""

    def __init__(self, work: Path, samples: dict):
        self.work = work
        self.samples = samples
        self._sensor_sets: dict = {}
        self.gate = samples["frames"]["gate"]()
        self.seq = 10
        self.path = work / "input"

    def _sensors(self, sensors_bytes: bytes):
        from skyweave.io.formats import load_sensors

        s = self._sensor_sets.get(sensors_bytes)
        if s is None:
            p = self.work / "sensors.json"
            p.write_bytes(sensors_bytes)
            s = self._sensor_sets[sensors_bytes] = load_sensors(p)
        return s

    def run(self, reader: str, data: bytes, ctx: bytes | None) -> str:
        from skyweave.io.formats import DetectionReader, iter_state_lines, load_sensors
        from skyweave.io.scans import ScanReader
        from skyweave.io.tracks import IdRegistry, iter_state_frames
        from skyweave.scenario.spec import load_scenario

        if reader == "frames":
            return self.run_frame(data)
        p = self.path
        p.write_bytes(data)
        if reader in ("sensors", "scenario"):
            try:
                (load_sensors if reader == "sensors" else load_scenario)(p)
            except FormatError as e:
                str(e)
                return "format_error"
            return "ok"
        errors: list = []
        if reader == "detections":
            r = DetectionReader(p, self._sensors(ctx))
            good = sum(1 for _ in r)
            errors = r.errors
        elif reader == "scans":
            r = ScanReader(p, self._sensors(ctx))
            good = sum(len(s) for s in r)
            errors = r.errors
        elif reader == "truth":
            good = sum(1 for _ in iter_state_lines(p, "id", errors, None))
        else:
            good = sum(len(f) for f in iter_state_frames(p, "track_id", IdRegistry(), errors, None))
        _check_lines(data, good, errors)
        return "format_error" if errors else "ok"

    def run_frame(self, data: bytes) -> str:
        v = self.gate.admit(data, now=100.0)
        if v.ok:
            return "ok"
        if (v.detail or "").startswith("unexpected "):  # the gate's own catch-all
            raise Crash(f"the gate caught an exception: {v.detail}")
        return "format_error"


def frame_input(rng: random.Random, samples: dict, seq: int) -> bytes:
    """A frame to judge: raw bytes mutated, or (a compromised partner) a mutated payload re-signed."""
    import msgspec

    from skyweave.share import Envelope, encode_envelope, make_msg_id, sign_envelope
    from skyweave.share.schema import decode_envelope

    fs = samples["frames"]
    data = rng.choice(fs["frames"])
    if rng.random() < 0.4:
        return mutate(rng, data, text=False)
    env = decode_envelope(data)
    payload = env.payload
    if rng.random() < 0.5:  # decode, change a field to a boundary value, re-encode
        obj = msgspec.msgpack.decode(payload)
        obj = _mutate_tree(rng, obj)
        try:
            payload = msgspec.msgpack.encode(obj)
        except Exception:
            payload = mutate(rng, payload, text=False)
    else:
        payload = mutate(rng, payload, text=False)
    env = msgspec.structs.replace(env, payload=payload, seq=seq, msg_id=make_msg_id(env.sender, env.node, seq))
    assert isinstance(env, Envelope)
    return encode_envelope(sign_envelope(env, fs["keys"][env.sender]))


_VALUES = [0, -1, 2**63, -(2**63) - 1, 2**64, 1e300, -1e300, float("nan"), float("inf"), 5e-324, "", "x" * 70,
           "JPN", "USA", "\ud800" if False else "\u202e", None, True, [], {}, [1.0] * 9, [[1.0]], b"\x00", 2.5]


def _mutate_tree(rng: random.Random, obj):
    if isinstance(obj, list) and obj and rng.random() < 0.85:
        obj = list(obj)
        k = rng.randrange(len(obj))
        obj[k] = _mutate_tree(rng, obj[k])
        return obj
    if isinstance(obj, dict) and obj and rng.random() < 0.85:
        obj = dict(obj)
        k = rng.choice(list(obj))
        obj[k] = _mutate_tree(rng, obj[k])
        return obj
    v = rng.choice(_VALUES)
    if isinstance(v, list) and rng.random() < 0.3:
        v = v * rng.choice([2, 100, 10_000])
    return v


# --------------------------------------------------------------------------- the loop


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def fuzz(n: int, seed: int, out: Path, hang_s: float, kill_s: float, samples: dict | None = None,
         work: Path | None = None, quiet: bool = False) -> dict:
    """Run ``n`` inputs; returns {reader: {ok, format_error, crash, hang, seconds}} and the crashes."""
    work = work or Path(tempfile.mkdtemp(prefix="skyweave-fuzz-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))
    if samples is None:
        samples = make_samples(work)
    runner = Runner(work, samples)
    rng = random.Random(seed)
    names = list(WEIGHTS)
    weights = [WEIGHTS[k] for k in names]
    counts = {k: {"ok": 0, "format_error": 0, "crash": 0, "hang": 0, "seconds": 0.0} for k in names}
    crashes: list[str] = []
    signal.signal(signal.SIGALRM, _alarm)
    for i in range(n):
        reader = rng.choices(names, weights)[0]
        ctx = None
        if reader == "frames":
            runner.seq += 1
            data = frame_input(rng, samples, runner.seq)
        elif reader in ("sensors", "scenario"):
            data = mutate(rng, rng.choice(samples[reader]))
        else:
            ctx, base = rng.choice(samples[reader])
            data = mutate(rng, base)
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, kill_s)
        try:
            outcome = runner.run(reader, data, ctx)
            signal.setitimer(signal.ITIMER_REAL, 0)
        except _Timeout:
            outcome, why = "hang", f"still running after {kill_s} s"
        except Exception as e:  # noqa: BLE001 - anything but a FormatError is what we look for
            signal.setitimer(signal.ITIMER_REAL, 0)
            outcome, why = "crash", "".join(traceback.format_exception(e)[-3:]).strip()
        dt = time.perf_counter() - t0
        if outcome != "hang" and dt > hang_s:
            outcome, why = "hang", f"took {dt:.2f} s (> {hang_s} s)"
        c = counts[reader]
        c["seconds"] += dt
        c[outcome] += 1
        if outcome in ("crash", "hang"):
            out.mkdir(parents=True, exist_ok=True)
            f = out / f"{outcome}-{reader}-{seed}-{i}.bin"
            f.write_bytes(data)
            if ctx is not None:
                (out / f"{outcome}-{reader}-{seed}-{i}.sensors.json").write_bytes(ctx)
            msg = f"{outcome.upper()} {reader} input {i} (seed {seed}): {why}\n  replay: python {Path(__file__).name} --replay {reader} {f}"
            crashes.append(msg)
            if not quiet:
                print(msg, file=sys.stderr)
    return {"counts": counts, "crashes": crashes}


def _job(args):
    n, seed, out, hang_s, kill_s = args
    return fuzz(n, seed, Path(out), hang_s, kill_s, quiet=True)


def replay(reader: str, path: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="skyweave-replay-"))
    samples = {"frames": make_frame_samples()}
    runner = Runner(work, samples)
    ctx_p = path.with_name(path.name[:-4] + ".sensors.json")
    ctx = ctx_p.read_bytes() if ctx_p.exists() else None
    if reader == "frames":  # a re-signed frame carries a key of the run that made it: judge its bytes unsigned
        print(runner.gate.admit(path.read_bytes(), now=100.0))
        return 0
    print(runner.run(reader, path.read_bytes(), ctx))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="inputs in total across readers (default 20000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="processes (each runs n/jobs inputs with its own seed)")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "skyweave-fuzz",
                    help="where crashing or hanging inputs are saved")
    ap.add_argument("--hang-s", type=float, default=1.0, help="an input slower than this is a hang (s)")
    ap.add_argument("--kill-s", type=float, default=20.0, help="an input is stopped after this (s)")
    ap.add_argument("--replay", nargs=2, metavar=("READER", "FILE"), help="run one saved input and show the outcome")
    a = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # every refused frame is logged; the counts say it all
    if a.replay:
        return replay(a.replay[0], Path(a.replay[1]))
    t0 = time.perf_counter()
    if a.jobs <= 1:
        results = [fuzz(a.n, a.seed, a.out, a.hang_s, a.kill_s)]
    else:
        per = [a.n // a.jobs + (1 if j < a.n % a.jobs else 0) for j in range(a.jobs)]
        with multiprocessing.get_context("fork").Pool(a.jobs) as pool:
            results = pool.map(_job, [(per[j], a.seed * 1000 + j, str(a.out), a.hang_s, a.kill_s) for j in range(a.jobs)])
    wall = time.perf_counter() - t0
    total = {k: {"ok": 0, "format_error": 0, "crash": 0, "hang": 0, "seconds": 0.0} for k in WEIGHTS}
    crashes = []
    for r in results:
        crashes += r["crashes"]
        for k, c in r["counts"].items():
            for f, v in c.items():
                total[k][f] += v
    print(f"{'reader':<11} {'inputs':>8} {'ok':>8} {'FormatError':>12} {'crash':>6} {'hang':>5} {'inputs/s':>9}")
    n_all = 0
    for k, c in total.items():
        n = c["ok"] + c["format_error"] + c["crash"] + c["hang"]
        n_all += n
        rate = n / c["seconds"] if c["seconds"] else 0.0
        print(f"{k:<11} {n:>8} {c['ok']:>8} {c['format_error']:>12} {c['crash']:>6} {c['hang']:>5} {rate:>9.0f}")
    print(f"total {n_all} inputs in {wall:.1f} s (with sample generation): {n_all / wall:.0f} inputs/s "
          f"with {a.jobs} job(s); seed {a.seed}")
    for m in crashes[:20]:
        print(m)
    if crashes:
        print(f"{len(crashes)} crashes or hangs; inputs saved under {a.out}")
        return 1
    print("no crash, no hang")
    return 0


if __name__ == "__main__":
    sys.exit(main())
