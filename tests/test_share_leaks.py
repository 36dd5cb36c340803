"""No leaks: over 100,000 random reports and random topologies, nothing reaches a nation outside its marking.

Two layers are checked on every frame:
- the sender: the frame built for a partner holds no byte of a report withheld from it (each
  report carries unique ids, searched for in the encoded frame bytes);
- the receiver: what its gate admits is releasable to it, and a sender that skips its filter
  (a bug, or a hostile partner with a valid key) gets its frame rejected as ``unreleasable``.
"""

import random
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from skyweave.share import Gate, Keyring, Publisher, Sequencer, TrackReport, generate_key
from skyweave.share.bus import InProcessBus
from skyweave.share.endpoint import Frame
from skyweave.share.schema import Envelope, encode_body, encode_envelope, make_msg_id
from skyweave.share.signing import sign_envelope

POOL = ["USA", "JPN", "AUS", "GBR", "CAN", "NZL", "KOR", "FRA", "DEU", "IND"]
KEYS = {n: generate_key() for n in POOL}
RING = Keyring({n: k.public_key() for n, k in KEYS.items()})
CLASSES = ["aircraft", "cruise", "ballistic", "unknown"]


class Recording(InProcessBus):
    """The in-process bus, keeping every frame published (bytes, in order)."""

    def __init__(self):
        super().__init__()
        self.frames = []

    def publish(self, subject, data, *, msg_id=None):
        self.frames.append(data)
        super().publish(subject, data, msg_id=msg_id)


def random_report(rng: random.Random, uid: int, sender: str, nations: list[str]) -> TrackReport:
    """A report with a random marking over the topology's nations (and sometimes outsiders)."""
    marking = {n for n in nations if rng.random() < 0.5}
    if rng.random() < 0.2:
        marking.add(rng.choice(POOL))
    if rng.random() < 0.7:
        marking.add(sender)  # usually, not always: a marking need not include its owner
    dims = 3 if rng.random() < 0.8 else 2
    n = 2 * dims
    return TrackReport(
        nation=sender, node=f"{sender.lower()}-n", track_id=f"TRK{uid:07d}Q", t=0.0,
        # physically valid content (the gate refuses speeds beyond 1e4 m/s and covariances that
        # are not positive definite): positions within 100 km, speeds within 1 km/s, a diagonal covariance
        state=[rng.uniform(-1e5, 1e5) * (1.0 if k < dims else 0.01) for k in range(n)],
        cov=[rng.random() + 0.1 if k % (n + 1) == 0 else 0.0 * rng.random() for k in range(n * n)]
        if rng.random() < 0.3 else [],
        dims=dims, cls=rng.choice(CLASSES), class_conf=rng.random(), identity=f"ID{uid:07d}Z",
        quality=rng.randrange(16), releasable_to=tuple(sorted(marking)), sources=[f"{sender}:TRK{uid:07d}Q"],
    )


def rogue_frame(key, sender: str, seq: int, reports: list[TrackReport], partner: str, t: float) -> Frame:
    """A frame that skips the filter and claims the partner may see it all (valid signature)."""
    env = Envelope(kind="tracks", sender=sender, node=f"{sender.lower()}-n", seq=seq,
                   msg_id=make_msg_id(sender, f"{sender.lower()}-n", seq), t=t, recipient=partner,
                   releasable_to=(partner,), payload=encode_body("tracks", reports))
    return Frame(partner, "", env.msg_id, encode_envelope(sign_envelope(env, key)), len(reports))


