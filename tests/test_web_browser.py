"""The joint command view in a real headless Chromium (Debian's package, driven by Playwright).

One server runs a shortened trilateral scenario live (the first ballistic launch at 5 s) through
the four-nation network. Into the Japanese and the American views' streams the test puts one
extra track releasable to the USA alone, and shows that it reaches the American page and never
the Japanese one: not on the page, not in any WebSocket frame it received. A second server
replays a journaled 50 s run of the same scenario (``serve --journal``): the timeline seeks,
plays at 5x, the tracks move and the ballistic alert appears at its recorded time.

Set SKYWEAVE_VIEW_SCREENSHOT=PATH to keep a screenshot of the Japanese page with its alert.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time

import pytest
import yaml

from skyweave.node.events import PictureFused
from skyweave.scenario.shipped import scenario_path
from skyweave.web.app import ViewServer, create_app
from skyweave.web.demo import DEMO_NATIONS, DemoNetwork
from skyweave.web.users import UserStore
from skyweave.web.view import NationView

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PASSWORD = "browser-test-pw"
INJECTED = "USA-N09999"

playwright_api = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):  # scripts/services.sh installs it (make test)
    pytest.skip(f"{CHROMIUM} missing: run sh scripts/services.sh (Debian's chromium package)", allow_module_level=True)


class InjectingView(NationView):
    """A view whose every fused picture also holds a track releasable to the USA alone."""

    def handle(self, event):
        super().handle(event)
        if isinstance(event, PictureFused) and self.tracks:
            some = next(iter(self.tracks.values()))
            secret = {**some, "id": INJECTED, "identity": "usaonly", "lat": 38.9, "lon": 133.9, "category": "cruise",
                      "sid": "suspect", "nations": ["USA"], "sources": ["USA:USA-999"], "releasable_to": ["USA"]}
            self.tracks = {**self.tracks, INJECTED: secret}
            self.version += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def short_scenario(tmp, duration_s: float):
    """The trilateral scenario shortened: its first ballistic launch at 5 s, 30 airliners."""
    scn = yaml.safe_load(scenario_path("trilateral").read_text())
    scn["duration_s"] = duration_s
    scn["targets"] = [t for t in scn["targets"] if t["id"] not in ("BM2", "BM3")]
    for t in scn["targets"]:
        if t["id"] == "BM1":
            t["t_start"] = 5
    scn["traffic"]["count"] = 30
    (tmp / "scenario.yaml").write_text(yaml.safe_dump(scn))
    return tmp / "scenario.yaml"


@pytest.fixture(scope="module")
def browser():
    pw = playwright_api.sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


def serve_in_thread(server):
    """A uvicorn server of ``server``'s app on a free port, on a thread: (url, uvicorn server, thread)."""
    import uvicorn

    port = free_port()
    web = uvicorn.Server(uvicorn.Config(create_app(server), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=web.run, daemon=True)
    th.start()
    deadline = time.time() + 30
    while not web.started and time.time() < deadline:
        time.sleep(0.1)
    assert web.started, "the server did not start"
    return f"http://127.0.0.1:{port}", web, th


@pytest.fixture(scope="module")
def live(tmp_path_factory, browser):
    tmp = tmp_path_factory.mktemp("view")
    short_scenario(tmp, 600)
    views = {n: (InjectingView(n) if n in ("JPN", "USA") else NationView(n)) for n in DEMO_NATIONS}
    users = UserStore()
    for n in DEMO_NATIONS:
        users.add(n.lower(), n, "viewer", PASSWORD)
    server = ViewServer(views, users, speed=8.0, frame_interval_s=0.25)
    net = DemoNetwork(views, tmp / "net", scenario=str(tmp / "scenario.yaml"), speed=8.0, red_team_every_s=40.0).start()
    url, web, th = serve_in_thread(server)
    try:
        yield {"url": url, "server": server, "browser": browser, "net": net}
    finally:
        web.should_exit = True
        th.join(10)
        net.stop()


def open_page(live, user, frames=None):
    """A new browser page logged in as ``user``; ``frames`` (a list) receives every WebSocket frame's text."""
    page = live["browser"].new_context(viewport={"width": 1600, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    if frames is not None:
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
            payload if isinstance(payload, str) else payload.decode())))
    page.goto(live["url"] + "/")
    page.fill("#login-user", user)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#app:not([hidden])", timeout=15000)
    page.wait_for_function("() => window.skyweave.tracks.size > 0", timeout=120000)
    page.errors = errors
    return page


