"""The drag learnt on the climb after burnout, by a backward free-flight filter over its radar data.

A short- or medium-range missile burns out at 30-55 km and climbs through the sensible atmosphere
for 10-30 s before reaching 70 km; a blunt body slows there by several m/s² (at 45 km and
2.8 km/s, β = 1,500 kg/m²: about 5 m/s²), which Doppler radars measure to a metre per second.
The estimators' own filter cannot use it: its modes see the burnout only scans late, and its
free-flight estimate then still carries the thrust's last acceleration, which it would read as
less drag (docs/warning.md, *Defaults and why*). Looked at *backwards* from a moment when free
flight is sure, the burnout is plain instead: the thrust (tens of m/s² at cut-off) puts the
measurements before it far outside what any free flight predicts.

:func:`climb_drag` runs unscented Kalman filters on the ballistic state (ECEF position m,
velocity m/s, κ = ln k, k = 1/β m²/kg; :mod:`skyweave.warn.dynamics`), one for each of a range of
values of κ held fixed, backwards in time over the measurements an estimator gathered on its
climb, newest first, from a deliberately weak start (the estimate at the newest measurement with
its position and velocity uncertainty widened): so what they learn comes from these
measurements, not from the estimate that already used them. The first measurement outside
every filter's χ² gate is the thrust. The measurements after it (from ``margin_s`` past the
first measurement after the thrust's: the burnout lies between the two, or a fraction of a
second past the second if its thrust was too short to fail the gate) give the likelihood of κ,
whose Gaussian fit is returned for the estimator to fold in as a pseudo-measurement.

All times in seconds, heights in metres; numerics only, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from skyweave.track.association import chi2_gate
from skyweave.track.filters import UnscentedKalmanFilter, innovations, update
from skyweave.warn.dynamics import BallisticMotion, EcefMeasurement


@dataclass(frozen=True)
class ClimbMeasurement:
    """One radar measurement an estimator took on its climb: time (s), z (m,), R (m, m) and the
    scan's scenario-frame measurement model."""

    t: float
    z: np.ndarray
    R: np.ndarray
    model: Any


@dataclass(frozen=True)
class ClimbDrag:
    """The climb's evidence on κ = ln k: a Gaussian likelihood N(κ; ``mean``, ``var``) from the
    ``n`` measurements between ``t_start`` and ``t_end`` (s); ``t_thrust``: the newest measurement
    found under thrust (None: none was)."""

    mean: float
    var: float
    t_start: float
    t_end: float
    n: int
    t_thrust: float | None


