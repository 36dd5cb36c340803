"""Message schema v1: round trips, compact msgpack, and errors that name the field at fault."""

import math

import msgspec
import pytest

from skyweave.share import (
    SCHEMA_VERSION,
    AlertReport,
    Envelope,
    ImpactArea,
    LaunchPoint,
    MessageError,
    NodeStatus,
    TrackReport,
    as_dict,
    decode_body,
    decode_envelope,
    encode_body,
    encode_envelope,
    make_msg_id,
    signing_bytes,
)


def track(**kw):
    base = dict(
        nation="JPN", node="jpn-1", track_id="JPN-17", t=12.5, state=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        cov=[float(i == j) * 100.0 for i in range(6) for j in range(6)], cls="ballistic", class_conf=0.8,
        identity="unknown", quality=11, releasable_to=("AUS", "JPN", "USA"), sources=["JPN:17", "USA:4"],
    )
    base.update(kw)
    return TrackReport(**base)


def alert(**kw):
    base = dict(
        alert_id="JPN-W3", t=300.0, threat="ballistic", launch=LaunchPoint(39.0, 125.7, 120.0),
        impact=ImpactArea(35.7, 139.7, 540.0, 12_000.0, 4_000.0, 75.0), time_to_impact_s=240.0,
        places=["Tokyo"], confidence=0.9, releasable_to=("JPN", "USA"), nation="JPN",
    )
    base.update(kw)
    return AlertReport(**base)


def envelope(payload=b"", **kw):
    base = dict(kind="tracks", sender="JPN", node="jpn-1", seq=7, msg_id=make_msg_id("JPN", "jpn-1", 7), t=12.5,
                recipient="USA", releasable_to=("JPN", "USA"), payload=payload)
    base.update(kw)
    return Envelope(**base)


@pytest.mark.parametrize("report", [
    track(),
    track(ntn=4711, dims=2, state=[1.0, 2.0, 3.0, 4.0], cov=[], status="deleted", cls="aircraft", identity="86d2a1"),
    track(ntn="NT-00012", cov=[]),
])
def test_track_report_round_trip(report):
    out = decode_body("tracks", encode_body("tracks", [report, report]))
    assert out == [report, report]
    assert isinstance(out[0].state[0], float)


def test_alert_and_status_round_trip():
    a = alert()
    closed = alert(status="closed", launch=None, impact=None, time_to_impact_s=None, threat="cruise")
    assert decode_body("alerts", encode_body("alerts", [a, closed])) == [a, closed]
    s = NodeStatus(nation="USA", node="usa-1", t=99.0, tracks=42, uptime_s=99.0, last_seq=17,
                   rejected={"stale": 2, "bad_signature": 1})
    assert decode_body("status", encode_body("status", s)) == s


def test_envelope_round_trip_and_wire_is_compact_array():
    body = encode_body("tracks", [track()])
    env = envelope(body, sig=b"\x01" * 64)
    wire = encode_envelope(env)
    assert decode_envelope(wire) == env
    # a msgpack array of the 11 fields in order, no field names on the wire
    assert msgspec.msgpack.decode(wire)[:3] == [SCHEMA_VERSION, "tracks", "JPN"]
    assert b"releasable_to" not in wire and b"recipient" not in wire
    # one 3-D track with a full covariance: 6+36 float64 and a little framing
    assert len(body) < (6 + 36) * 9 + 120


def test_signing_bytes_cover_every_field_but_the_signature():
    env = envelope(b"payload")
    base = signing_bytes(env)
    assert signing_bytes(msgspec.structs.replace(env, sig=b"\x02" * 64)) == base
    for change in [dict(kind="alerts"), dict(sender="USA", msg_id="USA:jpn-1:7"), dict(node="jpn-2", msg_id="JPN:jpn-2:7"),
                   dict(seq=8, msg_id="JPN:jpn-1:8"), dict(t=12.500001), dict(recipient="AUS"),
                   dict(releasable_to=("USA",)), dict(payload=b"payloae")]:
        assert signing_bytes(msgspec.structs.replace(env, **change)) != base, change


def test_extra_trailing_fields_are_ignored_for_forward_compatibility():
    raw = msgspec.msgpack.decode(encode_body("tracks", [track()]))
    raw[0].append("a field from schema 1.1")
    assert decode_body("tracks", msgspec.msgpack.encode(raw)) == [track()]