def tracks_of(page) -> dict:
    return page.evaluate("() => Object.fromEntries([...window.skyweave.tracks].map(([k, t]) => [k, t]))")


@pytest.mark.parametrize("nation", DEMO_NATIONS)
def test_each_nation_logs_in_and_sees_its_own_picture(live, nation):
    page = open_page(live, nation.lower())
    assert page.inner_text("#who").startswith(f"{nation.lower()} · {nation}")
    assert page.inner_text("#banner-top") == "UNCLASSIFIED // EXERCISE"
    tracks = tracks_of(page)
    assert tracks and all(nation in t["releasable_to"] for t in tracks.values())
    page.wait_for_function("() => document.querySelectorAll('#tracks tbody tr').length > 0")
    # the table is filled as a frame arrives, the map drawn at the next animation frame
    page.wait_for_function("() => window.skyweave.drawn().tracks > 0", timeout=10000)
    assert page.errors == []
    page.close()


def test_tracks_move_on_the_map(live):
    page = open_page(live, "jpn")
    before = tracks_of(page)
    page.wait_for_timeout(4000)
    after = tracks_of(page)
    moved = [k for k in before if k in after and (before[k]["lat"], before[k]["lon"]) != (after[k]["lat"], after[k]["lon"])]
    assert len(moved) >= len(before) // 2, (len(moved), len(before))
    assert page.evaluate("() => window.skyweave.frames") > 3
    page.wait_for_function("() => window.skyweave.drawn().trails > 0", timeout=60000)
    assert page.evaluate("() => window.skyweave.drawn().leaders") > 0
    page.close()


def test_a_track_opens_its_details(live):
    page = open_page(live, "jpn")
    row = page.locator("#tracks tbody tr").first
    tid = row.get_attribute("data-id")
    row.click()
    page.wait_for_selector("#details-panel:not([hidden])")
    assert page.inner_text("#details-id") == tid
    text = page.inner_text("#details")
    for label in ("Contributing nations", "Source tracks", "Quality", "Age", "95 % ellipse", "Releasable to"):
        assert label in text
    assert "JPN" in text
    page.wait_for_function("() => window.skyweave.drawn().ellipses >= 1")  # the selected track's ellipse
    page.close()


