"""A secured bus (issue 11, item 2): TLS, one NATS user per nation with least permissions, sealed frames.

Real nats-server processes with the configuration of tests/support/natsserver.py (SecureSetup):
anonymous and plain-TCP clients are refused; a wrong nation can neither read frames addressed to
another nor publish as another; a legitimate pair exchanges sealed frames end to end; the stream
store on the server's disk holds no plaintext of a sealed frame. Skipped only when the binary is
missing.
"""

import threading
import time

import nats.errors
import pytest

from skyweave.share import Gate, Keyring, Publisher, Receiver, Sequencer, TrackReport, generate_key, subject_for
from skyweave.share.bus import InProcessBus
from skyweave.share.natsbus import BusError, NatsBus, ensure_streams, inbox_prefix, nation_permissions
from skyweave.share.seal import (
    SEAL_OVERHEAD,
    SealError,
    SealRing,
    generate_nation_seal_keys,
    generate_seal_key,
    is_sealed,
    load_seal_private_key,
    open_frame,
    seal_frame,
)
from tests.support.natsserver import NatsServer, SecureSetup, make_test_pki, nats_server_binary

NATIONS = ["USA", "JPN", "AUS"]
KEYS = {n: generate_key() for n in NATIONS}
RING = Keyring({n: k.public_key() for n, k in KEYS.items()})
SEAL = {n: generate_seal_key() for n in NATIONS}
SEAL_RING = SealRing({n: k.public_key() for n, k in SEAL.items()})
USERS = {n: (n.lower(), f"{n.lower()}-secret-pw") for n in NATIONS}
ADMIN = ("admin", "admin-secret-pw")
SECRET = "USA-SECRETTRACK"  # a track id: in every plaintext frame, never in a sealed one

needs_server = pytest.mark.skipif(
    nats_server_binary() is None, reason="nats-server not installed: run scripts/services.sh (apt-get install nats-server)"
)


def report(i, to=("JPN", "USA")):
    return TrackReport(nation="USA", node="usa-1", track_id=f"{SECRET}{i}", t=float(i),
                       state=[float(i), 0.0, 0.0, 0.0, 0.0, 0.0], releasable_to=tuple(sorted(to)), quality=7)


def wait_until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


# --------------------------------------------------------------------------- sealing, no server


def test_seal_opens_only_with_the_recipients_key_on_its_subject():
    frame = b"\x9b" + SECRET.encode() * 3
    subj = subject_for("USA", "JPN", "tracks")
    sealed = seal_frame(frame, SEAL["JPN"].public_key(), subject=subj, sender="USA", recipient="JPN")
    assert is_sealed(sealed) and SECRET.encode() not in sealed and len(sealed) == len(frame) + SEAL_OVERHEAD
    assert open_frame(sealed, SEAL["JPN"], subject=subj, sender="USA", recipient="JPN") == frame
    # a fresh ephemeral key per frame: the same frame never seals to the same bytes
    assert seal_frame(frame, SEAL["JPN"].public_key(), subject=subj, sender="USA", recipient="JPN") != sealed
    with pytest.raises(SealError):  # a wrong nation's key
        open_frame(sealed, SEAL["AUS"], subject=subj, sender="USA", recipient="JPN")
    with pytest.raises(SealError):  # moved to another subject (associated data)
        open_frame(sealed, SEAL["JPN"], subject=subject_for("USA", "JPN", "alerts"), sender="USA", recipient="JPN")
    with pytest.raises(SealError):  # claimed by another sender
        open_frame(sealed, SEAL["JPN"], subject=subj, sender="AUS", recipient="JPN")
    for i in (0, 5, 40, len(sealed) - 1):  # any flipped byte (magic, ephemeral key, body, tag)
        bad = bytearray(sealed)
        bad[i] ^= 0x01
        with pytest.raises(SealError):
            open_frame(bytes(bad), SEAL["JPN"], subject=subj, sender="USA", recipient="JPN")
    with pytest.raises(SealError):
        open_frame(sealed[:30], SEAL["JPN"], subject=subj, sender="USA", recipient="JPN")


def test_seal_key_files_round_trip(tmp_path):
    pubs = generate_nation_seal_keys(["USA", "JPN"], tmp_path)
    assert (tmp_path / "JPN.x25519").stat().st_mode & 0o777 == 0o600
    ring = SealRing.from_config({n: str(p) for n, p in pubs.items()})
    key = load_seal_private_key(tmp_path / "JPN.x25519")
    assert ring.to_config()["JPN"] == SealRing({"JPN": key.public_key()}).to_config()["JPN"]
    assert SealRing(ring.to_config()).to_config() == ring.to_config()  # base64 form


