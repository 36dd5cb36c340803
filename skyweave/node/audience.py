"""Per-recipient estimates: one tracker and warner per releasability audience (issue 12,
docs/fusion.md "Who reports what to whom", docs/warning.md "Joint alerts").

A node sends each partner the best estimate of each object that partner may see. Its main
tracker uses every one of its sensors, so a track one of them updated carries that sensor's
marking for life: in the trilateral, a Japanese track that radar R1 (REL TO JPN, USA) ever
updated may never go to Australia, even when R2, R3 and ADS-B (releasable to Australia) see the
same aircraft. So for each partner p the node runs the tracker over exactly its sensors releasable
to p (its *audience* sensors), and reports to p from that tracker:

- partners whose audience sensors are all the node's air sensors are served by the main tracker
  (no extra cost);
- partners with the same audience sensors share one extra tracker;
- a partner to whom no air sensor is releasable gets no track reports;
- an audience that may not see every sensor (air or infrared) also has a missile warner of its
  own, made by :class:`~skyweave.node.core.NodeCore`, whose alerts are made only from what its
  partners may see (the USA's for the UK: its ship's radar, without the space-based infrared).

Each audience track is tied to the main track of the same object by the detections they share:
after every scan, tracks of the two trackers updated by the same measurement are the same object
(:attr:`~skyweave.track.tracker.Tracker.hits`, GNN). A track not tied that way (JPDA, or one the
main tracker has not confirmed yet) is tied to the nearest main track within a 3σ gate. The tie
gives the audience track its network number and its fused group (the fuser decides
responsibility per recipient on it).

Numerical state only: no I/O. :class:`~skyweave.node.core.NodeCore` feeds it every own scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.track.config import TrackerConfig
from skyweave.track.sensors import build_scan
from skyweave.track.tracker import Frame, Tracker

__all__ = ["Audience", "AudienceSet", "AudienceView", "marking"]


def marking(sensor_bits: int, sensor_marks: dict[int, tuple[str, ...]], nation: str) -> tuple[str, ...]:
    """A track's releasability: the intersection of the markings of the sensors that updated it
    (``sensor_bits``: bit ``i % 64`` set for sensor index i), always including ``nation``."""
    sets = [set(m) for i, m in sensor_marks.items() if sensor_bits >> (i % 64) & 1]
    if not sets:
        return (nation,)
    return tuple(sorted(set.intersection(*sets) | {nation}))

#: a tie by position holds within this many standard deviations (3-D position, chi-square 3 dof)
_TIE_GATE_D2 = 16.3


@dataclass(frozen=True, eq=False)
class AudienceView:
    """One audience's tracks now, tied to the main picture: ``pic`` (the audience tracker's
    picture; the main one for the main audience), ``main_index`` (J,) each track's main track
    index in the main picture (-1: not tied), ``marks`` (J,) each track's marking."""

    partners: tuple[str, ...]
    pic: Frame
    main_index: np.ndarray
    marks: list[tuple[str, ...]]


class Audience:
    """The node's sensors releasable to ``partners``: air sensors ``sensor_ids`` and infrared
    sensors ``ir_ids``; their tracker (None: the main one) and their missile warner (None: the
    main one, set by the node core when it warns)."""

    def __init__(self, partners: tuple[str, ...], sensor_ids: frozenset, tracker: Tracker | None, nation: str,
                 ir_ids: frozenset = frozenset(), label: str = ""):
        self.partners = partners
        self.sensor_ids = sensor_ids
        self.ir_ids = ir_ids
        self.tracker = tracker
        self.nation = nation
        self.label = label            # "<NATION>-A<k>": its tracker's and warner's id prefix
        self.warner = None
        self.own_warner = False       # it warns apart from the main warner (set by AudienceSet)
        self.lineage: dict[int, int] = {}   # audience track key -> main track key
        self._marks = ({info.index: tuple(info.releasable_to) for info in tracker.sensors.values()}
                       if tracker is not None else None)

    @property
    def is_main(self) -> bool:
        return self.tracker is None


