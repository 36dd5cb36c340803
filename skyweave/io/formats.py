"""Readers, validators and writers for the interchange formats of docs/formats.md.

Everything here sits at a trust boundary: each record is checked once, and a bad record raises
(or, in the streaming readers, reports) a :class:`FormatError` that names the file, the line,
the field, what was expected and what came, while the good records around it are kept.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The core model lives in skyweave.core; it is re-exported here so that
# ``from skyweave.io.formats import SensorSet`` (and the rest) keeps working.
from skyweave.core.errors import FormatError
from skyweave.core.model import (  # noqa: F401 (re-exports)
    ICAO24_RE,
    NATION_RE,
    SENSOR_KINDS,
    Origin,
    SensorSet,
    SensorSpec,
    parse_epoch,
)

__all__ = [
    # readers, validators, writers of this module
    "JSON_ERRORS", "loads_json", "loads_document", "decode_utf8", "is_finite_number", "parse_sensor", "load_sensors", "write_sensors", "Detection",
    "DetectionReader", "validate_state_line", "iter_state_lines", "JsonlWriter",
    # re-exported from skyweave.core
    "FormatError", "ICAO24_RE", "NATION_RE", "SENSOR_KINDS", "Origin", "SensorSpec", "SensorSet",
    "parse_epoch",
]

try:  # orjson parses a line about twice as fast; plain json is the fallback.
    import orjson

    _fast_loads = orjson.loads
    _FAST_ERROR: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _fast_loads = json.loads
    _FAST_ERROR = json.JSONDecodeError


def loads_json(text: str | bytes) -> Any:
    """Parse one JSON document (a line of a .jsonl file); raises only one of :data:`JSON_ERRORS`.

    NaN and Infinity parse (as plain :mod:`json` allows), so that such a line reaches
    validation and gets the precise message ("expected a finite number, got nan") rather
    than "not JSON"; so do integers past the range of a float (validation refuses them).
    Hostile text never raises anything else: undecodable bytes are a ``UnicodeDecodeError``
    (a ``ValueError``), integers of more than 4,300 digits a ``ValueError``, and nesting deeper
    than the interpreter's recursion limit a ``ValueError`` instead of a ``RecursionError``.
    """
    try:
        return _fast_loads(text)
    except _FAST_ERROR:
        pass  # orjson refuses NaN, huge integers and depth > 1024; json says why, or accepts
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


#: What :func:`loads_json` raises on text that is not JSON (catch these, then raise FormatError).
JSON_ERRORS: tuple[type[Exception], ...] = (json.JSONDecodeError, ValueError)

# Private spellings of the names above, kept while other rooms' in-flight edits still import them;
# remove once no importer is left (tests/test_architecture.py reports private names used across
# modules).
_loads = loads_json
_JSONError = JSON_ERRORS


# --------------------------------------------------------------------------- field checks


def _finite(v: int | float) -> float | None:
    """``v`` as a float, or None when it is NaN, infinite or an integer past the float range."""
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def is_finite_number(v: Any) -> bool:
    """True for a JSON number (int or float, not bool) that is finite as a float."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v) is not None


