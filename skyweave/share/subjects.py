"""Subjects, the handler type and the bus error: what every bus implementation shares.

Subjects are ``skyweave.<SENDER>.<RECIPIENT>.<kind>`` with ``kind`` one of ``tracks``,
``alerts``, ``status`` (docs/messages.md, "Bus"); a node listens on ``skyweave.*.<ME>.>``.
Wildcards follow NATS: ``*`` matches one token, ``>`` (last token only) one or more.

Both :mod:`skyweave.share.bus` (the interface and the in-process bus) and
:mod:`skyweave.share.natsbus` (NATS JetStream) import from here; neither imports the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from skyweave.core.model import NATION_RE
from skyweave.share.schema import KINDS

__all__ = [
    "SUBJECT_ROOT",
    "Handler",
    "BusError",
    "subject_for",
    "inbox_subject",
    "parse_subject",
    "check_pattern",
    "subject_matches",
]

SUBJECT_ROOT = "skyweave"
_TOKEN_RE = re.compile(r"^[^\s.*>]+$")

Handler = Callable[[str, bytes], Any]
"""``handler(subject, data)``; must not raise (an exception is logged, the message acknowledged)."""


class BusError(RuntimeError):
    """A bus operation failed (no server, no stream, publish not acknowledged in time, bad subject).
    """


def subject_for(sender: str, recipient: str, kind: str) -> str:
    """``skyweave.<SENDER>.<RECIPIENT>.<kind>``: alpha-3 nations, kind tracks|alerts|status."""
    if not NATION_RE.match(sender) or not NATION_RE.match(recipient):
        raise BusError(
            f"subject: expected alpha-3 sender and recipient, got {sender!r}, {recipient!r}"
        )
    if kind not in KINDS:
        raise BusError(f"subject: expected kind in {KINDS}, got {kind!r}")
    return f"{SUBJECT_ROOT}.{sender}.{recipient}.{kind}"


def inbox_subject(recipient: str) -> str:
    """The wildcard a node subscribes to: everything any partner sends to ``recipient``."""
    if not NATION_RE.match(recipient):
        raise BusError(f"subject: expected an alpha-3 recipient, got {recipient!r}")
    return f"{SUBJECT_ROOT}.*.{recipient}.>"


def parse_subject(subject: str) -> tuple[str, str, str]:
    """(sender, recipient, kind) of a skyweave subject, or BusError naming what is wrong."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != SUBJECT_ROOT:
        raise BusError(
            f"subject: expected '{SUBJECT_ROOT}.<SENDER>.<RECIPIENT>.<kind>', got {subject!r}"
        )
    _, sender, recipient, kind = parts
    if not NATION_RE.match(sender) or not NATION_RE.match(recipient) or kind not in KINDS:
        raise BusError(
            f"subject: expected '{SUBJECT_ROOT}.<SENDER>.<RECIPIENT>.<tracks|alerts|status>', "
            f"got {subject!r}"
        )
    return sender, recipient, kind


def check_pattern(pattern: str) -> list[str]:
    """The tokens of a subject or subscription pattern, or BusError naming the bad token.

    A token is any run of characters without whitespace, ``.``, ``*`` or ``>``; a token may also
    be the wildcard ``*``, and the last one the wildcard ``>``. Publishing needs a subject
    without wildcards; the caller checks that on the tokens returned.
    """
    toks = pattern.split(".")
    for i, t in enumerate(toks):
        if t == "*" or (t == ">" and i == len(toks) - 1):
            continue
        if not _TOKEN_RE.match(t):
            raise BusError(f"subject: bad token {t!r} in {pattern!r}")
    return toks


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard match: ``*`` is one token, a final ``>`` one or more tokens."""
    p = pattern.split(".")
    s = subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(s) == len(p)
