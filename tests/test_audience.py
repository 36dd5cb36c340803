"""Per-recipient estimates (issue 12): one tracker per releasability audience, tied to the main
tracker by shared detections, and per-recipient reporting responsibility in the fuser."""

import numpy as np
import pytest

import skyweave
from skyweave.fuse import AudienceTracks, Fuser, TrackSet
from skyweave.node.core import NodeCore


@pytest.fixture(scope="module")
def jpn():
    """JPN's node core over 90 s of the trilateral, with partners AUS, GBR and USA."""
    src = skyweave.simulate("trilateral", seed=3, duration=90)
    core = NodeCore(src.sensors, nation="JPN", warn=False, partners=("AUS", "GBR", "USA"))
    scans = {}
    for raw in src:
        if raw.sensor.startswith("JPN-"):
            core.ingest(raw)
            scans[raw.sensor] = scans.get(raw.sensor, 0) + 1
    return src.sensors, core, scans


def test_each_partner_is_served_by_the_tracker_over_exactly_its_releasable_sensors(jpn):
    sensors, core, scans = jpn
    aud = core.audiences
    rel = {s.id: set(s.releasable_to) for s in sensors.sensors if s.nation == "JPN" and s.kind != "ir"}
    assert aud.of["USA"].is_main                       # every JPN sensor is releasable to the USA
    for p in ("AUS", "GBR"):
        a = aud.of[p]
        assert not a.is_main
        assert a.sensor_ids == {s for s, r in rel.items() if p in r}
        # the tracker took exactly the scans of those sensors, and no other
        assert a.tracker.stats["scans"] == sum(n for s, n in scans.items() if s in a.sensor_ids)
    assert aud.of["AUS"].sensor_ids == {"JPN-R2", "JPN-R3", "JPN-ADSB1", "JPN-ADSB2"}
    assert aud.of["GBR"].sensor_ids == {"JPN-ADSB1", "JPN-ADSB2"}
    assert aud.stats["extra_trackers"] == 2


def test_audience_tracks_are_releasable_to_their_partners_and_tied_to_the_main_tracks(jpn):
    _, core, _ = jpn
    main = core.tracker.picture()
    views = core.audiences.views(main, core.marks_of(main.sensors))
    by_partner = {p: v for v in views for p in v.partners}
    for p in ("AUS", "GBR"):
        v = by_partner[p]
        assert len(v.pic) > 5
        assert all(p in m for m in v.marks), p
        tied = v.main_index >= 0
        assert tied.mean() > 0.9, (p, tied.mean())
        # a tie joins two estimates of one object: close in position (the main one is at least as good)
        d = v.pic.x.shape[1] // 2
        gap = np.linalg.norm(v.pic.x[tied, :d] - main.x[v.main_index[tied], :d], axis=1)
        assert np.median(gap) < 300.0, (p, np.median(gap))
    # the main picture holds tracks that AUS may not see (R1, R4): its own audience still covers them
    not_to_aus = [i for i, m in enumerate(core.marks_of(main.sensors)) if "AUS" not in m]
    assert not_to_aus
    covered = set(by_partner["AUS"].main_index.tolist())
    assert any(i in covered for i in not_to_aus)


def _set(nation, ids, xs, q, rel, ntn=None, t=10.0):
    P = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    x = [[x0, 0.0, 9000.0, 200.0, 0.0, 0.0] for x0 in xs]
    return TrackSet.from_lists(nation=nation, local_id=ids, t=t, x=x, P=[P] * len(ids), quality=q,
                               ntn=ntn, releasable_to=rel)


def test_a_report_the_recipient_may_not_see_is_no_claim_on_its_behalf():
    """USA's track of an object JPN reports under a marking that excludes AUS: JPN's report is no
    claim toward AUS, so the USA reports the object to AUS even though JPN is better."""
    fuser = Fuser("USA")
    mine = _set("USA", ["U-1"], [0.0], [9], [("AUS", "GBR", "JPN", "USA")])
    jpn_secret = _set("JPN", ["J-1"], [50.0], [13], [("JPN", "USA")], ntn=["JPN-N00001"])
    offered = {p: AudienceTracks.of(["USA:U-1"], [0], [9]) for p in ("AUS", "JPN")}
    pic = fuser.update(10.0, mine, jpn_secret, offered)
    assert not pic.local_report[0]                      # JPN is better: USA is not the object's reporter
    assert pic.audience_report["AUS"].tolist() == [True]   # ... but AUS hears it only from the USA
    assert pic.audience_report["JPN"].tolist() == [True]   # JPN's own is better, but it fuses the USA's
    # JPN's report becomes releasable to AUS: now it claims for AUS too, and the USA yields
    jpn_open = _set("JPN", ["J-1"], [50.0], [13], [("AUS", "JPN", "USA")], ntn=["JPN-N00001"], t=11.0)
    pic = fuser.update(11.0, _set("USA", ["U-1"], [0.0], [9], [("AUS", "GBR", "JPN", "USA")], t=11.0),
                       jpn_open, {p: AudienceTracks.of(["USA:U-1"], [0], [9]) for p in ("AUS", "JPN")})
    assert pic.audience_report["AUS"].tolist() == [False]
    assert pic.audience_stopped["AUS"] == ("USA:U-1",)


