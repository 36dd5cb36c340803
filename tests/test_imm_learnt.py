"""The IMM whose mode switching is learnt per track (``imm_learn_tpm``): the rate estimator on
simulated Markov mode sequences, row-stochastic transition matrices, covariances that stay
symmetric positive-definite, the configuration's checks, and exact out-of-sequence processing."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from skyweave.cli.common import resolve_scenario
from skyweave.node.simulate import run_simulation
from skyweave.node.track_files import track_files
from skyweave.track.config import TrackerConfig
from skyweave.track.estimator import IMM, LearntTPM, expm_rates
from skyweave.track.filters import make_filter
from skyweave.track.measurement import CartesianMeasurement
from skyweave.track.motion import ConstantVelocity, CoordinatedTurn
from skyweave.track.tracker import make_estimator
from tests.support.late_scans import write_late_scans

LEARNT = dict(imm_learn_tpm=True, imm_tpm_counts="decided", imm_q_cv=0.01, imm_q_ct=0.1, q_omega=1e-5,
              imm_fast_q=20.0, imm_fast_q_omega=0.01, imm_sojourn_s=(150.0, 15.0), imm_tpm_prior_count=0.3)


def _generator(rates: np.ndarray) -> np.ndarray:
    L = np.array(rates, dtype=float)
    np.fill_diagonal(L, 0.0)
    np.fill_diagonal(L, -L.sum(axis=1))
    return L


def _markov_modes(rates: np.ndarray, dt: float, steps: int, seed: int) -> np.ndarray:
    """A mode sequence of the continuous-time chain ``rates`` (1/s) sampled every ``dt`` s."""
    Pi = expm(_generator(rates) * dt)
    rng = np.random.default_rng(seed)
    m = np.zeros(steps, dtype=int)
    for k in range(1, steps):
        m[k] = rng.choice(len(Pi), p=Pi[m[k - 1]])
    return m


def _learn_along(tpm: LearntTPM, modes: np.ndarray, dt: float, sharpness: float, update_every: int = 1) -> dict:
    """Feed one track's learner with mode probabilities that favour the true mode by ``sharpness``."""
    r = tpm.r
    s = tpm.new(1)
    for k, m in enumerate(modes):
        Pi = tpm.transition(s, np.array([dt]))
        s = {**s, **tpm.carry(s, Pi, np.array([dt]))}
        if k % update_every == 0:
            mu = np.full(r, (1.0 - sharpness) / (r - 1))
            mu[m] = sharpness
            s = {**s, **tpm.learn(s, mu[None, :])}
    return s


def _empirical_sojourns(modes: np.ndarray, dt: float) -> tuple[float, float]:
    """Time in each mode over the number of departures from it, counted on the sequence itself (s)."""
    a, b = modes[:-1], modes[1:]
    return (np.sum(a == 0) * dt / np.sum((a == 0) & (b == 1)), np.sum(a == 1) * dt / np.sum((a == 1) & (b == 0)))


@pytest.mark.parametrize("counts, sharpness", [("soft", 1.0), ("decided", 0.97), ("decided", 0.8)])
def test_the_learnt_rates_converge_to_the_sequences_switching_rates(counts, sharpness):
    """Two modes, mean sojourns 40 s and 10 s, 0.5-s steps over 100 minutes (about 240 switches),
    from a prior 5 times off (200 s, 50 s): the learnt mean sojourns are within 5 % of the
    sequence's own (departures over time spent), whether the mode probabilities are exact
    (soft counts) or only favour the true mode (decided counts)."""
    modes = _markov_modes(np.array([[0.0, 1 / 40], [1 / 10, 0.0]]), 0.5, 12_000, seed=3)
    tpm = LearntTPM([200.0, 50.0], prior_count=1.0, switch_at=0.75 if counts == "decided" else None)
    s = _learn_along(tpm, modes, 0.5, sharpness=sharpness)
    L = tpm.rates(s)[0]
    want = _empirical_sojourns(modes, 0.5)
    assert 1 / L[0, 1] == pytest.approx(want[0], rel=0.05) and 1 / L[1, 0] == pytest.approx(want[1], rel=0.05)


