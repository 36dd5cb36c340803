"""benchmarks/bench_warn.py's plan: the ballistic coefficients drawn from the warner's own prior
(``--prior-beta``), every other draw unchanged."""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_warn  # noqa: E402


def test_prior_beta_draws_from_the_warners_prior_and_changes_nothing_else():
    plain = bench_warn.plan(4, 12)
    prior = bench_warn.plan(4, 12, prior_beta_sigma=0.4)
    assert [r.name + "-pb" for r in plain] == [r.name for r in prior]
    assert all(ln.beta is None for r in plain for ln in r.launches)
    z = []
    for a, b in zip(plain, prior):
        assert (a.seed, a.duration_s, a.air) == (b.seed, b.duration_s, b.air)
        for x, y in zip(a.launches, b.launches):
            assert (x.id, x.lat, x.lon, x.az, x.range_km, x.t) == (y.id, y.lat, y.lon, y.az, y.range_km, y.t)
            z.append(math.log(y.beta / bench_warn.beta_for_range(y.range_km)) / 0.4)
            assert f"beta_kg_m2: {y.beta:.1f}" in b.yaml()
    assert len(z) == 36 and abs(np.mean(z)) < 0.5 and 0.6 < np.std(z) < 1.4     # N(0, 1) draws
    assert bench_warn.plan(4, 12, prior_beta_sigma=0.4)[3].launches[1].beta == prior[3].launches[1].beta