def test_of_two_offered_tracks_of_one_object_only_the_better_is_reported():
    fuser = Fuser("JPN")
    mine = _set("JPN", ["J-1"], [0.0], [13], [("JPN", "USA")])
    offered = {"AUS": AudienceTracks.of(["JPN:A-1", "JPN:A-2", "JPN:A-3"], [0, 0, -1], [10, 11, 12])}
    pic = fuser.update(10.0, mine, TrackSet.empty(3), offered)
    assert pic.audience_report["AUS"].tolist() == [False, True, False]   # an untied track is never reported


# ---------------------------------------------------------------------------- joint alerts

def _alert(aid, t, launch=(39.0, 125.8, 205.0), impact=None, status="tracking", rel=("AUS", "JPN", "USA")):
    from skyweave.warn.alerts import AlertUpdate, Impact, Launch

    imp = None
    if impact is not None:
        imp = Impact(lat=impact[0], lon=impact[1], t=impact[2], semi_major_m=impact[3], semi_minor_m=impact[3] / 2,
                     orientation_deg=0.0)
    return AlertUpdate(t=t, alert_id=aid, threat="ballistic", status=status,
                       launch=Launch(lat=launch[0], lon=launch[1], t=launch[2]) if launch else None,
                       impact=imp, time_to_impact_s=None if imp is None else impact[2] - t, places=(),
                       confidence=0.9, releasable_to=rel)


def test_joint_alerts_one_number_per_missile_the_earliest_issued_and_a_merged_end():
    from skyweave.warn.joint import JointAlerts

    j = JointAlerts("AUS")
    # AUS's own radar warns first here; the USA's infrared alert was issued earlier but arrives later
    out = j.update(_alert("AUS-W1", 454.0, launch=(39.13, 125.92, 233.0), impact=(38.2, 132.0, 620.0, 20_000.0)), "AUS")
    assert [(u.alert_id, u.status) for u in out] == [("AUS-W1", "tracking")]
    out = j.update(_alert("USA-W1", 455.0, impact=(38.19, 131.98, 618.0, 8_000.0)), "USA", issued=224.0)
    # the USA's alert was issued first (224 s): the joint alert goes by its number from now on
    assert [(u.alert_id, u.status, u.merged_into) for u in out][0] == ("AUS-W1", "merged", "USA-W1")
    last = out[-1]
    assert last.alert_id == "USA-W1" and last.nations == ("AUS", "USA")
    assert last.contributors == ("AUS:AUS-W1", "USA:USA-W1")
    assert last.impact.semi_major_m == 8_000.0            # the tighter of the two fresh impacts
    assert last.releasable_to == ("AUS", "JPN", "USA")
    # another missile (launch 300 km away, 300 s later) is another joint alert
    out = j.update(_alert("USA-W2", 524.0, launch=(40.2, 127.0, 505.0)), "USA")
    assert out[-1].alert_id == "USA-W2" and j.open_alerts() == ["USA-W1", "USA-W2"]
    # the joint alert closes when every source has closed
    j.update(_alert("USA-W1", 630.0, status="closed"), "USA")
    assert "USA-W1" in j.open_alerts()
    out = j.update(_alert("AUS-W1", 631.0, status="closed"), "AUS")
    assert out[-1].status == "closed" and j.open_alerts() == ["USA-W2"]


def test_a_joint_alert_says_no_phase_after_a_source_saw_the_impact():
    import msgspec

    from skyweave.warn.joint import JointAlerts

    j = JointAlerts("JPN")
    j.update(_alert("USA-W1", 600.0, impact=(38.2, 132.0, 622.0, 8_000.0)), "USA", issued=224.0)
    j.update(_alert("JPN-W1", 620.0, impact=(38.2, 132.0, 623.0, 9_000.0)), "JPN")
    down = msgspec.structs.replace(_alert("USA-W1", 628.0, status="closed"), reason="impact")
    assert j.update(down, "USA") == []                        # not JPN's "tracking" of 620 s restated at 628 s
    assert j.update(_alert("JPN-W1", 629.0, impact=(38.2, 132.0, 623.0, 9_000.0)), "JPN") == []
    out = j.update(msgspec.structs.replace(_alert("JPN-W1", 630.0, status="closed"), reason="impact"), "JPN")
    assert [(u.alert_id, u.status) for u in out] == [("USA-W1", "closed")] and j.open_alerts() == []