def test_zero_leaks_over_100k_random_reports_and_topologies():
    rng = random.Random(20240410)
    seqs = {n: Sequencer(1) for n in POOL}
    gates = {n: Gate(n, RING, max_age_s=None, max_future_s=None, window=1 << 20) for n in POOL}
    n_reports = n_decisions = n_frames = n_rogue = 0
    byte_leaks = delivered_leaks = lost = 0
    uid = 0
    t = 0.0
    while n_reports < 100_000:
        t += 1.0
        nations = rng.sample(POOL, rng.randint(2, 6))
        for sender in nations:
            others = [n for n in nations if n != sender]
            partners = [p for p in others if rng.random() < 0.8] or [rng.choice(others)]
            batch = []
            for _ in range(rng.randint(1, 60)):
                batch.append(random_report(rng, uid, sender, nations))
                uid += 1
            n_reports += len(batch)
            pub = Publisher(sender, f"{sender.lower()}-n", KEYS[sender], partners, sequencer=seqs[sender])
            for partner in partners:
                n_decisions += len(batch)
                withheld = [r for r in batch if partner not in r.releasable_to]
                frame = pub.build("tracks", batch, t, partner)
                if frame is None:
                    assert len(withheld) == len(batch)
                    continue
                n_frames += 1
                assert frame.partner == partner
                for r in withheld:  # not one byte of a withheld report in the partner's frame
                    if r.track_id.encode() in frame.data or r.identity.encode() in frame.data:
                        byte_leaks += 1
                verdict = gates[partner].admit(frame.data, now=t)
                assert verdict.ok, verdict
                delivered_leaks += sum(partner not in r.releasable_to for r in verdict.body)
                lost += len(batch) - len(withheld) - len(verdict.body)  # and nothing releasable is lost
                if withheld and rng.random() < 0.1:
                    # a sender that skips its filter: the receiver must refuse the whole frame
                    n_rogue += 1
                    rogue = rogue_frame(KEYS[sender], sender, seqs[sender](), batch, partner, t)
                    v = gates[partner].admit(rogue.data, now=t)
                    assert v.reason == "unreleasable", v
                    if v.ok:
                        delivered_leaks += sum(partner not in r.releasable_to for r in v.body)
    assert n_reports >= 100_000 and n_frames > 5_000 and n_rogue > 200
    assert byte_leaks == 0
    assert delivered_leaks == 0
    assert lost == 0
    print(f"reports {n_reports}, report-partner decisions {n_decisions}, frames {n_frames}, rogue frames {n_rogue}: 0 leaks")


nations_st = st.lists(st.sampled_from(POOL), min_size=2, max_size=6, unique=True)


@settings(max_examples=150, deadline=None)
@given(nations_st, st.data())
def test_leaks_hypothesis(nations, data):
    sender = data.draw(st.sampled_from(nations))
    others = [n for n in nations if n != sender]
    partners = data.draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
    markings = data.draw(st.lists(st.lists(st.sampled_from(POOL), unique=True), min_size=1, max_size=12))
    reports = [
        TrackReport(nation=sender, node="n1", track_id=f"UNIQ{i:04d}K", t=1.0, state=[0.0] * 6,
                    releasable_to=tuple(sorted(m)))
        for i, m in enumerate(markings)
    ]
    pub = Publisher(sender, "n1", KEYS[sender], partners, sequencer=Sequencer(1))
    for partner in partners:
        gate = Gate(partner, RING)
        frame = pub.build("tracks", reports, 1.0, partner)
        allowed = [r for r in reports if partner in r.releasable_to]
        if frame is None:
            assert not allowed
            continue
        for r in reports:
            assert (r.track_id.encode() in frame.data) == (r in allowed)
        v = gate.admit(frame.data, now=1.0)
        assert v.ok and v.body == allowed
        # the frame's marking is the intersection of its items': partner always in it
        assert partner in v.envelope.releasable_to
        assert all(set(v.envelope.releasable_to) <= set(r.releasable_to) for r in allowed)