def test_receiver_refuses_what_does_not_open_without_raising():
    bus = InProcessBus()
    rejected, got = [], []
    gate = Gate("JPN", RING, max_age_s=None, max_future_s=None)
    rx = Receiver(gate, bus, seal_key=SEAL["JPN"], on_reject=rejected.append,
                  on_tracks=lambda env, body: got.extend(r.track_id for r in body)).start()
    sealed_pub = Publisher("USA", "usa-1", KEYS["USA"], ["JPN", "AUS"], bus, sequencer=Sequencer(1), seal_to=SEAL_RING)
    plain_pub = Publisher("USA", "usa-1", KEYS["USA"], ["JPN"], bus, sequencer=Sequencer(100))
    sealed_pub.publish_tracks([report(1)], 1.0)
    f = sealed_pub.build("tracks", [report(2, ("AUS", "JPN", "USA"))], 2.0, "AUS")  # sealed to AUS
    bus.publish(subject_for("USA", "JPN", "tracks"), f.data)  # ...replayed onto JPN's subject
    bus.publish(subject_for("USA", "JPN", "tracks"), b"SWS1" + bytes(10))  # truncated
    plain_pub.publish_tracks([report(3)], 3.0)  # a partner that forgot to seal
    assert got == [f"{SECRET}1"]
    assert [r.reason for r in rejected] == ["unsealable", "unsealable", "unsealed"]
    assert rx.counts["unsealable"] == 2 and rx.counts["unsealed"] == 1
    assert gate.admitted == 1
    with pytest.raises(ValueError, match="GBR"):  # every partner needs a sealing key
        Publisher("USA", "usa-1", KEYS["USA"], ["GBR"], bus, seal_to=SEAL_RING)


def test_permissions_allow_only_own_subjects_and_filtered_consumers():
    p = nation_permissions("JPN", ["jpn-1"])
    assert "skyweave.JPN.>" in p["publish"]["allow"]
    assert "$JS.API.CONSUMER.CREATE.*.jpn-1.skyweave.*.JPN.>" in p["publish"]["allow"]
    assert not any(s.startswith("$JS.API.STREAM") for s in p["publish"]["allow"])
    assert p["subscribe"]["allow"] == ["_INBOX_JPN.>", "skyweave.*.JPN.>"]


# --------------------------------------------------------------------------- against nats-server


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    if nats_server_binary() is None:
        pytest.skip("nats-server not installed")
    base = tmp_path_factory.mktemp("secure-nats")
    pki = make_test_pki(base / "pki")
    setup = SecureSetup(pki, users=USERS, admin=ADMIN)
    server = NatsServer(base / "js", secure=setup).start()
    ensure_streams(server.url, NATIONS, user=ADMIN[0], password=ADMIN[1], tls_ca=str(pki.ca))
    yield server
    server.stop()


def node_bus(server, nation, **kw):
    """A node's bus: its own user, TLS with the test CA, no stream creation, its own inbox prefix."""
    user, pw = USERS[nation]
    kw.setdefault("publish_timeout_s", 5.0)
    return NatsBus(server.url, nations=NATIONS, name=nation.lower(), create_streams=False, user=user, password=pw,
                   tls_ca=str(server.secure.pki.ca), inbox_prefix=inbox_prefix(nation), **kw)


def admin_bus(server):
    return NatsBus(server.url, nations=NATIONS, name="admin", user=ADMIN[0], password=ADMIN[1],
                   tls_ca=str(server.secure.pki.ca))


@needs_server
def test_anonymous_wrong_password_and_plain_tcp_clients_are_refused(secure):
    ca = str(secure.secure.pki.ca)
    with pytest.raises(BusError, match="cannot connect"):
        NatsBus(secure.url, tls_ca=ca, connect_timeout_s=1.0)  # no credentials
    with pytest.raises(BusError, match="cannot connect"):
        NatsBus(secure.url, tls_ca=ca, user="jpn", password="guess", connect_timeout_s=1.0)
    with pytest.raises(BusError, match="cannot connect"):  # TLS is required
        NatsBus(secure.url.replace("tls://", "nats://"), user="jpn", password=USERS["JPN"][1], connect_timeout_s=1.0)
    with pytest.raises(BusError, match="cannot connect"):  # a certificate from another CA
        NatsBus(secure.url, user="jpn", password=USERS["JPN"][1], connect_timeout_s=1.0)


@needs_server
def test_a_node_pair_exchanges_sealed_frames_end_to_end(secure):
    usa, jpn = node_bus(secure, "USA"), node_bus(secure, "JPN")
    got, lock = [], threading.Lock()

    def on_tracks(env, body):
        with lock:
            got.extend(r.track_id for r in body)

    try:
        gate = Gate("JPN", RING, max_age_s=None, max_future_s=None)
        rx = Receiver(gate, jpn, durable="jpn-1", seal_key=SEAL["JPN"], on_tracks=on_tracks).start()
        pub = Publisher("USA", "usa-1", KEYS["USA"], ["JPN"], usa, sequencer=Sequencer(1), seal_to=SEAL_RING)
        frames = [pub.publish_tracks([report(i)], float(i))[0] for i in range(20)]
        assert all(is_sealed(f.data) and SECRET.encode() not in f.data for f in frames)
        assert wait_until(lambda: len(got) == 20)
        assert got == [f"{SECRET}{i}" for i in range(20)]
        assert gate.admitted == 20 and rx.counts["unsealable"] == 0 and sum(gate.counts.values()) == 0
        assert jpn.stats["permission_denied"] == 0 and usa.stats["permission_denied"] == 0
    finally:
        jpn.close()
        usa.close()


