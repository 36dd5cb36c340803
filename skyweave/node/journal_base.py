"""What every journal back end shares (:mod:`skyweave.node.journal` for SQLite,
:mod:`skyweave.node.journal_pg` for PostgreSQL): the schema version, the error, the batching
writer, how a node's configuration is recorded, and how a journal's target is named."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable

#: the journal schema's version (meta key ``schema_version``)
SCHEMA_VERSION = 1


class JournalError(ValueError):
    """A journal that cannot be read or written: the message names the file and what is wrong."""


def config_to_json(cfg) -> str:
    """A :class:`~skyweave.node.node.NodeConfig` as JSON."""
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def config_from_json(text: str):
    """The :class:`~skyweave.node.node.NodeConfig` of :func:`config_to_json`."""
    from skyweave.fuse import FuserConfig
    from skyweave.node.node import NodeConfig
    from skyweave.track.config import TrackerConfig

    d = json.loads(text)
    d["partners"] = tuple(d["partners"])
    d["tracker"] = TrackerConfig.from_mapping(d["tracker"])
    d["fuser"] = FuserConfig.from_mapping(d["fuser"])
    return NodeConfig(**d)


def _finite(t) -> float | None:
    t = float(t)
    return t if math.isfinite(t) else None


def is_url(target) -> bool:
    """True when ``target`` names a PostgreSQL journal (``postgresql://...`` or ``postgres://...``);
    anything else is an SQLite file's path."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def describe(target) -> str:
    """``target`` as an error message names it: a path as is, a URL without its password."""
    if not is_url(target):
        return str(target)
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(target)
    if u.password is None:
        return target
    host = u.hostname or ""
    netloc = f"{u.username}:***@{host}" + (f":{u.port}" if u.port else "")
    return urlunsplit(u._replace(netloc=netloc))


class JournalWriter:
    """What every journal back end shares: numbering, batching and commit bookkeeping. Thread-safe.

    A subclass stores a batch (:meth:`_store`, one transaction) and closes its database
    (:meth:`_finish`). Records are held in memory and stored every ``batch`` records or at the
    first record ``interval_s`` (wall) seconds after the last commit, whichever comes first, and
    at :meth:`commit` and :meth:`close`. With ``flush_every_s`` a background thread also commits
    what is pending every ``flush_every_s`` seconds, so that a record never waits longer than that
    when no other record follows it (what a caller waiting for :meth:`when_committed` needs).
    ``on_commit(n)`` (optional) is called after each commit with the number of records committed
    so far (this writer's, plus those found in the journal when it was opened to append).
    """

    def __init__(self, name: str, *, batch: int = 1000, interval_s: float = 0.5,
                 on_commit: Callable[[int], None] | None = None, clock: Callable[[], float] = time.time,
                 flush_every_s: float | None = None):
        if batch < 1:
            raise ValueError(f"journal batch must be >= 1 record, got {batch}")
        if flush_every_s is not None and not flush_every_s > 0:
            raise ValueError(f"journal flush_every_s must be > 0 s, got {flush_every_s}")
        self.name = name
        self.batch = int(batch)
        self.interval_s = float(interval_s)
        self.on_commit = on_commit
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: list[tuple] = []
        self._waiting: list[tuple[int, Callable[[], None]]] = []
        self._seq = 0
        self.committed = 0
        self._last_commit = time.monotonic()
        self._closed = False
        self._flusher: threading.Thread | None = None
        self._stop_flusher = threading.Event()
        self.flush_every_s = flush_every_s

    def _start_flusher(self) -> None:
        if self.flush_every_s is not None and self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_forever, name="skyweave-journal-flush", daemon=True)
            self._flusher.start()

    def _flush_forever(self) -> None:
        while not self._stop_flusher.wait(self.flush_every_s):
            with self._lock:
                if self._closed:
                    return
                if self._pending:
                    self._commit()

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record written (committed or not)."""
        return self._seq

    def write(self, nation: str, kind: str, t: float | None, body: bytes | str | None = None,
              subject: str | None = None) -> int:
        """Add one record; returns its sequence number. Committed with its batch."""
        with self._lock:
            if self._closed:
                raise JournalError(f"{self.name}: write to a closed journal")
            self._seq += 1
            self._pending.append((self._seq, nation, kind, None if t is None else _finite(t), self.clock(), subject, body))
            if len(self._pending) >= self.batch or time.monotonic() - self._last_commit >= self.interval_s:
                self._commit()
            return self._seq

    def when_committed(self, seq: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once record ``seq`` is committed: at once (in this thread) when it
        already is, else in the thread of the commit that stores it (keep it short)."""
        with self._lock:
            if seq > self._seq - len(self._pending):
                self._waiting.append((seq, callback))
                return
        callback()

    def commit(self) -> int:
        """Commit the pending records now; returns the number committed so far."""
        with self._lock:
            return self._commit()

    def _commit(self) -> int:
        self._last_commit = time.monotonic()
        if not self._pending:
            return self.committed
        rows, self._pending = self._pending, []
        self._store(rows)
        self.committed += len(rows)
        if self.on_commit is not None:
            self.on_commit(self.committed)
        if self._waiting:
            last = rows[-1][0]
            due = [cb for s, cb in self._waiting if s <= last]
            self._waiting = [(s, cb) for s, cb in self._waiting if s > last]
            for cb in due:
                cb()
        return self.committed

    def close(self) -> None:
        """Commit what is pending and close the database (a second call does nothing)."""
        self._stop_flusher.set()
        with self._lock:
            if self._closed:
                return
            self._commit()
            self._closed = True
            self._finish()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)

    def _store(self, rows: list[tuple]) -> None:  # pragma: no cover - every back end defines it
        raise NotImplementedError

    def _finish(self) -> None:  # pragma: no cover - every back end defines it
        raise NotImplementedError
