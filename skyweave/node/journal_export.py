"""A journal as Parquet files for analysis (``skyweave export parquet JOURNAL --out DIR``).

One file per table in ``DIR``; every row carries the record's ``seq``, ``nation`` (the node the
record belongs to), ``t`` (scenario s, null where the node's clock was not set) and ``wall``
(Unix s); the journal record's ``kind`` is the file (``records.parquet`` and ``clock.parquet``
have it as a column):

=====================  ===========================================================================
file                   one row per
=====================  ===========================================================================
``records.parquet``    journal record: ``kind``, ``subject``, ``body_bytes`` (its body's size, B)
``detections.parquet`` detection of a recorded scan: ``sensor``, ``sensor_kind``, ``index`` (in the
                       scan), ``line`` (in the detections file), ``icao24`` (hex, null: none),
                       ``platform`` (the sensor platform's position, m, null: fixed), and one
                       float column per measurement the scans carry (``range``, ``az``, ``lat``...;
                       null where that sensor does not measure it)
``frames.parquet``     partner frame delivered: ``subject``, ``sender``, ``recipient``,
                       ``message`` (the subject's last token), ``size`` (B), ``data`` (the bytes)
``verdicts.parquet``   gate verdict: ``admitted``, ``reason``, ``sender``, ``message``, ``items``
``local.parquet``      track of a final local picture (the node's ``local.jsonl`` lines)
``picture.parquet``    track of a fused picture, ``tick`` true for the periodic ones (those are
                       ``picture.jsonl``); ``local`` and ``picture`` have the tracks format's fields
                       (``track_id``, ``x``...``vz`` m and m/s, ``cov`` as a list, ``quality``,
                       ``releasable_to``, ``sources``, ``class``...) as columns
``alerts.parquet``     alert update: its fields, nested objects flattened one level with ``_``
                       (``launch_lat``, ``impact_semi_major_m``...), lists of names as lists, other
                       nested values as JSON text
``clock.parquet``      ``advance``, ``tick`` and ``close`` record: ``kind``
=====================  ===========================================================================

A tracks line's own ``t`` and ``nation`` are the record's and are not repeated. A table with no
row is not written. The journal is read once and streamed: each table is spilled in batches of
rows and written (zstd) in row groups of bounded size, in bounded memory whatever the journal's
size (:func:`export_parquet`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skyweave.node.journal import JournalError, decode_scan, describe, open_reader

BASE = ("seq", "nation", "t", "wall")
TABLES = ("records", "detections", "frames", "verdicts", "local", "picture", "alerts", "clock")
#: the most rows a table holds in memory before they are spilled
BATCH_ROWS = 10_000
#: ... or the most journal body bytes behind them (B): a partner frame carries its bytes, a
#: fused picture's parsed tracks take about 4 times their text
BATCH_BYTES = 4_000_000
#: a Parquet row group gathers spilled batches up to this many rows...
ROW_GROUP_ROWS = 1_000_000
#: ... or this many bytes of Arrow data (B)
ROW_GROUP_BYTES = 64_000_000


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise JournalError("skyweave export parquet needs pyarrow: pip install 'skyweave[parquet]'") from None
    return pa, pq


class _Table:
    """One output table, streamed: rows are held as columns (a key first seen late is null in the
    rows before it) until ``batch_rows`` rows or about ``batch_bytes`` bytes of journal bodies,
    then converted to Arrow and spilled to an Arrow IPC file in ``spill`` (lz4), which frees them.

    Arrow infers each batch's types on its own; :meth:`write` then gives every column the type a
    single conversion of the whole column would have given it (pyarrow's "permissive" promotion:
    int64 with double is double, a list of nulls takes its partner's item type...) and a column
    whose values no one type holds (a string in one batch, a number in another) is JSON text, as
    it is within a batch (a batch's values there are those Arrow read back: a whole number in a
    batch of doubles reads ``1.0``, where one conversion of the column would give ``1``; no table
    of the journal has such a column); each spilled batch is read back, cast to that schema and
    written to the Parquet file. Memory: one batch per table, and one row group (:meth:`write`),
    whatever the journal's size.
    """

    def __init__(self, name: str, spill: Path, batch_rows: int, batch_bytes: int):
        self.name = name
        self.spill = spill
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.cols: dict[str, list] = {}
        self.n = 0             # rows held now
        self.nbytes = 0        # journal body bytes behind the rows held now
        self.rows = 0          # rows in all, spilled and held
        self.batches: list[tuple[Path, set[str]]] = []  # spilled file, its columns written as JSON text
        self.order: dict[str, None] = {}                 # every column, in order of first appearance
        self.types: dict[str, list] = {}                 # column: its type in each batch that has it
        self.as_json: set[str] = set()                   # columns that are JSON text in some batch

    def add(self, row: dict, nbytes: int = 0) -> None:
        for k, v in row.items():
            col = self.cols.get(k)
            if col is None:
                col = self.cols[k] = [None] * self.n
            col.append(v)
        self.n += 1
        for col in self.cols.values():
            if len(col) < self.n:
                col.append(None)
        self._grew(1, nbytes)

    def add_columns(self, base: dict, cols: dict[str, list], n: int, nbytes: int = 0) -> None:
        """``n`` rows at once: ``base`` repeated, ``cols`` one value per row."""
        for k in (*base, *cols):
            if k not in self.cols:
                self.cols[k] = [None] * self.n
        for k, col in self.cols.items():
            if k in base:
                col.extend([base[k]] * n)
            elif k in cols:
                col.extend(cols[k])
            else:
                col.extend([None] * n)
        self.n += n
        self._grew(n, nbytes)

    def _grew(self, n: int, nbytes: int) -> None:
        self.rows += n
        self.nbytes += nbytes
        if self.n >= self.batch_rows or self.nbytes >= self.batch_bytes:
            self.flush()

    def flush(self) -> None:
        """Spill the rows held (if any) as one Arrow IPC file."""
        if self.n == 0:
            return
        pa, _ = _pyarrow()
        arrays, as_json = {}, set()
        for k, col in self.cols.items():
            try:
                arrays[k] = pa.array(col)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed kinds of value: as JSON text
                arrays[k] = pa.array([None if v is None else json.dumps(v) for v in col], type=pa.string())
                as_json.add(k)
        table = pa.table(arrays)
        path = self.spill / f"{self.name}-{len(self.batches):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as w:
            w.write_table(table)
        self.batches.append((path, as_json))
        for f in table.schema:
            self.order.setdefault(f.name, None)
            self.types.setdefault(f.name, []).append(f.type)
        self.as_json |= as_json
        self.cols, self.n, self.nbytes = {}, 0, 0

    def schema(self):
        """The table's schema: each column's types over all batches promoted to one, JSON text where none holds them."""
        pa, _ = _pyarrow()
        fields = []
        for k in self.order:
            t = pa.string()
            if k not in self.as_json:
                try:
                    t = pa.unify_schemas([pa.schema([(k, ty)]) for ty in self.types[k]],
                                         promote_options="permissive").field(k).type
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    self.as_json.add(k)
            fields.append(pa.field(k, t))
        return pa.schema(fields)

    def write(self, path: Path) -> int:
        """Write the table to ``path`` (Parquet, zstd); returns its rows. Spilled batches are read
        back one by one and gathered into row groups of up to ``ROW_GROUP_ROWS`` rows or
        ``ROW_GROUP_BYTES`` bytes of Arrow data (zstd compresses large column chunks better)."""
        pa, pq = _pyarrow()
        self.flush()
        schema = self.schema()
        group: list = []
        rows = nbytes = 0
        with pq.ParquetWriter(path, schema, compression="zstd") as w:
            for spilled, as_json in self.batches:
                with pa.memory_map(str(spilled)) as src:
                    group.append(_conform(pa.ipc.open_file(src).read_all(), schema, self.as_json - as_json))
                spilled.unlink()
                rows += group[-1].num_rows
                nbytes += group[-1].nbytes
                if rows >= ROW_GROUP_ROWS or nbytes >= ROW_GROUP_BYTES:
                    w.write_table(pa.concat_tables(group), row_group_size=ROW_GROUP_ROWS)
                    group, rows, nbytes = [], 0, 0
            if group:
                w.write_table(pa.concat_tables(group), row_group_size=ROW_GROUP_ROWS)
        return self.rows


def _conform(batch, schema, to_json: set[str]):
    """``batch`` with ``schema``'s columns and types: a column it lacks is null, a column of
    ``to_json`` becomes JSON text of its values, any other is cast (int64 to double...)."""
    pa, _ = _pyarrow()
    arrays = []
    for f in schema:
        if f.name not in batch.column_names:
            arrays.append(pa.nulls(batch.num_rows, f.type))
            continue
        col = batch.column(f.name)
        if f.name in to_json:
            col = pa.array([None if v is None else json.dumps(v) for v in col.to_pylist()], type=pa.string())
        elif col.type != f.type:
            col = col.cast(f.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def _track_rows(base: dict, body: str, into: _Table) -> None:
    for line in body.splitlines():
        if not line:
            continue
        d = json.loads(line)
        d.pop("t", None)
        d.pop("nation", None)
        into.add({**base, **d}, len(line))


def _alert_row(base: dict, body: str) -> dict:
    row = dict(base)
    for k, v in json.loads(body).items():
        if k in base:
            k = f"alert_{k}"
        if isinstance(v, dict):
            for k2, v2 in v.items():
                row[f"{k}_{k2}"] = v2 if not isinstance(v2, (dict, list)) else json.dumps(v2)
        elif isinstance(v, list) and not all(isinstance(x, str) for x in v):
            row[k] = json.dumps(v)
        else:
            row[k] = v
    return row


def export_parquet(journal: str | Path, out: str | Path, *, progress: Callable[[int], None] | None = None,
                   batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES) -> dict:
    """Write ``journal`` (an SQLite file or a ``postgresql://`` URL) as Parquet files in ``out``
    (see the module docstring); returns ``{"files": {table: rows}, "records": n, "out": ...}``.
    ``progress(records)`` is called every 10,000 records.

    Streamed: the journal is read once, in sequence order, and each table holds at most
    ``batch_rows`` rows or ``batch_bytes`` bytes of journal bodies (B) before they are spilled
    (:class:`_Table`), so memory stays bounded whatever the journal's size; the spill files
    (``out/.skyweave-export-*``, about the Parquet files' size) are removed at the end.
    """
    if batch_rows < 1 or batch_bytes < 1:
        raise ValueError(f"export batch must be >= 1 row and >= 1 byte, got {batch_rows} rows, {batch_bytes} B")
    _pyarrow()
    out = Path(out)
    r = open_reader(journal)
    made = not out.exists()
    n, seq = 0, None
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".skyweave-export-", dir=out) as spill:
            tables = {name: _Table(name, Path(spill), batch_rows, batch_bytes) for name in TABLES}
            try:
                for seq, nation, kind, t, wall, subject, body in r.records():
                    n += 1
                    if progress is not None and n % 10_000 == 0:
                        progress(n)
                    _add_record(tables, seq, nation, kind, t, wall, subject, body)
            except (KeyError, TypeError, ValueError) as e:
                if isinstance(e, JournalError):
                    raise
                raise JournalError(f"{describe(journal)}: damaged record {seq} ({type(e).__name__}: {e})") from None
            finally:
                r.close()
            files = {}
            for name, tab in tables.items():
                path = out / f"{name}.parquet"
                path.unlink(missing_ok=True)  # a table with no row now: no stale file of an earlier export
                if tab.rows:
                    files[name] = tab.write(path)
    except JournalError:
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # nothing exported: leave no empty folder behind
        raise
    return {"files": files, "records": n, "out": str(out)}


def _add_record(tables: dict[str, _Table], seq, nation, kind, t, wall, subject, body) -> None:
    """One journal record's rows into ``tables`` (see the module docstring)."""
    base = {"seq": seq, "nation": nation, "t": t, "wall": wall}
    size = 0 if body is None else len(body.encode() if isinstance(body, str) else body)
    tables["records"].add({**base, "kind": kind, "subject": subject, "body_bytes": size})
    if kind == "scan":
        s = decode_scan(body)
        m = len(s)
        cols: dict[str, list] = {k: np.asarray(v, dtype=float).tolist() for k, v in s.cols.items()}
        cols["index"] = list(range(m))
        cols["line"] = np.asarray(s.lines).tolist() if len(s.lines) == m else [None] * m
        if s.identity is not None and len(s.identity) == m:
            cols["icao24"] = [None if i < 0 else "%06x" % i for i in np.asarray(s.identity).tolist()]
        platform = None if s.platform is None else np.asarray(s.platform, dtype=float).ravel().tolist()
        if m:
            tables["detections"].add_columns({**base, "t": s.t, "sensor": s.sensor, "sensor_kind": s.kind,
                                              "platform": platform}, cols, m, size)
    elif kind == "frame":
        toks = (subject or "").split(".")
        tables["frames"].add({**base, "subject": subject, "sender": toks[1] if len(toks) > 1 else None,
                              "recipient": toks[2] if len(toks) > 2 else None,
                              "message": toks[-1] if len(toks) > 3 else None,
                              "size": size, "data": None if body is None else bytes(body)}, size)
    elif kind == "verdict":
        d = json.loads(body)
        tables["verdicts"].add({**base, "admitted": d.get("admitted"), "reason": d.get("reason"),
                                "sender": d.get("sender"), "message": d.get("kind"), "items": d.get("items")}, size)
    elif kind == "local":
        _track_rows(base, body or "", tables["local"])
    elif kind == "fused":
        _track_rows({**base, "tick": subject == "tick"}, body or "", tables["picture"])
    elif kind == "alert":
        tables["alerts"].add(_alert_row(base, body), size)
    elif kind in ("advance", "tick", "fuse", "close"):
        tables["clock"].add({**base, "kind": kind})
