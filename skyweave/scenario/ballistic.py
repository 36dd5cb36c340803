"""Ballistic missile truth: boost with a gravity turn, free flight, re-entry with drag, impact.

The missile is integrated in the rotating ECEF frame (metres, seconds):

    r' = v,    v' = g_J2(r) − 2ω×v − ω×(ω×r) + T/m · u − ½ ρ(h) |v| v / β

with J2 gravity and air density from :mod:`skyweave.geo.earth`. ECEF velocity is the velocity
relative to the air (the atmosphere turns with the earth), so drag acts against it.

Boost (Zarchan, *Tactical and Strategic Missile Guidance*, 6th ed., ch. 38; Wiesel, *Spaceflight
Dynamics*, §7): the missile rises vertically for ``t_vertical_s``, then thrust is pitched by a
small kick angle toward the launch azimuth for ``kick_s`` seconds, after which thrust follows the
air-relative velocity (a gravity turn: zero angle of attack, gravity alone bends the path). The
kick per class was chosen so that a full burn reaches a little beyond the class's longest range on
a near minimum-energy path (apogee about a quarter of the range for the short classes). Mass
falls at ṁ = T/(Isp·g0). The engine cuts off at the time that puts the impact at the requested
ground range; a short outer iteration corrects the launch azimuth for the earth's rotation, so
impact lies on the requested azimuth too.

Free flight and re-entry: after burnout the re-entry vehicle flies on with ballistic coefficient
β = m/(Cd·A) (kg/m²); drag matters below about 80 km. Impact is the crossing of the ellipsoid
(height 0), found by the integrator's event location.

Vehicle classes are fictional but of plausible size, chosen by range: short (≤ 1,000 km), medium
(≤ 3,000 km), intermediate (≤ 5,500 km) and intercontinental.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from skyweave.geo import LocalFrame, ecef2geodetic, enu_rotation, geodetic2ecef, great_circle_m, initial_azimuth_deg
from skyweave.geo.earth import air_density, frame_acceleration, gravity_j2, height_above_ellipsoid_fast

G0 = 9.80665


@dataclass(frozen=True)
class Vehicle:
    """A single-stage-equivalent missile: lift-off mass (kg), mass ratio, Isp (s), thrust-to-weight,
    boost drag area Cd·A (m²), re-entry vehicle ballistic coefficient β (kg/m²), pitch programme."""

    name: str
    m0_kg: float
    mass_ratio: float
    isp_s: float
    thrust_to_weight: float
    cda_m2: float
    beta_rv: float
    t_vertical_s: float
    kick_deg: float
    kick_s: float = 4.0

    @property
    def thrust_n(self) -> float:
        return self.thrust_to_weight * self.m0_kg * G0

    @property
    def mdot(self) -> float:
        return self.thrust_n / (self.isp_s * G0)

    @property
    def max_burn_s(self) -> float:
        return self.m0_kg * (1.0 - 1.0 / self.mass_ratio) / self.mdot


VEHICLES = (
    # name, max range (m) the class is used up to
    (1_000_000.0, Vehicle("short-range", 6_400.0, 5.0, 240.0, 2.8, 0.25, 3_000.0, 6.0, 36.0)),
    (3_000_000.0, Vehicle("medium-range", 16_000.0, 9.5, 260.0, 2.5, 0.45, 6_000.0, 7.0, 36.0)),
    (5_500_000.0, Vehicle("intermediate-range", 30_000.0, 12.5, 280.0, 2.2, 0.7, 10_000.0, 8.0, 32.0)),
    (13_000_000.0, Vehicle("intercontinental", 45_000.0, 18.0, 300.0, 2.0, 0.9, 15_000.0, 10.0, 38.0)),
)


def vehicle_for_range(range_m: float) -> Vehicle:
    for limit, v in VEHICLES:
        if range_m <= limit:
            return v
    return VEHICLES[-1][1]


@dataclass(frozen=True)
class BallisticSpec:
    """A launch: site (deg, deg, m), azimuth (deg clockwise from north), ground range (m), launch time (s)."""

    launch_lat: float
    launch_lon: float
    launch_alt: float
    azimuth_deg: float
    range_m: float
    t_launch: float = 0.0


@dataclass
class Trajectory:
    """One flown missile. ``sol`` is the dense ECEF solution over [t_launch, impact_t]."""

    spec: BallisticSpec
    vehicle: Vehicle
    t: np.ndarray            # integrator steps (s)
    sol: object              # callable t -> (6,) or (6, K) ECEF state
    burnout_t: float
    impact_t: float
    impact_lat: float
    impact_lon: float
    apogee_m: float
    flown_azimuth_deg: float

    def ecef(self, times) -> np.ndarray:
        """ECEF states (K, 6) at ``times`` (s) within the flight; NaN outside it."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        out = np.full((times.size, 6), np.nan)
        ok = (times >= self.t[0]) & (times <= self.impact_t)
        if ok.any():
            out[ok] = np.asarray(self.sol(times[ok])).T
        return out


