"""Covariance honesty: per-track NEES against each track's own bounds, and eval's plain verdict."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from skyweave.cli.eval_cmd import covariance_verdict
from skyweave.cli.main import main
from skyweave.metrics.errors import TrackNees


def feed(tn, series):
    """series (T, K): NEES of K tracks over T instants."""
    codes = np.arange(series.shape[1])
    for row in series:
        tn.add(codes, row)


def correlated_nees(rng, tracks, instants, dim, rho):
    """NEES of a consistent estimator whose errors are AR(1) in time with coefficient rho."""
    e = rng.normal(size=(tracks, dim))
    out = np.empty((instants, tracks))
    for t in range(instants):
        e = rho * e + np.sqrt(1 - rho**2) * rng.normal(size=(tracks, dim))
        out[t] = np.einsum("kd,kd->k", e, e)
    return out


@pytest.mark.parametrize("rho", [0.0, 0.7])
def test_consistent_tracks_are_inside_their_bounds(rho):
    rng = np.random.default_rng(4)
    tn = TrackNees()
    feed(tn, correlated_nees(rng, 200, 400, 4, rho))
    r = tn.result(4)
    assert r["tracks"] == 200
    assert r["inside"] >= 0.88
    assert r["above"] + r["below"] == pytest.approx(1 - r["inside"])


def test_over_and_under_confident_tracks_are_named():
    rng = np.random.default_rng(5)
    base = correlated_nees(rng, 100, 300, 4, 0.5)
    over, under = TrackNees(), TrackNees()
    feed(over, 2.0 * base)     # errors larger than the covariance says
    feed(under, 0.5 * base)
    assert over.result(4)["above"] >= 0.95
    assert under.result(4)["below"] >= 0.95


def test_short_tracks_are_not_judged_and_codes_may_grow():
    tn = TrackNees(batch=20, min_batches=3)
    tn.add(np.array([0, 5000]), np.array([4.0, 4.0]))
    for _ in range(58):
        tn.add(np.array([0]), np.array([4.0]))
    assert tn.result(4)["tracks"] == 0        # 59 samples: two full batches of 20
    tn.add(np.array([0]), np.array([4.0]))
    assert tn.result(4) == {"tracks": 1, "inside": 1.0, "above": 0.0, "below": 0.0}


def summary(anees, inside, above=0.0, below=0.0):
    return {"anees": anees, "anees_dim": 4, "nees_tracks_inside": inside, "nees_tracks_above": above,
            "nees_tracks_below": below}


@pytest.mark.parametrize("s, word", [
    (summary(4.1, 0.95), "honest"),
    (summary(2.5, 0.1, below=0.9), "under-confident"),
    (summary(7.5, 0.1, above=0.9), "over-confident"),
    (summary(4.4, 0.5, above=0.4, below=0.1), "mixed (over-confident tracks)"),
    (summary(float("nan"), float("nan")), "-"),
])
def test_covariance_verdict_in_words(s, word):
    assert covariance_verdict(s)[0] == word


def test_eval_reports_per_track_consistency(tmp_path):
    """Tracks whose covariance is 4x too small are called over-confident by eval, and the JSON says why."""
    rng = np.random.default_rng(8)
    P_true = np.diag([100.0, 100.0, 4.0, 4.0])
    truth, tracks = [], []
    for t in range(200):
        for k in range(5):
            x, y, vx, vy = 1000.0 * k + 100.0 * t, 0.0, 100.0, 0.0
            truth.append({"t": float(t), "id": f"T{k}", "x": x, "y": y, "vx": vx, "vy": vy})
            e = np.linalg.cholesky(P_true) @ rng.normal(size=4)
            tracks.append({"t": float(t), "track_id": f"K{k}", "x": x + e[0], "y": y + e[1], "vx": vx + e[2],
                           "vy": vy + e[3], "cov": (P_true / 4).ravel().tolist()})
    (tmp_path / "truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in truth))
    (tmp_path / "tracks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in tracks))
    args = ["eval", "--truth", str(tmp_path / "truth.jsonl"), "--tracks", str(tmp_path / "tracks.jsonl")]
    s = json.loads(CliRunner().invoke(main, args + ["--json"]).stdout)
    assert s["nees_tracks"] == 5 and s["nees_tracks_above"] == 1.0
    assert s["anees"] == pytest.approx(16.0, rel=0.15)
    table = CliRunner().invoke(main, args).stdout
    assert "over-confident" in table and "tracks in NEES bounds" in table


def _crossing(t: float, v: float = 200.0) -> np.ndarray:
    """Two targets crossing head-on through the origin at time 0: A flies east, B north-west."""
    a = np.array([v * t, 0.0, v, 0.0])
    u = np.array([-1.0, 1.0]) / np.sqrt(2.0)
    b = np.r_[u * v * t, u * v]
    return np.stack([a, b])


def test_nees_pairs_crossing_targets_by_state_not_by_position():
    """At a crossing the position-only (GOSPA) pairing gives each track the other target; NEES must not."""
    from skyweave.metrics.assignment import assign_within, pair_by_state
    from skyweave.metrics.scorer import Scorer

    rng = np.random.default_rng(3)
    P = np.diag([30.0**2, 30.0**2, 5.0**2, 5.0**2])
    scorer = Scorer(c=1000.0)
    swapped = 0
    for t in np.arange(-20.0, 20.05, 0.1):
        truth = _crossing(t)
        tracks = truth + rng.multivariate_normal(np.zeros(4), P, size=2)
        a = assign_within(truth[:, :2], tracks[:, :2], 1000.0)
        rows = pair_by_state(truth, tracks, a.rows, a.cols, 2, 1000.0)
        assert list(rows[np.argsort(a.cols)]) == [0, 1]  # track k estimates target k
        swapped += int(list(a.rows[np.argsort(a.cols)]) != [0, 1])
        scorer.add(t, ["A", "B"], truth, ["T1", "T2"], tracks, np.stack([P, P]))
    assert swapped >= 1  # the position-only pairing does swap them near the crossing
    s = scorer.summary()
    assert 2.5 < s["anees"] < 6.0  # about 4; a swapped pair alone gives NEES ~ 10^3 and more


def test_pairing_by_state_keeps_far_apart_positions_unpaired():
    """Re-pairing never forms a pair whose positions are the cutoff or more apart."""
    from skyweave.metrics.assignment import pair_by_state

    truth = np.array([[0.0, 0.0, 100.0, 0.0], [900.0, 0.0, -100.0, 0.0]])
    # each track sits on its truth's position but with the other one's velocity
    tracks = np.array([[0.0, 0.0, -100.0, 0.0], [900.0, 0.0, 100.0, 0.0]])
    rows = pair_by_state(truth, tracks, np.array([0, 1]), np.array([0, 1]), 2, 500.0)
    assert list(rows) == [0, 1]
    rows = pair_by_state(truth, tracks, np.array([0, 1]), np.array([0, 1]), 2, 5000.0)
    assert list(rows) == [1, 0]
