"""Track-to-track association: the pre-gate misses nothing, gating, identity conflicts, same-source
exclusion, optimal assignment, many sources, and hysteresis against flicker."""

import itertools

import numpy as np
import pytest
from scipy.stats import chi2

from skyweave.fuse import Fuser, FuserConfig, TrackSet
from skyweave.fuse.association import candidate_track_pairs, group_pairs, pair_distance, sequential_assignment
from tests.support.fusesim import SimNation, cv_truth

SIG = 100.0
G_STRICT = chi2.ppf(0.99, 2)     # 9.21
G_LOOSE = chi2.ppf(0.99999, 2)   # 23.0


def tracks(nation, rows, t=0.0, sig=SIG):
    """rows: (local_id, x, y[, vx, vy[, identity]]) → TrackSet (2-D, position σ = sig m, velocity σ = 10 m/s)."""
    ids, X, ident = [], [], []
    for r in rows:
        ids.append(r[0])
        X.append([r[1], r[2], *(r[3:5] if len(r) >= 5 else (0.0, 0.0))])
        ident.append(r[5] if len(r) >= 6 else -1)
    P = np.tile(np.diag([sig**2, sig**2, 100.0, 100.0]), (len(rows), 1, 1))
    return TrackSet.from_lists(nation=nation, local_id=ids, t=t, x=np.array(X, float), P=P, quality=[10] * len(rows),
                               identity=np.array(ident, dtype=np.int64), releasable_to=("AUS", "JPN", "USA"))


def at_d2(d2, sig=SIG):
    """Separation (m) along x giving squared distance d2 between two tracks of position σ = sig."""
    return float(np.sqrt(d2 * 2 * sig**2))


def fused_pairs(pic):
    return {tuple(p) for p in pic.links.tolist()}


def test_pre_gate_finds_every_pair_inside_the_gate():
    rng = np.random.default_rng(0)
    K = 400
    pos = rng.uniform(0, 20_000, (K, 2))
    A = rng.normal(size=(K, 2, 2)) * rng.uniform(5, 150, (K, 1, 1))
    P = np.zeros((K, 4, 4))
    P[:, :2, :2] = A @ np.swapaxes(A, 1, 2) + np.eye(2)
    P[:, 2:, 2:] = np.eye(2)
    x = np.c_[pos, np.zeros((K, 2))]
    gamma = 20.0
    pi, pj = candidate_track_pairs(pos, np.sqrt(np.trace(P[:, :2, :2], axis1=1, axis2=2)), gamma)
    assert np.all(pi < pj)
    ai, aj = np.triu_indices(K, 1)
    d2 = pair_distance(x, P, ai, aj, 2)
    want = {(int(a), int(b)) for a, b in zip(ai[d2 <= gamma], aj[d2 <= gamma])}
    got = set(zip(pi.tolist(), pj.tolist()))
    assert want <= got and len(want) > 20
    assert len(got) < len(ai) / 20      # and it is a pre-gate, not all pairs


def test_strict_gate_decides_a_new_association():
    f = Fuser("AUS")
    inside = f.update(0.0, tracks("AUS", [("a", 0, 0)]), tracks("JPN", [("j", at_d2(0.9 * G_STRICT), 0)]))
    assert len(inside) == 1 and inside.n_sources.tolist() == [2]
    f = Fuser("AUS")
    outside = f.update(0.0, tracks("AUS", [("a", 0, 0)]), tracks("JPN", [("j", at_d2(1.1 * G_STRICT), 0)]))
    assert len(outside) == 2


def test_different_known_identities_never_associate():
    f = Fuser("AUS")
    pic = f.update(0.0, tracks("AUS", [("a", 0, 0, 0, 0, 0xABC123)]), tracks("JPN", [("j", 10, 0, 0, 0, 0xABC124)]))
    assert len(pic) == 2
    f = Fuser("AUS")
    pic = f.update(0.0, tracks("AUS", [("a", 0, 0, 0, 0, 0xABC123)]), tracks("JPN", [("j", 10, 0, 0, 0, -1)]))
    assert len(pic) == 1 and pic.identity.tolist() == [0xABC123]


