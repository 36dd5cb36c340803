"""Readers that never crash (issue 11): hostile bytes, lines and structures through every reader.

Each reader either delivers a record or names the file, the line and the field in a
:class:`FormatError`; nothing else escapes, no input hangs, and the good lines around a bad one
are kept. The long mutation run is ``benchmarks/fuzz_readers.py``; this is its fast slice.
"""

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyweave.core.errors import FormatError, short_repr
from skyweave.io.formats import DetectionReader, iter_state_lines, load_sensors
from skyweave.io.scans import ScanReader
from skyweave.io.tracks import IdRegistry, iter_state_frames
from skyweave.scenario.spec import load_scenario

SENSORS = {"epoch": "2024-04-10T00:00:00Z", "dims": 2, "sensors": [
    {"id": "c1", "nation": "JPN", "kind": "cartesian", "x": 0, "y": 0},
    {"id": "r1", "nation": "USA", "kind": "radar", "x": 0, "y": 0, "sigma_range_m": 10, "sigma_bearing_deg": 0.1}]}
GOOD_DET = b'{"t": 1.0, "sensor": "c1", "x": 1.0, "y": 2.0}'
GOOD_TRUTH = b'{"t": 1.0, "id": "a", "x": 1.0, "y": 2.0, "vx": 0.0, "vy": 0.0}'
GOOD_TRACK = b'{"t": 1.0, "track_id": "T-1", "x": 1.0, "y": 2.0, "vx": 0.0, "vy": 0.0, "cov": [1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1]}'

#: the hostile lines of issue 11 and their relatives
HOSTILE = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"t": ' + b"[" * 5000,
    b'{"t": 1' + b"0" * 400 + b', "sensor": "c1", "id": "a", "track_id": "T-1", "x": 1, "y": 2, "vx": 0, "vy": 0}',
    b'{"t": 1' + b"0" * 5000 + b"}",
    b'{"t": NaN, "sensor": "c1", "x": 1, "y": 2}', b'{"t": Infinity}', b'{"t": -1e999}',
    b'{"t": 1, "sensor": "c\xff1", "x": 1, "y": 2}', b"\xef\xbb\xbf\xff\xfe", b"\x00" * 10,
    b'{"t": 1, "id": "a", "x": 1, "y": 2, "vx": 0, "vy": 0, "cov": [1' + b"0" * 400 + b",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}",
    b'{"t": 1, "track_id": "T-1", "x": 1, "y": 2, "vx": 0, "vy": 0, "cov": [true,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}',
    b'{"t": true, "sensor": ["c1"], "id": {}, "x": "1", "y": null}', b"[]", b"1", b'"x"', b"{",
    b'{"t": 1, "sensor": "r1", "range_m": 1e308, "bearing_deg": 1' + b"0" * 320 + b"}",
]


def _nonblank(data: bytes) -> int:
    return sum(1 for ln in data.split(b"\n") if ln.strip())


def _run_line_reader(kind: str, path, sensors):
    errors: list = []
    if kind == "detections":
        r = DetectionReader(path, sensors)
        good = sum(1 for _ in r)
        errors = r.errors
    elif kind == "scans":
        r = ScanReader(path, sensors)
        good = sum(len(s) for s in r)
        errors = r.errors
    elif kind == "truth":
        good = sum(1 for _ in iter_state_lines(path, "id", errors, None))
    else:
        good = sum(len(f) for f in iter_state_frames(path, "track_id", IdRegistry(), errors, None))
    for e in errors:
        assert isinstance(e, FormatError) and e.line is not None and e.path == str(path)
        str(e)
    return good, errors


@pytest.fixture
def sensors(tmp_path):
    p = tmp_path / "sensors.json"
    p.write_text(json.dumps(SENSORS))
    return load_sensors(p)


GOOD = {"detections": GOOD_DET, "scans": GOOD_DET, "truth": GOOD_TRUTH, "tracks": GOOD_TRACK}


@pytest.mark.parametrize("kind", list(GOOD))
@pytest.mark.parametrize("bad", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_line_is_named_and_good_lines_kept(tmp_path, sensors, kind, bad):
    good = GOOD[kind]
    later = good.replace(b'"t": 1.0', b'"t": 2.0')
    p = tmp_path / "in.jsonl"
    p.write_bytes(good + b"\r\n" + bad + b"\n" + later + b"\n")
    n, errors = _run_line_reader(kind, p, sensors)
    assert n == 2, [str(e) for e in errors]
    assert [e.line for e in errors] == [2]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(junk=st.lists(st.binary(max_size=60) | st.sampled_from(HOSTILE), min_size=1, max_size=4),
       kind=st.sampled_from(list(GOOD)))
def test_random_bytes_between_good_lines(tmp_path_factory, junk, kind):
    d = tmp_path_factory.mktemp("f")
    (d / "sensors.json").write_text(json.dumps(SENSORS))
    sensors = load_sensors(d / "sensors.json")
    good = GOOD[kind]
    lines = [good.replace(b'"t": 1.0', f'"t": {i}.0'.encode()) for i in range(len(junk) + 1)]
    body = lines[0]
    for i, j in enumerate(junk):
        body += b"\n" + j.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n" + lines[i + 1]
    p = d / "in.jsonl"
    p.write_bytes(body)
    t0 = time.perf_counter()
    n, errors = _run_line_reader(kind, p, sensors)
    assert time.perf_counter() - t0 < 2.0
    assert n + len(errors) == _nonblank(body)
    assert n >= len(lines) - sum(1 for j in junk if j.strip() and _looks_like_a_record(j))


def _looks_like_a_record(j: bytes) -> bool:
    """Junk that parses as a record with a larger t could push a later good line back in time."""
    return b"{" in j


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
JSON_TREE = st.recursive(JSON_LEAF, lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=6), ch, max_size=4),
                         max_leaves=12)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(fields=st.dictionaries(st.sampled_from(["t", "sensor", "id", "track_id", "x", "y", "z", "vx", "vy", "vz",
                                               "cov", "range_m", "bearing_deg", "elevation_deg"]), JSON_TREE, max_size=8))
