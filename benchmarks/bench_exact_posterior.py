"""How honest can any tracker be on the clutter family's motion? The exact posterior, measured.

Issue 13 asks for covariances honest in two senses: the pooled ANEES within ±20 % of the state
dimension, and at least 90 % of tracks with their own mean NEES inside their 95 % bounds (the
batch-means test of ``skyweave eval``, :class:`skyweave.metrics.errors.TrackNees`). This script
asks what the *exact* Bayesian posterior scores on those two tests when the truth moves as the
shipped scenario family moves, so that the goal can be judged apart from any one tracker.

The model is the family's own (``skyweave/scenario/world.py``, ``_FamilySource``): a target flies
straight; in each step it starts a coordinated turn of ±ω (either sign, even odds) with
probability 1 − exp(−p·dt); the turn lasts a duration drawn uniformly from [a, b] s, whole steps;
nothing else moves it (no process noise). Read from the scenario file: ω (``turn_rate_dps``), p
(``turn_prob_per_s``), [a, b] (``turn_duration_s``), the speeds, the square and its radars (range
and bearing σ, 1 s scans, phased by half a period, Pd). Not modelled: the turn back at the square's
edge (the targets here fly on an open plane) and clutter (association is known): both only make a
real tracker's task harder.

Given the sequence of modes the model is linear and Gaussian (a known-rate turn is a linear map),
so the posterior is a mixture of Kalman filters, one per mode sequence (Ackerson & Fu, IEEE TAC
15(1), 1970). Each hypothesis carries its Kalman filter, its weight and, when turning, the
distribution of its turn's age (the uniform duration makes the end depend on it). In each step it
has three children with their exact prior probabilities (:func:`children`): a turning hypothesis
goes on turning the same way, ends into straight flight, or ends into a turn of the other sign (a
turn that ends and a new one of the same sign that begins move the target alike, so they are one
child with a mixed age: kept apart, such twins crowd everything else out); a straight one stays
straight or begins either turn. The ``--particles`` heaviest children go on (a beam; the
largest mass pruned in a step is reported). With no process noise a hypothesis whose turn begins
half a step off never comes back, so the beam is checked against a certificate: the exact
evidence p(z) is at least p(truth's mode path)·p(z | that path), computed by a Kalman filter told
the truth's modes; a target whose beam evidence falls below that term has lost its own path and
is counted as "lost" (its figures are given with and without). The script imports nothing of
skyweave's tracker, only the scorer's per-track test, the thing being judged. Its pooled ANEES
coming out at n checks that it is the posterior; its per-track shares are what an honest tracker
can reach. ``--calibration`` also runs the per-track test on a plain Kalman filter whose truth is
drawn from its own linear model.

    python benchmarks/bench_exact_posterior.py [--scenario skyweave/scenarios/clutter-100.yaml]
        [--duration 600] [--tracks 200] [--particles 200] [--seed 1] [--calibration] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Family:
    """The motion and the radars of a scenario's ``clutter_family`` block."""

    n_targets: int
    spacing_m: float
    radars: int
    speed_mps: tuple[float, float]
    turn_rate_dps: float
    turn_prob_per_s: float
    turn_duration_s: tuple[float, float]
    sigma_range_m: float = 20.0
    sigma_bearing_deg: float = 0.05
    pd: float = 0.9
    period_s: float = 1.0


