"""Network track numbers: issue (rule c), adopt (a), merge (b), split (d), aliases, restarts, and
convergence of three nodes with different views and different arrival orders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyweave.fuse import Fuser, FuserConfig, TrackSet
from skyweave.fuse.ntn import AliasTable, NtnBlock, resolve_conflicts
from tests.support.fusesim import SimNation, SimNetwork, cv_truth

REL = ("AUS", "GBR", "JPN", "USA")


def tracks(nation, rows, t=0.0, sig=100.0):
    """rows: (local_id, x, y, quality, ntn) → a 2-D TrackSet at rest."""
    K = len(rows)
    return TrackSet.from_lists(
        nation=nation, local_id=[r[0] for r in rows], t=t, x=np.array([[r[1], r[2], 0.0, 0.0] for r in rows]),
        P=np.tile(np.diag([sig**2, sig**2, 100.0, 100.0]), (K, 1, 1)), quality=[r[3] for r in rows],
        ntn=[r[4] for r in rows], releasable_to=REL,
    )


def none(nation="JPN"):
    return TrackSet.empty(2)


def test_block_issues_in_order_and_skips_numbers_seen():
    b = NtnBlock("JPN", start=1, digits=5)
    assert b.issue(2) == ["JPN-N00001", "JPN-N00002"]
    b.observe(["JPN-N00041", "AUS-N00099", "JPN-X7", ""])
    assert b.issue() == ["JPN-N00042"]


def test_alias_table_resolves_chains_and_forgets_after_its_ttl():
    a = AliasTable(ttl_s=10)
    a.retire("USA-N00002", "JPN-N00005", 0.0)
    a.retire("JPN-N00005", "AUS-N00001", 1.0)
    assert a.resolve(np.array(["USA-N00002", "", "GBR-N00001"])).tolist() == ["AUS-N00001", "", "GBR-N00001"]
    long = np.array(["a-very-long-partner-number-0001"])
    a.retire(long[0], "X1", 2.0)
    out = a.resolve(long)
    assert out.tolist() == ["X1"] and out.dtype.itemsize >= long.dtype.itemsize   # room to write raw numbers back
    a.forget(long[0])
    a.touch(["USA-N00002"], 5.0)
    a.prune(12.0)
    assert a.as_dict() == {"USA-N00002": "JPN-N00005"}
    a.prune(16.0)
    assert len(a) == 0


def test_local_only_tracks_are_numbered_from_the_nations_block():
    f = Fuser("AUS")
    pic = f.update(0.0, tracks("AUS", [("T-2", 0, 0, 10, ""), ("T-1", 50_000, 0, 10, "")]), none())
    assert pic.local_ntn.tolist() == ["AUS-N00002", "AUS-N00001"]          # issued in source-key order
    assert pic.local_report.tolist() == [True, True]
    assert pic.events.issued == ("AUS-N00001", "AUS-N00002")
    again = f.update(1.0, tracks("AUS", [("T-2", 0, 0, 10, ""), ("T-1", 50_000, 0, 10, "")], t=1.0), none())
    assert again.local_ntn.tolist() == ["AUS-N00002", "AUS-N00001"] and again.events.issued == ()


def test_a_fused_track_takes_the_number_a_contributor_carries():
    f = Fuser("AUS")
    pic = f.update(0.0, tracks("AUS", [("a", 0, 0, 10, "")]), tracks("JPN", [("j", 30, 0, 10, "JPN-N00007")]))
    assert pic.ntn.tolist() == ["JPN-N00007"] and pic.local_ntn.tolist() == ["JPN-N00007"]
    assert pic.local_report.tolist() == [False] and pic.events.issued == ()


def test_no_number_is_issued_where_another_node_is_responsible():
    f = Fuser("AUS")
    pic = f.update(0.0, tracks("AUS", [("a", 0, 0, 8, "")]), tracks("JPN", [("j", 30, 0, 12, "")]))
    assert pic.ntn.tolist() == [""] and not pic.responsible.any() and pic.events.issued == ()
    pic = Fuser("AUS").update(0.0, none(), tracks("JPN", [("j", 30, 0, 12, "")]))
    assert pic.ntn.tolist() == [""]


def test_merge_keeps_the_smallest_number_and_remembers_the_other():
    f = Fuser("USA")
    first = f.update(0.0, tracks("USA", [("u", 0, 0, 10, "")]), none())
    assert first.ntn.tolist() == ["USA-N00001"]
    pic = f.update(1.0, tracks("USA", [("u", 0, 0, 10, "")], t=1.0), tracks("JPN", [("j", 40, 0, 10, "JPN-N00003")], t=1.0))
    assert pic.ntn.tolist() == ["JPN-N00003"] and pic.local_ntn.tolist() == ["JPN-N00003"]
    assert pic.events.merged == (("USA-N00001", "JPN-N00003"),)
    assert f.resolve("USA-N00001") == "JPN-N00003"
    # a third nation's report still carrying the retired number is understood: one track, no conflict
    late = f.update(2.0, tracks("USA", [("u", 0, 0, 10, "")], t=2.0),
                    TrackSet.concat([tracks("JPN", [("j", 40, 0, 10, "JPN-N00003")], t=2.0),
                                     tracks("GBR", [("g", -30, 20, 9, "USA-N00001")], t=2.0)]))
    assert late.ntn.tolist() == ["JPN-N00003"] and late.n_sources.tolist() == [3] and late.events.split == ()


def test_a_retired_number_that_loses_its_conflict_is_revived():
    """Rule e: AUS merged JPN's number into its own; the JPN track then turns out to be another
    object (its last report, no longer live, does not associate): it gets its own number back."""
    f = Fuser("AUS", FuserConfig(split_after=1, silence_timeout_s=2.0, max_age_s=60.0))
    f.update(0.0, tracks("AUS", [("a", 0, 0, 12, "")]), none())
    pic = f.update(1.0, tracks("AUS", [("a", 0, 0, 12, "")], t=1.0), tracks("JPN", [("j", 50, 0, 9, "JPN-N00009")], t=1.0))
    assert pic.ntn.tolist() == ["AUS-N00001"] and f.resolve("JPN-N00009") == "AUS-N00001"
    pic = f.update(5.0, tracks("AUS", [("a", 0, 0, 12, "")], t=5.0), tracks("JPN", [("j", 30_000, 0, 9, "JPN-N00009")], t=1.0))
    assert sorted(pic.ntn.tolist()) == ["AUS-N00001", "JPN-N00009"]
    assert pic.events.revived == ("JPN-N00009",) and f.resolve("JPN-N00009") == "JPN-N00009"


def test_a_node_not_responsible_follows_the_number_the_reporter_uses():
    """Rule a': USA reports the object under JPN-N00009 although AUS first merged it the other way."""
    f = Fuser("AUS")
    # AUS numbers its track after it first heard the USA's number (the USA's track does not
    # associate yet): its own number does not stand beside the reporter's
    pic = f.update(0.0, tracks("AUS", [("a", 0, 0, 8, "")]), tracks("USA", [("u", 40_000, 0, 13, "USA-N00004")]))
    assert pic.find("AUS:a") >= 0 and pic.local_ntn.tolist() == ["AUS-N00001"]
    pic = f.update(1.0, tracks("AUS", [("a", 0, 0, 8, "")], t=1.0), tracks("USA", [("u", 40, 0, 13, "USA-N00004")], t=1.0))
    assert pic.local_report.tolist() == [False] and pic.ntn.tolist() == ["USA-N00004"]
    assert f.resolve("AUS-N00001") == "USA-N00004"
    # USA, which reports it, merged it with another number: AUS follows
    pic = f.update(2.0, tracks("AUS", [("a", 0, 0, 8, "")], t=2.0), tracks("USA", [("u", 40, 0, 13, "JPN-N00009")], t=2.0))
    assert pic.ntn.tolist() == ["JPN-N00009"] and pic.local_ntn.tolist() == ["JPN-N00009"]
    assert ("USA-N00004", "JPN-N00009") in pic.events.merged