def test_tracks_of_one_source_never_associate():
    f = Fuser("AUS")
    local = tracks("AUS", [("a1", 0, 0), ("a2", 5, 0)])
    remote = TrackSet.concat([tracks("USA", [("u1", 0, 3), ("u2", 4, 2)]), tracks("JPN", [("j1", 2, 2)])])
    pic = f.update(0.0, local, remote)
    for srcs in pic.sources:
        nations = [s.split(":")[0] for s in srcs]
        assert len(nations) == len(set(nations))
    assert sorted(pic.n_sources.tolist()) == [2, 3]


def brute_force_groups(K, pairs, cost):
    """Best total cost over one-to-one matchings of a two-source problem."""
    best = 0.0
    for r in range(1, len(pairs) + 1):
        for combo in itertools.combinations(range(len(pairs)), r):
            a = [pairs[i][0] for i in combo]
            b = [pairs[i][1] for i in combo]
            if len(set(a)) == r and len(set(b)) == r:
                best = min(best, sum(cost[i] for i in combo))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_two_source_assignment_is_optimal(seed):
    rng = np.random.default_rng(seed)
    na, nb = rng.integers(1, 5, 2)
    rank = np.r_[np.zeros(na, int), np.ones(nb, int)]
    pairs = [(i, na + j) for i in range(na) for j in range(nb) if rng.random() < 0.6]
    if not pairs:
        return
    cost = rng.uniform(-10, -0.1, len(pairs))
    pi, pj = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    group = sequential_assignment(rank, pi, pj, cost)
    together = group[pi] == group[pj]
    assert np.bincount(group).max() <= 2
    assert cost[together].sum() == pytest.approx(brute_force_groups(na + nb, pairs, cost))


def test_three_sources_form_groups_of_three():
    f = Fuser("JPN")
    local = tracks("JPN", [("j1", 0, 0), ("j2", 20_000, 0)])
    remote = TrackSet.concat([tracks("AUS", [("a1", 80, -40), ("a2", 20_050, 30)]),
                              tracks("USA", [("u1", -60, 50), ("u2", 19_900, 0)])])
    pic = f.update(0.0, local, remote)
    assert sorted(pic.sources) == [("AUS:a1", "JPN:j1", "USA:u1"), ("AUS:a2", "JPN:j2", "USA:u2")]
    # group pairs of a labelling
    a, b = group_pairs(np.array([0, 1, 0, 0, 2, 1]))
    assert sorted(zip(a.tolist(), b.tolist())) == [(0, 2), (0, 3), (1, 5), (2, 3)]


def test_velocity_gate_when_gating_on_the_whole_state():
    local = tracks("AUS", [("a", 0, 0, 200, 0)])
    remote = tracks("JPN", [("j", 50, 0, -200, 0)])    # same place, opposite heading
    assert len(Fuser("AUS").update(0.0, local, remote)) == 1
    assert len(Fuser("AUS", FuserConfig(gate_on="state")).update(0.0, local, remote)) == 2


def test_an_association_holds_inside_the_loose_gate_and_a_new_one_is_not_made_there():
    between = at_d2(0.5 * (G_STRICT + G_LOOSE))          # beyond the strict gate, inside the loose one
    f = Fuser("AUS")
    f.update(0.0, tracks("AUS", [("a", 0, 0)]), tracks("JPN", [("j", 100, 0)]))
    kept = f.update(1.0, tracks("AUS", [("a", 0, 0)], t=1.0), tracks("JPN", [("j", between, 0)], t=1.0))
    assert fused_pairs(kept) == {("AUS:a", "JPN:j")}
    fresh = Fuser("AUS").update(1.0, tracks("AUS", [("a", 0, 0)], t=1.0), tracks("JPN", [("j", between, 0)], t=1.0))
    assert len(fresh) == 2 and not fused_pairs(fresh)


