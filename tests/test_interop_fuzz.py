"""A fast hypothesis slice of the interop fuzzing (benchmarks/fuzz_interop.py runs the million):
any bytes into every reader, no exception, every skipped record named by its place, the good
records around bad ones kept, and the column decoder of CAT048 equal to the record decoder. The
real CAT048 block is asterix-decoder's sample (tests/support/asterix_samples.py): the tests built
on it skip without asterix-decoder; the Mode S frames are this project's own (modes_encoder)."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import HealthCheck, given, settings, strategies as st

from skyweave.interop.asterix import decode_block, iter_blocks
from skyweave.interop.cat048_table import cat048_table, walk_block
from skyweave.interop.feeds import BLANK, AvrReader, BeastReader, beast_frame
from skyweave.interop.ingest import Ingest, IngestConfig
from skyweave.interop.records import Tally
from tests.support.asterix_samples import HAVE_ASTERIX, needs_asterix, sample_bytes
from tests.support.modes_encoder import synthetic_recording

CAT048 = sample_bytes("cat048.raw") if HAVE_ASTERIX else b""
GOOD_HEX = [h for _, h in synthetic_recording()[:4]]
WHERE = re.compile(r"(byte \d+|:\d+)")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CFG = dict(day=date(2016, 5, 5), radar=(45.8, 16.0, 0.0), reference=(51.1, 7.2), name="h")


def _run(fmt: str, data: bytes) -> Tally:
    job = Ingest(IngestConfig(**CFG))
    dets = list(job.run(fmt, data))
    assert len(dets) == job.tally.detections
    for e in job.tally.errors:
        assert WHERE.search(e.where), e
    return job.tally


@FAST
@given(st.binary(max_size=400), st.sampled_from(["asterix", "beast", "avr", "sbs"]))
def test_any_bytes_into_any_reader(data, fmt):
    _run(fmt, data)


@needs_asterix
@FAST
@given(st.binary(max_size=60), st.integers(0, len(CAT048)))
def test_asterix_junk_spliced_into_a_real_block(junk, at):
    _run("asterix", CAT048[:at] + junk + CAT048[at:])


@FAST
@given(st.binary(max_size=80).filter(lambda b: b"\x1a" not in b))
def test_beast_garbage_between_good_frames_loses_none_of_them(junk):
    good = [beast_frame(bytes.fromhex(h), i) for i, h in enumerate(GOOD_HEX)]
    data = good[0] + good[1] + junk + good[2] + good[3]
    t = Tally()
    got = [m.hex().upper() for _, m, _ in BeastReader(data, t)]
    # junk glued to the end of frame 1 makes that frame too long: it alone is lost
    assert got == GOOD_HEX or (junk and got == [GOOD_HEX[0]] + GOOD_HEX[2:])


@FAST
@given(st.lists(st.text(max_size=40).filter(lambda s: "\n" not in s and "\r" not in s), max_size=6))
def test_avr_bad_lines_are_counted_and_the_good_ones_kept(junk):
    lines = ["*" + h + ";" for h in GOOD_HEX] + junk
    t = Tally()
    got = list(AvrReader(lines, t))
    assert [m.hex().upper() for _, m, _ in got][:4] == GOOD_HEX
    assert t.read == sum(1 for x in lines if x.strip(BLANK))   # ASCII white space only makes a line blank


@needs_asterix
@FAST
@given(st.binary(min_size=1, max_size=300))
def test_cat048_columns_equal_the_record_decoder(body):
    data = bytes([48]) + (len(body) + 3).to_bytes(2, "big") + body
    data = CAT048 + data
    for cat, a, b in iter_blocks(data, Tally()):
        if cat != 48:
            continue
        t = Tally()
        recs = list(decode_block(data, cat, a, b, t, "x"))
        offs, starts, err, _ = walk_block(data, a + 3, b)
        assert len(starts) == len(recs) and (err is None) == (not t.skipped)
        if not recs:
            continue
        tb = cat048_table(data, offs, starts)
        for i, r in enumerate(recs):
            assert (tb.sac[i], tb.sic[i]) == (r.sac, r.sic)
            assert (r.tod is None and tb.tod[i] != tb.tod[i]) or tb.tod[i] == r.tod
            assert (r.rho_m is None and tb.rho_m[i] != tb.rho_m[i]) or (tb.rho_m[i], tb.theta_deg[i]) == (r.rho_m, r.theta_deg)
            assert (r.fl is None and tb.fl[i] != tb.fl[i]) or tb.fl[i] == r.fl
            assert tb.icao[i] == (-1 if r.icao is None else r.icao)
            assert tb.mode3a[i] == (-1 if r.mode3a is None else int(r.mode3a, 8))
            assert tb.track[i] == (-1 if r.track is None else r.track)
            assert tb.callsign[i] == r.callsign and bool(tb.test[i]) == r.test


def test_a_line_of_control_characters_is_a_bad_record_not_a_blank_one():
    """Found by the mutation fuzzer: ``str.strip`` drops 0x1c-0x1f, so such a line was neither read
    nor named. Only ASCII white space makes a line blank."""
    for fmt in ("avr", "sbs"):
        job = Ingest(IngestConfig(**CFG))
        assert list(job.run(fmt, b"\x1c\n  \n\x1f\x1e\n")) == []
        assert job.tally.read == 2
        assert [e.where for e in job.tally.errors] == ["h:1", "h:3"]   # named by line


@FAST
@given(st.binary(max_size=300), st.integers(0, 4000))
def test_any_bytes_into_the_tak_reader_raise_only_a_placed_format_error(junk, at):
    import pytest

    pytest.importorskip("takproto")
    import sys
    from pathlib import Path

    from skyweave.core.errors import FormatError
    from skyweave.interop.export import tak_messages

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from fuzz_interop import tak_samples

    good = tak_samples()[0]
    at = min(at, len(good))
    for data in (junk, good[:at] + junk + good[at:]):
        try:  # any exception but a FormatError naming its byte fails the test
            for _ in tak_messages(data):
                pass
        except FormatError as e:
            assert re.search(r"byte \d+", str(e)), e
