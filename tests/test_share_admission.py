"""The receiving gate: every way a frame can be wrong is rejected, counted by name and logged."""

import logging
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyweave.share import (
    REASONS,
    Envelope,
    Gate,
    Keyring,
    NodeStatus,
    Publisher,
    Sequencer,
    TrackReport,
    encode_body,
    encode_envelope,
    generate_key,
    make_msg_id,
    sign_envelope,
)

KEYS = {n: generate_key() for n in ("USA", "JPN", "AUS")}
ROGUE = generate_key()  # a key nobody trusts


def keyring(*nations):
    return Keyring({n: KEYS[n].public_key() for n in nations or KEYS})


def report(i=0, marking=("AUS", "JPN", "USA"), nation="USA"):
    return TrackReport(nation=nation, node=f"{nation.lower()}-1", track_id=f"{nation}-{i}", t=100.0,
                       state=[1.0 * i, 2.0, 3.0, 4.0, 5.0, 6.0], releasable_to=marking, quality=9)


def publisher(nation="USA", start=1, **kw):
    return Publisher(nation, f"{nation.lower()}-1", KEYS[nation], [n for n in KEYS if n != nation],
                     sequencer=Sequencer(start), **kw)


def frame(pub, reports=None, t=100.0, partner="JPN"):
    return pub.build("tracks", reports if reports is not None else [report()], t, partner).data


def raw_envelope(key=None, *, sender="USA", node="usa-1", seq=1, t=100.0, recipient="JPN",
                 releasable_to=("JPN", "USA"), body=None, kind="tracks"):
    """An envelope built by hand (as a misbehaving or hostile sender could)."""
    body = [report()] if body is None else body
    env = Envelope(kind=kind, sender=sender, node=node, seq=seq, msg_id=make_msg_id(sender, node, seq), t=t,
                   recipient=recipient, releasable_to=releasable_to, payload=encode_body(kind, body))
    return encode_envelope(sign_envelope(env, key) if key is not None else env)


@pytest.fixture
def gate():
    return Gate("JPN", keyring(), max_age_s=30.0, max_future_s=5.0, window=64)


def test_good_frame_is_admitted_with_its_body(gate):
    v = gate.admit(frame(publisher()), now=100.0)
    assert v.ok and v.envelope.sender == "USA" and v.body == [report()]
    assert gate.stats() == {"admitted": 1, **{r: 0 for r in REASONS}}


def test_tampering_any_byte_is_rejected(gate):
    data = frame(publisher(), [report(0), report(1, ("JPN", "USA"))])
    rng = random.Random(5)
    reasons = set()
    for i in range(len(data)):
        for delta in (1, 0x80, rng.randrange(1, 256)):
            bad = bytearray(data)
            bad[i] = (bad[i] + delta) % 256
            v = gate.admit(bytes(bad), now=100.0)
            assert not v.ok, f"byte {i} changed by {delta} was admitted"
            reasons.add(v.reason)
    assert reasons <= {"malformed", "bad_signature", "unknown_sender"}
    assert "bad_signature" in reasons and "malformed" in reasons
    assert gate.admitted == 0
    assert gate.admit(data, now=100.0).ok  # the untouched frame still goes through