def _unit(v):
    return v / np.linalg.norm(v)


def _rhs_factory(veh: Vehicle, t0: float, cutoff: float, up: np.ndarray, kick_dir: np.ndarray):
    """Right-hand side of the equations of motion for one flight (state: r, v ECEF; mass by time)."""
    thrust, mdot, m0 = veh.thrust_n, veh.mdot, veh.m0_kg
    t_v, t_k = veh.t_vertical_s, veh.t_vertical_s + veh.kick_s

    def rhs(t, y):
        r = y[:3]
        v = y[3:]
        a = gravity_j2(r) + frame_acceleration(r, v)
        h = float(height_above_ellipsoid_fast(r))
        tau = t - t0
        speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        if tau < cutoff:
            m = m0 - mdot * tau
            if tau < t_v:
                u = up
            elif tau < t_k:
                u = kick_dir
            else:
                u = v / speed
            a = a + (thrust / m) * u
            drag_per_mass = 0.5 * float(air_density(h)) * speed * veh.cda_m2 / m
        else:
            drag_per_mass = 0.5 * float(air_density(h)) * speed / veh.beta_rv if h < 150_000.0 else 0.0
        a = a - drag_per_mass * v
        return np.concatenate([v, a])

    return rhs


def _impact_event(t, y):
    return float(height_above_ellipsoid_fast(y[:3]))


_impact_event.terminal = True
_impact_event.direction = -1


def _fly(spec: BallisticSpec, veh: Vehicle, cutoff: float, azimuth_deg: float, rtol: float, dense: bool):
    r0 = np.array(geodetic2ecef(spec.launch_lat, spec.launch_lon, spec.launch_alt), dtype=float)
    rot = enu_rotation(spec.launch_lat, spec.launch_lon)  # rows: east, north, up in ECEF
    up = rot[2]
    az = math.radians(azimuth_deg)
    horiz = math.sin(az) * rot[0] + math.cos(az) * rot[1]
    k = math.radians(veh.kick_deg)
    kick_dir = _unit(math.cos(k) * up + math.sin(k) * horiz)
    rhs = _rhs_factory(veh, spec.t_launch, cutoff, up, kick_dir)
    y0 = np.concatenate([r0, np.zeros(3)])
    t0 = spec.t_launch
    # integrate in phases so that no step straddles a switch of the thrust law
    bounds = [t0, t0 + min(veh.t_vertical_s, cutoff), t0 + min(veh.t_vertical_s + veh.kick_s, cutoff), t0 + cutoff]
    pieces = []
    y = y0
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a <= 1e-9:
            continue
        s = solve_ivp(rhs, (a, b), y, method="DOP853", rtol=rtol, atol=1e-3, dense_output=dense, max_step=10.0)
        pieces.append(s)
        y = s.y[:, -1]
    burnout_t = t0 + cutoff
    s = solve_ivp(rhs, (burnout_t, burnout_t + 4 * 3600.0), y, method="DOP853", rtol=rtol, atol=1e-3,
                  dense_output=dense, events=_impact_event, first_step=0.5, max_step=60.0)
    if s.status != 1 or not len(s.t_events[0]):
        raise RuntimeError(f"ballistic flight from ({spec.launch_lat}, {spec.launch_lon}) did not come down")
    pieces.append(s)
    impact_t = float(s.t_events[0][0])
    impact = s.y_events[0][0]
    return pieces, burnout_t, impact_t, impact


