"""Scenario files (YAML): what is in the sky, which sensors look at it, who may see what.

A scenario file is validated once, here; every error names the file, the line, the field, what
was expected and what came (``FormatError``). Nothing in this module simulates: it returns plain
frozen dataclasses that :mod:`skyweave.scenario.world` turns into truth and detections.

The schema is documented in ``docs/scenarios.md`` with a worked example; the shipped
``skyweave/scenarios/*.yaml`` are the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from skyweave.core.errors import FormatError
from skyweave.core.model import ICAO24_RE, NATION_RE, SENSOR_KINDS, Origin, SensorSpec, parse_epoch

TARGET_TYPES = ("airliner", "military", "cruise", "ballistic")


# --------------------------------------------------------------------------- YAML with lines


class _LineDict(dict):
    """A dict that remembers the YAML line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict


class _LineList(list):
    line: int = 0


class _Loader(yaml.SafeLoader):
    """The safe loader with line-keeping containers; any failure to build a value is a YAML error."""

    def construct_object(self, node, deep=False):
        # PyYAML's own constructors raise ValueError, KeyError, AttributeError... on bad
        # explicit tags (``!!int x``, ``!!bool maybe``, ``!!timestamp soon``) and int() refuses
        # more than 4,300 digits; all become a ConstructorError that carries the node's line.
        try:
            return super().construct_object(node, deep=deep)
        except (FormatError, yaml.YAMLError, RecursionError):
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot build a value here ({type(e).__name__}: {str(e)[:60]})", node.start_mark,
            ) from None


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    d = _LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            raise FormatError(loader.name, key_node.start_mark.line + 1, None, "a plain key (a name), not a list or mapping", key)
        if key in d:
            raise FormatError(loader.name, key_node.start_mark.line + 1, str(key), "each key once", "a repeated key")
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_lines[key] = key_node.start_mark.line + 1
    return d


def _construct_sequence(loader, node, deep=False):
    lst = _LineList(loader.construct_object(n, deep=True) for n in node.value)
    lst.line = node.start_mark.line + 1
    return lst


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Keep timestamps as strings: the epoch is validated by parse_epoch.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in _Loader.yaml_implicit_resolvers.items()
}


def _finite(v: int | float) -> float | None:
    """``v`` as a float, or None when it is NaN, infinite or an integer past the float range."""
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