def test_truncated_and_extended_frames_are_malformed(gate):
    data = frame(publisher())
    for bad in (data[:-1], data[: len(data) // 2], data + b"\x00", b"", b"\x90"):
        assert gate.admit(bad, now=100.0).reason == "malformed"


def test_forged_unsigned_unknown_sender(gate):
    assert gate.admit(raw_envelope(ROGUE), now=100.0).reason == "bad_signature"  # claims USA, signed by another key
    assert gate.admit(raw_envelope(None), now=100.0).reason == "unsigned"
    gbr = raw_envelope(ROGUE, sender="GBR", body=[report(nation="GBR", marking=("GBR", "JPN"))], releasable_to=("GBR", "JPN"))
    assert gate.admit(gbr, now=100.0).reason == "unknown_sender"
    # a trusted partner's key cannot speak for another partner
    assert gate.admit(raw_envelope(KEYS["AUS"]), now=100.0).reason == "bad_signature"
    assert gate.rejected == {"bad_signature": 2, "unsigned": 1, "unknown_sender": 1}


def test_not_for_me_and_unreleasable(gate):
    assert gate.admit(frame(publisher(), partner="AUS"), now=100.0).reason == "not_for_me"
    # frame marking excludes JPN (a sender that skipped its filter)
    v = gate.admit(raw_envelope(KEYS["USA"], releasable_to=("AUS", "USA")), now=100.0)
    assert v.reason == "unreleasable" and "frame marking" in v.detail
    # frame marking claims JPN but one item inside is USA-only
    v = gate.admit(raw_envelope(KEYS["USA"], seq=2, body=[report(0), report(1, ("USA",))]), now=100.0)
    assert v.reason == "unreleasable" and "item 1" in v.detail
    assert gate.admitted == 0


def test_stale_and_future(gate):
    pub = publisher()
    assert gate.admit(frame(pub, t=69.9), now=100.0).reason == "stale"
    assert gate.admit(frame(pub, t=105.1), now=100.0).reason == "future"
    assert gate.admit(frame(pub, t=70.1), now=100.0).ok
    assert gate.admit(frame(pub, t=104.9), now=100.0).ok
    lax = Gate("JPN", keyring(), max_age_s=None, max_future_s=None)
    assert lax.admit(frame(pub, t=-1e6), now=100.0).ok and lax.admit(frame(pub, t=1e6), now=100.0).ok


def test_clock_is_used_when_now_is_not_given():
    t = [100.0]
    g = Gate("JPN", keyring(), clock=lambda: t[0])
    data = frame(publisher(), t=100.0)
    t[0] = 200.0
    assert g.admit(data).reason == "stale"
    with pytest.raises(TypeError):
        Gate("JPN", keyring()).admit(data)


def test_duplicates_are_idempotent_and_counted_apart(gate, caplog):
    data = frame(publisher())
    assert gate.admit(data, now=100.0).ok
    with caplog.at_level(logging.WARNING, logger="skyweave.share.admission"):
        for _ in range(3):
            v = gate.admit(data, now=100.0)
            assert v.reason == "duplicate"
    assert gate.admitted == 1 and gate.counts["duplicate"] == 3 and gate.counts["replayed"] == 0
    assert caplog.text == ""  # a duplicate is not an attack: no warning


def test_reordered_within_window_are_admitted(gate):
    pub = publisher()
    frames = [frame(pub, [report(i)]) for i in range(40)]
    order = list(range(40))
    random.Random(3).shuffle(order)
    admitted = [i for i in order if gate.admit(frames[i], now=100.0).ok]
    assert sorted(admitted) == list(range(40))
    assert gate.high_water("USA", "usa-1") == 40


def test_replayed_old_messages_are_rejected(gate):
    pub = publisher()
    frames = [frame(pub, [report(i)]) for i in range(200)]
    for f in frames:
        assert gate.admit(f, now=100.0).ok
    # frames[i] carries seq i + 1; hwm 200, W 64: seq <= 136 is a replay, 137..200 a duplicate
    assert gate.admit(frames[10], now=100.0).reason == "replayed"
    assert gate.admit(frames[135], now=100.0).reason == "replayed"
    assert gate.admit(frames[136], now=100.0).reason == "duplicate"
    assert gate.admitted == 200 and gate.counts["replayed"] == 2


def test_replay_window_boundary_is_exact():
    g = Gate("JPN", keyring(), window=10, max_age_s=None)
    pub = publisher()
    frames = {}
    for seq in range(1, 31):
        frames[seq] = frame(pub, [report(seq)])
    order = [s for s in range(1, 31) if s != 20]
    for s in order:
        assert g.admit(frames[s], now=100.0).ok
    # hwm 30, W 10: seq 20 is at hwm - W -> replayed even though it was never seen; 21 is a duplicate
    assert g.admit(frames[20], now=100.0).reason == "replayed"
    assert g.admit(frames[21], now=100.0).reason == "duplicate"


def test_same_id_different_content_is_a_replay(gate):
    assert gate.admit(raw_envelope(KEYS["USA"], seq=5, body=[report(1)]), now=100.0).ok
    v = gate.admit(raw_envelope(KEYS["USA"], seq=5, body=[report(2)]), now=100.0)
    assert v.reason == "replayed" and "different content" in v.detail


def test_rejected_frames_do_not_burn_their_sequence_number(gate):
    pub = publisher()
    data = frame(pub, t=100.0)
    assert gate.admit(data, now=200.0).reason == "stale"
    assert gate.admit(data, now=101.0).ok  # judged afresh, not a "duplicate" of a refused frame


def test_each_rejection_logs_one_line_with_sender_id_and_reason(gate, caplog):
    with caplog.at_level(logging.WARNING, logger="skyweave.share.admission"):
        gate.admit(raw_envelope(ROGUE, seq=9), now=100.0)
        gate.admit(b"\xc1garbage", now=100.0)
    lines = caplog.text.strip().splitlines()
    assert len(lines) == 2
    assert "USA:usa-1:9" in lines[0] and "USA/usa-1" in lines[0] and "bad_signature" in lines[0]
    assert "malformed" in lines[1]


def test_status_must_describe_its_sender(gate):
    s = NodeStatus(nation="AUS", node="aus-1", t=100.0)
    v = gate.admit(raw_envelope(KEYS["USA"], kind="status", body=s), now=100.0)
    assert v.reason == "malformed" and "status of AUS/aus-1" in v.detail
    good = NodeStatus(nation="USA", node="usa-1", t=100.0, tracks=3)
    assert gate.admit(raw_envelope(KEYS["USA"], seq=2, kind="status", body=good), now=100.0).ok


def test_per_sender_node_windows_are_independent(gate):
    a = Publisher("USA", "usa-1", KEYS["USA"], ["JPN"], sequencer=Sequencer(1))
    b = Publisher("USA", "usa-2", KEYS["USA"], ["JPN"], sequencer=Sequencer(1))
    assert gate.admit(a.build("tracks", [report()], 100.0, "JPN").data, now=100.0).ok
    assert gate.admit(b.build("tracks", [report()], 100.0, "JPN").data, now=100.0).ok  # same seq 1, other node


def test_state_survives_a_restart(gate):
    pub = publisher()
    frames = [frame(pub, [report(i)]) for i in range(100)]
    for f in frames:
        gate.admit(f, now=100.0)
    again = Gate("JPN", keyring(), window=64)
    again.load_state(gate.state())
    assert again.admit(frames[99], now=100.0).reason == "duplicate"
    assert again.admit(frames[5], now=100.0).reason == "replayed"
    assert again.high_water("USA", "usa-1") == 100
    with pytest.raises(ValueError, match="gate state"):
        again.load_state(b"\x01\x02")


def test_bounded_memory_per_sender():
    g = Gate("JPN", keyring(), window=32, max_age_s=None)
    pub = publisher()
    for i in range(500):
        g.admit(frame(pub, [report(i)]), now=100.0)
    (win,) = g._windows.values()
    assert len(win.recent) <= 32 and len(win.heap) <= 32


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash_the_gate(data):
    g = Gate("JPN", keyring())
    v = g.admit(data, now=0.0)
    assert not v.ok and v.reason in REASONS


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_structurally_valid_garbage_never_crashes_the_gate(data):
    """Well-formed msgpack arrays of the right shape with random field values."""
    g = Gate("JPN", keyring())
    fields = [
        data.draw(st.one_of(st.integers(-2, 3), st.text(max_size=3))),
        data.draw(st.sampled_from(["tracks", "alerts", "status", "x"])),
        data.draw(st.sampled_from(["USA", "JPN", "XYZ", "usa"])),
        data.draw(st.text(max_size=4)),
        data.draw(st.integers(-1, 2**64 - 1)),
        data.draw(st.text(max_size=12)),
        data.draw(st.floats(allow_nan=True)),
        data.draw(st.sampled_from(["JPN", "AUS", ""])),
        data.draw(st.lists(st.sampled_from(["JPN", "USA", "ZZZ", "jp"]), max_size=3)),
        data.draw(st.binary(max_size=40)),
        data.draw(st.binary(max_size=70)),
    ]
    v = g.admit(msgspec.msgpack.encode(fields), now=0.0)
    assert not v.ok and v.reason in REASONS