def test_no_existence_leaks_over_random_pictures_lineages_and_deletions():
    """Over random topologies and pictures, a node's ShareLink names another nation's number to a
    partner only if the number's owner released it to that partner (the lineage in the flags),
    sends a "deleted" report only to partners that were sent the track, and loses nothing: every
    report its marking allows reaches the partner, named when allowed, unnamed otherwise."""
    import numpy as np

    from skyweave.node.share_link import ReportFlags, ShareLink
    from skyweave.share.schema import decode_body, decode_envelope

    rng = random.Random(20261129)
    n_named = n_unnamed = n_deleted = n_checked = 0
    leaks = lost = 0
    for episode in range(60):
        nations = rng.sample(POOL, rng.randint(3, 6))
        me = nations[0]
        partners = tuple(nations[1:])
        bus = Recording()
        link = ShareLink(me, "n1", KEYS[me], RING, bus, partners=partners, dims=3, stale_s=60.0,
                         clock=lambda: 0.0, sequencer=Sequencer(1))
        ids = [f"E{episode:02d}T{k:03d}" for k in range(40)]
        sent: dict[str, set[str]] = {p: set() for p in partners}  # partner -> track ids it was sent
        for tick in range(12):
            t = float(tick)
            live = [i for i in ids if rng.random() < 0.7]
            flags, expect = {}, {}
            for k, tid in enumerate(live):
                mark = tuple(sorted({n for n in nations if rng.random() < 0.6} | {me}))
                owner = rng.choice(nations)
                ntn = "" if rng.random() < 0.1 else f"{owner}-N{k:05d}"
                ntn_to = None if owner == me or not ntn else tuple(sorted(
                    {n for n in nations if rng.random() < 0.5} | {owner}))
                report = rng.random() < 0.8
                flags[tid] = ReportFlags(ntn, report, (not report) and rng.random() < 0.5, "aircraft", 0.5,
                                         mark, ntn_to)
                if report:
                    expect[tid] = flags[tid]
            before = len(bus.frames)
            pic = SimpleNamespace(t=t, ids=live, x=np.zeros((len(live), 6)), P=np.tile(np.eye(6), (len(live), 1, 1)),
                                  quality=np.full(len(live), 9), identity=np.full(len(live), -1))
            link.publish_tracks(t, pic, np.ones(len(live), dtype=bool), flags, responsibility=True,
                                ending=rng.random() < 0.7)
            got: dict[str, dict[str, object]] = {p: {} for p in partners}
            for data in bus.frames[before:]:
                env = decode_envelope(data)
                for r in decode_body("tracks", env.payload):
                    n_checked += 1
                    if env.recipient not in r.releasable_to:
                        leaks += 1
                    if r.status == "deleted":
                        n_deleted += 1
                        leaks += r.track_id not in sent[env.recipient]
                        sent[env.recipient].discard(r.track_id)
                        continue
                    got[env.recipient][r.track_id] = r.ntn
            for p in partners:
                for tid, fl in expect.items():
                    if p not in fl.mark:
                        leaks += tid in got[p]
                        continue
                    if tid not in got[p]:
                        lost += 1
                        continue
                    sent[p].add(tid)
                    allowed = fl.ntn_to is None or p in fl.ntn_to
                    if got[p][tid] != (fl.ntn if allowed else ""):
                        leaks += 1
                    n_named += bool(got[p][tid])
                    n_unnamed += not got[p][tid]
    print(f"items {n_checked}, named {n_named}, unnamed {n_unnamed}, deleted {n_deleted}: 0 leaks")
    assert n_checked > 20_000 and n_unnamed > 1_000 and n_named > 5_000 and n_deleted > 500
    assert leaks == 0 and lost == 0


