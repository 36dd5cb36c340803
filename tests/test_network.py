"""The four-nation network end to end, in process: files, releasability, fusion, determinism."""

import json

import pytest
from click.testing import CliRunner

from skyweave.node.score_files import score_files
from skyweave.cli.main import main
from skyweave.cli.common import resolve_scenario
from skyweave.node.network import run_network


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    out = tmp_path_factory.mktemp("net")
    s = run_network(resolve_scenario("trilateral"), out, duration=240, progress=False)
    return out, s


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_every_nation_writes_its_own_tracks_and_its_fused_picture(net):
    out, s = net
    assert s["nations"] == ["AUS", "GBR", "JPN", "USA"] and (out / "truth.jsonl").exists()
    for n in ("AUS", "JPN", "USA"):
        local = lines(out / n / "local.jsonl")
        pic = lines(out / n / "picture.jsonl")
        assert local and pic, n
        assert all(d["nation"] == n and d["sources"] == [f"{n}:{d['track_id']}"] and n in d["releasable_to"] for d in local)
        assert all({"x", "y", "z", "vx", "vy", "vz", "cov", "releasable_to", "sources"} <= set(d) for d in pic)
        assert s["nodes"][n]["rejected"] == {}, "a clean run rejects nothing"
    # GBR's ship joins at 900 s: no sensor data yet, but it sees what its partners may show it
    assert lines(out / "GBR" / "local.jsonl") == []
    assert lines(out / "GBR" / "picture.jsonl")


def test_no_partner_sees_what_is_not_releasable_to_it(net):
    out, _ = net
    sensors = {d["id"]: d for d in json.loads((out / "sensors.json").read_text())["sensors"]}
    for n in ("AUS", "GBR", "JPN", "USA"):
        for d in lines(out / n / "picture.jsonl"):
            assert n in d["releasable_to"], (n, d["track_id"])
            for src in d["sources"]:
                nation = src.split(":")[0]
                if nation != n:  # a partner's track reached n only if its marking allowed it
                    assert n in d["releasable_to"]
    # JPN-R1 and JPN-R4 are REL TO JPN, USA only: a JPN track in AUS's picture was releasable to AUS
    # (seen only by JPN sensors whose markings include AUS) at some instant before AUS showed it
    assert sensors["JPN-R1"]["releasable_to"] == ["JPN", "USA"]
    rel_to_aus: dict[str, float] = {}
    for d in lines(out / "JPN" / "local.jsonl"):
        if "AUS" in d["releasable_to"]:
            rel_to_aus.setdefault(f"JPN:{d['track_id']}", d["t"])
    seen = [(src, d["t"]) for d in lines(out / "AUS" / "picture.jsonl") for src in d["sources"] if src.startswith("JPN:")]
    assert seen
    # AUS hears of JPN's objects from JPN's main tracks while releasable to it, else from the
    # tracker JPN runs on its sensors releasable to AUS (ids JPN-A<k>-n: test_audience.py checks
    # which sensors feed it)
    audience = [(src, t) for src, t in seen if src.startswith("JPN:JPN-A")]
    assert audience, "AUS gets JPN's per-recipient estimates"
    for src, t in seen:
        if (src, t) not in audience:
            assert src in rel_to_aus and rel_to_aus[src] <= t, (src, t)
    jpn_only = {f"JPN:{d['track_id']}" for d in lines(out / "JPN" / "local.jsonl")} - set(rel_to_aus)
    assert jpn_only, "some JPN tracks were never releasable to AUS"
    assert not jpn_only & {src for src, _ in seen}


def test_the_fused_picture_beats_each_nations_own(net):
    out, _ = net
    for n in ("JPN", "USA", "AUS"):
        own, _, _, _ = score_files(out / "truth.jsonl", out / n / "local.jsonl", c=2000.0, at="tracks")
        fused, _, _, _ = score_files(out / "truth.jsonl", out / n / "picture.jsonl", c=2000.0, at="tracks")
        assert fused["gospa_mean"] < own["gospa_mean"], n
        assert fused["siap_completeness"] > own["siap_completeness"] and fused["siap_ambiguity"] < 1.05, n


def test_all_nodes_agree_on_network_track_numbers(net):
    """The same object carries the same network track number in every picture (at the last instant)."""
    out, _ = net
    last = {}
    for n in ("JPN", "USA"):
        pic = lines(out / n / "picture.jsonl")
        t = max(d["t"] for d in pic)
        last[n] = {src: d["track_id"] for d in pic if d["t"] == t for src in d["sources"]}
    shared = set(last["JPN"]) & set(last["USA"])
    assert len(shared) > 20
    agree = sum(last["JPN"][s_] == last["USA"][s_] for s_ in shared) / len(shared)
    assert agree > 0.95, agree


def test_same_seed_same_pictures(tmp_path):
    a = run_network(resolve_scenario("trilateral"), tmp_path / "a", duration=60, progress=False)
    b = run_network(resolve_scenario("trilateral"), tmp_path / "b", duration=60, progress=False)
    assert a["nodes"]["JPN"]["reports_out"] == b["nodes"]["JPN"]["reports_out"]
    for n in ("JPN", "USA"):
        assert (tmp_path / "a" / n / "picture.jsonl").read_text() == (tmp_path / "b" / n / "picture.jsonl").read_text()


def test_network_command(tmp_path):
    r = CliRunner().invoke(main, ["network", "run", "trilateral", "--out", str(tmp_path / "n"), "--duration", "40"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "in-process network, 4 nodes" in r.output and "JPN" in r.output
    r = CliRunner().invoke(main, ["network", "run", "trilateral", "--out", str(tmp_path / "n"), "--processes"])
    assert r.exit_code != 0 and "--processes needs --nats" in r.output
