"""The journal: every node's inputs and decisions in one SQLite file (or PostgreSQL), and replay from it.

A :class:`Journal` is a SQLite database in WAL mode (stdlib ``sqlite3``, no server); the schema
is in docs/journal.md. A ``postgresql://`` URL selects :mod:`skyweave.node.journal_pg` instead
(:func:`open_journal`, :func:`open_reader`: the same records, API and replay). Per node it records, each with a global sequence number, the node's clock
(scenario s) and the wall clock:

- the node's **inputs**, in the order the node took them: its own scans with their detections
  (``scan``), the common clock moved (``advance``), the periodic ticks (``tick``), every partner
  frame delivered to it, as the bytes on the wire (``frame``), each fusion a node process's fusion
  thread made (``fuse``: its timing is the threads'), and its close (``close``); each input is
  journaled and taken under the node's lock, so the journal's order is the node's;
- its **outputs**, from a :class:`JournalSink` on its event hub: the gate's verdicts
  (``verdict``), its final local pictures (``local``), its fused pictures (``fused``, ``tick``
  marking the periodic ones) and its alert updates (``alert``).

Writes are batched: records are held in memory and inserted in one transaction every ``batch``
records or ``interval_s`` seconds, whichever comes first, and at :meth:`Journal.close`. A process
killed at any point leaves a consistent database holding every committed batch; only the batch
not yet committed is lost.

:func:`replay` rebuilds each node from the journal's inputs alone, in the pipeline's
deterministic mode, and writes its files again: an in-process run is reproduced byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from skyweave.io.scans import RawScan
from skyweave.node.events import AlertUpdated, Event, LocalPicture, MessageVerdict, PictureFused, ScanIngested
from skyweave.node.journal_base import (  # noqa: F401 (re-exported: the journal's API)
    SCHEMA_VERSION,
    JournalError,
    JournalWriter,
    config_from_json,
    config_to_json,
    describe,
    is_url,
)
from skyweave.node.sinks import frame_text, fused_text

#: the record kinds a replay re-drives a node from
INPUT_KINDS = ("scan", "advance", "tick", "frame", "fuse", "close")
#: the record kinds of a node's outputs
OUTPUT_KINDS = ("verdict", "local", "fused", "alert")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (nation TEXT PRIMARY KEY, config TEXT NOT NULL, public_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    nation TEXT NOT NULL,
    kind TEXT NOT NULL,
    t REAL,
    wall REAL NOT NULL,
    subject TEXT,
    body BLOB
);
CREATE INDEX IF NOT EXISTS records_nation ON records (nation, seq);
"""

_SQLITE_MAGIC = b"SQLite format 3\x00"


# ---------------------------------------------------------------------------------------- encoding

def encode_scan(raw: RawScan) -> bytes:
    """A scan as JSON (every float exactly: Python's float repr round-trips)."""
    return json.dumps({
        "sensor": raw.sensor, "kind": raw.kind, "t": float(raw.t),
        "cols": {k: np.asarray(v, dtype=float).tolist() for k, v in raw.cols.items()},
        "identity": None if raw.identity is None else np.asarray(raw.identity).tolist(),
        "platform": None if raw.platform is None else np.asarray(raw.platform, dtype=float).tolist(),
        "lines": np.asarray(raw.lines).tolist(),
    }, separators=(",", ":")).encode()


def decode_scan(body: bytes) -> RawScan:
    """The :class:`RawScan` of :func:`encode_scan`."""
    d = json.loads(body)
    return RawScan(d["sensor"], d["kind"], float(d["t"]), {k: np.asarray(v, dtype=float) for k, v in d["cols"].items()},
                   None if d["identity"] is None else np.asarray(d["identity"], dtype=np.int64),
                   None if d["platform"] is None else np.asarray(d["platform"], dtype=float),
                   np.asarray(d["lines"], dtype=np.int64))


# ---------------------------------------------------------------------------------------- writing

