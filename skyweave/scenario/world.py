"""The simulated world: truth for every target and the scans of every sensor, in delivery order.

:class:`World` turns a validated :class:`~skyweave.scenario.spec.Scenario` into a time-ordered
stream of events. Truth is evaluated on the union of all scan instants and truth instants; route
and ballistic targets are tabulated there in one vectorised pass, the clutter family is stepped
forward exactly (coordinated turns) so that 10,000 targets never need a full table in memory.

Each scan reaches the node ``latency_s`` (+ uniform jitter) after it was measured, and scans are
emitted in delivery order: per sensor the times never go backwards, across sensors they do, as a
real node sees them. Random streams are spawned per sensor from the run seed, so a seed gives the
same files whatever else changes in the scenario's sensor list order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from skyweave.geo import LocalFrame
from skyweave.core.model import SensorSet
from skyweave.scenario.motion import RoutePath, ct_step, plane_from_geodetic, route_states
from skyweave.scenario.sensors import Scan, SensorSim, TargetTable, route_points
from skyweave.scenario.spec import ClutterFamily, Scenario, SensorModel, TargetModel, Waypoint


@dataclass
class TruthEvent:
    t: float
    ids: list[str]
    states: np.ndarray  # (N, 6), NaN rows for targets not alive at t


@dataclass
class ScanEvent:
    scan: Scan
    delivered_t: float


class _RouteSource:
    """Route targets (aircraft, cruise missiles) tabulated at given times."""

    def __init__(self, targets: list[TargetModel], frame: LocalFrame | None, dims: int, duration: float):
        self.targets = targets
        self.frame = frame
        self.dims = dims
        self.paths = []
        for tg in targets:
            route = tg.route
            if tg.loop:  # patrol: repeat the circuit long enough to cover the scenario
                pts, _ = route_points(route + (route[0],), frame)
                circuit = float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))
                reps = int(np.ceil(tg.speed_mps * (duration - tg.t_start + 60.0) / max(circuit, 1.0))) + 1
                route = route + (route * reps)[1:] + (route[0],)
            pts, alts = route_points(route, frame)
            self.paths.append(RoutePath.plan(pts, alts, tg.speed_mps, tg.bank_deg))

    def table(self, times: np.ndarray) -> np.ndarray:
        out = np.empty((times.size, len(self.targets), 6))
        for j, (tg, path) in enumerate(zip(self.targets, self.paths)):
            out[:, j] = route_states(path, times, tg.t_start, tg.speed_mps, tg.climb_mps, self.frame, self.dims)
        return out


class _BallisticSource:
    """Ballistic launches, integrated once (J2, rotating earth, drag) and interpolated."""

    #: when a scenario does not give a re-entry vehicle's ballistic coefficient, it is drawn per
    #: launch around its class's (short-range 3,000 kg/m², medium 6,000, intermediate 10,000,
    #: intercontinental 15,000): log-normal with this standard deviation of ln β, so warning
    #: benchmarks meet the spread of real vehicles, not one value per class
    BETA_LOG_SIGMA = 0.3

    def __init__(self, targets: list[TargetModel], frame: LocalFrame, seed: int = 0):
        from dataclasses import replace

        from skyweave.scenario.ballistic import BallisticSpec, fly_ballistic, vehicle_for_range

        self.targets = targets
        self.frame = frame
        self.trajectories = []
        for tg in targets:
            spec = BallisticSpec(
                launch_lat=tg.launch.lat, launch_lon=tg.launch.lon, launch_alt=tg.launch.alt or 0.0,
                azimuth_deg=tg.azimuth_deg, range_m=tg.range_m, t_launch=tg.t_start,
            )
            veh = vehicle_for_range(tg.range_m)
            beta = tg.beta_kg_m2
            if beta is None:
                rng = np.random.default_rng(np.random.SeedSequence([seed, _stable_hash(tg.id)]))
                beta = float(np.clip(veh.beta_rv * np.exp(self.BETA_LOG_SIGMA * rng.standard_normal()), 1_000.0, 30_000.0))
            self.trajectories.append(fly_ballistic(spec, replace(veh, beta_rv=beta)))

    def table(self, times: np.ndarray) -> np.ndarray:
        from skyweave.scenario.ballistic import enu_states

        out = np.empty((times.size, len(self.targets), 6))
        for j, traj in enumerate(self.trajectories):
            out[:, j] = enu_states(traj, self.frame, times)
        return out

    def boosting(self, t: float) -> np.ndarray:
        return np.array([tr.t[0] <= t <= tr.burnout_t for tr in self.trajectories], dtype=bool)


class _FamilySource:
    """The clutter benchmark family: N targets, constant velocity with occasional coordinated turns.

    Targets start uniformly in a square of side ``spacing·√N`` (constant density for every N) with
    uniform headings and speeds. In each step a straight-flying target starts a turn of
    ±``turn_rate_dps`` with probability ``1 − exp(−p·dt)`` for a uniform duration; a target outside
    the square heading outwards turns back toward it. Steps are exact (:func:`ct_step`).
    """

    def __init__(self, fam: ClutterFamily, rng: np.random.Generator):
        self.fam = fam
        self.rng = rng
        n = fam.n_targets
        self.half = 0.5 * fam.spacing_m * np.sqrt(n)
        pos = rng.uniform(-self.half, self.half, (n, 2))
        heading = rng.uniform(0.0, 2 * np.pi, n)
        speed = rng.uniform(*fam.speed_mps, n)
        self.state = np.column_stack([pos, speed * np.sin(heading), speed * np.cos(heading)])
        self.omega = np.zeros(n)
        self.turn_left = np.zeros(n)
        self.t = 0.0

    def advance(self, t: float) -> np.ndarray:
        dt = t - self.t
        if dt > 0:
            f, rng = self.fam, self.rng
            n = len(self.state)
            rate = np.radians(f.turn_rate_dps)
            straight = self.turn_left <= 0.0
            start = straight & (rng.random(n) < 1.0 - np.exp(-f.turn_prob_per_s * dt))
            x, y, vx, vy = self.state.T
            outward = straight & (np.maximum(np.abs(x), np.abs(y)) > self.half) & (x * vx + y * vy > 0)
            sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
            # turn back: the sign that rotates the velocity toward the centre
            back = np.sign(x * vy - y * vx)
            back[back == 0] = 1.0
            sign = np.where(outward, back, sign)
            start |= outward
            dur = np.where(outward, 180.0 / max(f.turn_rate_dps, 1e-3), rng.uniform(*f.turn_duration_s, n))
            self.omega = np.where(start, sign * rate, np.where(straight, 0.0, self.omega))
            self.turn_left = np.where(start, dur, self.turn_left)
            self.state = ct_step(self.state, self.omega, dt)
            self.turn_left = self.turn_left - dt
            self.omega = np.where(self.turn_left > 0.0, self.omega, 0.0)
            self.t = t
        out = np.zeros((len(self.state), 6))
        out[:, 0:2] = self.state[:, 0:2]
        out[:, 3:5] = self.state[:, 2:4]
        return out


def family_sensors(fam: ClutterFamily, base: SensorModel | None) -> list[SensorModel]:
    """Radars spread on a circle inside the family's square, each covering the whole square."""
    half = 0.5 * fam.spacing_m * np.sqrt(fam.n_targets)
    ring = 0.5 * half
    max_range = 1.05 * (ring + half * np.sqrt(2.0))
    out = []
    for k in range(fam.radars):
        ang = 2 * np.pi * k / fam.radars + np.pi  # first radar due south of the centre
        kw = dict(
            sigma_range_m=20.0, sigma_bearing_deg=0.05, pd=0.9, clutter_per_scan=10.0, period_s=1.0,
            nation="USA", releasable_to=("USA",),
        )
        if base is not None:
            kw.update(
                sigma_range_m=base.sigma_range_m, sigma_bearing_deg=base.sigma_bearing_deg, pd=base.pd,
                clutter_per_scan=base.clutter_per_scan, period_s=base.period_s, nation=base.nation,
                releasable_to=base.releasable_to, latency_s=base.latency_s, latency_jitter_s=base.latency_jitter_s,
            )
        period = kw["period_s"]
        out.append(SensorModel.build(
            id=f"R{k + 1}", kind="radar", x=float(ring * np.sin(ang)) + 0.0, y=float(ring * np.cos(ang)) + 0.0, z=0.0,
            max_range_m=float(max_range), phase_s=(period * k / fam.radars), **kw,
        ))
    return out


