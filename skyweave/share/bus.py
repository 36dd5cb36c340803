"""The message bus: subjects, the Bus interface, and the in-process bus (the default).

Subjects are ``skyweave.<SENDER>.<RECIPIENT>.<kind>`` with ``kind`` one of ``tracks``,
``alerts``, ``status``; a node listens on ``skyweave.*.<ME>.>``. Wildcards follow NATS: ``*``
matches one token, ``>`` (last token only) one or more (:mod:`skyweave.share.subjects`).

Two implementations share the interface:

- :class:`InProcessBus`: one process, no server. Synchronous and deterministic: ``publish``
  returns after every subscriber has seen the message (and whatever their handlers published in
  turn), in global publish order. It mimics JetStream where that matters to a node: publishes
  are de-duplicated by message id, and a *durable* subscription that is closed (or cut off by
  :meth:`InProcessBus.partition`) catches up from where it stopped when it comes back. Fault
  hooks for tests: drop, duplicate, reorder, tamper, partition.
- :class:`skyweave.share.natsbus.NatsBus` over NATS JetStream (``skyweave.share`` loads it
  lazily, so the in-process bus needs no nats-py). This module does not import it: both take
  the subjects, :data:`Handler` and :class:`BusError` from :mod:`skyweave.share.subjects`.

Delivery is at-least-once: a handler may see a message twice (the admission gate drops the
duplicate by message id) and, across senders, out of order.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

# The subject helpers, Handler and BusError live in skyweave.share.subjects (natsbus needs them
# too); they are re-exported here, where the Bus interface that uses them is defined.
from skyweave.share.subjects import (
    SUBJECT_ROOT,
    BusError,
    Handler,
    check_pattern,
    inbox_subject,
    parse_subject,
    subject_for,
    subject_matches,
)

__all__ = [
    "SUBJECT_ROOT",
    "Handler",
    "Hook",
    "Subscription",
    "Bus",
    "BusError",
    "subject_for",
    "inbox_subject",
    "parse_subject",
    "subject_matches",
    "InProcessBus",
]

log = logging.getLogger(__name__)

Hook = Callable[[str, bytes, "str | None"], "Iterable[bytes] | None"]
"""``hook(subject, data, subscriber_name) -> frames to deliver`` (``None``: unchanged; ``[]``: drop)."""


# --------------------------------------------------------------------------- the interface


@runtime_checkable
class Subscription(Protocol):
    def unsubscribe(self) -> None:
        """Stop delivery. A durable subscription keeps its position for a later subscribe."""


@runtime_checkable
class Bus(Protocol):
    """What a node needs from a transport."""

    def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        """Send ``data`` on ``subject``; ``msg_id`` lets the bus drop a re-published duplicate."""

    def subscribe(self, subject: str, handler: Handler, *, durable: str | None = None) -> Subscription:
        """Call ``handler(subject, data)`` for each message on ``subject`` (wildcards allowed).

        With ``durable`` (a name unique per receiving node), the position survives unsubscribe,
        restart and partition: the next subscribe with that name resumes after the last
        message handled.
        """

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything published so far is out of this process (and acknowledged)."""

    def close(self) -> None:
        """Unsubscribe all and release resources; durable positions are kept."""


# --------------------------------------------------------------------------- in-process bus


class _Sub:
    __slots__ = ("bus", "pattern", "handler", "name", "durable", "active", "held")

    def __init__(self, bus: "InProcessBus", pattern: str, handler: Handler, name: str | None, durable: str | None):
        self.bus = bus
        self.pattern = pattern
        self.handler = handler
        self.name = name  # what partition() cuts
        self.durable = durable  # durable consumer name, or None
        self.active = True
        self.held: list[tuple[int, str, bytes]] = []  # reordered: delivered after the next one

    @property
    def key(self) -> tuple[str, str]:
        return (self.durable or "", self.pattern)

    def unsubscribe(self) -> None:
        self.bus._unsubscribe(self)

    close = unsubscribe

    def __repr__(self) -> str:
        kind = f"durable {self.durable} " if self.durable else ""
        return f"<{kind}subscription {self.pattern}>"


