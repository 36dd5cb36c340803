"""ASTERIX data blocks and records: CAT048 (monoradar target reports), CAT021 (ADS-B target
reports), CAT034 (monoradar service messages: north and sector markers).

Written for skyweave from the EUROCONTROL specifications (Apache-2.0; no decoder's code is used):
Part 4 Category 048 edition 1.21-1.31 (the UAP is unchanged since 1.15), Part 12 Category 021
edition 2.1-2.6, Part 2b Category 034 edition 1.27-1.29. asterix-decoder (GPL) checks the results
on real recordings in the tests only.

Structure (Part 1): a data block is CAT (1 byte), LEN (2 bytes, the whole block) and records;
a record is its FSPEC (bytes whose lowest bit says another follows; from the top bit down each
bit marks the presence of the item with the next field reference number, FRN) and then the
present items in FRN order. Every item of each category's user application profile (UAP) is
described by its format so that a present item skyweave does not use is skipped exactly:

- ``("f", n)`` fixed, n bytes;
- ``("e",)`` extended: 1-byte parts while the part's lowest bit (FX) is set;
- ``("r", n)`` repetitive: a count byte, then count × n bytes;
- ``("x",)`` explicit: a length byte counting itself;
- ``("c", subs)`` compound: an extended primary subfield whose bits (top down, 7 per byte) mark
  the present subfields, each with its own format from ``subs`` (None: spare, never set).

An FRN the UAP does not define cannot be skipped (its length is unknown): the rest of the block
is reported and decoding goes on with the next block. Units: times of day in seconds since
midnight UTC, ranges in metres, angles in degrees, flight levels in hundreds of feet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from skyweave.interop.records import DecodeError, Tally

__all__ = ["UAP", "KNOWN_CATEGORIES", "iter_blocks", "parse_record", "item_length", "Cat048", "Cat021", "Cat034",
           "decode_cat048", "decode_cat021", "decode_cat034", "decode_block", "NM", "TOD_LSB", "EXT"]

NM = 1852.0
#: the time-of-day unit of CAT034/048/021/062 (s)
TOD_LSB = 1.0 / 128.0

F1, F2, F3, F4, F6, F7, F8 = (("f", n) for n in (1, 2, 3, 4, 6, 7, 8))
EXT = ("e",)
EXPL = ("x",)

#: UAP by category: FRN (1-based) -> (item name, format)
UAP: dict[int, dict[int, tuple[str, tuple]]] = {
    48: {
        1: ("I010", F2), 2: ("I140", F3), 3: ("I020", EXT), 4: ("I040", F4), 5: ("I070", F2), 6: ("I090", F2),
        7: ("I130", ("c", (F1, F1, F1, F1, F1, F1, F1))), 8: ("I220", F3), 9: ("I240", F6), 10: ("I250", ("r", 8)),
        11: ("I161", F2), 12: ("I042", F4), 13: ("I200", F4), 14: ("I170", EXT), 15: ("I210", F4), 16: ("I030", EXT),
        17: ("I080", F2), 18: ("I100", F4), 19: ("I110", F2), 20: ("I120", ("c", (F2, ("r", 6)))), 21: ("I230", F2),
        22: ("I260", F7), 23: ("I055", F1), 24: ("I050", F2), 25: ("I065", F1), 26: ("I060", F2), 27: ("SP", EXPL),
        28: ("RE", EXPL),
    },
    34: {
        1: ("I010", F2), 2: ("I000", F1), 3: ("I030", F3), 4: ("I020", F1), 5: ("I041", F2),
        6: ("I050", ("c", (F1, None, None, F1, F1, F2))), 7: ("I060", ("c", (F1, None, None, F1, F1, F1))),
        8: ("I070", ("r", 2)), 9: ("I100", F8), 10: ("I110", F1), 11: ("I120", F8), 12: ("I090", F2),
        13: ("RE", EXPL), 14: ("SP", EXPL),
    },
    21: {
        1: ("I010", F2), 2: ("I040", EXT), 3: ("I161", F2), 4: ("I015", F1), 5: ("I071", F3), 6: ("I130", F6),
        7: ("I131", F8), 8: ("I072", F3), 9: ("I150", F2), 10: ("I151", F2), 11: ("I080", F3), 12: ("I073", F3),
        13: ("I074", F4), 14: ("I075", F3), 15: ("I076", F4), 16: ("I140", F2), 17: ("I090", EXT), 18: ("I210", F1),
        19: ("I070", F2), 20: ("I230", F2), 21: ("I145", F2), 22: ("I152", F2), 23: ("I200", F1), 24: ("I155", F2),
        25: ("I157", F2), 26: ("I160", F4), 27: ("I165", F2), 28: ("I077", F3), 29: ("I170", F6), 30: ("I020", F1),
        31: ("I220", ("c", (F2, F2, F2, F1))), 32: ("I146", F2), 33: ("I148", F2),
        34: ("I110", ("c", (EXT, ("r", 15)))), 35: ("I016", F1), 36: ("I008", F1), 37: ("I271", EXT),
        38: ("I132", F1), 39: ("I250", ("r", 8)), 40: ("I260", F7), 41: ("I400", F1),
        42: ("I295", ("c", (F1,) * 23)), 48: ("RE", EXPL), 49: ("SP", EXPL),
    },
}

#: categories a block header may carry (for resynchronising after a corrupt block length)
KNOWN_CATEGORIES = frozenset({1, 2, 4, 8, 9, 10, 11, 15, 16, 17, 18, 19, 20, 21, 23, 25, 30, 31, 32, 34, 48,
                              62, 63, 65, 150, 240, 247, 252})


def item_length(data: bytes, pos: int, end: int, fmt: tuple) -> int:
    """The length (bytes) of the item of format ``fmt`` starting at ``pos`` (a DecodeError if it
    runs past ``end``)."""
    kind = fmt[0]
    if kind == "f":
        n = fmt[1]
    elif kind == "e":
        n = 1
        while pos + n - 1 < end and data[pos + n - 1] & 1:
            n += 1
    elif kind == "r":
        if pos >= end:
            raise DecodeError("truncated record", "repetition count missing")
        n = 1 + data[pos] * fmt[1]
    elif kind == "x":
        if pos >= end:
            raise DecodeError("truncated record", "explicit length missing")
        n = data[pos]
        if n == 0:
            raise DecodeError("bad record", "explicit item of length 0")
    else:  # compound
        subs = fmt[1]
        p = pos
        present = []
        k = 0
        while True:
            if p >= end:
                raise DecodeError("truncated record", "compound item's subfield list cut")
            b = data[p]
            for bit in range(7):
                if b & (0x80 >> bit):
                    present.append(k + bit)
            p += 1
            k += 7
            if not b & 1:
                break
        for i in present:
            sub = subs[i] if i < len(subs) else None
            if sub is None:
                raise DecodeError("unknown item", f"compound subfield {i + 1} is not defined")
            p += item_length(data, p, end, sub)
        n = p - pos
    if pos + n > end:
        raise DecodeError("truncated record", f"item needs {n} bytes, {end - pos} left")
    return n


#: layouts already met: id(uap) -> FSPEC bytes -> ((item name, fixed length or 0, format), ...)
_PLANS: dict[int, dict[bytes, tuple]] = {}
_PLAN_CACHE_MAX = 4096


def fspec_plan(uap: dict, fspec: bytes) -> tuple:
    """The items an FSPEC marks present, in order: (name, fixed length or 0, format)."""
    plan = []
    for i, b in enumerate(fspec):
        for bit in range(7):
            if b & (0x80 >> bit):
                frn = 7 * i + bit + 1
                spec = uap.get(frn)
                if spec is None:
                    raise DecodeError("unknown item", f"FRN {frn} is not in the UAP")
                name, fmt = spec
                plan.append((name, fmt[1] if fmt[0] == "f" else 0, fmt))
    if not plan:
        raise DecodeError("bad record", "empty FSPEC")
    return tuple(plan)


def parse_record(data: bytes, pos: int, end: int, uap: dict) -> tuple[dict[str, tuple[int, int]], int]:
    """One record at ``pos``: its items as ``name -> (start, stop)`` byte spans, and the offset of
    the next record. A DecodeError for an undefined FRN or an item cut by ``end``.

    The items of each FSPEC met are worked out once (a record's layout differs from another of
    the same FSPEC only in its variable-length items)."""
    p = pos
    while p < end and data[p] & 1:
        p += 1
    if p >= end:
        raise DecodeError("truncated record", "FSPEC cut")
    p += 1
    fspec = bytes(data[pos:p])
    cache = _PLANS.get(id(uap))
    if cache is None:
        cache = _PLANS[id(uap)] = {}
    plan = cache.get(fspec)
    if plan is None:
        plan = fspec_plan(uap, fspec)
        if len(cache) < _PLAN_CACHE_MAX:
            cache[fspec] = plan
    items: dict[str, tuple[int, int]] = {}
    for name, n, fmt in plan:
        if not n:
            n = item_length(data, p, end, fmt)
        elif p + n > end:
            raise DecodeError("truncated record", f"{name} needs {n} bytes, {end - p} left")
        items[name] = (p, p + n)
        p += n
    return items, p


def iter_blocks(data: bytes, tally: Tally, name: str = "<asterix>", base: int = 0) -> Iterator[tuple[int, int, int]]:
    """The data blocks of a stream of ASTERIX bytes as ``(category, start, end)`` offsets (records
    between ``start + 3`` and ``end``). A block whose length does not fit is reported with its
    byte offset (``base`` is added to offsets in reports) and the stream resynchronised at the
    next plausible block header; a block cut by the end of the data is decoded as far as it goes."""
    n = len(data)
    pos = 0
    while pos < n:
        if n - pos < 3:
            tally.read += 1
            tally.skip(f"{name}: byte {base + pos}", "truncated block", f"{n - pos} bytes left, a header needs 3")
            return
        cat = data[pos]
        length = (data[pos + 1] << 8) | data[pos + 2]
        if length < 4 or cat not in KNOWN_CATEGORIES:
            tally.read += 1
            nxt = _resync(data, pos + 1)
            tally.skip(f"{name}: byte {base + pos}", "bad block header",
                       f"category {cat}, length {length}; {nxt - pos} bytes skipped")
            pos = nxt
            continue
        if pos + length > n:
            tally.skip(f"{name}: byte {base + pos}", "truncated block", f"length {length}, {n - pos} bytes left")
            yield cat, pos, n
            return
        yield cat, pos, pos + length
        pos += length


def _resync(data: bytes, pos: int) -> int:
    """The next offset from ``pos`` that looks like a block header whose length lands on the end of
    the data or on another such header (the end of the data if none)."""
    n = len(data)
    while pos + 3 <= n:
        cat = data[pos]
        if cat in KNOWN_CATEGORIES:
            length = (data[pos + 1] << 8) | data[pos + 2]
            nxt = pos + length
            if length >= 4 and (nxt == n or (nxt + 3 <= n and data[nxt] in KNOWN_CATEGORIES)):
                return pos
        pos += 1
    return n


def decode_block(data: bytes, cat: int, start: int, end: int, tally: Tally, name: str, base: int = 0) -> Iterator:
    """The decoded records of one block (CAT048 -> :class:`Cat048`, CAT021 -> :class:`Cat021`,
    CAT034 -> :class:`Cat034`); other categories are counted as ignored. A record that cannot be
    decoded is reported with its byte offset, and the rest of its block with it."""
    uap = UAP.get(cat)
    if uap is None:
        tally.ignored[f"CAT{cat:03d}"] += 1
        return
    decode = _DECODERS[cat]
    pos = start + 3
    while pos < end:
        tally.read += 1
        try:
            items, nxt = parse_record(data, pos, end, uap)
            rec = decode(data, items)
        except DecodeError as e:
            tally.skip(f"{name}: byte {base + pos}", e.reason, f"CAT{cat:03d}: {e}; {end - pos} bytes of the block skipped")
            return
        tally.decoded += 1
        pos = nxt
        yield rec


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class Cat048:
    """A CAT048 target report: ``sac``/``sic`` (radar), ``tod`` (s of day, UTC), ``rho_m`` slant
    range (m) and ``theta_deg`` azimuth (deg from north) in the radar's own polar frame,
    ``fl`` Mode C flight level (hundreds of ft; None if absent, not validated or garbled),
    ``icao`` Mode S address, ``mode3a`` (4 octal digits), ``callsign``, ``track`` number, ``typ``
    (detection type 0-7 of I020), ``test`` (simulated or test target), ``height_ft`` (3-D radar)."""

    sac: int
    sic: int
    tod: float | None
    rho_m: float | None
    theta_deg: float | None
    fl: float | None = None
    icao: int | None = None
    mode3a: str | None = None
    callsign: str | None = None
    track: int | None = None
    typ: int = 0
    test: bool = False
    height_ft: float | None = None


@dataclass(slots=True)
class Cat034:
    """A CAT034 service message: ``kind`` 1 north marker, 2 sector crossing, 3 geographical
    filtering, 4 jamming strobe; ``tod`` (s of day), ``sector_deg``, ``period_s`` (antenna)."""

    sac: int
    sic: int
    kind: int
    tod: float | None
    sector_deg: float | None = None
    period_s: float | None = None


@dataclass(slots=True)
class Cat021:
    """A CAT021 ADS-B report: ``sac``/``sic`` (ground station), ``tod`` (time of applicability of
    the position, s of day), ``icao``, ``lat``/``lon`` (deg), ``fl`` (flight level),
    ``geo_height_ft``, ``nacp`` / ``nucp`` (accuracy categories), ``callsign``, ``version``."""

    sac: int
    sic: int
    tod: float | None
    icao: int | None
    lat: float | None
    lon: float | None
    fl: float | None = None
    geo_height_ft: float | None = None
    nucp: int | None = None
    nacp: int | None = None
    callsign: str | None = None
    version: int | None = None
    test: bool = False


_ICHARS = " ABCDEFGHIJKLMNOPQRSTUVWXYZ     " + " " * 16 + "0123456789      "


def _ident(b: bytes) -> str:
    v = int.from_bytes(b, "big")
    return "".join(_ICHARS[(v >> (42 - 6 * i)) & 0x3F] for i in range(8)).strip()


def _s(v: int, bits: int) -> int:
    """Two's complement of a ``bits``-wide field."""
    return v - (1 << bits) if v & (1 << (bits - 1)) else v


