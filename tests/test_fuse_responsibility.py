"""Reporting responsibility: take-over only by a margin, contested claims decided the same way at
both ends, ties by nation code, take-over when the reporter falls silent, one reporter per track."""

import numpy as np
import pytest

from skyweave.fuse import Fuser, FuserConfig, TrackSet
from skyweave.fuse.responsibility import claim_score, decide
from tests.support.fusesim import SimNation, SimNetwork, cv_truth

REL = ("AUS", "JPN", "USA")


def one(nation, lid, q, t=0.0, ntn="", x=0.0):
    return TrackSet.from_lists(nation=nation, local_id=[lid], t=t, x=np.array([[x, 0.0, 0.0, 0.0]]),
                               P=np.diag([1e4, 1e4, 100.0, 100.0])[None], quality=[q], ntn=[ntn], releasable_to=REL)


def test_claim_score_orders_by_quality_then_nation_code():
    nations = ["AUS", "JPN", "USA"]
    s = claim_score(np.array([10, 10, 11, 9]), np.array([1, 0, 2, 0]), len(nations))
    # JPN q10 < AUS q10 (AUS earlier in the alphabet) < USA q11; AUS q9 below all
    assert s[1] > s[0] and s[2] > s[1] and s[3] < s[0]


@pytest.mark.parametrize("q_local,takes", [(11, False), (12, True), (15, True), (5, False)])
def test_a_node_takes_over_only_by_the_margin(q_local, takes):
    f = Fuser("JPN", FuserConfig(quality_margin=2))
    f.update(0.0, one("JPN", "j", 9), one("AUS", "a", 10, ntn="AUS-N00001"))
    assert not f.local_state()["JPN:j"][1]
    pic = f.update(1.0, one("JPN", "j", q_local, t=1.0), one("AUS", "a", 10, t=1.0, ntn="AUS-N00001"))
    assert pic.local_report.tolist() == [takes]
    assert pic.events.took == (("AUS-N00001",) if takes else ())
    assert pic.local_ntn.tolist() == ["AUS-N00001"]       # taking over keeps the number


def test_the_holder_yields_to_a_stronger_claim_and_keeps_against_a_weaker_or_an_old_one():
    f = Fuser("JPN")
    assert f.update(0.0, one("JPN", "j", 10), TrackSet.empty(2)).local_report.tolist() == [True]
    # a weaker claim (USA q10 loses the tie to JPN): keep
    pic = f.update(1.0, one("JPN", "j", 10, t=1.0), one("USA", "u", 10, t=1.0, ntn="USA-N00001"))
    assert pic.local_report.tolist() == [True] and pic.ntn.tolist() == ["JPN-N00001"]
    # the same USA report again (already beaten) even though our quality dropped: keep
    pic = f.update(2.0, one("JPN", "j", 6, t=2.0), one("USA", "u", 10, t=1.0, ntn="JPN-N00001"))
    assert pic.local_report.tolist() == [True]
    # a new USA report with a higher quality than we last reported (6): yield
    pic = f.update(3.0, one("JPN", "j", 6, t=3.0), one("USA", "u", 10, t=3.0, ntn="JPN-N00001"))
    assert pic.local_report.tolist() == [False] and pic.events.gave_up == ("JPN-N00001",)


def test_equal_quality_contest_goes_to_the_earlier_nation_code():
    f = Fuser("JPN")
    f.update(0.0, one("JPN", "j", 10), TrackSet.empty(2))
    pic = f.update(1.0, one("JPN", "j", 10, t=1.0), one("AUS", "a", 10, t=1.0, ntn="AUS-N00001"))
    assert pic.local_report.tolist() == [False]
    assert pic.ntn.tolist() == ["AUS-N00001"]                 # and the merge kept the smaller number


def test_take_over_when_the_reporter_falls_silent():
    cfg = FuserConfig(silence_timeout_s=5.0, max_age_s=30.0)
    f = Fuser("JPN", cfg)
    report = one("AUS", "a", 14, t=0.0, ntn="AUS-N00001")     # the last report AUS sent
    reports = []
    for k in range(9):
        reports.append(f.update(float(k), one("JPN", "j", 7, t=float(k)), report).local_report[0])
    assert reports == [False] * 6 + [True] * 3               # silent for more than 5 s at t = 6
    assert f.local_state()["JPN:j"] == ("AUS-N00001", True)


