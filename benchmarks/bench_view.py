"""The joint command view under load: WebSocket bytes per client, server CPU and memory, and
(with --browser) the frame time of the page in headless Chromium.

Two feeds, each served by a server in a child process (so its CPU and memory are its own):

- ``demo``: the live trilateral demonstration (`skyweave serve --demo`: the four-nation network
  runs in the same process, so its CPU includes the nodes);
- ``synthetic``: ``--tracks`` tracks in every nation's view, all moving, a new picture once a
  second, 30 % of them releasable to a random subset of the nations: the serving cost alone.

``--clients`` WebSocket viewers (nations in turn) connect for ``--seconds``; every item of every
frame each receives, and every row of its ``moves`` columns, is checked against its nation (a
frame to the wrong nation is counted).

    python benchmarks/bench_view.py --feed synthetic --tracks 5000 --clients 50 --seconds 20 --client-procs 4
    python benchmarks/bench_view.py --feed demo --clients 8 --seconds 30
    python benchmarks/bench_view.py --feed synthetic --tracks 5000 --clients 0 --browser --seconds 15
    python benchmarks/bench_view.py --costs --tracks 5000      # the server's CPU per picture, in-process
    python benchmarks/bench_view.py --screenshot docs/view.png     # the README's picture
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

NATIONS = ("AUS", "GBR", "JPN", "USA")
PASSWORD = "bench-view-pw"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


# ------------------------------------------------------------------------------- the server (child)

class SyntheticPicture:
    """A fused picture of ``n`` tracks on straight courses at time ``t`` (the fields the view reads)."""

    def __init__(self, t, base, vel, rel, n_nations_ids):
        n = len(base)
        self.t = float(t)
        self.ntn = n_nations_ids
        self.x = np.hstack([base + vel * t, vel])
        self.P = np.tile(np.diag([300.0 ** 2, 300.0 ** 2, 150.0 ** 2, 20.0, 20.0, 4.0]), (n, 1, 1))
        self._rel = rel
        self.cls = np.full(n, "aircraft")
        self.class_conf = np.full(n, 0.9)
        self.identity = np.where(np.arange(n) % 3 == 0, 0x800000 + np.arange(n), -1)
        self.quality = np.full(n, 12)
        self.responsible = np.ones(n, dtype=bool)
        self._src = [(f"{r[0]}:{r[0]}-{i}",) for i, r in enumerate(rel)]

    def __len__(self):
        return len(self.ntn)

    dims = 3

    @property
    def releasable_to(self):
        return self._rel

    @property
    def sources(self):
        return self._src


def synthetic_inputs(n_tracks: int, seed: int = 1):
    """(base positions, velocities, markings, ids) of the synthetic picture's ``n_tracks`` tracks."""
    rng = np.random.default_rng(seed)
    base = np.column_stack([rng.uniform(-600e3, 600e3, n_tracks), rng.uniform(-500e3, 500e3, n_tracks),
                            rng.uniform(3000, 12000, n_tracks)])
    heading = rng.uniform(0, 2 * np.pi, n_tracks)
    speed = rng.uniform(150, 260, n_tracks)
    vel = np.column_stack([speed * np.sin(heading), speed * np.cos(heading), np.zeros(n_tracks)])
    rel = []
    for i in range(n_tracks):
        if rng.random() < 0.7:
            rel.append(NATIONS)
        else:
            k = int(rng.integers(1, 4))
            rel.append(tuple(sorted(rng.choice(NATIONS, size=k, replace=False))))
    ids = np.array([f"{rel[i][0]}-N{i:05d}" for i in range(n_tracks)])
    return base, vel, rel, ids


def synthetic_sensors():
    from datetime import datetime, timezone

    from skyweave.core.model import Origin, SensorSet, SensorSpec

    spec = SensorSpec(id="SYN-R1", nation="JPN", kind="radar", x=0, y=0, z=0, releasable_to=NATIONS, lat=38.0,
                      lon=135.0, max_range_m=500e3)
    return SensorSet(epoch=datetime(2024, 4, 10, tzinfo=timezone.utc), origin=Origin(37.5, 134.0, 0.0),
                     sensors=(spec,))


