"""What every interop reader reports besides its records: skipped input, and the tally of a run.

A reader never stops at bad input: it names the place (byte offset of a binary stream, line of
a text one), says why, and goes on with the next record it can find; the good records around
the bad one are kept. :class:`Skipped` is one such report, :class:`Tally` the running summary
that ``skyweave ingest`` prints (records read, decoded, skipped by reason).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Skipped", "Tally", "DecodeError"]


class DecodeError(ValueError):
    """A record that cannot be decoded: ``reason`` is a short key (counted in the tally), the
    message says where and what."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Skipped:
    """One record (or stretch of bytes) left out: ``where`` (``file: byte 1234`` or ``file:12``),
    ``reason`` (a short key such as ``bad parity``), ``detail`` (what was found)."""

    where: str
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Tally:
    """Counts of one run: input records ``read``, ``decoded`` into a message, ``detections``
    written, ``skipped`` by reason, ``ignored`` (well-formed records that carry no position, by
    kind), ``noted`` (records read in a tolerated but irregular form, by form), and the first
    ``keep`` :class:`Skipped` reports in ``errors``."""

    read: int = 0
    decoded: int = 0
    detections: int = 0
    skipped: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    noted: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    keep: int = 1000

    def skip(self, where: str, reason: str, detail: str = "") -> None:
        """Count one skipped record and keep its report (the first ``keep`` of them)."""
        self.skipped[reason] += 1
        if len(self.errors) < self.keep:
            self.errors.append(Skipped(where, reason, detail))

    def summary(self) -> str:
        """One paragraph: read, decoded, detections, then skipped, ignored and noted by reason."""
        lines = [f"records read: {self.read}, decoded: {self.decoded}, detections: {self.detections}"]
        if self.skipped:
            lines.append(f"skipped: {sum(self.skipped.values())} (" + ", ".join(
                f"{k}: {v}" for k, v in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))) + ")")
        if self.ignored:
            lines.append("without a position: " + ", ".join(
                f"{k}: {v}" for k, v in sorted(self.ignored.items(), key=lambda kv: (-kv[1], kv[0]))))
        if self.noted:
            lines.append("read with care: " + ", ".join(
                f"{k}: {v}" for k, v in sorted(self.noted.items(), key=lambda kv: (-kv[1], kv[0]))))
        return "\n".join(lines)
