"""Truth motion for aircraft and cruise missiles: routes with coordinated turns, climbs and descents,
and the exact coordinated-turn step used by the clutter benchmark family.

A route is flown at constant ground speed ``v`` (m/s). At each interior waypoint the path turns
"fly-by" on a circle of radius r = v² / (g·tan φ) for bank angle φ (a coordinated, level turn:
Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and Navigation*, §11.7),
tangent to both legs; where the legs are too short for that radius the radius shrinks to fit.
Altitude changes toward the next waypoint's altitude at ``climb`` m/s from the moment the
waypoint is passed. The horizontal path is planned on the scenario's tangent plane and placed at
its true altitude above the WGS-84 ellipsoid, so a 10 km cruise level stays 10 km above the earth
500 km from the origin (the tangent plane itself would be 20 km up there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyweave.geo import LocalFrame

G0 = 9.80665  # standard gravity, m/s²


@dataclass(frozen=True)
class RoutePath:
    """A planar path of straight legs and circular arcs, flown at constant speed.

    Arrays have one entry per segment: ``kind`` 0 line / 1 arc, ``s0`` path length at its start (m),
    ``p0`` start point (e, n) m, ``d`` unit direction (lines), ``c`` arc centre, ``r`` radius (m),
    ``th0`` start angle (rad, mathematical: from east, counter-clockwise), ``sgn`` +1 left / -1 right.
    ``wp_s``/``wp_alt``: path length at each waypoint and its altitude (m).
    """

    kind: np.ndarray
    s0: np.ndarray
    p0: np.ndarray
    d: np.ndarray
    c: np.ndarray
    r: np.ndarray
    th0: np.ndarray
    sgn: np.ndarray
    length: float
    wp_s: np.ndarray
    wp_alt: np.ndarray

    @classmethod
    def plan(cls, points: np.ndarray, alts: np.ndarray, speed_mps: float, bank_deg: float = 25.0) -> "RoutePath":
        """Plan fly-by turns through ``points`` (K, 2) plane metres with altitudes ``alts`` (K,)."""
        pts = np.asarray(points, dtype=float)
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1.0  # drop repeated points
        pts, alts = pts[keep], np.asarray(alts, dtype=float)[keep]
        if len(pts) < 2:
            raise ValueError("a route needs two distinct waypoints")
        legs = np.diff(pts, axis=0)
        leg_len = np.linalg.norm(legs, axis=1)
        dirs = legs / leg_len[:, None]
        r_nom = speed_mps**2 / (G0 * np.tan(np.radians(bank_deg)))
        kind, s0, p0, d, c, r, th0, sgn = [], [], [], [], [], [], [], []
        wp_s = [0.0]
        s = 0.0
        start = pts[0]
        used_out = 0.0  # lead distance consumed at the start of the current leg
        for i in range(len(legs)):
            if i + 1 < len(legs):
                d_in, d_out = dirs[i], dirs[i + 1]
                cross = d_in[0] * d_out[1] - d_in[1] * d_out[0]
                delta = np.arctan2(cross, float(d_in @ d_out))
            else:
                delta = 0.0
            half = abs(delta) / 2.0
            lead = 0.0
            radius = r_nom
            if half > 1e-6:
                lead_max = 0.5 * min(leg_len[i] - used_out, leg_len[i + 1]) if i + 1 < len(legs) else 0.0
                lead = min(r_nom * np.tan(half), max(lead_max, 0.0))
                radius = lead / np.tan(half)
            a_pt = pts[i + 1] - lead * dirs[i]
            seg_len = float(np.linalg.norm(a_pt - start))
            kind.append(0); s0.append(s); p0.append(start); d.append(dirs[i])
            c.append((0.0, 0.0)); r.append(0.0); th0.append(0.0); sgn.append(0.0)
            s += seg_len
            if lead > 0.0:
                sign = 1.0 if delta > 0 else -1.0
                normal = np.array([-dirs[i][1], dirs[i][0]]) * sign  # towards the turn centre
                centre = a_pt + radius * normal
                th = np.arctan2(a_pt[1] - centre[1], a_pt[0] - centre[0])
                kind.append(1); s0.append(s); p0.append(a_pt); d.append((0.0, 0.0))
                c.append(centre); r.append(radius); th0.append(th); sgn.append(sign)
                wp_s.append(s + radius * half)
                s += radius * abs(delta)
                start = pts[i + 1] + lead * dirs[i + 1]
            else:
                wp_s.append(s)
                start = pts[i + 1]
            used_out = lead
        return cls(
            kind=np.array(kind, dtype=np.int8), s0=np.array(s0), p0=np.array(p0, dtype=float),
            d=np.array(d, dtype=float), c=np.array(c, dtype=float), r=np.array(r), th0=np.array(th0),
            sgn=np.array(sgn), length=s, wp_s=np.array(wp_s), wp_alt=alts.copy(),
        )

    def _reached_altitudes(self, speed_mps: float, climb_mps: float) -> np.ndarray:
        """Altitude actually reached at each waypoint when climbs are rate-limited (continuous profile)."""
        out = self.wp_alt.copy()
        for k in range(1, len(out)):
            gap = self.wp_alt[k] - out[k - 1]
            room = climb_mps * (self.wp_s[k] - self.wp_s[k - 1]) / speed_mps
            out[k] = out[k - 1] + np.sign(gap) * min(abs(gap), room)
        return out

    def plane_state(self, s: np.ndarray, speed_mps: float, climb_mps: float):
        """Plane position (T, 2), horizontal velocity (T, 2), altitude (T,), climb rate (T,) at path lengths s."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        i = np.clip(np.searchsorted(self.s0, s, side="right") - 1, 0, len(self.s0) - 1)
        ds = s - self.s0[i]
        arc = self.kind[i] == 1
        pos = self.p0[i] + self.d[i] * ds[:, None]
        vel = self.d[i] * speed_mps
        if arc.any():
            ia = i[arc]
            th = self.th0[ia] + self.sgn[ia] * ds[arc] / self.r[ia]
            pos[arc] = self.c[ia] + self.r[ia, None] * np.stack([np.cos(th), np.sin(th)], axis=1)
            vel[arc] = speed_mps * self.sgn[ia, None] * np.stack([-np.sin(th), np.cos(th)], axis=1)
        # altitude: leave waypoint k toward k+1's altitude at the climb rate
        k = np.clip(np.searchsorted(self.wp_s, s, side="right") - 1, 0, len(self.wp_s) - 2)
        reached = self._reached_altitudes(speed_mps, climb_mps)
        a0, a1 = reached[k], self.wp_alt[k + 1]
        dt_since = (s - self.wp_s[k]) / speed_mps
        change = np.minimum(np.abs(a1 - a0), climb_mps * dt_since)
        alt = a0 + np.sign(a1 - a0) * change
        vz = np.where(change < np.abs(a1 - a0), np.sign(a1 - a0) * climb_mps, 0.0)
        return pos, vel, alt, vz


