"""The journal in PostgreSQL (psycopg 3; the optional extra ``skyweave[postgres]``), PostGIS where present.

Same records, same API and same replay as the SQLite journal (:mod:`skyweave.node.journal`):
``--journal postgresql://USER@HOST:PORT/DB`` selects it. The tables are made in the database's
current schema (``search_path``; a URL may choose one with ``?options=-csearch_path%3DNAME``):

- ``meta``, ``nodes``: as in SQLite;
- ``records``: as in SQLite but for the body, stored in ``body_text`` (TEXT: JSON and tracks
  lines, queryable with ``body_text::jsonb``) or ``body_bytes`` (BYTEA: scans' JSON bytes and
  partner frames as on the wire), one of them NULL, compressed with lz4 where the server has it;
- ``positions``: one row per track in each final local picture (``source`` ``local``) and each
  periodic fused picture (``picture``): the record's ``seq``, ``nation``, ``t`` (scenario s),
  ``track_id``, ``x``/``y``/``z`` (m, the scenario's local east-north-up frame) and ``lat``/``lon``
  (degrees, WGS-84) and ``alt`` (m above the ellipsoid) from the sensors file's origin (NULL
  without one); with PostGIS, also ``geom geometry(PointZ, 4326)``, generated from them, with a
  GiST index. Without PostGIS (its extension not installed) the table has no ``geom`` and meta
  ``postgis`` is ``absent``.

**One schema per node** (``skyweave network run --nats URL --processes --journal postgresql://...``):
each node process journals into its own schema of that database, ``skyweave_<nation>`` in lower
case (:func:`node_schema`: ``skyweave_jpn``), through the URL :func:`node_url` gives, the
database's URL with libpq's ``options=-csearch_path=skyweave_jpn``; the same URL addresses that
node's journal for ``skyweave replay`` and ``skyweave export parquet`` (and ``psql``), as does
``PGOPTIONS=-csearch_path=skyweave_jpn`` with the database's URL.

Writes are batched as in SQLite; each batch is one transaction holding one ``COPY`` into
``records`` (and one into ``positions``), so a killed writer leaves every committed batch and no
gap in ``seq``. An existing journal in the database is replaced (its tables dropped), unless
``append``; tables of the same names that are not a skyweave journal are left alone (an error).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import numpy as np

from skyweave.node.journal_base import (
    SCHEMA_VERSION,
    JournalError,
    JournalWriter,
    config_to_json,
    describe,
)

TABLES = ("positions", "records", "nodes", "meta")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE nodes (nation TEXT PRIMARY KEY, config TEXT NOT NULL, public_key TEXT NOT NULL);
CREATE TABLE records (
    seq BIGINT PRIMARY KEY,
    nation TEXT NOT NULL,
    kind TEXT NOT NULL,
    t DOUBLE PRECISION,
    wall DOUBLE PRECISION NOT NULL,
    subject TEXT,
    body_text TEXT,
    body_bytes BYTEA
);
CREATE INDEX records_nation ON records (nation, seq);
CREATE INDEX records_kind ON records (kind, seq);
CREATE TABLE positions (
    seq BIGINT NOT NULL,
    nation TEXT NOT NULL,
    source TEXT NOT NULL,
    t DOUBLE PRECISION,
    track_id TEXT NOT NULL,
    x DOUBLE PRECISION, y DOUBLE PRECISION, z DOUBLE PRECISION,
    lat DOUBLE PRECISION, lon DOUBLE PRECISION, alt DOUBLE PRECISION
);
CREATE INDEX positions_seq ON positions (seq);
"""

#: ``{gis}``: the schema PostGIS is installed in (its names qualified: the journal's schema may be
#: another, e.g. a node's ``skyweave_jpn`` with PostGIS in ``public``)
GEOMETRY = """
ALTER TABLE positions ADD COLUMN geom {gis}.geometry(PointZ, 4326)
    GENERATED ALWAYS AS ({gis}.ST_SetSRID({gis}.ST_MakePoint(lon, lat, alt), 4326)) STORED;
CREATE INDEX positions_geom ON positions USING GIST (geom);
"""


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise JournalError("a postgresql:// journal needs psycopg 3: pip install 'skyweave[postgres]'") from None
    return psycopg


def _connect(url: str, **kw):
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, connect_timeout=10, **kw)
    except psycopg.Error as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise JournalError(f"{describe(url)}: cannot connect to PostgreSQL ({why})") from None


#: the schema of a node's journal in a database of per-node journals is this prefix and its nation, lower case
NODE_SCHEMA_PREFIX = "skyweave_"