def _tod(data: bytes, span) -> float:
    return int.from_bytes(data[span[0]:span[1]], "big") * TOD_LSB


def decode_cat048(data: bytes, items: dict) -> Cat048:
    """The fields skyweave uses of one CAT048 record (items as :func:`parse_record` gives them)."""
    sp = items.get("I010")
    if sp is None:
        raise DecodeError("bad record", "CAT048 record without I010 (data source)")
    a = sp[0]
    rec = Cat048(data[a], data[a + 1], None, None, None)
    sp = items.get("I140")
    if sp is not None:
        rec.tod = _tod(data, sp)
    sp = items.get("I040")
    if sp is not None:
        a = sp[0]
        rec.rho_m = ((data[a] << 8) | data[a + 1]) / 256.0 * NM
        rec.theta_deg = ((data[a + 2] << 8) | data[a + 3]) * (360.0 / 65536.0)
    sp = items.get("I020")
    if sp is not None:
        a, b = sp
        rec.typ = data[a] >> 5
        rec.test = bool(data[a] & 0x10) or (b - a > 1 and bool(data[a + 1] & 0x80))  # SIM, then TST
    sp = items.get("I090")
    if sp is not None:
        a = sp[0]
        if not data[a] & 0xC0:  # V (not validated) and G (garbled) both clear
            rec.fl = _s(((data[a] & 0x3F) << 8) | data[a + 1], 14) / 4.0
    sp = items.get("I070")
    if sp is not None:
        a = sp[0]
        if not data[a] & 0xC0:
            rec.mode3a = "%04o" % (((data[a] & 0x0F) << 8) | data[a + 1])
    sp = items.get("I220")
    if sp is not None:
        rec.icao = int.from_bytes(data[sp[0]:sp[1]], "big")
    sp = items.get("I240")
    if sp is not None:
        rec.callsign = _ident(data[sp[0]:sp[1]])
    sp = items.get("I161")
    if sp is not None:
        rec.track = ((data[sp[0]] & 0x0F) << 8) | data[sp[0] + 1]
    sp = items.get("I110")
    if sp is not None:
        rec.height_ft = _s(((data[sp[0]] & 0x3F) << 8) | data[sp[0] + 1], 14) * 25.0
    return rec


