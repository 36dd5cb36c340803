"""Publish-to-receive latency over NATS JetStream: ``python benchmarks/bench_latency.py``.

A USA publisher sends ``--n`` signed one-track frames to JPN at ``--rate`` frames per second
through JetStream (publish acknowledged by the server, delivered by a durable push consumer,
handled on the receiving bus's dispatcher thread, acknowledged). Latency per frame is from just
before ``publish`` to the receiving handler, after the admission gate has verified it (both ends
in this process, one monotonic clock). Starts its own nats-server on loopback unless ``--nats``
names one (skipped, said so, when there is neither). Prints p50, p90, p99 and max in
milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from skyweave.share.admission import Gate
from skyweave.share.endpoint import Publisher, Sequencer
from skyweave.share.schema import TrackReport
from skyweave.share.signing import Keyring, generate_key

# tests.support (real nats-server processes) is not shipped with the package: import it from the
# repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.natsserver import NatsServer, nats_server_binary  # noqa: E402


def _pct(sorted_ms: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    i = min(len(sorted_ms) - 1, max(0, int(round(q * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


def measure(url: str, n: int = 2000, rate: float = 1000.0, replicas: int = 1) -> dict[str, float]:
    """Send ``n`` frames at ``rate`` Hz over the NATS at ``url``; return latency statistics in ms."""
    from skyweave.share.natsbus import NatsBus

    keys = {"USA": generate_key(), "JPN": generate_key()}
    ring = Keyring({k: v.public_key() for k, v in keys.items()})
    sender = NatsBus(url, nations=["USA", "JPN"], name="latency-usa", replicas=replicas)
    receiver = NatsBus(url, nations=["USA", "JPN"], name="latency-jpn", replicas=replicas)
    gate = Gate("JPN", ring, max_age_s=None, max_future_s=None)
    sent: dict[str, float] = {}
    lat_ms: list[float] = []
    done = threading.Event()

    def on_frame(subject: str, data: bytes) -> None:
        v = gate.admit(data)
        now = time.perf_counter()
        if v.ok:
            t0 = sent.get(v.envelope.msg_id)
            if t0 is not None:
                lat_ms.append((now - t0) * 1e3)
        if len(lat_ms) >= n:
            done.set()

    durable = f"latency-{int(time.time() * 1000) % 10**9}"
    receiver.subscribe("skyweave.*.JPN.>", on_frame, durable=durable)
    pub = Publisher("USA", "usa-lat", keys["USA"], ["JPN"], sequencer=Sequencer())
    report = TrackReport(nation="USA", node="usa-lat", track_id="USA-1", t=0.0, state=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                         releasable_to=("JPN", "USA"), quality=9)
    frames = [pub.build("tracks", [report], float(i), "JPN") for i in range(n)]
    period = 1.0 / rate
    start = time.perf_counter()
    for i, f in enumerate(frames):
        target = start + i * period
        while time.perf_counter() < target:
            time.sleep(min(0.0005, max(0.0, target - time.perf_counter())))
        sent[f.msg_id] = time.perf_counter()
        sender.publish(f.subject, f.data, msg_id=f.msg_id, wait=False)
    sender.flush(timeout=30)
    done.wait(timeout=30)
    sender.close()
    receiver.close()
    ms = sorted(lat_ms)
    if not ms:
        raise RuntimeError("no frame arrived")
    return {
        "n_sent": n, "n_received": len(ms), "rate_hz": rate,
        "p50_ms": _pct(ms, 0.50), "p90_ms": _pct(ms, 0.90), "p99_ms": _pct(ms, 0.99), "max_ms": ms[-1],
        "frame_bytes": len(frames[0].data),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/bench_latency.py", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="frames to send (default 2000)")
    ap.add_argument("--rate", type=float, default=1000.0, help="frames per second (default 1000)")
    ap.add_argument("--nats", default=None, help="NATS URL(s); default: start a nats-server on loopback")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    if args.nats:
        res = measure(args.nats, args.n, args.rate)
    elif nats_server_binary() is None:
        print("skipped: nats-server not installed (scripts/services.sh) and no --nats URL given")
        return 0
    else:
        with tempfile.TemporaryDirectory() as d, NatsServer(Path(d) / "js") as server:
            res = measure(server.url, args.n, args.rate)
    if args.json:
        print(json.dumps(res))
    else:
        print(
            f"{res['n_received']}/{res['n_sent']} frames of {res['frame_bytes']} B at {res['rate_hz']:.0f}/s over NATS "
            f"JetStream: p50 {res['p50_ms']:.2f} ms, p90 {res['p90_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms, "
            f"max {res['max_ms']:.2f} ms"
        )
    return 0 if res["n_received"] == res["n_sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