def node_schema(nation: str) -> str:
    """The schema of ``nation``'s journal in a database of per-node journals: ``skyweave_jpn`` for JPN."""
    if not nation.replace("_", "").isalnum() or not nation.isascii():
        raise JournalError(f"nation {nation!r}: a journal schema name takes letters, digits and _ only")
    return NODE_SCHEMA_PREFIX + nation.lower()


def _options(url: str) -> tuple[list[tuple[str, str]], str]:
    """The URL's query parameters and its libpq ``options`` value ('' when none)."""
    from urllib.parse import parse_qsl, urlsplit

    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return query, " ".join(v for k, v in query if k == "options")


def node_url(url: str, nation: str) -> str:
    """The URL of ``nation``'s journal in the database of ``url``: ``url`` with libpq's
    ``options=-csearch_path=skyweave_<nation>`` (other options kept)."""
    from urllib.parse import quote, urlencode, urlsplit, urlunsplit

    query, opts = _options(url)
    if "search_path" in opts:
        raise JournalError(f"{describe(url)}: names a search_path; per-node journals go in schemas "
                           f"{NODE_SCHEMA_PREFIX}<nation> of the database: give its URL without one")
    opts = f"{opts} -csearch_path={node_schema(nation)}".strip()
    query = [(k, v) for k, v in query if k != "options"] + [("options", opts)]
    return urlunsplit(urlsplit(url)._replace(query=urlencode(query, quote_via=quote)))


def prepare_node_schemas(url: str, nations) -> dict[str, str]:
    """Make the schema of every nation's journal in the database of ``url`` (:func:`node_schema`),
    each empty of any earlier journal (a new run; a node restarted on its journal appends to what
    this run wrote), and return every nation's journal URL (:func:`node_url`). Tables there that
    are not a skyweave journal are left alone (a :class:`JournalError`)."""
    from psycopg import sql

    urls = {n: node_url(url, n) for n in nations}
    db = _connect(url, autocommit=True)
    try:
        for n in nations:
            db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(node_schema(n))))
        if db.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone() is not None:
            try:  # in the database's own schema (public), not in the first node's
                db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except _psycopg().Error:
                pass  # no privilege to create it: the journals keep plain columns
    except _psycopg().Error as e:
        raise JournalError(f"{describe(url)}: cannot create the journal schemas {NODE_SCHEMA_PREFIX}<nation>: "
                           f"{str(e).strip().splitlines()[0]}") from None
    finally:
        db.close()
    for n in nations:
        PgJournal(urls[n]).close()  # a fresh, empty journal (an earlier one replaced)
    return urls


def node_journals_in(db) -> list[str]:
    """The schemas of per-node journals (``skyweave_*`` holding a journal's meta table) in ``db``'s database."""
    return [r[0] for r in db.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'meta' AND table_schema LIKE %s "
        "ORDER BY table_schema", (NODE_SCHEMA_PREFIX.replace("_", r"\_") + "%",))]


