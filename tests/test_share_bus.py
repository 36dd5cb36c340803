"""The in-process bus (order, wildcards, durable catch-up, faults) and Publisher -> Receiver over it."""

import pytest

from skyweave.share import (
    BusError,
    Gate,
    InProcessBus,
    Keyring,
    NodeStatus,
    Publisher,
    Receiver,
    Sequencer,
    TrackReport,
    generate_key,
    inbox_subject,
    parse_subject,
    subject_for,
    subject_matches,
)

KEYS = {n: generate_key() for n in ("USA", "JPN", "AUS")}
RING = Keyring({n: k.public_key() for n, k in KEYS.items()})
S = subject_for("USA", "JPN", "tracks")


def collect(bus, pattern=S, **kw):
    got = []
    sub = bus.subscribe(pattern, lambda s, d: got.append(d), **kw)
    return got, sub


@pytest.mark.parametrize("pattern,subject,match", [
    ("skyweave.*.JPN.>", "skyweave.USA.JPN.tracks", True),
    ("skyweave.*.JPN.>", "skyweave.USA.AUS.tracks", False),
    ("skyweave.*.JPN.>", "skyweave.USA.JPN", False),
    ("skyweave.>", "skyweave.USA.JPN.status", True),
    ("skyweave.USA.*.alerts", "skyweave.USA.GBR.alerts", True),
    ("skyweave.USA.*.alerts", "skyweave.USA.GBR.tracks", False),
    (">", "a", True),
    ("a.*", "a.b.c", False),
])
def test_subject_matching_follows_nats(pattern, subject, match):
    assert subject_matches(pattern, subject) is match


def test_subjects():
    assert S == "skyweave.USA.JPN.tracks"
    assert inbox_subject("JPN") == "skyweave.*.JPN.>"
    assert parse_subject(S) == ("USA", "JPN", "tracks")
    for bad in ("skyweave.USA.JPN", "skyweave.usa.JPN.tracks", "skyweave.USA.JPN.gossip", "other.USA.JPN.tracks"):
        with pytest.raises(BusError):
            parse_subject(bad)
    with pytest.raises(BusError):
        subject_for("USA", "JPN", "chat")


def test_synchronous_delivery_in_publish_order_even_when_handlers_publish():
    bus = InProcessBus()
    seen = []

    def relay(subject, data):
        seen.append(("relay", data))
        if data == b"1":
            bus.publish("skyweave.JPN.AUS.tracks", b"from-handler")

    bus.subscribe(S, relay)
    bus.subscribe("skyweave.>", lambda s, d: seen.append(("all", d)))
    bus.publish(S, b"1")
    bus.publish(S, b"2")
    # every subscriber sees message 1 before anything the handler published in response
    assert seen == [("relay", b"1"), ("all", b"1"), ("all", b"from-handler"), ("relay", b"2"), ("all", b"2")]


def test_publish_dedup_by_msg_id_and_no_wildcards():
    bus = InProcessBus()
    got, _ = collect(bus)
    bus.publish(S, b"a", msg_id="USA:n:1")
    bus.publish(S, b"a", msg_id="USA:n:1")
    bus.publish(S, b"b", msg_id="USA:n:2")
    assert got == [b"a", b"b"] and bus.stats["deduplicated"] == 1
    with pytest.raises(BusError):
        bus.publish("skyweave.*.JPN.tracks", b"x")


def test_durable_subscription_catches_up_after_close():
    bus = InProcessBus()
    got, sub = collect(bus, durable="jpn-1")
    live, _ = collect(bus)
    bus.publish(S, b"1")
    sub.unsubscribe()
    bus.publish(S, b"2")
    bus.publish(S, b"3")
    got2, _ = collect(bus, durable="jpn-1")
    assert got == [b"1"] and got2 == [b"2", b"3"] and live == [b"1", b"2", b"3"]
    with pytest.raises(BusError, match="already bound"):
        collect(bus, durable="jpn-1")


def test_partition_and_heal():
    bus = InProcessBus()
    durable, _ = collect(bus, durable="jpn-1")
    plain, _ = collect(bus, name="jpn-live")
    bus.partition("jpn-1", "jpn-live", publishers=["skyweave.AUS.>"])
    bus.publish(S, b"while-cut")
    bus.publish("skyweave.AUS.JPN.tracks", b"from-cut-publisher")
    assert durable == [] and plain == []
    bus.heal()
    assert durable == [b"while-cut"]  # durable: replayed on heal
    assert plain == []  # core subscription: lost while cut
    bus.publish(S, b"after")
    assert durable[-1] == b"after" and plain == [b"after"]
    assert bus.stats["partitioned"] == 2


