"""The bus over a real nats-server (Debian's package, started here on free loopback ports).

Skipped only when the binary is missing (scripts/services.sh installs it).
"""

import asyncio
import threading
import time

import pytest

from skyweave.share import (
    BusError,
    Gate,
    Keyring,
    Publisher,
    Receiver,
    Sequencer,
    TrackReport,
    generate_key,
    subject_for,
)
from skyweave.share.natsbus import AsyncNatsBus, NatsBus, consumer_filter
from tests.support.natsserver import NatsCluster, NatsServer, free_port, nats_server_binary

pytestmark = pytest.mark.skipif(
    nats_server_binary() is None, reason="nats-server not installed: run scripts/services.sh (apt-get install nats-server)"
)

NATIONS = ["USA", "JPN", "AUS"]
KEYS = {n: generate_key() for n in NATIONS}
RING = Keyring({n: k.public_key() for n, k in KEYS.items()})


@pytest.fixture
def server(tmp_path):
    s = NatsServer(tmp_path / "js").start()
    yield s
    s.stop()


def wait_until(pred, timeout=20.0):  # generous: a positive wait returns as soon as it holds, and CI shares 2 cores
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def report(i):
    return TrackReport(nation="USA", node="usa-1", track_id=f"USA-{i}", t=float(i), state=[float(i), 0.0, 0.0, 0.0, 0.0, 0.0],
                       releasable_to=("JPN", "USA"), quality=7)


class Node:
    """The receiving half of a JPN node: bus, gate, receiver, and what it admitted."""

    def __init__(self, url, *, durable="jpn-1", state=None, **bus_kw):
        self.bus = NatsBus(url, nations=NATIONS, name="jpn", **bus_kw)
        self.gate = Gate("JPN", RING, max_age_s=None, max_future_s=None)
        if state is not None:
            self.gate.load_state(state)
        self.ids = []
        self.lock = threading.Lock()
        self.receiver = Receiver(self.gate, self.bus, durable=durable, on_tracks=self._on).start()

    def _on(self, env, body):
        with self.lock:
            self.ids.extend(r.track_id for r in body)

    def close(self):
        self.bus.close()


def usa_publisher(bus, start=1):
    return Publisher("USA", "usa-1", KEYS["USA"], ["JPN"], bus, sequencer=Sequencer(start))


def test_consumer_filter_maps_a_pattern_into_each_stream():
    assert consumer_filter("skyweave.*.JPN.>", "USA") == "skyweave.USA.JPN.>"
    assert consumer_filter("skyweave.>", "USA") == "skyweave.USA.>"
    assert consumer_filter("skyweave.GBR.JPN.tracks", "USA") is None
    assert consumer_filter("skyweave.USA.*.tracks", "USA") == "skyweave.USA.*.tracks"
    assert consumer_filter("skyweave.USA", "USA") is None


def test_no_server_is_a_clear_error_within_the_timeout():
    t0 = time.monotonic()
    with pytest.raises(BusError, match="cannot connect to NATS"):
        NatsBus(f"nats://127.0.0.1:{free_port()}", connect_timeout_s=0.5)
    assert time.monotonic() - t0 < 3.0


def test_publish_subscribe_across_two_buses(server):
    usa = NatsBus(server.url, nations=NATIONS, name="usa")
    jpn = Node(server.url)
    live = []
    jpn.bus.subscribe("skyweave.USA.>", lambda s, d: live.append(s))  # plain (non-durable) subscription
    try:
        pub = usa_publisher(usa)
        for i in range(50):
            pub.publish_tracks([report(i)], float(i))
        assert wait_until(lambda: len(jpn.ids) == 50 and len(live) == 50)
        assert jpn.ids == [f"USA-{i}" for i in range(50)]  # one stream, one consumer: in order
        assert jpn.gate.admitted == 50 and sum(jpn.gate.counts.values()) == 0
        assert set(live) == {subject_for("USA", "JPN", "tracks")}
    finally:
        jpn.close()
        usa.close()


def test_durable_consumer_catches_up_after_the_node_restarts(server):
    usa = NatsBus(server.url, nations=NATIONS, name="usa")
    pub = usa_publisher(usa)
    try:
        jpn = Node(server.url)
        for i in range(30):
            pub.publish_tracks([report(i)], float(i))
        assert wait_until(lambda: len(jpn.ids) == 30)
        state = jpn.gate.state()
        jpn.close()  # the node goes down

        frames = [pub.build("tracks", [report(i)], float(i), "JPN") for i in range(30, 60)]
        for f in frames:
            usa.publish(f.subject, f.data, msg_id=f.msg_id)
        for f in frames[:5]:  # a sender retrying after a lost ack: the server drops the copies
            usa.publish(f.subject, f.data, msg_id=f.msg_id)
        assert usa.stats["deduplicated"] == 5

        back = Node(server.url, state=state)  # the node comes back under the same durable name
        try:
            assert wait_until(lambda: len(back.ids) == 30)
            time.sleep(0.2)  # nothing more arrives
            assert back.ids == [f"USA-{i}" for i in range(30, 60)]  # exactly what it missed
            assert sorted(jpn.ids + back.ids) == sorted(f"USA-{i}" for i in range(60))  # no loss
            assert back.gate.counts["duplicate"] == 0 and back.gate.counts["replayed"] == 0
        finally:
            back.close()
    finally:
        usa.close()


