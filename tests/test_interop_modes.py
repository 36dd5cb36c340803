"""Mode S / ADS-B decoding, checked field by field against pyModeS (GPL, test-only oracle).

The messages are not copied from anyone's recording: short documented vectors (the examples of
the public specifications and tutorials), messages of random payload with a valid parity, and
messages this project's own encoder (tests/support/modes_encoder.py, written from the standards)
builds from known positions, velocities, identities and accuracy categories, including a
synthetic recording of one flight."""

from __future__ import annotations

import math
import random

import pytest

from skyweave.interop.adsb import AdsbDecoder, haversine_m
from skyweave.interop.feeds import AvrReader, BeastReader, SbsReader, avr_line, beast_frame
from skyweave.interop.modes import (
    NACP_EPU_M, NUCP_RC_M, SIGMA_PER_R95, TC_NUCP, ac13_feet, cpr_global, cpr_local, cpr_nl, crc24, decode_frame,
)
from skyweave.interop.records import Tally
from tests.support import modes_encoder as enc

pms = pytest.importorskip("pyModeS")
from pyModeS.position import airborne_position_pair, airborne_position_with_ref  # noqa: E402

FLIGHT = enc.Flight()
ROWS = enc.synthetic_recording(FLIGHT)
VECTORS = ["20001718029FCD", "2A00516D492B80", "200CBE4ED80137", "8D485020994409940838175B284F",
           "8DA05F219B06B6AF189400CBC33F", "8D4841409B04000CA04400000000", "8D40621D58C382D690C8AC2863A7",
           "8D40621D58C386435CC412692AD6", "8D40058B58C901375147EFD09357", "8d484fde5803b647ecec4fcdd74f",
           "8d4845575803c647bcec2a980abc", "8d3424d25803d64c18ee03351f89", "8d4401e458058645a8ea90496290",
           "8d346355580596459cea86756acc", "8d343386581f06318ad4fecab734", "8d3461cf9908388930080f948ea1",
           "8d394c0f990c4932780838866883", "8D406B902015A678D4D220AA4BDA"]


def _check(h: str) -> None:
    ref = pms.decode(h)
    m = decode_frame(bytes.fromhex(h))
    assert m is not None and m.df == ref["df"]
    assert "%06X" % m.icao == ref["icao"]
    if ref.get("crc_valid") is not None:
        assert m.crc_ok == ref["crc_valid"]
    if "altitude" in ref and ref.get("typecode") not in range(20, 23):
        assert m.alt_baro_ft == ref["altitude"], h
    if "callsign" in ref:
        assert m.callsign.replace(" ", "") == ref["callsign"].translate({ord(c): None for c in "#_ "})
    if "squawk" in ref:
        assert m.squawk == ref["squawk"]
    if "cpr_lat" in ref:
        assert (m.cpr_lat, m.cpr_lon, int(m.cpr_odd)) == (ref["cpr_lat"], ref["cpr_lon"], ref["cpr_format"])
    if ref.get("groundspeed") is not None:
        assert abs(m.gs_kt - ref["groundspeed"]) < 1.0 and m.track_deg == pytest.approx(ref["track"], abs=1e-9)
    if ref.get("airspeed") is not None:
        assert m.airspeed_kt == ref["airspeed"] and m.heading_deg == pytest.approx(ref["heading"])
    if ref.get("vertical_rate") is not None:
        assert m.vrate_fpm == ref["vertical_rate"]
    if ref.get("geo_minus_baro") is not None:
        assert m.geo_minus_baro_ft == ref["geo_minus_baro"]
    if "nuc_p" in ref and m.tc in TC_NUCP:
        assert TC_NUCP[m.tc] == ref["nuc_p"], h
    if "nic_b" in ref:
        assert m.nic_b == ref["nic_b"]
    if ref.get("typecode") == 31:
        assert (m.version, m.nic_a, m.nacp) == (ref["version"], ref["nic_supplement_a"], ref["nac_p"]), h
        assert m.surface == (ref["subtype"] == 1)


