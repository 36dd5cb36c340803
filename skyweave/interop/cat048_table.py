"""CAT048 blocks decoded a block at a time into columns (numpy), for the ingest rate.

The record-by-record decoder (:func:`skyweave.interop.asterix.decode_cat048`) builds one Python
object per plot; here one pass walks the records of a block (the walk is sequential: a record
starts where the one before ends) and keeps only the start offsets of the items skyweave uses,
then every field of every record is extracted at once with numpy indexing. The two give the
same values (tests/test_interop_asterix.py checks them against each other and against
asterix-decoder); the columns are those of :class:`~skyweave.interop.asterix.Cat048`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.interop.asterix import EXT, NM, TOD_LSB, UAP, fspec_plan, item_length
from skyweave.interop.records import DecodeError

__all__ = ["WANTED", "walk_block", "Cat048Table", "cat048_table"]

#: the CAT048 items read, by column of the offsets table
WANTED = ("I010", "I140", "I040", "I020", "I090", "I070", "I220", "I240", "I161", "I110")
_COL = {name: i for i, name in enumerate(WANTED)}
_W = len(WANTED)
_PLANS: dict[bytes, tuple] = {}
_UAP = UAP[48]
_EXT = EXT
_ICHARS = np.array(list(" ABCDEFGHIJKLMNOPQRSTUVWXYZ     " + " " * 16 + "0123456789      "))


def _plan(fspec: bytes) -> tuple:
    """The items an FSPEC marks present, in order, with each item's column in :data:`WANTED` (-1: not wanted)."""
    return tuple((_COL.get(name, -1), n, fmt) for name, n, fmt in fspec_plan(_UAP, fspec))


def walk_block(data: bytes, start: int, end: int) -> tuple[list[int], list[int], DecodeError | None, int]:
    """The records of one CAT048 block from ``start`` (its first record) to ``end``: a flat list
    of the offsets of the :data:`WANTED` items (-1: absent; :data:`WANTED` long per record), the
    records' start offsets, and the error that stopped the walk (None) with its offset."""
    out: list[int] = []
    starts: list[int] = []
    plans = _PLANS
    pos = start
    blank = [-1] * _W
    while pos < end:
        p = pos
        try:
            while p < end and data[p] & 1:
                p += 1
            if p >= end:
                raise DecodeError("truncated record", "FSPEC cut")
            p += 1
            fspec = bytes(data[pos:p])
            plan = plans.get(fspec)
            if plan is None:
                plan = _plan(fspec)
                if len(plans) < 4096:
                    plans[fspec] = plan
            row = blank[:]
            for col, n, fmt in plan:
                if not n:
                    if fmt is _EXT:  # extended: 1-byte parts while FX is set
                        n = 1
                        while p + n <= end and data[p + n - 1] & 1:
                            n += 1
                        if p + n > end:
                            raise DecodeError("truncated record", "extended item cut")
                    elif fmt[0] == "r" and p < end:  # repetitive: a count, then its items
                        n = 1 + data[p] * fmt[1]
                        if p + n > end:
                            raise DecodeError("truncated record", f"item needs {n} bytes, {end - p} left")
                    else:
                        n = item_length(data, p, end, fmt)
                elif p + n > end:
                    raise DecodeError("truncated record", f"item needs {n} bytes, {end - p} left")
                if col >= 0:
                    row[col] = p
                p += n
            if row[0] < 0:
                raise DecodeError("bad record", "CAT048 record without I010 (data source)")
        except DecodeError as e:
            return out, starts, e, pos
        out += row
        starts.append(pos)
        pos = p
    return out, starts, None, end


@dataclass
class Cat048Table:
    """The fields of R CAT048 records as columns (NaN or -1 where a record lacks them): ``sac``,
    ``sic``, ``tod`` (s), ``rho_m``, ``theta_deg``, ``fl`` (hundreds of ft), ``icao``,
    ``mode3a`` (the 12-bit code, -1 absent or not validated), ``track``, ``height_ft``,
    ``test`` (SIM or TST), ``callsign`` (str or None per record), ``starts`` (offsets)."""

    sac: np.ndarray
    sic: np.ndarray
    tod: np.ndarray
    rho_m: np.ndarray
    theta_deg: np.ndarray
    fl: np.ndarray
    icao: np.ndarray
    mode3a: np.ndarray
    track: np.ndarray
    height_ft: np.ndarray
    test: np.ndarray
    callsign: list
    starts: list

    def __len__(self) -> int:
        return len(self.starts)


def _u(arr: np.ndarray, off: np.ndarray, nbytes: int) -> np.ndarray:
    """Big-endian unsigned integers of ``nbytes`` at ``off`` (absent offsets read byte 0)."""
    v = arr[off].astype(np.int64)
    for k in range(1, nbytes):
        v = (v << 8) | arr[off + k]
    return v


def cat048_table(data: bytes, offsets: list[int], starts: list[int]) -> Cat048Table:
    """Every field of the records walked by :func:`walk_block`, as columns."""
    arr = np.frombuffer(data, dtype=np.uint8)
    r = len(starts)
    off = np.asarray(offsets, dtype=np.int64).reshape(r, _W)
    have = off >= 0
    o = np.where(have, off, 0)
    sac, sic = arr[o[:, 0]].astype(np.int64), arr[o[:, 0] + 1].astype(np.int64)
    tod = np.where(have[:, 1], _u(arr, o[:, 1], 3) * TOD_LSB, np.nan)
    rho = np.where(have[:, 2], _u(arr, o[:, 2], 2) / 256.0 * NM, np.nan)
    theta = np.where(have[:, 2], _u(arr, o[:, 2] + 2, 2) * (360.0 / 65536.0), np.nan)
    b20 = arr[o[:, 3]]
    ext20 = (b20 & 1).astype(bool)
    test = have[:, 3] & (((b20 & 0x10) != 0) | (ext20 & ((arr[np.minimum(o[:, 3] + 1, len(arr) - 1)] & 0x80) != 0)))
    v90 = _u(arr, o[:, 4], 2)
    fl14 = v90 & 0x3FFF
    fl14 = np.where(fl14 & 0x2000, fl14 - 0x4000, fl14)
    fl = np.where(have[:, 4] & ((v90 & 0xC000) == 0), fl14 / 4.0, np.nan)
    v70 = _u(arr, o[:, 5], 2)
    mode3a = np.where(have[:, 5] & ((v70 & 0xC000) == 0), v70 & 0x0FFF, -1)
    icao = np.where(have[:, 6], _u(arr, o[:, 6], 3), -1)
    track = np.where(have[:, 8], _u(arr, o[:, 8], 2) & 0x0FFF, -1)
    v110 = _u(arr, o[:, 9], 2) & 0x3FFF
    height = np.where(have[:, 9], np.where(v110 & 0x2000, v110 - 0x4000, v110) * 25.0, np.nan)
    calls: list = [None] * r
    rows = np.flatnonzero(have[:, 7])
    if rows.size:
        v = _u(arr, o[rows, 7], 6)
        idx = (v[:, None] >> (42 - 6 * np.arange(8))) & 0x3F
        chars = _ICHARS[idx]
        for i, row in zip(rows.tolist(), chars.tolist()):
            calls[i] = "".join(row).strip()
    return Cat048Table(sac, sic, tod, rho, theta, fl, icao, mode3a, track, height, test, calls, starts)