def test_soft_counts_from_blurred_mode_probabilities_miss_most_switches():
    """Why ``imm_tpm_counts: decided`` exists: the quasi-Bayesian expected counts credit a switch
    to the probability the new mode already had, so with probabilities that only favour the true
    mode (0.9) they count about a third of the switches (learnt sojourns over twice the truth)."""
    modes = _markov_modes(np.array([[0.0, 1 / 40], [1 / 10, 0.0]]), 0.5, 12_000, seed=3)
    tpm = LearntTPM([200.0, 50.0], prior_count=1.0)
    L = tpm.rates(_learn_along(tpm, modes, 0.5, sharpness=0.9))[0]
    want = _empirical_sojourns(modes, 0.5)
    assert 1 / L[0, 1] > 2 * want[0] and 1 / L[1, 0] > 2 * want[1]


def test_a_straight_flyer_learns_a_long_sojourn_and_a_frequent_turner_a_short_one():
    """The same prior (100 s, 15 s); one track switches every ~300 s, another every ~20 s."""
    tpm = LearntTPM([100.0, 15.0], prior_count=0.3, switch_at=0.9)
    slow = _learn_along(tpm, _markov_modes(np.array([[0, 1 / 300], [1 / 15, 0]]), 1.0, 1200, seed=1), 1.0, 0.95)
    fast = _learn_along(tpm, _markov_modes(np.array([[0, 1 / 20], [1 / 15, 0]]), 1.0, 1200, seed=2), 1.0, 0.95)
    tau_slow = -1.0 / tpm.rates(slow)[0, 0, 0]
    tau_fast = -1.0 / tpm.rates(fast)[0, 0, 0]
    assert tau_slow > 150.0 and tau_fast < 35.0


def test_updates_between_missed_scans_learn_the_same_rates():
    """Updates every third step (misses between): the interval's transition matrix carries them."""
    true = np.array([[0.0, 1 / 30], [1 / 10, 0.0]])
    modes = _markov_modes(true, 0.5, 12_000, seed=4)
    tpm = LearntTPM([30.0, 10.0], prior_count=1.0)
    s = _learn_along(tpm, modes, 0.5, sharpness=1.0, update_every=3)
    L = tpm.rates(s)[0]
    want = _empirical_sojourns(modes, 0.5)
    # a switch and its return inside one 1.5-s interval are not seen: a small, known under-count
    assert 1 / L[0, 1] == pytest.approx(want[0], rel=0.1) and 1 / L[1, 0] == pytest.approx(want[1], rel=0.1)


def test_expm_rates_equals_scipys_matrix_exponential():
    rng = np.random.default_rng(0)
    L = np.stack([_generator(rng.uniform(0, 2, (3, 3))) for _ in range(20)])
    T = rng.uniform(0, 30, 20)
    E = expm_rates(L, T)
    for k in range(20):
        assert np.allclose(E[k], expm(L[k] * T[k]), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.lists(st.floats(1e-4, 5.0), min_size=16, max_size=16), st.lists(st.floats(0.0, 60.0), min_size=3, max_size=3))
def test_transition_matrices_are_row_stochastic(r, rates, steps):
    L = np.stack([_generator(np.array(rates[: r * r]).reshape(r, r))] * 3)
    E = expm_rates(L, np.array(steps))
    assert np.all(E >= 0.0) and np.allclose(E.sum(axis=2), 1.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.integers(0, 2**31 - 1), st.sampled_from([None, 0.6, 0.9]))
