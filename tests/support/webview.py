"""Shared helpers of the web tests: a hand-made fused picture, a node's sensor set, a server."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from skyweave.core.model import Origin, SensorSet, SensorSpec
from skyweave.node.events import AlertUpdated, PictureFused
from skyweave.warn.alerts import AlertUpdate, Impact, Launch

ORIGIN = Origin(37.5, 134.0, 0.0)
PASSWORD = "correct-horse-1"


class FakePicture:
    """A FusedPicture's fields the view reads, for tracks given as (id, east, north, up, marking, sources, class, identity)."""

    def __init__(self, t, rows):
        self.t = float(t)
        n = len(rows)
        self.ntn = np.array([r[0] for r in rows], dtype="<U20")
        self.x = np.zeros((n, 6))
        self.P = np.tile(np.diag([400.0 ** 2, 200.0 ** 2, 100.0 ** 2, 25.0, 25.0, 4.0]), (n, 1, 1))
        for i, r in enumerate(rows):
            self.x[i, :3] = r[1:4]
            self.x[i, 3:] = (200.0, 50.0, 0.0)
        self._rel = [tuple(r[4]) for r in rows]
        self._src = [tuple(r[5]) for r in rows]
        self.cls = np.array([r[6] for r in rows], dtype="<U12")
        self.class_conf = np.full(n, 0.9)
        self.identity = np.array([r[7] for r in rows], dtype=np.int64)
        self.quality = np.full(n, 12)
        self.responsible = np.ones(n, dtype=bool)

    def __len__(self):
        return len(self.ntn)

    @property
    def dims(self):
        return 3

    @property
    def releasable_to(self):
        return self._rel

    @property
    def sources(self):
        return self._src


def sensor_set() -> SensorSet:
    def spec(sid, nation, rel):
        return SensorSpec(id=sid, nation=nation, kind="radar", x=0.0, y=0.0, z=0.0, releasable_to=tuple(rel),
                          lat=38.0, lon=138.0, max_range_m=400000.0)

    return SensorSet(epoch=datetime(2024, 4, 10, tzinfo=timezone.utc), origin=ORIGIN,
                     sensors=(spec("JPN-R1", "JPN", ["JPN", "USA"]), spec("USA-DDG1", "USA", ["USA", "JPN"]),
                              spec("USA-SECRET", "USA", ["USA"])))


#: a shared track, a civil airliner, and one releasable to the USA alone (it must never reach JPN)
ROWS = [
    ("JPN-N00001", 10000.0, 20000.0, 9000.0, ["JPN", "USA"], ["JPN:JPN-1", "USA:USA-4"], "aircraft", -1),
    ("JPN-N00002", -30000.0, 5000.0, 10600.0, ["AUS", "GBR", "JPN", "USA"], ["JPN:JPN-2"], "aircraft", 0x86A5B2),
    ("USA-N00077", 50000.0, 60000.0, 40000.0, ["USA"], ["USA:USA-9"], "ballistic", -1),
]


def fused(t=100.0, rows=ROWS, nation="JPN") -> PictureFused:
    return PictureFused(t, FakePicture(t, rows), nation, tick=True)


def alert(alert_id="JPN-W1", rel=("JPN", "USA"), t=120.0, tti=200.0) -> AlertUpdated:
    rec = AlertUpdate(t=t, alert_id=alert_id, threat="ballistic", status="tracking",
                      launch=Launch(lat=39.0, lon=125.8, t=60.0, source="infrared"),
                      impact=Impact(lat=37.9, lon=132.0, t=t + tti, semi_major_m=5000.0, semi_minor_m=1500.0,
                                    orientation_deg=100.0, sigma_t_s=10.0),
                      time_to_impact_s=tti, places=("Oki Islands",), confidence=0.99, releasable_to=tuple(rel),
                      sources=("JPN-R1", "USA-DDG1"))
    return AlertUpdated(t, rec, "JPN")