class World:
    """A scenario made runnable: targets, sensors and the event stream of one seeded run."""

    def __init__(self, scenario: Scenario, seed: int | None = None, duration_s: float | None = None):
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.duration_s = scenario.duration_s if duration_s is None else duration_s
        self.dims = scenario.dims
        self.frame = scenario.origin.frame() if scenario.origin is not None else None
        ss = np.random.SeedSequence(self.seed)
        self._family_rng, self._latency_rng = (np.random.default_rng(s) for s in ss.spawn(2))
        sensor_models = list(scenario.sensors)
        if scenario.clutter_family is not None:
            radar_base = next((s for s in sensor_models if s.kind == "radar"), None)
            sensor_models = [s for s in sensor_models if s.kind != "radar"] + family_sensors(scenario.clutter_family, radar_base)
        self.sensor_models = sensor_models
        route_targets = [t for t in scenario.targets if t.type != "ballistic"]
        route_targets += _generate_traffic(scenario, self.frame)
        ballistic = [t for t in scenario.targets if t.type == "ballistic"]
        self._route = _RouteSource(route_targets, self.frame, self.dims, self.duration_s) if route_targets else None
        self._ballistic = _BallisticSource(ballistic, self.frame, scenario.seed) if ballistic else None
        self._family = _FamilySource(scenario.clutter_family, self._family_rng) if scenario.clutter_family else None
        ids = [t.id for t in route_targets] + [t.id for t in ballistic]
        types = [t.type for t in route_targets] + ["ballistic"] * len(ballistic)
        icao = [t.icao24 for t in route_targets] + [None] * len(ballistic)
        if self._family is not None:
            n = scenario.clutter_family.n_targets
            width = len(str(n))
            ids += [f"T{i + 1:0{width}d}" for i in range(n)]
            types += ["aircraft"] * n
            icao += [None] * n
        self.route_targets = route_targets
        self.ballistic_targets = ballistic
        self.targets = TargetTable(ids=ids, types=np.array(types), icao24=icao)
        self.sensors = [SensorSim(m, self.frame, self.dims, self.targets) for m in sensor_models]
        self._sensor_rngs = {
            m.id: np.random.default_rng(np.random.SeedSequence([self.seed, _stable_hash(m.id)])) for m in sensor_models
        }

    # ------------------------------------------------------------------ descriptions

    def sensor_set(self) -> SensorSet:
        """The sensors.json content of this run (positions at t = 0 for moving platforms).

        Each entry is the sensor model's own :class:`~skyweave.core.model.SensorSpec` with the position resolved
        (ENU metres rounded to mm; geodetic in 3-D) and the simulator's fields as extras.
        """
        specs = []
        for sim in self.sensors:
            m = sim.model
            lat = lon = alt = None
            if m.kind == "ir":
                x = y = z = 0.0
            else:
                p = sim.platform_state(0.0)[:3]
                x, y, z = (float(v) for v in p)
                if self.frame is not None and self.dims == 3:
                    la, lo, al = self.frame.to_geodetic(p)
                    lat, lon, alt = round(float(la), 7), round(float(lo), 7), round(float(al), 2)
            specs.append(replace(
                m.spec, x=round(x, 3), y=round(y, 3), z=round(z, 3), lat=lat, lon=lon, alt=alt,
                max_range_m=m.max_range_m if m.kind != "ir" else None, extra={**m.spec.extra, **_sim_extra(m)},
            ))
        return SensorSet(epoch=self.scenario.epoch, origin=self.scenario.origin, sensors=tuple(specs), dims=self.dims)

    def target_summary(self) -> list[dict]:
        """One record per target: id, type, icao24; launch and impact for ballistic missiles."""
        out = []
        for tg in self.route_targets:
            d = {"id": tg.id, "type": tg.type, "t_start": tg.t_start}
            if tg.icao24:
                d["icao24"] = tg.icao24
            out.append(d)
        if self._ballistic is not None:
            for tg, tr in zip(self.ballistic_targets, self._ballistic.trajectories):
                out.append({
                    "id": tg.id, "type": "ballistic", "t_start": tg.t_start,
                    "launch": {"lat": tg.launch.lat, "lon": tg.launch.lon, "t": float(tr.t[0])},
                    "burnout_t": float(tr.burnout_t), "beta_kg_m2": round(tr.vehicle.beta_rv, 1),
                    "impact": {"lat": float(tr.impact_lat), "lon": float(tr.impact_lon), "t": float(tr.impact_t)},
                })
        if self._family is not None:
            out.append({"family": "clutter", "n_targets": self.scenario.clutter_family.n_targets, "type": "aircraft"})
        return out

    # ------------------------------------------------------------------ the run

    def _schedule(self):
        times, kinds = [np.arange(0.0, self.duration_s + 1e-9, self.scenario.truth_period_s)], [None]
        for sim in self.sensors:
            st = sim.scan_times(self.duration_s)
            times.append(st)
            kinds.append(sim)
        all_t = np.unique(np.round(np.concatenate(times), 6))
        return all_t, times, kinds

    def events(self, progress: Callable[[float], None] | None = None) -> Iterator[TruthEvent | ScanEvent]:
        """Truth instants (in time order) and scans (in delivery order), interleaved by time."""
        all_t, times, kinds = self._schedule()
        truth_set = set(np.round(times[0], 6).tolist())
        by_time: dict[float, list[SensorSim]] = {}
        for st, sim in zip(times[1:], kinds[1:]):
            for t in np.round(st, 6).tolist():
                by_time.setdefault(t, []).append(sim)
        table = None
        parts = [p for p in (self._route, self._ballistic) if p is not None]
        if parts:
            table = np.concatenate([p.table(all_t) for p in parts], axis=1)
        last_delivery: dict[str, float] = {}
        pending: list[tuple[float, int, Scan]] = []
        seq = 0
        for k, t in enumerate(all_t.tolist()):
            chunks = []
            if table is not None:
                chunks.append(table[k])
            if self._family is not None:
                chunks.append(self._family.advance(t))
            states = np.concatenate(chunks, axis=0) if len(chunks) > 1 else chunks[0]
            while pending and pending[0][0] <= t:
                d, _, scan = heapq.heappop(pending)
                yield ScanEvent(scan, d)
            if t in truth_set:
                yield TruthEvent(t, self.targets.ids, states)
            boosting = None
            for sim in by_time.get(t, ()):
                m = sim.model
                if m.kind == "ir":
                    boosting = self._boosting(t) if boosting is None else boosting
                scan = sim.scan(t, states, self._sensor_rngs[m.id], boosting)
                lat = m.latency_s + (self._latency_rng.uniform(0.0, m.latency_jitter_s) if m.latency_jitter_s else 0.0)
                d = max(t + lat, last_delivery.get(m.id, -np.inf))
                last_delivery[m.id] = d
                if d <= t:
                    yield ScanEvent(scan, d)
                else:
                    heapq.heappush(pending, (d, seq, scan))
                    seq += 1
            if progress is not None:
                progress(t)
        while pending:
            d, _, scan = heapq.heappop(pending)
            yield ScanEvent(scan, d)

    def _boosting(self, t: float) -> np.ndarray:
        n = len(self.targets.ids)
        out = np.zeros(n, dtype=bool)
        if self._ballistic is not None:
            start = len(self.route_targets)
            out[start:start + len(self.ballistic_targets)] = self._ballistic.boosting(t)
        return out