def _num(rec: dict, key: str, path, line, *, required=True, lo=None, hi=None, lo_open=False, default=None):
    if key not in rec or rec[key] is None:
        if required:
            raise FormatError(path, line, key, "a number", "nothing")
        return default
    v = rec[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FormatError(path, line, key, "a number", v)
    v = _finite(v)
    if v is None:
        raise FormatError(path, line, key, "a finite number", rec[key])
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise FormatError(path, line, key, f"a number {'>' if lo_open else '>='} {lo}", v)
    if hi is not None and v > hi:
        raise FormatError(path, line, key, f"a number <= {hi}", v)
    return v


def _str(rec: dict, key: str, path, line, *, required=True, pattern: re.Pattern | None = None, what="a string"):
    if key not in rec or rec[key] is None:
        if required:
            raise FormatError(path, line, key, what, "nothing")
        return None
    v = rec[key]
    if not isinstance(v, str) or not v:
        raise FormatError(path, line, key, what, v)
    if pattern is not None and not pattern.match(v):
        raise FormatError(path, line, key, what, v)
    return v


def _nations(rec: dict, key: str, path, line) -> tuple[str, ...] | None:
    if key not in rec:
        return None
    v = rec[key]
    if not isinstance(v, list) or not all(isinstance(n, str) and NATION_RE.match(n) for n in v):
        raise FormatError(path, line, key, "a list of ISO 3166-1 alpha-3 nation codes", v)
    return tuple(v)


# --------------------------------------------------------------------------- sensors.json


_SENSOR_NUMS = {
    # name: (lo, lo_open)
    "pd": (0.0, False),
    "clutter_per_scan": (0.0, False),
    "period_s": (0.0, True),
    "max_range_m": (0.0, True),
    "sigma_range_m": (0.0, True),
    "sigma_bearing_deg": (0.0, True),
    "sigma_elevation_deg": (0.0, True),
    "sigma_range_rate_mps": (0.0, True),
    "sigma_m": (0.0, True),
}


def parse_sensor(d: Any, origin: Origin | None, path=None, where: str = "sensors[0]") -> SensorSpec:
    """Validate one sensor object of sensors.json (``where`` names it in errors)."""
    if not isinstance(d, dict):
        raise FormatError(path, None, where, "a JSON object", d)

    def fld(k):
        return f"{where}.{k}"

    def num(k, **kw):
        try:
            return _num(d, k, path, None, **kw)
        except FormatError as e:
            raise FormatError(path, None, fld(k), e.expected, e.got) from None

    sid = d.get("id")
    if not isinstance(sid, str) or not sid:
        raise FormatError(path, None, fld("id"), "a non-empty string", sid)
    nation = d.get("nation")
    if not isinstance(nation, str) or not NATION_RE.match(nation):
        raise FormatError(path, None, fld("nation"), "an ISO 3166-1 alpha-3 code such as JPN", nation)
    kind = d.get("kind")
    if kind not in SENSOR_KINDS:
        raise FormatError(path, None, fld("kind"), f"one of {', '.join(SENSOR_KINDS)}", kind)
    lat = lon = alt = None
    if "x" in d or "y" in d:
        x, y = num("x"), num("y")
        z = num("z", required=False, default=0.0)
        if "lat" in d:
            lat, lon, alt = num("lat", lo=-90, hi=90), num("lon", lo=-180, hi=180), num("alt", required=False, default=0.0)
    elif "lat" in d:
        if origin is None:
            raise FormatError(path, None, "origin", "an origin {lat, lon, alt} since sensor positions are geodetic", None)
        lat, lon = num("lat", lo=-90, hi=90), num("lon", lo=-180, hi=180)
        alt = num("alt", required=False, default=0.0)
        x, y, z = (float(v) for v in origin.frame().from_geodetic(lat, lon, alt))
    elif d.get("moving") or kind == "ir":  # a moving platform reports its position per detection; IR is in space
        x = y = z = 0.0
    else:
        raise FormatError(path, None, fld("x"), "a position: x, y (and z) or lat, lon (and alt)", None)
    rel = d.get("releasable_to", [nation])
    if not isinstance(rel, list) or not all(isinstance(n, str) and NATION_RE.match(n) for n in rel):
        raise FormatError(path, None, fld("releasable_to"), "a list of ISO 3166-1 alpha-3 nation codes", rel)
    kw = {}
    for k, (lo, lo_open) in _SENSOR_NUMS.items():
        kw[k] = num(k, required=False, lo=lo, lo_open=lo_open)
    if kw["pd"] is not None and kw["pd"] > 1.0:
        raise FormatError(path, None, fld("pd"), "a probability in [0, 1]", kw["pd"])
    if kind == "radar":
        for k in ("sigma_range_m", "sigma_bearing_deg"):
            if kw[k] is None:
                raise FormatError(path, None, fld(k), "a positive number (radars need it)", None)
    moving = d.get("moving", False)
    if not isinstance(moving, bool):
        raise FormatError(path, None, fld("moving"), "true or false", moving)
    known = {"id", "nation", "kind", "x", "y", "z", "lat", "lon", "alt", "releasable_to", "moving", *_SENSOR_NUMS}
    extra = {k: v for k, v in d.items() if k not in known}
    return SensorSpec(
        id=sid, nation=nation, kind=kind, x=x, y=y, z=z, releasable_to=tuple(rel), moving=moving,
        lat=lat, lon=lon, alt=alt, extra=extra, **kw,
    )


def decode_utf8(data: bytes, path) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark is dropped); a FormatError names the
    line and the byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise FormatError(path, line, None, "UTF-8 text", f"byte 0x{data[e.start]:02x} at offset {e.start}") from None