class Journal(JournalWriter):
    """A journal being written to an SQLite file (see the module docstring). Thread-safe.

    ``path`` is created (an existing file there, and its ``-wal``/``-shm``, are replaced), unless
    ``append``: then an existing journal is opened and written on after its last record (a node
    restarted on its journal, :mod:`skyweave.node.resume`). ``synchronous``: SQLite's setting;
    "NORMAL" (default) keeps every committed batch when the process is killed, "FULL" also when
    the machine loses power (slower commits). The other arguments are :class:`JournalWriter`'s.
    """

    def __init__(self, path: str | Path, *, batch: int = 1000, interval_s: float = 0.5,
                 on_commit: Callable[[int], None] | None = None, clock: Callable[[], float] = time.time,
                 synchronous: str = "NORMAL", append: bool = False, flush_every_s: float | None = None):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"journal synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = Path(path)
        super().__init__(str(self.path), batch=batch, interval_s=interval_s, on_commit=on_commit, clock=clock,
                         flush_every_s=flush_every_s)
        if self.path.is_dir():
            raise JournalError(f"{self.path}: is a folder, not a journal file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        resume = append and self.path.exists() and self.path.stat().st_size > 0
        if resume:
            JournalReader(self.path).close()  # a skyweave journal of this schema, else JournalError
        else:
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                p.unlink(missing_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            if resume:
                self._seq = self.committed = self._db.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()[0]
            else:
                self._db.executescript(SCHEMA)
                self._db.executemany("INSERT INTO meta VALUES (?, ?)",
                                     [("schema_version", str(SCHEMA_VERSION)), ("created", str(self.clock()))])
        except sqlite3.Error as e:
            raise JournalError(f"{self.path}: cannot {'open' if resume else 'create'} the journal: {e}") from None
        self._start_flusher()

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add_node(self, nation: str, config, public_key_pem: str) -> None:
        """Record a node's configuration and its public signing key (what replay needs to judge its frames)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO nodes VALUES (?, ?, ?)", (nation, config_to_json(config), public_key_pem))

    def _store(self, rows: list[tuple]) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _finish(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()


def open_journal(target: str | Path, **kw) -> JournalWriter:
    """A journal writer for ``target``: a ``postgresql://`` URL (:class:`~skyweave.node.journal_pg.PgJournal`)
    or an SQLite file's path (:class:`Journal`). ``kw`` are the writer's (``synchronous`` is SQLite's)."""
    if is_url(target):
        from skyweave.node.journal_pg import PgJournal

        kw.pop("synchronous", None)
        return PgJournal(str(target), **kw)
    return Journal(target, **kw)


def open_reader(target: str | Path):
    """A journal reader for ``target`` (a ``postgresql://`` URL or an SQLite file's path)."""
    if is_url(target):
        from skyweave.node.journal_pg import PgJournalReader

        return PgJournalReader(str(target))
    return JournalReader(target)


def node_journals(target: str | Path, nations) -> dict[str, str | Path]:
    """Every node's own journal for a run of one process per node (``network run --processes``),
    each new and empty (an earlier run's replaced), by nation: in a folder ``target``,
    ``target/<NATION>.sqlite``; in the PostgreSQL database of a ``postgresql://`` URL, one schema
    per node, ``skyweave_<nation>`` (:func:`~skyweave.node.journal_pg.prepare_node_schemas`),
    addressed by the URL with ``options=-csearch_path=skyweave_<nation>``."""
    if is_url(target):
        from skyweave.node.journal_pg import prepare_node_schemas

        return prepare_node_schemas(str(target), nations)
    folder = Path(target)
    if folder.exists() and not folder.is_dir():
        raise JournalError(f"{folder}: is a file; one journal per node needs a folder")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {n: folder / f"{n}.sqlite" for n in nations}
    for p in paths.values():  # a node restarted in this run appends to this run's journal, not an earlier run's
        for f in (p, Path(f"{p}-wal"), Path(f"{p}-shm")):
            f.unlink(missing_ok=True)
    return paths


class JournalSink:
    """A node's outputs into a journal: verdicts, local and fused pictures, alert updates (lossless).

    Snapshot events (a sink attached to a running node) are skipped: they repeat what is
    recorded. A scan is recorded as an input (``scan``, with its detections), not here.
    """

    may_drop = False

    def __init__(self, journal: JournalWriter, nation: str, dims: int):
        self.journal = journal
        self.nation = nation
        self.dims = dims

    def handle(self, event: Event) -> None:
        if event.snapshot or isinstance(event, ScanIngested):
            return  # a snapshot repeats what is recorded; the scan itself is recorded as an input
        j, n = self.journal, self.nation
        if isinstance(event, MessageVerdict):
            j.write(n, "verdict", event.t, json.dumps({"admitted": event.admitted, "reason": event.reason,
                                                       "sender": event.sender, "kind": event.kind, "items": event.items}))
        elif isinstance(event, LocalPicture):
            j.write(n, "local", event.t, frame_text(event.frame, self.dims, True, event.nation, event.marks))
        elif isinstance(event, PictureFused):
            j.write(n, "fused", event.t, fused_text(event.picture, event.nation, self.dims),
                    subject="tick" if event.tick else None)
        elif isinstance(event, AlertUpdated):
            j.write(n, "alert", event.t, json.dumps(event.record.to_dict()))

    def close(self) -> None:
        self.journal.commit()


def frame_digest(subject: str, data: bytes) -> bytes:
    """A frame's identity for de-duplication: a 128-bit BLAKE2b digest of its subject and bytes (a
    partner's frame is signed and numbered: a copy of it, redelivered by the bus, is the same bytes)."""
    return hashlib.blake2b(subject.encode() + b"\0" + bytes(data), digest_size=16).digest()


class RecordingBus:
    """A node's view of the bus that journals every frame delivered to it, in arrival order.

    For a node restarted on its journal (:mod:`skyweave.node.resume`): :meth:`hold` makes live
    deliveries wait (on the bus's delivery thread) while the node re-drives its journaled inputs,
    :meth:`inject` hands a journaled frame to the node's handlers without journaling it again,
    ``muted`` drops what the node publishes (it was sent before), and ``seen`` (frame digests,
    :func:`frame_digest`) names the frames journaled before the restart: a redelivered copy of one
    is dropped, not journaled or handled twice (counted in ``redelivered``). With ``dedupe`` the
    frames journaled from now on join ``seen`` too (a node on NATS: JetStream delivers a frame
    again when its acknowledgement waited too long).
    """

    def __init__(self, bus, journal: JournalWriter, nation: str, clock: Callable[[], float]):
        self._bus = bus
        self._journal = journal
        self._nation = nation
        self._clock = clock
        self._handlers: list[tuple[str, Callable]] = []
        self._ready = threading.Event()
        self._ready.set()
        self.seen: set[bytes] = set()
        self.dedupe = False
        self.redelivered = 0
        self.muted = False
        self.muted_frames = 0
        #: the node's lock (NationNode.lock), once the node is built: a frame is journaled and
        #: handled under it, so the journal's order of frames, scans and ticks is the order the
        #: node took them in (a frame's delivery thread and the scan loop race otherwise)
        self.lock: threading.RLock | None = None

    def subscribe(self, subject: str, handler, **kw):
        journal, nation, clock = self._journal, self._nation, self._clock
        self._handlers.append((subject, handler))

        def recorded(subj: str, data: bytes):
            self._ready.wait()
            with self.lock if self.lock is not None else contextlib.nullcontext():
                if self.seen or self.dedupe:
                    d = frame_digest(subj, data)
                    if d in self.seen:
                        self.redelivered += 1
                        return None
                    if self.dedupe:
                        self.seen.add(d)
                journal.write(nation, "frame", clock(), bytes(data), subject=subj)
                return handler(subj, data)

        return self._bus.subscribe(subject, recorded, **kw)

    def publish(self, subject: str, data: bytes, **kw):
        if self.muted:
            self.muted_frames += 1
            return None
        return self._bus.publish(subject, data, **kw)

    def inject(self, subject: str, data: bytes) -> None:
        """Hand a journaled frame to the node's handlers of its subject (not journaled again)."""
        from skyweave.share.subjects import subject_matches

        for pattern, handler in self._handlers:
            if subject_matches(pattern, subject):
                handler(subject, data)

    def hold(self) -> None:
        """Live deliveries wait until :meth:`release` (the bus queues them meanwhile)."""
        self._ready.clear()

    def release(self) -> None:
        self._ready.set()

    @property
    def holding(self) -> bool:
        return not self._ready.is_set()

    def __getattr__(self, name):
        return getattr(self._bus, name)


class RecordingNode:
    """A :class:`~skyweave.node.node.NationNode` whose inputs from :func:`~skyweave.node.sources.drive`
    (scans, the clock, ticks, close) are journaled before it takes them, each journaled and taken
    under the node's lock (as :class:`RecordingBus` does frames): the journal's order is the node's."""

    def __init__(self, node, journal: JournalWriter):
        self.node = node
        self.journal = journal
        self.nation = node.nation
        self._lock = node.lock

    def ingest(self, raw: RawScan) -> None:
        with self._lock:
            self.journal.write(self.nation, "scan", raw.t, encode_scan(raw))
            self.node.ingest(raw)

    def advance(self, t: float) -> None:
        # ``advance`` stands for drive's pair: advance(t), then due(t) (which sets the tick rhythm)
        with self._lock:
            self.journal.write(self.nation, "advance", t)
            self.node.advance(t)

    def due(self, t: float) -> bool:
        return self.node.due(t)

    def tick(self, t: float | None = None):
        with self._lock:
            self.journal.write(self.nation, "tick", t)
            return self.node.tick(t)

    def close(self) -> dict:
        with self._lock:
            self.journal.write(self.nation, "close", None)
        summary = self.node.close()
        self.journal.commit()
        return summary

    def __getattr__(self, name):
        return getattr(self.node, name)


# ---------------------------------------------------------------------------------------- reading

class JournalReader:
    """A journal opened for reading; :class:`JournalError` when it is missing, not SQLite, or not a journal."""

    def __init__(self, path: str | Path):
        self.path = p = Path(path)
        if not p.exists():
            raise JournalError(f"{p}: no such journal file")
        if p.is_dir():
            raise JournalError(f"{p}: is a folder, not a journal file")
        with open(p, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
        if head != _SQLITE_MAGIC:
            raise JournalError(f"{p}: not a skyweave journal (not an SQLite database)")
        try:
            self._db = sqlite3.connect(p, check_same_thread=False)
            self.meta = dict(self._db.execute("SELECT key, value FROM meta"))
            rows = self._db.execute("SELECT nation, config, public_key FROM nodes ORDER BY nation").fetchall()
            self._db.execute("SELECT seq FROM records LIMIT 1").fetchall()
        except sqlite3.Error as e:
            raise JournalError(f"{p}: not a readable skyweave journal ({e})") from None
        if self.meta.get("schema_version") != str(SCHEMA_VERSION):
            raise JournalError(f"{p}: journal schema version {self.meta.get('schema_version')!r}, "
                               f"this skyweave reads {SCHEMA_VERSION}")
        if "sensors" not in self.meta:
            raise JournalError(f"{p}: the journal records no sensors (meta key 'sensors')")
        self.nodes = {n: (c, k) for n, c, k in rows}
        if not self.nodes:
            raise JournalError(f"{p}: the journal records no node")

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._db.execute("SELECT count(*) FROM records").fetchone()[0]
        return self._db.execute("SELECT count(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0]

    def records(self, kinds=None, nation: str | None = None) -> Iterator[tuple]:
        """``(seq, nation, kind, t, wall, subject, body)`` in sequence order, of ``kinds`` (all when None)."""
        q, args = "SELECT seq, nation, kind, t, wall, subject, body FROM records", []
        where = []
        if kinds is not None:
            where.append("kind IN (%s)" % ",".join("?" * len(kinds)))
            args += list(kinds)
        if nation is not None:
            where.append("nation = ?")
            args.append(nation)
        if where:
            q += " WHERE " + " AND ".join(where)
        try:
            yield from self._db.execute(q + " ORDER BY seq", args)
        except sqlite3.Error as e:
            raise JournalError(f"{self.path}: damaged journal ({e})") from None

    def close(self) -> None:
        self._db.close()


def drive_input(node, kind: str, t: float | None, subject: str | None, body, *,
                deliver: Callable[[str, bytes], None], on_scan: Callable[[RawScan], None] | None = None) -> None:
    """Hand one journaled input record to ``node``, as the node took it: a scan (``on_scan(raw)``
    first, e.g. to pace it), the clock moved (advance, then the tick check), a tick, a fusion of
    the queued partners' reports, or a partner frame (``deliver(subject, bytes)``). ``close`` is
    the caller's: a replay closes the node, a restart goes on."""
    if kind == "scan":
        raw = decode_scan(body)
        if on_scan is not None:
            on_scan(raw)
        node.ingest(raw)
    elif kind == "advance":
        node.advance(t)
        node.due(t)
    elif kind == "tick":
        node.tick(t)
    elif kind == "fuse":
        node.fuse_pending()
    elif kind == "frame":
        deliver(subject, body)


def seal_keys_from(folder: str | Path, nations) -> dict:
    """The X25519 private keys ``folder/<NATION>.x25519`` (as ``network run`` writes them in
    ``OUT/keys``) of those of ``nations`` that have one there: nation -> key. A folder that is
    missing, holds none of them, or holds an unreadable one is a :class:`JournalError` naming it."""
    from skyweave.share.seal import load_seal_private_key

    folder = Path(folder)
    if not folder.is_dir():
        raise JournalError(f"{folder}: no such folder (expected the folder of the nodes' X25519 keys, <NATION>.x25519)")
    keys = {}
    for n in nations:
        f = folder / f"{n}.x25519"
        if f.is_file():
            try:
                keys[n] = load_seal_private_key(f)
            except (ValueError, OSError, TypeError) as e:
                raise JournalError(f"{f}: not a usable X25519 private key ({e})") from None
    if not keys:
        raise JournalError(f"{folder}: holds no X25519 key of the journal's nodes "
                           f"(expected {', '.join(f'{n}.x25519' for n in nations)})")
    return keys


def replay(path: str | Path, out: str | Path, *, speed: float = 0.0, progress: Callable[[float], None] | None = None,
           sleep: Callable[[float], None] = time.sleep, seal_keys: dict | None = None) -> dict:
    """Re-drive every node of the journal at ``path`` from its recorded inputs; write its files in
    ``out/<NATION>/`` (local.jsonl, picture.jsonl, alerts.jsonl, status.json) and ``out/sensors.json``.

    ``speed`` > 0 paces the scans at ``speed`` × the recorded scenario time; 0: as fast as it goes.
    ``seal_keys`` (nation -> X25519 private key, :func:`seal_keys_from`): a run over NATS seals
    every frame to its recipient, and a journal holds no private key; with its key a node opens
    its journaled frames as it did live (and, as live, admits sealed frames only). Returns a
    summary: every node's, the records replayed, how many replayed gate verdicts differ from the
    recorded ones (``verdicts_differ``, 0 for a faithful replay) and, per node, the sealed frames
    it could not open for want of its key (``sealed_unopened``). A journal cut short (no ``close``
    recorded: its writer was killed) replays what it holds and closes the nodes.
    """
    from skyweave.share.seal import is_sealed
    from skyweave.io.formats import load_sensors
    from skyweave.node.node import NationNode
    from skyweave.share import InProcessBus, Keyring
    from skyweave.share.signing import generate_key

    if speed < 0:
        raise ValueError(f"replay speed must be >= 0, got {speed}")
    t0 = time.perf_counter()
    r = open_reader(path)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sensors.json").write_text(r.meta["sensors"])
    sensors = load_sensors(out / "sensors.json")
    try:
        # the partners' public keys a node process journaled (its own journal lists it alone), then
        # the keys of the nodes the journal lists, which take precedence
        known = json.loads(r.meta.get("partner_keys", "{}"))
        ring = Keyring.from_config({**known, **{n: k for n, (_, k) in r.nodes.items()}})
        cfgs = {n: config_from_json(c) for n, (c, _) in r.nodes.items()}
    except (ValueError, KeyError, TypeError) as e:
        raise JournalError(f"{r.path}: a node's recorded configuration or key is unreadable ({e})") from None
    nodes, buses, verdicts = {}, {}, {}
    for n, cfg in cfgs.items():
        buses[n] = InProcessBus()
        key = (seal_keys or {}).get(n)
        # a node that fused on a thread of its own (a node process) fuses at its journaled points
        nodes[n] = NationNode(cfg, sensors, generate_key(), ring, buses[n], out_dir=out / n,
                              manual_fusion=cfg.fuse_on_receive and cfg.fuse_thread and not cfg.deterministic,
                              **({"seal_key": key} if key is not None else {}))
        got: list = []
        verdicts[n] = got
        nodes[n].attach(lambda ev, got=got: got.append((ev.admitted, ev.reason)) if isinstance(ev, MessageVerdict) else None)
    counts: dict[str, int] = {}
    unopened: dict[str, int] = {}
    summary: dict[str, dict] = {}
    start: list[float] = []     # the wall clock and scenario time of the first scan, when paced

    def pace(raw: RawScan) -> None:
        if progress is not None:
            progress(raw.t)
        if speed > 0:
            if not start:
                start.extend((time.perf_counter(), raw.t))
            wait = start[0] + (raw.t - start[1]) / speed - time.perf_counter()
            if wait > 0:
                sleep(wait)

    def deliver(n: str, subject: str, body: bytes) -> None:
        if n not in (seal_keys or {}) and is_sealed(body):
            unopened[n] = unopened.get(n, 0) + 1
        buses[n].publish(subject, body)

    try:
        for _seq, n, kind, t, _wall, subject, body in r.records(INPUT_KINDS):
            node = nodes.get(n)
            if node is None:
                raise JournalError(f"{r.path}: record {_seq} names node {n!r}, which the journal does not list")
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "close":
                summary[n] = node.close()
            else:
                drive_input(node, kind, t, subject, body, deliver=lambda s, b, n=n: deliver(n, s, b), on_scan=pace)
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise JournalError(f"{r.path}: damaged record ({type(e).__name__}: {e})") from None
    finally:
        for n, node in nodes.items():
            if n not in summary:
                summary[n] = node.close()  # a journal cut short (its writer killed): close what was replayed
        for b in buses.values():
            b.close()
    differ = 0
    for n in nodes:
        recorded = [(d["admitted"], d["reason"]) for d in
                    (json.loads(b) for *_, b in r.records(("verdict",), nation=n))]
        differ += sum(a != b for a, b in zip(recorded, verdicts[n]))
        if counts.get("close") and r.count("close"):  # a journal cut short may end between a frame and its verdict
            differ += abs(len(recorded) - len(verdicts[n]))
    records = r.count()
    r.close()
    return {"nations": sorted(nodes), "nodes": summary, "inputs": counts, "records": records,
            "verdicts_differ": differ, "sealed_unopened": unopened, "wall_s": round(time.perf_counter() - t0, 3), "out": str(out)}
