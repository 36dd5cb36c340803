"""ASTERIX CAT062 (SDPS system track data) and CAT065 (SDPS service status) writer.

Written for skyweave from EUROCONTROL Part 9 Category 062 edition 1.18-1.20 and Category 065
edition 1.3-1.5 (Apache-2.0). asterix-decoder (GPL) reads the output back in the tests: every
position within a metre of the track's.

Each track update becomes one CAT062 record with:

- I010 data source (SAC/SIC), I015 service identification, I070 time of track information
  (s of day UTC, 1/128 s), I040 track number (a stable number per ``track_id``, 1-65535);
- I105 position in WGS-84 (LSB 180/2^25 deg, about 0.6 m) and I100 position in Cartesian
  coordinates (LSB 0.5 m) in the scenario's east-north plane about the system reference point
  (the scenario origin), I185 velocity (LSB 0.25 m/s), I130 geometric altitude (LSB 6.25 ft);
- I080 track status (monosensor or not, confirmed, source of the vertical position);
- I380 subfield ADR (the 24-bit address) where the track carries ``icao24``;
- I500 subfield APC: the standard deviations of x and y (LSB 0.5 m) from the track covariance.

After the records of each update time a CAT065 "end of batch" message (I010, I000 = 2, I015,
I030 time, I020 batch number) closes the batch, as an SDPS does once per update period.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

__all__ = ["Cat062Writer", "encode_fspec", "MAX_BLOCK"]

#: the largest data block written (bytes); ASTERIX allows 65535, a UDP datagram prefers less
MAX_BLOCK = 8192

_LATLON = (1 << 25) / 180.0


def encode_fspec(frns: list[int]) -> bytes:
    """The FSPEC bytes marking the given field reference numbers (1-based) present."""
    top = max(frns)
    nbytes = (top + 6) // 7
    out = bytearray(nbytes)
    for f in frns:
        i, bit = divmod(f - 1, 7)
        out[i] |= 0x80 >> bit
    for i in range(nbytes - 1):
        out[i] |= 1
    return bytes(out)


def _clamp(v: float, bits: int) -> int:
    """``v`` rounded into a signed ``bits``-wide field, as its unsigned bit pattern."""
    lim = 1 << (bits - 1)
    n = round(v)
    if n >= lim:
        n = lim - 1
    elif n < -lim:
        n = -lim
    return n & ((1 << bits) - 1)


class Cat062Writer:
    """Encodes track updates as CAT062 records and CAT065 end-of-batch messages.

    ``epoch`` (an aware datetime) turns track times (s since the epoch) into times of day; ``sac``
    and ``sic`` name this system; ``sid`` is the service identification. :meth:`batch` returns
    the bytes of one update: CAT062 blocks then one CAT065 block.
    """

    def __init__(self, epoch: datetime, *, sac: int = 0, sic: int = 1, sid: int = 1):
        if not (0 <= sac < 256 and 0 <= sic < 256 and 0 <= sid < 256):
            raise ValueError(f"SAC, SIC and service id must be 0-255, got {sac}, {sic}, {sid}")
        self.epoch = epoch.astimezone(timezone.utc)
        midnight = self.epoch.replace(hour=0, minute=0, second=0, microsecond=0)
        self._day0 = (self.epoch - midnight).total_seconds()
        self._src = bytes([sac, sic])
        self._sid = bytes([sid])
        self.numbers: dict[str, int] = {}
        self._fspecs: dict[tuple, bytes] = {}
        self.batches = 0
        self.records = 0

    def track_number(self, track_id: str) -> int:
        """The CAT062 track number of a track id: 1, 2, ... in first-seen order (wrapping at 65535)."""
        n = self.numbers.get(track_id)
        if n is None:
            n = self.numbers[track_id] = len(self.numbers) % 65535 + 1
        return n

    def tod(self, t: float) -> int:
        """Time of day (1/128 s units, modulo a day) of scenario time ``t`` (s)."""
        return int(round((self._day0 + t) * 128.0)) % (86400 * 128)

    def record(self, t: float, track_id: str, lat: float, lon: float, alt_m: float | None, x: float, y: float,
               vx: float, vy: float, sx: float | None = None, sy: float | None = None, icao24: int | None = None,
               tentative: bool = False) -> bytes:
        """One CAT062 record (see the module docstring); positions in degrees and metres, velocity
        in m/s, ``sx``/``sy`` the 1-σ errors of x and y (m)."""
        # items in FRN order: 1 I010, 3 I015, 4 I070, 5 I105, 6 I100, 7 I185, (11 I380), 12 I040,
        # 13 I080, (18 I130), (27 I500)
        frns = [1, 3, 4, 5, 6, 7]
        parts = [self._src, self._sid, self.tod(t).to_bytes(3, "big"),
                 _clamp(lat * _LATLON, 32).to_bytes(4, "big") + _clamp(lon * _LATLON, 32).to_bytes(4, "big"),
                 _clamp(x * 2.0, 24).to_bytes(3, "big") + _clamp(y * 2.0, 24).to_bytes(3, "big"),
                 _clamp(vx * 4.0, 16).to_bytes(2, "big") + _clamp(vy * 4.0, 16).to_bytes(2, "big")]
        if icao24 is not None:
            frns.append(11)
            parts.append(b"\x80" + (icao24 & 0xFFFFFF).to_bytes(3, "big"))  # I380: ADR only
        # I080: MON=0 SPI=0 MRH=0 SRC (1 GNSS where a transponder reports, 2 3-D radar where z
        # is estimated, 0 none), CNF, FX
        src = 1 if icao24 is not None else (2 if alt_m is not None else 0)
        frns += (12, 13)
        parts += (self.track_number(track_id).to_bytes(2, "big"), bytes([(src << 3) | (0x04 if tentative else 0)]))
        if alt_m is not None:
            frns.append(18)
            parts.append(_clamp(alt_m / 0.3048 / 6.25, 16).to_bytes(2, "big"))
        if sx is not None and sy is not None:
            frns.append(27)
            ax = min(65535, max(0, int(round(sx * 2.0))))
            ay = min(65535, max(0, int(round(sy * 2.0))))
            parts.append(b"\x80" + ax.to_bytes(2, "big") + ay.to_bytes(2, "big"))  # I500: APC only
        key = tuple(frns)
        fspec = self._fspecs.get(key)
        if fspec is None:
            fspec = self._fspecs[key] = encode_fspec(frns)
        self.records += 1
        return fspec + b"".join(parts)

    def end_of_batch(self, t: float) -> bytes:
        """A CAT065 block: end of batch at ``t`` with the batch number (mod 256)."""
        rec = encode_fspec([1, 2, 3, 4, 5]) + self._src + b"\x02" + self._sid + self.tod(t).to_bytes(3, "big") + bytes(
            [self.batches % 256])
        self.batches += 1
        return bytes([65]) + (len(rec) + 3).to_bytes(2, "big") + rec

    def batch(self, t: float, records: list[bytes]) -> bytes:
        """The CAT062 blocks holding ``records`` (each at most :data:`MAX_BLOCK` bytes) and the
        CAT065 end of batch."""
        out = bytearray()
        block = bytearray()
        for r in records:
            if block and len(block) + len(r) + 3 > MAX_BLOCK:
                out += bytes([62]) + (len(block) + 3).to_bytes(2, "big") + block
                block = bytearray()
            block += r
        if block:
            out += bytes([62]) + (len(block) + 3).to_bytes(2, "big") + block
        out += self.end_of_batch(t)
        return bytes(out)


def sigma_xy(cov: list | None, n: int) -> tuple[float | None, float | None]:
    """1-σ of x and y (m) from a row-major ``n``×``n`` covariance list (None where absent or bad)."""
    if not cov or len(cov) != n * n:
        return None, None
    vx, vy = cov[0], cov[n + 1]
    if not (vx >= 0 and vy >= 0) or math.isinf(vx) or math.isinf(vy):
        return None, None
    return math.sqrt(vx), math.sqrt(vy)