class _Ctx:
    """Validation context: the file, the mapping and the dotted path of the current object."""

    def __init__(self, path: str, obj: Any, where: str):
        self.path = path
        self.obj = obj
        self.where = where

    def line(self, key: str | None = None) -> int | None:
        o = self.obj
        if key is not None and isinstance(o, _LineDict) and key in o.key_lines:
            return o.key_lines[key]
        return getattr(o, "line", None)

    def err(self, key: str | None, expected: str, got: Any = None) -> FormatError:
        name = f"{self.where}.{key}" if (self.where and key) else (key or self.where)
        return FormatError(self.path, self.line(key), name, expected, got)

    def sub(self, key: str, obj: Any) -> "_Ctx":
        return _Ctx(self.path, obj, f"{self.where}.{key}" if self.where else key)

    def get(self, key, default=None):
        return self.obj.get(key, default) if isinstance(self.obj, dict) else default

    def mapping(self) -> dict:
        if not isinstance(self.obj, dict):
            raise FormatError(self.path, getattr(self.obj, "line", None), self.where or None, "a mapping (key: value)", self.obj)
        return self.obj

    def allow(self, keys: set[str]) -> None:
        for k in self.mapping():
            if k not in keys:
                raise self.err(k, f"one of the known fields ({', '.join(sorted(keys))})", k)

    def num(self, key, *, required=True, default=None, lo=None, hi=None, lo_open=False) -> float | None:
        o = self.mapping()
        if key not in o or o[key] is None:
            if required:
                raise self.err(key, "a number", "nothing")
            return default
        v = o[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.err(key, "a number", v)
        f = _finite(v)
        if f is None:
            raise self.err(key, "a finite number", v)
        v = f
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise self.err(key, f"a number {'>' if lo_open else '>='} {lo}", v)
        if hi is not None and v > hi:
            raise self.err(key, f"a number <= {hi}", v)
        return v

    def int_(self, key, *, required=True, default=None, lo=None) -> int | None:
        o = self.mapping()
        if key not in o:
            if required:
                raise self.err(key, "an integer", "nothing")
            return default
        v = o[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, "an integer", v)
        if lo is not None and v < lo:
            raise self.err(key, f"an integer >= {lo}", v)
        return v

    def str_(self, key, *, required=True, default=None, choices=None, pattern=None, what="a string") -> str | None:
        o = self.mapping()
        if key not in o:
            if required:
                raise self.err(key, what if choices is None else f"one of {', '.join(choices)}", "nothing")
            return default
        v = o[key]
        if not isinstance(v, str) or not v:
            raise self.err(key, what, v)
        if choices is not None and v not in choices:
            raise self.err(key, f"one of {', '.join(choices)}", v)
        if pattern is not None and not pattern.match(v):
            raise self.err(key, what, v)
        return v

    def bool_(self, key, default=False) -> bool:
        o = self.mapping()
        if key not in o:
            return default
        v = o[key]
        if not isinstance(v, bool):
            raise self.err(key, "true or false", v)
        return v

    def nations(self, key, default=None) -> tuple[str, ...] | None:
        o = self.mapping()
        if key not in o:
            return default
        v = o[key]
        if isinstance(v, str):  # "REL TO USA, JPN" or "USA, JPN"
            v = [s.strip() for s in v.replace("REL TO", "").split(",") if s.strip()]
        if not isinstance(v, list) or not all(isinstance(n, str) and NATION_RE.match(n) for n in v):
            raise self.err(key, "a list of ISO 3166-1 alpha-3 nation codes", v)
        return tuple(v)

    def pair(self, key, *, default=None) -> tuple[float, float] | None:
        o = self.mapping()
        if key not in o:
            return default
        v = o[key]
        if (
            not isinstance(v, list) or len(v) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and _finite(x) is not None for x in v)
        ):
            raise self.err(key, "two finite numbers [low, high]", v)
        return float(v[0]), float(v[1])

    def seq(self, key, *, required=True) -> list:
        o = self.mapping()
        if key not in o:
            if required:
                raise self.err(key, "a list", "nothing")
            return []
        v = o[key]
        if not isinstance(v, list):
            raise self.err(key, "a list", v)
        return v


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Waypoint:
    """A route point: geodetic (lat, lon in degrees) or scenario-plane (x, y in metres), alt in metres."""

    x: float | None = None
    y: float | None = None
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    name: str | None = None