def loads_document(data: bytes, path) -> Any:
    """Parse a whole JSON document (sensors.json); every failure is a FormatError with its line."""
    text = decode_utf8(data, path)
    if not text.strip():
        raise FormatError(path, None, None, "a JSON document", "an empty file")
    try:
        return loads_json(text)
    except json.JSONDecodeError as e:
        raise FormatError(path, e.lineno, None, "valid JSON", e.msg) from None
    except JSON_ERRORS as e:
        raise FormatError(path, None, None, "valid JSON", str(e)[:80]) from None


def load_sensors(path: str | Path) -> SensorSet:
    """Read and validate sensors.json."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormatError(path, None, None, "a readable file", e.strerror) from None
    raw = loads_document(data, path)
    if not isinstance(raw, dict):
        raise FormatError(path, None, None, "a JSON object with epoch and sensors", type(raw).__name__)
    epoch = parse_epoch(raw.get("epoch"), path)
    origin = None
    if "origin" in raw:
        o = raw["origin"]
        if not isinstance(o, dict):
            raise FormatError(path, None, "origin", "an object {lat, lon, alt}", o)
        origin = Origin(
            _num(o, "lat", path, None, lo=-90, hi=90), _num(o, "lon", path, None, lo=-180, hi=180),
            _num(o, "alt", path, None, required=False, default=0.0),
        )
    sensors = raw.get("sensors")
    if not isinstance(sensors, list) or not sensors:
        raise FormatError(path, None, "sensors", "a non-empty list of sensor objects", sensors)
    specs = tuple(parse_sensor(s, origin, path, f"sensors[{i}]") for i, s in enumerate(sensors))
    ids = [s.id for s in specs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise FormatError(path, None, "sensors", "unique sensor ids", sorted(dup))
    dims = raw.get("dims")
    if dims is None:
        dims = 3 if (origin is not None or any("z" in s for s in sensors)) else 2
    if dims not in (2, 3):
        raise FormatError(path, None, "dims", "2 or 3", dims)
    return SensorSet(epoch=epoch, origin=origin, sensors=specs, dims=int(dims))


def write_sensors(path: str | Path, sensors: SensorSet) -> None:
    """Write ``sensors`` as an indented sensors.json."""
    Path(path).write_text(json.dumps(sensors.to_json(), indent=2) + "\n")


# --------------------------------------------------------------------------- detections.jsonl


@dataclass(frozen=True, slots=True)
class Detection:
    """One validated detection line. ``values`` holds the kind's measured fields by name."""

    t: float
    sensor: str
    kind: str
    values: dict
    line: int
    sensor_pos: tuple[float, float, float] | None = None
    raw: dict | None = None