def decode_cat034(data: bytes, items: dict) -> Cat034:
    """The fields skyweave uses of one CAT034 record."""
    sp, kind = items.get("I010"), items.get("I000")
    if sp is None or kind is None:
        raise DecodeError("bad record", "CAT034 record without I010 or I000")
    rec = Cat034(data[sp[0]], data[sp[0] + 1], data[kind[0]], None)
    sp = items.get("I030")
    if sp is not None:
        rec.tod = _tod(data, sp)
    sp = items.get("I020")
    if sp is not None:
        rec.sector_deg = data[sp[0]] * (360.0 / 256.0)
    sp = items.get("I041")
    if sp is not None:
        rec.period_s = ((data[sp[0]] << 8) | data[sp[0] + 1]) / 128.0
    return rec


def decode_cat021(data: bytes, items: dict) -> Cat021:
    """The fields skyweave uses of one CAT021 (edition 2.x) record."""
    sp = items.get("I010")
    if sp is None:
        raise DecodeError("bad record", "CAT021 record without I010 (data source)")
    rec = Cat021(data[sp[0]], data[sp[0] + 1], None, None, None, None)
    for key in ("I071", "I073", "I077"):  # time of applicability, else of reception, else of report
        sp = items.get(key)
        if sp is not None:
            rec.tod = _tod(data, sp)
            break
    sp = items.get("I080")
    if sp is not None:
        rec.icao = int.from_bytes(data[sp[0]:sp[1]], "big")
    sp = items.get("I131")
    if sp is not None:
        a = sp[0]
        rec.lat = _s(int.from_bytes(data[a:a + 4], "big"), 32) * (180.0 / (1 << 30))
        rec.lon = _s(int.from_bytes(data[a + 4:a + 8], "big"), 32) * (180.0 / (1 << 30))
    else:
        sp = items.get("I130")
        if sp is not None:
            a = sp[0]
            rec.lat = _s(int.from_bytes(data[a:a + 3], "big"), 24) * (180.0 / (1 << 23))
            rec.lon = _s(int.from_bytes(data[a + 3:a + 6], "big"), 24) * (180.0 / (1 << 23))
    if rec.lat is not None and not (-90.0 <= rec.lat <= 90.0 and -180.0 <= rec.lon <= 180.0):
        raise DecodeError("bad record", f"CAT021 position out of range ({rec.lat:.3f}, {rec.lon:.3f})")
    sp = items.get("I145")
    if sp is not None:
        rec.fl = _s((data[sp[0]] << 8) | data[sp[0] + 1], 16) / 4.0
    sp = items.get("I140")
    if sp is not None:
        rec.geo_height_ft = _s((data[sp[0]] << 8) | data[sp[0] + 1], 16) * 6.25
    sp = items.get("I090")
    if sp is not None:
        a, b = sp
        rec.nucp = (data[a] >> 1) & 0x0F  # NUCp or NIC
        if b - a > 1:
            rec.nacp = (data[a + 1] >> 1) & 0x0F
    sp = items.get("I210")
    if sp is not None:
        rec.version = (data[sp[0]] >> 3) & 0x07
    sp = items.get("I170")
    if sp is not None:
        rec.callsign = _ident(data[sp[0]:sp[1]])
    sp = items.get("I040")
    if sp is not None:
        a, b = sp
        rec.test = b - a > 1 and bool(data[a + 1] & 0x60)  # SIM or TST (first extension)
    return rec


_DECODERS = {48: decode_cat048, 34: decode_cat034, 21: decode_cat021}