def test_a_ballistic_alert_shows_its_ellipse_and_counts_down(live):
    page = open_page(live, "jpn")
    page.wait_for_selector(".alert.open .countdown", timeout=180000)
    page.wait_for_function("() => /^T-\\d\\d:\\d\\d$/.test(document.querySelector('.alert.open .countdown').textContent)",
                           timeout=120000)

    def secs(s):
        m = re.match(r"T-(\d\d):(\d\d)", s)
        return int(m.group(1)) * 60 + int(m.group(2))

    # the countdown ticks between updates; an update may move the predicted impact (an early
    # estimate, or a joint alert's better source), so look for the ticks over a few seconds
    seen = []
    for _ in range(8):
        seen.append(secs(page.inner_text(".alert.open .countdown")))
        page.wait_for_timeout(700)
    assert any(b < a for a, b in zip(seen, seen[1:])), seen
    text = page.inner_text(".alert.open")
    # a joint alert: Japan's own warning fused with its partners' (docs/warning.md, "Joint alerts")
    assert "BALLISTIC" in text and "ellipse" in text
    assert re.search(r"from [A-Z, ]*JPN", text) and re.search(r"releasable to [A-Z, ]*JPN", text), text
    page.wait_for_function("() => window.skyweave.drawn().alertEllipses >= 1", timeout=10000)  # drawn at the next frame
    shot = os.environ.get("SKYWEAVE_VIEW_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
    # the audible cue sounds until the user acknowledges the alert, then stops
    page.wait_for_function("() => window.skyweave.beeps > 0", timeout=10000)
    assert page.evaluate("() => window.skyweave.audioError || null") is None
    page.click(".alert.open .ack")
    page.wait_for_selector(".alert.open .acked")
    beeps = page.evaluate("() => window.skyweave.beeps")
    page.wait_for_timeout(4000)
    assert page.evaluate("() => window.skyweave.beeps") == beeps or page.locator(".alert.unacked").count() > 0
    page.close()


def test_a_usa_only_track_never_reaches_a_japanese_viewer(live):
    jpn_frames, usa_frames = [], []
    jpn = open_page(live, "jpn", jpn_frames)
    usa = open_page(live, "usa", usa_frames)
    jpn.wait_for_function("() => window.skyweave.frames > 8", timeout=60000)
    usa.wait_for_function("() => window.skyweave.frames > 8", timeout=60000)
    # the item was in the stream the Japanese viewer is served ...
    assert INJECTED in live["server"].views["JPN"].tracks
    # ... reaches the American page (the filter is by nation, not a blanket drop) ...
    assert any(INJECTED in f for f in usa_frames)
    usa.wait_for_function(f"() => window.skyweave.tracks.has('{INJECTED}')")
    # ... and never left the server for the Japanese one
    assert len(jpn_frames) > 8
    assert not any(INJECTED in f or "usaonly" in f for f in jpn_frames)
    assert INJECTED not in jpn.content() and "usaonly" not in jpn.content()
    assert not jpn.evaluate(f"() => window.skyweave.tracks.has('{INJECTED}')")
    jpn.fill("#filter", "USA-N0999")
    assert jpn.locator("#tracks tbody tr").count() == 0
    jpn.close()
    usa.close()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, browser):
    """A replay server (``serve --journal``) of a journaled 50 s run of the shortened scenario."""
    from skyweave.api import run_network
    from skyweave.web.replay import ReplayStore

    tmp = tmp_path_factory.mktemp("replay")
    run_network(str(short_scenario(tmp, 50)), tmp / "net", journal=tmp / "run.sqlite", progress=None,
                red_team_every_s=40.0)
    users = UserStore()
    users.add("jpn", "JPN", "viewer", PASSWORD)
    server = ViewServer({}, users, frame_interval_s=0.25, replay=ReplayStore(tmp / "run.sqlite"))
    url, web, th = serve_in_thread(server)
    try:
        yield {"url": url, "server": server, "browser": browser}
    finally:
        web.should_exit = True
        th.join(10)


def test_the_timeline_replays_a_recorded_run(replayed):
    frames = []
    page = replayed["browser"].new_context(viewport={"width": 1600, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, str) else p.decode())))
    page.goto(replayed["url"] + "/")
    page.fill("#login-user", "jpn")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#timeline:not([hidden])", timeout=15000)
    page.wait_for_function("() => window.skyweave.replay && window.skyweave.replay.end > 40")
    info = page.evaluate("() => window.skyweave.replay")
    assert info["alerts"], info  # the launch is recorded as an alert JPN may see
    t_alert = info["alerts"][0]["t"]
    # seek to 10 s before the alert with the slider
    page.evaluate("(t) => { const s = document.getElementById('tl-slider'); s.value = String(t); "
                  "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }", t_alert - 10)
    page.wait_for_function("(t) => window.skyweave.replay.t === t && window.skyweave.tracks.size > 0", arg=t_alert - 10)
    assert page.evaluate("() => window.skyweave.alerts.size") == 0
    before = tracks_of(page)
    clock0 = page.inner_text("#clock")
    page.select_option("#tl-speed", "5")
    page.click("#tl-play")
    page.wait_for_function("() => window.skyweave.replay.playing && window.skyweave.replay.speed === 5")
    page.wait_for_selector(".alert.open", timeout=30000)
    shown_at = page.evaluate("() => window.skyweave.t")
    assert shown_at >= t_alert, (shown_at, t_alert)  # not before its time
    assert "BALLISTIC" in page.inner_text(".alert.open")
    after = tracks_of(page)
    moved = [k for k in before if k in after and (before[k]["lat"], before[k]["lon"]) != (after[k]["lat"], after[k]["lon"])]
    assert len(moved) >= len(before) // 2, (len(moved), len(before))
    assert page.inner_text("#clock") != clock0 and "replay" in page.inner_text("#tl-label")
    page.click("#tl-play")  # pause
    page.wait_for_function("() => !window.skyweave.replay.playing")
    assert page.inner_text("#tl-label").endswith("paused")
    assert len(frames) > 3
    for f in frames:
        fr = json.loads(f)
        assert fr["nation"] == "JPN"
        for key in ("tracks", "alerts"):
            assert all("JPN" in it["releasable_to"] for it in fr.get(key) or ())
        assert all("JPN" in m for m in (fr.get("moves") or {}).get("markings", ()))
    assert any(json.loads(f).get("moves") for f in frames)  # the moving tracks came as columns
    assert errors == []
    page.close()


