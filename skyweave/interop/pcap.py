"""UDP payloads of a libpcap capture (the classic ``.pcap`` of tcpdump and Wireshark).

Reads the global header (either byte order, micro- or nanosecond stamps), then each packet
record; link types Ethernet (1, with 802.1Q VLAN tags), raw IP (101, 228, 229), Linux cooked
capture (113) and BSD loopback (0). IPv4 (unfragmented, or the first fragment) and IPv6 carrying
UDP give ``(ts, payload, offset)``: the capture time (UNIX seconds), the UDP payload bytes and the
byte offset of the packet record in the file. Packets that are not UDP are counted as ignored; a
cut record or header is reported with its offset, and the good packets before it are kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from skyweave.interop.records import Tally

__all__ = ["iter_udp", "is_pcap", "PCAP_MAGICS"]

#: magic numbers: (byte order, ticks per second)
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9),
}


def is_pcap(data: bytes) -> bool:
    """True when ``data`` starts with a libpcap magic number."""
    return data[:4] in PCAP_MAGICS


def _udp(frame: bytes, link: int) -> bytes | None:
    """The UDP payload of one captured frame, or None."""
    p = 0
    if link == 1:  # Ethernet II
        if len(frame) < 14:
            return None
        etype = (frame[12] << 8) | frame[13]
        p = 14
        while etype in (0x8100, 0x88A8) and len(frame) >= p + 4:
            etype = (frame[p + 2] << 8) | frame[p + 3]
            p += 4
    elif link == 113:  # Linux cooked capture
        if len(frame) < 16:
            return None
        etype = (frame[14] << 8) | frame[15]
        p = 16
    elif link == 0:  # BSD loopback: a 4-byte address family
        if len(frame) < 4:
            return None
        p = 4
        etype = 0x0800 if (frame[4] >> 4 if len(frame) > 4 else 0) == 4 else 0x86DD
    elif link in (101, 228, 229, 12, 14):  # raw IP
        etype = 0x0800 if frame and frame[0] >> 4 == 4 else 0x86DD
    else:
        return None
    if etype == 0x0800:
        if len(frame) < p + 20 or frame[p] >> 4 != 4:
            return None
        ihl = (frame[p] & 0x0F) * 4
        if frame[p + 9] != 17 or ihl < 20:
            return None
        if ((frame[p + 6] & 0x1F) << 8) | frame[p + 7]:  # a later fragment: no UDP header
            return None
        total = (frame[p + 2] << 8) | frame[p + 3]
        end = min(len(frame), p + total) if total >= ihl else len(frame)
        p += ihl
    elif etype == 0x86DD:
        if len(frame) < p + 40 or frame[p + 6] != 17:
            return None
        end = min(len(frame), p + 40 + ((frame[p + 4] << 8) | frame[p + 5]))
        p += 40
    else:
        return None
    if end < p + 8:
        return None
    ulen = (frame[p + 4] << 8) | frame[p + 5]
    stop = min(end, p + ulen) if ulen >= 8 else end
    return frame[p + 8:stop]


def iter_udp(data: bytes, tally: Tally, name: str = "<pcap>") -> Iterator[tuple[float, bytes, int]]:
    """The UDP payloads of a libpcap capture held in ``data`` (see the module's docstring)."""
    magic = PCAP_MAGICS.get(data[:4])
    if magic is None:
        tally.skip(f"{name}: byte 0", "not a pcap file", f"magic {data[:4].hex()}")
        return
    if len(data) < 24:
        tally.skip(f"{name}: byte 0", "truncated pcap header", f"{len(data)} bytes")
        return
    order, ticks = magic
    link = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    pos = 24
    n = len(data)
    while pos < n:
        if pos + 16 > n:
            tally.skip(f"{name}: byte {pos}", "truncated packet", f"{n - pos} bytes of a 16-byte record header")
            return
        sec, frac, incl, _orig = rec.unpack_from(data, pos)
        if pos + 16 + incl > n:
            tally.skip(f"{name}: byte {pos}", "truncated packet", f"{incl} bytes captured, {n - pos - 16} left")
            return
        frame = data[pos + 16:pos + 16 + incl]
        payload = _udp(frame, link)
        if payload is None:
            tally.ignored["not UDP"] += 1
        else:
            yield sec + frac / ticks, payload, pos
        pos += 16 + incl