def test_a_partners_close_at_impact_keeps_its_reason_on_the_wire():
    """A partner's ``closed`` update says why it closed (``reason``) in the AlertReport it sends,
    so the receiver's joint alert keeps quiet after the impact instead of restating its own older
    "tracking" (a trilateral run wrote "tracking" at 628 s, BM1 down at 622 s, when the reason was
    lost on the wire); a message without the field (an older node) still decodes."""
    import msgspec

    from skyweave.node.share_link import alert_report, partner_alert_update
    from skyweave.share.schema import AlertReport
    from skyweave.warn.joint import JointAlerts

    down = msgspec.structs.replace(_alert("USA-W1", 628.0, status="closed"), reason="impact")
    wire = msgspec.msgpack.encode(alert_report(down, "USA", issued=224.0))
    got = partner_alert_update(msgspec.msgpack.decode(wire, type=AlertReport))
    assert got.status == "closed" and got.reason == "impact"
    live = partner_alert_update(msgspec.msgpack.decode(msgspec.msgpack.encode(
        alert_report(_alert("USA-W1", 600.0, impact=(38.2, 132.0, 622.0, 8_000.0)), "USA", issued=224.0)), type=AlertReport))
    assert live.reason is msgspec.UNSET
    j = JointAlerts("JPN")
    j.update(live, "USA", issued=224.0)
    j.update(_alert("JPN-W1", 620.0, impact=(38.2, 132.0, 623.0, 9_000.0)), "JPN")
    assert j.update(got, "USA") == []
    older = msgspec.msgpack.decode(msgspec.msgpack.encode(msgspec.msgpack.decode(wire)[:13]), type=AlertReport)
    assert older.reason is None and older.status == "closed"


def test_joint_alerts_keep_apart_two_launches_from_one_site_with_different_impacts():
    from skyweave.warn.joint import JointAlerts

    j = JointAlerts("JPN")
    j.update(_alert("JPN-W1", 300.0, impact=(38.0, 132.0, 700.0, 10_000.0)), "JPN")
    out = j.update(_alert("USA-W1", 301.0, impact=(35.0, 139.0, 800.0, 10_000.0)), "USA")
    assert out[-1].alert_id == "USA-W1" and out[-1].contributors == ("USA:USA-W1",)
    assert j.open_alerts() == ["JPN-W1", "USA-W1"]


def test_every_nation_writes_joint_alerts_and_partners_warn_it_first(tmp_path):
    """Over the four-nation network (trilateral, 320 s): AUS's alerts.jsonl holds the first
    missile from the USA's infrared warning (about 224 s), long before its own ship's radar
    (about 454 s), under the same network alert number as JPN's and the USA's."""
    import json

    from skyweave.cli.common import resolve_scenario
    from skyweave.node.network import run_network

    run_network(resolve_scenario("trilateral"), tmp_path, seed=6, duration=320, progress=False)
    first = {}
    for n in ("AUS", "JPN", "USA"):
        lines = [json.loads(x) for x in (tmp_path / n / "alerts.jsonl").read_text().splitlines()]
        assert lines, n
        first[n] = (lines[0]["alert_id"], lines[0]["t"])
        assert all(n in d["releasable_to"] for d in lines)
    assert first["AUS"][1] < 260.0, first
    assert len({a for a, _ in first.values()}) == 1, first


def test_a_report_that_says_whom_its_sender_reports_to_claims_for_exactly_those():
    """TrackReport.also_to: JPN's main report (REL TO JPN, USA) says JPN also reports the object
    to AUS with quality 12 (from its AUS audience's tracker): the USA (quality 9) then leaves AUS to
    JPN, and learns that JPN released its number to AUS (so the USA may name it to AUS)."""
    fuser = Fuser("USA")
    mine = _set("USA", ["U-1"], [0.0], [9], [("AUS", "GBR", "JPN", "USA")])
    jpn = _set("JPN", ["J-1"], [50.0], [13], [("JPN", "USA")], ntn=["JPN-N00001"])
    offered = {p: AudienceTracks.of(["USA:U-1"], [0], [9]) for p in ("AUS", "GBR", "JPN")}
    pic = fuser.update(10.0, mine, jpn, offered, also_to={"JPN:J-1": {"AUS": 12, "USA": 13}})
    assert pic.audience_report["AUS"].tolist() == [False]   # JPN reports it to AUS, better
    assert pic.audience_report["GBR"].tolist() == [True]    # nobody else does to GBR
    assert fuser.released_to("JPN-N00001") == ("AUS", "JPN", "USA")
    # a report that says nothing of AUS is no claim for AUS, whatever its marking
    jpn_open = _set("JPN", ["J-1"], [50.0], [13], [("AUS", "JPN", "USA")], ntn=["JPN-N00001"], t=11.0)
    pic = fuser.update(11.0, _set("USA", ["U-1"], [0.0], [9], [("AUS", "GBR", "JPN", "USA")], t=11.0), jpn_open,
                       offered, also_to={"JPN:J-1": {"USA": 13}})
    assert pic.audience_report["AUS"].tolist() == [True]