def test_learnt_rates_stay_positive_and_their_transitions_row_stochastic(r, seed, switch_at):
    """Any sequence of mode probabilities and steps: positive rates, row-stochastic transitions."""
    rng = np.random.default_rng(seed)
    tpm = LearntTPM(rng.uniform(1.0, 200.0, r), prior_count=float(rng.uniform(0.01, 5.0)),
                    memory_s=float(rng.uniform(5.0, 500.0)) if rng.random() < 0.5 else None, switch_at=switch_at)
    s = tpm.new(5)
    for _ in range(20):
        dt = rng.uniform(0.0, 20.0, 5)
        Pi = tpm.transition(s, dt)
        assert np.all(Pi >= 0.0) and np.allclose(Pi.sum(axis=2), 1.0, atol=1e-12)
        s = {**s, **tpm.carry(s, Pi, dt)}
        s = {**s, **tpm.learn(s, rng.dirichlet(np.full(r, 0.3), 5))}
        L = tpm.rates(s)
        off = ~np.eye(r, dtype=bool)
        assert np.all(L[:, off] > 0.0) and np.allclose(L.sum(axis=2), 0.0, atol=1e-12)


def _imm(learnt):
    cv = ConstantVelocity(d=2, q=0.01, turn_rate=True, omega_sigma=0.01)
    ct = CoordinatedTurn(d=2, q=0.1, q_omega=1e-5)
    fast = CoordinatedTurn(d=2, q=20.0, q_omega=0.01)
    return IMM([make_filter("ekf", m) for m in (cv, ct, fast)], (150.0, 15.0, 15.0), mu0=[0.8, 0.1, 0.1], learnt=learnt)


def test_a_huge_prior_gives_the_fixed_chains_imm():
    """prior_count 1e9: nothing is learnt, and the learnt IMM's steps equal the fixed IMM's."""
    fixed, learnt = _imm(None), _imm(LearntTPM((150.0, 15.0, 15.0), prior_count=1e9))
    rng = np.random.default_rng(2)
    x0 = np.tile([0.0, 0.0, 200.0, 0.0, 0.0], (4, 1))
    P0 = np.tile(np.diag([400.0, 400.0, 100.0, 100.0, 0.0025]), (4, 1, 1))
    a, b = fixed.new(x0, P0), learnt.new(x0, P0)
    meas = CartesianMeasurement(2, 2)
    for k in range(1, 40):
        dt = rng.uniform(0.2, 3.0, 4)
        a, b = fixed.predict(a, dt), learnt.predict(b, dt)
        z = np.column_stack([200.0 * k + rng.normal(0, 20, 4), rng.normal(0, 20, 4)])
        R = np.tile(np.eye(2) * 400.0, (4, 1, 1))
        a, _ = fixed.update(a, meas, z, R)
        b, _ = learnt.update(b, meas, z, R)
        for key in ("xm", "Pm", "mu"):
            assert np.allclose(a[key], b[key], rtol=1e-6, atol=1e-9)


def test_covariances_stay_symmetric_positive_definite_through_turns():
    """Straight legs and 6 deg/s turns, a 2-D position sensor: every mode's and the combined
    covariance symmetric and positive-definite at every step, and the NEES finite."""
    est = make_estimator(TrackerConfig(**LEARNT), 2)
    meas = CartesianMeasurement(2, 2)
    rng = np.random.default_rng(5)
    N = 20
    x, v, w = np.zeros((N, 2)), np.tile([250.0, 0.0], (N, 1)), np.zeros(N)
    s = est.new(np.column_stack([x, np.zeros((N, 3))]), np.tile(np.diag([400.0, 400.0, 200.0**2, 200.0**2, 0.05**2]), (N, 1, 1)))
    R = np.tile(np.eye(2) * 400.0, (N, 1, 1))
    for k in range(300):
        w = np.where(rng.random(N) < 0.05, np.where(w == 0, np.radians(6.0) * rng.choice([-1, 1], N), 0.0), w)
        c, sn = np.cos(w), np.sin(w)
        v = np.column_stack([c * v[:, 0] - sn * v[:, 1], sn * v[:, 0] + c * v[:, 1]])
        x = x + v
        s = est.predict(s, np.ones(N))
        s, _ = est.update(s, meas, x + rng.normal(0, 20, (N, 2)), R)
        for P in (s["Pm"].reshape(-1, 5, 5), est.combined(s)[1]):
            assert np.allclose(P, np.swapaxes(P, 1, 2), rtol=1e-9, atol=1e-9)
            assert np.all(np.linalg.eigvalsh(0.5 * (P + np.swapaxes(P, 1, 2))) > 0.0)
        assert np.allclose(s["mu"].sum(axis=1), 1.0)