def test_a_number_sent_before_hearing_the_reporter_stands_beside_the_reporters():
    """Rule a': AUS numbered the object and sent its number to the USA before it heard the USA's;
    the USA's report in hand predates the USA hearing AUS's number. AUS keeps the smaller number
    (the USA takes it too, rule b) instead of showing the USA's old one for a report; if the USA
    still carries its own after the grace (number_grace_s), AUS follows it after all."""
    f = Fuser("AUS")
    f.update(0.0, tracks("AUS", [("a", 0, 0, 8, "")]), none())                       # AUS-N00001, sent to all
    for t in (1.0, 2.0):
        pic = f.update(t, tracks("AUS", [("a", 0, 0, 8, "")], t=t), tracks("USA", [("u", 40, 0, 13, "USA-N00004")], t=t))
        assert pic.local_report.tolist() == [False] and pic.ntn.tolist() == ["AUS-N00001"]
    # the USA's next report carries the smaller number: nothing changes
    pic = f.update(3.0, tracks("AUS", [("a", 0, 0, 8, "")], t=3.0), tracks("USA", [("u", 40, 0, 13, "AUS-N00001")], t=3.0))
    assert pic.ntn.tolist() == ["AUS-N00001"]
    # a reporter that keeps its own number past the grace is followed
    g = Fuser("AUS", FuserConfig(number_grace_s=4.0))
    g.update(0.0, tracks("AUS", [("a", 0, 0, 8, "")]), none())
    seen = [g.update(t, tracks("AUS", [("a", 0, 0, 8, "")], t=t),
                     tracks("USA", [("u", 40, 0, 13, "USA-N00004")], t=t)).ntn.tolist() for t in (1.0, 3.0, 5.0, 6.0)]
    assert seen == [["AUS-N00001"], ["AUS-N00001"], ["USA-N00004"], ["USA-N00004"]]