def _detection_values(rec: dict, spec: SensorSpec, path, line, dims: int) -> dict:
    kind = spec.kind
    if kind == "radar":
        v = {
            "range_m": _num(rec, "range_m", path, line, lo=0.0),
            "bearing_deg": _num(rec, "bearing_deg", path, line, lo=0.0, hi=360.0),
        }
        if "elevation_deg" in rec or (spec.measures_elevation and dims == 3):
            v["elevation_deg"] = _num(rec, "elevation_deg", path, line, lo=-90.0, hi=90.0)
        if "range_rate_mps" in rec:
            v["range_rate_mps"] = _num(rec, "range_rate_mps", path, line)
        return v
    if kind == "cartesian":
        v = {"x": _num(rec, "x", path, line), "y": _num(rec, "y", path, line)}
        if dims == 3 or "z" in rec:
            v["z"] = _num(rec, "z", path, line, required=dims == 3)
        s = _num(rec, "sigma_m", path, line, required=False, lo=0.0, lo_open=True)
        if s is not None:
            v["sigma_m"] = s
        return v
    if kind == "adsb":
        v = {
            "icao24": _str(rec, "icao24", path, line, pattern=ICAO24_RE, what="a 24-bit ICAO address as 6 lower-case hex digits"),
            "lat": _num(rec, "lat", path, line, lo=-90.0, hi=90.0),
            "lon": _num(rec, "lon", path, line, lo=-180.0, hi=180.0),
            "alt": _num(rec, "alt", path, line),
        }
        # this report's own 1-σ horizontal / vertical error (m, from its NACp/NUCp); absent: the sensor's
        for k in ("sigma_m", "sigma_alt_m"):
            s = rec.get(k)
            if s is None:
                continue
            # a plain positive finite float is taken as is; anything else goes through the full check
            v[k] = s if type(s) is float and 0.0 < s <= _BIG else _num(rec, k, path, line, lo=0.0, lo_open=True)
        return v
    # ir: ground-projected position of the boost plume
    v = {
        "lat": _num(rec, "lat", path, line, lo=-90.0, hi=90.0),
        "lon": _num(rec, "lon", path, line, lo=-180.0, hi=180.0),
    }
    s = _num(rec, "sigma_m", path, line, required=False, lo=0.0, lo_open=True)
    if s is not None:
        v["sigma_m"] = s
    return v


#: the largest finite float: ``-_BIG <= v <= _BIG`` is false for NaN and the infinities
_BIG = 1.7976931348623157e308

#: one field of a fast-path plan: (key, lo, hi, lo_open, required)
_Field = tuple[str, float, float, bool, bool]


def _fast_plan(spec: SensorSpec, dims: int) -> tuple[_Field, ...] | None:
    """The fields :func:`_detection_values` reads for ``spec``, in its order, with their bounds,
    for :func:`_fast_values`; None where only the full path applies (ADS-B, moving platforms).

    A ``required`` field must be present; an optional one is checked only when present (its key
    in the record), exactly as :func:`_detection_values` decides to read it.
    """
    if spec.moving:
        return None
    if spec.kind == "radar":
        return (
            ("range_m", 0.0, _BIG, False, True),
            ("bearing_deg", 0.0, 360.0, False, True),
            ("elevation_deg", -90.0, 90.0, False, spec.measures_elevation and dims == 3),
            ("range_rate_mps", -_BIG, _BIG, False, False),
        )
    if spec.kind == "cartesian":
        return (
            ("x", -_BIG, _BIG, False, True),
            ("y", -_BIG, _BIG, False, True),
            ("z", -_BIG, _BIG, False, dims == 3),
            ("sigma_m", 0.0, _BIG, True, False),
        )
    if spec.kind == "ir":
        return (
            ("lat", -90.0, 90.0, False, True),
            ("lon", -180.0, 180.0, False, True),
            ("sigma_m", 0.0, _BIG, True, False),
        )
    return None


