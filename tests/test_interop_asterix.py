"""ASTERIX in and out, checked against asterix-decoder (GPL, test-only oracle) on real recordings:
the captures that ship in asterix-decoder's package (tests/support/asterix_samples.py); the tests
that need one skip where asterix-decoder is not installed."""

from __future__ import annotations

import math
from datetime import datetime, timezone
import numpy as np
import pytest

from skyweave.core.model import Origin, SensorSet
from skyweave.interop.asterix import UAP, decode_block, iter_blocks, parse_record
from skyweave.interop.cat062 import Cat062Writer
from skyweave.interop.export import Cat062Out, TrackUpdate
from skyweave.interop.pcap import iter_udp
from skyweave.interop.records import DecodeError, Tally
from tests.support.asterix_samples import needs_asterix, sample_bytes


def _records(data: bytes, tally: Tally, name="x"):
    out = []
    for cat, a, b in iter_blocks(data, tally, name):
        out += list(decode_block(data, cat, a, b, tally, name))
    return out


def _pcap_records(name: str):
    tally = Tally()
    recs = []
    payloads = []
    for _ts, payload, off in iter_udp(sample_bytes(name), tally, name):
        payloads.append(payload)
        recs.append(_records(payload, tally))
    return payloads, recs, tally


@needs_asterix
def test_capture_decodes_every_record_and_skips_nothing():
    payloads, recs, tally = _pcap_records("cat_034_048.pcap")
    assert tally.read == 162 and tally.decoded == 162 and not tally.skipped
    cats = [type(r).__name__ for rs in recs for r in rs]
    assert cats.count("Cat048") == 128 and cats.count("Cat034") == 34


@needs_asterix
def test_cat048_and_cat034_match_asterix_decoder_on_the_capture():
    import asterix

    payloads, recs, _ = _pcap_records("cat_034_048.pcap")
    n048 = n034 = 0
    for payload, mine in zip(payloads, recs):
        ref = [r for r in asterix.parse(payload) if r["category"] in (34, 48)]
        assert len(ref) == len(mine)
        for r, m in zip(ref, mine):
            assert (m.sac, m.sic) == (r["I010"]["SAC"]["val"], r["I010"]["SIC"]["val"])
            if r["category"] == 48:
                n048 += 1
                assert m.tod == r["I140"]["ToD"]["val"]
                if "I040" in r:
                    assert m.rho_m == pytest.approx(r["I040"]["RHO"]["val"] * 1852.0, abs=1e-6)
                    assert m.theta_deg == pytest.approx(r["I040"]["THETA"]["val"], abs=1e-9)
                else:
                    assert m.rho_m is None
                if "I090" in r and not (r["I090"]["V"]["val"] or r["I090"]["G"]["val"]):
                    assert m.fl == r["I090"]["FL"]["val"]
                assert (m.icao is None) == ("I220" not in r)
                if "I220" in r:
                    assert m.icao == int(r["I220"]["ACAddr"]["val"], 16)
                if "I240" in r:
                    assert m.callsign == r["I240"]["TId"]["val"].strip()
                if "I161" in r:
                    assert m.track == r["I161"]["Tn"]["val"]
                if "I070" in r and not r["I070"]["V"]["val"]:
                    assert m.mode3a == r["I070"]["Mode3A"]["val"]
            else:
                n034 += 1
                assert m.kind == r["I000"]["MsgTyp"]["val"]
                assert m.tod == r["I030"]["ToD"]["val"]
                if "I020" in r:
                    assert m.sector_deg == r["I020"]["Azi"]["val"]
    assert n048 == 128 and n034 == 34


@needs_asterix
def test_raw_samples():
    t = Tally()
    (r48,) = _records(sample_bytes("cat048.raw"), t)
    assert (r48.sac, r48.sic, r48.callsign, r48.fl, "%06X" % r48.icao) == (25, 201, "DLH65A", 330.0, "3C660C")
    assert r48.rho_m == pytest.approx(197.68359375 * 1852) and r48.tod == 27354.6015625
    (r34,) = _records(sample_bytes("cat034.raw"), t)
    assert (r34.kind, r34.sector_deg, r34.tod) == (2, 90.0, 29906.3359375)
    assert not t.skipped