@needs_server
def test_a_wrong_nation_can_neither_read_nor_publish_as_another(secure):
    usa, jpn, aus, admin = node_bus(secure, "USA"), node_bus(secure, "JPN"), node_bus(secure, "AUS"), admin_bus(secure)
    snooped, aus_got = [], []
    try:
        jpn.aio.publish_timeout_s = 3.0
        # JPN may not make a consumer of USA->AUS frames, in any stream, under any name
        for durable in ("jpn-snoop", "aus-9"):
            with pytest.raises(BusError, match="refused by the server"):
                jpn.subscribe("skyweave.USA.AUS.>", snooped.append, durable=durable)
        # nor listen live to them, nor to AUS's deliveries, nor to everyone's inboxes
        for pattern in ("skyweave.USA.AUS.>", "skyweave.>", f"{inbox_prefix('AUS')}.>", "_INBOX.>", ">"):
            jpn.subscribe(pattern, lambda s, d: snooped.append(s))
        aus.subscribe("skyweave.*.AUS.>", lambda s, d: aus_got.append(d), durable="aus-1")
        pub = Publisher("USA", "usa-1", KEYS["USA"], ["AUS"], usa, sequencer=Sequencer(1000), seal_to=SEAL_RING)
        frames = [pub.publish_tracks([report(i, ("AUS", "USA"))], float(i))[0] for i in range(5)]
        assert wait_until(lambda: len(aus_got) == 5)
        time.sleep(0.3)
        assert snooped == []
        # and what it might get elsewhere (a leaked disk) does not open with JPN's key
        rejected = []
        rx = Receiver(Gate("JPN", RING, max_age_s=None, max_future_s=None), InProcessBus(),
                      seal_key=SEAL["JPN"], on_reject=rejected.append)
        assert rx.handle(frames[0].subject, frames[0].data).reason == "unsealable"

        # JPN may not publish as USA: the server refuses and USA's stream does not grow
        before = admin._run(admin.aio.js.stream_info("SKYWEAVE_USA")).state.messages
        forged = Publisher("USA", "usa-1", KEYS["JPN"], ["AUS"], jpn, sequencer=Sequencer(5000))
        with pytest.raises(BusError, match="refused by the server"):
            forged.publish_tracks([report(99, ("AUS", "USA"))], 99.0)
        with pytest.raises(nats.errors.TimeoutError):  # nor delete streams (the request is dropped)
            jpn._run(jpn.aio.js.delete_stream("SKYWEAVE_USA"))
        assert admin._run(admin.aio.js.stream_info("SKYWEAVE_USA")).state.messages == before
        assert jpn.stats["permission_denied"] >= 5
    finally:
        for b in (jpn, aus, usa, admin):
            b.close()


@needs_server
def test_the_stored_stream_holds_no_plaintext(tmp_path):
    pki = make_test_pki(tmp_path / "pki")
    server = NatsServer(tmp_path / "js", secure=SecureSetup(pki, users=USERS, admin=ADMIN)).start()
    try:
        ensure_streams(server.url, NATIONS, user=ADMIN[0], password=ADMIN[1], tls_ca=str(pki.ca))
        usa = node_bus(server, "USA")
        try:
            sealed = Publisher("USA", "usa-1", KEYS["USA"], ["JPN"], usa, sequencer=Sequencer(1), seal_to=SEAL_RING)
            plain = Publisher("USA", "usa-1", KEYS["USA"], ["AUS"], usa, sequencer=Sequencer(100))
            for i in range(10):
                sealed.publish_tracks([report(i)], float(i))
            control = f"{SECRET}CONTROL".encode()  # an unsealed frame: proves the search below can find
            plain.publish_tracks([TrackReport(nation="USA", node="usa-1", track_id=control.decode(), t=1.0,
                                              state=[0.0] * 6, releasable_to=("AUS", "USA"), quality=7)], 1.0)
        finally:
            usa.close()
        admin = admin_bus(server)  # the cluster's operator reads the stream
        try:
            msgs = [admin._run(admin.aio.js.get_msg("SKYWEAVE_USA", seq)) for seq in range(1, 12)]
        finally:
            admin.close()
        to_jpn = [m for m in msgs if m.subject == subject_for("USA", "JPN", "tracks")]
        assert len(to_jpn) == 10 and all(is_sealed(m.data) for m in to_jpn)
        assert not any(SECRET.encode() in m.data for m in to_jpn)
    finally:
        server.stop()  # flushes the store
    raw = b"".join(p.read_bytes() for p in (tmp_path / "js").rglob("*") if p.is_file())
    assert control in raw  # the unsealed control frame is there in clear
    assert raw.count(SECRET.encode()) == raw.count(control)  # no sealed frame's track id anywhere
