"""The file contract: each bad line is named with its line and field, and the good lines around it survive."""

import json

import pytest

from skyweave.io.formats import DetectionReader, FormatError, iter_state_lines, load_sensors

SENSORS = {
    "epoch": "2024-04-10T00:00:00Z",
    "origin": {"lat": 35.0, "lon": 139.0, "alt": 0.0},
    "sensors": [
        {"id": "R1", "nation": "JPN", "kind": "radar", "x": 0.0, "y": 0.0, "z": 0.0,
         "sigma_range_m": 50.0, "sigma_bearing_deg": 0.2, "sigma_elevation_deg": 0.2, "releasable_to": ["JPN", "USA"]},
        {"id": "A1", "nation": "JPN", "kind": "adsb", "lat": 35.1, "lon": 139.1, "alt": 10.0, "sigma_m": 30.0},
        {"id": "S1", "nation": "USA", "kind": "radar", "moving": True, "sigma_range_m": 30.0, "sigma_bearing_deg": 0.1},
    ],
}


@pytest.fixture
def sensors(tmp_path):
    p = tmp_path / "sensors.json"
    p.write_text(json.dumps(SENSORS))
    return load_sensors(p)


def test_sensors_json_geodetic_positions_become_enu(sensors):
    a1 = sensors.by_id()["A1"]
    assert a1.lat == 35.1 and abs(a1.y - 11_100) < 200 and sensors.dims == 3


@pytest.mark.parametrize("mutate,field,expected", [
    (lambda d: d["sensors"][0].update(nation="Japan"), "sensors[0].nation", "alpha-3"),
    (lambda d: d["sensors"][0].pop("sigma_range_m"), "sensors[0].sigma_range_m", "radars need it"),
    (lambda d: d["sensors"][0].update(pd=1.5), "sensors[0].pd", "probability"),
    (lambda d: d.update(epoch="10 April"), "epoch", "ISO 8601"),
    (lambda d: d["sensors"][1].update(id="R1"), "sensors", "unique"),
])
def test_sensors_json_errors(tmp_path, mutate, field, expected):
    d = json.loads(json.dumps(SENSORS))
    mutate(d)
    p = tmp_path / "sensors.json"
    p.write_text(json.dumps(d))
    with pytest.raises(FormatError) as ei:
        load_sensors(p)
    assert ei.value.field == field and expected in str(ei.value)


LINES = [
    '{"t": 1.0, "sensor": "R1", "range_m": 1000.0, "bearing_deg": 10.0, "elevation_deg": 1.0}',   # 1 good
    '{"t": 1.0, "sensor": "R1", "range_m": NaN, "bearing_deg": 10.0, "elevation_deg": 1.0}',      # 2 NaN
    '{"t": 1.0, "sensor": "R1", "range_m": Infinity, "bearing_deg": 10.0, "elevation_deg": 1.0}', # 3 inf
    '{"t": 1.0, "sensor": "R9", "range_m": 10.0, "bearing_deg": 10.0}',                           # 4 unknown sensor
    '{"t": 1.0, "sensor": "R1", "range_m": -5.0, "bearing_deg": 10.0, "elevation_deg": 1.0}',     # 5 negative range
    'this is not json',                                                                             # 6
    '{"t": 2.0, "sensor": "R1", "range_m": 1100.0, "bearing_deg": 10.0, "elevation_deg": 1.0}',   # 7 good
    '{"t": 1.5, "sensor": "R1", "range_m": 1100.0, "bearing_deg": 10.0, "elevation_deg": 1.0}',   # 8 time backwards
    '{"t": 1.5, "sensor": "A1", "icao24": "86d2a1", "lat": 35.2, "lon": 139.2, "alt": 9000.0}',   # 9 good (other sensor)
    '{"t": 1.6, "sensor": "A1", "icao24": "XYZ", "lat": 35.2, "lon": 139.2, "alt": 9000.0}',      # 10 bad icao
    '{"t": 1.7, "sensor": "S1", "range_m": 5.0, "bearing_deg": 1.0}',                              # 11 moving, no position
    '{"t": 1.7, "sensor": "S1", "range_m": 5.0, "bearing_deg": 1.0, "sensor_lat": 35.0, "sensor_lon": 139.0}',  # 12 good
    '{"t": 3.0, "sensor": "R1", "range_m": 1200.0, "bearing_deg": 400.0, "elevation_deg": 1.0}',  # 13 bearing out of range
    '[1, 2]',                                                                                       # 14 not an object
    '{"t": 3.0, "sensor": "R1", "range_m": 1200.0, "bearing_deg": 11.0, "elevation_deg": 1.0}',   # 15 good
]


def test_detection_reader_names_every_bad_line_and_keeps_the_good(tmp_path, sensors):
    p = tmp_path / "detections.jsonl"
    p.write_text("\n".join(LINES) + "\n")
    r = DetectionReader(p, sensors)
    good = list(r)
    assert [d.line for d in good] == [1, 7, 9, 12, 15]
    bad = {e.line: e for e in r.errors}
    assert sorted(bad) == [2, 3, 4, 5, 6, 8, 10, 11, 13, 14]
    assert "finite" in str(bad[2]) and bad[2].field == "range_m"
    assert "finite" in str(bad[3])
    assert bad[4].field == "sensor" and "R9" in str(bad[4])
    assert bad[5].field == "range_m" and ">= 0" in str(bad[5])
    assert "JSON" in str(bad[6])
    assert bad[8].field == "t" and "non-decreasing" in str(bad[8])
    assert bad[10].field == "icao24"
    assert "moving sensor S1" in str(bad[11])
    assert bad[13].field == "bearing_deg"
    assert f"{p}:2:" in str(bad[2])
    assert good[3].sensor_pos is not None and abs(good[3].sensor_pos[0]) < 1e-6


def test_state_lines_validate_cov_and_fields(tmp_path):
    p = tmp_path / "tracks.jsonl"
    p.write_text("\n".join([
        '{"t": 1, "track_id": "T1", "x": 1, "y": 2, "vx": 3, "vy": 4, "cov": [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]}',
        '{"t": 1, "track_id": "T2", "x": 1, "y": 2, "vx": 3}',
        '{"t": 1, "track_id": "T3", "x": 1, "y": 2, "vx": 3, "vy": 4, "cov": [1, 2]}',
    ]) + "\n")
    errors = []
    got = list(iter_state_lines(p, "track_id", errors, dims=2))
    assert [g["track_id"] for g in got] == ["T1"]
    assert [(e.line, e.field) for e in errors] == [(2, "vy"), (3, "cov")]