def test_decide_is_vectorised_over_groups():
    # three local tracks in groups 0, 1, 2; partner reports in groups 0 (two) and 2
    resp, beaten = decide(
        n_groups=3, local_group=np.array([0, 1, 2]), q_now=np.array([12, 5, 9]), holding=np.array([False, False, True]),
        own_score=claim_score(np.array([0, 0, 9]), np.array([1, 1, 1]), 3), beaten_t=np.array([-np.inf, -np.inf, 4.0]),
        remote_group=np.array([0, 0, 2]), remote_q=np.array([10, 9, 11]),
        remote_score=claim_score(np.array([10, 9, 11]), np.array([0, 2, 0]), 3), remote_t=np.array([5.0, 6.0, 3.0]),
        live=np.array([True, True, True]), margin=2,
    )
    # group 0: 12 ≥ 10 + 2 → take; group 1: alone → take; group 2: the q11 report is older than the last one beaten → keep
    assert resp.tolist() == [True, True, True]
    assert beaten.tolist() == [6.0, -np.inf, 4.0]


def two_nodes(q_aus, q_jpn, margin=2, silence=5.0):
    P = np.diag([50.0**2, 50.0**2, 25.0, 25.0])
    nations = [SimNation("AUS", [0], P, REL, seed=1, quality=q_aus), SimNation("JPN", [0], P, REL, seed=2, quality=q_jpn)]
    cfg = FuserConfig(quality_margin=margin, silence_timeout_s=silence, max_age_s=4 * silence)
    return SimNetwork(nations, cfg, delay_s=(0.0, 0.4), seed=3)


def test_hand_over_between_two_nodes_with_hysteresis_and_on_silence():
    net = two_nodes(10, 9)
    p0, v = np.zeros((1, 2)), np.array([[200.0, 0.0]])
    log = []

    def run(steps, start):
        for k in range(start, start + steps):
            net.step(float(k), cv_truth(p0, v, float(k)))
            log.append(net.reporters().get(0, set()))
        return start + steps

    k = run(6, 0)
    assert log[-1] == {"AUS"}
    net.nations["JPN"].quality = 11                       # better by 1: not enough
    k = run(5, k)
    assert all(r == {"AUS"} for r in log[-5:])
    net.nations["JPN"].quality = 12                       # better by 2: JPN takes over, AUS gives up
    k = run(5, k)
    assert log[-1] == {"JPN"}
    net.nations["AUS"].quality = 13                       # better by 1 than JPN: no change
    k = run(5, k)
    assert all(r == {"JPN"} for r in log[-5:])
    net.muted.add("JPN")                                  # JPN falls silent (it still thinks it reports)
    k = run(9, k)
    assert "AUS" in log[-1]
    net.muted.discard("JPN")                              # JPN back: AUS (13) beats its claim (12), one reporter again
    run(4, k)
    assert log[-1] == {"AUS"}
    # and the number never changed through all of it
    assert {n: net.ntn_of_target(n) for n in net.pictures} == {"AUS": {0: {"AUS-N00001"}}, "JPN": {0: {"AUS-N00001"}}}


@pytest.mark.parametrize("margin,most", [(2, 0), (0, None)])
def test_hysteresis_stops_responsibility_bouncing_between_nodes_of_similar_quality(margin, most):
    net = two_nodes(10, 10, margin=margin)
    p0, v = np.zeros((1, 2)), np.array([[200.0, 0.0]])
    holders = []
    for k in range(40):
        # qualities wobble by one in opposite phase
        net.nations["AUS"].quality = 10 + (k // 2) % 2
        net.nations["JPN"].quality = 11 - (k // 2) % 2
        net.step(float(k), cv_truth(p0, v, float(k)))
        holders.append(frozenset(net.reporters().get(0, set())))
    changes = sum(a != b for a, b in zip(holders[5:], holders[6:]))
    if most is not None:
        assert changes <= most
    else:
        assert changes >= 10          # without a margin it follows every wobble