def climb_drag(x: np.ndarray, P: np.ndarray, t: float, measurements: list[ClimbMeasurement],
               motion: BallisticMotion, frame, *, prior: tuple[float, float], gate_probability: float,
               margin_s: float = 1.0, widen_m: float = 1_000.0, widen_mps: float = 100.0,
               sigma_floor: float = 0.0, sigma_max: float = 1.0, step: float = 0.2) -> ClimbDrag | None:
    """The climb's evidence on κ from ``measurements``, or None where they hold none.

    ``x`` (7,), ``P`` (7, 7): an estimate at ``t`` (s), no earlier than the newest measurement;
    ``motion``: the free-flight model (with drag); ``frame``: the scenario's ENU frame;
    ``prior``: (centre, half-width / 2.5) of the values of κ tried, broad: every ``step`` within
    ±2.5 of the second about the first; ``gate_probability``: of the χ² gate past which a
    measurement is under thrust (for every κ tried); ``widen_m``, ``widen_mps``: standard
    deviations (m, m/s) added to the start's position and velocity so that the measurements, not
    the start, decide; ``sigma_floor``: the least standard deviation of κ returned (the model's
    own error: the real atmosphere is not the model's to a few per cent); ``sigma_max``: the
    largest: weaker evidence (a few measurements high in the air, where a likelihood this flat is
    far from Gaussian) is not returned.

    The likelihood of κ is profiled, not filtered: one backward filter per κ tried (κ held fixed,
    all in one batch) sums log N(y; 0, S) over the measurements kept, and the parabola of least squares
    through the κ within 2 of the best log-likelihood gives the Gaussian returned (mean at its
    vertex, variance minus one over twice its leading coefficient). Carrying κ in the filter's state instead spread its sigma
    points over a factor of ten in drag, and the answer then hung on the spread it started from
    (a 550-km warhead: β 1,535, 1,495 or 1,379 kg/m² from σ 1.0, 0.5 or 0.3 of κ; truth 1,414).
    None where the best κ lies at the end of the range tried, where the likelihood has no
    maximum, or where its σ exceeds ``sigma_max`` (nothing learnt).
    """
    if not measurements:
        return None
    m0, s0 = prior
    grid = m0 + np.arange(-2.5 * s0, 2.5 * s0 + 0.5 * step, step)
    G = len(grid)
    ukf = UnscentedKalmanFilter(motion, alpha=1.0)
    xs = np.repeat(np.asarray(x, dtype=float)[None], G, axis=0)
    xs[:, 6] = grid
    P0 = np.zeros((7, 7))
    P0[:6, :6] = P[:6, :6]
    P0[:3, :3] += np.eye(3) * widen_m**2
    P0[3:6, 3:6] += np.eye(3) * widen_mps**2
    P0[6, 6] = 1e-12                    # κ held at each value tried
    Ps = np.repeat(P0[None], G, axis=0)
    t_cur = float(t)
    times, logl = [], []                # per measurement kept: its time and log N(y; 0, S) per κ
    t_thrust = None
    for ms in sorted(measurements, key=lambda m: m.t, reverse=True):
        if ms.t > t_cur:
            continue
        if ms.t < t_cur:
            xs, Ps = ukf.predict(xs, Ps, np.full(G, ms.t - t_cur))
            Ps[:, 6, :] = Ps[:, :, 6] = 0.0
            Ps[:, 6, 6] = 1e-12
            t_cur = ms.t
        meas = EcefMeasurement(ms.model, frame)
        mp = ukf.predict_measurement(meas, xs, Ps)
        z = np.broadcast_to(ms.z, (G, len(ms.z)))
        y, S, Si = innovations(meas, mp, z, np.broadcast_to(ms.R, (G,) + ms.R.shape))
        d2 = np.einsum("ni,nij,nj->n", y, Si, y)
        if float(d2.min()) > chi2_gate(len(ms.z), gate_probability):
            t_thrust = ms.t
            break
        xs, Ps = update(xs, Ps, mp, y, S, Si)
        times.append(ms.t)
        logl.append(-0.5 * (d2 + np.linalg.slogdet(S)[1]))
    # the burnout lies after the thrust's measurement, and may lie a little after the next one too
    # (thrust for a fraction of a second can pass the gate): that one and the ``margin_s`` after it go
    t_free = min(times, default=np.inf) + margin_s if t_thrust is not None else -np.inf
    keep = [i for i, tm in enumerate(times) if tm >= t_free]
    if not keep:
        return None
    total = np.sum([logl[i] for i in keep], axis=0)
    b = int(np.argmax(total))
    if b == 0 or b == G - 1:
        return None                     # the best κ at the end of the range tried: no maximum
    # the parabola of least squares through the κ whose log-likelihood lies within 2 of the best
    # (about ±2 σ where it is Gaussian), the best's two neighbours at least
    near = np.flatnonzero(total >= total[b] - 2.0)
    near = np.union1d(near[(near >= b - 12) & (near <= b + 12)], [b - 1, b, b + 1])
    c2, c1, _ = np.polyfit(grid[near] - grid[b], total[near] - total[b], 2)
    if not c2 < 0.0:
        return None
    mean = grid[b] - c1 / (2.0 * c2)
    var = -1.0 / (2.0 * c2)
    if var > sigma_max**2 or not grid[0] < mean < grid[-1]:
        return None                     # less than the least information asked for: nothing learnt
    return ClimbDrag(float(mean), max(float(var), sigma_floor**2), float(times[keep[-1]]),
                     float(times[keep[0]]), len(keep), t_thrust)


__all__ = ["ClimbDrag", "ClimbMeasurement", "climb_drag"]
