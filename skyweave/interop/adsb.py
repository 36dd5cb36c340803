"""ADS-B messages to positions with honest uncertainty: the per-aircraft state a decoder keeps.

:class:`AdsbDecoder` takes decoded Mode S messages (:func:`~skyweave.interop.modes.decode_frame`)
in receive order and returns an :class:`AdsbFix` for each airborne position it can place:

- **CPR**: the first position of an aircraft comes from a *global* decode of an even and an odd
  message received within ``pair_window_s`` (10 s, DO-260B §A.1.7.7); later ones from a *local*
  decode against the aircraft's own last position (within ``local_window_s``), checked against
  the global result whenever a fresh pair exists. With a receiver ``reference`` (lat, lon) a
  single message is decoded locally against it (valid within 180 NM of the receiver), and global
  results farther than ``max_range_m`` from it are rejected as corrupt.
- **Accuracy**: the 95 % bound of the aircraft's NACp (operational status, version 1-2), or of
  the position's NUCp (version 0), or failing both the NIC containment radius (a conservative
  bound); the 1-σ horizontal error is that bound × 1/2.4477 (a circular Gaussian holds 95 % within
  2.4477 σ), with the CPR quantisation added in quadrature. No category (NACp 0, NUCp 0, NIC
  unknown): the position is skipped, since no honest covariance can be given.
- **Altitude** (metres, WGS-84 ellipsoid): GNSS height (type codes 20-22) as sent; else the
  barometric altitude corrected by the aircraft's recent GNSS-minus-baro difference (velocity
  messages); else the pressure altitude alone, with a vertical σ of 150 m for the unknown
  difference between pressure and geometric height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skyweave.interop.modes import (
    CPR_QUANTUM_M, SIGMA_PER_R95, TC_NUCP, ModeS, cpr_global, cpr_local, nacp_epu_m, nic_rc_m, nucp_r95_m,
)

__all__ = ["AdsbFix", "AdsbDecoder", "WAITING", "FT", "SIGMA_ALT_BARO_M", "SIGMA_ALT_GNSS_M", "haversine_m"]

FT = 0.3048
#: vertical 1-σ (m) of a pressure altitude taken as geometric height (non-standard atmosphere)
SIGMA_ALT_BARO_M = 150.0
#: vertical 1-σ (m) of a GNSS height (about 1.5 × a typical horizontal GNSS error, plus 25-ft steps)
SIGMA_ALT_GNSS_M = 15.0

#: the reason given for a first position message before its CPR pair partner arrives
WAITING = "waiting for a CPR pair"

_R_EARTH = 6_371_008.8
_QUANT_VAR = CPR_QUANTUM_M**2 / 12.0
#: (version, NACp, NIC supplement A, type code, NIC supplement B) -> (95 % bound, category)
_ACCURACY: dict[tuple, tuple] = {}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (m) on the mean sphere: good to 0.5 %, enough for plausibility checks."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * _R_EARTH * math.asin(min(1.0, math.sqrt(a)))


@dataclass(slots=True)
class AdsbFix:
    """One placed position: receive time ``ts`` (s), ``icao`` (24-bit), ``lat``/``lon`` (deg),
    ``alt`` (m above the ellipsoid, None when the message has none), 1-σ ``sigma_m`` horizontal and
    ``sigma_alt_m`` vertical (m), ``alt_source`` (gnss, baro+gnss, baro), ``quality`` (the category
    used, as ``NACp 9``), ``decode`` (global, local, reference), the last ``callsign`` and the last ground ``velocity``
    (ground speed kt, track deg, vertical rate ft/min or None) heard within ``velocity_window_s``."""

    ts: float
    icao: int
    lat: float
    lon: float
    alt: float | None
    sigma_m: float
    sigma_alt_m: float
    alt_source: str
    quality: str
    decode: str
    callsign: str | None
    velocity: tuple | None = None


class _Aircraft:
    __slots__ = ("even", "odd", "pos", "version", "nacp", "nic_a", "gmb", "callsign", "vel")

    def __init__(self):
        self.even = None    # (ts, lat_cpr, lon_cpr)
        self.odd = None
        self.pos = None     # (ts, lat, lon) of the last placed position
        self.version = None  # ADS-B version (operational status), None until one is heard
        self.nacp = None
        self.nic_a = 0
        self.gmb = None     # (ts, GNSS minus baro, ft)
        self.callsign = None
        self.vel = None     # (ts, ground speed kt, track deg, vertical rate ft/min)


class AdsbDecoder:
    """Per-aircraft ADS-B state; :meth:`feed` one message, get an :class:`AdsbFix` or a reason.

    ``max_speed_mps`` bounds the distance between consecutive positions of an aircraft (a
    pair decoded across a corrupt message would jump); ``stale_s`` forgets an aircraft silent
    that long.
    """

    def __init__(self, reference: tuple[float, float] | None = None, *, pair_window_s: float = 10.0,
                 local_window_s: float = 30.0, max_range_m: float = 600_000.0, max_speed_mps: float = 700.0,
                 gmb_window_s: float = 60.0, stale_s: float = 300.0, velocity_window_s: float = 10.0):
        self.reference = reference
        self.pair_window_s = pair_window_s
        self.local_window_s = local_window_s
        self.max_range_m = max_range_m
        self.max_speed_mps = max_speed_mps
        self.gmb_window_s = gmb_window_s
        self.stale_s = stale_s
        self.velocity_window_s = velocity_window_s
        self.aircraft: dict[int, _Aircraft] = {}
        self._last_sweep = None

    def _sweep(self, ts: float) -> None:
        if self._last_sweep is None or ts - self._last_sweep > self.stale_s:
            cut = ts - self.stale_s
            self.aircraft = {k: a for k, a in self.aircraft.items()
                             if max(x[0] for x in (a.even, a.odd, a.pos, (cut - 1,)) if x) >= cut}
            self._last_sweep = ts

    def feed(self, ts: float, msg: ModeS) -> AdsbFix | str | None:
        """Take one message received at ``ts`` (s): an :class:`AdsbFix` for a placed airborne
        position, a short reason (str) for a position that could not be placed, None otherwise."""
        tc = msg.tc
        if tc is None:
            return None
        ac = self.aircraft.get(msg.icao)
        if ac is None:
            self._sweep(ts)
            ac = self.aircraft[msg.icao] = _Aircraft()
        if msg.cpr_lat is None:
            if tc == 19:
                if msg.geo_minus_baro_ft is not None:
                    ac.gmb = (ts, msg.geo_minus_baro_ft)
                if msg.gs_kt is not None:
                    ac.vel = (ts, msg.gs_kt, msg.track_deg, msg.vrate_fpm)
            elif tc <= 4:
                ac.callsign = msg.callsign
            elif tc == 31 and not msg.surface:
                ac.version = msg.version
                ac.nic_a = msg.nic_a
                ac.nacp = msg.nacp if msg.version else None
            return None
        frame = (ts, msg.cpr_lat, msg.cpr_lon)
        if msg.cpr_odd:
            ac.odd = frame
            other = ac.even
        else:
            ac.even = frame
            other = ac.odd
        place = None
        how = "global"
        if other is not None and 0.0 <= ts - other[0] <= self.pair_window_s:
            if msg.cpr_odd:
                place = cpr_global(other[1], other[2], frame[1], frame[2], True)
            else:
                place = cpr_global(frame[1], frame[2], other[1], other[2], False)
        pos = ac.pos
        if pos is not None and 0.0 <= ts - pos[0] <= self.local_window_s:
            local = cpr_local(frame[1], frame[2], bool(msg.cpr_odd), pos[1], pos[2])
            if place is not None and place != local and haversine_m(place[0], place[1], local[0], local[1]) > 100.0:
                # the pair disagrees with the track of this aircraft: trust neither
                ac.pos = None
                return "CPR pair and local decode disagree"
            place, how = local, "local"
        elif place is None and self.reference is not None:
            place, how = cpr_local(frame[1], frame[2], bool(msg.cpr_odd), *self.reference), "reference"
        if place is None:
            return WAITING
        lat, lon = place
        if self.reference is not None and haversine_m(lat, lon, *self.reference) > self.max_range_m:
            return "position beyond receiver range"
        if pos is not None and how == "global":
            dt = ts - pos[0]
            if dt >= 0 and haversine_m(lat, lon, pos[1], pos[2]) > self.max_speed_mps * dt + 5_000.0:
                ac.pos = None
                return "position jump"
        r95, quality = self._accuracy(ac, msg)
        if r95 is None:
            return "no accuracy category"
        ac.pos = (ts, lat, lon)
        sigma = math.sqrt((r95 * SIGMA_PER_R95) ** 2 + _QUANT_VAR)
        if msg.alt_geom_ft is not None:
            alt, salt, src = msg.alt_geom_ft * FT, SIGMA_ALT_GNSS_M, "gnss"
        elif msg.alt_baro_ft is not None:
            g = ac.gmb
            if g is not None and 0.0 <= ts - g[0] <= self.gmb_window_s:
                alt, salt, src = (msg.alt_baro_ft + g[1]) * FT, SIGMA_ALT_GNSS_M + 10.0, "baro+gnss"
            else:
                alt, salt, src = msg.alt_baro_ft * FT, SIGMA_ALT_BARO_M, "baro"
        else:
            alt, salt, src = None, 0.0, "none"
        vel = ac.vel
        if vel is not None and not 0.0 <= ts - vel[0] <= self.velocity_window_s:
            vel = None
        return AdsbFix(ts, msg.icao, lat, lon, alt, sigma, salt, src, quality, how, ac.callsign,
                       None if vel is None else vel[1:])

    @staticmethod
    def _accuracy(ac: _Aircraft, msg: ModeS) -> tuple[float | None, str]:
        """The 95 % horizontal bound (m) for this position and the category it came from."""
        key = (ac.version, ac.nacp, ac.nic_a, msg.tc, msg.nic_b)
        got = _ACCURACY.get(key)
        if got is None:
            got = _ACCURACY[key] = AdsbDecoder._category(ac, msg)
        return got

    @staticmethod
    def _category(ac: _Aircraft, msg: ModeS) -> tuple[float | None, str]:
        if ac.version and ac.nacp is not None:
            return nacp_epu_m(ac.nacp), f"NACp {ac.nacp}"
        nuc = TC_NUCP.get(msg.tc, 0)
        if ac.version == 0:
            return nucp_r95_m(nuc), f"NUCp {nuc}"
        rc = nic_rc_m(msg.tc, ac.nic_a, msg.nic_b)
        if ac.version is None:  # version not heard yet: the wider of the two readings of the type code
            bounds = [b for b in (nucp_r95_m(nuc), rc) if b is not None]
            return (max(bounds), "NUCp/NIC") if bounds else (None, "")
        return rc, "NIC Rc"
