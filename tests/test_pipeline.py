"""The node as a pipeline: one scan loop, typed events, sinks attached before and during a run."""

import json
import time
from pathlib import Path

import pytest

import skyweave
from skyweave.io.formats import load_sensors
from skyweave.node.core import NodeCore
from skyweave.node.events import (
    AlertUpdated,
    CallbackSink,
    EventHub,
    LatestSink,
    LocalPicture,
    MessageVerdict,
    PictureFused,
    ScanIngested,
)
from skyweave.node.network import run_network
from skyweave.node.sinks import frame_text
from skyweave.node.sources import DetectionsFile, drive
from skyweave.node.track_files import track_files
from skyweave.scenario.spec import load_scenario
from skyweave.scenario.shipped import scenario_path


@pytest.fixture(scope="module")
def c100(tmp_path_factory):
    from skyweave.node.simulate import run_simulation

    out = tmp_path_factory.mktemp("c100")
    run_simulation(scenario_path("clutter-100"), out, seed=3, duration=20, progress=False)
    return out


def test_track_files_is_the_node_core_with_a_tracks_sink(c100, tmp_path):
    """`skyweave track`'s function and a hand-assembled pipeline write the same bytes."""
    s = track_files(c100 / "sensors.json", c100 / "detections.jsonl", tmp_path / "a.jsonl")
    sensors = load_sensors(c100 / "sensors.json")
    core = NodeCore(sensors)
    text = []
    core.hub.attach(CallbackSink(lambda ev: text.append(frame_text(ev.frame, 2)), kinds=[LocalPicture]))
    drive({None: core}, DetectionsFile(c100 / "detections.jsonl", sensors), sensors)
    core.finish()
    assert "".join(text) == (tmp_path / "a.jsonl").read_text()
    assert s["frames"] == sum(1 for x in text if x) and s["tracks"] > 90


def test_events_in_order_one_local_picture_per_detection_time(c100):
    sensors = load_sensors(c100 / "sensors.json")
    events = []
    core = NodeCore(sensors, hub=EventHub())
    core.hub.attach(events.append)
    src = DetectionsFile(c100 / "detections.jsonl", sensors)
    drive({None: core}, src, sensors)
    core.finish()
    scans = [e for e in events if isinstance(e, ScanIngested)]
    pics = [e for e in events if isinstance(e, LocalPicture)]
    assert len(scans) == core.tracker.stats["scans"] and sum(e.n for e in scans) == src.count
    times = [p.t for p in pics]
    assert times == sorted(set(times))
    det_t = sorted({json.loads(x)["t"] for x in (c100 / "detections.jsonl").read_text().splitlines()})
    assert set(times) <= set(det_t) and len(times) >= len(det_t) - 2  # the first scans confirm no track yet
    assert all(p.frame.x.shape == (len(p.frame), 4) for p in pics)


def test_a_sink_attached_to_a_running_node_gets_a_snapshot_then_every_later_event(c100):
    sensors = load_sensors(c100 / "sensors.json")
    core = NodeCore(sensors)
    everything = []
    core.hub.attach(everything.append)
    late = []
    seen = {"n": 0}

    def attach_midway(t):
        seen["n"] += 1
        if seen["n"] == 40:
            late_sink = CallbackSink(late.append)
            core.hub.attach(late_sink)

    drive({None: core}, DetectionsFile(c100 / "detections.jsonl", sensors), sensors, pace=attach_midway)
    core.finish()
    snap = [e for e in late if e.snapshot]
    rest = [e for e in late if not e.snapshot]
    assert len(snap) == 1 and isinstance(snap[0], LocalPicture)  # the latest picture (no alerts in 2-D)
    assert rest, "the late sink received the events after it attached"
    # exactly the tail of what a sink attached from the start received: none lost, none twice
    assert everything[-len(rest):] == rest
    before = [e for e in everything[:len(everything) - len(rest)] if isinstance(e, LocalPicture)]
    assert snap[0].frame is before[-1].frame  # the snapshot is the picture current at attachment


def test_a_detached_sink_receives_nothing_more(c100):
    sensors = load_sensors(c100 / "sensors.json")
    core = NodeCore(sensors)
    got = []
    seen = {"n": 0}
    sink = core.hub.attach(got.append)

    def leave_midway(t):
        seen["n"] += 1
        if seen["n"] == 20:
            core.hub.detach(sink)
            seen["at"] = len(got)

    drive({None: core}, DetectionsFile(c100 / "detections.jsonl", sensors), sensors, pace=leave_midway)
    core.finish()
    assert seen["at"] > 0 and len(got) == seen["at"] and sink not in core.hub.sinks