def test_a_number_not_sent_to_the_reporter_does_not_stand_beside_its_number():
    """Rule a': AUS's track may not go to the USA, which never hears AUS's number: AUS follows."""
    def mine(t):
        return TrackSet.from_lists(nation="AUS", local_id=["a"], t=t, x=[[0.0, 0.0, 0.0, 0.0]],
                                   P=[np.diag([1e4, 1e4, 100.0, 100.0])], quality=[8], releasable_to=("AUS", "JPN"))

    f = Fuser("AUS")
    assert f.update(0.0, mine(0.0), none()).ntn.tolist() == ["AUS-N00001"]
    pic = f.update(1.0, mine(1.0), tracks("USA", [("u", 40, 0, 13, "USA-N00004")], t=1.0))
    assert pic.ntn.tolist() == ["USA-N00004"]


def test_conflicting_claims_go_to_the_strongest_claim():
    group = np.array([0, 0, 1, 2])
    cand = np.array(["N1", "", "N1", "N1"])
    claim = np.array([-1, -1, 50, 70])
    keys = np.array(["A:1", "B:1", "C:1", "D:1"])
    gntn, after, contested = resolve_conflicts(group, cand, claim, keys, 3)
    assert gntn.tolist() == ["", "", "N1"] and contested == ["N1"]
    # without any claim: the smallest source key keeps it
    gntn, _, _ = resolve_conflicts(group, cand, np.full(4, -1), keys, 3)
    assert gntn.tolist() == ["N1", "", ""]