@pytest.mark.parametrize("bad, word", [
    (dict(imm_learn_tpm="yes"), "imm_learn_tpm"),
    (dict(imm_learn_tpm=True, model="cv"), "imm_learn_tpm"),
    (dict(imm_tpm_counts="hard"), "imm_tpm_counts"),
    (dict(imm_tpm_prior_count=0.0), "imm_tpm_prior_count"),
    (dict(imm_tpm_switch_at=1.0), "imm_tpm_switch_at"),
    (dict(imm_tpm_memory_s=0.5), "imm_tpm_memory_s"),
    (dict(imm_fast_q_omega=-1e-3), "imm_fast_q_omega"),
])
def test_bad_learnt_tpm_settings_are_errors_naming_the_key(bad, word):
    with pytest.raises(ValueError, match=word):
        TrackerConfig(**bad)


def test_the_option_off_builds_the_default_imm():
    """Off (the default), the IMM has no learner and its two modes, as before."""
    est = make_estimator(TrackerConfig(), 2)
    assert isinstance(est, IMM) and est.learnt is None and est.r == 2
    assert "tpm_a" not in est.new(np.zeros((1, 5)), np.tile(np.eye(5), (1, 1, 1)))
    on = make_estimator(TrackerConfig(**LEARNT), 3)
    assert on.r == 4 and on.learnt is not None   # CV, CT, fast CT and the 3-D high-noise mode


@pytest.fixture(scope="module")
def manoeuvring(tmp_path_factory):
    out = tmp_path_factory.mktemp("m100")
    run_simulation(resolve_scenario("manoeuvring-100"), out, seed=3, duration=40, progress=False)
    return out


@pytest.mark.parametrize("options", [LEARNT, dict(adaptive_q=True)], ids=["imm_learn_tpm", "adaptive_q"])
def test_out_of_sequence_input_gives_the_in_order_tracks_with_per_track_learning(options, manoeuvring, tmp_path):
    """A third of the scans up to 4 s late: what each track learns (its switching rates, or
    adaptive_q's factor) is re-learnt exactly on re-processing. Each prediction gives fresh
    arrays, so the snapshots kept for re-processing stay intact (adaptive_q's arrays were shared
    with them and written in place: positions up to 9.7 m off the in-order tracks here)."""
    write_late_scans(manoeuvring / "detections.jsonl", tmp_path / "late.jsonl", seed=7)
    cfg = TrackerConfig(**options)
    ref = track_files(manoeuvring / "sensors.json", manoeuvring / "detections.jsonl", tmp_path / "ref.jsonl", cfg)
    oos = track_files(manoeuvring / "sensors.json", tmp_path / "late.jsonl", tmp_path / "oos.jsonl", cfg)
    assert oos["out_of_sequence_scans"] > 10 and ref["tracks"] == oos["tracks"] > 50
    a = (tmp_path / "ref.jsonl").read_text().splitlines()
    b = (tmp_path / "oos.jsonl").read_text().splitlines()
    assert len(a) == len(b)
    for ra, rb in zip(map(json.loads, a), map(json.loads, b)):
        assert ra["t"] == rb["t"] and ra["track_id"] == rb["track_id"]
        assert abs(ra["x"] - rb["x"]) < 1e-3 and abs(ra["vy"] - rb["vy"]) < 1e-3
