"""The multi-sensor, multi-target tracker: scans in, confirmed tracks out, all of it batched.

Each scan (one sensor's detections at one time) is processed at its own time:

1. every track is predicted to the scan time (one batched call of the estimator);
2. a grid pre-gate and the chi-square gate give the plausible (track, measurement) pairs;
3. confirmed tracks are associated first (GNN or JPDA, per independent cluster), tentative tracks
   then take what is left (GNN), and the remaining measurements start new tentative tracks;
4. updates, confirmation, deletion and track quality are vectorised over the table.

Asynchronous and out-of-sequence data (Bar-Shalom, "Update with out-of-sequence measurements in
tracking: exact solution", IEEE TAES 38(3), 2002, discusses the alternatives): the tracker keeps
the scans of the last ``lag_s`` seconds with a snapshot of the table before each. A scan that
arrives older than the newest is folded in *exactly* by restoring the snapshot before the first
later scan and re-processing from there in time order (the re-processing buffer). Output frames
(one per distinct detection time, as tracks.jsonl wants) become final once no scan can arrive
before them any more, i.e. when they are older than the newest time minus ``lag_s``; so the file
output is in time order and reflects all data, while :meth:`Tracker.picture` gives the live,
provisional picture at once. A scan older than the window is not silently dropped: it is
counted and reported (``late``), since folding it in would need data no longer kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from skyweave.geo import LocalFrame
from skyweave.track.association import candidate_pairs, chi2_gate, clusters, gnn, jpda
from skyweave.track.config import TrackerConfig
from skyweave.track.estimator import IMM, AdaptiveQ, LearntTPM, SingleModel, departure_shares, gaussian_loglik, set_rows, state_rows
from skyweave.track.filters import make_filter
from skyweave.track.filters import update as kalman_update
from skyweave.track.management import confirm_mask, delete_mask, track_quality
from skyweave.track.measurement import PolarMeasurement
from skyweave.track.motion import ConstantVelocity, CoordinatedTurn, FixedRateTurn, make_model
from skyweave.track.sensors import MeasurementScan, SensorInfo, in_any_coverage, in_coverage, position_sigma_bound
from skyweave.track.table import CONFIRMED, TENTATIVE, TrackTable


def make_estimator(cfg: TrackerConfig, d: int):
    """The estimator a configuration asks for: one filter, the CV/CT IMM, or the IMM with known-rate turn modes.

    The IMM's modes, in order: the CV mode (``imm_q_cv``, turn rate held at 0 ± ``imm_omega_sigma``);
    the ω-estimating CT mode (``imm_q_ct``, ``q_omega``; with a turn grid, a catch-all for rates off
    it, left out if ``imm_turn_ct`` is false); the fast CT mode where ``imm_fast_q_omega`` > 0; with
    ``imm_turn_rates_dps``, one :class:`FixedRateTurn` per rate and direction (``imm_turn_q``,
    sojourn ``imm_turn_sojourn_s``, turn rate held at its own ± ``imm_omega_sigma``); in 3-D the
    high-noise CV mode where ``imm_q_high`` > 0. Without a grid each mode's departures split evenly
    over the others; with one the chain is star-shaped (:func:`departure_shares`, ``imm_turn_hop``).
    A new track starts at 0.8 on CV (0.7 in 3-D with the high mode and no grid), the rest split
    evenly. ``imm_learn_tpm`` learns each track's rates, these as the prior.
    """
    ad = AdaptiveQ(cfg.adaptive_q_memory, cfg.adaptive_q_min, cfg.adaptive_q_max) if cfg.adaptive_q else None
    if cfg.model != "imm":
        q = cfg.q_ca if cfg.model == "ca" else cfg.q
        return SingleModel(make_filter(cfg.filter, make_model(cfg.model, d, q, cfg.q_omega)), adaptive=ad)
    grid = cfg.imm_turn_rates_dps
    models = [(ConstantVelocity(d=d, q=cfg.imm_q_cv, turn_rate=True, omega_sigma=cfg.imm_omega_sigma), cfg.imm_sojourn_s[0])]
    if cfg.imm_turn_ct or not grid:
        models.append((CoordinatedTurn(d=d, q=cfg.imm_q_ct, q_omega=cfg.q_omega), cfg.imm_sojourn_s[1]))
    if cfg.imm_fast_q_omega > 0:
        models.append((CoordinatedTurn(d=d, q=cfg.imm_fast_q, q_omega=cfg.imm_fast_q_omega), cfg.imm_fast_sojourn_s))
    for rate in grid:
        for sign in (1.0, -1.0):
            models.append((FixedRateTurn(d=d, q=cfg.imm_turn_q, omega=sign * np.radians(rate), omega_sigma=cfg.imm_omega_sigma),
                           cfg.imm_turn_sojourn_s))
    high = d == 3 and cfg.imm_q_high > 0
    if high:
        models.append((ConstantVelocity(d=d, q=cfg.imm_q_high, turn_rate=True, omega_sigma=cfg.imm_omega_sigma),
                       cfg.imm_high_sojourn_s))
    r = len(models)
    sojourn = tuple(t for _, t in models)
    shares = departure_shares(r, cfg.imm_turn_hop) if grid else None
    rest = 0.3 if high and not grid else 0.2
    mu0 = [1.0 - rest] + [rest / (r - 1)] * (r - 1)
    fname = "ukf" if cfg.filter == "ukf" else "ekf"
    learnt = LearntTPM(sojourn, cfg.imm_tpm_prior_count, cfg.imm_tpm_memory_s,
                       cfg.imm_tpm_switch_at if cfg.imm_tpm_counts == "decided" else None, shares=shares) if cfg.imm_learn_tpm else None
    return IMM([make_filter(fname, m) for m, _ in models], sojourn, mu0=mu0, adaptive=ad, learnt=learnt, shares=shares)


def bound_unobserved_altitude(state: dict, sigma_z: float, sigma_vz: float, d: int) -> dict:
    """Hold an unobserved altitude to its bounded prior: the Schmidt consider states of measurement.py.

    A track's altitude is unobserved while σ_z ≥ ½ ``sigma_z`` (m). For those rows, in every
    covariance of the estimator's state (each IMM mode's too), z and v_z lose their correlation
    with the other components, and their variances are capped at ``sigma_z``² and ``sigma_vz``²:
    without a measurement of height, process noise would grow them without bound (σ_z ∝ t^{3/2})
    and, through the slant range, inflate every range's noise.
    """
    P = state["P"] if "P" in state else state["Pm"]
    var = P[..., 2, 2] if P.ndim == 3 else P[..., 2, 2].max(axis=1)
    rows = np.flatnonzero(var >= (0.5 * sigma_z) ** 2)
    if len(rows) == 0:
        return state
    out = dict(state)
    hz = (2, 2 * d - 1)
    for key in ("P", "Pm"):
        if key not in out:
            continue
        Q = out[key].copy()
        sub = Q[rows]
        keep = [sub[..., i, i].copy() for i in hz]
        for i in hz:
            sub[..., i, :] = 0.0
            sub[..., :, i] = 0.0
        sub[..., hz[0], hz[0]] = np.minimum(keep[0], sigma_z**2)
        sub[..., hz[1], hz[1]] = np.minimum(keep[1], sigma_vz**2)
        Q[rows] = sub
        out[key] = Q
    return out


@dataclass
class Frame:
    """Confirmed tracks at one time t: ids (K,) str, states (K, 2d) [p, v], covariances (K, 2d, 2d)."""

    t: float
    ids: list
    x: np.ndarray
    P: np.ndarray
    quality: np.ndarray
    identity: np.ndarray
    sensors: np.ndarray
    keys: np.ndarray
    t_hit: np.ndarray | None = None   # (K,) time of each track's last detection (s)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class _Entry:
    t: float
    scan: MeasurementScan
    snapshot: tuple


class Tracker:
    """A tracker over a fixed set of sensors.

    Parameters
    ----------
    sensors : sequence of sensor descriptions (sensors.json entries: id, kind, nation, position,
        noise figures, pd, clutter_per_scan, max_range_m, ...).
    dims : 2 (flat plane) or 3.
    frame : the scenario's geodetic frame (3-D scenarios with an origin), or None.
    config : :class:`TrackerConfig`.
    """

    def __init__(self, sensors, dims: int, frame: LocalFrame | None = None, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.d = int(dims)
        self.frame = frame
        cfg = self.config
        self.sensors = {s.id: SensorInfo.from_spec(i, s, self.d, cfg.pd, cfg.clutter_per_scan) for i, s in enumerate(sensors)}
        self.estimator = make_estimator(cfg, self.d)
        self.n = self.estimator.n
        self.max_speed = cfg.max_speed_mps or (400.0 if self.d == 2 else 3000.0)
        self.tab = TrackTable.empty(self.estimator)
        self._key = 0
        self._next_id = 1
        self._history: list[_Entry] = []
        self._frames: dict[float, Frame] = {}
        self._t_latest = -np.inf
        self._flushed_t = -np.inf
        self.stats: Counter = Counter()
        self.late: list[tuple[str, float, float]] = []  # (sensor, t, newest t) of scans beyond the window
        self._gamma: dict[int, float] = {}
        self._combined: tuple | None = None
        # per scan run by the last process() call: (sensor id, t, track keys, measurement index)
        # of each track a measurement updated (GNN): two trackers fed the same scan pair their
        # tracks by the detections they share (a node's per-audience trackers, skyweave.node.audience)
        self.hits: list[tuple[str, float, np.ndarray, np.ndarray]] = []

    # ------------------------------------------------------------------ public API

    def process(self, scan: MeasurementScan) -> None:
        """Take one scan, in arrival order; out-of-sequence scans within ``lag_s`` are folded in exactly."""
        self.stats["scans"] += 1
        self.stats["measurements"] += len(scan)
        self.hits = []
        horizon = self._t_latest - self.config.lag_s
        if scan.t < horizon or scan.t < self._flushed_t:
            self.stats["late_scans"] += 1
            self.stats["late_measurements"] += len(scan)
            self.late.append((scan.sensor.id, scan.t, self._t_latest))
            return
        h = self._history
        if not h or scan.t >= h[-1].t:
            self._run(scan)
        else:
            p = next(i for i, e in enumerate(h) if e.t > scan.t)
            redo = h[p:]
            self.tab, self._key, self._next_id = redo[0].snapshot
            del h[p:]
            self.stats["out_of_sequence_scans"] += 1
            self.stats["reprocessed_scans"] += len(redo)
            self._run(scan)
            for e in redo:
                self._run(e.scan)
        self._t_latest = max(self._t_latest, scan.t)
        keep_from = self._t_latest - self.config.lag_s
        k = 0
        while k < len(h) and h[k].t < keep_from:
            k += 1
        if k:
            del h[:k]

    def ready_frames(self):
        """Frames that can no longer change (older than the out-of-sequence window), in time order."""
        horizon = self._t_latest - self.config.lag_s
        for t in sorted(t for t in self._frames if t < horizon):
            self._flushed_t = t
            yield self._frames.pop(t)

    def flush(self):
        """All remaining frames, in time order (at the end of the input)."""
        for t in sorted(self._frames):
            self._flushed_t = t
            yield self._frames.pop(t)
        self._history.clear()

    def picture(self) -> Frame:
        """The live (provisional) picture: confirmed tracks at the newest processed time."""
        return self._frame(self.tab, self._t_latest if np.isfinite(self._t_latest) else 0.0)

    # ------------------------------------------------------------------ internals

    def _run(self, scan: MeasurementScan) -> None:
        self._history.append(_Entry(scan.t, scan, (self.tab, self._key, self._next_id)))
        self._combined = None
        self.tab = self._step(self.tab, scan)
        self._frames[scan.t] = self._frame(self.tab, scan.t, self._combined)

    def gamma(self, m: int) -> float:
        if m not in self._gamma:
            self._gamma[m] = chi2_gate(m, self.config.gate_probability)
        return self._gamma[m]

    def _frame(self, tab: TrackTable, t: float, combined: tuple | None = None) -> Frame:
        conf = np.flatnonzero(tab.cols["status"] == CONFIRMED)
        k = 2 * self.d
        if len(conf) == 0:
            return Frame(t, [], np.zeros((0, k)), np.zeros((0, k, k)), np.zeros(0, np.int8), np.zeros(0, np.int64),
                         np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0))
        x, P = (combined[0][conf], combined[1][conf]) if combined is not None else self.estimator.combined(state_rows(tab.state, conf))
        ids = tab.cols["id"][conf]
        pre = self.config.id_prefix
        return Frame(
            t, [f"{pre}-{i}" for i in ids.tolist()], x[:, :k], P[:, :k, :k], track_quality(P[:, : self.d, : self.d]),
            tab.cols["identity"][conf], tab.cols["sensors"][conf], tab.cols["key"][conf], tab.cols["t_hit"][conf],
        )

    def _step(self, tab: TrackTable, scan: MeasurementScan) -> TrackTable:
        cfg, est, d = self.config, self.estimator, self.d
        t = scan.t
        N, M = len(tab), len(scan)
        cols = {k: v.copy() for k, v in tab.cols.items()}
        if N:
            dt = np.maximum(t - cols["t"], 0.0)
            state = est.predict(tab.state, dt)
        else:
            state = {k: v.copy() for k, v in tab.state.items()}
        cols["t"][:] = t
        armed = self._bound_unobserved_altitude(scan)
        if N and armed:
            state = bound_unobserved_altitude(state, cfg.init_alt_sigma_m, cfg.init_vz_sigma_mps, self.d)
        x, P = est.combined(state) if N else (np.zeros((0, self.n)), np.zeros((0, self.n, self.n)))
        pos = x[:, :d]
        pd, lam = scan.pd, scan.clutter_density
        pg = cfg.gate_probability
        m = scan.z.shape[1] if M else 0
        log_w0 = np.log(max(1.0 - pd * pg, 1e-12))
        hit = np.zeros(N, dtype=bool)
        inc = np.zeros(N)                    # score increments of detected tracks
        used = np.zeros(M, dtype=bool)
        meas_of = np.full(N, -1, dtype=np.intp)
        cart = scan.model.to_cartesian(scan.z, scan.R) if M else None
        if N and M:
            gamma = self.gamma(m)
            mpos = cart[0]
            sig_t = np.sqrt(np.trace(P[:, :d, :d], axis1=1, axis2=2))
            if isinstance(est, IMM) and cfg.imm_gate == "modes":   # reach as far as the widest mode's gate
                Pm = state["Pm"][:, :, :d, :d]
                spread = np.linalg.norm(state["xm"][:, :, :d] - pos[:, None, :], axis=2)
                sig_t = np.max(np.sqrt(np.trace(Pm, axis1=2, axis2=3)) + spread, axis=1)
            radius = 1.05 * np.sqrt(gamma) * (sig_t + position_sigma_bound(scan, pos))
            if armed:
                # Without elevation a measurement is placed at its slant range in the radar's
                # horizontal plane: pre-gate horizontally, and widen by the slant-to-ground
                # difference r − g = u²/(r + g) ≤ min(|u|, u²/g) of a track at height u ± 3σ_z.
                s = scan.model.sensor_position
                u = np.abs(pos[:, 2] - s[2]) + 3.0 * np.sqrt(P[:, 2, 2])
                g = np.maximum(np.hypot(pos[:, 0] - s[0], pos[:, 1] - s[1]), 1.0)
                radius = radius + np.minimum(u, u * u / g)
                pt, pm = candidate_pairs(pos[:, :2], radius, mpos[:, :2])
            else:
                pt, pm = candidate_pairs(pos, radius, mpos[:, :d])
            ok = ~((cols["identity"][pt] >= 0) & (scan.identity[pm] >= 0) & (cols["identity"][pt] != scan.identity[pm]))
            pt, pm = pt[ok], pm[ok]
            if len(pt):
                if len(pt) == 1:        # one pair (a lone aircraft's report): no sort needed
                    rows, r_of = pt.copy(), np.zeros(1, dtype=np.intp)
                else:
                    rows, r_of = np.unique(pt, return_inverse=True)
                if isinstance(est, IMM) and cfg.imm_gate == "modes":
                    d2, loglik = est.gate_pairs(state_rows(state, rows), scan.model, scan.z[pm], scan.R[pm], r_of)
                    g = d2 <= gamma
                    pt, pm, loglik = pt[g], pm[g], loglik[g]
                    gated = None
                else:
                    mp = est.predict_measurement(state_rows(state, rows), scan.model)
                    y = scan.model.residual(scan.z[pm], mp.zhat[r_of])
                    S = mp.Pzz[r_of] + scan.R[pm]
                    Si = np.linalg.inv(S)
                    d2 = np.einsum("ni,nij,nj->n", y, Si, y)
                    g = d2 <= gamma
                    pt, pm, y, S, Si, r_of = pt[g], pm[g], y[g], S[g], Si[g], r_of[g]
                    gated = (mp, r_of, y, S, Si)
                    loglik = gaussian_loglik(y, S, Si)
                log_w = np.log(pd) + loglik - np.log(lam)
                cost = log_w0 - log_w
                conf = cols["status"][pt] == CONFIRMED
                # stage 1: confirmed tracks
                if cfg.association == "jpda":
                    used |= self._jpda_stage(state, cols, scan, pt, pm, log_w, log_w0, conf, N, M, hit, inc)
                else:
                    self._gnn_stage(state, scan, pt, pm, cost, log_w, conf, N, M, hit, inc, used, meas_of, gated)
                # stage 2: tentative tracks take the measurements left over
                tent = ~conf & ~used[pm]
                self._gnn_stage(state, scan, pt, pm, cost, log_w, tent, N, M, hit, inc, used, meas_of, gated)
        # management
        cover = in_coverage(scan, pos, cols["identity"], self.frame) if N else np.zeros(0, dtype=bool)
        opp = cover | hit
        # confirmed tracks that no sensor covers any more (flown out of the picture's coverage) and
        # that have missed their expected detection: no scan can count a miss for them, so
        # without this they would coast on the time limit alone
        outside = np.zeros(N, dtype=bool)
        if N:
            cand = np.flatnonzero((cols["status"] == CONFIRMED) & ~opp
                                  & (t - cols["t_hit"] > cfg.exit_revisits * cols["revisit"]))
            if len(cand):
                others = [s for s in self.sensors.values() if s is not scan.sensor]
                outside[cand] = ~in_any_coverage(others, pos[cand], cols["identity"][cand], self.frame)
        hb = hit.astype(np.uint32)
        cols["hist"] = np.where(opp, (cols["hist"] << np.uint32(1)) | hb, cols["hist"]).astype(np.uint32)
        cols["opps"] += opp
        cols["hits"] += hit
        cols["miss_run"] = np.where(hit, 0, np.where(opp, cols["miss_run"] + 1, cols["miss_run"]))
        gap = t - cols["t_hit"]
        first_gap = hit & (cols["hits"] == 2)
        cols["revisit"] = np.where(first_gap, gap, np.where(hit & (gap > 0), 0.7 * cols["revisit"] + 0.3 * gap, cols["revisit"]))
        cols["t_hit"] = np.where(hit, t, cols["t_hit"])
        cols["score"] += np.where(hit, inc, np.where(opp, np.log(max(1.0 - pd, 1e-12)), 0.0))
        cols["score_max"] = np.maximum(cols["score_max"], cols["score"])
        if N:
            bit = np.uint64(1) << np.uint64(scan.sensor.index % 64)
            cols["sensors"] = np.where(hit, cols["sensors"] | bit, cols["sensors"])
            got = meas_of >= 0
            idn = np.full(N, -1, dtype=np.int64)
            idn[got] = scan.identity[meas_of[got]]
            cols["identity"] = np.where(idn >= 0, idn, cols["identity"])
            self.hits.append((scan.sensor.id, t, cols["key"][got], meas_of[got]))
        tab = TrackTable(cols, state)
        if N:
            newly = confirm_mask(cols, cfg)
            if newly.any():
                k = int(newly.sum())
                cols["status"][newly] = CONFIRMED
                cols["id"][newly] = np.arange(self._next_id, self._next_id + k)
                self._next_id += k
            x, P = est.combined(state)
            sig = np.sqrt(np.trace(P[:, :d, :d], axis1=1, axis2=2) / d)
            dead = delete_mask(cols, sig, t, cfg, outside)
            if dead.any():
                tab = tab.take(~dead)
                x, P = x[~dead], P[~dead]
            # the combined states of the surviving rows: the frame's confirmed tracks are among
            # them (tracks initiated below are tentative), so the frame need not combine again
            self._combined = (x, P)
        free = np.flatnonzero(~used)
        if len(free):
            tab = tab.extend(self._initiate(scan, free, t, cart))
        return tab

    def _bound_unobserved_altitude(self, scan: MeasurementScan) -> bool:
        """Arm an elevation-free 3-D radar scan's model for unobserved altitude; True if armed.

        Only such scans change anything: a picture whose radars all measure elevation (or a 2-D
        one) is processed exactly as before.
        """
        model = scan.model
        if self.d != 3 or not isinstance(model, PolarMeasurement) or model.has_elevation:
            return False
        model.unobserved_z_var = (0.5 * self.config.init_alt_sigma_m) ** 2
        return True

    def _gnn_stage(self, state, scan, pt, pm, cost, log_w, sel, N, M, hit, inc, used, meas_of, gated=None):
        """GNN over the selected pairs; updates the chosen tracks in ``state`` and marks hits.

        ``gated`` (the gate's measurement prediction and each pair's innovation, its covariance and
        inverse) lets a single-model estimator update from what the gate already computed.
        """
        idx = np.flatnonzero(sel)
        if len(idx) == 0:
            return
        if len(idx) == 1:   # one pair is a cluster of its own: taken when it beats a miss (as gnn decides)
            chosen = idx[cost[idx] < 0]
        else:
            labels = clusters(N, M, pt[idx], pm[idx])
            chosen = idx[gnn(pt[idx], pm[idx], cost[idx], labels)]
        if len(chosen) == 0:
            return
        tr, ms = pt[chosen], pm[chosen]
        if gated is not None and isinstance(self.estimator, SingleModel):
            mp, r_of, y, S, Si = gated
            x_new, P_new = kalman_update(state["x"][tr], state["P"][tr], mp.take(r_of[chosen]), y[chosen], S[chosen], Si[chosen])
            new = {"x": x_new, "P": P_new}
            if self.estimator.adaptive is not None:
                yc, Sic = y[chosen], Si[chosen]
                new = self.estimator.adapt({**state_rows(state, tr), **new}, np.einsum("ni,nij,nj->n", yc, Sic, yc), yc.shape[-1])
        else:
            new, _ = self.estimator.update(state_rows(state, tr), scan.model, scan.z[ms], scan.R[ms])
        set_rows(state, tr, new)
        hit[tr] = True
        inc[tr] = log_w[chosen]
        used[ms] = True
        meas_of[tr] = ms

    def _jpda_stage(self, state, cols, scan, pt, pm, log_w, log_w0, sel, N, M, hit, inc):
        """JPDA over the confirmed tracks' pairs; returns the measurements taken (Σβ ≥ free_threshold)."""
        idx = np.flatnonzero(sel)
        taken = np.zeros(M, dtype=bool)
        if len(idx) == 0:
            return taken
        spt, spm = pt[idx], pm[idx]
        labels = clusters(N, M, spt, spm)
        # Scale each track's weights by its largest (w and w0 of one track scaled alike leave every
        # marginal unchanged: each joint event holds exactly one of them): all weights ≤ 1, so sums
        # never overflow (a precise report, such as ADS-B, may outweigh w0 by e^700 and more).
        lr = log_w[idx] - log_w0
        top = np.zeros(N)
        np.maximum.at(top, spt, lr)
        w = np.exp(np.maximum(lr - top[spt], -700.0))
        w0 = np.exp(-top)
        beta, beta0 = jpda(spt, spm, w, w0, labels, N, M, self.config.jpda_exact_limit)
        rows, r_of = np.unique(spt, return_inverse=True)
        est = self.estimator
        kw = {}
        if isinstance(est, IMM):
            kw = {"pd": scan.pd, "clutter_density": scan.clutter_density}
        new = est.update_pda(state_rows(state, rows), scan.model, scan.z[spm], scan.R[spm], r_of, beta, beta0[rows], **kw)
        set_rows(state, rows, new)
        tot = np.zeros(M)
        np.add.at(tot, spm, beta)
        detected = (1.0 - beta0[rows]) >= 0.5
        hit[rows[detected]] = True
        total = w0[rows].copy()
        np.add.at(total, r_of, w)
        inc[rows] = np.log(total) + top[rows] + log_w0   # ln(w0 + Σ w) in absolute units
        return tot >= self.config.free_threshold

    def _initiate(self, scan: MeasurementScan, free: np.ndarray, t: float, cart=None) -> TrackTable:
        """One-point initiation: position from the measurement, zero velocity with a wide prior."""
        d, n = self.d, self.n
        cfg = self.config
        k = len(free)
        if cart is None:
            cart = scan.model.to_cartesian(scan.z, scan.R)
        p, C = cart[0][free], cart[1][free]
        x = np.zeros((k, n))
        P = np.zeros((k, n, n))
        x[:, :d] = p[:, :d]
        P[:, :d, :d] = C[:, :d, :d]
        no_height = np.zeros(k, dtype=bool)
        if d == 3:
            no_height = C[:, 2, 2] > 1e11
            model = scan.model
            if isinstance(model, PolarMeasurement) and not model.has_elevation:
                no_height[:] = True       # range and azimuth only: the height is not measured
            if no_height.any():
                x[no_height, 2] = cfg.init_alt_m
                P[no_height, 2, :] = 0.0
                P[no_height, :, 2] = 0.0
                P[no_height, 2, 2] = cfg.init_alt_sigma_m**2
        sv = self.max_speed / 2.0
        P[:, np.arange(d, 2 * d), np.arange(d, 2 * d)] = sv**2
        if no_height.any():
            # A sensor that measures no height is an air-surveillance sensor: its new tracks take
            # the aircraft speed prior (2-D default) unless max_speed_mps is set, and an unobserved
            # height flies level until something measures it.
            sh = (cfg.max_speed_mps or 400.0) / 2.0
            hv = np.arange(d, 2 * d - 1)
            P[np.ix_(no_height, hv, hv)] = np.eye(d - 1) * sh**2
            P[no_height, 2 * d - 1, 2 * d - 1] = cfg.init_vz_sigma_mps**2
        if n == 3 * d:  # CA: acceleration prior
            P[:, np.arange(2 * d, 3 * d), np.arange(2 * d, 3 * d)] = 20.0**2
        if n == 2 * d + 1:  # turn rate prior
            P[:, -1, -1] = 0.05**2
        st = self.estimator.new(x, P)
        keys = np.arange(self._key, self._key + k)
        self._key += k
        bit = np.uint64(1) << np.uint64(scan.sensor.index % 64)
        return TrackTable.new(
            st, key=keys, id=-1, t=t, status=TENTATIVE, hits=1, opps=1, hist=1, miss_run=0, score=0.0,
            score_max=0.0, born=t, t_hit=t, revisit=scan.sensor.period_s or 1.0, identity=scan.identity[free], sensors=bit,
        )