@pytest.mark.parametrize("h", VECTORS)
def test_documented_vectors_decode_as_pymodes_does(h):
    _check(h)


def test_every_message_of_the_synthetic_recording_decodes_as_pymodes_does():
    kinds = set()
    for _, h in ROWS:
        _check(h)
        m = decode_frame(bytes.fromhex(h))
        assert m.icao == FLIGHT.icao and m.crc_ok
        kinds.add((m.df, m.tc))
    assert kinds == {(17, 11), (17, 19), (17, 4), (17, 31), (4, None), (5, None), (11, None), (20, None), (21, None)}


def _encode(df17_me: int, icao: int) -> str:
    return enc.extended_squitter(icao, df17_me)


def test_random_messages_agree_with_pymodes():
    """Random airborne positions (baro and GNSS), velocities and identities with a valid parity."""
    rng = random.Random(7)
    for _ in range(600):
        tc = rng.choice([1, 4, 9, 11, 15, 18, 19, 20, 21])
        me = (tc << 51) | rng.getrandbits(51)
        if tc == 19:
            me = (me & ~(0x7 << 48)) | (rng.choice([1, 2, 3, 4]) << 48)
        _check(_encode(me, rng.getrandbits(24)))


def test_random_status_and_surveillance_replies_agree_with_pymodes():
    """Operational status (every version, NIC-A, NACp, airborne and surface) and DF 4/5/20/21
    replies of random content, whose address pyModeS and skyweave both recover from the parity."""
    rng = random.Random(11)
    for _ in range(400):
        me = enc.status_me(rng.randrange(3), rng.randrange(16), nic_a=rng.randrange(2), surface=rng.random() < 0.2,
                           sil=rng.randrange(4)) | (rng.getrandbits(16) << 32)
        _check(_encode(me, rng.getrandbits(24)))
        icao = rng.getrandbits(24)
        df = rng.choice([4, 5, 20, 21])
        h = enc.surveillance(df, icao, rng.getrandbits(13), fs=rng.randrange(6), dr=rng.randrange(32),
                             um=rng.randrange(64), mb=rng.getrandbits(56))
        _check(h)
        assert decode_frame(bytes.fromhex(h)).icao == icao


def test_encoded_states_decode_to_what_was_encoded_in_both_decoders():
    """Known fields in, the same fields out of pyModeS and of skyweave: altitudes (25-ft ES, 13-bit
    replies), identities, callsigns, ground and air velocities, vertical rates, GNSS - baro."""
    rng = random.Random(5)
    alnum = [c for c in enc.CHARSET if c.isalnum()]
    for _ in range(300):
        icao = rng.getrandbits(24)
        alt = rng.randrange(-1000, 50175, 25)
        h = enc.surveillance(rng.choice([4, 20]), icao, enc.ac13_25ft(alt))
        assert pms.decode(h)["altitude"] == alt == decode_frame(bytes.fromhex(h)).alt_baro_ft
        sq = "".join(str(rng.randrange(8)) for _ in range(4))
        h = enc.surveillance(rng.choice([5, 21]), icao, enc.identity_code(sq))
        assert pms.decode(h)["squawk"] == sq == decode_frame(bytes.fromhex(h)).squawk
        call = "".join(rng.choice(alnum) for _ in range(rng.randrange(1, 9)))
        h = _encode(enc.identification_me(call, tc=rng.randrange(1, 5)), icao)
        _check(h)
        assert decode_frame(bytes.fromhex(h)).callsign.rstrip() == call
        ve, vn = rng.randrange(-1000, 1000), rng.randrange(-1000, 1000)
        vr, gmb = rng.randrange(-500, 500) * 64, rng.randrange(-120, 120) * 25
        h = _encode(enc.velocity_ground_me(ve, vn, vr, gmb), icao)
        ref = pms.decode(h)
        _check(h)
        m = decode_frame(bytes.fromhex(h))
        assert (ref["vertical_rate"], ref["geo_minus_baro"]) == (vr, gmb) == (m.vrate_fpm, m.geo_minus_baro_ft)
        assert m.gs_kt == pytest.approx(math.hypot(ve, vn), abs=1e-9)
        if ve or vn:
            assert m.track_deg == pytest.approx(math.degrees(math.atan2(ve, vn)) % 360.0, abs=1e-9)
        hdg, asp = rng.randrange(1024) * 360.0 / 1024, rng.randrange(0, 1000)
        h = _encode(enc.velocity_air_me(hdg, asp, vr, gmb, tas=rng.random() < 0.5), icao)
        _check(h)
        m = decode_frame(bytes.fromhex(h))
        assert (m.heading_deg, m.airspeed_kt) == (hdg, asp)
        alt = rng.randrange(-1000, 50175, 25)
        lat, lon = rng.uniform(-85, 85), rng.uniform(-180, 180)
        h = _encode(enc.position_me(lat, lon, alt, rng.random() < 0.5, tc=rng.randrange(9, 19)), icao)
        _check(h)
        assert decode_frame(bytes.fromhex(h)).alt_baro_ft == alt


