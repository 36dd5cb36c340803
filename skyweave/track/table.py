"""The track table: every track of a tracker as columns of numpy arrays (struct of arrays).

Scalar columns (one entry per track) and the estimator's state arrays (leading axis = track)
live side by side; selecting, appending and copying act on all of them at once, so no Python
object exists per track.
"""

from __future__ import annotations

import numpy as np

#: scalar columns and their dtypes
COLUMNS = {
    "key": np.int64,        # internal serial number (tentative and confirmed)
    "id": np.int64,         # output track number once confirmed (-1 before)
    "t": np.float64,        # time of the state (s)
    "status": np.int8,      # 0 tentative, 1 confirmed
    "hits": np.int32,       # detections associated so far
    "opps": np.int32,       # detection opportunities (scans that covered the track)
    "hist": np.uint32,      # hit (1) / miss (0) bits of the last 32 opportunities, newest lowest
    "miss_run": np.int32,   # consecutive missed opportunities
    "score": np.float64,    # log-likelihood-ratio track score (Blackman & Popoli 1999, §6.2)
    "score_max": np.float64,
    "born": np.float64,     # time of the first detection (s)
    "t_hit": np.float64,    # time of the last associated detection (s)
    "revisit": np.float64,  # smoothed interval between detections (s)
    "identity": np.int64,   # a cooperative identity (ICAO 24-bit address), -1 unknown
    "sensors": np.uint64,   # bit set of the sensors (by index) that have updated the track
}
TENTATIVE, CONFIRMED = 0, 1


class TrackTable:
    """Columns ``cols`` (name -> (N,) array) and estimator state ``state`` (name -> (N, ...) array)."""

    __slots__ = ("cols", "state")

    def __init__(self, cols: dict, state: dict):
        self.cols = cols
        self.state = state

    @classmethod
    def empty(cls, estimator) -> "TrackTable":
        n = estimator.n
        st = estimator.new(np.zeros((0, n)), np.zeros((0, n, n)))
        return cls({k: np.zeros(0, dtype=v) for k, v in COLUMNS.items()}, st)

    def __len__(self) -> int:
        return len(self.cols["key"])

    def __getattr__(self, name):
        try:
            return self.cols[name]
        except KeyError:
            raise AttributeError(name) from None

    def copy(self) -> "TrackTable":
        return TrackTable({k: v.copy() for k, v in self.cols.items()}, {k: v.copy() for k, v in self.state.items()})

    def take(self, idx) -> "TrackTable":
        return TrackTable({k: v[idx] for k, v in self.cols.items()}, {k: v[idx] for k, v in self.state.items()})

    def extend(self, other: "TrackTable") -> "TrackTable":
        if len(other) == 0:
            return self
        return TrackTable(
            {k: np.concatenate([v, other.cols[k]]) for k, v in self.cols.items()},
            {k: np.concatenate([v, other.state[k]]) for k, v in self.state.items()},
        )

    @classmethod
    def new(cls, state: dict, **cols) -> "TrackTable":
        n = len(next(iter(state.values())))
        out = {}
        for k, dt in COLUMNS.items():
            v = cols.get(k, 0)
            if isinstance(v, np.ndarray) and v.shape == (n,):
                out[k] = v.astype(dt, copy=True)
            else:
                out[k] = np.full(n, v, dtype=dt)
        return cls(out, state)