@pytest.fixture(scope="module")
def real_flight(tmp_path_factory, browser):
    """``serve --tracks``'s server over the real ADS-B flight's first 40 minutes (tests/data/real):
    its raw frames through ``skyweave ingest avr`` and ``skyweave track`` (benchmarks/real_adsb.py)."""
    import subprocess
    import sys
    from pathlib import Path

    from skyweave.web.replay import ReplayStore

    work = tmp_path_factory.mktemp("real")
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "real_adsb.py"), "--minutes", "40", "--keep", str(work)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    store = ReplayStore.from_tracks(work / "tracks.jsonl", work / "sensors.json", detections_path=work / "detections.jsonl")
    users = UserStore()
    users.add("xxx", "XXX", "viewer", PASSWORD)
    server = ViewServer({}, users, frame_interval_s=0.25, replay=store)
    url, web, th = serve_in_thread(server)
    try:
        yield {"url": url, "server": server, "browser": browser, "store": store}
    finally:
        web.should_exit = True
        th.join(10)


def test_a_real_adsb_flight_moves_on_the_map(real_flight):
    """The real flight (Paris-CDG to Toulouse, ICAO 393322) on the timeline: the map goes to it,
    its symbol is drawn, neutral, with its address and callsign; played, it moves south-west on
    the map and its trail grows. SKYWEAVE_VIEW_REAL_SCREENSHOT=PATH keeps a screenshot."""
    store = real_flight["store"]
    page = real_flight["browser"].new_context(viewport={"width": 1600, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(real_flight["url"] + "/")
    page.fill("#login-user", "xxx")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#timeline:not([hidden])", timeout=15000)
    page.wait_for_function("() => window.skyweave.replay && window.skyweave.tracks.size > 0", timeout=30000)
    lon, lat = page.evaluate("() => window.skyweave.viewCenter()")
    assert 40 < lat < 55 and -5 < lon < 10, (lat, lon)  # the map went to France, not the scenario's sea
    (t,) = tracks_of(page).values()
    assert (t["identity"], t["callsign"], t["sid"], t["category"]) == ("393322", "AFR34ZG", "neutral", "aircraft")
    assert t["releasable_to"] == ["XXX"]
    # 10 minutes into the flight, then play at 20x
    page.evaluate("(t) => { const s = document.getElementById('tl-slider'); s.value = String(t); "
                  "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }", store.start + 600)
    page.wait_for_function("(t) => Math.abs(window.skyweave.replay.t - t) < 0.5", arg=store.start + 600)
    page.wait_for_function("() => window.skyweave.drawn().tracks === 1")
    before = dict(next(iter(tracks_of(page).values())))
    page.select_option("#tl-speed", "20")
    page.click("#tl-play")
    page.wait_for_function("() => window.skyweave.replay.playing && window.skyweave.replay.speed === 20")
    page.wait_for_function("(t0) => [...window.skyweave.tracks.values()][0].t > t0 + 120", arg=before["t"], timeout=60000)
    page.wait_for_function("() => window.skyweave.trails.get('T-1') && window.skyweave.trails.get('T-1').length >= 8",
                           timeout=60000)
    after = next(iter(tracks_of(page).values()))
    assert after["lat"] < before["lat"] - 0.05 and after["lon"] < before["lon"]  # towards Toulouse
    assert page.evaluate("() => window.skyweave.drawn()")["tracks"] == 1
    assert page.evaluate("() => window.skyweave.drawn()")["trails"] == 1
    page.click("#tl-play")  # pause
    page.wait_for_function("() => !window.skyweave.replay.playing")
    page.evaluate("() => window.skyweave.fitTracks(10)")
    page.click("#tracks tbody tr")  # its details
    assert "AFR34ZG" in page.inner_text("#details") and "393322" in page.inner_text("#details")
    page.wait_for_timeout(800)
    shot = os.environ.get("SKYWEAVE_VIEW_REAL_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
    assert errors == []
    page.close()