def _fast_values(rec: dict, plan: tuple[_Field, ...]) -> dict | None:
    """The measured fields of a record whose every field is a plain float within bounds (what
    :func:`_detection_values` returns for it), or None: then the full path decides, and words
    any error. Never raises and never accepts a record the full path would refuse."""
    v = {}
    for key, lo, hi, lo_open, required in plan:
        x = rec.get(key, rec)  # ``rec`` itself marks "absent" (a JSON value never is the dict)
        if x is rec:
            if required:
                return None
            continue
        if type(x) is not float or not lo <= x <= hi or (lo_open and x == lo):
            return None
        v[key] = x
    return v


def _sensor_position(rec: dict, spec: SensorSpec, origin: Origin | None, path, line):
    if not spec.moving:
        return None
    if "sensor_x" in rec:
        return (
            _num(rec, "sensor_x", path, line), _num(rec, "sensor_y", path, line),
            _num(rec, "sensor_z", path, line, required=False, default=0.0),
        )
    if "sensor_lat" in rec:
        if origin is None:
            raise FormatError(path, line, "sensor_lat", "sensor_x/sensor_y (no origin is set for geodetic positions)", rec["sensor_lat"])
        lat = _num(rec, "sensor_lat", path, line, lo=-90, hi=90)
        lon = _num(rec, "sensor_lon", path, line, lo=-180, hi=180)
        alt = _num(rec, "sensor_alt", path, line, required=False, default=0.0)
        return tuple(float(v) for v in origin.frame().from_geodetic(lat, lon, alt))
    raise FormatError(path, line, "sensor_x", f"the platform position of moving sensor {spec.id} (sensor_x/y/z or sensor_lat/lon/alt)", None)


class DetectionReader:
    """Stream-validate detections.jsonl, yielding :class:`Detection` and collecting errors.

    Errors do not stop the stream: each bad line is recorded in ``errors`` (a list of
    :class:`FormatError`) and skipped, so the good lines around it are all delivered. A sensor's
    time going backwards is an error for that line only (lines must be non-decreasing per sensor).
    """

    def __init__(self, path: str | Path, sensors: SensorSet, *, keep_raw: bool = False, lines: Iterable[str] | None = None):
        self.path = Path(path)
        self.sensors = sensors
        self.keep_raw = keep_raw
        self._lines = lines
        self.errors: list[FormatError] = []
        self.count = 0

    def __iter__(self) -> Iterator[Detection]:
        specs = self.sensors.by_id()
        origin = self.sensors.origin
        dims = self.sensors.dims
        last_t: dict[str, float] = {}
        # Fast path: a line whose time and fields are plain in-range floats is taken as is; any
        # other line goes through the full checks, which word every error (the same outcome).
        plans = {sid: _fast_plan(spec, dims) for sid, spec in specs.items()}
        path = self.path
        src = self._lines if self._lines is not None else open(path, "rb")
        try:
            for lineno, text in enumerate(src, 1):
                if not text.strip():
                    continue
                try:
                    try:
                        rec = loads_json(text)
                    except JSON_ERRORS as e:
                        raise FormatError(path, lineno, None, "one JSON object per line", str(e)[:60]) from None
                    values = None
                    if type(rec) is dict:
                        t = rec.get("t")
                        sid = rec.get("sensor")
                        plan = plans.get(sid) if type(sid) is str else None
                        if plan is not None and type(t) is float and -_BIG <= t <= _BIG:
                            values = _fast_values(rec, plan)
                    if values is not None:
                        spec = specs[sid]
                        spos = None
                    else:
                        if not isinstance(rec, dict):
                            raise FormatError(path, lineno, None, "a JSON object", rec)
                        t = _num(rec, "t", path, lineno)
                        sid = rec.get("sensor")
                        spec = specs.get(sid) if isinstance(sid, str) else None
                        if spec is None:
                            raise FormatError(path, lineno, "sensor", f"a sensor id from sensors.json ({', '.join(sorted(specs))[:80]})", sid)
                        values = _detection_values(rec, spec, path, lineno, dims)
                        spos = _sensor_position(rec, spec, origin, path, lineno)
                    prev = last_t.get(sid)
                    if prev is not None and t < prev:
                        raise FormatError(path, lineno, "t", f"non-decreasing time for sensor {sid} (last was {prev})", t)
                    last_t[sid] = t
                except FormatError as e:
                    self.errors.append(e)
                    continue
                self.count += 1
                yield Detection(t, sid, spec.kind, values, lineno, spos, rec if self.keep_raw else None)
        finally:
            if self._lines is None:
                src.close()


