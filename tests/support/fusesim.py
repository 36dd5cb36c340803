"""A small simulated coalition for tests and benchmarks of fusion: no tracker, no bus, no I/O.

Test support, not shipped with the package (it was ``skyweave.fuse.testing``): import it as
``tests.support.fusesim`` from the repository root.

- :func:`cv_truth`: targets in straight lines (positions and velocities at any time, m and m/s).
- :class:`SimNation`: one nation's local tracker stand-in: a subset of the targets, each seen
  as truth plus Gaussian error of the nation's covariance, optionally correlated in time
  (first-order Gauss-Markov, so consecutive pictures are not independent draws).
- :class:`SimNetwork`: one :class:`~skyweave.fuse.fuser.Fuser` per nation; at each step every
  node fuses its own tracks with the partner reports that have *arrived*, then publishes the
  local tracks its picture says to report (with their NTN), each delivered to every partner after
  a random delay (so reports arrive late and out of order); a receiver keeps the newest report
  per partner track. A node that stops reporting a track sends an end-of-report (a TrackReport
  with status ``deleted`` on a real network) and the receivers drop that track's last report
  (and ignore older reports of it that arrive later).
  A muted node stops publishing anything (it falls silent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyweave.fuse import FusedPicture, Fuser, FuserConfig, TrackSet
from skyweave.track.management import track_quality

__all__ = ["cv_truth", "SimNation", "SimNetwork", "time_update", "encounter_study"]


def cv_truth(p0: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
    """States (N, 2d) [p, v] at time t (s) of targets at positions p0 (N, d) (m) at t = 0 moving at v (N, d) (m/s)."""
    return np.concatenate([p0 + v * t, v], axis=1)


@dataclass
class SimNation:
    """One nation's picture of a subset of the targets (``targets``: their indices) with error covariance ``P`` (2d, 2d).

    ``tau_s``: correlation time of the errors (s); 0 draws them afresh at every picture.
    ``releasable_to``: the marking of every track it reports. ``quality``: the track quality it
    claims (0-15), when set; otherwise the quality of ``P``.
    """

    nation: str
    targets: np.ndarray
    P: np.ndarray
    releasable_to: tuple = ()
    tau_s: float = 0.0
    seed: int = 0
    quality: int | None = None
    _err: np.ndarray | None = field(default=None, repr=False)
    _t: float | None = field(default=None, repr=False)

    def __post_init__(self):
        self.targets = np.asarray(self.targets, dtype=np.intp)
        self._rng = np.random.default_rng(self.seed)
        self._L = np.linalg.cholesky(self.P)

    def tracks(self, truth: np.ndarray, t: float, visible: np.ndarray | None = None) -> TrackSet:
        """Its local tracks at time t (s): ids ``"<nation>-T<target>"``; ``visible`` (N,) masks targets in view."""
        n = self.P.shape[0]
        fresh = self._rng.standard_normal((len(self.targets), n)) @ self._L.T
        if self._err is None or self.tau_s <= 0 or self._t is None:
            self._err = fresh
        else:
            a = np.exp(-(t - self._t) / self.tau_s)
            self._err = a * self._err + np.sqrt(max(1.0 - a * a, 0.0)) * fresh
        self._t = t
        sel = np.ones(len(self.targets), dtype=bool) if visible is None else visible[self.targets]
        tg = self.targets[sel]
        if len(tg) == 0:
            return TrackSet.empty(n // 2)
        P = np.broadcast_to(self.P, (len(tg), n, n)).copy()
        return TrackSet.from_lists(
            nation=self.nation, local_id=[f"{self.nation}-T{i}" for i in tg.tolist()], t=t, x=truth[tg] + self._err[sel],
            P=P, quality=track_quality(P[:, : n // 2, : n // 2]) if self.quality is None else self.quality,
            releasable_to=self.releasable_to,
        )


class SimNetwork:
    """Nodes that fuse and exchange reports with random delays (see the module docstring).

    ``delay_s``: (low, high) of the uniform delivery delay (s); ``late_p``: probability that a
    report is held back by a further ``late_s`` (s).
    """

    def __init__(self, nations: list[SimNation], config: FuserConfig | None = None, *, delay_s=(0.0, 0.5),
                 late_p: float = 0.0, late_s: float = 3.0, seed: int = 0):
        self.nations = {n.nation: n for n in nations}
        self.fusers = {n.nation: Fuser(n.nation, config) for n in nations}
        self.delay_s = delay_s
        self.late_p = late_p
        self.late_s = late_s
        self.rng = np.random.default_rng(seed)
        self.in_flight: list[tuple[float, int, str, TrackSet, bool]] = []  # (arrival t, seq, recipient, one report, ended)
        self.inbox: dict[str, dict[str, TrackSet]] = {n: {} for n in self.nations}
        self.ended: dict[str, dict[str, float]] = {n: {} for n in self.nations}   # key → time of its end-of-report
        self.pictures: dict[str, FusedPicture] = {}
        self.local: dict[str, TrackSet] = {}
        self.muted: set[str] = set()
        self.sent = 0
        self._seq = 0

    def _deliver(self, t: float) -> None:
        keep = []
        for item in sorted(self.in_flight, key=lambda r: (r[0], r[1])):
            arrive, _, to, rep, ended = item
            if arrive > t:
                keep.append(item)
                continue
            box, gone = self.inbox[to], self.ended[to]
            k = str(rep.keys[0])
            tk = float(rep.t[0])
            if ended:
                if tk >= gone.get(k, -np.inf):
                    gone[k] = tk
                if k in box and box[k].t[0] <= tk:
                    del box[k]
            elif (k not in box or box[k].t[0] <= tk) and tk > gone.get(k, -np.inf):
                box[k] = rep
        self.in_flight = keep

    def step(self, t: float, truth: np.ndarray, visible: np.ndarray | None = None, order=None) -> dict[str, FusedPicture]:
        """One picture at every node at time t (s), in ``order`` (default: random), then publication."""
        self._deliver(t)
        names = list(self.nations) if order is None else list(order)
        if order is None:
            self.rng.shuffle(names)
        for name in names:
            local = self.nations[name].tracks(truth, t, visible)
            box = self.inbox[name]
            remote = TrackSet.concat(list(box.values())) if box else TrackSet.empty(local.dims)
            pic = self.fusers[name].update(t, local, remote)
            self.pictures[name] = pic
            self.local[name] = local
            if name in self.muted:
                continue
            send = np.flatnonzero(pic.local_report | pic.local_stopped)
            out = local.take(send).with_ntn(pic.local_ntn[send])
            for i in range(len(out)):
                one = out.take([i])
                ended = bool(pic.local_stopped[send[i]])
                for to in self.nations:
                    if to == name or to not in set(one.releasable_to[0]):
                        continue
                    delay = self.rng.uniform(*self.delay_s)
                    if self.rng.random() < self.late_p:
                        delay += self.late_s
                    self._seq += 1
                    self.in_flight.append((t + delay, self._seq, to, one, ended))
                    self.sent += 1
        return self.pictures

    def ntn_of_target(self, name: str) -> dict[int, set[str]]:
        """At node ``name``: target index → the NTNs of the fused tracks holding a track of that target."""
        pic = self.pictures[name]
        out: dict[int, set[str]] = {}
        for ntn, srcs in zip(pic.ntn.tolist(), pic.sources):
            for s in srcs:
                tg = int(s.rsplit("-T", 1)[1])
                out.setdefault(tg, set()).add(ntn)
        return out

    def agreement(self) -> bool:
        """True when every node shows each target it has under exactly one number, all nodes show
        the same numbers, and each reported target has exactly one reporter."""
        views = [self.ntn_of_target(n) for n in self.pictures]
        if not views or any(len(s) != 1 for v in views for s in v.values()):
            return False
        if any(v != views[0] for v in views[1:]):
            return False
        return all(len(s) == 1 for s in self.reporters().values())

    def reporters(self) -> dict[int, set[str]]:
        """Target index → the nations whose last picture says they report it."""
        out: dict[int, set[str]] = {}
        for name, pic in self.pictures.items():
            local = self.local[name]
            for lid, rep in zip(local.local_id.tolist(), pic.local_report.tolist()):
                if rep:
                    out.setdefault(int(lid.rsplit("-T", 1)[1]), set()).add(name)
        return out


def time_update(n_targets: int = 300, nations=("AUS", "GBR", "JPN", "USA"), p_seen: float = 0.6, warm_steps: int = 12,
                repeats: int = 5, seed: int = 0) -> dict:
    """Time the last nation's ``Fuser.update`` in a 3-D scene of ``n_targets`` seen by each nation
    with probability ``p_seen`` (100 m, 10 m/s errors), after ``warm_steps`` network steps 1 s apart.

    Returns the number of tracks given to the update (own + partner reports), of fused tracks, and
    the median wall time of ``repeats`` updates (ms).
    """
    import time

    rng = np.random.default_rng(seed)
    p0 = np.c_[rng.uniform(0, 500_000, (n_targets, 2)), rng.uniform(1000, 12_000, n_targets)]
    v = np.c_[rng.uniform(-250, 250, (n_targets, 2)), np.zeros(n_targets)]
    P = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    sims = [SimNation(n, np.flatnonzero(rng.random(n_targets) < p_seen), P, tuple(nations), seed=seed + i)
            for i, n in enumerate(nations)]
    net = SimNetwork(sims, delay_s=(0.0, 0.5), seed=seed)
    for k in range(warm_steps):
        net.step(float(k), cv_truth(p0, v, float(k)))
    me = nations[-1]    # equal qualities: ties go to the earliest code, so the last nation fuses the most partner tracks
    t = float(warm_steps)
    local = net.nations[me].tracks(cv_truth(p0, v, t), t)
    remote = TrackSet.concat(list(net.inbox[me].values()))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pic = net.fusers[me].update(t, local, remote)
        times.append(time.perf_counter() - t0)
    return {"tracks_in": len(local) + len(remote), "fused": len(pic), "update_ms": 1000 * float(np.median(times))}


def encounter_study(seeds=range(40), n_targets: int = 12, spacing_m: float = 3000.0, steps: int = 120,
                    close_m: float = 2000.0) -> dict:
    """How soon the nodes agree again after targets pass close to each other.

    Per seed: ``n_targets`` in a ``12 × 3`` grid area of ``spacing_m`` cells with random headings
    (up to 200 m/s), four nations each seeing about 60 % of them with 100, 150 or 250 m errors,
    random delays up to 3 s and late reports; one picture a second. Returns, per bin of seconds
    since two targets were last closer than ``close_m``, the number of pictures and the fraction
    in which :meth:`SimNetwork.agreement` holds.
    """
    nations = ("AUS", "GBR", "JPN", "USA")
    ok_all, since_all = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        p0 = np.c_[rng.uniform(0, spacing_m * n_targets, n_targets), rng.uniform(0, spacing_m * 3, n_targets)]
        v = rng.uniform(-200, 200, (n_targets, 2))
        seen = rng.random((4, n_targets)) < 0.6
        seen[rng.integers(0, 4, n_targets), np.arange(n_targets)] = True
        sims = [SimNation(n, np.flatnonzero(seen[i]), np.diag([rng.choice([100.0, 150.0, 250.0]) ** 2] * 2 + [100.0] * 2),
                          nations, seed=seed + i, tau_s=5) for i, n in enumerate(nations)]
        net = SimNetwork(sims, delay_s=(0.0, rng.uniform(0.1, 3.0)), late_p=rng.uniform(0, 0.4), late_s=3.0, seed=seed)
        last = -10**9
        for k in range(steps):
            truth = cv_truth(p0, v, float(k))
            net.step(float(k), truth)
            pos = truth[:, :2]
            gap = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(n_targets) * 1e12
            if gap.min() < close_m:
                last = k
            ok_all.append(net.agreement())
            since_all.append(k - last)
    ok, since = np.array(ok_all), np.array(since_all)
    out = {}
    for lo, hi in ((0, 1), (1, 5), (5, 10), (10, 20), (20, 10**9)):
        m = (since >= lo) & (since < hi)
        out[f"{lo}-{hi if hi < 10**9 else 'inf'} s"] = (int(m.sum()), float(ok[m].mean()) if m.any() else float("nan"))
    return out
