"""Every scenario validation error names the file, the line and the field, and says what was expected."""

import textwrap

import pytest

from skyweave.core import FormatError
from skyweave.scenario.spec import load_scenario

GOOD = """\
name: t
epoch: "2024-04-10T00:00:00Z"
dims: 2
duration_s: 60
sensors:
  - id: R1
    nation: USA
    kind: radar
    x: 0
    y: 0
    sigma_range_m: 50
    sigma_bearing_deg: 0.2
targets:
  - id: A
    type: military
    route:
      - {x: 0, y: 0, alt: 1000}
      - {x: 10000, y: 0, alt: 1000}
"""


def write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_good_scenario_loads(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD))
    assert sc.dims == 2 and sc.sensors[0].id == "R1" and sc.targets[0].route[1].x == 10000.0


def test_scenario_sensor_holds_one_sensor_spec(tmp_path):
    """A scenario sensor declares no sensors.json field of its own: they live in its SensorSpec."""
    from dataclasses import fields

    from skyweave.core.model import SensorSpec
    from skyweave.scenario.spec import SensorModel
    from skyweave.scenario.world import World

    own = {f.name for f in fields(SensorModel)} - {"spec"}
    assert not own & {f.name for f in fields(SensorSpec)}
    sc = load_scenario(write(tmp_path, GOOD.replace("    y: 0\n", "    y: 0\n    latency_s: 2\n", 1)))
    m = sc.sensors[0]
    assert isinstance(m.spec, SensorSpec) and m.spec.id == "R1" and m.sigma_range_m == m.spec.sigma_range_m == 50.0
    assert (m.pd, m.clutter_per_scan, m.period_s, m.max_range_m) == (0.9, 0.0, 1.0, 200_000.0)  # scenario defaults
    assert m.latency_s == 2.0 and not m.moving
    out = World(sc).sensor_set().sensors[0]
    assert out == m.spec  # the spec itself handed out (position resolved, here unchanged)
    assert out.extra == {"latency_s": 2.0, "latency_jitter_s": 0.0}


@pytest.mark.parametrize(
    "old,new,line,field,expected",
    [
        ('epoch: "2024-04-10T00:00:00Z"', 'epoch: "yesterday"', 2, "epoch", "ISO 8601"),
        ("    nation: USA", "    nation: America", 7, "sensors[0].nation", "alpha-3"),
        ("    kind: radar", "    kind: sonar", 8, "sensors[0].kind", "one of radar"),
        ("    sigma_range_m: 50", "    sigma_range_m: -5", 11, "sensors[0].sigma_range_m", "> 0"),
        ("    sigma_bearing_deg: 0.2", "    sigma_bearing_deg: fast", 12, "sensors[0].sigma_bearing_deg", "a number"),
        ("    type: military", "    type: balloon", 15, "targets[0].type", "one of airliner"),
        ("      - {x: 10000, y: 0, alt: 1000}", "      - {x: 10000, y: 0}", 18, "targets[0].route[1].alt", "a number"),
        ("duration_s: 60", "duration_s: 60\ncolour: red", 5, "colour", "known fields"),
        ("dims: 2", "dims: 4", 3, "dims", "2 (a flat plane) or 3"),
        ("    x: 0\n    y: 0", "    lat: 35\n    lon: 139", 9, "sensors[0].lat", "origin"),
    ],
)
def test_each_error_names_line_and_field(tmp_path, old, new, line, field, expected):
    assert old in GOOD
    with pytest.raises(FormatError) as ei:
        load_scenario(write(tmp_path, GOOD.replace(old, new, 1)))
    e = ei.value
    assert e.line == line, str(e)
    assert e.field == field, str(e)
    assert expected in str(e)
    assert str(tmp_path / "s.yaml") in str(e)


def test_duplicate_ids_and_missing_icao_are_errors(tmp_path):
    dup = GOOD + "  - {id: A, type: military, route: [{x: 0, y: 0, alt: 1}, {x: 1000, y: 0, alt: 1}]}\n"
    with pytest.raises(FormatError, match="not used before"):
        load_scenario(write(tmp_path, dup))
    no_icao = GOOD.replace("type: military", "type: airliner")
    with pytest.raises(FormatError, match="icao24"):
        load_scenario(write(tmp_path, no_icao))


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(FormatError) as ei:
        load_scenario(write(tmp_path, GOOD.replace("    y: 0\n", "    y: [0\n", 1)))
    assert ei.value.line is not None and "valid YAML" in str(ei.value)


def test_ballistic_needs_3d_and_a_launch(tmp_path):
    bm = GOOD + "  - {id: B, type: ballistic, launch: {x: 0, y: 0}, azimuth_deg: 90, range_km: 500}\n"
    with pytest.raises(FormatError, match="2-D"):
        load_scenario(write(tmp_path, bm))


def test_shipped_scenarios_are_valid():
    from skyweave.cli.common import SCENARIO_DIR

    names = sorted(p.name for p in SCENARIO_DIR.glob("*.yaml"))
    assert "trilateral.yaml" in names and "clutter-10000.yaml" in names
    for p in SCENARIO_DIR.glob("*.yaml"):
        load_scenario(p)
    tri = load_scenario(SCENARIO_DIR / "trilateral.yaml")
    assert set(tri.nations) == {"JPN", "USA", "AUS", "GBR"}
    assert sum(t.type == "ballistic" for t in tri.targets) == 3
    assert sum(t.type == "cruise" for t in tri.targets) == 2
    assert 90 <= len(tri.targets) + tri.traffic.count <= 110