def test_streams_survive_a_server_crash(server):
    usa = NatsBus(server.url, nations=NATIONS, name="usa", publish_timeout_s=5.0)
    jpn = Node(server.url)
    try:
        pub = usa_publisher(usa)
        for i in range(40):
            pub.publish_tracks([report(i)], float(i))
        assert wait_until(lambda: len(jpn.ids) == 40)
        server.restart(kill=True)  # SIGKILL: no clean shutdown
        info = usa._run(usa.aio.js.stream_info("SKYWEAVE_USA"))
        assert info.state.messages == 40  # file storage kept them
        for i in range(40, 50):  # clients reconnect; the durable consumer resumes
            pub.publish_tracks([report(i)], float(i))
        assert wait_until(lambda: len(jpn.ids) == 50)
        assert jpn.ids == [f"USA-{i}" for i in range(50)]
        # a brand-new consumer that asks for everything gets the whole stream back
        fresh = Node(server.url, durable="jpn-audit", deliver="all")
        try:
            assert wait_until(lambda: len(fresh.ids) == 50)
        finally:
            fresh.close()
    finally:
        jpn.close()
        usa.close()


def test_manual_dispatch_runs_handlers_in_the_callers_thread(server):
    usa = NatsBus(server.url, nations=NATIONS, name="usa")
    jpn = NatsBus(server.url, nations=NATIONS, name="jpn", dispatch="manual")
    threads = []
    try:
        jpn.subscribe("skyweave.*.JPN.>", lambda s, d: threads.append(threading.get_ident()), durable="jpn-m")
        for i in range(5):
            usa.publish(subject_for("USA", "JPN", "status"), b"%d" % i, wait=False)
        usa.flush(timeout=5)
        n = 0
        deadline = time.monotonic() + 5
        while n < 5 and time.monotonic() < deadline:
            n += jpn.pump(timeout=0.2)
        assert n == 5 and set(threads) == {threading.get_ident()}
    finally:
        jpn.close()
        usa.close()


def test_asyncio_api(server):
    async def main():
        a = await AsyncNatsBus(server.url, nations=NATIONS, name="a").connect()
        b = await AsyncNatsBus(server.url, nations=NATIONS, name="b").connect()
        got = asyncio.Queue()

        async def handler(subject, data):
            await got.put(data)

        await b.subscribe("skyweave.*.JPN.>", handler, durable="jpn-aio")
        seqs = [await a.publish(subject_for("USA", "JPN", "alerts"), b"m%d" % i, msg_id=f"USA:a:{i}") for i in range(3)]
        out = [await asyncio.wait_for(got.get(), 5) for _ in range(3)]
        await a.close()
        await b.close()
        return seqs, out

    seqs, out = asyncio.run(main())
    assert seqs == [1, 2, 3] and out == [b"m0", b"m1", b"m2"]


def test_cluster_keeps_working_when_a_server_dies(tmp_path):
    with NatsCluster(tmp_path, 3) as cluster:
        # generous limits: a leader election takes ~5 s, longer on a loaded CI machine
        usa = NatsBus(cluster.url, nations=NATIONS, name="usa", replicas=3, publish_timeout_s=45.0)
        jpn = Node(cluster.url, replicas=3)
        try:
            pub = usa_publisher(usa)
            for i in range(20):
                pub.publish_tracks([report(i)], float(i))
            assert wait_until(lambda: len(jpn.ids) == 20, timeout=30)
            info = usa._run(usa.aio.js.stream_info("SKYWEAVE_USA"))
            assert info.config.num_replicas == 3 and len(info.cluster.replicas) == 2
            # kill the stream's leader: the worst server to lose
            victim = next(s for s in cluster.servers if s.name == info.cluster.leader)
            victim.stop(kill=True)
            for i in range(20, 40):
                pub.publish_tracks([report(i)], float(i))
            assert wait_until(lambda: len(jpn.ids) == 40, timeout=60)
            assert sorted(jpn.ids) == sorted(f"USA-{i}" for i in range(40))  # none lost, none twice
            assert jpn.gate.counts["replayed"] == 0
        finally:
            jpn.close()
            usa.close()
