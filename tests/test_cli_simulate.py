"""The simulate and validate commands end to end, as a user runs them."""

import hashlib
import json
import subprocess
import sys

from click.testing import CliRunner

from skyweave.cli.main import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def digest(folder):
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in ("sensors.json", "detections.jsonl", "truth.jsonl")}


def test_simulate_writes_the_contract_files_and_they_validate(tmp_path):
    out = tmp_path / "c"
    r = run("simulate", "clutter-10", "--out", str(out), "--duration", "30", "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["targets"] == {"aircraft": 10} and summary["detections_total"] > 0
    assert summary["out_of_order"] == 0  # clutter-10's radars deliver at once: the file is in time order
    sensors = json.loads((out / "sensors.json").read_text())
    assert sensors["epoch"] == "2024-04-10T00:00:00Z" and len(sensors["sensors"]) == 2
    first = json.loads((out / "detections.jsonl").read_text().splitlines()[0])
    assert set(first) == {"t", "sensor", "range_m", "bearing_deg"}
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text().splitlines()]
    assert set(truth[0]) == {"t", "id", "x", "y", "vx", "vy"}
    assert len(truth) == 10 * 31
    v = run("validate", str(out))
    assert v.exit_code == 0 and "all files valid" in v.output


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((a, "4"), (b, "4"), (c, "5")):
        assert run("simulate", "clutter-10", "--out", str(folder), "--duration", "20", "--seed", seed, "--json").exit_code == 0
    assert digest(a) == digest(b)
    assert digest(a)["detections.jsonl"] != digest(c)["detections.jsonl"]


def test_validate_reports_every_bad_line_by_number(tmp_path):
    out = tmp_path / "c"
    run("simulate", "clutter-10", "--out", str(out), "--duration", "5", "--json")
    lines = (out / "detections.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"range_m": ', '"range_m": -')
    lines[4] = "{broken"
    (out / "detections.jsonl").write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(main, ["validate", str(out)])
    assert r.exit_code == 1
    assert "detections.jsonl:3: field 'range_m'" in r.output
    assert "detections.jsonl:5: record: expected one JSON object per line" in r.output
    assert f"detections.jsonl: {len(lines) - 2} good, 2 bad" in r.output


def test_unknown_scenario_names_the_shipped_ones(tmp_path):
    r = CliRunner().invoke(main, ["simulate", "nowhere", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "trilateral" in r.output


def test_bad_scenario_file_gives_a_one_line_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("epoch: 2024\nsensors: []\n")
    r = CliRunner().invoke(main, ["simulate", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "bad.yaml:1: field 'epoch'" in r.output


def test_console_script_help_lists_the_commands():
    r = subprocess.run([sys.executable, "-m", "skyweave.cli.main", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("simulate", "validate", "track", "eval", "demo"):
        assert cmd in r.stdout


def test_trilateral_flies_its_ballistic_launches_and_infrared_sees_only_their_boost(tmp_path):
    out = tmp_path / "tri"
    r = run("simulate", "trilateral", "--out", str(out), "--duration", "300", "--json")
    assert r.exit_code == 0, r.output
    # out of order: detections that reach the file after one measured later (not every delayed one)
    summary, newest, behind = json.loads(r.output), float("-inf"), 0
    for line in (out / "detections.jsonl").read_text().splitlines():
        t = json.loads(line)["t"]
        behind += t < newest - 1e-9
        newest = max(newest, t)
    assert 0 < summary["out_of_order"] == behind < summary["detections_total"]
    targets = {d["id"]: d for d in json.loads((out / "targets.json").read_text()) if "id" in d}
    bm1 = targets["BM1"]
    assert bm1["launch"]["t"] == 200.0 < bm1["burnout_t"] < bm1["impact"]["t"]
    # 550 km east of the launch site, in the sea west of Honshu
    assert 37.0 < bm1["impact"]["lat"] < 39.5 and 131.0 < bm1["impact"]["lon"] < 133.0
    ir = [json.loads(line) for line in (out / "detections.jsonl").read_text().splitlines() if '"USA-SBIRS"' in line]
    assert ir, "space-based infrared saw the boost of BM1"
    assert all(200.0 < d["t"] <= bm1["burnout_t"] for d in ir)
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines() if '"BM1"' in line]
    from skyweave.geo import LocalFrame

    _, _, alt = LocalFrame(37.5, 134.0, 0.0).to_geodetic([[d["x"], d["y"], d["z"]] for d in truth])
    assert truth[0]["t"] == 200.0 and alt.max() > 80_000.0  # climbing through 80 km by t = 300 s


def test_every_help_answers_and_lists_parameters_one_per_line():
    from skyweave.cli.main import COMMANDS
    from skyweave.track.config import TrackerConfig

    for cmd in [*COMMANDS, "network run"]:
        r = CliRunner().invoke(main, [*cmd.split(), "--help"], prog_name="skyweave")
        assert r.exit_code == 0 and r.output.startswith(f"Usage: skyweave {cmd} "), (cmd, r.output)
    lines = CliRunner().invoke(main, ["track", "--help"]).output.splitlines()
    for name, _, _ in TrackerConfig.describe():
        assert any(ln.startswith(f"    {name} (default ") for ln in lines), name
    from skyweave.cli.node_cmd import NODE_KEYS

    lines = CliRunner().invoke(main, ["node", "--help"]).output.splitlines()
    for key in NODE_KEYS:
        assert any(ln.lstrip().startswith(f"{key}: ") for ln in lines), key


def test_run_simulation_reports_progress_to_a_callable(tmp_path):
    from skyweave.cli.common import resolve_scenario
    from skyweave.node.simulate import run_simulation

    seen = []
    s = run_simulation(resolve_scenario("clutter-10"), tmp_path / "c", duration=5, progress=lambda t, total: seen.append((t, total)))
    assert seen and all(total == s["duration_s"] == 5 for _, total in seen) and seen[-1][0] <= 5
    assert [t for t, _ in seen] == sorted(t for t, _ in seen)
