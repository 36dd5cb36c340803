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
row is not written. Each table is built in memory, then written (zstd).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skyweave.node.journal import JournalError, decode_scan, describe, open_reader

BASE = ("seq", "nation", "t", "wall")
TABLES = ("records", "detections", "frames", "verdicts", "local", "picture", "alerts", "clock")


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise JournalError("skyweave export parquet needs pyarrow: pip install 'skyweave[parquet]'") from None
    return pa, pq


class _Table:
    """Rows of one output table, as columns (a key first seen late is null in the rows before it)."""

    def __init__(self, name: str):
        self.name = name
        self.cols: dict[str, list] = {}
        self.n = 0

    def add(self, row: dict) -> None:
        for k, v in row.items():
            col = self.cols.get(k)
            if col is None:
                col = self.cols[k] = [None] * self.n
            col.append(v)
        self.n += 1
        for col in self.cols.values():
            if len(col) < self.n:
                col.append(None)

    def add_columns(self, base: dict, cols: dict[str, list], n: int) -> None:
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

    def arrow(self):
        pa, _ = _pyarrow()
        arrays = {}
        for k, col in self.cols.items():
            try:
                arrays[k] = pa.array(col)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds of value: as JSON text
                arrays[k] = pa.array([None if v is None else json.dumps(v) for v in col], type=pa.string())
        return pa.table(arrays)


def _track_rows(base: dict, body: str, into: _Table) -> None:
    for line in body.splitlines():
        if not line:
            continue
        d = json.loads(line)
        d.pop("t", None)
        d.pop("nation", None)
        into.add({**base, **d})


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


def export_parquet(journal: str | Path, out: str | Path, *, progress: Callable[[int], None] | None = None) -> dict:
    """Write ``journal`` (an SQLite file or a ``postgresql://`` URL) as Parquet files in ``out``
    (see the module docstring); returns ``{"files": {table: rows}, "records": n, "out": ...}``.
    ``progress(records)`` is called every 10,000 records."""
    pa, pq = _pyarrow()
    out = Path(out)
    r = open_reader(journal)
    tables = {name: _Table(name) for name in TABLES}
    n, seq = 0, None
    try:
        for seq, nation, kind, t, wall, subject, body in r.records():
            n += 1
            if progress is not None and n % 10_000 == 0:
                progress(n)
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
                                                      "platform": platform}, cols, m)
            elif kind == "frame":
                toks = (subject or "").split(".")
                tables["frames"].add({**base, "subject": subject, "sender": toks[1] if len(toks) > 1 else None,
                                      "recipient": toks[2] if len(toks) > 2 else None,
                                      "message": toks[-1] if len(toks) > 3 else None,
                                      "size": size, "data": None if body is None else bytes(body)})
            elif kind == "verdict":
                d = json.loads(body)
                tables["verdicts"].add({**base, "admitted": d.get("admitted"), "reason": d.get("reason"),
                                        "sender": d.get("sender"), "message": d.get("kind"), "items": d.get("items")})
            elif kind == "local":
                _track_rows(base, body or "", tables["local"])
            elif kind == "fused":
                _track_rows({**base, "tick": subject == "tick"}, body or "", tables["picture"])
            elif kind == "alert":
                tables["alerts"].add(_alert_row(base, body))
            elif kind in ("advance", "tick", "close"):
                tables["clock"].add({**base, "kind": kind})
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, JournalError):
            raise
        raise JournalError(f"{describe(journal)}: damaged record {seq} ({type(e).__name__}: {e})") from None
    finally:
        r.close()
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, tab in tables.items():
        path = out / f"{name}.parquet"
        path.unlink(missing_ok=True)  # a table with no row now: no stale file of an earlier export
        if tab.n == 0:
            continue
        pq.write_table(tab.arrow(), path, compression="zstd")
        files[name] = tab.n
    return {"files": files, "records": n, "out": str(out)}
