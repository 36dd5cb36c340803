"""Mode S and ADS-B (1090 MHz extended squitter) message decoding: parity, fields, CPR.

Written for skyweave from the published standards (Apache-2.0; no decoder's code is used):
ICAO Annex 10 Vol. IV (Mode S downlink formats, the 24-bit parity, the Gillham altitude code)
and RTCA DO-260B / EUROCAE ED-102A (extended squitter type codes, Compact Position Reporting,
NUCp/NIC/NACp). pyModeS (GPL) checks every field of these functions in the tests only.

Units: altitudes in feet as transmitted (the caller converts), speeds in knots, vertical rates in
feet per minute, angles in degrees, positions in degrees of WGS-84 latitude and longitude.

- :func:`crc24`: the Mode S parity over a message's bytes (generator 0x1FFF409);
- :func:`decode_frame`: one message (7 or 14 bytes) to a :class:`ModeS` (downlink format, ICAO
  address with its parity check, and for ADS-B the type code and what the type code carries);
- :func:`cpr_global` and :func:`cpr_local`: airborne CPR position from an even/odd pair, or
  from one message and a reference within 180 NM (DO-260B §A.1.7);
- :data:`NACP_EPU_M`, :data:`NUCP_RC_M`, :func:`nic_rc_m`: the 95 % horizontal accuracy bound
  (metres) of each accuracy category, to turn a category into an honest standard deviation.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

__all__ = [
    "CRC_POLY", "crc24", "ModeS", "decode_frame", "ac13_feet", "ac12_feet", "gillham_feet", "callsign",
    "cpr_nl", "cpr_global", "cpr_local", "NACP_EPU_M", "NUCP_RC_M", "nic_rc_m", "nacp_epu_m", "nucp_r95_m", "SIGMA_PER_R95",
    "CPR_QUANTUM_M", "FRAME_BYTES", "crc24_heads",
]

#: the Mode S parity generator polynomial (24 bits, the x^24 term implied)
CRC_POLY = 0xFFF409

#: message length in bytes by downlink format (DF 0-15 short, 16-24 long)
FRAME_BYTES = tuple(7 if df < 16 else 14 for df in range(32))


def _crc_table() -> tuple[int, ...]:
    """The byte-wise table of the Mode S parity: the remainder of each byte value times x^24."""
    table = []
    for b in range(256):
        c = b << 16
        for _ in range(8):
            c = ((c << 1) ^ CRC_POLY) if c & 0x800000 else (c << 1)
        table.append(c & 0xFFFFFF)
    return tuple(table)


_TABLE = _crc_table()


def crc24(data: bytes) -> int:
    """The 24-bit Mode S parity of ``data`` (the remainder of data·x^24 by the generator).

    For a whole DF17/18 message (parity field included) the result is 0 when it is intact; for
    an address/parity message (DF 0, 4, 5, 16, 20, 21) ``crc24(msg[:-3]) ^ AP`` is the address.
    """
    c = 0
    t = _TABLE
    for b in data:
        c = ((c << 8) & 0xFFFFFF) ^ t[((c >> 16) ^ b) & 0xFF]
    return c


# --------------------------------------------------------------------------- altitude codes


def gillham_feet(code: int) -> int | None:
    """Mode C altitude (feet) from the 13-bit AC field order C1 A1 C2 A2 C4 A4 M B1 Q(D1) B2 D2 B4 D4
    with Q (D1) and M zero: the 500-ft Gray code (D1 D2 D4 A1 A2 A4 B1 B2 B4) and the 100-ft
    "five-cycle" code (C1 C2 C4), ICAO Annex 10 Vol. IV §3.1.1.7.12.2.3. None if the code is illegal."""
    c1, a1, c2, a2, c4, a4 = ((code >> s) & 1 for s in (12, 11, 10, 9, 8, 7))
    b1, d1, b2, d2, b4, d4 = ((code >> s) & 1 for s in (5, 4, 3, 2, 1, 0))
    gray500 = (d1 << 8) | (d2 << 7) | (d4 << 6) | (a1 << 5) | (a2 << 4) | (a4 << 3) | (b1 << 2) | (b2 << 1) | b4
    n500 = 0
    while gray500:  # Gray to binary: b = g ^ (g >> 1) ^ (g >> 2) ...
        n500 ^= gray500
        gray500 >>= 1
    g100 = (c1 << 2) | (c2 << 1) | c4
    n100 = g100 ^ (g100 >> 1) ^ (g100 >> 2)
    if n100 in (0, 5, 6):
        return None
    if n100 == 7:
        n100 = 5
    if n500 & 1:  # the 100-ft code counts down in odd 500-ft bands
        n100 = 6 - n100
    return n500 * 500 + n100 * 100 - 1300


def ac13_feet(ac: int) -> int | None:
    """Altitude (feet) of a 13-bit AC field (DF 0, 4, 16, 20): Q=1 gives 25-ft steps, Q=0 the
    Gillham code in 100-ft steps. None: no altitude (all zero), metric (M=1) or an illegal code."""
    if ac == 0 or ac & 0x40:  # M bit: metres, not sent by civil transponders
        return None
    if ac & 0x10:  # Q bit
        n = ((ac & 0x1F80) >> 2) | ((ac & 0x20) >> 1) | (ac & 0x0F)
        return n * 25 - 1000
    return gillham_feet(ac)


def ac12_feet(ac: int) -> int | None:
    """Barometric altitude (feet) of the 12-bit altitude field of an airborne position squitter
    (the AC13 field without its M bit)."""
    if ac == 0:
        return None
    return ac13_feet(((ac & 0xFC0) << 1) | (ac & 0x3F))


# --------------------------------------------------------------------------- identification

_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def callsign(me: int) -> str:
    """The 8-character identification of a BDS 0,8 ME field (6 bits per character), trailing blanks
    and the '#' of unused codes removed."""
    return "".join(_CHARS[(me >> (42 - 6 * i)) & 0x3F] for i in range(8)).replace("#", "").strip()


# --------------------------------------------------------------------------- CPR

_NZ = 15
_CPR_SCALE = 1 << 17


def _nl_table() -> tuple[float, ...]:
    """The latitudes (degrees, ascending) where the number of longitude zones NL drops by one:
    NL(lat) = 59 - (number of transition latitudes <= |lat|), DO-260B §A.1.7.2.d."""
    a = 1.0 - math.cos(math.pi / (2 * _NZ))
    out = []
    for nl in range(59, 1, -1):
        out.append(math.degrees(math.acos(math.sqrt(a / (1.0 - math.cos(2 * math.pi / nl))))))
    return tuple(out)


_NL_LATS = _nl_table()


def cpr_nl(lat: float) -> int:
    """The number of longitude zones at latitude ``lat`` (degrees): 59 at the equator, 1 past 87°."""
    a = abs(lat)
    if a >= 87.0:
        return 2 if a == 87.0 else 1
    return 59 - bisect_right(_NL_LATS, a)


def cpr_global(lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, latest_odd: bool) -> tuple[float, float] | None:
    """Airborne position (degrees) from an even and an odd CPR message (17-bit fields), at the time
    of the latest one (``latest_odd``), DO-260B §A.1.7.7. None when the two straddle a change of
    longitude-zone count (the pair is not decodable; wait for the next pair)."""
    y0 = lat_even / _CPR_SCALE
    y1 = lat_odd / _CPR_SCALE
    j = math.floor(59 * y0 - 60 * y1 + 0.5)
    rlat0 = (360.0 / 60) * (j % 60 + y0)
    rlat1 = (360.0 / 59) * (j % 59 + y1)
    if rlat0 >= 270.0:
        rlat0 -= 360.0
    if rlat1 >= 270.0:
        rlat1 -= 360.0
    if not (-90.0 <= rlat0 <= 90.0 and -90.0 <= rlat1 <= 90.0):
        return None
    nl = cpr_nl(rlat0)
    if nl != cpr_nl(rlat1):
        return None
    x0 = lon_even / _CPR_SCALE
    x1 = lon_odd / _CPR_SCALE
    m = math.floor(x0 * (nl - 1) - x1 * nl + 0.5)
    if latest_odd:
        ni = max(nl - 1, 1)
        lat, lon = rlat1, (360.0 / ni) * (m % ni + x1)
    else:
        ni = max(nl, 1)
        lat, lon = rlat0, (360.0 / ni) * (m % ni + x0)
    if lon >= 180.0:
        lon -= 360.0
    return lat, lon


def cpr_local(lat_cpr: int, lon_cpr: int, odd: bool, lat_ref: float, lon_ref: float) -> tuple[float, float]:
    """Airborne position (degrees) from one CPR message and a reference position within 180 NM
    of it (the aircraft's last position, or the receiver's), DO-260B §A.1.7.5."""
    i = 1 if odd else 0
    y = lat_cpr / _CPR_SCALE
    x = lon_cpr / _CPR_SCALE
    dlat = 360.0 / (4 * _NZ - i)
    j = math.floor(lat_ref / dlat) + math.floor(0.5 + (lat_ref % dlat) / dlat - y)
    lat = dlat * (j + y)
    dlon = 360.0 / max(cpr_nl(lat) - i, 1)
    m = math.floor(lon_ref / dlon) + math.floor(0.5 + (lon_ref % dlon) / dlon - x)
    lon = dlon * (m + x)
    if lon >= 180.0:
        lon -= 360.0
    elif lon < -180.0:
        lon += 360.0
    return lat, lon


# --------------------------------------------------------------------------- accuracy categories

#: the 2-D radius R95 of a circular Gaussian holds 95 %: R95 = σ·sqrt(-2 ln 0.05) = 2.4477 σ
SIGMA_PER_R95 = 1.0 / math.sqrt(-2.0 * math.log(0.05))

#: the quantisation of an airborne CPR latitude (360/60/2^17 degrees ≈ 5.1 m); its uniform
#: error's standard deviation is CPR_QUANTUM_M / sqrt(12)
CPR_QUANTUM_M = 360.0 / 60 / _CPR_SCALE * 111_320.0

#: NACp (0-11) to its 95 % horizontal estimated position uncertainty bound EPU (metres),
#: DO-260B Table 2-70; NACp 0 is "unknown or 10 NM and more" (None).
NACP_EPU_M = (None, 18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6, 30.0, 10.0, 3.0)

#: NUCp (0-9, ADS-B version 0) to its 95 % horizontal error bound (metres), DO-260 Table 2-14;
#: NUCp 0 is unknown (None).
NUCP_RC_M = (None, 18520.0, 9260.0, 1852.0, 926.0, 463.0, 185.2, 92.6, 10.0, 3.0)

#: ADS-B version 0: the NUCp of each airborne position type code (9-18 barometric, 20-22 GNSS)
TC_NUCP = {9: 9, 10: 8, 11: 7, 12: 6, 13: 5, 14: 4, 15: 3, 16: 2, 17: 1, 18: 0, 20: 9, 21: 8, 22: 0}


def nacp_epu_m(nacp: int) -> float | None:
    """The 95 % bound (m) of a NACp; None for 0 (unknown) and the reserved 12-15."""
    return NACP_EPU_M[nacp] if 0 <= nacp < len(NACP_EPU_M) else None


def nucp_r95_m(nucp: int) -> float | None:
    """The 95 % bound (m) of a NUCp; None for 0 (unknown) and values past 9."""
    return NUCP_RC_M[nucp] if 0 <= nucp < len(NUCP_RC_M) else None


def nic_rc_m(tc: int, nic_a: int, nic_b: int) -> float | None:
    """Containment radius Rc (metres) of an airborne position type code with its NIC supplements
    (DO-260B Table 2-14 and 2-69); None: unknown. Rc bounds the error with integrity 1e-7, so it
    is a conservative 95 % bound where no NACp is known."""
    if tc in (9, 20):
        return 7.5
    if tc in (10, 21):
        return 25.0
    if tc == 11:
        return 75.0 if (nic_a and nic_b) else 185.2
    if tc == 12:
        return 370.4
    if tc == 13:
        return 1111.2 if (nic_a and nic_b) else (555.6 if (not nic_a and nic_b) else 926.0)
    if tc == 14:
        return 1852.0
    if tc == 15:
        return 3704.0
    if tc == 16:
        return 7408.0 if (nic_a and nic_b) else 14816.0
    if tc == 17:
        return 37040.0
    return None


# --------------------------------------------------------------------------- one message


@dataclass(slots=True)
class ModeS:
    """One decoded Mode S message. Fields not carried by the message are None.

    ``icao`` is the 24-bit address; ``crc_ok`` says the parity checks (DF 11/17/18: the parity
    is clean; for address/parity formats the address is recovered from it and cannot be checked
    alone). For ADS-B (DF 17, DF 18 with CF 0, 1, 2 or 6) ``tc`` is the type code and the
    fields of its message follow: ``alt_baro_ft`` or ``alt_geom_ft`` and the CPR fields of an
    airborne position, ``callsign``, ground velocity (``gs_kt``, ``track_deg``), ``vrate_fpm``,
    ``geo_minus_baro_ft``, the operational status (``version``, ``nacp``, ``nic_a``).
    """

    df: int
    icao: int
    crc_ok: bool
    tc: int | None = None
    alt_baro_ft: int | None = None
    alt_geom_ft: float | None = None
    cpr_odd: bool | None = None
    cpr_lat: int | None = None
    cpr_lon: int | None = None
    nic_b: int = 0
    callsign: str | None = None
    gs_kt: float | None = None
    track_deg: float | None = None
    airspeed_kt: float | None = None
    heading_deg: float | None = None
    vrate_fpm: int | None = None
    geo_minus_baro_ft: int | None = None
    squawk: str | None = None
    version: int | None = None
    nacp: int | None = None
    nic_a: int | None = None
    surface: bool = False


def squawk(idcode: int) -> str:
    """The four octal digits of a 13-bit Mode A identity field (C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4)."""
    bits = [(idcode >> (12 - i)) & 1 for i in range(13)]
    c1, a1, c2, a2, c4, a4, _, b1, d1, b2, d2, b4, d4 = bits
    a = a4 * 4 + a2 * 2 + a1
    b = b4 * 4 + b2 * 2 + b1
    c = c4 * 4 + c2 * 2 + c1
    d = d4 * 4 + d2 * 2 + d1
    return f"{a}{b}{c}{d}"


def _velocity(msg: ModeS, me: int) -> None:
    """BDS 0,9 airborne velocity: subtypes 1-2 ground speed, 3-4 air speed (DO-260B §2.2.3.2.6)."""
    st = (me >> 48) & 0x7
    if st in (1, 2):
        scale = 4 if st == 2 else 1
        s_ew, v_ew = (me >> 42) & 1, (me >> 32) & 0x3FF
        s_ns, v_ns = (me >> 31) & 1, (me >> 21) & 0x3FF
        if v_ew and v_ns:
            vx = (v_ew - 1) * scale * (-1 if s_ew else 1)
            vy = (v_ns - 1) * scale * (-1 if s_ns else 1)
            msg.gs_kt = math.hypot(vx, vy)
            msg.track_deg = math.degrees(math.atan2(vx, vy)) % 360.0
    elif st in (3, 4):
        if (me >> 42) & 1:
            msg.heading_deg = ((me >> 32) & 0x3FF) * 360.0 / 1024.0
        asp = (me >> 21) & 0x3FF
        if asp:
            msg.airspeed_kt = (asp - 1) * (4 if st == 4 else 1)
    else:
        return
    vr = (me >> 10) & 0x1FF
    if vr:
        msg.vrate_fpm = (vr - 1) * 64 * (-1 if (me >> 19) & 1 else 1)
    dif = me & 0x7F
    if dif:
        msg.geo_minus_baro_ft = (dif - 1) * 25 * (-1 if (me >> 7) & 1 else 1)


def _extended_squitter(msg: ModeS, me: int) -> None:
    """Fill ``msg`` from a 56-bit ADS-B ME field."""
    tc = me >> 51
    msg.tc = tc
    if 9 <= tc <= 18 or 20 <= tc <= 22:
        msg.nic_b = (me >> 48) & 1
        alt = (me >> 36) & 0xFFF
        if tc <= 18:
            msg.alt_baro_ft = ac12_feet(alt)
        elif alt:
            msg.alt_geom_ft = alt * 3.28084  # GNSS height above the ellipsoid, metres on the air
        msg.cpr_odd = bool((me >> 34) & 1)
        msg.cpr_lat = (me >> 17) & 0x1FFFF
        msg.cpr_lon = me & 0x1FFFF
    elif 1 <= tc <= 4:
        msg.callsign = callsign(me)
    elif tc == 19:
        _velocity(msg, me)
    elif 5 <= tc <= 8:
        msg.surface = True
    elif tc == 31:
        msg.version = (me >> 13) & 0x7
        msg.nic_a = (me >> 12) & 1
        msg.nacp = (me >> 8) & 0xF
        if (me >> 48) & 0x7 == 1:  # surface status: NACp sits in the same place
            msg.surface = True


def decode_frame(data: bytes, head_crc: int | None = None) -> ModeS | None:
    """One Mode S message (7 or 14 bytes) to a :class:`ModeS`; None for a length that does not fit
    its downlink format or a format that carries nothing skyweave uses (DF 24 Comm-D and up).
    ``head_crc``: ``crc24(data[:-3])`` when already known (:func:`crc24_heads`)."""
    n = len(data)
    if n < 7:
        return None
    df = data[0] >> 3
    if df >= 24 or FRAME_BYTES[df] != n:
        return None
    if head_crc is None:
        head_crc = crc24(data[:-3])
    rem = head_crc ^ int.from_bytes(data[-3:], "big")
    if df in (17, 18):
        msg = ModeS(df, int.from_bytes(data[1:4], "big"), rem == 0)
        if df == 17 or data[0] & 7 in (0, 1, 2, 6):
            _extended_squitter(msg, int.from_bytes(data[4:11], "big"))
        return msg
    if df == 11:
        return ModeS(df, int.from_bytes(data[1:4], "big"), rem & 0xFFFF80 == 0)
    if df in (0, 4, 5, 16, 20, 21):
        msg = ModeS(df, rem, True)
        field13 = ((data[2] << 8) | data[3]) & 0x1FFF
        if df in (5, 21):
            msg.squawk = squawk(field13)
        else:
            msg.alt_baro_ft = ac13_feet(field13)
        return msg
    return ModeS(df, -1, False)


def crc24_heads(msgs: list[bytes]) -> list[int]:
    """``crc24(m[:-3])`` of every message, computed column by column with numpy (messages of 7
    and 14 bytes; any other length is computed one by one)."""
    import numpy as np

    out = [0] * len(msgs)
    table = _NP_TABLE
    for size in (7, 14):
        idx = [i for i, m in enumerate(msgs) if len(m) == size]
        if not idx:
            continue
        arr = np.frombuffer(b"".join(msgs[i] for i in idx), dtype=np.uint8).reshape(len(idx), size)
        c = np.zeros(len(idx), dtype=np.int64)
        for j in range(size - 3):
            c = ((c << 8) & 0xFFFFFF) ^ table[((c >> 16) ^ arr[:, j]) & 0xFF]
        for i, v in zip(idx, c.tolist()):
            out[i] = v
    for i, m in enumerate(msgs):
        if len(m) not in (7, 14):
            out[i] = crc24(m[:-3])
    return out


def _np_table():
    import numpy as np

    return np.array(_TABLE, dtype=np.int64)


_NP_TABLE = _np_table()