def diverging_network(aus_quality, jpn_quality, seed=0):
    """AUS sees target 0, JPN target 1; they start together (one fused track) and separate at 30 m/s."""
    p0 = np.zeros((2, 2))
    v = np.array([[150.0, 15.0], [150.0, -15.0]])
    P = np.diag([40.0**2, 40.0**2, 25.0, 25.0])
    net = SimNetwork([SimNation("AUS", [0], P, REL, seed=seed, quality=aus_quality),
                      SimNation("JPN", [1], P, REL, seed=seed + 1, quality=jpn_quality)],
                     FuserConfig(split_after=2), delay_s=(0.0, 0.3), seed=seed)
    return net, p0, v


@pytest.mark.parametrize("better", ["AUS", "JPN"])
def test_split_the_responsible_node_keeps_the_number_the_other_takes_a_new_one(better):
    net, p0, v = diverging_network(12 if better == "AUS" else 9, 12 if better == "JPN" else 9)
    early = None
    for k in range(40):
        net.step(float(k), cv_truth(p0, v, float(k)))
        if k == 4:
            early = {n: net.ntn_of_target(n) for n in net.pictures}
    # together at first: one fused track under one number (the first AUS/JPN merge kept AUS's); the node
    # not responsible sends nothing, so only it sees both tracks
    worse_early = "JPN" if better == "AUS" else "AUS"
    assert early[worse_early] == {0: {"AUS-N00001"}, 1: {"AUS-N00001"}}
    assert early[better] == {0 if better == "AUS" else 1: {"AUS-N00001"}}
    worse = "JPN" if better == "AUS" else "AUS"
    final = {n: net.ntn_of_target(n) for n in net.pictures}
    assert final["AUS"] == final["JPN"]
    kept = final["AUS"][0 if better == "AUS" else 1]
    renumbered = final["AUS"][1 if better == "AUS" else 0]
    assert kept == {"AUS-N00001"}
    (new,) = renumbered
    assert new.startswith(f"{worse}-N")
    assert net.reporters() == {0: {"AUS"}, 1: {"JPN"}}


def converge(seed, delay, late_p, steps=25):
    """Three nodes with different subsets of eight targets; random delays, late reports, random update order."""
    rng = np.random.default_rng(100)       # the scene is the same for every seed
    p0 = rng.uniform(0, 200_000, (8, 2))
    v = rng.uniform(-250, 250, (8, 2))
    P = lambda s: np.diag([s**2, s**2, 100.0, 100.0])  # noqa: E731
    nations = [SimNation("AUS", [0, 1, 2, 3, 4], P(150), REL, seed=seed, tau_s=10),
               SimNation("JPN", [3, 4, 5, 6], P(100), REL, seed=seed + 1, tau_s=10),
               SimNation("USA", [0, 1, 5, 6, 7], P(80), REL, seed=seed + 2, tau_s=10)]
    net = SimNetwork(nations, delay_s=delay, late_p=late_p, late_s=4.0, seed=seed)
    visible = np.ones(8, dtype=bool)
    visible[7] = False                          # target 7 comes into view later
    initial = {}
    for k in range(steps):
        if k == 8:
            visible[7] = True
        net.step(float(k), cv_truth(p0, v, float(k)), visible)
        if k == 0:
            initial = {n: net.ntn_of_target(n) for n in net.pictures}
    return net, initial


@pytest.mark.parametrize("seed,delay,late_p", [(1, (0.0, 0.5), 0.0), (2, (0.2, 2.5), 0.3), (3, (0.0, 1.5), 0.5), (4, (1.0, 3.0), 0.2)])
def test_three_nodes_converge_to_the_same_numbers_whatever_the_arrival_order(seed, delay, late_p):
    net, initial = converge(seed, delay, late_p)
    final = {n: net.ntn_of_target(n) for n in net.pictures}
    # every node sees all eight targets, each under exactly one number, and all nodes agree
    for n in final:
        assert sorted(final[n]) == list(range(8))
        assert all(len(s) == 1 for s in final[n].values())
    assert final["AUS"] == final["JPN"] == final["USA"]
    # each survivor is a number one of the nodes gave that target when it first saw it
    for tgt in range(7):
        assert final["AUS"][tgt] <= set().union(*(initial[n].get(tgt, set()) for n in initial))
    # one reporter per target
    rep = net.reporters()
    assert sorted(rep) == list(range(8)) and all(len(s) == 1 for s in rep.values())