def route_states(
    path: RoutePath,
    t: np.ndarray,
    t_start: float,
    speed_mps: float,
    climb_mps: float,
    frame: LocalFrame | None,
    dims: int = 3,
) -> np.ndarray:
    """States (T, 6) [x, y, z, vx, vy, vz] in scenario ENU (m, m/s) at times ``t``; NaN before start or after the end.

    With a geodetic ``frame`` the plane point is placed at its altitude above the ellipsoid and the
    velocity is the exact time derivative of that placement (central difference over ±0.05 s).
    """
    t = np.asarray(t, dtype=float)
    out = np.full((t.size, 6), np.nan)
    s = speed_mps * (t - t_start)
    alive = (s >= 0.0) & (s <= path.length)
    if not alive.any():
        return out
    sa = s[alive]
    pos, vel, alt, vz = path.plane_state(sa, speed_mps, climb_mps)
    if frame is None or dims == 2:
        out[alive, 0:2] = pos
        out[alive, 3:5] = vel
        out[alive, 2] = alt if dims == 3 else 0.0
        out[alive, 5] = vz if dims == 3 else 0.0
        return out
    h = 0.05
    place = _placer(frame)
    p_mid = place(pos, alt)
    s_plus = np.minimum(sa + speed_mps * h, path.length)
    s_minus = np.maximum(sa - speed_mps * h, 0.0)
    p_plus = place(*_advance(path, s_plus, speed_mps, climb_mps))
    p_minus = place(*_advance(path, s_minus, speed_mps, climb_mps))
    out[alive, 0:3] = p_mid
    out[alive, 3:6] = (p_plus - p_minus) / ((s_plus - s_minus) / speed_mps)[:, None]
    return out


def _advance(path: RoutePath, s, speed, climb):
    pos, _, alt, _ = path.plane_state(s, speed, climb)
    return pos, alt


def _placer(frame: LocalFrame):
    def place(plane_pos: np.ndarray, alt: np.ndarray) -> np.ndarray:
        flat = np.column_stack([plane_pos, np.zeros(len(plane_pos))])
        lat, lon, _ = frame.to_geodetic(flat)
        return frame.from_geodetic(lat, lon, alt)

    return place


def ct_step(state: np.ndarray, omega: np.ndarray, dt: float) -> np.ndarray:
    """Exact planar coordinated-turn step for states (N, 4) [x, y, vx, vy], turn rates ``omega`` (N,) rad/s.

    x' = x + (sin ωT·vx − (1 − cos ωT)·vy)/ω, vx' = cos ωT·vx − sin ωT·vy (and y, vy alike), with
    the ω → 0 limit taken smoothly (Bar-Shalom et al. 2001, eq. 11.7.1-4).
    """
    x, y, vx, vy = state.T
    wt = omega * dt
    small = np.abs(wt) < 1e-9
    safe_w = np.where(small, 1.0, omega)
    s = np.sin(wt)
    c = np.cos(wt)
    a = np.where(small, dt, s / safe_w)  # sin(ωT)/ω
    b = np.where(small, 0.0, (1.0 - c) / safe_w)  # (1 − cos ωT)/ω
    return np.column_stack([
        x + a * vx - b * vy,
        y + b * vx + a * vy,
        c * vx - s * vy,
        s * vx + c * vy,
    ])


def plane_from_geodetic(frame: LocalFrame, lat, lon) -> np.ndarray:
    """Plane point(s) (..., 2) whose placement by :func:`route_states` lies at (lat, lon) degrees.

    The placement maps the tangent-plane point (e, n, 0) to the geodetic position under it; this
    inverts it by fixed-point iteration (the map is the identity to first order, so three steps
    reach well under a millimetre at 1,000 km from the origin).
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    want = frame.from_geodetic(lat, lon, np.zeros_like(lat))[..., :2]
    p = want.copy()
    for _ in range(4):
        flat = np.concatenate([p, np.zeros(p.shape[:-1] + (1,))], axis=-1)
        la, lo, _ = frame.to_geodetic(flat)
        got = frame.from_geodetic(la, lo, np.zeros_like(la))[..., :2]
        p = p + (want - got)
    return p