def read_family(path: Path) -> Family:
    """The clutter family of a scenario file (plain YAML: this script does not use skyweave's reader)."""
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"bench_exact_posterior: cannot read scenario {path}: {e}")
    fam = (doc or {}).get("clutter_family") if isinstance(doc, dict) else None
    if not isinstance(fam, dict):
        raise SystemExit(f"bench_exact_posterior: {path} has no clutter_family block")
    try:
        out = Family(
            n_targets=int(fam["n_targets"]), spacing_m=float(fam.get("spacing_m", 5000.0)),
            radars=int(fam.get("radars", 2)), speed_mps=tuple(float(v) for v in fam["speed_mps"]),
            turn_rate_dps=float(fam["turn_rate_dps"]), turn_prob_per_s=float(fam["turn_prob_per_s"]),
            turn_duration_s=tuple(float(v) for v in fam["turn_duration_s"]),
        )
    except KeyError as e:
        raise SystemExit(f"bench_exact_posterior: {path}: clutter_family needs {e.args[0]}")
    except (TypeError, ValueError) as e:
        raise SystemExit(f"bench_exact_posterior: {path}: clutter_family has a bad value: {e}")
    a, b = out.turn_duration_s if len(out.turn_duration_s) == 2 else (0.0, -1.0)
    if not (out.n_targets > 0 and out.radars > 0 and 0 < a < b and out.turn_prob_per_s >= 0 and len(out.speed_mps) == 2):
        raise SystemExit(f"bench_exact_posterior: {path}: clutter_family needs n_targets and radars > 0, "
                         "turn_duration_s [a, b] with 0 < a < b, speed_mps [lo, hi] and turn_prob_per_s >= 0")
    return out


