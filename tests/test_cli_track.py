"""`skyweave track` end to end, as a user runs it: options, config files, and every kind of bad input."""

import json

import pytest
from click.testing import CliRunner

from skyweave.cli.main import main
from skyweave.io.formats import iter_state_lines


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def c10(tmp_path_factory):
    out = tmp_path_factory.mktemp("c10")
    r = run("simulate", "clutter-10", "--out", out, "--duration", "40", "--json")
    assert r.exit_code == 0
    return out


def test_track_writes_valid_tracks_and_eval_scores_them(c10, tmp_path):
    out = tmp_path / "t.jsonl"
    r = run("track", "--sensors", c10 / "sensors.json", "--detections", c10 / "detections.jsonl", "--out", out, "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["scans"] == 81 and s["bad_lines"] == 0 and 9 <= s["tracks"] <= 12
    errors = []
    recs = list(iter_state_lines(out, "track_id", errors, dims=2))
    assert not errors and recs and all(len(d["cov"]) == 16 and d["status"] == "confirmed" for d in recs)
    det_times = {json.loads(x)["t"] for x in (c10 / "detections.jsonl").read_text().splitlines()}
    assert {d["t"] for d in recs} <= det_times
    r = run("eval", "--truth", c10 / "truth.jsonl", "--tracks", out, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["siap_completeness"] > 0.9


@pytest.mark.parametrize("opts", [["--tracker", "jpda"], ["--model", "imm"], ["--model", "imm", "--tracker", "jpda", "--filter", "ukf"], ["--model", "ca"], ["--model", "ct"]])
def test_every_tracker_and_model_runs(c10, tmp_path, opts):
    out = tmp_path / "t.jsonl"
    r = run("track", "--sensors", c10 / "sensors.json", "--detections", c10 / "detections.jsonl", "--out", out, "--no-cov", *opts)
    assert r.exit_code == 0, r.output
    assert "confirmed tracks" in r.stdout
    first = json.loads(out.read_text().splitlines()[0])
    assert "cov" not in first and first["track_id"].startswith("T-")


def test_config_file_is_used_and_its_errors_name_the_parameter(c10, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("tracker:\n  q: 80\n  confirm: sprt\n  id_prefix: USA\n")
    out = tmp_path / "t.jsonl"
    r = run("track", "--sensors", c10 / "sensors.json", "--detections", c10 / "detections.jsonl", "--out", out, "--config", cfg, "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["config"]["q"] == 80 and s["config"]["confirm"] == "sprt"
    assert json.loads(out.read_text().splitlines()[0])["track_id"].startswith("USA-")
    cfg.write_text("q: fast\n")
    r = run("track", "--sensors", c10 / "sensors.json", "--detections", c10 / "detections.jsonl", "--out", out, "--config", cfg)
    assert r.exit_code == 1 and "'q': expected a number, got 'fast'" in r.stderr
    cfg.write_text("gate: 3\n")
    r = run("track", "--sensors", c10 / "sensors.json", "--detections", c10 / "detections.jsonl", "--out", out, "--config", cfg)
    assert r.exit_code == 1 and "unknown parameter 'gate'" in r.stderr


def test_bad_lines_are_named_and_the_good_ones_still_tracked(c10, tmp_path):
    good = (c10 / "detections.jsonl").read_text().splitlines(keepends=True)
    bad = [
        '{"t": 20.0, "sensor": "R1", "range_m": NaN, "bearing_deg": 10.0}\n',
        '{"t": 20.0, "sensor": "R1", "range_m": 1e999, "bearing_deg": 10.0}\n',
        '{"t": 20.0, "sensor": "R9", "range_m": 5000.0, "bearing_deg": 10.0}\n',
        '{"t": 20.0, "sensor": "R1", "range_m": -5.0, "bearing_deg": 10.0}\n',
        '{"t": 1.0, "sensor": "R1", "range_m": 5000.0, "bearing_deg": 10.0}\n',
        'this is not json\n',
        '{"t": 20.0, "sensor": "R1", "range_m": "far", "bearing_deg": 10.0}\n',
    ]
    # insert the bad lines just after the first scan of R1 at t = 20 (so time going backwards is bad)
    at = max(i for i, ln in enumerate(good) if json.loads(ln)["t"] == 20.0 and json.loads(ln)["sensor"] == "R1") + 1
    mixed = good[:at] + bad + good[at:]
    (tmp_path / "d.jsonl").write_text("".join(mixed))
    ref = tmp_path / "ref.jsonl"
    out = tmp_path / "t.jsonl"
    assert run("track", "--sensors", c10 / "sensors.json", "--detections", c10 / "detections.jsonl", "--out", ref).exit_code == 0
    r = run("track", "--sensors", c10 / "sensors.json", "--detections", tmp_path / "d.jsonl", "--out", out)
    assert r.exit_code == 0
    err = r.stderr
    n = at + 1
    assert f"d.jsonl:{n}: field 'range_m': expected a finite number, got nan" in err
    assert f"d.jsonl:{n + 1}: field 'range_m': expected a finite number, got inf" in err
    assert f"d.jsonl:{n + 2}: field 'sensor': expected a sensor id from sensors.json" in err and "'R9'" in err
    assert f"d.jsonl:{n + 3}: field 'range_m': expected a number >= 0.0, got -5.0" in err
    assert f"d.jsonl:{n + 4}: field 't': expected non-decreasing time for sensor R1" in err
    assert f"d.jsonl:{n + 5}: record: expected one JSON object per line" in err
    assert f"d.jsonl:{n + 6}: field 'range_m': expected a number, got 'far'" in err
    assert "7 bad lines" in r.stdout
    assert out.read_text() == ref.read_text()  # the good lines around them were all tracked, exactly


def test_missing_and_malformed_sensor_files_are_one_line_errors(c10, tmp_path):
    r = run("track", "--sensors", tmp_path / "none.json", "--detections", c10 / "detections.jsonl", "--out", tmp_path / "t.jsonl")
    assert r.exit_code == 1 and "no such file" in r.stderr
    (tmp_path / "s.json").write_text('{"epoch": "2024-04-10T00:00:00Z", "sensors": [{"id": "R1", "nation": "usa", "kind": "radar"}]}')
    r = run("track", "--sensors", tmp_path / "s.json", "--detections", c10 / "detections.jsonl", "--out", tmp_path / "t.jsonl")
    assert r.exit_code == 1 and "sensors[0].nation" in r.stderr and "Traceback" not in r.stderr