def _journal_state(db) -> str:
    """'none' (no journal table), 'journal' (a skyweave journal) or 'other' (tables of its names that are not one)."""
    present = {r[0] for r in db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY(%s)",
        (list(TABLES),))}
    if not present:
        return "none"
    if "meta" not in present or "records" not in present:
        return "other"
    try:
        cols = {r[0] for r in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'meta'")}
        if cols != {"key", "value"}:
            return "other"
        v = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except _psycopg().Error:
        return "other"
    return "journal" if v is not None else "other"


class _Origin:
    """Local ENU (m) to WGS-84 (deg, deg, m) for the positions table, from sensors.json's origin."""

    def __init__(self, sensors_json: str):
        self.frame = None
        try:
            o = json.loads(sensors_json).get("origin")
            if o is not None:
                from skyweave.geo.wgs84 import LocalFrame

                self.frame = LocalFrame(float(o["lat"]), float(o["lon"]), float(o.get("alt", 0.0)))
        except (ValueError, TypeError, KeyError, AttributeError):
            self.frame = None

    def geodetic(self, xyz: np.ndarray):
        if self.frame is None or not len(xyz):
            return [None] * len(xyz), [None] * len(xyz), [None] * len(xyz)
        lat, lon, alt = self.frame.to_geodetic(xyz)
        return np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist(), np.atleast_1d(alt).tolist()


def track_positions(body: str) -> list[tuple[str, float | None, float, float, float]]:
    """(track_id, t, x, y, z) of every line of a tracks.jsonl body (``local`` or ``fused`` record)."""
    out = []
    for line in body.splitlines():
        if not line:
            continue
        d = json.loads(line)
        out.append((str(d["track_id"]), d.get("t"), float(d["x"]), float(d["y"]), float(d.get("z", 0.0))))
    return out


class PgJournal(JournalWriter):
    """A journal being written to PostgreSQL at ``url`` (see the module docstring). Thread-safe.

    Arguments as :class:`~skyweave.node.journal.JournalWriter`'s; ``append``: write on after the
    last record of the journal in that database (else it is replaced).
    """

    def __init__(self, url: str, *, batch: int = 1000, interval_s: float = 0.5,
                 on_commit: Callable[[int], None] | None = None, clock: Callable[[], float] = time.time,
                 append: bool = False, flush_every_s: float | None = None):
        super().__init__(describe(url), batch=batch, interval_s=interval_s, on_commit=on_commit, clock=clock,
                         flush_every_s=flush_every_s)
        self.path = self.url = url
        psycopg = _psycopg()
        from psycopg import sql

        self._db = _connect(url, autocommit=True)
        try:
            state = _journal_state(self._db)
            if state == "other":
                raise JournalError(f"{self.name}: the database holds tables named {', '.join(TABLES)} that are not a "
                                   "skyweave journal; choose another database or schema")
            resume = append and state == "journal"
            if resume:
                v = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
                if v != str(SCHEMA_VERSION):
                    raise JournalError(f"{self.name}: journal schema version {v!r}, this skyweave writes {SCHEMA_VERSION}")
                self._seq = self.committed = self._db.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()[0]
                row = self._db.execute("SELECT value FROM meta WHERE key = 'postgis'").fetchone()
                self.postgis = row is not None and row[0] != "absent"
                row = self._db.execute("SELECT value FROM meta WHERE key = 'sensors'").fetchone()
                self._origin = _Origin(row[0] if row else "{}")
            else:
                with self._db.transaction():
                    self._db.execute("DROP TABLE IF EXISTS " + ", ".join(TABLES))
                    for stmt in filter(str.strip, SCHEMA.split(";")):
                        self._db.execute(stmt)
                try:  # lz4 (PostgreSQL >= 14 built with it) compresses large bodies faster than the default pglz
                    self._db.execute("ALTER TABLE records ALTER COLUMN body_text SET COMPRESSION lz4, "
                                     "ALTER COLUMN body_bytes SET COMPRESSION lz4")
                except psycopg.Error:
                    pass
                self.postgis = self._enable_postgis()
                with self._db.transaction():
                    if self.postgis:
                        gis = sql.Identifier(self._postgis_schema())
                        for stmt in filter(str.strip, GEOMETRY.split(";")):
                            self._db.execute(sql.SQL(stmt).format(gis=gis))
                    v = self._db.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
                    self._db.cursor().executemany("INSERT INTO meta VALUES (%s, %s)", [
                        ("schema_version", str(SCHEMA_VERSION)), ("created", str(self.clock())),
                        ("postgis", v[0] if self.postgis and v else "absent")])
                self._origin = _Origin("{}")
        except psycopg.Error as e:
            self._db.close()
            raise JournalError(f"{self.name}: cannot {'open' if append else 'create'} the journal: "
                               f"{str(e).strip().splitlines()[0]}") from None
        except BaseException:
            self._db.close()
            raise
        self._start_flusher()

    def _postgis_schema(self) -> str:
        return self._db.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                "WHERE e.extname = 'postgis'").fetchone()[0]

    def _enable_postgis(self) -> bool:
        """Create the PostGIS extension when it is installed; False (plain columns only) when not."""
        psycopg = _psycopg()
        if self._db.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone() is None:
            return False
        try:
            self._db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error:
            return False  # no privilege to create it: plain columns
        return True

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                             (key, value))
            if key == "sensors":
                self._origin = _Origin(value)

    def add_node(self, nation: str, config, public_key_pem: str) -> None:
        """Record a node's configuration and its public signing key (what replay needs to judge its frames)."""
        with self._lock:
            self._db.execute("INSERT INTO nodes VALUES (%s, %s, %s) ON CONFLICT (nation) DO UPDATE SET "
                             "config = EXCLUDED.config, public_key = EXCLUDED.public_key",
                             (nation, config_to_json(config), public_key_pem))

    def _positions(self, rows: list[tuple]) -> list[tuple]:
        got, xyz = [], []
        for seq, nation, kind, _t, _wall, subject, body in rows:
            if (kind == "local" or (kind == "fused" and subject == "tick")) and body:
                for tid, t, x, y, z in track_positions(body):
                    got.append((seq, nation, "local" if kind == "local" else "picture", t, tid, x, y, z))
                    xyz.append((x, y, z))
        if not got:
            return []
        lat, lon, alt = self._origin.geodetic(np.asarray(xyz, dtype=float))
        return [(*g, a, b, c) for g, a, b, c in zip(got, lat, lon, alt)]

    def _store(self, rows: list[tuple]) -> None:
        positions = self._positions(rows)
        psycopg = _psycopg()
        try:
            with self._db.transaction():
                cur = self._db.cursor()
                with cur.copy("COPY records (seq, nation, kind, t, wall, subject, body_text, body_bytes) FROM STDIN") as cp:
                    for seq, nation, kind, t, wall, subject, body in rows:
                        if isinstance(body, str) or body is None:
                            cp.write_row((seq, nation, kind, t, wall, subject, body, None))
                        else:
                            cp.write_row((seq, nation, kind, t, wall, subject, None, bytes(body)))
                if positions:
                    with cur.copy("COPY positions (seq, nation, source, t, track_id, x, y, z, lat, lon, alt) FROM STDIN") as cp:
                        for p in positions:
                            cp.write_row(p)
        except psycopg.Error as e:
            raise JournalError(f"{self.name}: cannot store {len(rows)} records: {str(e).strip().splitlines()[0]}") from None

    def _finish(self) -> None:
        self._db.close()