def test_random_faults_are_seeded_and_counted():
    def run(seed):
        bus = InProcessBus(seed=seed)
        got, _ = collect(bus)
        bus.set_faults(drop=0.1, duplicate=0.1, reorder=0.2)
        for i in range(500):
            bus.publish(S, b"%d" % i)
        bus.flush()
        return got, bus.stats

    a, stats = run(1)
    b, _ = run(1)
    assert a == b  # deterministic
    ints = [int(x) for x in a]
    assert ints != sorted(ints)  # reordered
    assert len(set(ints)) == 500 - stats["dropped"]
    assert len(ints) == 500 - stats["dropped"] + stats["duplicated"]
    assert stats["dropped"] > 20 and stats["duplicated"] > 20 and stats["reordered"] > 50


def test_hooks_can_tamper_and_handlers_cannot_break_the_bus():
    bus = InProcessBus()
    got, _ = collect(bus)
    remove = bus.add_hook(lambda subject, data, name: [data.upper()])
    bus.subscribe(S, lambda s, d: 1 / 0)
    bus.publish(S, b"x")
    remove()
    bus.publish(S, b"y")
    assert got == [b"X", b"y"] and bus.stats["handler_errors"] == 2


def test_retention_limit_loses_only_the_oldest_for_a_laggard():
    bus = InProcessBus(retain=100)
    _, sub = collect(bus, durable="slow")
    sub.unsubscribe()
    for i in range(300):
        bus.publish(S, b"%d" % i)
    got2, _ = collect(bus, durable="slow")
    assert got2 == [b"%d" % i for i in range(200, 300)] and bus.stats["lost_to_retention"] == 200


# --------------------------------------------------------------------------- end to end, in process


def report(i, marking=("AUS", "JPN", "USA"), t=10.0):
    return TrackReport(nation="USA", node="usa-1", track_id=f"USA-{i}", t=t, state=[float(i), 0.0, 0.0, 1.0],
                       dims=2, releasable_to=marking, quality=8)


def network(bus, **gate_kw):
    t = [10.0]
    got = {n: [] for n in ("JPN", "AUS")}
    receivers = {}
    for n in ("JPN", "AUS"):
        gate = Gate(n, RING, clock=lambda: t[0], **gate_kw)
        receivers[n] = Receiver(gate, bus, durable=f"{n.lower()}-1",
                                on_tracks=lambda env, body, n=n: got[n].extend(r.track_id for r in body)).start()
    pub = Publisher("USA", "usa-1", KEYS["USA"], ["JPN", "AUS"], bus, sequencer=Sequencer(1))
    return pub, receivers, got, t


def test_publisher_to_receivers_respects_markings():
    bus = InProcessBus()
    pub, receivers, got, _ = network(bus)
    frames = pub.publish_tracks([report(1), report(2, ("JPN", "USA")), report(3, ("USA",)), report(4, ("AUS",))], 10.0)
    assert {f.partner: f.items for f in frames} == {"JPN": 2, "AUS": 2}
    assert got == {"JPN": ["USA-1", "USA-2"], "AUS": ["USA-1", "USA-4"]}
    status = pub.publish_status(NodeStatus(nation="USA", node="usa-1", t=10.0, tracks=4))
    assert len(status) == 2 and pub.sent_frames == 4
    assert all(r.gate.admitted == 2 for r in receivers.values())


def test_duplicates_reordering_and_partition_do_no_harm():
    bus = InProcessBus(seed=7)
    pub, receivers, got, _ = network(bus)
    bus.set_faults(duplicate=0.3, reorder=0.3)
    for i in range(100):
        pub.publish_tracks([report(i)], 10.0)
    bus.partition("aus-1")
    for i in range(100, 150):
        pub.publish_tracks([report(i)], 10.0)
    bus.heal()
    bus.clear_faults()
    expect = [f"USA-{i}" for i in range(150)]
    for n in ("JPN", "AUS"):
        assert sorted(got[n], key=lambda s: int(s[4:])) == expect  # each exactly once, none lost
        assert receivers[n].gate.counts["duplicate"] > 0
        assert receivers[n].gate.counts["replayed"] == 0
    assert got["JPN"] != expect  # it did arrive out of order


def test_partitioned_node_rejects_what_went_stale_while_away():
    bus = InProcessBus()
    pub, receivers, got, t = network(bus, max_age_s=30.0)
    bus.partition("aus-1")
    pub.publish_tracks([report(1, t=10.0)], 10.0)
    t[0] = 100.0
    pub.publish_tracks([report(2, t=100.0)], 100.0)
    bus.heal("aus-1")
    assert got["AUS"] == ["USA-2"] and receivers["AUS"].gate.counts["stale"] == 1