def test_wrong_types_everywhere_in_lines(tmp_path_factory, fields):
    d = tmp_path_factory.mktemp("f")
    (d / "sensors.json").write_text(json.dumps(SENSORS))
    sensors = load_sensors(d / "sensors.json")
    for kind, good in GOOD.items():
        rec = json.loads(good)
        rec.update(fields)
        line = json.dumps(rec, allow_nan=True).encode()
        p = d / f"{kind}.jsonl"
        p.write_bytes(good + b"\n" + line + b"\n")
        n, errors = _run_line_reader(kind, p, sensors)
        assert n >= 1 and n + len(errors) == 2


def _load(loader, path):
    t0 = time.perf_counter()
    try:
        loader(path)
    except FormatError as e:
        assert e.path == str(path)
        str(e)
    assert time.perf_counter() - t0 < 2.0


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=JSON_TREE, where=st.sampled_from(["top", "sensor", "field", "origin"]), junk=st.binary(max_size=8))
def test_sensors_json_never_crashes(tmp_path_factory, doc, where, junk):
    p = tmp_path_factory.mktemp("s") / "sensors.json"
    raw = json.loads(json.dumps(SENSORS))
    if where == "top":
        raw = doc
    elif where == "sensor":
        raw["sensors"][0] = doc
    elif where == "origin":
        raw["origin"] = doc
    elif isinstance(doc, dict):
        raw["sensors"][1].update(doc)
    data = json.dumps(raw, allow_nan=True).encode()
    p.write_bytes(data[: len(data) // 2] + junk + data[len(data) // 2:] if junk else data)
    _load(load_sensors, p)


@pytest.mark.parametrize("data", [
    b"", b"\xef\xbb\xbf", b"\xff\xfe{}", b"[" * 100_000, b'{"epoch": "\xff"}', b"{" * 2000,
    json.dumps({**SENSORS, "origin": {"lat": 10**400, "lon": 0}}).encode(),
    json.dumps(SENSORS).replace('"x": 0', '"x": 1' + "0" * 5000, 1).encode(),
    json.dumps(SENSORS).replace('"x": 0', '"x": 1' + "0" * 400, 1).encode(),
    b"\xef\xbb\xbf" + json.dumps(SENSORS).encode().replace(b"\n", b"\r\n"),
])
def test_sensors_json_hostile(tmp_path, data):
    p = tmp_path / "sensors.json"
    p.write_bytes(data)
    _load(load_sensors, p)


SCENARIO = b"""name: t
epoch: 2024-04-10T00:00:00Z
dims: 2
duration_s: 10
sensors:
  - {id: c1, nation: JPN, kind: cartesian, x: 0, y: 0, sigma_m: 10}
targets:
  - {id: a, type: airliner, route: [{x: 0, y: 0}, {x: 1000, y: 0}], speed_mps: 200}
"""


@pytest.mark.parametrize("data", [
    b"", b"\xef\xbb\xbf" + SCENARIO, SCENARIO.replace(b"\n", b"\r\n"), SCENARIO[:40] + b"\xff" + SCENARIO[40:],
    SCENARIO[:40] + b"\x01" + SCENARIO[40:], b"a: " + b"[" * 100_000, b"a: " + b"{a: " * 5000,
    SCENARIO.replace(b"duration_s: 10", b"duration_s: 1" + b"0" * 5000),
    SCENARIO.replace(b"duration_s: 10", b"duration_s: 1" + b"0" * 400),
    SCENARIO.replace(b"duration_s: 10", b"duration_s: .nan"), SCENARIO.replace(b"x: 1000", b"x: 1" + b"0" * 400),
    b"? [a]\n: 1\n", b"{[1]: 2}", b"a: &a [*a]", b"a: !!int x", b"a: !!bool maybe", b"a: !!timestamp soon",
    b"a: !!binary '%%%'", b"a: !!python/object:os.system x", b"- 1\n- 2\n", b"epoch: [1, 2]\n",
])
def test_scenario_hostile(tmp_path, data):
    p = tmp_path / "s.yaml"
    p.write_bytes(data)
    _load(load_scenario, p)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(i=st.integers(0, len(SCENARIO)), cut=st.integers(0, 20), junk=st.binary(max_size=12) | st.text(max_size=12).map(
    lambda s: s.encode("utf-8", "surrogatepass")))
def test_scenario_mutations_never_crash(tmp_path_factory, i, cut, junk):
    p = tmp_path_factory.mktemp("y") / "s.yaml"
    p.write_bytes(SCENARIO[:i] + junk + SCENARIO[i + cut:])
    _load(load_scenario, p)


def test_short_repr_never_raises():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert short_repr(deep).startswith("<list")
    assert len(short_repr("x" * 10**6)) == 60