@dataclass(frozen=True)
class SensorModel:
    """A sensor of the scenario: its :class:`SensorSpec` plus what only the simulator needs.

    ``spec`` is the sensor's one description, the fields a sensors.json entry carries (id,
    nation, kind, position, noise figures, P_D, clutter, period, range, releasability); the
    scenario's defaults are applied when it is built (``pd`` 0.9, ``clutter_per_scan`` 0,
    ``period_s`` 1 s, ``max_range_m`` 200 km). Where the scenario places the sensor by ``lat``/
    ``lon`` or a ``route``, or not at all (``ir``), ``spec.x``/``y``/``z`` hold 0.0: the simulator
    resolves the position and :meth:`World.sensor_set <skyweave.scenario.world.World.sensor_set>`
    hands out the spec with it. Every spec field reads through on the model too (``model.pd``).

    The simulator's own fields, which sensors.json passes on only as extras:
    ``phase_s``: offset of the first scan within the period (s). ``sigma_alt_m``: an ADS-B
    report's altitude noise (m, one standard deviation). ``latency_s``/``latency_jitter_s``:
    delivery delay of each scan (s), so a node sees the report later than it was measured.
    ``fov_az_deg``: [from, to] clockwise sector; ``fov_el_deg``: [low, high] (degrees).
    ``min_alt_m``: lowest altitude an ``ir`` sensor sees (cloud tops, m). ``active_s``:
    [start, end] scenario seconds (a ship that joins part-way). ``route``/``speed_mps``: the
    platform's path (waypoints) and speed (m/s) for a moving sensor.
    """

    spec: SensorSpec
    phase_s: float = 0.0
    sigma_alt_m: float | None = None
    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    fov_az_deg: tuple[float, float] | None = None
    fov_el_deg: tuple[float, float] | None = None
    min_alt_m: float | None = None
    active_s: tuple[float, float] | None = None
    route: tuple[Waypoint, ...] = ()
    speed_mps: float = 0.0

    def __post_init__(self):
        if self.spec.moving != bool(self.route):
            raise ValueError(f"sensor {self.spec.id}: spec.moving must be true exactly when a route is given")

    #: the scenario's defaults for spec fields a scenario sensor may leave out
    SPEC_DEFAULTS = {"pd": 0.9, "clutter_per_scan": 0.0, "period_s": 1.0, "max_range_m": 200_000.0}

    @classmethod
    def build(cls, **fields: Any) -> "SensorModel":
        """A model from flat fields (spec fields and simulator fields mixed), defaults applied.

        ``SensorModel.build(id="R", nation="USA", kind="radar", releasable_to=("USA",), x=0.0,
        y=0.0, sigma_range_m=50.0, sigma_bearing_deg=0.2, latency_s=2.0)``. ``x``/``y``/``z``
        default to 0.0 and ``moving`` follows ``route``.
        """
        own = {k: fields.pop(k) for k in list(fields) if k in _MODEL_FIELDS}
        for k, v in cls.SPEC_DEFAULTS.items():
            if fields.get(k) is None:
                fields[k] = v
        for k in ("x", "y", "z"):
            if fields.get(k) is None:
                fields[k] = 0.0
        fields["moving"] = bool(own.get("route"))
        return cls(spec=SensorSpec(**fields), **own)


_MODEL_FIELDS = {f for f in SensorModel.__dataclass_fields__ if f != "spec"}


def _forward(name: str) -> property:
    return property(lambda self: getattr(self.spec, name), doc=f"``spec.{name}`` (read-only).")


for _name in SensorSpec.__dataclass_fields__:
    if _name != "extra":
        setattr(SensorModel, _name, _forward(_name))
del _name


@dataclass(frozen=True)
class TargetModel:
    """A target: an aircraft or cruise missile on a route, or a ballistic launch.

    Route targets fly ``route`` at ``speed_mps`` from ``t_start``, turning at each waypoint with
    ``bank_deg`` and changing altitude at ``climb_mps``; ``loop`` repeats the route (patrols).
    Ballistic targets launch from ``launch`` on ``azimuth_deg`` for ``range_m`` at ``t_start``; their
    re-entry vehicle has ballistic coefficient ``beta_kg_m2`` (kg/m²), or one drawn per launch.
    """

    id: str
    type: str
    t_start: float = 0.0
    route: tuple[Waypoint, ...] = ()
    speed_mps: float = 230.0
    bank_deg: float = 25.0
    climb_mps: float = 10.0
    loop: bool = False
    icao24: str | None = None
    launch: Waypoint | None = None
    azimuth_deg: float | None = None
    range_m: float | None = None
    nation: str | None = None
    beta_kg_m2: float | None = None


@dataclass(frozen=True)
class TrafficModel:
    """Generated airline traffic: ``count`` airliners spread over named airways.

    Each airliner picks an airway (forwards or backwards), a start time uniform over
    ``[t_from, t_to]``, a cruise level from ``levels_m`` and a speed in ``speed_mps``.
    """

    count: int
    airways: tuple[tuple[Waypoint, ...], ...]
    levels_m: tuple[float, ...] = (9_000.0, 10_000.0, 11_000.0, 12_000.0)
    speed_mps: tuple[float, float] = (210.0, 250.0)
    t_from: float = -1800.0
    t_to: float = 1800.0
    seed: int = 7


