"""The framings of Mode S receivers' outputs: AVR hex lines, Beast binary, SBS-1 BaseStation CSV.

Each reader takes the bytes (or lines) of a recording or a socket and yields ``(ts, msg, pos)``:
``ts`` the receive time in seconds (None where the framing carries none), ``msg`` the raw
7- or 14-byte Mode S message (AVR, Beast) and ``pos`` where it came from (a line number, or a
byte offset). Input that breaks the framing is reported to a :class:`~skyweave.interop.records.Tally`
(``tally.skip``) with its line or byte offset, and the reader goes on at the next frame.

- AVR (dump1090 port 30002 and its variants): ``*HEX;`` (no time), ``@TTTTTTTTTTTTHEX;`` and
  ``%TTTTTTTTTTTTHEX;`` (a 48-bit 12 MHz counter), ``<TTTTTTTTTTTTSSHEX;`` (counter and signal
  level); a line may start with a UNIX time in seconds and a blank or comma (a recorder's stamp),
  which is taken as the absolute receive time.
- Beast (dump1090 port 30005): ``0x1a`` then a type byte (``1`` Mode A/C, ``2`` Mode S short,
  ``3`` Mode S long), a 6-byte 12 MHz counter, one signal byte and the message; a ``0x1a`` inside
  a frame is sent twice.
- SBS-1 BaseStation (port 30003): ``MSG,type,...`` CSV of 22 fields with the receiver's date and
  time; its positions are already decoded (no raw message, no accuracy category).

``ts`` of the 12 MHz counters is relative: seconds since the first frame of the stream
(``counter_base`` holds that frame's counter). Absolute times are UNIX seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from skyweave.interop.records import Tally

__all__ = ["AvrReader", "BeastReader", "SbsReader", "SbsRecord", "BEAST_CLOCK_HZ", "beast_frame", "avr_line"]

#: the tick rate of the Beast and AVR-with-timestamp counters (Hz)
BEAST_CLOCK_HZ = 12_000_000.0

_HEX = frozenset("0123456789abcdefABCDEF")
_BEAST_LEN = {0x31: 2, 0x32: 7, 0x33: 14}


#: what a blank line may hold: ASCII white space only (str.strip() would also drop the control
#: characters \x1c-\x1f, and a line of them is a bad record to name, not a blank one)
BLANK = " \t\r\n\x0b\x0c"

class _Counter:
    """A 48-bit 12 MHz counter to seconds since the first one seen (wrapping at 2^48)."""

    __slots__ = ("base",)

    def __init__(self):
        self.base: int | None = None

    def seconds(self, c: int) -> float:
        if self.base is None:
            self.base = c
        d = c - self.base
        if d < -(1 << 47):  # the counter wrapped (every 271 days); a smaller step back is kept
            d += 1 << 48   # negative: the receiver restarted, and its frames are reported late
        return d / BEAST_CLOCK_HZ


def avr_line(msg: bytes, counter: int | None = None) -> str:
    """One AVR line for ``msg`` (``*HEX;``, or ``@`` with a 12 MHz counter), without newline."""
    if counter is None:
        return "*" + msg.hex().upper() + ";"
    return "@%012X%s;" % (counter & 0xFFFFFFFFFFFF, msg.hex().upper())


def beast_frame(msg: bytes, counter: int = 0, signal: int = 0) -> bytes:
    """One Beast frame for a 2-, 7- or 14-byte message, with its ``0x1a`` bytes escaped."""
    kind = {2: b"1", 7: b"2", 14: b"3"}[len(msg)]
    body = counter.to_bytes(6, "big") + bytes([signal & 0xFF]) + msg
    return b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")


class AvrReader:
    """AVR lines to ``(ts, msg, line)``; ``absolute`` becomes True once a UNIX-stamped line is
    read, False once a counter is read (``ts`` then counts from the first counter)."""

    def __init__(self, lines: Iterable, tally: Tally, name: str = "<avr>"):
        self.lines = lines
        self.tally = tally
        self.name = name
        self.absolute: bool | None = None
        self._clock = _Counter()

    def __iter__(self) -> Iterator[tuple]:
        tally = self.tally
        clock = self._clock
        for lineno, raw in enumerate(self.lines, 1):
            if isinstance(raw, bytes):
                raw = raw.decode("ascii", "replace")
            line = raw.strip(BLANK)
            if not line:
                continue
            tally.read += 1
            ts = None
            if line[0] not in "*@%<":
                head, sep, rest = line.replace(",", " ", 1).partition(" ")
                try:
                    ts = float(head)
                except ValueError:
                    ts = None
                if ts is None or ts != ts or abs(ts) > 1e11 or not sep:
                    tally.skip(f"{self.name}:{lineno}", "not an AVR line", line[:40])
                    continue
                line = rest.strip()
                self.absolute = True
                if not line or line[0] not in "*@%<":
                    tally.skip(f"{self.name}:{lineno}", "not an AVR line", line[:40])
                    continue
            if line[-1] != ";":
                tally.skip(f"{self.name}:{lineno}", "truncated AVR line", "no closing ';'")
                continue
            body = line[1:-1]
            if line[0] != "*":
                head_len = 14 if line[0] == "<" else 12
                stamp = body[:12]
                body = body[head_len:]
                if len(stamp) != 12 or not _HEX.issuperset(stamp):
                    tally.skip(f"{self.name}:{lineno}", "bad AVR timestamp", stamp[:14])
                    continue
                if ts is None:
                    ts = clock.seconds(int(stamp, 16))
                    self.absolute = False
            if len(body) not in (14, 28) or not _HEX.issuperset(body):
                tally.skip(f"{self.name}:{lineno}", "bad AVR message", f"{len(body)} characters, need 14 or 28 hex digits")
                continue
            yield ts, bytes.fromhex(body), lineno


class BeastReader:
    """Beast binary to ``(ts, msg, offset)``. Feed it whole (``BeastReader(data, tally)``) or in
    pieces (:meth:`feed`, for a socket: a frame cut between two pieces is kept for the next).
    Mode A/C frames (type ``1``) are counted as ignored; ``ts`` counts from the first frame."""

    def __init__(self, data: bytes = b"", tally: Tally | None = None, name: str = "<beast>"):
        self.tally = tally if tally is not None else Tally()
        self.name = name
        self.absolute = False
        self._clock = _Counter()
        self._data = data
        self._offset = 0  # stream offset of the first byte of self._pending
        self._pending = b""

    def __iter__(self) -> Iterator[tuple]:
        yield from self.feed(self._data, final=True)

    def feed(self, data: bytes, final: bool = False) -> Iterator[tuple]:
        """The frames completed by ``data`` (and, with ``final``, a report of a cut last frame)."""
        buf = self._pending + data if self._pending else data
        base = self._offset
        tally = self.tally
        name = self.name
        seconds = self._clock.seconds
        start = buf.find(b"\x1a")
        if start < 0:
            if buf:
                tally.skip(f"{name}: byte {base}", "not a Beast frame", f"{len(buf)} bytes without 0x1a")
            self._pending, self._offset = b"", base + len(buf)
            return
        if start > 0:
            tally.skip(f"{name}: byte {base}", "not a Beast frame", f"{start} bytes before the first 0x1a")
        pieces = buf[start + 1:].split(b"\x1a")
        pos = base + start + 1  # offset of pieces[i]'s first byte
        n = len(pieces)
        i = 0
        while i < n:
            p = pieces[i]
            fpos = pos
            pos += len(p) + 1
            i += 1
            while i < n and not pieces[i] and i + 1 < n:  # 0x1a 0x1a: an escaped 0x1a byte
                p += b"\x1a" + pieces[i + 1]
                pos += len(pieces[i + 1]) + 2
                i += 2
            if not final and (i == n or (i == n - 1 and not pieces[i])):
                # the last frame may be cut by the socket (even between the two bytes of an
                # escaped 0x1a): keep it for the next piece
                self._pending = buf[fpos - 1 - base:]  # the raw bytes, escapes and all
                self._offset = fpos - 1
                return
            if not p:
                if i < n or final:
                    tally.read += 1
                    tally.skip(f"{name}: byte {fpos - 1}", "bad Beast frame", "empty frame")
                continue
            tally.read += 1
            size = _BEAST_LEN.get(p[0])
            if size is None:
                tally.skip(f"{name}: byte {fpos - 1}", "bad Beast frame", f"unknown frame type 0x{p[0]:02x}")
                continue
            if len(p) != size + 8:
                why = "truncated Beast frame" if len(p) < size + 8 else "bad Beast frame"
                tally.skip(f"{name}: byte {fpos - 1}", why, f"{len(p) - 8} message bytes for type {chr(p[0])}, need {size}")
                continue
            if size == 2:
                tally.ignored["Mode A/C"] += 1
                continue
            yield seconds(int.from_bytes(p[1:7], "big")), p[8:], fpos - 1
        self._pending, self._offset = b"", pos


@dataclass(slots=True)
class SbsRecord:
    """One SBS-1 MSG line: transmission type, ICAO address, UNIX time (s), and what it carries."""

    msg_type: int
    icao: int
    ts: float
    callsign: str | None = None
    alt_ft: float | None = None
    lat: float | None = None
    lon: float | None = None
    gs_kt: float | None = None
    track_deg: float | None = None
    vrate_fpm: float | None = None
    squawk: str | None = None


def _opt_float(s: str) -> float | None:
    s = s.strip()
    if not s:
        return None
    v = float(s)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return v


class SbsReader:
    """SBS-1 BaseStation lines to ``(ts, SbsRecord, line)`` (times as UNIX seconds, taken as UTC:
    dump1090 writes UTC; a receiver writing local time needs its offset subtracted)."""

    absolute = True

    def __init__(self, lines: Iterable, tally: Tally, name: str = "<sbs>"):
        self.lines = lines
        self.tally = tally
        self.name = name
        self._day_cache: dict[str, float] = {}

    def _unix(self, date: str, time: str) -> float:
        day = self._day_cache.get(date)
        if day is None:
            y, m, d = date.split("/")
            day = datetime(int(y), int(m), int(d), tzinfo=timezone.utc).timestamp()
            if len(self._day_cache) > 64:
                self._day_cache.clear()
            self._day_cache[date] = day
        hh, mm, ss = time.split(":")
        h, mi, s = int(hh), int(mm), float(ss)
        if not (0 <= h < 24 and 0 <= mi < 60 and 0.0 <= s < 61.0):
            raise ValueError("time out of range")
        return day + h * 3600 + mi * 60 + s

    def __iter__(self) -> Iterator[tuple]:
        tally = self.tally
        for lineno, raw in enumerate(self.lines, 1):
            if isinstance(raw, bytes):
                raw = raw.decode("ascii", "replace")
            line = raw.strip(BLANK)
            if not line:
                continue
            tally.read += 1
            f = line.split(",")
            where = f"{self.name}:{lineno}"
            if f[0] != "MSG":
                if f[0] in ("SEL", "ID", "AIR", "STA", "CLK"):
                    tally.ignored[f"SBS {f[0]}"] += 1
                else:
                    tally.skip(where, "not an SBS line", line[:40])
                continue
            if len(f) < 22:
                tally.skip(where, "truncated SBS line", f"{len(f)} fields, need 22")
                continue
            try:
                mt = int(f[1])
                if not 1 <= mt <= 8:
                    raise ValueError
            except ValueError:
                tally.skip(where, "bad SBS field", f"transmission type {f[1][:10]!r}")
                continue
            hexid = f[4].strip()
            if len(hexid) != 6 or not _HEX.issuperset(hexid):
                tally.skip(where, "bad SBS field", f"hex ident {hexid[:10]!r}")
                continue
            try:
                ts = self._unix(f[6].strip(), f[7].strip())
            except (ValueError, OverflowError):
                tally.skip(where, "bad SBS field", f"date/time {f[6][:12]!r} {f[7][:14]!r}")
                continue
            try:
                rec = SbsRecord(mt, int(hexid, 16), ts, f[10].strip() or None, _opt_float(f[11]),
                                _opt_float(f[14]), _opt_float(f[15]), _opt_float(f[12]), _opt_float(f[13]),
                                _opt_float(f[16]), f[17].strip() or None)
            except ValueError:
                tally.skip(where, "bad SBS field", "a number field is not a number")
                continue
            if rec.lat is not None and not (-90.0 <= rec.lat <= 90.0 and rec.lon is not None and -180.0 <= rec.lon <= 180.0):
                tally.skip(where, "bad SBS field", f"position {f[14][:12]!r}, {f[15][:12]!r}")
                continue
            yield ts, rec, lineno
