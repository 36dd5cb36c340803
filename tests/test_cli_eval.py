"""``skyweave eval`` end to end: small hand-made files, bad lines, the JSON keys, a simulated scenario."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from skyweave.cli.eval_cmd import FILE_KEYS
from skyweave.cli.main import main
from skyweave.metrics import SUMMARY_KEYS


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write_lines(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def truth_rows(times, targets):
    """Constant-velocity truths: targets = {id: (x0, y0, vx, vy)}."""
    return [{"t": t, "id": k, "x": x + vx * t, "y": y + vy * t, "vx": vx, "vy": vy}
            for t in times for k, (x, y, vx, vy) in targets.items()]


TARGETS = {"T1": (0.0, 0.0, 100.0, 0.0), "T2": (0.0, 50_000.0, 0.0, -100.0)}


def track(t, tid, x, y, vx, vy, **extra):
    return {"t": t, "track_id": tid, "x": x, "y": y, "vx": vx, "vy": vy, **extra}


def test_scores_hand_made_files_and_reports_every_bad_line(tmp_path):
    truth = truth_rows([0.0, 1.0, 2.0], TARGETS)
    truth.insert(2, '{"t": 0.0, "id": "T9", "x": NaN, "y": 0, "vx": 0, "vy": 0}')
    truth.insert(4, "{not json")
    tp = write_lines(tmp_path / "truth.jsonl", truth)
    tracks = [
        track(0.0, "A", 30.0, 40.0, 100.0, 0.0),  # 50 m off T1
        track(0.0, "B", 0.0, 50_000.0, 0.0, -100.0),  # on T2
        '{"t": 1.0, "track_id": "A", "x": 100.0, "vx": 100.0, "vy": 0.0}',  # no y
        track(1.0, "A", 100.0, 0.0, 100.0, 0.0),
        track(1.0, "B", 0.0, 49_900.0, 0.0, -100.0),
        track(1.0, "F", 9e5, 9e5, 0.0, 0.0),  # false
        track(2.0, "A", 200.0, 0.0, 100.0, 0.0),  # T2 missed at t = 2
    ]
    kp = write_lines(tmp_path / "tracks.jsonl", tracks)
    r = run("eval", "--truth", tp, "--tracks", kp, "--json")
    assert r.exit_code == 0, r.output
    assert f"{tp}:3: field 'x': expected a finite number, got nan" in r.stderr
    assert f"{tp}:5: record: expected one JSON object per line" in r.stderr
    assert f"{kp}:3: field 'y': expected a number, got 'nothing'" in r.stderr
    s = json.loads(r.stdout)
    assert (s["bad_truth_lines"], s["bad_track_lines"]) == (2, 1)
    assert (s["truth_lines"], s["track_lines"]) == (6, 6)
    assert s["instants"] == 3
    c = 1000.0
    assert s["gospa_mean"] == pytest.approx((50.0 + 0.0 + c / 2 + c / 2) / 3)  # t=0: 50; t=1: one false; t=2: one missed
    assert s["missed_per_instant"] == pytest.approx(1 / 3) and s["false_per_instant"] == pytest.approx(1 / 3)
    assert s["rmse_position_m"] == pytest.approx(np.sqrt(50.0**2 / 5))
    assert s["siap_completeness"] == pytest.approx(5 / 6) and s["siap_spuriousness"] == pytest.approx(1 / 6)
    assert s["anees"] is None and s["anees_count"] == 0


def test_json_keys_are_stable_and_documented_in_help(tmp_path):
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([0.0], TARGETS))
    kp = write_lines(tmp_path / "tracks.jsonl", [track(0.0, "A", 0.0, 0.0, 100.0, 0.0)])
    s = json.loads(run("eval", "--truth", tp, "--tracks", kp, "--json").stdout)
    assert tuple(s) == SUMMARY_KEYS + FILE_KEYS
    help_text = run("eval", "--help").output
    for key in s:
        assert key in help_text, key


def test_table_output_names_the_measures(tmp_path):
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([0.0, 1.0], TARGETS))
    kp = write_lines(tmp_path / "tracks.jsonl", [track(t, "A", 100.0 * t, 0.0, 100.0, 0.0) for t in (0.0, 1.0)])
    r = run("eval", "--truth", tp, "--tracks", kp)
    assert r.exit_code == 0
    for word in ("GOSPA", "OSPA", "position RMSE", "velocity RMSE", "SIAP completeness", "ambiguity",
                 "spuriousness", "ID changes", "ANEES", "missed per instant", "false per instant", "instants scored"):
        assert word in r.stdout, word


def test_track_times_between_truth_instants_are_scored_against_interpolated_truth(tmp_path):
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([0.0, 1.0, 2.0], TARGETS))
    tracks = []
    for t in (0.5, 1.5):  # exactly on the truth at half-seconds
        for k, (x, y, vx, vy) in TARGETS.items():
            tracks.append(track(t, k, x + vx * t, y + vy * t, vx, vy))
    kp = write_lines(tmp_path / "tracks.jsonl", tracks)
    s = json.loads(run("eval", "--truth", tp, "--tracks", kp, "--json").stdout)
    # t = 0.5 and 1.5 from the tracks, and the truth instant t = 1.0 inside their span (no track lines: all missed)
    assert s["instants"] == 3 and s["skipped_instants"] == 0
    assert s["gospa_mean"] == pytest.approx(2 * 500.0 / 3)
    assert s["rmse_position_m"] == pytest.approx(0.0, abs=1e-9)
    s = json.loads(run("eval", "--truth", tp, "--tracks", kp, "--json", "--at", "tracks").stdout)
    assert s["instants"] == 2 and s["gospa_mean"] == pytest.approx(0.0, abs=1e-9)


def test_track_times_outside_the_truth_are_skipped(tmp_path):
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([1.0, 2.0], TARGETS))
    kp = write_lines(tmp_path / "tracks.jsonl", [track(t, "A", 100.0 * t, 0.0, 100.0, 0.0) for t in (0.0, 1.0, 3.0)])
    s = json.loads(run("eval", "--truth", tp, "--tracks", kp, "--json").stdout)
    assert s["skipped_instants"] == 2 and s["instants"] == 2  # t = 1 (tracks) and t = 2 (truth only)


def test_anees_from_track_covariances(tmp_path):
    rng = np.random.default_rng(2)
    times = np.arange(0.0, 300.0)
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows(times.tolist(), TARGETS))
    P = np.diag([100.0, 400.0, 4.0, 1.0])
    L = np.linalg.cholesky(P)
    rows = []
    for t in times:
        for k, (x, y, vx, vy) in TARGETS.items():
            e = L @ rng.normal(size=4)
            rows.append(track(float(t), k, x + vx * t + e[0], y + vy * t + e[1], vx + e[2], vy + e[3],
                              cov=P.ravel().tolist()))
    kp = write_lines(tmp_path / "tracks.jsonl", rows)
    s = json.loads(run("eval", "--truth", tp, "--tracks", kp, "--json").stdout)
    assert s["anees_count"] == 600 and s["anees_dim"] == 4
    assert s["anees_interval_95_low"] < s["anees"] < s["anees_interval_95_high"]
    assert s["rmse_position_m"] == pytest.approx(np.sqrt(500.0), rel=0.1)


@pytest.mark.parametrize("case", ["missing", "all-bad", "truth-all-bad", "dims"])
def test_unusable_files_exit_1(tmp_path, case):
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([0.0], TARGETS))
    kp = write_lines(tmp_path / "tracks.jsonl", [track(0.0, "A", 0.0, 0.0, 0.0, 0.0)]) if case == "truth-all-bad" \
        else tmp_path / "tracks.jsonl"
    if case == "all-bad":
        write_lines(kp, ["{oops", '{"t": 0, "track_id": "A"}'])
    elif case == "truth-all-bad":
        write_lines(tp, ['{"t": 0, "id": "A", "lat": 1}', "not json"])
    elif case == "dims":
        write_lines(kp, [{**track(0.0, "A", 0.0, 0.0, 0.0, 0.0), "z": 0.0, "vz": 0.0}])
    r = run("eval", "--truth", tp, "--tracks", kp)
    assert r.exit_code == 1
    expect = {"missing": "no such file", "all-bad": "no good track line", "dims": "tracks are 3-D",
              "truth-all-bad": "no line with a state"}[case]
    assert expect in r.stderr and "Traceback" not in r.stderr
    if case == "all-bad":  # the message names the first bad line and what was wrong with it
        assert "(2 bad; the first: " in r.stderr and "tracks.jsonl:1:" in r.stderr
    if case == "truth-all-bad":
        assert "(2 bad; the first: " in r.stderr and "truth.jsonl:1:" in r.stderr


def test_times_going_back_and_repeated_ids_are_bad_lines(tmp_path):
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([0.0, 1.0], TARGETS))
    kp = write_lines(tmp_path / "tracks.jsonl", [
        track(0.0, "A", 0.0, 0.0, 100.0, 0.0), track(0.0, "A", 1.0, 0.0, 100.0, 0.0),
        track(1.0, "A", 100.0, 0.0, 100.0, 0.0), track(0.5, "B", 0.0, 0.0, 0.0, 0.0)])
    r = run("eval", "--truth", tp, "--tracks", kp, "--json")
    assert r.exit_code == 0
    assert f"{kp}:2: field 'track_id': expected one line per track_id per instant" in r.stderr
    assert f"{kp}:4: field 't': expected non-decreasing time" in r.stderr
    assert json.loads(r.stdout)["bad_track_lines"] == 2


def test_sensors_need_q_and_a_bad_sensors_file_is_unusable(tmp_path):
    r = CliRunner().invoke(main, ["eval", "--truth", "a", "--tracks", "b", "--sensors", "s.json"])
    assert r.exit_code == 2 and "--q" in r.output
    tp = write_lines(tmp_path / "truth.jsonl", truth_rows([0.0], TARGETS))
    kp = write_lines(tmp_path / "tracks.jsonl", [track(0.0, "A", 0.0, 0.0, 100.0, 0.0)])
    sp = tmp_path / "sensors.json"
    sp.write_text('{"epoch": "2024-04-10T00:00:00Z", "sensors": [{"id": "R", "nation": "USA", "kind": "radar", '
                  '"x": 0, "y": 0, "sigma_range_m": -5, "sigma_bearing_deg": 0.1}]}')
    r = run("eval", "--truth", tp, "--tracks", kp, "--sensors", sp, "--q", "1")
    assert r.exit_code == 1 and f"{sp}: field 'sensors[0].sigma_range_m'" in r.stderr


def test_simulated_truth_scored_against_itself_and_its_pcrlb(tmp_path):
    out = tmp_path / "c10"
    r = run("simulate", "clutter-10", "--out", out, "--duration", "20", "--json")
    assert r.exit_code == 0, r.output
    truth = out / "truth.jsonl"
    tracks = tmp_path / "tracks.jsonl"
    tracks.write_text(truth.read_text().replace('"id":', '"track_id":'))
    r = run("eval", "--truth", truth, "--tracks", tracks, "--json", "--sensors", out / "sensors.json", "--q", "1")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["instants"] == 21 and s["truths"] == 10
    assert s["gospa_mean"] == 0.0 and s["ospa_mean"] == 0.0
    assert s["siap_completeness"] == 1.0 and s["siap_ambiguity"] == 1.0 and s["siap_spuriousness"] == 0.0
    assert s["siap_id_changes"] == 0 and s["siap_longest_segment"] == 1.0
    assert s["pcrlb_sensors"] == ["R1", "R2"]
    # two radars of 20 m range noise, 0.05 deg bearing noise at a few km: a bound of metres to tens of metres
    assert 1.0 < s["pcrlb_position_m"] < 30.0