@dataclass(frozen=True)
class ClutterFamily:
    """The tracker-benchmark family: N targets (constant velocity with occasional coordinated turns)
    in a flat square sized to keep density constant, seen by ``radars`` radars around it.
    """

    n_targets: int
    radars: int = 2
    spacing_m: float = 5_000.0
    speed_mps: tuple[float, float] = (100.0, 300.0)
    turn_rate_dps: float = 3.0
    turn_prob_per_s: float = 0.01
    turn_duration_s: tuple[float, float] = (10.0, 30.0)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Times in seconds from ``epoch``; positions as documented above."""

    name: str
    epoch: datetime
    origin: Origin | None
    dims: int
    duration_s: float
    seed: int
    truth_period_s: float
    nations: tuple[str, ...]
    sensors: tuple[SensorModel, ...]
    targets: tuple[TargetModel, ...] = ()
    traffic: TrafficModel | None = None
    clutter_family: ClutterFamily | None = None
    path: str | None = field(default=None, compare=False)


# --------------------------------------------------------------------------- parsing


def _waypoint(c: _Ctx, origin_needed: list, *, need_alt: bool) -> Waypoint:
    c.allow({"x", "y", "lat", "lon", "alt", "name"})
    if "lat" in c.mapping() or "lon" in c.mapping():
        origin_needed.append((c, "lat"))
        wp = Waypoint(lat=c.num("lat", lo=-90, hi=90), lon=c.num("lon", lo=-180, hi=180),
                      alt=c.num("alt", required=need_alt), name=c.str_("name", required=False))
    elif "x" in c.mapping():
        wp = Waypoint(x=c.num("x"), y=c.num("y"), alt=c.num("alt", required=need_alt), name=c.str_("name", required=False))
    else:
        raise c.err(None, "a point: lat and lon (degrees) or x and y (metres)", dict(c.mapping()))
    return wp


def _route(c: _Ctx, key: str, origin_needed: list, *, need_alt: bool, min_len: int = 2) -> tuple[Waypoint, ...]:
    pts = c.seq(key)
    if len(pts) < min_len:
        raise c.err(key, f"at least {min_len} waypoints", len(pts))
    return tuple(_waypoint(c.sub(f"{key}[{i}]", p), origin_needed, need_alt=need_alt) for i, p in enumerate(pts))


_SENSOR_FIELDS = {
    "id", "nation", "kind", "releasable_to", "x", "y", "z", "lat", "lon", "alt", "pd", "clutter_per_scan",
    "period_s", "phase_s", "max_range_m", "sigma_range_m", "sigma_bearing_deg", "sigma_elevation_deg",
    "sigma_range_rate_mps", "sigma_m", "sigma_alt_m", "latency_s", "latency_jitter_s", "fov_az_deg",
    "fov_el_deg", "min_alt_m", "active_s", "route", "speed_mps",
}


def _sensor(c: _Ctx, origin_needed: list, dims: int) -> SensorModel:
    c.allow(_SENSOR_FIELDS)
    sid = c.str_("id")
    nation = c.str_("nation", pattern=NATION_RE, what="an ISO 3166-1 alpha-3 code such as JPN")
    kind = c.str_("kind", choices=SENSOR_KINDS)
    kw: dict[str, Any] = {}
    if "route" in c.mapping():
        kw["route"] = _route(c, "route", origin_needed, need_alt=False)
        kw["speed_mps"] = c.num("speed_mps", lo=0.0)
    elif "lat" in c.mapping():
        origin_needed.append((c, "lat"))
        kw.update(lat=c.num("lat", lo=-90, hi=90), lon=c.num("lon", lo=-180, hi=180), alt=c.num("alt", required=False, default=0.0))
    elif kind != "ir":
        kw.update(x=c.num("x"), y=c.num("y"), z=c.num("z", required=False, default=0.0))
    if kind == "radar":
        kw["sigma_range_m"] = c.num("sigma_range_m", lo=0, lo_open=True)
        kw["sigma_bearing_deg"] = c.num("sigma_bearing_deg", lo=0, lo_open=True)
        if dims == 3:
            kw["sigma_elevation_deg"] = c.num("sigma_elevation_deg", lo=0, lo_open=True)
        kw["sigma_range_rate_mps"] = c.num("sigma_range_rate_mps", required=False, lo=0, lo_open=True)
    else:
        default_sigma = {"cartesian": 50.0, "adsb": 30.0, "ir": 1500.0}[kind]
        kw["sigma_m"] = c.num("sigma_m", required=False, default=default_sigma, lo=0, lo_open=True)
        if kind == "adsb":
            kw["sigma_alt_m"] = c.num("sigma_alt_m", required=False, default=8.0, lo=0, lo_open=True)
    active = c.pair("active_s")
    if active is not None and active[1] <= active[0]:
        raise c.err("active_s", "[start, end] with end > start", list(active))
    fov_az = c.pair("fov_az_deg")
    if fov_az is not None and not all(0.0 <= a <= 360.0 for a in fov_az):
        raise c.err("fov_az_deg", "[from, to] azimuths in degrees within [0, 360]", list(fov_az))
    fov_el = c.pair("fov_el_deg")
    if fov_el is not None and not (-90.0 <= fov_el[0] < fov_el[1] <= 90.0):
        raise c.err("fov_el_deg", "[low, high] elevations in degrees within [-90, 90], low < high", list(fov_el))
    pd = c.num("pd", required=False, default=0.9, lo=0.0, hi=1.0)
    return SensorModel.build(
        id=sid, nation=nation, kind=kind,
        releasable_to=c.nations("releasable_to", default=(nation,)),
        pd=pd,
        clutter_per_scan=c.num("clutter_per_scan", required=False, default=0.0, lo=0.0),
        period_s=c.num("period_s", required=False, default=1.0, lo=0.0, lo_open=True),
        phase_s=c.num("phase_s", required=False, default=0.0, lo=0.0),
        max_range_m=c.num("max_range_m", required=False, default=200_000.0, lo=0.0, lo_open=True),
        latency_s=c.num("latency_s", required=False, default=0.0, lo=0.0),
        latency_jitter_s=c.num("latency_jitter_s", required=False, default=0.0, lo=0.0),
        fov_az_deg=fov_az, fov_el_deg=fov_el,
        min_alt_m=c.num("min_alt_m", required=False),
        active_s=active,
        **kw,
    )


_TARGET_FIELDS = {"id", "type", "t_start", "route", "speed_mps", "bank_deg", "climb_mps", "loop", "icao24",
                  "launch", "azimuth_deg", "range_m", "range_km", "nation", "beta_kg_m2"}


def _target(c: _Ctx, origin_needed: list) -> TargetModel:
    c.allow(_TARGET_FIELDS)
    tid = c.str_("id")
    ttype = c.str_("type", choices=TARGET_TYPES)
    t_start = c.num("t_start", required=False, default=0.0)
    nation = c.str_("nation", required=False, pattern=NATION_RE, what="an ISO 3166-1 alpha-3 code")
    if ttype == "ballistic":
        if "launch" not in c.mapping():
            raise c.err("launch", "the launch site {lat, lon}", "nothing")
        launch = _waypoint(c.sub("launch", c.mapping()["launch"]), origin_needed, need_alt=False)
        if "range_km" in c.mapping():
            rng = c.num("range_km", lo=50.0, hi=12_000.0) * 1000.0
        else:
            rng = c.num("range_m", lo=50_000.0, hi=12_000_000.0)
        return TargetModel(id=tid, type=ttype, t_start=t_start, launch=launch,
                           azimuth_deg=c.num("azimuth_deg", lo=0.0, hi=360.0), range_m=rng, nation=nation,
                           beta_kg_m2=c.num("beta_kg_m2", required=False, lo=500.0, hi=50_000.0))
    icao = c.str_("icao24", required=False, pattern=ICAO24_RE, what="6 lower-case hex digits (24-bit ICAO address)")
    if ttype == "airliner" and icao is None:
        raise c.err("icao24", "an ICAO 24-bit address for an airliner's ADS-B (6 lower-case hex digits)", "nothing")
    defaults = {"airliner": 230.0, "military": 250.0, "cruise": 240.0}[ttype]
    return TargetModel(
        id=tid, type=ttype, t_start=t_start,
        route=_route(c, "route", origin_needed, need_alt=True),
        speed_mps=c.num("speed_mps", required=False, default=defaults, lo=1.0, hi=2000.0),
        bank_deg=c.num("bank_deg", required=False, default=25.0, lo=1.0, hi=80.0),
        climb_mps=c.num("climb_mps", required=False, default=10.0, lo=0.1, hi=200.0),
        loop=c.bool_("loop"), icao24=icao, nation=nation,
    )


def _traffic(c: _Ctx, origin_needed: list) -> TrafficModel:
    c.allow({"count", "airways", "levels_m", "speed_mps", "t_from", "t_to", "seed"})
    airways_raw = c.mapping().get("airways")
    if not isinstance(airways_raw, dict) or not airways_raw:
        raise c.err("airways", "a mapping of airway name to a list of waypoints", airways_raw)
    ac = c.sub("airways", airways_raw)
    airways = tuple(_route(ac, name, origin_needed, need_alt=False) for name in airways_raw)
    levels = c.seq("levels_m", required=False) or [9000.0, 10000.0, 11000.0, 12000.0]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in levels):
        raise c.err("levels_m", "a list of positive altitudes in metres", levels)
    t_from = c.num("t_from", required=False, default=-1800.0)
    t_to = c.num("t_to", required=False, default=1800.0)
    if t_to < t_from:
        raise c.err("t_to", f"a time >= t_from ({t_from})", t_to)
    return TrafficModel(
        count=c.int_("count", lo=0), airways=airways, levels_m=tuple(float(v) for v in levels),
        speed_mps=c.pair("speed_mps", default=(210.0, 250.0)), t_from=t_from, t_to=t_to,
        seed=c.int_("seed", required=False, default=7, lo=0),
    )


def _clutter_family(c: _Ctx) -> ClutterFamily:
    c.allow({"n_targets", "radars", "spacing_m", "speed_mps", "turn_rate_dps", "turn_prob_per_s", "turn_duration_s"})
    return ClutterFamily(
        n_targets=c.int_("n_targets", lo=1),
        radars=c.int_("radars", required=False, default=2, lo=1),
        spacing_m=c.num("spacing_m", required=False, default=5000.0, lo=100.0),
        speed_mps=c.pair("speed_mps", default=(100.0, 300.0)),
        turn_rate_dps=c.num("turn_rate_dps", required=False, default=3.0, lo=0.0),
        turn_prob_per_s=c.num("turn_prob_per_s", required=False, default=0.01, lo=0.0, hi=1.0),
        turn_duration_s=c.pair("turn_duration_s", default=(10.0, 30.0)),
    )


_TOP_FIELDS = {"name", "epoch", "origin", "dims", "duration_s", "seed", "truth_period_s", "nations",
               "sensors", "targets", "traffic", "clutter_family", "description"}


def parse_scenario(raw: Any, path: str = "<scenario>") -> Scenario:
    """Validate a scenario already loaded from YAML (``raw`` as from :func:`load_scenario`)."""
    c = _Ctx(path, raw, "")
    c.allow(_TOP_FIELDS)
    epoch = parse_epoch(c.get("epoch"), path, c.line("epoch"))
    origin = None
    if "origin" in c.mapping():
        oc = c.sub("origin", c.mapping()["origin"])
        oc.allow({"lat", "lon", "alt"})
        origin = Origin(oc.num("lat", lo=-90, hi=90), oc.num("lon", lo=-180, hi=180), oc.num("alt", required=False, default=0.0))
    dims = c.int_("dims", required=False, default=3 if origin is not None else 2)
    if dims not in (2, 3):
        raise c.err("dims", "2 (a flat plane) or 3", dims)
    if dims == 3 and origin is None:
        raise c.err("origin", "an origin {lat, lon, alt} for a 3-D scenario", "nothing")
    nations = c.nations("nations", default=())
    origin_needed: list[tuple[_Ctx, str]] = []
    sensors_raw = c.seq("sensors")
    if not sensors_raw:
        raise c.err("sensors", "at least one sensor", "an empty list")
    sensors = tuple(_sensor(c.sub(f"sensors[{i}]", s), origin_needed, dims) for i, s in enumerate(sensors_raw))
    seen: dict[str, int] = {}
    for i, s in enumerate(sensors):
        if s.id in seen:
            raise c.sub(f"sensors[{i}]", sensors_raw[i]).err("id", f"a sensor id not used before (sensors[{seen[s.id]}] has it)", s.id)
        seen[s.id] = i
        if nations and s.nation not in nations:
            raise c.sub(f"sensors[{i}]", sensors_raw[i]).err("nation", f"one of the scenario's nations ({', '.join(nations)})", s.nation)
    targets = tuple(_target(c.sub(f"targets[{i}]", t), origin_needed) for i, t in enumerate(c.seq("targets", required=False)))
    ids: dict[str, int] = {}
    for i, t in enumerate(targets):
        if t.id in ids:
            raise c.sub(f"targets[{i}]", c.mapping()["targets"][i]).err("id", "a target id not used before", t.id)
        ids[t.id] = i
        if t.type == "ballistic" and dims != 3:
            raise c.sub(f"targets[{i}]", c.mapping()["targets"][i]).err("type", "route targets only in a 2-D scenario", t.type)
    traffic = _traffic(c.sub("traffic", c.mapping()["traffic"]), origin_needed) if "traffic" in c.mapping() else None
    family = _clutter_family(c.sub("clutter_family", c.mapping()["clutter_family"])) if "clutter_family" in c.mapping() else None
    if origin is None and origin_needed:
        bad, key = origin_needed[0]
        raise bad.err(key, "x/y positions, or an 'origin' at the top for lat/lon positions", bad.get(key))
    if not targets and traffic is None and family is None:
        raise c.err("targets", "targets, traffic or a clutter_family: something to see", "none")
    return Scenario(
        name=c.str_("name", required=False, default=Path(path).stem),
        epoch=epoch, origin=origin, dims=dims,
        duration_s=c.num("duration_s", required=False, default=600.0, lo=0.0, lo_open=True),
        seed=c.int_("seed", required=False, default=0, lo=0),
        truth_period_s=c.num("truth_period_s", required=False, default=1.0, lo=0.0, lo_open=True),
        nations=nations or tuple(sorted({s.nation for s in sensors})),
        sensors=sensors, targets=targets, traffic=traffic, clutter_family=family, path=path,
    )


#: deepest nesting of flow collections (``[`` and ``{``) a scenario may use; PyYAML's scanner is
#: quadratic in the flow depth (5,000 ``[`` take a second) and its composer recurses per level
MAX_FLOW_DEPTH = 64


def _too_deep(text: str) -> int | None:
    """The line where flow nesting first passes :data:`MAX_FLOW_DEPTH`, or None.

    Brackets inside quoted scalars and comments do not count.
    """
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return None
    depth = 0
    line = 1
    quote = None
    prev = "\n"
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            if quote is None:
                prev = ch
                i += 1
                continue
        if quote is not None:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and prev in " \t\n":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif ch in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
        i += 1
    return None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; errors name the file, line and field.

    Every failure is a :class:`FormatError`: an unreadable file, bytes that are not UTF-8,
    characters YAML forbids, YAML that does not parse or whose values cannot be built (bad
    explicit tags, integers of more than 4,300 digits), nesting past the recursion limit, and
    every field that breaks docs/scenarios.md.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormatError(path, None, None, "a readable scenario file", e.strerror) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise FormatError(path, line, None, "UTF-8 text", f"byte 0x{data[e.start]:02x} at offset {e.start}") from None
    deep = _too_deep(text)
    if deep is not None:
        raise FormatError(path, deep, None, f"YAML nested at most {MAX_FLOW_DEPTH} brackets deep", "deeper nesting")
    loader = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        loader.name = str(path)
        raw = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise FormatError(path, mark.line + 1 if mark else None, None, "valid YAML", e.problem) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (control characters, ...)
        line = text.count("\n", 0, e.position) + 1
        raise FormatError(path, line, None, "YAML text (printable characters)", f"character #x{e.character:04x}") from None
    except yaml.YAMLError as e:
        raise FormatError(path, None, None, "valid YAML", str(e)[:80]) from None
    except RecursionError:
        raise FormatError(path, None, None, "YAML nested a few levels deep", "nesting past the recursion limit") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(raw, dict):
        raise FormatError(path, 1, None, "a YAML mapping with epoch, sensors and targets", type(raw).__name__)
    return parse_scenario(raw, str(path))