def _sim_extra(m: SensorModel) -> dict:
    """The simulator's fields a sensors.json entry passes on as extras (only those set)."""
    extra = {"phase_s": m.phase_s} if m.phase_s else {}
    if m.latency_s or m.latency_jitter_s:
        extra.update(latency_s=m.latency_s, latency_jitter_s=m.latency_jitter_s)
    if m.sigma_alt_m is not None:
        extra["sigma_alt_m"] = m.sigma_alt_m
    if m.fov_az_deg is not None:
        extra["fov_az_deg"] = list(m.fov_az_deg)
    if m.fov_el_deg is not None:
        extra["fov_el_deg"] = list(m.fov_el_deg)
    return extra


def _stable_hash(s: str) -> int:
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def _generate_traffic(scenario: Scenario, frame: LocalFrame | None) -> list[TargetModel]:
    """Airliners along the scenario's airways, deterministic in the traffic seed.

    Each flight takes an airway in either direction, starts at a uniform time in [t_from, t_to]
    (negative: already airborne at t = 0), cruises at one of ``levels_m`` and is given an ICAO
    address in the Japanese block (0x84xxxx) so that ADS-B receivers can report it.
    """
    tr = scenario.traffic
    if tr is None or tr.count == 0:
        return []
    rng = np.random.default_rng(tr.seed)
    out = []
    for i in range(tr.count):
        airway = list(tr.airways[int(rng.integers(len(tr.airways)))])
        if rng.random() < 0.5:
            airway = airway[::-1]
        level = float(tr.levels_m[int(rng.integers(len(tr.levels_m)))])
        speed = float(rng.uniform(*tr.speed_mps))
        lateral = float(rng.normal(0.0, 1500.0))  # spread across the airway's width
        route = tuple(_offset(w, lateral, level, frame) for w in airway)
        t0 = float(rng.uniform(tr.t_from, tr.t_to))
        icao = f"{0x840000 + i * 97 + int(rng.integers(90)):06x}"
        out.append(TargetModel(
            id=f"AL{i + 1:03d}", type="airliner", t_start=t0, route=route, speed_mps=speed,
            climb_mps=12.0, icao24=icao,
        ))
    return out


def _offset(w: Waypoint, lateral: float, level: float, frame: LocalFrame | None) -> Waypoint:
    if w.lat is not None and frame is not None:
        e, n = plane_from_geodetic(frame, w.lat, w.lon)
    else:
        e, n = w.x, w.y
    alt = w.alt if w.alt is not None else level
    return Waypoint(x=float(e) + lateral, y=float(n) + lateral, alt=alt, name=w.name)
