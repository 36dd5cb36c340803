"""File sinks: a node's events written in the formats of docs/formats.md.

- :class:`TracksFile`: :class:`~skyweave.node.events.LocalPicture` events as tracks.jsonl
  (``skyweave track``'s output, a node's ``local.jsonl``);
- :class:`PictureFile`: the periodic :class:`~skyweave.node.events.PictureFused` events as a
  node's ``picture.jsonl`` (network track numbers as ``track_id``);
- :class:`AlertsFile`: :class:`~skyweave.node.events.AlertUpdated` events as alerts.jsonl.

Each is lossless (``may_drop = False``): it has written an event (to its buffer) when ``handle``
returns, and flushes on ``close``. Its folder is created. ``every`` (s) gives an output period for
sources whose every message has its own time (ADS-B, plot-by-plot radar): only the first picture
of each period is written; ``None`` keeps the contract of one picture per distinct detection time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from skyweave.io.writers import format_tracks
from skyweave.node.events import AlertUpdated, Event, LocalPicture, PictureFused


def _open(path: str | Path):
    p = Path(path)
    if p.parent != Path(""):
        p.parent.mkdir(parents=True, exist_ok=True)
    return open(p, "w", buffering=1 << 20)


class _Period:
    """Passes the first time of each ``every``-second period (all times when ``every`` is None)."""

    def __init__(self, every: float | None):
        if every is not None and not every > 0:
            raise ValueError(f"output period must be > 0 s, got {every}")
        self.every = every
        self._last: float | None = None

    def __call__(self, t: float) -> bool:
        if self.every is None:
            return True
        k = math.floor(t / self.every)
        if self._last is not None and k <= self._last:
            return False
        self._last = k
        return True


def local_extras(frame, nation: str | None, marks) -> list[str]:
    """Extra JSON fields of each track line: ``icao24`` where known, and for a national node its
    ``nation``, ``releasable_to`` and ``sources``."""
    out = []
    idents = frame.identity.tolist()
    if marks is None:
        for ident in idents:
            e = ', "icao24": "%06x"' % ident if ident >= 0 else ""
            if nation:
                e += ', "nation": "%s"' % nation
            out.append(e)
        return out
    for tid, ident, mark in zip(frame.ids, idents, marks):
        e = ', "nation": "%s", "releasable_to": %s, "sources": ["%s:%s"]' % (nation, json.dumps(list(mark)), nation, tid)
        if ident >= 0:
            e += ', "icao24": "%06x"' % ident
        out.append(e)
    return out


def frame_text(fr, dims: int, with_cov: bool = True, nation: str | None = None, marks=None) -> str:
    """A tracker frame as tracks.jsonl lines (see :func:`local_extras` for the extra fields)."""
    return format_tracks(fr.t, fr.ids, fr.x, fr.P if with_cov else None, dims, fr.quality,
                         local_extras(fr, nation, marks))


class TracksFile:
    """Writes each :class:`LocalPicture` as tracks.jsonl lines; counts frames, lines and track ids.

    ``nation`` labels the lines of a picture that carries no nation of its own (``skyweave warn``).
    """

    may_drop = False

    def __init__(self, path: str | Path, dims: int, *, with_cov: bool = True, every: float | None = None,
                 nation: str | None = None):
        self.path = Path(path)
        self.dims = dims
        self.with_cov = with_cov
        self.nation = nation
        self._due = _Period(every)
        self._f = _open(self.path)
        self.frames = 0
        self.lines = 0
        self.ids: set[str] = set()

    def handle(self, event: Event) -> None:
        if not isinstance(event, LocalPicture) or event.snapshot or not len(event.frame):
            return
        fr = event.frame
        if not self._due(fr.t):
            return
        self.frames += 1
        self.lines += len(fr)
        self.ids.update(fr.ids)
        self._f.write(frame_text(fr, self.dims, self.with_cov, event.nation or self.nation, event.marks))

    def close(self) -> None:
        self._f.close()


def fused_text(fused, nation: str, dims: int) -> str:
    """A fused picture as picture.jsonl lines: network track numbers as ids (an unnumbered one is
    ``NATION-local-`` and a source key: its first partner's, else its own, an id that lasts as
    long as that source does; the node's own tracks come and go more often than a partner's
    report of the object) and ``nation``, ``releasable_to``, ``sources``, ``class``,
    ``reporting``."""
    ids, extra = [], []
    rel, src = fused.releasable_to, fused.sources
    own = f"{nation}:"
    for i in range(len(fused)):
        ntn = str(fused.ntn[i])
        if not ntn:
            ntn = f"{nation}-local-" + next((k for k in src[i] if not k.startswith(own)), src[i][0])
        ids.append(ntn)
        e = ', "nation": "%s", "releasable_to": %s, "sources": %s, "class": "%s", "reporting": %s' % (
            nation, json.dumps(list(rel[i])), json.dumps(list(src[i])), fused.cls[i],
            "true" if fused.responsible[i] else "false")
        if 0 <= fused.identity[i] < (1 << 24):
            e += ', "icao24": "%06x"' % fused.identity[i]
        extra.append(e)
    return format_tracks(fused.t, ids, fused.x, fused.P, dims, fused.quality, extra)


class PictureFile:
    """Writes each periodic :class:`PictureFused` (``tick``) as tracks.jsonl lines with network
    track numbers as ids and ``nation``, ``releasable_to``, ``sources``, ``class``, ``reporting``."""

    may_drop = False

    def __init__(self, path: str | Path, dims: int, *, every: float | None = None):
        self.path = Path(path)
        self.dims = dims
        self._due = _Period(every)
        self._f = _open(self.path)
        self.frames = 0

    def handle(self, event: Event) -> None:
        if not isinstance(event, PictureFused) or not event.tick or event.snapshot:
            return
        fused = event.picture
        if len(fused) == 0 or not self._due(fused.t):
            return
        self._f.write(fused_text(fused, event.nation, self.dims))
        self.frames += 1

    def close(self) -> None:
        self._f.close()


class AlertsFile:
    """Writes each :class:`AlertUpdated` as one alerts.jsonl line."""

    may_drop = False

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._f = _open(self.path)
        self.updates = 0

    def handle(self, event: Event) -> None:
        if isinstance(event, AlertUpdated) and not event.snapshot:
            self._f.write(json.dumps(event.record.to_dict()) + "\n")
            self.updates += 1

    def close(self) -> None:
        self._f.close()