def _ground_range_azimuth(lat0, lon0, lat1, lon1):
    """Great-circle distance (m, mean earth radius) and initial azimuth (deg) from point 0 to point 1."""
    return float(great_circle_m(lat0, lon0, lat1, lon1)), float(initial_azimuth_deg(lat0, lon0, lat1, lon1))


def _impact_geo(impact):
    lat, lon, _ = ecef2geodetic(impact[0], impact[1], impact[2])
    return float(lat), float(lon)


def fly_ballistic(spec: BallisticSpec, vehicle: Vehicle | None = None) -> Trajectory:
    """Fly one launch so that it comes down ``spec.range_m`` away on ``spec.azimuth_deg``.

    The cut-off time is found by Brent's method on the ground range (monotone in burn time), and
    the launch azimuth by a fixed-point correction of the flown impact azimuth (two or three
    rounds: the earth's rotation bends the track by a fraction of a degree).
    """
    veh = vehicle or vehicle_for_range(spec.range_m)

    def range_and_az(cutoff, az):
        _, _, _, imp = _fly(spec, veh, cutoff, az, 1e-7, dense=False)
        lat, lon = _impact_geo(imp)
        return _ground_range_azimuth(spec.launch_lat, spec.launch_lon, lat, lon)

    lo = veh.t_vertical_s + veh.kick_s + 1.0
    hi = veh.max_burn_s
    az = spec.azimuth_deg
    reach, _ = range_and_az(hi, az)
    if reach < spec.range_m:
        raise ValueError(f"a {veh.name} missile reaches at most {reach / 1000:.0f} km, asked for {spec.range_m / 1000:.0f} km")
    short, _ = range_and_az(lo, az)
    if short > spec.range_m:
        raise ValueError(f"a {veh.name} missile flies at least {short / 1000:.0f} km, asked for {spec.range_m / 1000:.0f} km")
    cutoff = hi
    for _ in range(3):
        cutoff = brentq(lambda c: range_and_az(c, az)[0] - spec.range_m, lo, hi, xtol=1e-4)
        _, flown = range_and_az(cutoff, az)
        err = (flown - spec.azimuth_deg + 180.0) % 360.0 - 180.0
        if abs(err) < 1e-4:
            break
        az = (az - err) % 360.0
    pieces, burnout_t, impact_t, impact = _fly(spec, veh, cutoff, az, 1e-10, dense=True)
    sols = [p.sol for p in pieces]
    starts = np.array([p.t[0] for p in pieces])
    t_all = np.concatenate([p.t for p in pieces])

    def sol(times):
        times = np.atleast_1d(np.asarray(times, dtype=float))
        out = np.empty((6, times.size))
        k = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(sols) - 1)
        for j in np.unique(k):
            sel = k == j
            out[:, sel] = sols[j](times[sel])
        return out

    lat, lon = _impact_geo(impact)
    samples = sol(np.linspace(spec.t_launch, impact_t, 400))
    apogee = float(np.max(height_above_ellipsoid_fast(samples[:3].T)))
    return Trajectory(
        spec=spec, vehicle=veh, t=t_all[t_all <= impact_t], sol=sol, burnout_t=burnout_t, impact_t=impact_t,
        impact_lat=lat, impact_lon=lon, apogee_m=apogee, flown_azimuth_deg=az,
    )


def enu_states(traj: Trajectory, frame: LocalFrame, times) -> np.ndarray:
    """Scenario-ENU states (K, 6) [x, y, z, vx, vy, vz] (m, m/s; velocity relative to the earth) at ``times``; NaN outside the flight."""
    e = traj.ecef(times)
    out = np.full_like(e, np.nan)
    ok = ~np.isnan(e[:, 0])
    if ok.any():
        out[ok, :3] = frame.from_ecef(e[ok, :3])
        out[ok, 3:] = frame.vector_from_ecef(e[ok, 3:])
    return out