class AudienceSet:
    """A node's audiences over its own sensors ``own`` (sensor specs) for ``partners``.

    ``main``: the node's main tracker; ``config``: its tracker configuration (each extra tracker
    uses it with the id prefix ``<NATION>-A<k>``). An audience with every air sensor but not
    every infrared one uses the main tracker and a warner of its own (``own_warner``)."""

    def __init__(self, main: Tracker, own, dims: int, frame, config: TrackerConfig, nation: str,
                 partners: tuple[str, ...]):
        self.main = main
        self.nation = nation
        self.frame = frame
        air = [s for s in own if s.kind != "ir"]
        irs = [s for s in own if s.kind == "ir"]
        all_air = frozenset(s.id for s in air)
        all_ir = frozenset(s.id for s in irs)
        by_set: dict[tuple, list[str]] = {}
        for p in partners:
            if p == nation:
                continue
            ids = frozenset(s.id for s in air if p in set(s.releasable_to))
            ir_ids = frozenset(s.id for s in irs if p in set(s.releasable_to))
            if ids or ir_ids:
                by_set.setdefault((ids, ir_ids), []).append(p)
        self.audiences: list[Audience] = []
        self.of: dict[str, Audience] = {}
        k = 0
        order = sorted(by_set.items(), key=lambda kv: (kv[0] != (all_air, all_ir), kv[0][0] != all_air,
                                                        sorted(kv[0][0]), sorted(kv[0][1])))
        extra = 0
        for (ids, ir_ids), ps in order:
            if ids == all_air and ir_ids == all_ir:
                aud = Audience(tuple(sorted(ps)), ids, None, nation, ir_ids)
            else:
                k += 1
                label = f"{nation}-A{k}"
                tracker = None
                if ids != all_air:
                    subset = [s for s in own if s.id in ids or s.id in ir_ids]
                    tracker = Tracker(subset, dims, frame, config.with_(id_prefix=label))
                    extra += 1
                aud = Audience(tuple(sorted(ps)), ids, tracker, nation, ir_ids, label)
                aud.own_warner = True
            self.audiences.append(aud)
            for p in ps:
                self.of[p] = aud
        self.stats = {"extra_trackers": extra, "extra_warners": k}

    @property
    def extra(self) -> list[Audience]:
        """The audiences with a tracker of their own."""
        return [a for a in self.audiences if a.tracker is not None]

    @property
    def warned(self) -> list[Audience]:
        """The audiences with a warner of their own (once the node core made it)."""
        return [a for a in self.audiences if a.warner is not None]

    def process(self, raw, main_hits) -> dict[int, object]:
        """Feed an own scan (a RawScan) to every extra tracker that owns its sensor, then tie
        their tracks to the main tracker's by shared detections (``main_hits``: the main
        tracker's :attr:`~skyweave.track.tracker.Tracker.hits` for this scan). Returns the scan
        each audience's tracker took, by ``id(audience)``."""
        took = {}
        for aud in self.extra:
            info = aud.tracker.sensors.get(raw.sensor)
            if info is None or info.kind == "ir" or raw.sensor not in aud.sensor_ids:
                continue
            scan = build_scan(info, raw.t, raw.cols, self.frame, raw.identity, raw.platform, raw.lines)
            aud.tracker.process(scan)
            for _ in aud.tracker.ready_frames():   # its frames are not written anywhere
                pass
            self._tie(aud, main_hits, aud.tracker.hits)
            took[id(aud)] = scan
        return took

    @staticmethod
    def _tie(aud: Audience, main_hits, hits) -> None:
        main_of = {(s, t): (k, m) for s, t, k, m in main_hits}
        for s, t, keys, meas in hits:
            mk = main_of.get((s, t))
            if mk is None or len(keys) == 0:
                continue
            mkeys, mmeas = mk
            if len(mkeys) == 0:
                continue
            order = np.argsort(mmeas)
            pos = np.searchsorted(mmeas[order], meas)
            pos = np.minimum(pos, len(order) - 1)
            same = mmeas[order][pos] == meas
            for a, m in zip(keys[same].tolist(), mkeys[order][pos][same].tolist()):
                aud.lineage[a] = m

    def views(self, main_pic: Frame, main_marks: list[tuple[str, ...]]) -> list[AudienceView]:
        """Every audience's tracks now, tied to ``main_pic`` (the main tracker's picture), with
        their markings (``main_marks``: the main picture's)."""
        out = []
        for aud in self.audiences:
            if aud.is_main:
                out.append(AudienceView(aud.partners, main_pic, np.arange(len(main_pic)), main_marks))
                continue
            if not aud.sensor_ids:   # infrared only: no tracks to report
                continue
                continue
            pic = aud.tracker.picture()
            idx = self._main_index(aud, pic, main_pic)
            out.append(AudienceView(aud.partners, pic, idx, self._marks(aud, pic)))
        return out

    def _marks(self, aud: Audience, pic: Frame) -> list[tuple[str, ...]]:
        return [marking(int(b), aud._marks, self.nation) for b in pic.sensors.tolist()]

    def _main_index(self, aud: Audience, pic: Frame, main_pic: Frame) -> np.ndarray:
        J = len(pic)
        idx = np.full(J, -1, dtype=np.intp)
        if J == 0 or len(main_pic) == 0:
            aud.lineage = {k: v for k, v in aud.lineage.items() if k in set(pic.keys.tolist())}
            return idx
        main_pos = {k: i for i, k in enumerate(main_pic.keys.tolist())}
        keys = pic.keys.tolist()
        for j, k in enumerate(keys):
            m = aud.lineage.get(k)
            if m is not None:
                idx[j] = main_pos.get(m, -1)
        # forget ties of tracks that are gone
        live = set(keys)
        aud.lineage = {k: v for k, v in aud.lineage.items() if k in live}
        loose = np.flatnonzero(idx < 0)
        if len(loose):
            idx[loose] = _nearest(pic, loose, main_pic)
            for j in loose[idx[loose] >= 0].tolist():
                aud.lineage[keys[j]] = int(main_pic.keys[idx[j]])
        return idx


def _nearest(pic: Frame, rows: np.ndarray, main_pic: Frame) -> np.ndarray:
    """For the audience tracks ``rows``: the nearest main track (position, both carried to the
    main picture's time at constant velocity) within the 3σ gate of their summed position
    covariances, -1 if none."""
    from scipy.spatial import cKDTree

    d = pic.x.shape[1] // 2
    dt = main_pic.t - pic.t
    pa = pic.x[rows, :d] + dt * pic.x[rows, d:]
    pm = main_pic.x[:, :d]
    tree = cKDTree(pm)
    k = min(4, len(main_pic))
    _, cand = tree.query(pa, k=k)
    cand = np.asarray(cand).reshape(len(rows), k)
    out = np.full(len(rows), -1, dtype=np.intp)
    for r, j in enumerate(rows.tolist()):
        best, best_d2 = -1, _TIE_GATE_D2
        for c in cand[r].tolist():
            S = pic.P[j, :d, :d] + main_pic.P[c, :d, :d]
            y = pa[r] - pm[c]
            try:
                d2 = float(y @ np.linalg.solve(S, y))
            except np.linalg.LinAlgError:
                continue
            if d2 < best_d2:
                best, best_d2 = c, d2
        out[r] = best
    return out