def test_a_live_view_never_slows_the_node_and_ends_on_the_latest_state(c100):
    sensors = load_sensors(c100 / "sensors.json")
    got = []

    def slow(ev):
        time.sleep(0.02)
        got.append(ev)

    core = NodeCore(sensors)
    view = core.hub.attach(LatestSink(slow))
    t0 = time.perf_counter()
    drive({None: core}, DetectionsFile(c100 / "detections.jsonl", sensors), sensors)
    core.finish()
    took = time.perf_counter() - t0
    assert view.drain(10.0)
    pics = [e for e in got if isinstance(e, LocalPicture)]
    # 20 s at 1 s per scan over 2 radars: ~40 pictures and scans, each 20 ms to the slow consumer
    assert view.dropped > 0 and took < 0.02 * (view.delivered + view.dropped)
    assert pics and pics[-1].t == max(e.t for e in got if isinstance(e, LocalPicture))  # the newest state last
    core.hub.close()


def test_every_output_period(c100, tmp_path):
    a = track_files(c100 / "sensors.json", c100 / "detections.jsonl", tmp_path / "a.jsonl", every=5.0)
    ts = sorted({json.loads(x)["t"] for x in (tmp_path / "a.jsonl").read_text().splitlines()})
    assert len(ts) == a["frames"] and len(ts) <= 5
    assert len({int(t // 5) for t in ts}) == len(ts)


def test_simulator_source_feeds_a_node_without_a_file():
    src = skyweave.simulate("clutter-10", seed=2, duration=20)
    pics = []
    node = skyweave.make_node(src.sensors, sinks=[CallbackSink(pics.append, kinds=[LocalPicture])])
    assert skyweave.run(src, node) == []
    assert pics and 8 <= len(pics[-1].frame) <= 12


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    out = tmp_path_factory.mktemp("net")
    events = {}

    def sinks(nation):
        events[nation] = []
        return [CallbackSink(events[nation].append)]

    s = run_network(scenario_path("trilateral"), out, duration=300, progress=False, red_team_every_s=100.0,
                    sinks=sinks)
    return out, s, events


def test_a_network_node_emits_fused_pictures_alerts_and_verdicts(net):
    out, s, events = net
    for n in ("JPN", "USA"):
        ev = events[n]
        ticks = [e for e in ev if isinstance(e, PictureFused) and e.tick]
        lines = (out / n / "picture.jsonl").read_text().splitlines()
        # every periodic picture with tracks is a line group of picture.jsonl
        assert len({json.loads(x)["t"] for x in lines}) == sum(1 for e in ticks if len(e.picture))
        verdicts = [e for e in ev if isinstance(e, MessageVerdict)]
        assert sum(1 for v in verdicts if not v.admitted) == sum(s["nodes"][n]["rejected"].values()) > 0
        assert {v.reason for v in verdicts if not v.admitted} == set(s["nodes"][n]["rejected"])
        assert sum(v.items for v in verdicts if v.admitted and v.kind == "tracks") == s["nodes"][n]["reports_in"]
        alerts = [e for e in ev if isinstance(e, AlertUpdated)]
        on_file = [json.loads(x) for x in (out / n / "alerts.jsonl").read_text().splitlines()]
        assert [a.alert for a in alerts] == on_file
    assert any(isinstance(e, AlertUpdated) for e in events["JPN"])


def test_network_node_yaml_points_at_files_that_exist(net):
    import yaml

    out, _, _ = net
    for n in ("AUS", "GBR", "JPN", "USA"):
        cfg = yaml.safe_load((out / n / "node.yaml").read_text())
        assert cfg["nats"].startswith("nats://")
        for k in ("sensors", "detections", "private_key"):
            assert Path(cfg[k]).is_file(), k


def test_api_top_level_names_are_lazy_and_documented():
    import subprocess
    import sys

    code = "import sys, skyweave; assert 'skyweave.node' not in sys.modules; skyweave.make_node; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"
    for name in skyweave.api.__all__:
        assert getattr(skyweave, name).__doc__, name
    with pytest.raises(AttributeError):
        skyweave.no_such_thing
    assert load_scenario(scenario_path("clutter-10")).name == "clutter-10"


def test_track_command_every(c100, tmp_path):
    from click.testing import CliRunner

    from skyweave.cli.main import main

    out = tmp_path / "t.jsonl"
    r = CliRunner().invoke(main, ["track", "--sensors", str(c100 / "sensors.json"), "--detections",
                                  str(c100 / "detections.jsonl"), "--out", str(out), "--every", "10", "--json"])
    assert r.exit_code == 0, r.output
    ts = sorted({json.loads(x)["t"] for x in out.read_text().splitlines()})
    assert 1 <= len(ts) <= 3 and json.loads(r.output)["frames"] == len(ts)