def test_when_every_first_report_arrives_before_the_next_picture_the_smallest_number_survives():
    """All reports of one picture arrive before the next: the nodes contesting an object hear each
    other, so the node that keeps reporting it has merged all first numbers and kept the smallest."""
    finals = []
    for seed in (5, 6, 7):
        net, initial = converge(seed, (0.0, 0.9), 0.0)
        final = {n: net.ntn_of_target(n) for n in net.pictures}
        assert final["AUS"] == final["JPN"] == final["USA"]
        for tgt in range(7):
            assert final["AUS"][tgt] == {min(set().union(*(initial[n].get(tgt, set()) for n in initial)))}
        finals.append(final["AUS"])
    # the same scene ends with the same numbers whatever the update order and delays
    want = {0: "AUS-N00001", 1: "AUS-N00002", 2: "AUS-N00003", 3: "AUS-N00004", 4: "AUS-N00005",
            5: "JPN-N00003", 6: "JPN-N00004", 7: "USA-N00005"}
    assert all({k: next(iter(s)) for k, s in f.items()} == want for f in finals)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_property_random_views_and_delays_converge(seed):
    """Random subsets (every target seen by someone), accuracies, delays and late reports: after
    the reports have had time to arrive, every node shows every target under one number, all nodes
    agree, each number is one first issued for its target, and one node reports each."""
    rng = np.random.default_rng(seed)
    n_tg = 6
    p0 = np.c_[np.arange(n_tg) * 30_000.0, rng.uniform(-5000, 5000, n_tg)]      # well apart: no ambiguity
    v = np.c_[rng.uniform(100, 250, n_tg), np.zeros(n_tg)]
    seen = rng.random((3, n_tg)) < 0.6
    seen[rng.integers(0, 3, n_tg), np.arange(n_tg)] = True
    nations = [SimNation(n, np.flatnonzero(seen[i]), np.diag([rng.uniform(50, 400) ** 2] * 2 + [100.0] * 2), REL,
                         seed=seed + i, tau_s=5) for i, n in enumerate(["AUS", "JPN", "USA"])]
    net = SimNetwork(nations, delay_s=(0.0, rng.uniform(0.1, 3.0)), late_p=rng.uniform(0, 0.4), late_s=3.0, seed=seed)
    initial = None
    for k in range(16):
        net.step(float(k), cv_truth(p0, v, float(k)))
        if k == 0:
            initial = {n: net.ntn_of_target(n) for n in net.pictures}
    final = {n: net.ntn_of_target(n) for n in net.pictures}
    for n in final:
        assert sorted(final[n]) == list(range(n_tg)) and all(len(x) == 1 for x in final[n].values())
    assert final["AUS"] == final["JPN"] == final["USA"]
    for tgt in range(n_tg):
        assert final["AUS"][tgt] <= set().union(*(initial[n].get(tgt, set()) for n in initial))
    rep = net.reporters()
    assert sorted(rep) == list(range(n_tg)) and all(len(x) == 1 for x in rep.values())


def test_a_restarted_node_does_not_reuse_its_old_numbers_and_adopts_them_back():
    f = Fuser("AUS")
    remote = TrackSet.concat([tracks("JPN", [("j1", 0, 0, 12, "AUS-N00005")]), tracks("USA", [("u9", 90_000, 0, 12, "")])])
    pic = f.update(0.0, tracks("AUS", [("a1", 20, 0, 10, ""), ("a2", 40_000, 0, 10, "")]), remote)
    assert pic.local_ntn.tolist() == ["AUS-N00005", "AUS-N00006"]


