"""benchmarks/bench_exact_posterior.py: the exact posterior of the clutter family's motion, the yardstick
for eval's honesty tests. Its parts are checked against what they must equal: the turn against the
simulator's exact step, the duration model against draws of the family's own rule, the filter
against a plain Kalman filter where the model has no turns, and the certificate that tells when the
hypothesis beam has dropped the truth's own path."""

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_exact_posterior as bep  # noqa: E402

from skyweave.scenario.motion import ct_step  # noqa: E402

CLUTTER = ROOT / "skyweave/scenarios/clutter-100.yaml"
MANOEUVRING = ROOT / "skyweave/scenarios/manoeuvring-100.yaml"


@pytest.mark.parametrize("rate_dps", [3.0, -6.0, 0.0])
def test_the_turn_matrix_is_the_simulators_exact_step(rate_dps):
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(-5e4, 5e4, (20, 2)), rng.normal(0, 200, (20, 2))])
    w = math.radians(rate_dps)
    F = bep.turn_matrix(w, 0.5)
    np.testing.assert_allclose(x @ F.T, ct_step(x, np.full(20, w), 0.5), rtol=1e-12, atol=1e-6)


def test_the_duration_model_matches_draws_of_the_familys_rule():
    """A turn of U(a, b) s flown in whole steps: P(it goes on after j steps) from the model against
    the frequencies of 200,000 drawn turns (the world's rule: steps until the time left is spent)."""
    a, b, dt = 10.0, 30.0, 0.5
    c = bep.continue_probs(a, b, dt)
    d = np.random.default_rng(1).uniform(a, b, 200_000)
    k = np.ceil(d / dt).astype(int)
    for j in (1, 19, 20, 21, 30, 45, 59):
        at = k >= j
        if at.sum() < 1000:
            continue
        assert c[j] == pytest.approx(np.mean(k[at] > j), abs=0.01), j
    assert np.all(c[1:20] == 1.0)          # no turn ends before 10 s
    assert np.all(c[60:] == 0.0)           # none goes on past 30 s
    assert bep.duration_steps(a, b, dt).sum() == pytest.approx(1.0)


def test_without_turns_it_is_a_kalman_filter_honest_on_its_own_truth():
    """No turns and white-noise acceleration in truth and model: one hypothesis, pooled ANEES
    inside its interval with targets as units, and the certificate holds with equality."""
    fam = replace(bep.read_family(CLUTTER), turn_prob_per_s=0.0)
    r = bep.run(fam, 60.0, 60, 1, seed=3, q=1.0)
    lo, hi = r["interval_tracks"]
    assert lo <= 4.0 <= hi, r["anees"]
    assert r["lost"] == 0 and r["pruned_max"] == 0.0
    assert r["never_turned"] == 1.0


def test_a_filter_told_the_wrong_noise_is_caught():
    """The same truth filtered as if it had a tenth of its noise: the pooled ANEES leaves n."""
    fam = replace(bep.read_family(CLUTTER), turn_prob_per_s=0.0)
    r = bep.run(fam, 60.0, 40, 1, seed=4, q=1.0, series=True)
    np.testing.assert_allclose(r["series"].mean(), r["anees"])
    scaled = bep.score(2.0 * r["series"], np.ones(40, dtype=bool))   # covariances half the truth
    assert scaled["interval_tracks"][0] > 4.0
    assert scaled["inside"] < 0.5


def test_with_turns_the_beam_keeps_the_truths_path_and_the_posterior_is_honest_pooled():
    fam = bep.read_family(MANOEUVRING)
    r = bep.run(fam, 60.0, 30, 60, seed=2)
    assert r["lost"] == 0
    assert r["pruned_max"] < 0.05
    lo, hi = r["interval_tracks"]
    assert lo <= 4.0 <= hi, r["anees"]


def test_a_beam_too_narrow_for_the_posterior_is_caught_by_the_certificate():
    """One hypothesis cannot hold a turning target's posterior: the certificate says so."""
    fam = bep.read_family(MANOEUVRING)
    r = bep.run(fam, 60.0, 20, 1, seed=2)
    assert r["lost"] > 0


def test_the_command_refuses_bad_values_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        bep.main(["--duration", "-1"])
    assert e.value.code == 2
    assert "--duration must be a positive number" in capsys.readouterr().err
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: x\nduration_s: 10\n")
    with pytest.raises(SystemExit) as e:
        bep.read_family(plain)
    assert "has no clutter_family block" in str(e.value)
    with pytest.raises(SystemExit) as e:
        bep.read_family(tmp_path / "missing.yaml")
    assert "cannot read scenario" in str(e.value)


def test_the_children_carry_all_of_their_parents_probability_and_age():
    """Priors of each hypothesis's children sum to one; the same-sign child of a turning one holds
    the ages that went on, one step older, and the new turns of that sign, aged one step."""
    cont = bep.continue_probs(10.0, 20.0, 0.5)
    J, start = len(cont), 0.0247
    rng = np.random.default_rng(5)
    pjd = rng.random((6, J)) * (np.arange(J) >= 15)
    pjd /= pjd.sum(-1, keepdims=True)
    pmode = np.array([0, 1, 2, 1, 2, 0])
    pjd[pmode == 0] = 0.0
    prior, cmode, cjd = bep.children(pmode, pjd, cont, start)
    np.testing.assert_allclose(prior.sum(-1), 1.0)
    for i in np.where(pmode > 0)[0]:
        go = pjd[i] * cont[:J]
        end = 1.0 - go.sum()
        want = np.zeros(J)
        want[1:] = go[:-1]
        want[1] += end * start / 2
        np.testing.assert_allclose(prior[i, 0] * cjd[i, 0], want, atol=1e-15)
        assert list(cmode[i]) == [pmode[i], 0, 3 - pmode[i]]
        np.testing.assert_allclose(prior[i, 1:], [end * (1 - start), end * start / 2])
    for i in np.where(pmode == 0)[0]:
        np.testing.assert_allclose(prior[i], [1 - start, start / 2, start / 2])
        assert list(cmode[i]) == [0, 1, 2]
        assert cjd[i, 1, 1] == 1.0 and cjd[i, 2, 1] == 1.0


@pytest.mark.parametrize("family, says", [
    ("{n_targets: 10, speed_mps: [1, 2], turn_rate_dps: 3, turn_prob_per_s: 0.1}", "needs turn_duration_s"),
    ("{n_targets: x, speed_mps: [1, 2], turn_rate_dps: 3, turn_prob_per_s: 0.1, turn_duration_s: [1, 2]}", "bad value"),
    ("{n_targets: 10, speed_mps: [1, 2], turn_rate_dps: 3, turn_prob_per_s: 0.1, turn_duration_s: [5, 2]}", "0 < a < b"),
])
def test_a_bad_family_is_named_in_one_line(tmp_path, family, says):
    p = tmp_path / "f.yaml"
    p.write_text(f"clutter_family: {family}\n")
    with pytest.raises(SystemExit) as e:
        bep.read_family(p)
    assert says in str(e.value)
