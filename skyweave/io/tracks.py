"""Streaming reader of truth.jsonl and tracks.jsonl grouped by time into arrays (docs/formats.md).

Both files hold one line per object per instant, in non-decreasing ``t``. :func:`iter_state_frames`
reads a file once, validates each line exactly as :func:`skyweave.io.formats.iter_state_lines`
does, and yields one :class:`StateFrame` per distinct time: the ids (as dense integers, named by
an :class:`IdRegistry`), the states as one array, and the covariances where lines carry ``cov``.
Only one instant is held at a time. Bad lines are reported as :class:`FormatError` into
``errors`` and skipped, so the good lines around them are kept; besides the line checks of
formats.py, a frame-level check reports a time going backwards, an id repeated within one
instant, and a line whose dimension (``z``/``vz`` or not) differs from the file's first good line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

from skyweave.core.errors import FormatError
from skyweave.io.formats import JSON_ERRORS, loads_json, validate_state_line

#: lines whose times differ by no more than this (s) belong to one instant
TIME_TOL = 1e-6


class IdRegistry:
    """Dense integer codes for string ids (first seen, first numbered); ``names[code]`` gives the id back."""

    def __init__(self):
        self.codes: dict[str, int] = {}
        self.names: list[str] = []

    def code(self, name: str) -> int:
        c = self.codes.get(name)
        if c is None:
            c = self.codes[name] = len(self.names)
            self.names.append(name)
        return c

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class StateFrame:
    """All lines of one instant: time ``t`` (s), integer ``ids`` (N,), ``states`` (N, 2 dims) in the
    field order x, y, (z), vx, vy, (vz) (m, m/s), ``covs`` (N, n, n) with NaN rows for lines without
    ``cov`` (None when no line of the instant has one), and the file ``lines`` they came from."""

    t: float
    ids: np.ndarray
    states: np.ndarray
    covs: np.ndarray | None
    lines: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)


def detect_dims(path: str | Path) -> int | None:
    """2 or 3 from the first line that parses as a JSON object with ``x`` (3 if it has ``z``); None if none does."""
    with open(path, "rb") as f:
        for text in f:
            if not text.strip():
                continue
            try:
                rec = loads_json(text)
            except JSON_ERRORS:
                continue
            if isinstance(rec, dict) and "x" in rec:
                return 3 if "z" in rec else 2
    return None


def iter_state_frames(path: str | Path, id_field: str, registry: IdRegistry, errors: list, dims: int | None = None,
                      stats: dict | None = None) -> Iterator[StateFrame]:
    """Stream one truth (``id_field='id'``) or tracks (``'track_id'``) file as one frame per instant.

    ``dims`` (2 or 3) fixes the state dimension; None takes it from the file's first line with a
    position. ``stats`` (a dict), when given, gets ``lines`` (good lines) and ``dims``.
    """
    path = Path(path)
    if dims is None:
        dims = detect_dims(path) or 2
    keys = ("x", "y", "z", "vx", "vy", "vz") if dims == 3 else ("x", "y", "vx", "vy")
    n = len(keys)
    get_state = itemgetter(*keys)
    codes = registry.codes
    if stats is not None:
        stats["dims"] = dims
        stats["lines"] = 0
    cur_t = None
    ids: list[int] = []
    seen: set[int] = set()
    rows: list[tuple] = []
    covs: list = []
    lines: list[int] = []
    any_cov = False
    good = 0
    nan_cov = [float("nan")] * (n * n)

    def frame():
        st = np.array(rows, dtype=float).reshape(len(rows), n)
        cv = np.array(covs, dtype=float).reshape(len(rows), n, n) if any_cov else None
        return StateFrame(cur_t, np.array(ids, dtype=np.int64), st, cv, np.array(lines, dtype=np.int64))

    with open(path, "rb") as f:
        for lineno, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                try:
                    rec = loads_json(text)
                except JSON_ERRORS as e:
                    raise FormatError(path, lineno, None, "one JSON object per line", str(e)[:60]) from None
                if isinstance(rec, dict) and dims == 2 and "z" in rec:
                    raise FormatError(path, lineno, "z", "no z in a 2-D file", rec["z"])
                validate_state_line(rec, path, lineno, id_field, dims)
                t = float(rec["t"])
                if cur_t is not None and t < cur_t - TIME_TOL:
                    raise FormatError(path, lineno, "t", f"non-decreasing time (the instant before was at {cur_t})", t)
                name = rec[id_field]
                code = codes.get(name)
                if code is None:
                    code = registry.code(name)
                if cur_t is not None and t <= cur_t + TIME_TOL and code in seen:
                    raise FormatError(path, lineno, id_field, f"one line per {id_field} per instant (t = {cur_t})",
                                      rec[id_field])
            except FormatError as e:
                errors.append(e)
                continue
            if cur_t is None or t > cur_t + TIME_TOL:
                if rows:
                    yield frame()
                cur_t = t
                ids, rows, covs, lines = [], [], [], []
                seen = set()
                any_cov = False
            seen.add(code)
            ids.append(code)
            rows.append(get_state(rec))
            c = rec.get("cov")
            if c is not None:
                any_cov = True
                covs.append(c)
            else:
                covs.append(nan_cov)
            lines.append(lineno)
            good += 1
            if stats is not None:
                stats["lines"] = good
    if rows:
        yield frame()
