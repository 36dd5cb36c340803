"""What the fuser keeps between updates: key lookup, the association memory and its hysteresis,
the reporting memory, the numbering's local numbers; and the public CI information form."""

import numpy as np

from skyweave.fuse.association import AssociationMemory, Hysteresis, PairTable
from skyweave.fuse.ci import information
from skyweave.fuse.ntn import Numbering
from skyweave.fuse.responsibility import ReportingMemory, track_claims
from skyweave.fuse.trackset import key_index


def test_key_index_finds_every_key_wherever_it_is_and_only_those():
    rng = np.random.default_rng(1)
    table = np.array([f"USA:T{i}" for i in rng.permutation(50)])
    keys = np.r_[table[rng.permutation(50)], ["USA:T99", "AUS:T1"]]
    pos = key_index(table, keys)
    assert (table[pos[:50]] == keys[:50]).all()
    assert pos[50:].tolist() == [-1, -1]
    # the same table again (the usual case) takes the short path, with the same answer
    assert key_index(table, table.copy()).tolist() == list(range(50))
    assert key_index(table, table[::-1].copy()).tolist() == list(range(49, -1, -1))
    assert key_index(table[:0], keys).tolist() == [-1] * 52


def test_pair_table_index_is_by_keys_not_by_position():
    t = PairTable(np.array(["A:1", "A:2", "B:1"]), np.array(["B:1", "C:1", "C:9"]),
                  np.array([0, 2, 1]))
    idx = t.index(np.array(["B:1", "A:1", "A:2", "A:1"]), np.array(["C:9", "B:1", "C:2", "C:1"]))
    assert idx.tolist() == [2, 0, -1, -1]
    assert t.count_at(idx, idx >= 0).tolist() == [1, 0, 0, 0]
    assert PairTable.empty().index(np.array(["A:1"]), np.array(["B:1"])).tolist() == [-1]


def test_hysteresis_keeps_a_fused_pair_for_split_after_updates_and_confirms_a_new_one():
    rule = Hysteresis(strict=9.0, loose=20.0, split_after=3, confirm_after=2)
    far = np.array([30.0])
    strain, admissible = np.array([0]), []
    for _ in range(4):              # a fused pair beyond the loose gate, update after update
        ok, cost, strain, _ = rule.step(far, np.array([True]), strain, np.array([0]))
        admissible.append(bool(ok[0]))
    assert admissible == [True, True, False, False]     # breaks at the third strained update
    assert cost[0] < 0                                  # strained cost: −1e-6, barely admissible
    ok, cost, _, _ = rule.step(np.array([15.0]), np.array([True]), np.array([2]), np.array([0]))
    assert ok[0] and cost[0] == 15.0 - 20.0             # back inside γ_loose: strain resets
    ok1, _, _, s1 = rule.step(np.array([5.0]), np.array([False]), np.array([0]), np.array([0]))
    ok2, c2, _, _ = rule.step(np.array([5.0]), np.array([False]), np.array([0]), s1)
    assert not ok1[0] and ok2[0] and c2[0] == 5.0 - 9.0  # a new pair: two in a row inside γ


def test_association_memory_adds_the_linked_pairs_still_present():
    mem = AssociationMemory(PairTable(np.array(["A:1", "A:7"]), np.array(["B:1", "B:7"]),
                                      np.array([0, 0])), PairTable.empty())
    keys = np.array(["B:1", "C:1", "A:1"])              # A:7–B:7 gone; A:1–B:1 at (2, 0) now
    pi, pj = mem.with_linked(keys, np.array([0]), np.array([1]))
    assert list(zip(pi.tolist(), pj.tolist())) == [(0, 1), (0, 2)]
    was, strain, streak = mem.recall(np.array(["A:1"]), np.array(["B:1"]), np.array([True]))
    assert not was[0] and strain[0] == 0 and streak[0] == 0   # unreconciled numbers: no memory


def test_reporting_memory_round_trip_and_unknown_tracks():
    mem = ReportingMemory.after(np.array(["J:1", "J:2"]), np.array([True, False]),
                                np.array([11, 9], dtype=np.int8), np.array([4.0, -np.inf]))
    got = mem.recall(np.array(["J:3", "J:2", "J:1"]))
    assert got.holding.tolist() == [False, False, True]
    assert got.reported_q.tolist() == [0, 0, 11]            # only a holder has reported a quality
    assert got.beaten_t.tolist() == [-np.inf, -np.inf, 4.0]
    claim = track_claims(np.array([11, 10]), np.array([1, 0]), 3, np.array([True, False]))
    assert claim.tolist() == [11 * 3 + 1, -1]


def test_numbering_carries_a_local_tracks_own_number_over_the_one_given():
    n = Numbering("JPN", 1, 5, 600.0)
    n.remember(np.array(["JPN:a", "JPN:b"]), np.array(["USA-N00004", ""]))
    raw = n.carried(np.array(["JPN:b", "JPN:a", "JPN:c"]),
                    np.array(["JPN-N00002", "JPN-N00001", "", "AUS-N00009"]))
    assert raw.tolist() == ["JPN-N00002", "USA-N00004", "", "AUS-N00009"]


def test_information_is_the_symmetric_inverse():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 4, 4))
    P = A @ np.swapaxes(A, 1, 2) + 4 * np.eye(4)
    J = information(P)
    assert np.array_equal(J, np.swapaxes(J, 1, 2))
    assert np.allclose(J @ P, np.eye(4), atol=1e-10)