def test_unknown_but_present_items_are_skipped_exactly():
    """A record with every CAT048 item present (spare, compound, repetitive, explicit) parses to
    its end: the next record starts where the first ends."""
    body = bytes([0xFF, 0xFF, 0xFF, 0xFE])  # FSPEC: FRN 1-28 all present (FRN 28 last, no FX)
    items = {
        "I010": b"\x19\xc9", "I140": b"\x00\x01\x00", "I020": b"\xa1\x00", "I040": b"\x10\x00\x20\x00",
        "I070": b"\x00\x00", "I090": b"\x05\x28", "I130": b"\xfe" + b"\x01" * 7, "I220": b"\x3c\x66\x0c",
        "I240": b"\x00" * 6, "I250": b"\x02" + b"\x00" * 16, "I161": b"\x0d\xeb", "I042": b"\x00" * 4,
        "I200": b"\x00" * 4, "I170": b"\x01\x00", "I210": b"\x00" * 4, "I030": b"\x03\x02", "I080": b"\x00" * 2,
        "I100": b"\x00" * 4, "I110": b"\x00\x10", "I120": b"\xc0\x00\x01\x02" + b"\x00" * 12, "I230": b"\x00" * 2,
        "I260": b"\x00" * 7, "I055": b"\x00", "I050": b"\x00\x00", "I065": b"\x00", "I060": b"\x00\x00",
        "SP": b"\x03ab", "RE": b"\x02x",
    }
    for frn in range(1, 29):
        body += items[UAP[48][frn][0]]
    rec = body
    block = bytes([48]) + (3 + 2 * len(rec)).to_bytes(2, "big") + rec + rec
    t = Tally()
    out = _records(block, t)
    assert len(out) == 2 and not t.skipped
    assert out[1].fl == 0x528 / 4 and out[1].height_ft == 16 * 25
    items_, nxt = parse_record(block, 3, len(block), UAP[48])
    assert nxt == 3 + len(rec) and items_["RE"] == (nxt - 2, nxt)


@needs_asterix
def test_corrupt_blocks_are_named_by_offset_and_the_good_ones_kept():
    good = sample_bytes("cat048.raw")
    undefined_frn = bytes([48, 0, 8, 0x01, 0x01, 0x01, 0x01, 0x80])  # FRN 29: not in the UAP
    bad_len = bytes([48, 0, 2])
    cut = good[:30]
    data = good + undefined_frn + good + bad_len + good + cut
    t = Tally()
    out = _records(data, t, "rec.ast")
    assert len(out) == 3
    assert t.skipped["unknown item"] == 1 and t.skipped["bad block header"] == 1
    assert t.skipped["truncated block"] + t.skipped["truncated record"] >= 1
    wheres = [e.where for e in t.errors]
    assert f"rec.ast: byte {len(good) + 3}" in wheres
    assert f"rec.ast: byte {2 * len(good) + len(undefined_frn)}" in wheres
    with pytest.raises(DecodeError):
        parse_record(bytes([0x80]), 0, 1, UAP[48])