class PgJournalReader:
    """A PostgreSQL journal opened for reading: the API of :class:`~skyweave.node.journal.JournalReader`
    (``meta``, ``nodes``, :meth:`count`, :meth:`records`, :meth:`close`)."""

    def __init__(self, url: str):
        self.url = url
        self.path = describe(url)
        psycopg = _psycopg()
        self._db = _connect(url, autocommit=True)
        try:
            state = _journal_state(self._db)
            if state != "journal":
                raise JournalError(self._why_no_journal())
            self.meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            rows = self._db.execute("SELECT nation, config, public_key FROM nodes ORDER BY nation").fetchall()
        except psycopg.Error as e:
            self._db.close()
            raise JournalError(f"{self.path}: not a readable skyweave journal ({str(e).strip().splitlines()[0]})") from None
        except BaseException:
            self._db.close()
            raise
        if self.meta.get("schema_version") != str(SCHEMA_VERSION):
            self._db.close()
            raise JournalError(f"{self.path}: journal schema version {self.meta.get('schema_version')!r}, "
                               f"this skyweave reads {SCHEMA_VERSION}")
        if "sensors" not in self.meta:
            self._db.close()
            raise JournalError(f"{self.path}: the journal records no sensors (meta key 'sensors')")
        self.nodes = {n: (c, k) for n, c, k in rows}
        if not self.nodes:
            self._db.close()
            raise JournalError(f"{self.path}: the journal records no node")

    def _why_no_journal(self) -> str:
        """Why there is no journal at this URL, and which URL has one where that can be told."""
        schema = self._db.execute("SELECT current_schema()").fetchone()[0]
        if schema is None:
            return f"{self.path}: no schema of its search_path exists in the database (no journal there)"
        nodes = node_journals_in(self._db)
        if nodes and schema not in nodes and _journal_state(self._db) == "none":
            return (f"{self.path}: not a skyweave journal in schema {schema}; this database holds one journal per node, "
                    f"in schemas {', '.join(nodes)}: address one with ?options=-csearch_path%3D{nodes[0]} in the URL")
        return f"{self.path}: not a skyweave journal (no journal tables in its current schema)"

    @property
    def postgis(self) -> bool:
        return self.meta.get("postgis", "absent") != "absent"

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._db.execute("SELECT count(*) FROM records").fetchone()[0]
        return self._db.execute("SELECT count(*) FROM records WHERE kind = %s", (kind,)).fetchone()[0]

    def records(self, kinds=None, nation: str | None = None) -> Iterator[tuple]:
        """``(seq, nation, kind, t, wall, subject, body)`` in sequence order, of ``kinds`` (all when None);
        ``body`` is a str where the writer gave text, bytes where it gave bytes (as in SQLite)."""
        psycopg = _psycopg()
        q, args, where = "SELECT seq, nation, kind, t, wall, subject, body_text, body_bytes FROM records", [], []
        if kinds is not None:
            where.append("kind = ANY(%s)")
            args.append(list(kinds))
        if nation is not None:
            where.append("nation = %s")
            args.append(nation)
        if where:
            q += " WHERE " + " AND ".join(where)
        # a server-side cursor: a long journal streams in pages, not all into memory
        conn = _connect(self.url)
        try:
            with conn.cursor(name="journal_records") as cur:
                cur.itersize = 2000
                cur.execute(q + " ORDER BY seq", args)
                for seq, n, kind, t, wall, subject, text, data in cur:
                    yield seq, n, kind, t, wall, subject, text if text is not None else (None if data is None else bytes(data))
        except psycopg.Error as e:
            raise JournalError(f"{self.path}: damaged journal ({str(e).strip().splitlines()[0]})") from None
        finally:
            conn.close()

    def close(self) -> None:
        self._db.close()


def reachable(url: str) -> None:
    """Connect to ``url`` and disconnect: a :class:`JournalError` naming it when that fails."""
    _connect(url).close()