def turn_matrix(w: float, T: float) -> np.ndarray:
    """F of a coordinated turn at rate w (rad/s) over T s, state [x, y, vx, vy] (w = 0: straight)."""
    if abs(w) < 1e-12:
        return np.array([[1, 0, T, 0], [0, 1, 0, T], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    s, c = math.sin(w * T), math.cos(w * T)
    return np.array([[1, 0, s / w, -(1 - c) / w],
                     [0, 1, (1 - c) / w, s / w],
                     [0, 0, c, -s],
                     [0, 0, s, c]])


def duration_steps(a: float, b: float, dt: float) -> np.ndarray:
    """Element i: P(K = i + 1), where a turn of D ~ U(a, b) s lasts K = ceil(D / dt) steps."""
    kmax = int(math.ceil(b / dt)) + 1
    edges = np.clip(np.arange(kmax + 1) * dt, a, b)
    return np.diff(edges) / (b - a)          # P(i dt < D <= (i + 1) dt)


def continue_probs(a: float, b: float, dt: float) -> np.ndarray:
    """c[j] = P(K > j | K >= j): a turn that has run j >= 1 steps runs another (c[0] = 0, and 0
    where no turn lasts j steps)."""
    pk = np.concatenate([[0.0], duration_steps(a, b, dt)])   # pk[k] = P(K = k)
    surv = np.r_[pk[::-1].cumsum()[::-1], 0.0]               # surv[k] = P(K >= k)
    c = np.zeros(len(pk) + 1)
    j = np.arange(1, len(pk))
    with np.errstate(divide="ignore", invalid="ignore"):
        c[j] = np.where(surv[j] > 0, surv[j + 1] / surv[j], 0.0)
    return c


def radar_positions(f: Family) -> np.ndarray:
    """The family's radars: on a ring half the square's half-side out, the first due south."""
    half = 0.5 * f.spacing_m * math.sqrt(f.n_targets)
    ring = 0.5 * half
    ang = 2 * np.pi * np.arange(f.radars) / f.radars + np.pi
    return np.column_stack([ring * np.sin(ang), ring * np.cos(ang)])


def polar_cov(pos: np.ndarray, radar: np.ndarray, sr: float, sb: float) -> np.ndarray:
    """Cartesian covariance (M, 2, 2) of a range-bearing fix at ``pos`` (M, 2) seen from ``radar``."""
    d = pos - radar
    r = np.hypot(d[:, 0], d[:, 1])
    b = np.arctan2(d[:, 0], d[:, 1])        # bearing from north, clockwise
    u = np.column_stack([np.sin(b), np.cos(b)])            # along range
    v = np.column_stack([np.cos(b), -np.sin(b)])           # across, per radian times r
    return (sr**2) * u[:, :, None] * u[:, None, :] + ((r * sb) ** 2)[:, None, None] * v[:, :, None] * v[:, None, :]


def white_acceleration(q: float, T: float) -> np.ndarray:
    """Q of the continuous white-noise acceleration model, density q (m²/s³), over T s, [x, y, vx, vy]."""
    a = np.array([[T**3 / 3, T**2 / 2], [T**2 / 2, T]]) * q
    Q = np.zeros((4, 4))
    Q[np.ix_([0, 2], [0, 2])] = a
    Q[np.ix_([1, 3], [1, 3])] = a
    return Q


def children(pmode: np.ndarray, pjd: np.ndarray, cont: np.ndarray, start: float):
    """The three children of each hypothesis: (prior (..., 3), mode (..., 3), age distribution (..., 3, J)).

    ``pmode`` (...) 0 straight, 1 left, 2 right; ``pjd`` (..., J) P(the turn has run j steps) of a
    turning hypothesis; ``cont[j]`` P(a turn that has run j steps goes on); ``start`` P(a straight
    target begins a turn in a step). A turning hypothesis goes on turning the same way (its turn
    continues, or ends and a new one of the same sign begins: the same motion, so one child whose
    age is a mixture), ends into straight flight, or ends into a turn of the other sign; a straight
    one stays straight or begins either turn (age one step).
    """
    J = pjd.shape[-1]
    turning = pmode > 0
    go = pjd * cont[:J]                                                # mass that continues, by age
    end = np.where(turning, pjd.sum(-1) - go.sum(-1), 0.0)             # mass whose turn ends now
    prior = np.empty(pmode.shape + (3,))
    prior[..., 0] = np.where(turning, go.sum(-1) + end * start / 2, 1.0 - start)
    prior[..., 1] = np.where(turning, end * (1.0 - start), start / 2)
    prior[..., 2] = np.where(turning, end * start / 2, start / 2)
    jd0 = np.zeros_like(pjd)
    jd0[..., 1:] = go[..., :-1]
    jd0[..., 1] += end * start / 2
    cjd = np.zeros(pmode.shape + (3, J))
    cjd[..., 0, :] = np.where(turning[..., None], jd0, 0.0)
    cjd[..., 1, 1] = np.where(turning, 0.0, 1.0)
    cjd[..., 2, 1] = 1.0
    cjd /= np.maximum(cjd.sum(-1, keepdims=True), 1e-300)
    other = np.where(pmode == 1, 2, 1)
    cmode = np.stack([pmode, np.where(turning, 0, 1), np.where(turning, other, 2)], axis=-1)
    return prior, cmode, cjd


def run(f: Family, duration: float, tracks: int, particles: int, seed: int, q: float = 0.0,
        series: bool = False) -> dict:
    """Simulate ``tracks`` targets for ``duration`` s and filter each with the exact posterior.

    ``q`` > 0 adds white-noise acceleration of that density to the truth and to the model (0: the
    family's own deterministic motion). Returns :func:`score` of the NEES of every target at every
    step, with the targets lost by the beam, the share that never turned, the largest mass pruned
    in a step and the seconds taken (and the NEES themselves, (steps, targets), with ``series``).
    """
    rng = np.random.default_rng(seed)
    M, N = tracks, particles
    dt = f.period_s / f.radars                      # radars phased by an equal share of the period
    steps = int(round(duration / dt))
    w = math.radians(f.turn_rate_dps)
    Fs = np.stack([turn_matrix(0.0, dt), turn_matrix(w, dt), turn_matrix(-w, dt)])   # mode 0, +1, -1 → 0, 1, 2
    Q = white_acceleration(q, dt)
    LQ = np.linalg.cholesky(Q) if q > 0 else None
    start = 1.0 - math.exp(-f.turn_prob_per_s * dt)
    cont = continue_probs(*f.turn_duration_s, dt)
    J = len(cont)
    radars = radar_positions(f)
    sb = math.radians(f.sigma_bearing_deg)

    # truth: uniform in the square, uniform heading and speed; straight at the start
    half = 0.5 * f.spacing_m * math.sqrt(f.n_targets)
    heading = rng.uniform(0, 2 * np.pi, M)
    speed = rng.uniform(*f.speed_mps, M)
    X = np.column_stack([rng.uniform(-half, half, (M, 2)), speed * np.sin(heading), speed * np.cos(heading)])
    tmode = np.zeros(M, dtype=int)                  # 0 straight, 1 left, 2 right
    tleft = np.zeros(M, dtype=int)                  # steps left in the turn
    kmass = duration_steps(*f.turn_duration_s, dt)

    # prior: the truth drawn around the filter's mean with covariance P0 (so the prior is honest)
    P0 = np.diag([100.0**2, 100.0**2, 10.0**2, 10.0**2])
    m = X + rng.standard_normal((M, 4)) @ np.linalg.cholesky(P0).T
    pm = np.repeat(m[:, None, :], N, axis=1)        # (M, N, 4)
    pP = np.broadcast_to(P0, (M, N, 4, 4)).copy()
    pmode = np.zeros((M, N), dtype=int)
    pjd = np.zeros((M, N, J))                       # P(its turn has run j steps), turning hypotheses
    plogw = np.full((M, N), -np.inf)                # log weights: one hypothesis to begin with
    plogw[:, 0] = 0.0
    pruned = np.zeros(M)                            # the largest probability pruned in one step
    # the certificate: the exact evidence p(z) is at least p(truth's mode path) · p(z | that path);
    # where the beam's evidence falls below that term it has dropped the truth's own path
    log_ev = np.zeros(M)
    log_joint = np.zeros(M)
    om, oP = m.copy(), np.broadcast_to(P0, (M, 4, 4)).copy()     # the Kalman filter told the truth's modes
    tj = np.zeros(M, dtype=int)                     # steps the truth's current turn has run
    lost = np.zeros(M, dtype=bool)

    trace = np.zeros((steps, M))                    # NEES of every target at every step
    ever_turned = np.zeros(M, dtype=bool)
    t0 = time.perf_counter()
    for k in range(steps):
        # truth: decide, then move one step
        straight = tleft <= 0
        begin = straight & (rng.random(M) < start)
        was = tj > 0
        with np.errstate(divide="ignore"):
            log_joint += np.where(was & ~straight, np.log(cont[tj]), 0.0)
            log_joint += np.where(was & straight, np.log1p(-cont[tj]), 0.0)
            log_joint += np.where(straight, np.where(begin, np.log(start / 2), np.log1p(-start)), 0.0)
        tj = np.where(straight, np.where(begin, 1, 0), tj + 1)
        sign = np.where(rng.random(M) < 0.5, 1, 2)
        tmode = np.where(begin, sign, np.where(straight, 0, tmode))
        dur = 1 + rng.choice(len(kmass), size=M, p=kmass)
        tleft = np.where(begin, dur, tleft)
        ever_turned |= tmode > 0
        used = Fs[tmode]
        X = np.einsum("mij,mj->mi", used, X)
        if LQ is not None:
            X = X + rng.standard_normal((M, 4)) @ LQ.T
        tleft = tleft - 1
        tmode = np.where(tleft > 0, tmode, 0)

        # hypotheses: each has three children with their prior probabilities
        prior, cmode, cjd = children(pmode, pjd, cont, start)
        F = Fs[cmode]                                                      # (M, N, 3, 4, 4)
        cm = np.einsum("mnkij,mnj->mnki", F, pm)
        cP = np.einsum("mnkij,mnjl->mnkil", F, pP)
        cP = np.einsum("mnkil,mnkol->mnkio", cP, F) + Q

        # the radar of this step: a fix with probability Pd
        r = k % f.radars
        R = polar_cov(X[:, :2], radars[r], f.sigma_range_m, sb)          # (M, 2, 2)
        seen = rng.random(M) < f.pd
        z = X[:, :2] + np.einsum("mij,mj->mi", np.linalg.cholesky(R), rng.standard_normal((M, 2)))
        with np.errstate(divide="ignore"):
            logw = np.log(prior) + plogw[..., None]
        if seen.any():
            S = cP[..., :2, :2] + R[:, None, None]
            nu = z[:, None, None, :] - cm[..., :2]
            Si = np.linalg.inv(S)
            maha = np.einsum("mnki,mnkij,mnkj->mnk", nu, Si, nu)
            ll = -0.5 * maha - 0.5 * np.log(np.linalg.det(S))
            K = np.einsum("mnkij,mnkjl->mnkil", cP[..., :, :2], Si)
            um = cm + np.einsum("mnkij,mnkj->mnki", K, nu)
            uP = cP - np.einsum("mnkij,mnkjl->mnkil", K, cP[..., :2, :])
            sel = seen[:, None, None]
            cm = np.where(sel[..., None], um, cm)
            cP = np.where(sel[..., None, None], uP, cP)
            logw = logw + np.where(sel, ll, 0.0)
        # the truth's own path: its Kalman filter and its term of the evidence
        om = np.einsum("mij,mj->mi", used, om)
        oP = used @ oP @ np.transpose(used, (0, 2, 1)) + Q
        So = oP[:, :2, :2] + R
        nuo = z - om[:, :2]
        Ko = oP[:, :, :2] @ np.linalg.inv(So)
        llo = -0.5 * np.einsum("mi,mi->m", nuo, np.linalg.solve(So, nuo[..., None])[..., 0]) - 0.5 * np.log(np.linalg.det(So))
        om = np.where(seen[:, None], om + np.einsum("mij,mj->mi", Ko, nuo), om)
        oP = np.where(seen[:, None, None], oP - Ko @ oP[:, :2, :], oP)
        log_joint += np.where(seen, llo, 0.0)
        C = 3 * N
        logw = logw.reshape(M, C)
        top = logw.max(axis=1, keepdims=True)
        wts = np.exp(logw - top)
        total = wts.sum(axis=1, keepdims=True)
        log_ev += top[:, 0] + np.log(total[:, 0])
        wts /= total
        cm = cm.reshape(M, C, 4)
        cP = cP.reshape(M, C, 4, 4)

        # the posterior's mean and covariance, and its NEES against the truth
        mean = np.einsum("mc,mci->mi", wts, cm)
        d = cm - mean[:, None, :]
        cov = np.einsum("mc,mcij->mij", wts, cP + d[..., :, None] * d[..., None, :])
        e = mean - X
        v = np.einsum("mi,mi->m", e, np.linalg.solve(cov, e[..., None])[..., 0])
        trace[k] = v

        # the N heaviest hypotheses go on (a beam over mode sequences); what the rest held is counted
        idx = np.argpartition(-wts, N - 1, axis=1)[:, :N]
        rows = np.arange(M)[:, None]
        kept = wts[rows, idx]
        pruned = np.maximum(pruned, 1.0 - kept.sum(axis=1))
        log_ev += np.log(kept.sum(axis=1))
        lost |= log_joint > log_ev + 1e-6
        plogw = np.log(np.maximum(kept, 0.0) + 1e-300) - np.log(kept.sum(axis=1, keepdims=True))
        plogw[kept <= 0] = -np.inf
        pm = cm[rows, idx]
        pP = cP[rows, idx]
        pmode = cmode.reshape(M, C)[rows, idx]
        pjd = cjd.reshape(M, C, J)[rows, idx]
    elapsed = time.perf_counter() - t0

    out = score(trace, ~lost)
    out.update(lost=int(lost.sum()), never_turned=float(np.mean(~ever_turned)), seconds=elapsed,
               pruned_max=float(pruned.max()), series=trace if series else None)
    return out


def score(trace: np.ndarray, keep: np.ndarray, n: int = 4) -> dict:
    """Pooled ANEES (intervals over pairs and over tracks as units) and eval's per-track shares of
    the NEES ``trace`` (steps, tracks), all tracks and the ``keep`` ones."""
    from scipy.stats import t as student

    from skyweave.metrics.errors import TrackNees, anees_interval

    out = {}
    for tag, cols in (("", np.ones(trace.shape[1], dtype=bool)), ("kept_", keep)):
        v = trace[:, cols]
        k = v.shape[1]
        if k < 2:
            out[tag + "anees"] = float("nan")
            continue
        tn = TrackNees()
        codes = np.arange(k)
        for row in v:
            tn.add(codes, row)
        res = tn.result(n)
        means = v.mean(axis=0)
        anees = float(v.mean())
        half = float(student.ppf(0.975, k - 1) * means.std(ddof=1) / math.sqrt(k))
        out.update({tag + "anees": anees, tag + "interval_pairs": anees_interval(v.size, n),
                    tag + "interval_tracks": (anees - half, anees + half), tag + "tracks": res["tracks"],
                    tag + "inside": res["inside"], tag + "below": res["below"], tag + "above": res["above"]})
    return out


def _row(label: str, d: float, r: dict) -> str:
    def part(tag: str) -> str:
        if not math.isfinite(r[tag + "anees"]):
            return "— | — | — | —"
        ip, it = r[tag + "interval_pairs"], r[tag + "interval_tracks"]
        return (f"{r[tag + 'anees']:.2f} | [{ip[0]:.2f}, {ip[1]:.2f}] | [{it[0]:.2f}, {it[1]:.2f}] "
                f"| {100 * r[tag + 'inside']:.1f} / {100 * r[tag + 'below']:.1f} / {100 * r[tag + 'above']:.1f} % of {r[tag + 'tracks']}")
    return (f"| {label} | {d:.0f} s | {100 * r['never_turned']:.0f} % | {r['lost']} | {part('')} | {part('kept_')} "
            f"| {r['pruned_max']:.1e} | {r['seconds']:.0f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", type=Path, action="append",
                    help="scenario file with a clutter_family (repeatable; default: clutter-100 and manoeuvring-100)")
    ap.add_argument("--duration", type=float, action="append",
                    help="seconds per run (repeatable; default: 120 and 600)")
    ap.add_argument("--tracks", type=int, default=200, help="targets (Monte Carlo runs) per case")
    ap.add_argument("--particles", type=int, default=200, help="hypotheses kept per target")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--calibration", action="store_true",
                    help="also run the per-track test on a plain Kalman filter whose truth is drawn from its own "
                         "linear model (no turns; white-noise acceleration q = 0, 0.01, 0.1, 1, 10 m²/s³)")
    ap.add_argument("--quick", action="store_true", help="50 targets, 120 s, 100 hypotheses (a minute)")
    a = ap.parse_args(argv)
    if a.quick:
        a.tracks, a.particles, a.duration = 50, 100, a.duration or [120.0]
    if a.tracks < 2 or a.particles < 1:
        ap.error("--tracks must be at least 2 and --particles at least 1")
    durations = a.duration or [120.0, 600.0]
    if any(not (d > 0 and math.isfinite(d)) for d in durations):
        ap.error("--duration must be a positive number of seconds")
    scenarios = a.scenario or [ROOT / "skyweave/scenarios/clutter-100.yaml", ROOT / "skyweave/scenarios/manoeuvring-100.yaml"]
    fams = [(Path(sc).stem, read_family(sc)) for sc in scenarios]
    print(f"exact posterior (mode-sequence hypotheses, {a.particles} kept), {a.tracks} targets per case, seed {a.seed}; "
          "per-track shares by skyweave eval's own test")
    print("| case | duration | never turned | lost | ANEES of 4 | 95 % interval (pairs) | 95 % interval (tracks as units) "
          "| tracks inside / below / above | the same without the lost targets: ANEES | (pairs) | (tracks) | inside / below / above "
          "| pruned (max) | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, fam in fams:
        for d in durations:
            print(_row(name, d, run(fam, d, a.tracks, a.particles, a.seed)), flush=True)
    if a.calibration:
        name, fam = fams[0]
        plain = replace(fam, turn_prob_per_s=0.0)
        for q in (0.0, 0.01, 0.1, 1.0, 10.0):
            for d in durations:
                print(_row(f"Kalman filter, q = {q:g} ({name} radars)", d, run(plain, d, a.tracks, 1, a.seed, q=q)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