@needs_asterix
def test_cat021_record_matches_asterix_decoder():
    import asterix

    from skyweave.interop.cat062 import encode_fspec

    lat, lon = 35.6812345, 139.7671234
    items = {1: b"\x01\x02", 2: b"\x01\x00", 5: (int(3600.5 * 128)).to_bytes(3, "big"),
             7: round(lat * (1 << 30) / 180).to_bytes(4, "big", signed=True)
             + round(lon * (1 << 30) / 180).to_bytes(4, "big", signed=True),
             11: b"\x86\xd2\xa1", 16: (int(35000 / 6.25)).to_bytes(2, "big"), 17: bytes([0x0F, 0x13, 0x00]),
             18: bytes([2 << 3]), 21: (350 * 4).to_bytes(2, "big")}
    rec = encode_fspec(sorted(items)) + b"".join(items[k] for k in sorted(items))
    block = bytes([21]) + (len(rec) + 3).to_bytes(2, "big") + rec
    t = Tally()
    (mine,) = _records(block, t)
    (ref,) = asterix.parse(block)
    assert mine.lat == pytest.approx(ref["I131"]["Lat"]["val"], abs=1e-9)
    assert mine.lon == pytest.approx(ref["I131"]["Lon"]["val"], abs=1e-9)
    assert mine.tod == ref["I071"]["time_applicability_position"]["val"] == 3600.5
    assert "%06X" % mine.icao == ref["I080"]["TAddr"]["val"]
    assert mine.geo_height_ft == ref["I140"]["geometric_height"]["val"] and mine.fl == ref["I145"]["FL"]["val"]
    assert mine.nacp == ref["I090"]["NACp"]["val"] and mine.nucp == ref["I090"]["NUCp_or_NIC"]["val"]
    assert mine.version == ref["I210"]["VN"]["val"]
    assert (mine.geo_height_ft, mine.fl, mine.version, mine.nacp) == (35000.0, 350.0, 2, 9)


@needs_asterix
def test_cat062_round_trip_through_asterix_decoder_within_a_metre():
    import asterix

    rng = np.random.default_rng(5)
    origin = Origin(35.0, 139.0, 0.0)
    sensors = SensorSet(epoch=datetime(2024, 4, 10, 6, tzinfo=timezone.utc), origin=origin, sensors=(), dims=3)
    frame = origin.frame()
    k = 300
    x = np.zeros((k, 6))
    x[:, :2] = rng.uniform(-400e3, 400e3, (k, 2))
    x[:, 2] = rng.uniform(0, 15e3, k)
    x[:, 3:5] = rng.uniform(-300, 300, (k, 2))
    P = np.tile(np.diag([900.0, 400.0, 100.0, 25.0, 25.0, 4.0]), (k, 1, 1))
    lat, lon, alt = frame.to_geodetic(x[:, :3])
    u = TrackUpdate(123.25, [f"T{i}" for i in range(k)], x, P, lat, lon, alt, [0x86D2A1] + [None] * (k - 1), True)
    out = Cat062Out(__import__("io").BytesIO(), sensors, sac=25, sic=100)
    data = out.tracks(u)
    recs = asterix.parse(data)
    tracks = [r for r in recs if r["category"] == 62]
    assert len(tracks) == k and recs[-1]["category"] == 65 and recs[-1]["I000"]["Typ"]["val"] == 2
    for i, r in enumerate(tracks):
        assert r["I040"]["TrkN"]["val"] == i + 1
        assert r["I070"]["ToT"]["val"] == pytest.approx((6 * 3600 + 123.25) % 86400)
        la, lo = r["I105"]["Lat"]["val"], r["I105"]["Lon"]["val"]
        back = frame.from_geodetic(la, lo, alt[i])
        assert math.hypot(back[0] - x[i, 0], back[1] - x[i, 1]) < 1.0
        assert abs(r["I100"]["X"]["val"] - x[i, 0]) <= 0.25 and abs(r["I100"]["Y"]["val"] - x[i, 1]) <= 0.25
        assert abs(r["I130"]["Alt"]["val"] * 0.3048 - alt[i]) < 1.0  # 6.25 ft steps
        assert abs(r["I185"]["Vx"]["val"] - x[i, 3]) <= 0.125
        assert r["I500"]["APC"]["APC_X"]["val"] == 30.0 and r["I500"]["APC"]["APC_Y"]["val"] == 20.0
    assert tracks[0]["I380"]["ADR"]["ADR"]["val"] == "86D2A1"


def test_cat062_blocks_split_and_track_numbers_stay():
    w = Cat062Writer(datetime(2024, 1, 1, tzinfo=timezone.utc))
    recs = [w.record(0.0, f"T{i}", 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0) for i in range(2000)]
    data = w.batch(0.0, recs)
    t = Tally()
    blocks = list(iter_blocks(data, t))
    assert sum(1 for c, _, _ in blocks if c == 62) > 1 and blocks[-1][0] == 65 and not t.skipped
    assert w.track_number("T5") == 6 and w.track_number("new") == 2001