def test_an_owner_s_release_lets_a_reporter_name_its_number():
    """JPN owns JPN-N00001 and reports the object to the USA only (its sensors are REL TO JPN,
    USA), but releases the number to AUS (``ntn_released``: the USA reports the object to AUS):
    the USA may then name it to AUS; without the release it may not."""
    for rel, expect in ((None, ("JPN", "USA")), ({"JPN:J-1": ("AUS",)}, ("AUS", "JPN", "USA"))):
        fuser = Fuser("USA")
        mine = _set("USA", ["U-1"], [0.0], [9], [("AUS", "GBR", "JPN", "USA")])
        jpn = _set("JPN", ["J-1"], [50.0], [13], [("JPN", "USA")], ntn=["JPN-N00001"])
        offered = {p: AudienceTracks.of(["USA:U-1"], [0], [9]) for p in ("AUS", "JPN")}
        pic = fuser.update(10.0, mine, jpn, offered, also_to={"JPN:J-1": {"USA": 13}}, released=rel)
        assert pic.local_ntn[0] == "JPN-N00001"
        assert fuser.released_to("JPN-N00001") == expect
        assert pic.local_ntn_to[0] == expect


def test_number_release_is_a_named_policy():
    from skyweave.node.node import NodeConfig

    assert NodeConfig("JPN").number_release == "partners"
    assert NodeConfig("JPN", number_release="heard").number_release == "heard"
    with pytest.raises(ValueError, match="number_release"):
        NodeConfig("JPN", number_release="nobody")


def test_a_reporter_passes_on_the_owner_s_release_of_its_number():
    """GBR hears JPN-N00007 only from the USA (JPN's sensors are not releasable to GBR): the USA's
    report passes on whom JPN released it to (``ntn_released``), so GBR, reporting the object
    to AUS, may name it there too. A report that only carries the number is no evidence."""
    for rel, expect in ((None, ("JPN",)), ({"USA:U-1": ("AUS", "GBR", "JPN", "USA")}, ("AUS", "GBR", "JPN", "USA"))):
        fuser = Fuser("GBR")
        mine = _set("GBR", ["G-1"], [0.0], [9], [("AUS", "GBR", "USA")])
        usa = _set("USA", ["U-1"], [50.0], [13], [("AUS", "GBR", "JPN", "USA")], ntn=["JPN-N00007"])
        offered = {"AUS": AudienceTracks.of(["GBR:G-1"], [0], [9])}
        pic = fuser.update(10.0, mine, usa, offered, also_to={"USA:U-1": {"GBR": 13}}, released=rel)
        assert pic.local_ntn[0] == "JPN-N00007"
        assert fuser.released_to("JPN-N00007") == expect and pic.local_ntn_to[0] == expect
        assert pic.audience_report["AUS"].tolist() == [True]    # the USA reports it to GBR only


def test_a_reporter_the_others_do_not_hear_follows_their_number():
    """AUS reports the object to the UK only (JPN's report, better, is not releasable to the UK);
    JPN does not hear AUS's number, so AUS's own, though smaller, is no reporter's toward JPN:
    AUS follows JPN's number, as JPN keeps it."""
    f = Fuser("AUS")
    f.update(9.0, _set("AUS", ["A-1"], [0.0], [9], [("AUS", "GBR", "JPN")], t=9.0), TrackSet.empty(3),
             {"GBR": AudienceTracks.of(["AUS:A-1"], [0], [9])})        # reported to the UK only
    assert f.local_state()["AUS:A-1"][0] == "AUS-N00001"
    for t in (10.0, 11.0):
        pic = f.update(t, _set("AUS", ["A-1"], [0.0], [9], [("AUS", "GBR", "JPN")], t=t),
                       _set("JPN", ["J-1"], [20.0], [13], [("AUS", "JPN")], ntn=["JPN-N00005"], t=t),
                       {"GBR": AudienceTracks.of(["AUS:A-1"], [0], [9])})
        assert not pic.local_report[0] and pic.audience_report["GBR"].tolist() == [True]
        assert pic.local_ntn[0] == "JPN-N00005"