@pytest.mark.parametrize("mutate,field,words", [
    (lambda r: r.__setitem__(5, [1.0, 2.0]), "[0]", "`state` must hold 6 numbers"),
    (lambda r: r.__setitem__(8, "plane"), "[0].class", "Invalid enum value 'plane'"),
    (lambda r: r.__setitem__(11, 16), "[0].quality", "<= 15"),
    (lambda r: r.__setitem__(12, "released"), "[0].status", "Invalid enum value"),
    (lambda r: r.__setitem__(13, ["JPN", "usa"]), "[0].releasable_to[1]", "[A-Z]{3}"),
    (lambda r: r.__setitem__(13, ["JPN", "ABC"]), "[0]", "not an ISO 3166-1 alpha-3"),
    (lambda r: r.__setitem__(5, [1.0, 2.0, math.nan, 4.0, 5.0, 6.0]), "[0]", "finite"),
    (lambda r: r.__setitem__(6, [0.0] * 35), "[0]", "36 numbers"),
    (lambda r: r.__setitem__(1, 7), "[0].nation", "Expected `str`"),
    (lambda r: r.__setitem__(14, ["JPN-17"]), "[0].sources[0]", "[A-Z]{3}:"),
])
def test_bad_track_report_names_the_field(mutate, field, words):
    raw = msgspec.msgpack.decode(encode_body("tracks", [track()]))
    mutate(raw[0])
    with pytest.raises(MessageError) as e:
        decode_body("tracks", msgspec.msgpack.encode(raw))
    assert e.value.field == field
    assert words in str(e.value)


@pytest.mark.parametrize("data,words", [
    (b"", "truncated"),
    (b"\xc1", "malformed"),
    (b"not msgpack at all", "Expected `array`"),
    (msgspec.msgpack.encode([2, "tracks", "JPN", "n", 1, "JPN:n:1", 0.0, "USA", [], b"", b""]), "unsupported schema version 2"),
    (msgspec.msgpack.encode([1, "gossip", "JPN", "n", 1, "JPN:n:1", 0.0, "USA", [], b"", b""]), "Invalid enum value 'gossip'"),
    (msgspec.msgpack.encode([1, "tracks", "JPN", "n", 1, "JPN:n:2", 0.0, "USA", [], b"", b""]), "`msg_id` must be 'JPN:n:1'"),
    (msgspec.msgpack.encode([1, "tracks", "JPN", "n", 0, "JPN:n:0", 0.0, "USA", [], b"", b""]), ">= 1"),
    (msgspec.msgpack.encode([1, "tracks", "JPN", "n", 1, "JPN:n:1", 0.0, "USA", [], b"", b"short"]), "64 bytes"),
    (msgspec.msgpack.encode([1, "tracks", "JPN", "n", 1, "JPN:n:1", math.inf, "USA", [], b"", b""]), "finite"),
])
def test_malformed_envelopes_raise_message_error(data, words):
    with pytest.raises(MessageError) as e:
        decode_envelope(data)
    assert words in str(e.value)


def test_envelope_field_errors_name_the_field():
    with pytest.raises(MessageError) as e:
        decode_envelope(msgspec.msgpack.encode([1, "tracks", "JPN", "n", 1, "JPN:n:1", 0.0, "usa", [], b"", b""]))
    assert e.value.field == "recipient"


def test_non_canonical_encoding_is_refused():
    env = envelope(b"")
    wire = bytearray(encode_envelope(env))
    # re-encode seq=7 (positive fixint 0x07) as uint8 0xcc 0x07: same value, different bytes
    i = wire.index(b"\xa5jpn-1") + 6
    assert wire[i] == 7
    wire[i:i + 1] = b"\xcc\x07"
    with pytest.raises(MessageError, match="canonical"):
        decode_envelope(bytes(wire))


def test_oversized_frame_is_refused_before_parsing():
    with pytest.raises(MessageError, match="at most 1000 bytes"):
        decode_envelope(b"\x00" * 1001, max_bytes=1000)


def test_as_dict_uses_wire_names():
    d = as_dict(track())
    assert d["class"] == "ballistic" and "cls" not in d
    assert as_dict(alert())["impact"]["semi_major_m"] == 12_000.0


def test_invalid_utf8_in_a_string_is_a_message_error():
    wire = bytearray(encode_envelope(envelope(b"")))
    i = wire.index(b"jpn-1")
    wire[i] = 0xFF
    with pytest.raises(MessageError, match="UnicodeDecodeError|Invalid UTF-8"):  # msgspec 0.22 / 0.23
        decode_envelope(bytes(wire))