def test_no_leaks_with_per_recipient_plans_and_alerts():
    """Per-recipient reporting (docs/fusion.md, "Who reports what to whom"): each partner is
    offered its own picture (an audience's estimate) with its own flags. Over random topologies,
    plans, markings, lineages and endings, no partner receives a report whose marking lacks it,
    a number its owner did not release to it, a "deleted" report of a track it was never sent,
    or another partner's estimate; nothing reported to it is lost. Alerts sent to an audience's
    partners reach only those of them each alert's marking allows."""
    import numpy as np

    from skyweave.node.share_link import PartnerPlan, ReportFlags, ShareLink
    from skyweave.share.schema import decode_body, decode_envelope
    from skyweave.warn.alerts import AlertUpdate

    rng = random.Random(20261130)
    n_checked = n_deleted = n_alerts = 0
    leaks = lost = 0
    for episode in range(200):
        nations = rng.sample(POOL, rng.randint(3, 6))
        me, partners = nations[0], tuple(nations[1:])
        bus = Recording()
        link = ShareLink(me, "n1", KEYS[me], RING, bus, partners=partners, dims=3, stale_s=60.0,
                         clock=lambda: 0.0, sequencer=Sequencer(1))
        # audiences: partners grouped at random, each group its own track ids (prefix = audience)
        groups: dict[str, int] = {p: rng.randint(0, 2) for p in partners}
        sent: dict[str, set[str]] = {p: set() for p in partners}
        for tick in range(10):
            t = float(tick)
            plan, expect = {}, {}
            pics = {}
            for g in set(groups.values()):
                ids = [f"E{episode:02d}A{g}T{k:03d}" for k in range(30) if rng.random() < 0.7]
                pics[g] = SimpleNamespace(t=t, ids=ids, x=np.zeros((len(ids), 6)),
                                          P=np.tile(np.eye(6), (len(ids), 1, 1)), quality=np.full(len(ids), 9),
                                          identity=np.full(len(ids), -1))
            for p in partners:
                pic = pics[groups[p]]
                flags = {}
                for k, tid in enumerate(pic.ids):
                    mark = tuple(sorted({n for n in nations if rng.random() < 0.7} | {me}))
                    owner = rng.choice(nations)
                    ntn_to = None if owner == me else tuple(sorted({n for n in nations if rng.random() < 0.5} | {owner}))
                    flags[tid] = ReportFlags(f"{owner}-N{k:05d}", rng.random() < 0.7, False, "aircraft", 0.5, mark, ntn_to)
                plan[p] = PartnerPlan(pic, flags, np.ones(len(pic.ids), dtype=bool))
                expect[p] = {tid: fl for tid, fl in flags.items() if fl.report and p in fl.mark}
            before = len(bus.frames)
            link.publish_plan(t, plan, responsibility=True, ending=rng.random() < 0.7)
            got: dict[str, dict[str, str]] = {p: {} for p in partners}
            for data in bus.frames[before:]:
                env = decode_envelope(data)
                for r in decode_body("tracks", env.payload):
                    n_checked += 1
                    p = env.recipient
                    leaks += p not in r.releasable_to
                    if r.status == "deleted":
                        n_deleted += 1
                        leaks += r.track_id not in sent[p]
                        sent[p].discard(r.track_id)
                        continue
                    leaks += r.track_id not in plan[p].flags      # another audience's estimate
                    got[p][r.track_id] = r.ntn
            for p in partners:
                for tid in got[p]:
                    leaks += tid not in expect[p]
                for tid, fl in expect[p].items():
                    if tid not in got[p]:
                        lost += 1
                        continue
                    sent[p].add(tid)
                    allowed = fl.ntn_to is None or p in fl.ntn_to
                    leaks += got[p][tid] != (fl.ntn if allowed else "")
            # an audience's alerts: to its partners, each only where the alert's marking allows
            aud = [p for p in partners if groups[p] == 0]
            alerts = [AlertUpdate(t=t, alert_id=f"{me}-W{k}", threat="ballistic", status="launch", launch=None,
                                  impact=None, time_to_impact_s=None, places=(), confidence=0.5,
                                  releasable_to=tuple(sorted({n for n in nations if rng.random() < 0.6})))
                      for k in range(3)]
            before = len(bus.frames)
            link.publish_alerts(alerts, t, partners=aud)
            for data in bus.frames[before:]:
                env = decode_envelope(data)
                for a in decode_body("alerts", env.payload):
                    n_alerts += 1
                    leaks += env.recipient not in aud or env.recipient not in a.releasable_to
    print(f"items {n_checked}, deleted {n_deleted}, alerts {n_alerts}: {leaks} leaks, {lost} lost")
    assert n_checked > 100_000 and n_deleted > 2_000 and n_alerts > 1_000
    assert leaks == 0 and lost == 0