# --------------------------------------------------------------------------- truth / tracks


def validate_state_line(rec: Any, path, line, id_field: str, dims: int | None) -> dict:
    """Check one parsed truth or tracks line and return it unchanged.

    ``rec`` must be an object with a number ``t``, a non-empty string ``id_field`` (``id`` in
    truth.jsonl, ``track_id`` in tracks.jsonl), finite ``x, y, vx, vy`` (m, m/s) and, in 3-D
    (``dims`` 3, or ``dims`` None and a ``z`` present), ``z, vz``; an optional ``cov`` is the
    row-major n×n covariance of that state. Raises :class:`FormatError` naming ``path:line``
    and the field.
    """
    if not isinstance(rec, dict):
        raise FormatError(path, line, None, "a JSON object", rec)
    keys = _STATE_KEYS_3D if (dims == 3 or (dims is None and "z" in rec)) else _STATE_KEYS_2D
    if not _all_finite_numbers([rec.get(k) for k in keys]):  # the fast check failed: name the field
        for k in keys:
            _num(rec, k, path, line)
    _str(rec, id_field, path, line)
    if "cov" in rec:
        n = len(keys) - 1
        c = rec["cov"]
        if not isinstance(c, list) or len(c) != n * n or not _all_finite_numbers(c):
            raise FormatError(path, line, "cov", f"{n * n} finite numbers (row-major {n}x{n} covariance)", c if not isinstance(c, list) else f"list of {len(c)}")
    return rec


_STATE_KEYS_2D = ("t", "x", "y", "vx", "vy")
_STATE_KEYS_3D = ("t", "x", "y", "vx", "vy", "z", "vz")
_NUMBER_TYPES = frozenset((int, float))


def _all_finite_numbers(values: list) -> bool:
    """True when every value is a JSON number (int or float, not bool) finite as a float.

    The same test as :func:`is_finite_number` on each value, with the loops in C (this runs for
    every field of every truth and tracks line).
    """
    if not _NUMBER_TYPES.issuperset(map(type, values)):
        return all(is_finite_number(v) for v in values)  # subclasses of int/float (not bool) pass there
    try:
        return all(map(math.isfinite, values))
    except OverflowError:  # an integer past the float range
        return False


def iter_state_lines(path: str | Path, id_field: str, errors: list | None = None, dims: int | None = None) -> Iterator[dict]:
    """Stream a truth.jsonl (``id_field='id'``) or tracks.jsonl (``'track_id'``), validating each line."""
    path = Path(path)
    with open(path, "rb") as f:
        for lineno, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                try:
                    rec = loads_json(text)
                except JSON_ERRORS as e:
                    raise FormatError(path, lineno, None, "one JSON object per line", str(e)[:60]) from None
                yield validate_state_line(rec, path, lineno, id_field, dims)
            except FormatError as e:
                if errors is None:
                    raise
                errors.append(e)


# --------------------------------------------------------------------------- writers


def _fmt(v: float) -> str:
    """Shortest round-trippable text for a float, JSON-safe."""
    return repr(float(v))


class JsonlWriter:
    """Append JSON objects one per line; a context manager that flushes and closes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._f = open(self.path, "w", buffering=1 << 20)

    def write(self, rec: dict) -> None:
        self._f.write(json.dumps(rec, separators=(", ", ": ")) + "\n")

    def write_text(self, text: str) -> None:
        self._f.write(text)

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
