"""A Mode S / ADS-B *encoder* for the tests, written from the published standards (ICAO Annex 10
Vol. IV §3.1.2 for the Mode S formats and parity, RTCA DO-260B §2.2.3.2 and Appendix A for the
extended-squitter messages and CPR), independent of skyweave's decoder: it shares no code with
``skyweave.interop``, so a decoder bug cannot hide in a matching encoder bug, and pyModeS (the
test oracle) checks both.

:func:`synthetic_recording` builds what a receiver hears of one aircraft: airborne positions
(even/odd CPR), velocities with the GNSS-minus-baro difference, identification, operational
status (NACp, version), and surveillance replies (DF 4/5/11/20/21), with receive times. The
messages are made here, so the repository holds no third-party recording.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Mode S parity generator polynomial, x^24 implied (Annex 10 Vol. IV §3.1.2.3.3)
POLY = 0xFFF409
#: the 6-bit ADS-B character set (DO-260B Table A-8; '#' marks codes that are not characters)
CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
#: NZ, the number of latitude zones of the airborne CPR (DO-260B §A.1.7.2)
NZ = 15


def parity(data: bytes) -> int:
    """The 24-bit Mode S parity of ``data`` (the bits before the parity field), bit by bit."""
    reg = 0
    for byte in data:
        for i in range(7, -1, -1):
            bit = (byte >> i) & 1
            top = (reg >> 23) & 1
            reg = (reg << 1) & 0xFFFFFF
            if top ^ bit:
                reg ^= POLY
    return reg


def extended_squitter(icao: int, me: int, *, df: int = 17, ca: int = 5) -> str:
    """A DF 17 (or DF 18, ``ca`` the CF) message carrying the 56-bit ``me``, as upper-case hex."""
    body = ((df << 3 | ca) << 80 | icao << 56 | me).to_bytes(11, "big")
    return (body + parity(body).to_bytes(3, "big")).hex().upper()


def all_call(icao: int, *, ca: int = 5) -> str:
    """A DF 11 all-call reply (interrogator code 0: the parity field is the parity itself)."""
    body = ((11 << 3 | ca) << 24 | icao).to_bytes(4, "big")
    return (body + parity(body).to_bytes(3, "big")).hex().upper()


def surveillance(df: int, icao: int, field13: int, *, fs: int = 0, dr: int = 0, um: int = 0, mb: int = 0) -> str:
    """A DF 4/20 (altitude) or 5/21 (identity) reply: address/parity = parity XOR address."""
    head = (df << 27) | (fs << 24) | (dr << 19) | (um << 13) | field13
    if df in (20, 21):
        body = (head << 56 | mb).to_bytes(11, "big")
    else:
        body = head.to_bytes(4, "big")
    return (body + (parity(body) ^ icao).to_bytes(3, "big")).hex().upper()


# ----------------------------------------------------------------------------- fields


def ac12_25ft(alt_ft: int) -> int:
    """The 12-bit ES altitude field in 25-ft steps (Q bit set), for -1000..50175 ft."""
    n = (alt_ft + 1000) // 25
    if not 0 <= n < 1 << 11 or (alt_ft + 1000) % 25:
        raise ValueError(f"{alt_ft} ft is not a 25-ft altitude in range")
    return ((n >> 4) << 5) | 0x10 | (n & 0xF)


def ac13_25ft(alt_ft: int) -> int:
    """The 13-bit altitude code of DF 4/20 in 25-ft steps (M bit clear, Q bit set)."""
    n = (alt_ft + 1000) // 25
    if not 0 <= n < 1 << 11 or (alt_ft + 1000) % 25:
        raise ValueError(f"{alt_ft} ft is not a 25-ft altitude in range")
    return ((n >> 5) << 7) | (((n >> 4) & 1) << 5) | 0x10 | (n & 0xF)


def identity_code(squawk: str) -> int:
    """The 13-bit identity field of DF 5/21: bits C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4."""
    a, b, c, d = (int(ch, 8) for ch in squawk)
    bits = [c & 1, a & 1, c >> 1 & 1, a >> 1 & 1, c >> 2 & 1, a >> 2 & 1, 0,
            b & 1, d & 1, b >> 1 & 1, d >> 1 & 1, b >> 2 & 1, d >> 2 & 1]
    return int("".join(map(str, bits)), 2)


def identification_me(callsign: str, *, tc: int = 4, category: int = 3) -> int:
    """BDS 0,8: type code 1-4, emitter category, eight 6-bit characters (space-padded)."""
    text = callsign.upper().ljust(8)[:8]
    me = (tc << 3 | category) << 48
    for i, ch in enumerate(text):
        if ch == "#" or ch not in CHARSET:
            raise ValueError(f"{ch!r} is not an ADS-B character")
        me |= CHARSET.index(ch) << (42 - 6 * i)
    return me


def nl(lat: float) -> int:
    """NL(lat), the number of longitude zones (DO-260B §A.1.7.2.d), from the closed formula."""
    a = abs(lat)
    if a == 0.0:
        return 59
    if a == 87.0:
        return 2
    if a > 87.0:
        return 1
    x = 1.0 - (1.0 - math.cos(math.pi / (2 * NZ))) / math.cos(math.radians(a)) ** 2
    return int(math.floor(2 * math.pi / math.acos(x)))


def cpr_encode(lat: float, lon: float, odd: bool, nbits: int = 17) -> tuple[int, int]:
    """Airborne CPR encoding (DO-260B §A.1.7.3): (YZ, XZ) of the 17-bit even or odd format."""
    i = int(odd)
    dlat = 360.0 / (4 * NZ - i)
    scale = 1 << nbits
    yz = math.floor(scale * ((lat % dlat) / dlat) + 0.5)
    rlat = dlat * (yz / scale + math.floor(lat / dlat))
    zones = nl(rlat) - i
    dlon = 360.0 / zones if zones > 0 else 360.0
    xz = math.floor(scale * ((lon % dlon) / dlon) + 0.5)
    return yz % scale, xz % scale


def position_me(lat: float, lon: float, alt_ft: int | None, odd: bool, *, tc: int = 11, ss: int = 0,
                nic_b: int = 0, gnss_alt_m: int | None = None) -> int:
    """BDS 0,5 airborne position: TC 9-18 with a barometric altitude (25 ft), or TC 20-22 with a
    GNSS height in metres (``gnss_alt_m``)."""
    yz, xz = cpr_encode(lat, lon, odd)
    if 20 <= tc <= 22:
        alt = gnss_alt_m if gnss_alt_m is not None else 0
        if not 0 <= alt < 1 << 12:
            raise ValueError("GNSS height out of the 12-bit field")
    else:
        alt = ac12_25ft(alt_ft) if alt_ft is not None else 0
    return (tc << 51) | (ss << 49) | (nic_b << 48) | (alt << 36) | (0 << 35) | (int(odd) << 34) | (yz << 17) | xz


def _vrate_bits(vrate_fpm: int | None) -> tuple[int, int]:
    if vrate_fpm is None:
        return 0, 0
    if vrate_fpm % 64:
        raise ValueError("vertical rate is in 64 ft/min steps")
    return int(vrate_fpm < 0), abs(vrate_fpm) // 64 + 1


def _gmb_bits(gmb_ft: int | None) -> tuple[int, int]:
    if gmb_ft is None:
        return 0, 0
    if gmb_ft % 25:
        raise ValueError("GNSS minus baro is in 25-ft steps")
    return int(gmb_ft < 0), abs(gmb_ft) // 25 + 1


def velocity_ground_me(v_east_kt: int, v_north_kt: int, vrate_fpm: int | None = None, gmb_ft: int | None = None,
                       *, supersonic: bool = False, vr_gnss: bool = True, nac_v: int = 1) -> int:
    """BDS 0,9 subtype 1 (2 supersonic): east-west and north-south ground speed components (kt)."""
    st, step = (2, 4) if supersonic else (1, 1)
    if v_east_kt % step or v_north_kt % step:
        raise ValueError("supersonic speeds are in 4-kt steps")
    s_vr, vr = _vrate_bits(vrate_fpm)
    s_dif, dif = _gmb_bits(gmb_ft)
    me = (19 << 51) | (st << 48) | (nac_v << 43)
    me |= (int(v_east_kt < 0) << 42) | ((abs(v_east_kt) // step + 1) << 32)
    me |= (int(v_north_kt < 0) << 31) | ((abs(v_north_kt) // step + 1) << 21)
    me |= (int(not vr_gnss) << 20) | (s_vr << 19) | (vr << 10) | (s_dif << 7) | dif
    return me


def velocity_air_me(heading_deg: float | None, airspeed_kt: int, vrate_fpm: int | None = None,
                    gmb_ft: int | None = None, *, tas: bool = True, supersonic: bool = False) -> int:
    """BDS 0,9 subtype 3 (4 supersonic): magnetic heading (1024 steps) and air speed (kt)."""
    st, step = (4, 4) if supersonic else (3, 1)
    s_vr, vr = _vrate_bits(vrate_fpm)
    s_dif, dif = _gmb_bits(gmb_ft)
    me = (19 << 51) | (st << 48)
    if heading_deg is not None:
        me |= (1 << 42) | (round(heading_deg * 1024 / 360.0) % 1024) << 32
    me |= (int(tas) << 31) | ((airspeed_kt // step + 1) << 21)
    me |= (s_vr << 19) | (vr << 10) | (s_dif << 7) | dif
    return me


def status_me(version: int, nacp: int, *, nic_a: int = 0, surface: bool = False, sil: int = 3) -> int:
    """BDS 6,5 aircraft operational status (TC 31): version, NIC supplement A, NACp, SIL."""
    return (31 << 51) | (int(surface) << 48) | (version << 13) | (nic_a << 12) | (nacp << 8) | (sil << 4)


# ----------------------------------------------------------------------------- a flight


@dataclass(frozen=True)
class Flight:
    """One aircraft on a great-circle-free, locally straight path: the truth of a recording."""

    icao: int = 0x4CA7E2
    callsign: str = "SKW417"
    squawk: str = "4521"
    lat0: float = 51.05
    lon0: float = 7.05
    track_deg: float = 62.0
    speed_kt: int = 445
    alt0_ft: int = 36000
    vrate_fpm: int = 640
    gmb_ft: int = 575
    version: int = 2
    nacp: int = 8
    t0: float = 1714564800.0      # 2024-05-01 12:00:00 UTC
    duration_s: float = 60.0

    def state(self, dt: float) -> tuple[float, float, int]:
        """Latitude, longitude (deg) and pressure altitude (ft, on the 25-ft grid) ``dt`` s in."""
        d = self.speed_kt * 1852.0 / 3600.0 * dt
        n, e = d * math.cos(math.radians(self.track_deg)), d * math.sin(math.radians(self.track_deg))
        lat = self.lat0 + math.degrees(n / 6_371_000.0)
        lon = self.lon0 + math.degrees(e / (6_371_000.0 * math.cos(math.radians(self.lat0))))
        alt = self.alt0_ft + self.vrate_fpm * dt / 60.0
        return lat, lon, int(round(alt / 25.0)) * 25


def synthetic_recording(flight: Flight = Flight(), seed: int = 1) -> list[tuple[float, str]]:
    """(UNIX receive time, message hex) of what a receiver hears of ``flight``, in time order:

    - airborne positions (TC 11) every 0.5 s, even and odd alternating, some lost;
    - ground velocity (with vertical rate and GNSS-minus-baro) every second;
    - identification every 5 s; operational status (version, NACp) every 5 s from 2.6 s on, so
      the first positions are placed from their type code alone;
    - DF 4, 5, 11, 20 and 21 replies to ground interrogations every 2.5 s.
    """
    rng = random.Random(seed)
    f = flight
    ve = round(f.speed_kt * math.sin(math.radians(f.track_deg)))
    vn = round(f.speed_kt * math.cos(math.radians(f.track_deg)))
    out: list[tuple[float, str]] = []
    steps = int(f.duration_s * 10)
    for k in range(steps):
        dt = k / 10.0
        jitter = rng.uniform(0.0, 0.04)
        ts = round(f.t0 + dt + jitter, 6)
        lat, lon, alt = f.state(dt + jitter)
        if k % 5 == 0 and rng.random() > 0.08:
            out.append((ts, extended_squitter(f.icao, position_me(lat, lon, alt, bool(k // 5 % 2)))))
        if k % 10 == 3:
            out.append((ts, extended_squitter(f.icao, velocity_ground_me(ve, vn, f.vrate_fpm // 64 * 64, f.gmb_ft))))
        if k % 50 == 7:
            out.append((ts, extended_squitter(f.icao, identification_me(f.callsign))))
        if k % 50 == 26:
            out.append((ts, extended_squitter(f.icao, status_me(f.version, f.nacp))))
        if k % 25 == 12:
            out.append((ts, surveillance(4, f.icao, ac13_25ft(alt))))
            out.append((round(ts + 0.001, 6), surveillance(5, f.icao, identity_code(f.squawk))))
        if k % 50 == 41:
            out.append((ts, all_call(f.icao)))
            out.append((round(ts + 0.001, 6), surveillance(20, f.icao, ac13_25ft(alt), mb=identification_me(f.callsign) & ((1 << 56) - 1))))
            out.append((round(ts + 0.002, 6), surveillance(21, f.icao, identity_code(f.squawk), mb=rng.getrandbits(56))))
    return out
