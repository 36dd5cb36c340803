"""The parity benchmark (benchmarks/bench_parity.py): its scoring on hand-made cases, and one short
in-process network run scored end to end (about 30 s)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    path = ROOT / "benchmarks" / "bench_parity.py"
    spec = importlib.util.spec_from_file_location("bench_parity", path)
    mod = importlib.util.module_from_spec(spec)
    # registered so that the central runs' worker processes and their pickled results find it
    sys.modules["bench_parity"] = mod
    spec.loader.exec_module(mod)
    return mod


def _scored(bench, k, truth, track):
    k = np.asarray(k, dtype=np.int64)
    z = np.zeros(int(k.max()) + 1 if k.size else 0)
    return bench.Scored("x", z, z, z.astype(np.int64), z.astype(np.int64), k,
                        np.asarray(truth, dtype=np.int64), np.asarray(track, dtype=np.int64),
                        np.zeros(k.size))


def test_identity_changes_count_across_gaps_and_adjacent(bench):
    # truth 0: a a _ b b a  -> a→b across the gap, b→a adjacent; truth 1: c c c -> none
    s = _scored(bench, [0, 1, 3, 4, 5, 0, 1, 2], [0, 0, 0, 0, 0, 1, 1, 1], [7, 7, 8, 8, 7, 9, 9, 9])
    assert bench.identity_changes(s) == (2, 1)


def test_agreement_counts_settled_numbered_pairs_only(bench):
    settled = np.ones((3, 2), dtype=bool)
    settled[2, 1] = False                                # truth 1 in a close pass at k = 2
    a = _scored(bench, [0, 1, 2, 0, 2], [0, 0, 0, 1, 1], [5, 5, 5, 6, 6])
    b = _scored(bench, [0, 1, 2, 0, 2], [0, 0, 0, 1, 1], [5, 5, -1, 4, 9])
    share, n = bench.agreement(a, b, settled)
    # compared: (0,0) same, (1,0) same, (2,0) b has no number, (0,1) differ, (2,1) unsettled
    assert n == 3 and share == pytest.approx(2 / 3)
    assert bench.agreement(a, a, settled) == (1.0, 4)


def test_disagreements_with_an_unnumbered_track(bench):
    codes = bench.IdCodes()
    ids = codes.encode(["USA-N00001", "GBR-local-USA:USA-1", "JPN-N00002"])
    assert codes.unnumbered().tolist() == [False, True, False]
    settled = np.ones((2, 2), dtype=bool)
    a = _scored(bench, [0, 1, 0], [0, 0, 1], [ids[0], ids[0], ids[2]])
    b = _scored(bench, [0, 1, 0], [0, 0, 1], [ids[1], ids[0], ids[0]])
    assert bench.agreement(a, b, settled) == (pytest.approx(1 / 3), 3)
    assert bench.unnumbered_disagreements(a, b, settled, codes.unnumbered()) == 1


def test_disagreements_on_an_object_two_nations_track_apart(bench):
    """Truth 0: JPN's picture holds only its own report, the UK's only its own (neither hears the
    other), Australia hears both and sides with the UK: the JPN pairs differ there, and no rule
    can fix it. Truth 1: AUS holds JPN's report and still differs: an ordinary disagreement."""
    nations = ["AUS", "GBR", "JPN"]
    bits = dict(zip(nations, bench.nation_bits([["AUS:a"], ["GBR:g"], ["JPN:j"]], nations).tolist()))
    assert bits == {"AUS": 1, "GBR": 2, "JPN": 4}

    def scored(tracks, src):
        s = _scored(bench, [0, 0], [0, 1], tracks)
        return bench.Scored(*[getattr(s, f.name) for f in bench.dataclasses.fields(s)][:-1],
                            np.asarray(src, dtype=np.int64))

    sc = {"AUS": scored([11, 20], [2 | 4, 1 | 4]), "GBR": scored([11, -1], [2, 0]),
          "JPN": scored([10, 21], [4, 4])}
    settled = np.ones((1, 2), dtype=bool)
    assert bench.apart_disagreements(sc, nations, settled) == {"AUS-GBR": 0, "AUS-JPN": 1, "GBR-JPN": 1}
    assert bench.agreement(sc["AUS"], sc["JPN"], settled) == (0.0, 2)
    plain = {n: _scored(bench, [0], [0], [1]) for n in nations}   # pictures without sources
    assert bench.apart_disagreements(plain, nations, settled) == {}