def test_the_node_must_pass_its_own_and_partner_tracks_apart():
    f = Fuser("AUS")
    with pytest.raises(ValueError, match="local tracks must be AUS"):
        f.update(0.0, tracks("JPN", [("j", 0, 0, 10, "")]), none())
    with pytest.raises(ValueError, match="own nation AUS"):
        f.update(0.0, none(), tracks("AUS", [("a", 0, 0, 10, "")]))
    with pytest.raises(ValueError, match="more than once"):
        f.update(0.0, none(), TrackSet.concat([tracks("JPN", [("j", 0, 0, 10, "")]), tracks("JPN", [("j", 5, 0, 10, "")])]))


def test_a_split_number_stays_with_the_track_reported_to_most_partners():
    """Rule d with reporting per recipient: the USA and Japan report one object to each other (each
    p's own report is no claim on p's behalf), neither holds it network-wide, and the USA also
    reports it to Australia and the UK, who hear only the USA's track. When the two tracks part,
    the USA's keeps the number at the USA (it did at Japan, whose own track had no claim; the
    USA gave it to Japan's, whose report claimed with a better quality: the two pictures crossed
    numbers and Australia's and the UK's saw the USA's track renumbered)."""
    from skyweave.fuse import AudienceTracks

    aud = {p: AudienceTracks.of(["USA:u"], [0], [9]) for p in ("AUS", "GBR", "JPN")}

    def jpn(x, t):
        return TrackSet.from_lists(nation="JPN", local_id=["j"], t=t, x=[[x, 0.0, 0.0, 0.0]],
                                   P=[np.diag([1e4, 1e4, 100.0, 100.0])], quality=[12], ntn=["USA-N00037"],
                                   releasable_to=("JPN", "USA"))

    also = {"JPN:j": {"USA": 12}}
    f = Fuser("USA", FuserConfig(split_after=1, ntn_start=37))
    pic = f.update(0.0, tracks("USA", [("u", 0, 0, 9, "")]), none(), aud)
    assert pic.ntn.tolist() == ["USA-N00037"]
    for t in (1.0, 2.0):
        pic = f.update(t, tracks("USA", [("u", 0, 0, 9, "")], t=t), jpn(40.0, t), aud, also)
        assert pic.n_sources.tolist() == [2] and pic.ntn.tolist() == ["USA-N00037"]
        assert not pic.responsible.any() and all(pic.audience_report[p].tolist() == [True] for p in aud)
    pic = f.update(3.0, tracks("USA", [("u", 0, 0, 9, "")], t=3.0), jpn(30_000.0, 3.0), aud, also)
    assert pic.n_sources.tolist() == [1, 1]
    assert pic.ntn[pic.find("USA:u")] == "USA-N00037" and pic.ntn[pic.find("JPN:j")] != "USA-N00037"


def test_a_fresh_number_of_the_reporter_does_not_replace_an_old_one_it_was_sent():
    """Rule a': the USA has reported its number for 20 s when Japan's fresh track of the object
    (numbered while it stood alone) joins it and Japan reports it: Japan follows the USA's number
    (its own, issued after it heard the USA's, does not count), so the USA keeps its own instead
    of taking Japan's smaller one (which showed the two swapped for a grace period)."""
    f = Fuser("USA")
    for t in (0.0, 10.0, 20.0):
        assert f.update(t, tracks("USA", [("u", 0, 0, 8, "")], t=t), none()).ntn.tolist() == ["USA-N00001"]
    pic = f.update(21.0, tracks("USA", [("u", 0, 0, 8, "")], t=21.0), tracks("JPN", [("j", 40, 0, 13, "JPN-N00007")], t=21.0))
    assert pic.local_report.tolist() == [False] and pic.ntn.tolist() == ["USA-N00001"]
    # while Japan's reports carry its own number the USA's stands; once they carry the USA's, as one
    pic = f.update(22.0, tracks("USA", [("u", 0, 0, 8, "")], t=22.0), tracks("JPN", [("j", 40, 0, 13, "USA-N00001")], t=22.0))
    assert pic.ntn.tolist() == ["USA-N00001"] and pic.events.issued == ()