def test_gnss_height_is_metres_on_the_air():
    me = (20 << 51) | (1000 << 36) | (0 << 34) | (12345 << 17) | 54321
    h = _encode(me, 0xABCDEF)
    m = decode_frame(bytes.fromhex(h))
    ref = pms.decode(h)
    assert m.alt_geom_ft == pytest.approx(ref["altitude"], abs=1.0)
    assert m.alt_geom_ft * 0.3048 == pytest.approx(1000.0)


def test_parity_catches_a_flipped_bit_and_recovers_addresses():
    raw = bytearray.fromhex("8D406B902015A678D4D220AA4BDA")
    assert crc24(bytes(raw)) == 0
    for bit in range(112):
        b = bytearray(raw)
        b[bit // 8] ^= 0x80 >> (bit % 8)
        assert crc24(bytes(b)) != 0
    assert decode_frame(bytes.fromhex("20001718029FCD")).icao == int(pms.decode("20001718029FCD")["icao"], 16)


def test_gillham_altitudes_match_pymodes_for_every_legal_code():
    from pyModeS._altcode import altcode_to_altitude

    n = 0
    for ac in range(1 << 13):
        if ac & 0x50:  # Q or M set: not the Gillham branch
            continue
        mine = ac13_feet(ac)
        ref = altcode_to_altitude(ac)
        assert mine == ref, hex(ac)
        n += mine is not None
    assert n > 1000


def test_cpr_global_and_local_match_pymodes_and_the_truth_on_the_recording():
    dec = AdsbDecoder()
    even = odd = last = None
    g = loc = 0
    for ts, h in ROWS:
        m = decode_frame(bytes.fromhex(h))
        fix = dec.feed(ts, m)
        if m.cpr_lat is not None:
            if m.cpr_odd:
                odd = m
            else:
                even = m
        if not hasattr(fix, "lat"):
            continue
        if fix.decode == "global":
            ref = airborne_position_pair(even.cpr_lat, even.cpr_lon, odd.cpr_lat, odd.cpr_lon, even_is_newer=not m.cpr_odd)
            g += 1
        else:
            ref = airborne_position_with_ref(int(m.cpr_odd), m.cpr_lat, m.cpr_lon, *last)
            loc += 1
        assert (fix.lat, fix.lon) == pytest.approx(ref, abs=1e-9)
        lat, lon, _ = FLIGHT.state(ts - FLIGHT.t0)
        assert haversine_m(fix.lat, fix.lon, lat, lon) < 10.0  # the 5.1 m CPR grid
        last = (fix.lat, fix.lon)
    assert g >= 1 and loc > 90


def test_accuracy_categories_are_pymodes_tables_and_reach_the_fixes():
    """NACp and NUCp bounds equal pyModeS's tables (EPU, RCu; to their rounding), the NUCp of each
    type code too; a fix takes the type code's reading until the operational status tells the
    version and NACp, then the NACp's."""
    from pyModeS._uncertainty import NACp, NUCp, TC_NUCp_lookup

    for k, bound in enumerate(NACP_EPU_M):
        assert (bound is None and NACp[k]["EPU"] is None) or abs(bound - NACp[k]["EPU"]) <= 0.5, k
    for k, bound in enumerate(NUCP_RC_M):
        assert (bound is None and NUCp[k]["RCu"] is None) or abs(bound - NUCp[k]["RCu"]) <= 0.5, k
    assert TC_NUCP == {tc: n for tc, n in TC_NUCp_lookup.items() if tc >= 9}
    dec = AdsbDecoder()
    seen = {}
    status_at = next(ts for ts, h in ROWS if decode_frame(bytes.fromhex(h)).tc == 31)
    for ts, h in ROWS:
        fix = dec.feed(ts, decode_frame(bytes.fromhex(h)))
        if hasattr(fix, "lat"):
            seen.setdefault(fix.quality, []).append(ts)
            if fix.quality == "NACp 8":
                assert fix.sigma_m == pytest.approx(math.hypot(92.6 * SIGMA_PER_R95, 5.1 / math.sqrt(12)), abs=0.1)
            else:  # TC 11, NIC supplement B 0: NUCp 7 (92.6 m) or NIC 8 (185.2 m), the wider
                assert fix.quality == "NUCp/NIC" and fix.sigma_m == pytest.approx(
                    math.hypot(185.2 * SIGMA_PER_R95, 5.1 / math.sqrt(12)), abs=0.1)
    assert max(seen["NUCp/NIC"]) < status_at < min(seen["NACp 8"])
    # a version 0 aircraft: its NUCp, from the type code pyModeS reads the same
    dec = AdsbDecoder(reference=(FLIGHT.lat0, FLIGHT.lon0))
    dec.feed(0.0, decode_frame(bytes.fromhex(_encode(enc.status_me(0, 0), FLIGHT.icao))))
    for tc in (9, 10, 11, 12, 13, 14, 15, 16, 17, 18):
        h = _encode(enc.position_me(FLIGHT.lat0, FLIGHT.lon0, 30000, False, tc=tc), FLIGHT.icao)
        fix = dec.feed(1.0, decode_frame(bytes.fromhex(h)))
        nuc = pms.decode(h)["nuc_p"]
        if NUCp[nuc]["RCu"] is None:
            assert fix == "no accuracy category"
        else:
            assert fix.quality == f"NUCp {nuc}" and fix.sigma_m == pytest.approx(
                math.hypot(NUCP_RC_M[nuc] * SIGMA_PER_R95, 5.1 / math.sqrt(12)), abs=0.1)


def test_cpr_functions_on_random_positions():
    """Random positions through the standard's CPR encoding (the helper's), decoded back globally
    and locally by skyweave and by pyModeS: the same place, within the 5 m grid of the truth."""
    rng = random.Random(3)
    n = 0
    for _ in range(2000):
        lat, lon = rng.uniform(-85, 85), rng.uniform(-180, 180)
        e, o = enc.cpr_encode(lat, lon, False), enc.cpr_encode(lat, lon, True)
        assert enc.nl(lat) == cpr_nl(lat)
        latest_odd = rng.random() < 0.5
        got = cpr_global(*e, *o, latest_odd)
        ref = airborne_position_pair(*e, *o, even_is_newer=not latest_odd)
        assert (got is None) == (ref is None)
        if got is None:
            continue
        n += 1
        assert got == pytest.approx(ref, abs=1e-9)
        assert haversine_m(lat, lon, *got) < 10.0
        ref_lat, ref_lon = lat + rng.uniform(-1, 1), lon + rng.uniform(-1, 1)
        assert haversine_m(lat, lon, *cpr_local(*e, False, ref_lat, ref_lon)) < 10.0
        assert cpr_local(*e, False, ref_lat, ref_lon) == pytest.approx(
            airborne_position_with_ref(0, *e, ref_lat, ref_lon), abs=1e-9)
        assert cpr_local(*o, True, ref_lat, ref_lon) == pytest.approx(
            airborne_position_with_ref(1, *o, ref_lat, ref_lon), abs=1e-9)
    assert n > 1900


def test_three_framings_give_the_same_frames():
    msgs = [bytes.fromhex(h) for _, h in ROWS]
    counters = [int((ts - ROWS[0][0]) * 12e6) + 5 for ts, _ in ROWS]
    beast = b"".join(beast_frame(m, c, 100) for m, c in zip(msgs, counters))
    t1 = Tally()
    got_b = list(BeastReader(beast, t1))
    assert [m for _, m, _ in got_b] == msgs and not t1.skipped
    assert [round(ts, 6) for ts, _, _ in got_b] == [round(ts - ROWS[0][0], 6) for ts, _ in ROWS]
    avr = [avr_line(m, c) for m, c in zip(msgs, counters)] + [avr_line(m) for m in msgs[:3]]
    t2 = Tally()
    got_a = list(AvrReader(avr, t2))
    assert [m for _, m, _ in got_a] == msgs + msgs[:3] and not t2.skipped
    stamped = ["%.6f *%s;" % (ts, h) for ts, h in ROWS]
    reader = AvrReader(stamped, Tally())
    assert [ts for ts, _, _ in reader] == [ts for ts, _ in ROWS] and reader.absolute


def test_beast_escapes_and_cuts_between_reads():
    msg = bytes.fromhex("8D1A1A1A58C382D690C8AC2863A7")  # 0x1a bytes inside
    stream = beast_frame(msg, 0x1A1A1A1A1A1A, 0x1A) * 3
    assert stream.count(b"\x1a\x1a") >= 6
    for cut in range(1, len(stream)):
        r = BeastReader(tally=Tally())
        got = list(r.feed(stream[:cut])) + list(r.feed(stream[cut:])) + list(r.feed(b"", final=True))
        assert [m for _, m, _ in got] == [msg] * 3, cut
        assert not r.tally.skipped


def test_bad_beast_avr_and_sbs_records_are_named_and_the_rest_kept():
    good = beast_frame(bytes.fromhex(ROWS[0][1]), 1, 1)
    data = good + b"\x1a\x33\x00\x01" + good + b"\x1a\x39" + b"x" * 10 + good + good[:12]
    t = Tally()
    got = list(BeastReader(data, t, "f.bin"))
    assert len(got) == 3
    assert t.skipped["truncated Beast frame"] == 2 and t.skipped["bad Beast frame"] == 1
    assert any("f.bin: byte %d" % len(good) in str(e) for e in t.errors)
    lines = ["*" + ROWS[0][1] + ";", "*8D40;", "garbage", "@12345" + ROWS[0][1] + ";", "*" + ROWS[1][1], ""]
    t = Tally()
    got = list(AvrReader(lines, t, "f.txt"))
    assert [p for _, _, p in got] == [1]
    assert {e.where for e in t.errors} == {"f.txt:2", "f.txt:3", "f.txt:4", "f.txt:5"}
    sbs = ["MSG,3,1,1,406B90,1,2016/03/14,23:00:00.000,2016/03/14,23:00:00.000,,38000,,,51.1,7.2,,,0,0,0,0",
           "MSG,3,1,1,406B90,1,2016/03/14,23:00:01.000",
           "MSG,3,1,1,ZZZZZZ,1,2016/03/14,23:00:00.000,2016/03/14,23:00:00.000,,38000,,,51.1,7.2,,,0,0,0,0",
           "MSG,3,1,1,406B90,1,2016/03/14,25:00:00.000,2016/03/14,23:00:00.000,,38000,,,51.1,7.2,,,0,0,0,0",
           "MSG,3,1,1,406B90,1,2016/03/14,23:00:02.000,2016/03/14,23:00:00.000,,38000,,,99.1,7.2,,,0,0,0,0",
           "MSG,4,1,1,406B90,1,2016/03/14,23:00:03.000,2016/03/14,23:00:00.000,,,450,90,,,0,,0,0,0,0"]
    t = Tally()
    got = list(SbsReader(sbs, t, "f.sbs"))
    assert [p for _, _, p in got] == [1, 6]
    assert sum(t.skipped.values()) == 4 and "f.sbs:2" in {e.where for e in t.errors}