def server_costs(n_tracks: int, pictures: int = 8) -> dict:
    """In this process, CPU ms (time.process_time) per picture of each serving step for one
    nation's viewers: the picture to items (NationView.handle), the filtered delta
    (Publisher.poll) and its JSON with the last nation check (encode_frame); the delta's bytes."""
    from skyweave.node.events import PictureFused
    from skyweave.web.app import encode_frame
    from skyweave.web.view import NationView, Publisher

    base, vel, rel, ids = synthetic_inputs(n_tracks)
    views = {n: NationView(n) for n in NATIONS}
    for v in views.values():
        v.start(synthetic_sensors())
    pubs = {n: Publisher(v, n) for n, v in views.items()}
    rows = []
    for k in range(pictures):
        pic = SyntheticPicture(float(k), base, vel, rel, ids)
        for n, v in views.items():
            c0 = time.process_time()
            v.handle(PictureFused(float(k), pic, n, tick=True))
            c1 = time.process_time()
            fr = pubs[n].poll()
            c2 = time.process_time()
            data = encode_frame(fr, n)
            c3 = time.process_time()
            if k >= 2:  # the first two: the snapshot and the first delta
                rows.append((c1 - c0, c2 - c1, c3 - c2, len(data)))
    a = np.array(rows) * [1000, 1000, 1000, 1]
    med = np.median(a, axis=0)
    return {"tracks": n_tracks, "per_nation_picture_cpu_ms_median": {
        "items": round(float(med[0]), 1), "delta": round(float(med[1]), 1), "json": round(float(med[2]), 1),
        "total": round(float(med[:3].sum()), 1)}, "delta_bytes_median": int(med[3]),
        "four_nations_cpu_ms_per_picture": round(4 * float(med[:3].sum()), 1)}


def synthetic_feed(views, n_tracks: int, seed: int = 1):
    """A thread that gives every view a new picture of ``n_tracks`` moving tracks once a second."""
    from skyweave.node.events import PictureFused

    base, vel, rel, ids = synthetic_inputs(n_tracks, seed)
    sensors = synthetic_sensors()
    for v in views.values():
        v.start(sensors)

    def run():
        t = 0.0
        t0 = time.monotonic()
        while True:
            pic = SyntheticPicture(t, base, vel, rel, ids)
            for n, v in views.items():
                v.handle(PictureFused(t, pic, n, tick=True))
            t += 1.0
            time.sleep(max(0.0, t0 + t - time.monotonic()))

    threading.Thread(target=run, daemon=True).start()


def serve(args) -> None:
    """The child: a view server on ``args.port`` with the chosen feed."""
    import uvicorn

    from skyweave.web.app import ViewServer, create_app
    from skyweave.web.demo import DemoNetwork
    from skyweave.web.users import UserStore
    from skyweave.web.view import NationView

    views = {n: NationView(n) for n in NATIONS}
    users = UserStore()
    for n in NATIONS:
        users.add(n.lower(), n, "viewer", PASSWORD)
    server = ViewServer(views, users, speed=args.speed if args.feed == "demo" else 1.0)
    if args.feed == "demo":
        DemoNetwork(views, Path(tempfile.mkdtemp(prefix="bench-view-")), speed=args.speed).start()
    else:
        synthetic_feed(views, args.tracks)
    print("ready", flush=True)
    uvicorn.run(create_app(server), host="127.0.0.1", port=args.port, log_level="warning")


