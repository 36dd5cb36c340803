"""The drag learnt on the climb after burnout (skyweave/warn/climb.py): a backward free-flight
filter over the climb's measurements finds the burnout and what the climb shows of ln k."""

import math
from dataclasses import replace

import numpy as np
import pytest

from skyweave.geo import LocalFrame
from skyweave.geo.earth import height_above_ellipsoid_fast
from skyweave.scenario.ballistic import BallisticSpec, fly_ballistic, vehicle_for_range
from skyweave.warn.bank import EstimatorBank, beta_for_range, observe_log_k
from skyweave.warn.climb import ClimbMeasurement, climb_drag
from skyweave.warn.config import WarnConfig
from skyweave.warn.dynamics import BallisticMotion

RANGE_KM = 800.0
SIGMA_P, SIGMA_V = 30.0, 1.0        # m, m/s: a radar's range and Doppler accuracy, per axis


class PositionVelocity:
    """A test sensor measuring scenario-frame position and velocity (m, m/s)."""

    angle_mask = np.zeros(6, dtype=bool)

    def h(self, x):
        return x[:, :6].copy()

    def residual(self, z, zhat):
        return z - zhat


@pytest.fixture(scope="module")
def climb():
    """A short-range missile whose β lies 2.5 σ of the warner's prior below its range's typical
    one (S01-3 of the benchmark), measured every 0.5 s from 12 s before its burnout up to 85 km."""
    beta = beta_for_range(RANGE_KM) * math.exp(-2.5 * WarnConfig().range_prior_sigma)
    veh = replace(vehicle_for_range(RANGE_KM * 1000.0), beta_rv=beta)
    traj = fly_ballistic(BallisticSpec(39.0, 127.0, 0.0, 100.0, RANGE_KM * 1000.0), veh)
    frame = LocalFrame(38.5, 131.0, 0.0)
    rng = np.random.default_rng(11)
    R = np.diag([SIGMA_P**2] * 3 + [SIGMA_V**2] * 3)
    meas, t = [], traj.burnout_t - 12.0
    while True:
        s = traj.ecef(t)[0]
        if height_above_ellipsoid_fast(s[:3]) > 85_000.0:
            break
        z = np.r_[frame.from_ecef(s[:3]), frame.vector_from_ecef(s[3:6])] + rng.normal(0.0, 1.0, 6) * np.sqrt(np.diag(R))
        meas.append(ClimbMeasurement(t, z, R, PositionVelocity()))
        t += 0.5
    t_end = meas[-1].t
    x = np.r_[traj.ecef(t_end)[0], -math.log(WarnConfig().beta0)]
    x[:3] += 40.0
    x[3:6] -= 1.5
    P = np.diag([50.0**2] * 3 + [2.0**2] * 3 + [0.5**2])
    return traj, beta, frame, meas, x, P, t_end


def test_the_backward_filter_finds_the_burnout_and_learns_the_climbs_drag(climb):
    traj, beta, frame, meas, x, P, t_end = climb
    fix = climb_drag(x, P, t_end, meas, BallisticMotion(q=0.005, q_k=1e-8), frame,
                     prior=(-math.log(5_400.0), 1.0), gate_probability=0.9999, margin_s=1.0)
    # the thrust (tens of m/s² at cut-off) is found in the last half-second before the burnout ...
    assert fix is not None and traj.burnout_t - 0.6 <= fix.t_thrust < traj.burnout_t
    # ... and left out with a second's margin: only free flight is used
    assert fix.t_start >= fix.t_thrust + 1.0 and fix.t_end == t_end and fix.n > 20
    # ln k learnt to better than the range's prior, about the truth, far from that prior
    sigma = math.sqrt(fix.var)
    assert sigma < 0.5 * WarnConfig().range_prior_sigma
    assert abs(fix.mean + math.log(beta)) < 3.0 * sigma
    assert abs(fix.mean + math.log(beta_for_range(RANGE_KM))) > 3.0 * sigma


def test_with_the_thrust_left_in_the_drag_would_be_read_low(climb):
    """What the margin is for: a free-flight filter given the thrust's last seconds explains them
    by less drag (a higher β), which the backward filter's gate prevents."""
    traj, beta, frame, meas, x, P, t_end = climb
    motion = BallisticMotion(q=0.005, q_k=1e-8)
    fix = climb_drag(x, P, t_end, meas, motion, frame, prior=(-math.log(5_400.0), 1.0),
                     gate_probability=0.9999, margin_s=1.0)
    last = [m for m in meas if m.t >= traj.burnout_t - 0.5]             # the thrust's last half-second ...
    blind = climb_drag(x, P, t_end, last, motion, frame, prior=(-math.log(5_400.0), 1.0),
                       gate_probability=1.0, margin_s=0.0)                # ... and a gate nothing fails
    assert blind is not None and blind.t_thrust is None and blind.t_start < traj.burnout_t
    assert -blind.mean > -fix.mean + 0.5                                 # β read 65 % too high or more
    assert -blind.mean > -fix.mean + 3.0 * math.sqrt(fix.var)


def test_the_sigma_floor_and_nothing_learnt_without_measurements(climb):
    traj, beta, frame, meas, x, P, t_end = climb
    motion = BallisticMotion(q=0.005, q_k=1e-8)
    fix = climb_drag(x, P, t_end, meas, motion, frame, prior=(-math.log(5_400.0), 1.0),
                     gate_probability=0.9999, sigma_floor=0.3)
    assert math.sqrt(fix.var) == pytest.approx(0.3)
    assert climb_drag(x, P, t_end, [], motion, frame, prior=(0.0, 1.0), gate_probability=0.9999) is None
    # measurements above the sensible air only: they show nothing of the drag
    high = [m for m in meas if m.t > t_end - 1.0]
    assert climb_drag(x, P, t_end, high, motion, frame, prior=(-math.log(5_400.0), 1.0),
                      gate_probability=0.9999) is None


def test_the_climbs_evidence_is_a_pseudo_measurement_of_ln_k_that_moves_the_kinematics():
    bank = EstimatorBank({}, LocalFrame(38.0, 133.0, 0.0), WarnConfig())
    P = np.diag([100.0**2] * 3 + [10.0**2] * 3 + [0.4**2])
    P[3, 6] = P[6, 3] = 0.5 * 10.0 * 0.4
    st = bank.imm.new(np.r_[np.zeros(6), -8.0][None], P[None])
    observe_log_k(st, -7.0, 0.2**2)
    info = 1 / 0.4**2 + 1 / 0.2**2
    for j in range(2):
        assert st["Pm"][0, j, 6, 6] == pytest.approx(1 / info)
        assert st["xm"][0, j, 6] == pytest.approx((-8.0 / 0.4**2 - 7.0 / 0.2**2) / info)
        assert st["xm"][0, j, 3] == pytest.approx(0.5 * 10.0 * 0.4 / (0.4**2 + 0.2**2) * 1.0)