class InProcessBus:
    """Deterministic, synchronous bus in one process (see the module docstring).

    Parameters
    ----------
    seed : seed of the random faults of :meth:`set_faults`.
    retain : at most this many messages are kept for durable subscriptions that lag (closed or
        cut off); older ones are lost to them (as a stream's limits would).
    dedup_window : how many recent message ids are remembered to drop re-publishes (JetStream's
        ``Nats-Msg-Id`` de-duplication).

    A durable subscription starts with what is published after its first subscribe; its
    position (the next message it has not handled) lives as long as the bus.
    """

    def __init__(self, *, seed: int = 0, retain: int = 100_000, dedup_window: int = 100_000):
        self._rng = random.Random(seed)
        self.retain = int(retain)
        self.dedup_window = int(dedup_window)
        self._log: deque[tuple[str, bytes]] = deque()
        self._base = 0  # log index of _log[0]
        self._end = 0  # log index of the next message
        self._subs: list[_Sub] = []
        self._positions: dict[tuple[str, str], int] = {}  # (durable, pattern) -> next log index to handle
        self._pending: deque[tuple[_Sub, int, str, bytes]] = deque()
        self._busy = False
        self._ids: set[str] = set()
        self._id_order: deque[str] = deque()
        self._hooks: list[Hook] = []
        self._faults: dict[str, Any] | None = None
        self._cut: set[str] = set()
        self._cut_publishers: list[str] = []
        self._closed = False
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------------ interface

    def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        if self._closed:
            raise BusError("publish on a closed bus")
        toks = check_pattern(subject)
        if "*" in toks or toks[-1] == ">":
            raise BusError(f"publish: subject must not hold wildcards, got {subject!r}")
        data = bytes(data)
        if any(subject_matches(p, subject) for p in self._cut_publishers):
            self.stats["partitioned"] += 1
            return
        if msg_id is not None:
            if msg_id in self._ids:
                self.stats["deduplicated"] += 1
                return
            self._ids.add(msg_id)
            self._id_order.append(msg_id)
            if len(self._id_order) > self.dedup_window:
                self._ids.discard(self._id_order.popleft())
        idx = self._end
        self._end += 1
        self._log.append((subject, data))
        self.stats["published"] += 1
        for sub in self._subs:
            if subject_matches(sub.pattern, subject):
                if sub.name is not None and sub.name in self._cut:
                    if sub.durable is None:
                        self.stats["partitioned"] += 1
                    continue
                self._enqueue(sub, idx, subject, data)
        self._drain()
        self._trim()

    def subscribe(
        self, subject: str, handler: Handler, *, durable: str | None = None, name: str | None = None
    ) -> _Sub:
        """Subscribe (see :class:`Bus`); ``name`` (default: ``durable``) is what partition() cuts."""
        if self._closed:
            raise BusError("subscribe on a closed bus")
        check_pattern(subject)
        sub = _Sub(self, subject, handler, name if name is not None else durable, durable)
        if durable is not None and any(s.active and s.key == sub.key for s in self._subs):
            raise BusError(f"durable {durable!r} on {subject!r} is already bound to a subscription")
        self._subs.append(sub)
        if durable is not None:
            if sub.key in self._positions:  # resume: catch up on what was published while away
                if sub.name not in self._cut:
                    self._replay(sub)
            else:
                self._positions[sub.key] = self._end
        self._drain()
        return sub

    def flush(self, timeout: float | None = None) -> None:
        """Deliver every message held back by the reorder fault (and anything pending)."""
        for sub in self._subs:
            if sub.held and sub.name not in self._cut:
                self._pending.extend((sub, *item) for item in sub.held)
                sub.held.clear()
        self._drain()

    def close(self) -> None:
        for sub in list(self._subs):
            self._unsubscribe(sub)
        self._pending.clear()
        self._closed = True

    # ------------------------------------------------------------------ faults

    def add_hook(self, hook: Hook) -> Callable[[], None]:
        """Run ``hook`` on every delivery (tamper, drop, duplicate at will); returns its remover."""
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook) if hook in self._hooks else None

    def set_faults(
        self, *, drop: float = 0.0, duplicate: float = 0.0, reorder: float = 0.0, subject: str = ">", seed: int | None = None
    ) -> None:
        """Random faults per delivery on subjects matching ``subject``: probabilities of dropping it,
        delivering it twice, and holding it back until after the next delivery to that subscriber."""
        for name, p in (("drop", drop), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"set_faults: {name} must be a probability in [0, 1], got {p}")
        if seed is not None:
            self._rng = random.Random(seed)
        check_pattern(subject)
        self._faults = {"drop": drop, "duplicate": duplicate, "reorder": reorder, "subject": subject}

    def clear_faults(self) -> None:
        """Stop random faults and deliver what the reorder fault holds back."""
        self._faults = None
        self.flush()

    def partition(self, *names: str, publishers: Iterable[str] = ()) -> None:
        """Cut subscribers by name off the bus, and drop publishes on subjects matching ``publishers``.

        While cut, a durable subscriber's position stays put (it catches up on :meth:`heal`,
        at-least-once); a non-durable one loses what is published meanwhile.
        """
        self._cut.update(names)
        for p in publishers:
            check_pattern(p)
            self._cut_publishers.append(p)
        for sub in self._subs:
            if sub.name in self._cut:
                self._rewind_held(sub)

    def heal(self, *names: str) -> None:
        """Reconnect the named subscribers (all, and all publishers, when none is named)."""
        healed = set(names) if names else set(self._cut)
        self._cut -= healed
        if not names:
            self._cut_publishers.clear()
        for sub in self._subs:
            if sub.durable is not None and sub.name in healed:
                self._replay(sub)
        self._drain()

    # ------------------------------------------------------------------ internals

    def _enqueue(self, sub: _Sub, idx: int, subject: str, data: bytes) -> None:
        frames: list[bytes] = [data]
        for hook in self._hooks:
            out: list[bytes] = []
            for frame in frames:
                res = hook(subject, frame, sub.name)
                out.extend((frame,) if res is None else res)
            frames = out
        f = self._faults
        if f is not None and not subject_matches(f["subject"], subject):
            f = None
        queued = False
        for frame in frames:
            copies = 1
            if f is not None:
                if f["drop"] and self._rng.random() < f["drop"]:
                    self.stats["dropped"] += 1
                    continue
                if f["duplicate"] and self._rng.random() < f["duplicate"]:
                    copies = 2
                    self.stats["duplicated"] += 1
                if f["reorder"] and self._rng.random() < f["reorder"]:
                    self.stats["reordered"] += 1
                    sub.held.extend([(idx, subject, frame)] * copies)
                    continue
            self._pending.extend([(sub, idx, subject, frame)] * copies)
            queued = True
        if queued and sub.held:
            # what was held back goes right after this message: the pair arrives swapped
            early = [item for item in sub.held if item[0] < idx]
            if early:
                self._pending.extend((sub, *item) for item in early)
                sub.held = [item for item in sub.held if item[0] >= idx]

    def _rewind_held(self, sub: _Sub) -> None:
        """Held-back messages of a sub that goes away return to its stream position (at-least-once)."""
        if sub.held and sub.durable is not None:
            first = min(i for i, _, _ in sub.held)
            self._positions[sub.key] = min(self._positions.get(sub.key, first), first)
        sub.held.clear()

    def _replay(self, sub: _Sub) -> None:
        """Queue, for a returning durable subscriber, every retained message from its position on."""
        pos = self._positions.get(sub.key, self._end)
        if pos < self._base:
            self.stats["lost_to_retention"] += self._base - pos
            pos = self._base
        for i in range(pos - self._base, len(self._log)):
            subject, data = self._log[i]
            if subject_matches(sub.pattern, subject):
                self._enqueue(sub, self._base + i, subject, data)

    def _drain(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            while self._pending:
                sub, _idx, subject, data = self._pending.popleft()
                if not sub.active or (sub.name is not None and sub.name in self._cut):
                    continue  # its durable position was rewound when it left
                self.stats["delivered"] += 1
                try:
                    sub.handler(subject, data)
                except Exception:  # a handler must not take the bus down
                    self.stats["handler_errors"] += 1
                    log.exception("handler %r failed on %s; message dropped", sub.handler, subject)
            # everything up to the end is handled (or held) for connected durable subscribers
            for sub in self._subs:
                if sub.durable is not None and sub.name not in self._cut:
                    self._positions[sub.key] = min((i for i, _, _ in sub.held), default=self._end)
        finally:
            self._busy = False

    def _unsubscribe(self, sub: _Sub) -> None:
        if not sub.active:
            return
        sub.active = False
        self._rewind_held(sub)
        if sub.durable is not None:
            # queued but not yet handled deliveries go back to the stream
            undelivered = [i for s, i, _, _ in self._pending if s is sub]
            if undelivered:
                self._positions[sub.key] = min(self._positions.get(sub.key, self._end), min(undelivered))
        if sub in self._subs:
            self._subs.remove(sub)

    def _trim(self) -> None:
        """Drop log entries that no lagging durable needs, and any beyond ``retain``."""
        if len(self._log) <= 64:
            return
        need = min(self._positions.values(), default=self._end)
        floor = max(need, self._end - self.retain)
        while self._base < floor and self._log:
            self._log.popleft()
            self._base += 1