# ------------------------------------------------------------------------------- the parent

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_figures(pid: int) -> tuple[float, int]:
    """(CPU seconds, resident bytes) of process ``pid`` from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(parts[11]) + int(parts[12])) / tick
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def start_server(args):
    port = free_port()
    cmd = [sys.executable, __file__, "--child", "--feed", args.feed, "--tracks", str(args.tracks), "--port", str(port),
           "--speed", str(args.speed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 401:  # up (it needs a login)
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, port


def tokens(port: int) -> dict:
    import httpx

    return {n: httpx.post(f"http://127.0.0.1:{port}/api/login", json={"user": n.lower(), "password": PASSWORD}).json()["token"]
            for n in NATIONS}


async def client(port, nation, token, seconds, out):
    import websockets

    import orjson

    got = {"nation": nation, "bytes": 0, "frames": 0, "wrong": 0, "items": 0, "snapshots": 0}
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/ws?token={token}", max_size=None, open_timeout=120) as ws:
        start = time.monotonic()
        end = start + seconds
        first = True
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                msg = await asyncio.wait_for(ws.recv(), timeout=left)
            except asyncio.TimeoutError:
                break
            fr = orjson.loads(msg)
            if first:  # the first snapshot is counted apart: bytes per second are what follows it
                got["snapshot_bytes"] = len(msg)
                first = False
                start = time.monotonic()
            else:
                got["bytes"] += len(msg)
                got["frames"] += 1
                got["snapshots"] += fr["type"] == "snapshot"  # a viewer that fell behind starts again
            for key in ("tracks", "alerts"):
                for it in fr.get(key) or ():
                    got["items"] += 1
                    if nation not in it.get("releasable_to", ()):
                        got["wrong"] += 1
            mv = fr.get("moves")
            if mv:  # the moving tracks' columns: each row's marking must hold the viewer's nation
                marks = [nation in m for m in mv["markings"]]
                got["items"] += len(mv["ids"])
                got["wrong"] += sum(not marks[k] for k in mv["marking"])
            if fr.get("nation") != nation:
                got["wrong"] += 1
    got["elapsed"] = max(1e-9, time.monotonic() - start)
    out.append(got)


async def clients(port, toks, n, seconds, first: int = 0):
    """``n`` viewers, the i-th (from ``first``) of nation NATIONS[i % 4]."""
    out = []
    await asyncio.gather(*(client(port, NATIONS[i % 4], toks[NATIONS[i % 4]], seconds, out) for i in range(first, first + n)))
    return out


def clients_in_processes(port, toks, n, seconds, procs: int) -> list:
    """``n`` viewers spread over ``procs`` processes (one Python process cannot parse and check
    50 viewers' frames of 5,000 tracks as fast as a server sends them)."""
    if procs <= 1:
        return asyncio.run(clients(port, toks, n, seconds))
    share = [n // procs + (k < n % procs) for k in range(procs)]
    starts = np.cumsum([0] + share[:-1]).tolist()
    kids = [subprocess.Popen([sys.executable, __file__, "--client-share", json.dumps(
        {"port": port, "toks": toks, "n": m, "first": f, "seconds": seconds})], stdout=subprocess.PIPE, text=True)
        for m, f in zip(share, starts) if m]
    out = []
    for k in kids:
        o, _ = k.communicate()
        out += json.loads(o)
    return out


def browser_frame_times(port, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = b.new_page(viewport={"width": 1600, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        page.fill("#login-user", "jpn")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_function("() => window.skyweave.tracks.size > 0", timeout=60000)
        page.wait_for_timeout(3000)
        res = page.evaluate("""(ms) => new Promise((done) => {
            const gaps = []; let last = performance.now(); const end = last + ms;
            function step(now) { gaps.push(now - last); last = now; if (now < end) requestAnimationFrame(step); else done(gaps); }
            requestAnimationFrame(step);
        })""", seconds * 1000)
        n = page.evaluate("() => window.skyweave.tracks.size")
        render = np.array(page.evaluate("() => window.skyweave.renderMs") or [0.0])
        lat = np.array(page.evaluate("() => window.skyweave.latencyMs") or [float("nan")])
        parts = np.array(page.evaluate("() => window.skyweave.partsMs") or [[np.nan, np.nan]], dtype=float)
        stages = np.array(page.evaluate("() => window.skyweave.stagesMs") or [[np.nan] * 3], dtype=float)
        b.close()
    g = np.array(res[1:])

    def p(a, q):
        return round(float(np.nanpercentile(a, q)), 1) if np.isfinite(a).any() else None

    return {"tracks_on_page": n, "frames": len(g), "frame_ms_p50": round(float(np.percentile(g, 50)), 1),
            "frame_ms_p95": round(float(np.percentile(g, 95)), 1), "frame_ms_max": round(float(g.max()), 1),
            "update_js_ms_p50": round(float(np.percentile(render, 50)), 1),
            "update_js_ms_p95": round(float(np.percentile(render, 95)), 1), "updates": int(len(render)),
            "picture_to_pixels_ms_p50": round(float(np.percentile(lat, 50)), 1),
            "picture_to_pixels_ms_p95": round(float(np.percentile(lat, 95)), 1),
            # where the picture-to-pixels time goes (p50 / p95, ms): the server (picture to frame
            # made), the socket (frame made to received by the page), the page (to its pixels)
            "stage_server_ms": [p(stages[:, 0], 50), p(stages[:, 0], 95)],
            "stage_socket_ms": [p(stages[:, 1], 50), p(stages[:, 1], 95)],
            "stage_page_ms": [p(stages[:, 2], 50), p(stages[:, 2], 95)],
            # the page's update JS split (p50 / p95, ms): map features, then panels and table
            "update_map_ms": [p(parts[:, 0], 50), p(parts[:, 0], 95)],
            "update_panels_ms": [p(parts[:, 1], 50), p(parts[:, 1], 95)]}


def screenshot(path: str, speed: float) -> None:
    """The README's picture: the live trilateral demo as the Japanese viewer sees it during the first alert."""
    import httpx
    from playwright.sync_api import sync_playwright

    args = argparse.Namespace(feed="demo", tracks=0, speed=speed)
    proc, port = start_server(args)
    try:
        tok = tokens(port)["JPN"]
        deadline = time.time() + 900
        while time.time() < deadline:
            al = httpx.get(f"http://127.0.0.1:{port}/api/alerts", headers={"Authorization": f"Bearer {tok}"}).json()["alerts"]
            if any(a["open"] and a.get("impact") and a["impact"]["semi_major_m"] < 40000 for a in al):
                break
            time.sleep(1.0)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = b.new_page(viewport={"width": 1600, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#login-user", "jpn")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_function("() => window.skyweave.tracks.size > 0 && window.skyweave.alerts.size > 0")
            page.wait_for_timeout(1500)
            page.locator("#tracks tbody tr", has_text="suspect").first.click()
            page.wait_for_timeout(1500)
            page.screenshot(path=path)
            b.close()
        print(f"screenshot: {path}")
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feed", choices=["synthetic", "demo"], default="synthetic")
    ap.add_argument("--tracks", type=int, default=5000, help="synthetic: tracks per nation's picture")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--speed", type=float, default=5.0, help="demo: scenario seconds per wall second")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    ap.add_argument("--browser", action="store_true", help="also the page's frame times in headless Chromium")
    ap.add_argument("--screenshot", metavar="PNG", help="only take the README's screenshot")
    ap.add_argument("--costs", action="store_true",
                    help="only the server's CPU per picture and nation, in this process (items, delta, JSON)")
    ap.add_argument("--client-procs", type=int, default=1, help="processes the WebSocket viewers are spread over")
    ap.add_argument("--client-share", help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return serve(args)
    if args.client_share:
        c = json.loads(args.client_share)
        print(json.dumps(asyncio.run(clients(c["port"], c["toks"], c["n"], c["seconds"], c["first"]))))
        return None
    if args.screenshot:
        return screenshot(args.screenshot, args.speed)
    if args.costs:
        print(json.dumps(server_costs(args.tracks), indent=1))
        return None
    proc, port = start_server(args)
    try:
        toks = tokens(port)
        time.sleep(args.warmup)
        cpu0, _ = proc_figures(proc.pid)
        t0 = time.monotonic()
        res = clients_in_processes(port, toks, args.clients, args.seconds, args.client_procs) if args.clients else []
        if not args.clients:
            time.sleep(args.seconds)
        wall = time.monotonic() - t0
        cpu1, rss = proc_figures(proc.pid)
        out = {"feed": args.feed, "tracks": args.tracks if args.feed == "synthetic" else "trilateral",
               "clients": args.clients, "client_procs": args.client_procs, "seconds": round(wall, 1),
               "server_cpu_pct_of_one_core": round(100 * (cpu1 - cpu0) / wall, 1), "server_rss_mib": round(rss / 2 ** 20, 1)}
        if res:
            bps = [r["bytes"] / r["elapsed"] for r in res]
            out.update({"ws_bytes_per_client_per_s_mean": round(float(np.mean(bps))),
                        "ws_bytes_per_client_per_s_max": round(float(np.max(bps))),
                        "frames_per_client_per_s": round(float(np.mean([r["frames"] / r["elapsed"] for r in res])), 2),
                        "resync_snapshots": int(sum(r["snapshots"] for r in res)),
                        "snapshot_bytes_mean": round(float(np.mean([r.get("snapshot_bytes", 0) for r in res]))),
                        "items_checked": int(sum(r["items"] for r in res)),
                        "frames_to_wrong_nation": int(sum(r["wrong"] for r in res))})
        if args.browser:
            out["chromium"] = browser_frame_times(port, args.seconds)
        print(json.dumps(out, indent=1))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