def test_frame_at_respects_the_age_limit(bench):
    pic = bench.Picture.from_rows("p", [2.0, 2.0, 4.0], ["A", "B", "A"], np.zeros((3, 6)), 3.0)
    grid = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 7.0, 7.5])
    assert pic.frame_at(grid).tolist() == [-1, -1, 0, 0, 1, 1, -1]
    assert pic.start.tolist() == [0, 2, 3]


@pytest.fixture(scope="module")
def quick(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("parity")
    argv = ["--quick", "--duration", "150", "--keep", str(out), "--jobs", "2"]
    args = bench.build_parser().parse_args(argv)
    return out, bench.run(args)


def test_quick_run_has_every_figure_for_every_nation(bench, quick):
    out, res = quick
    (r,) = res["runs"]
    assert r["nations"] == ["AUS", "GBR", "JPN", "USA"]
    assert r["grid"][2] >= 140
    for n in r["nations"]:
        p = r["per_nation"][n]
        for side in ("fused", "central"):
            assert math.isfinite(p[side]["gospa_sum"]) and p[side]["instants"] == r["grid"][2]
        assert isinstance(p["gospa_met"], bool) and isinstance(p["ids_met"], bool)
    assert set(r["agreement"]) == {"AUS-GBR", "AUS-JPN", "AUS-USA", "GBR-JPN", "GBR-USA", "JPN-USA"}
    assert r["warnings"]["launches"] == []                # the first launch is at 200 s
    text = json.dumps(bench.plain(res), allow_nan=False)   # strict JSON
    assert "per_nation" in text
    shown = "\n".join(bench.render(res))
    assert all(f"| {n} | " in shown for n in r["nations"])
    assert shown.endswith(("all goals met", "some goals not met (see above)"))


def test_quick_run_central_yardsticks(bench, quick):
    out, res = quick
    (r,) = res["runs"]
    sensors = json.loads((out / "inprocess" / "sensors.json").read_text())["sensors"]
    # every sensor is releasable to the USA; GBR may not see JPN's R1, R2, R3, R4 nor the infrared
    assert r["per_nation"]["USA"]["sensors"] == sorted(s["id"] for s in sensors)
    gbr = set(r["per_nation"]["GBR"]["sensors"])
    assert not gbr & {"JPN-R1", "JPN-R2", "JPN-R3", "JPN-R4", "USA-SBIRS"} and "GBR-T45" in gbr
    usa, c = r["per_nation"]["USA"]["central"], bench.C_M
    # central on every detection tracks most targets: well below the cost of missing every truth
    assert usa["gospa_mean"] < 0.5 * (c / 2) * r["truths_per_s"]
    assert usa["missed_per_s"] < 0.5 * r["truths_per_s"]


def test_truth_scored_as_a_picture_is_perfect(bench, quick):
    out, _ = quick
    folder = out / "inprocess"
    t, ids, x, bad = bench.read_states(folder / "truth.jsonl", 3)
    assert bad == 0
    pic = bench.Picture.from_rows("truth", t, ids, x, max_age_s=3.0)
    truth = bench.truth_grid(folder / "truth.jsonl", 3, 2.0, 150.0)
    assert truth.grid[0] == 2.0 and truth.grid[-1] == 150.0
    s = bench.score_picture(pic, truth, 3, bench.IdCodes())
    assert s.gospa.max() < 1e-6 and s.missed.sum() == 0 and s.false.sum() == 0
    assert bench.identity_changes(s) == (0, 0)
    share, n = bench.agreement(s, s, truth.settled)
    assert share == 1.0 and 0 < n <= sum(len(c) for c in truth.codes)