def with_ntn(ts, ntn):
    return ts.with_ntn([ntn] * len(ts))


def test_tracks_carrying_different_network_numbers_get_no_hysteresis():
    """A pair whose partner report still carries another network number must pass the strict gate."""
    between = at_d2(0.5 * (G_STRICT + G_LOOSE))
    for remote_ntn, kept in (("AUS-N00001", True), ("JPN-N00009", False), ("", True)):
        f = Fuser("AUS")
        f.update(0.0, tracks("AUS", [("a", 0, 0)]), TrackSet.empty(2))             # AUS numbers its track AUS-N00001
        f.update(1.0, tracks("AUS", [("a", 0, 0)], t=1), with_ntn(tracks("JPN", [("j", 100, 0)], t=1), "JPN-N00009"))
        assert f.local_state()["AUS:a"][0] == "AUS-N00001"                         # merged: the smallest survives
        pic = f.update(2.0, tracks("AUS", [("a", 0, 0)], t=2), with_ntn(tracks("JPN", [("j", between, 0)], t=2), remote_ntn))
        assert (len(pic) == 1) == kept, remote_ntn


def test_an_association_breaks_after_split_after_updates_beyond_the_loose_gate():
    far = at_d2(2 * G_LOOSE)
    f = Fuser("AUS", FuserConfig(split_after=3))
    f.update(0.0, tracks("AUS", [("a", 0, 0)]), tracks("JPN", [("j", 0, 0)]))
    together = []
    for k in range(1, 6):
        pic = f.update(float(k), tracks("AUS", [("a", 0, 0)], t=k), tracks("JPN", [("j", far, 0)], t=k))
        together.append(len(pic) == 1)
    assert together == [True, True, False, False, False]


def test_confirm_after_delays_a_new_association():
    f = Fuser("AUS", FuserConfig(confirm_after=2))
    sizes = [len(f.update(float(k), tracks("AUS", [("a", 0, 0)], t=k), tracks("JPN", [("j", 50, 0)], t=k))) for k in range(3)]
    assert sizes == [2, 1, 1]


def crossing_changes(cfg, seed):
    """Two targets crossing at a shallow angle seen by two nations (60 m errors): changes of the fused pairs, and wrong pairs."""
    p0 = np.array([[-3000.0, -150.0], [-3000.0, 150.0]])
    v = np.array([[100.0, 5.0], [100.0, -5.0]])
    P = np.diag([60.0**2, 60.0**2, 25.0, 25.0])
    a = SimNation("AUS", [0, 1], P, seed=seed)
    j = SimNation("JPN", [0, 1], P, seed=seed + 1000)
    f = Fuser("AUS", cfg)
    prev, changes, wrong = None, 0, 0
    for k in range(61):
        truth = cv_truth(p0, v, float(k))
        pic = f.update(float(k), a.tracks(truth, k), j.tracks(truth, k))
        links = fused_pairs(pic)
        changes += prev is not None and links != prev
        wrong += sum(x.rsplit("T", 1)[1] != y.rsplit("T", 1)[1] for x, y in links)
        prev = links
    return changes, wrong


def test_hysteresis_lowers_flicker_on_a_noisy_crossing():
    with_h = FuserConfig()
    without = FuserConfig(loose_gate_probability=0.99, split_after=1)
    h = np.array([crossing_changes(with_h, s) for s in range(6)]).sum(0)
    n = np.array([crossing_changes(without, s) for s in range(6)]).sum(0)
    assert n[0] >= 30                      # without hysteresis the pairing flickers at the crossing
    assert h[0] * 10 <= n[0]               # with it, at least ten times less
    assert h[1] < n[1]                     # and fewer wrong pairings
