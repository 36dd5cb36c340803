"""What a node says: typed events, the sinks that receive them, and the hub between the two.

A node's core (:mod:`skyweave.node.core`, :mod:`skyweave.node.node`) emits one event per thing
that happened, in the order it happened:

=======================  ==========================================================================
event                    when
=======================  ==========================================================================
:class:`ScanIngested`    one of the node's own sensors' scans was taken in (before tracking it)
:class:`LocalPicture`    the tracker's picture at one detection time is final (``local.jsonl``,
                         ``tracks.jsonl``): one per distinct detection time
:class:`PictureFused`    the joint picture was fused; ``tick`` marks the periodic pictures that
                         go to ``picture.jsonl``
:class:`AlertUpdated`    one missile-warning alert update (a typed record; ``alerts.jsonl``)
:class:`MessageVerdict`  a partner's frame was admitted or rejected, with the gate's reason
=======================  ==========================================================================

Any number of sinks receive them through an :class:`EventHub`. A sink says whether it may drop
(:attr:`Sink.may_drop`): a file or journal sink must lose nothing, so the hub hands it each event
in the emitting thread and returns only once the sink holds it (a source acknowledges its input,
a partner frame or a stream offset, only after that); a live view keeps only the latest state
and must never slow the node: wrap it in a :class:`LatestSink`, which hands events over on a
thread of its own and drops superseded ones.

A sink attached to a node that is already running first receives a snapshot (the latest local
and fused pictures and every open alert, each with ``snapshot=True``), then every event from
then on: nothing between the two is lost or received twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

#: alert statuses after which an alert receives no more updates
CLOSED_STATUSES = frozenset({"closed", "merged"})


@dataclass(frozen=True, slots=True)
class ScanIngested:
    """One of the node's own scans: ``n`` detections of ``sensor`` (of ``kind``) at ``t`` (s)."""

    t: float
    sensor: str
    kind: str
    n: int
    nation: str | None = None
    snapshot: bool = False


@dataclass(frozen=True, slots=True)
class LocalPicture:
    """The tracker's confirmed tracks at ``t`` (s), final: ``frame`` is a
    :class:`~skyweave.track.tracker.Frame` (ids, states ``x`` (K, 2d), covariances ``P``).

    ``marks`` (one releasability tuple per track) and ``nation`` are set by a national node,
    ``None`` for a plain tracker.
    """

    t: float
    frame: Any
    nation: str | None = None
    marks: tuple[tuple[str, ...], ...] | None = None
    snapshot: bool = False


@dataclass(frozen=True, slots=True)
class PictureFused:
    """The node's joint picture at ``t`` (s): a :class:`~skyweave.fuse.FusedPicture`.

    ``tick`` is True for the periodic pictures (every ``report_interval_s``) that the picture
    file records; a live node also fuses after each scan and each partner frame.
    """

    t: float
    picture: Any
    nation: str
    tick: bool = False
    snapshot: bool = False


@dataclass(frozen=True, slots=True)
class AlertUpdated:
    """One alert update: ``record`` is the typed :class:`~skyweave.warn.alerts.AlertUpdate`;
    ``alert`` is the same as the alerts.jsonl object (a dict)."""

    t: float
    record: Any
    nation: str | None = None
    snapshot: bool = False

    @property
    def alert(self) -> dict:
        return self.record.to_dict()

    @property
    def alert_id(self) -> str:
        return self.record.alert_id

    @property
    def open(self) -> bool:
        return self.record.status not in CLOSED_STATUSES


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """A partner's frame at the gate: admitted (``reason`` "ok") or rejected with the gate's reason.

    ``t`` is the node's clock (s, NaN before it knows the time), ``sender`` the frame's claimed
    sending nation ("" when unreadable), ``kind`` its body kind, ``items`` the reports it carried.
    """

    t: float
    admitted: bool
    reason: str
    sender: str = ""
    kind: str = ""
    items: int = 0
    snapshot: bool = False


Event = ScanIngested | LocalPicture | PictureFused | AlertUpdated | MessageVerdict


@runtime_checkable
class Sink(Protocol):
    """Receives a node's events. ``may_drop`` False: every event, in order, before the node goes on."""

    may_drop: bool

    def handle(self, event: Event) -> None: ...

    def close(self) -> None: ...


class CallbackSink:
    """A sink that calls ``fn(event)`` for every event (of the given types, if ``kinds`` is set).

    Lossless: the node waits for ``fn``. For a slow consumer (a view, a socket) wrap it in a
    :class:`LatestSink`.
    """

    may_drop = False

    def __init__(self, fn: Callable[[Event], Any], kinds: Iterable[type] | None = None):
        self.fn = fn
        self.kinds = tuple(kinds) if kinds is not None else None

    def handle(self, event: Event) -> None:
        if self.kinds is None or isinstance(event, self.kinds):
            self.fn(event)

    def close(self) -> None:
        pass


class LatestSink:
    """Hands events to ``inner`` on a thread of its own, keeping only the latest state.

    ``handle`` never blocks on the consumer: it files the event in a slot and returns. Pictures
    supersede pictures of the same kind, an alert's update supersedes that alert's previous
    one, and scan and verdict events are kept only as the latest of their kind: a consumer that
    falls behind sees the newest state, never a queue growing without bound. ``dropped`` counts
    the superseded events. Pending events reach ``inner`` in the order they were filed (a newer
    state of a slot goes to the back of the queue).
    """

    may_drop = True

    def __init__(self, inner: Sink | Callable[[Event], Any], name: str = "latest-sink"):
        self.inner = inner if hasattr(inner, "handle") else CallbackSink(inner)
        self.dropped = 0
        self.delivered = 0
        self.errors = 0
        self._slots: dict[tuple, Event] = {}
        self._cv = threading.Condition()
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @staticmethod
    def _slot(event: Event) -> tuple:
        if isinstance(event, AlertUpdated):
            return (AlertUpdated, event.alert_id)
        if isinstance(event, PictureFused):
            return (PictureFused, event.tick)
        return (type(event),)

    def handle(self, event: Event) -> None:
        with self._cv:
            key = self._slot(event)
            if key in self._slots:
                self.dropped += 1
                del self._slots[key]  # re-filed at the end: delivery follows the newest order
            self._slots[key] = event
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._slots and not self._closed:
                    self._cv.wait()
                if not self._slots and self._closed:
                    return
                key = next(iter(self._slots))
                event = self._slots.pop(key)
                self._busy = True
            try:
                self.inner.handle(event)
                self.delivered += 1
            except Exception:  # a consumer's failure must not stop the node nor this thread
                self.errors += 1
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every filed event has been handed over; False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._slots and not self._busy, timeout)

    def close(self) -> None:
        """Hand over what is filed, stop the thread, close ``inner``."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout=10.0)
        self.inner.close()


class EventHub:
    """Delivers a node's events to its sinks, and keeps what a newly attached sink needs first.

    Thread-safe: ``emit`` and ``attach`` take one lock, so a sink attached while the node runs
    receives the snapshot and then exactly the events emitted after it.
    """

    def __init__(self):
        self._sinks: list[Sink] = []
        self._lock = threading.RLock()
        self._local: LocalPicture | None = None
        self._fused: PictureFused | None = None
        self._alerts: dict[str, AlertUpdated] = {}

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return tuple(self._sinks)

    def attach(self, sink: Sink | Callable[[Event], Any]) -> Sink:
        """Attach a sink (or a callable, as a lossless :class:`CallbackSink`); it gets the snapshot first."""
        if not hasattr(sink, "handle"):
            sink = CallbackSink(sink)
        with self._lock:
            for ev in self.snapshot():
                sink.handle(ev)
            self._sinks.append(sink)
        return sink

    def detach(self, sink: Sink) -> None:
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)

    def snapshot(self) -> list[Event]:
        """The current state as events flagged ``snapshot=True``: the latest local and fused
        pictures, then every open alert's latest update."""
        with self._lock:
            out: list[Event] = []
            if self._local is not None:
                out.append(replace(self._local, snapshot=True))
            if self._fused is not None:
                out.append(replace(self._fused, snapshot=True))
            out += [replace(a, snapshot=True) for a in self._alerts.values()]
            return out

    def emit(self, event: Event) -> None:
        """Record ``event`` in the state and hand it to every sink, in attachment order."""
        with self._lock:
            if isinstance(event, LocalPicture):
                self._local = event
            elif isinstance(event, PictureFused):
                self._fused = event
            elif isinstance(event, AlertUpdated):
                if event.open:
                    self._alerts[event.alert_id] = event
                else:
                    self._alerts.pop(event.alert_id, None)
            for s in self._sinks:
                s.handle(event)

    def close(self) -> None:
        """Close every sink (each at most once) and forget them."""
        with self._lock:
            sinks, self._sinks = self._sinks, []
        first: BaseException | None = None
        for s in sinks:
            try:
                s.close()
            except Exception as e:  # close the others all the same; report the first failure
                first = first or e
        if first is not None:
            raise first
