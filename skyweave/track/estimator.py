"""Track state estimators: one filter, or an interacting multiple model (IMM) over several.

An estimator keeps each track's state as named arrays with a leading track axis (so the track
table can append, select and copy them without knowing what they are) and offers the tracker
the same five operations whatever is inside: predict, predict the measurement (for gating and
association), update with one measurement per track (GNN), update with weighted measurements
(JPDA) and report the combined state.

IMM (Blom & Bar-Shalom 1988; Bar-Shalom et al. 2001, §11.6.6): r models share one state layout.
Per step of length T, with mode probabilities μ and the mode transition matrix Π(T):
    c_j = Σ_i Π_ij μ_i,   μ_i|j = Π_ij μ_i / c_j                      (mixing probabilities)
    x₀ⱼ = Σ_i μ_i|j x_i,  P₀ⱼ = Σ_i μ_i|j [P_i + (x_i − x₀ⱼ)(x_i − x₀ⱼ)ᵀ]   (mixing)
    model-conditioned prediction and update;  μ_j ∝ Λ_j c_j             (mode update)
    x = Σ μ_j x_j,  P = Σ μ_j [P_j + (x_j − x)(x_j − x)ᵀ]              (combination)
Sensors here are asynchronous, so Π comes from a continuous-time Markov chain with mean sojourn
times τ_j: Π(T) = exp(Λ T) with Λ_jj = −1/τ_j and the leaving rate split evenly over the other
modes (:func:`even_shares`), or as given shares say (:func:`departure_shares`: the star-shaped
chain of the grid of known-rate turn modes that :func:`skyweave.track.tracker.make_estimator`
builds), computed once by eigen-decomposition, then per track. With a :class:`LearntTPM` each track learns its own rates from its mode probabilities
(``imm_learn_tpm``), and Π(T) is the exponential of its own generator.
"""

from __future__ import annotations

import numpy as np

from skyweave.track.filters import (
    MeasurementPrediction,
    innovations,
    pda_update,
    symmetrise,
    update,
)

LOG2PI = np.log(2 * np.pi)


def gaussian_loglik(y: np.ndarray, S: np.ndarray, Si: np.ndarray, d2: np.ndarray | None = None) -> np.ndarray:
    """log N(y; 0, S) for stacks: −½ (yᵀS⁻¹y + log|2πS|) (``d2``: yᵀS⁻¹y when already computed)."""
    if d2 is None:
        d2 = np.einsum("ni,nij,nj->n", y, Si, y)
    _, logdet = np.linalg.slogdet(S)
    return -0.5 * (d2 + logdet + y.shape[-1] * LOG2PI)


class AdaptiveQ:
    """Per-track process-noise scale learnt from the track's own normalised innovations.

    Covariance matching (Mehra 1972; Bar-Shalom et al. 2001, §11.7.2, the "adjustable level of
    process noise"): each track keeps a fading-memory average ā of NIS/m over about ``memory``
    updates, ā ← (1 − 1/memory) ā + (1/memory) · yᵀS⁻¹y / m, and a factor s that multiplies every
    mode's acceleration noise (not the turn-rate terms, see :func:`skyweave.track.motion.scale_noise`),
    s ← clip(s · ā, ``lo``, ``hi``), i.e. an integral law: s falls while innovations are
    smaller than the filter expects (under-confident: flight straighter than Q assumes) and rises
    at once when they are larger (a manoeuvre), and holds where NIS/m averages one. A factor that
    followed ā directly could not help on exactly straight flight, where a steady filter's NIS
    ratio is the same for every Q; the integral lets the filter's memory grow with the leg.
    State arrays (per track): ``qs`` the factor s, ``nis`` the average ā (both start at 1).
    """

    def __init__(self, memory: float, lo: float, hi: float):
        if not (memory >= 1 and 0 < lo <= hi):
            raise ValueError(f"adaptive Q: expected memory >= 1 and 0 < lo <= hi, got {memory}, {lo}, {hi}")
        self.alpha, self.lo, self.hi = 1.0 / float(memory), float(lo), float(hi)

    def new(self, N: int) -> dict:
        return {"qs": np.ones(N), "nis": np.ones(N)}

    def step(self, st: dict, nis: np.ndarray, m: int) -> dict:
        """The new ``qs`` and ``nis`` of rows whose normalised innovation squared was ``nis`` (m measured components)."""
        a = (1.0 - self.alpha) * st["nis"] + self.alpha * (np.asarray(nis, dtype=float) / m)
        return {"qs": np.clip(st["qs"] * a, self.lo, self.hi), "nis": a}


def expm_rates(L: np.ndarray, T: np.ndarray) -> np.ndarray:
    """exp(L_k T_k) (N, r, r) of per-track rate matrices ``L`` (N, r, r, 1/s) over steps ``T`` (N,) s.

    Scaling and squaring with a 12-term Taylor series, one scale for the batch: the scaled
    matrices have norm ≤ 1/4, so the truncation error is below 1e-16 (a transition matrix's
    entries need no more). Rows are clipped at 0 and renormalised, as :meth:`IMM.transition`'s are.
    """
    A = L * np.asarray(T, dtype=float).reshape(-1, 1, 1)
    r = A.shape[-1]
    norm = float(np.abs(A).sum(axis=2).max()) if A.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 0.25)))) if norm > 0.25 else 0
    A = A / (2.0**s)
    E = np.broadcast_to(np.eye(r), A.shape).copy()
    term = E.copy()
    for k in range(1, 13):
        term = term @ A / k
        E += term
    for _ in range(s):
        E = E @ E
    E = np.clip(E, 0.0, None)
    return E / E.sum(axis=2, keepdims=True)


class LearntTPM:
    """Per-track mode-switching rates of an IMM, learnt online from the track's mode posteriors.

    The continuous-time form of the quasi-Bayesian estimator of Jilkov & Li ("Online Bayesian
    estimation of transition probabilities for Markovian jump systems", IEEE TSP 52(6), 2004):
    sensors are asynchronous, so what is learnt is the generator of the mode chain, not one
    step's transition matrix. Each off-diagonal rate λ_ij (1/s) has a Gamma prior whose shape
    α_ij and rate β_i are the conjugate counts of a fully observed chain (transitions i→j and
    time spent in i): α_ij = k · (prior rate share of j), β_i = k · τ_i, i.e. ``prior_count`` = k
    pseudo-departures from each mode i at its prior mean sojourn τ_i (s). The modes are not
    observed, so at each update the counts take their posterior expectations (the
    quasi-Bayesian step): over the interval since the track's previous update, with
    μ⁺ that update's mode probabilities, Π the chain's transition matrix over the interval
    and μ the new mode probabilities,

        ξ_ij = μ⁺_i Π_ij μ_j / c_j   (c_j = Σ_i μ⁺_i Π_ij: P(mode i then, j now | data)),
        α_ij += ξ_ij (i ≠ j),         β_i += T · (Σ_j ξ_ij + μ_i) / 2,

    and the rates used to predict are the posterior means λ_ij = α_ij / β_i. A track that flies
    long straight legs thus earns a long CV sojourn, one that turns often a short one.

    The expected counts need sharp mode probabilities: an IMM's are blurred (a turn mode keeps a
    few per cent on straight flight), and ξ then credits most of a switch to the probability the
    new mode already had, so the soft counts miss most switches (a test shows a third counted at
    probabilities of 0.9). With ``switch_at`` (decision-directed counts) each track holds one
    mode, which changes to the most probable one when the held mode's probability falls to
    1 − ``switch_at``; a change is one counted departure and the interval's time goes half to
    each mode (``tpm_mu`` then holds the held mode, one-hot).
    ``memory_s`` (s, or None) fades the counts by exp(−T / memory_s) before each step, so the
    estimate can follow a change of behaviour. State arrays: ``tpm_a`` (N, r, r) the shapes α
    (diagonal unused), ``tpm_b`` (N, r) the rates β (s), ``tpm_mu`` (N, r) μ⁺, ``tpm_pi``
    (N, r, r) Π since that update and ``tpm_t`` (N,) its length (s).
    """

    def __init__(self, sojourn_s, prior_count: float = 1.0, memory_s: float | None = None, switch_at: float | None = None,
                 shares=None):
        tau = np.asarray(sojourn_s, dtype=float)
        r = len(tau)
        if r < 2 or np.any(tau <= 0) or not prior_count > 0 or (memory_s is not None and not memory_s > 0) \
                or (switch_at is not None and not 0.5 <= switch_at < 1):
            raise ValueError(f"learnt TPM: expected 2+ positive sojourn times, prior_count > 0, memory_s > 0 or None and "
                             f"switch_at in [0.5, 1) or None, got {list(tau)}, {prior_count}, {memory_s}, {switch_at}")
        self.r = r
        self.switch_at = switch_at
        # the prior splits each mode's departures evenly over the others, or as ``shares`` says
        self.a0 = float(prior_count) * (even_shares(r) if shares is None else _check_shares(shares, r))
        self.b0 = float(prior_count) * tau
        self.memory_s = memory_s

    def new(self, N: int) -> dict:
        r = self.r
        return {"tpm_a": np.tile(self.a0, (N, 1, 1)), "tpm_b": np.tile(self.b0, (N, 1)),
                "tpm_mu": np.zeros((N, r)), "tpm_pi": np.tile(np.eye(r), (N, 1, 1)), "tpm_t": np.zeros(N)}

    def rates(self, st: dict) -> np.ndarray:
        """The generators (N, r, r) of the rows' posterior mean rates (1/s; rows sum to 0)."""
        L = st["tpm_a"] / st["tpm_b"][:, :, None]
        idx = np.arange(self.r)
        L[:, idx, idx] = 0.0
        L[:, idx, idx] = -L.sum(axis=2)
        return L

    def transition(self, st: dict, dt) -> np.ndarray:
        N = st["tpm_b"].shape[0]
        return expm_rates(self.rates(st), np.broadcast_to(np.asarray(dt, dtype=float), (N,)))

    def carry(self, st: dict, Pi: np.ndarray, dt) -> dict:
        """The learning arrays after a prediction by ``Pi`` over ``dt`` s (fresh arrays: tables are snapshotted)."""
        N = Pi.shape[0]
        return {"tpm_a": st["tpm_a"].copy(), "tpm_b": st["tpm_b"].copy(), "tpm_mu": st["tpm_mu"].copy(),
                "tpm_pi": st["tpm_pi"] @ Pi, "tpm_t": st["tpm_t"] + np.broadcast_to(np.asarray(dt, dtype=float), (N,))}

    def learn(self, st: dict, mu_new: np.ndarray) -> dict:
        """The learning arrays of updated rows whose new mode probabilities are ``mu_new`` (N, r)."""
        mu0, Pi, T = st["tpm_mu"], st["tpm_pi"], st["tpm_t"]
        a, b = st["tpm_a"], st["tpm_b"]
        first = mu0.sum(axis=1) == 0.0             # a new track's first update: nothing to learn from yet
        if self.memory_s is not None:
            f = np.exp(-T / self.memory_s)
            a = self.a0 + (a - self.a0) * f[:, None, None]
            b = self.b0 + (b - self.b0) * f[:, None]
        if self.switch_at is None:
            c = np.einsum("ni,nij->nj", mu0, Pi)
            xi = mu0[:, :, None] * Pi * (mu_new / np.maximum(c, 1e-300))[:, None, :]
        else:   # decision-directed: the mode held so far (one-hot in tpm_mu) and the one now held
            rows = np.arange(len(mu0))
            held = mu0.argmax(axis=1)
            top = mu_new.argmax(axis=1)
            now = np.where(mu_new[rows, held] <= 1.0 - self.switch_at, top, held)
            xi = np.zeros_like(Pi)
            xi[np.arange(len(now)), held, now] = 1.0
            mu_new = np.where(first[:, None], np.eye(self.r)[top], np.eye(self.r)[now])
        xi[first] = 0.0
        idx = np.arange(self.r)
        xi_off = xi.copy()
        xi_off[:, idx, idx] = 0.0
        a = a + xi_off
        b = b + np.where(first, 0.0, T)[:, None] * 0.5 * (xi.sum(axis=2) + mu_new)
        N = mu_new.shape[0]
        return {"tpm_a": a, "tpm_b": b, "tpm_mu": mu_new.copy(), "tpm_pi": np.tile(np.eye(self.r), (N, 1, 1)), "tpm_t": np.zeros(N)}


class SingleModel:
    """One filter (KF/EKF/UKF) with one motion model. State arrays: x (N, n), P (N, n, n).

    ``adaptive`` (an :class:`AdaptiveQ`, or None) scales each track's Q by its learnt factor.
    """

    def __init__(self, filt, adaptive: AdaptiveQ | None = None):
        self.filt = filt
        self.n = filt.motion.n
        self.name = f"{filt.motion.name}-{filt.name}"
        self.adaptive = adaptive

    def new(self, x, P) -> dict:
        st = {"x": np.asarray(x, dtype=float), "P": np.asarray(P, dtype=float)}
        if self.adaptive is not None:
            st.update(self.adaptive.new(st["x"].shape[0]))
        return st

    def adapt(self, st: dict, nis: np.ndarray, m: int) -> dict:
        """``st`` with its adaptive-Q arrays stepped by the rows' NIS (unchanged without adaptive Q)."""
        if self.adaptive is None:
            return st
        return {**st, **self.adaptive.step(st, nis, m)}

    def combined(self, st: dict):
        return st["x"], st["P"]

    def predict(self, st: dict, dt) -> dict:
        x, P = self.filt.predict(st["x"], st["P"], dt, st.get("qs"))
        out = {**st, "x": x, "P": P}
        if self.adaptive is not None:   # fresh arrays: updates write rows in place, tables are snapshotted
            out.update({k: st[k].copy() for k in ("qs", "nis")})
        return out

    def predict_measurement(self, st: dict, meas) -> MeasurementPrediction:
        return self.filt.predict_measurement(meas, st["x"], st["P"])

    def update(self, st: dict, meas, z, R, mp: MeasurementPrediction | None = None):
        """One measurement per row; returns the new state and log N(y; 0, S) per row."""
        mp = mp if mp is not None else self.predict_measurement(st, meas)
        y, S, Si = innovations(meas, mp, z, R)
        x, P = update(st["x"], st["P"], mp, y, S, Si)
        out = {**st, "x": x, "P": P}
        if self.adaptive is not None:
            out = self.adapt(out, np.einsum("ni,nij,nj->n", y, Si, y), y.shape[-1])
        return out, gaussian_loglik(y, S, Si)

    def update_pda(self, st: dict, meas, z_pairs, R_pairs, pair_row, beta_pairs, beta0, mp=None):
        """JPDA's update: rows of ``st`` are tracks; pairs carry measurements and weights."""
        mp = mp if mp is not None else self.predict_measurement(st, meas)
        # S depends on R; for a sensor's scan R is common to a track's pairs, use the mean per track
        R_t = _mean_per_row(R_pairs, pair_row, len(beta0))
        S = mp.Pzz + R_t
        Si = np.linalg.inv(S)
        y = meas.residual(z_pairs, mp.zhat[pair_row])
        x, P = pda_update(st["x"], st["P"], mp, S, Si, y, beta_pairs, pair_row, beta0)
        return {**st, "x": x, "P": P}


def _mean_per_row(R_pairs, pair_row, n_rows):
    m = R_pairs.shape[-1]
    acc = np.zeros((n_rows, m, m))
    np.add.at(acc, pair_row, R_pairs)
    cnt = np.bincount(pair_row, minlength=n_rows).astype(float)
    cnt[cnt == 0] = 1.0
    return acc / cnt[:, None, None]


class IMM:
    """Interacting multiple model estimator over ``filters`` sharing one state layout.

    State arrays: xm (N, r, n), Pm (N, r, n, n), mu (N, r). ``sojourn_s``: mean time in each mode
    (s); ``shares`` (r, r): where each mode's departures go (rows sum to one; default an even
    split over the other modes); ``mu0``: mode probabilities of a new track; ``adaptive`` (an :class:`AdaptiveQ`, or None)
    scales every mode's acceleration noise of a track by its learnt factor, from the NIS averaged over the modes
    with their predicted probabilities; ``learnt`` (a :class:`LearntTPM`, or None) gives each track
    its own switching rates, learnt from its mode probabilities, ``sojourn_s`` their prior.
    """

    def __init__(self, filters, sojourn_s, mu0=None, adaptive: AdaptiveQ | None = None, learnt: LearntTPM | None = None,
                 shares=None):
        self.adaptive = adaptive
        self.learnt = learnt
        self.filters = list(filters)
        self.r = len(self.filters)
        self.n = self.filters[0].motion.n
        if any(f.motion.n != self.n for f in self.filters):
            raise ValueError("IMM models must share one state layout")
        tau = np.asarray(sojourn_s, dtype=float)
        if tau.shape != (self.r,) or np.any(tau <= 0):
            raise ValueError(f"sojourn_s needs {self.r} positive times")
        lam = (even_shares(self.r) if shares is None else _check_shares(shares, self.r)) / tau[:, None]
        np.fill_diagonal(lam, -1.0 / tau)
        w, V = np.linalg.eig(lam)
        self._w, self._V, self._Vi = w, V, np.linalg.inv(V)
        self.mu0 = np.full(self.r, 1.0 / self.r) if mu0 is None else np.asarray(mu0, dtype=float)
        self.name = "imm(" + ",".join(f.motion.name for f in self.filters) + ")"

    def transition(self, dt) -> np.ndarray:
        """Π(T) (N, r, r), rows summing to one: Π_ij = P(mode j at t+T | mode i at t)."""
        dt = np.asarray(dt, dtype=float).reshape(-1)
        # a scan predicts nearly every track over the same step: compute Π once per distinct step
        if dt.size == 1:
            steps, which = dt, None
        else:
            steps, which = np.unique(dt, return_inverse=True)
        E = np.exp(self._w[None, :] * steps[:, None])
        Pi = np.real(np.einsum("ij,nj,jk->nik", self._V, E, self._Vi))
        Pi = np.clip(Pi, 0.0, None)
        Pi /= Pi.sum(axis=2, keepdims=True)
        return Pi if which is None else Pi[which.reshape(-1)]

    def new(self, x, P) -> dict:
        x = np.asarray(x, dtype=float)
        P = np.asarray(P, dtype=float)
        N = x.shape[0]
        st = {
            "xm": np.repeat(x[:, None, :], self.r, axis=1),
            "Pm": np.repeat(P[:, None, :, :], self.r, axis=1),
            "mu": np.tile(self.mu0, (N, 1)),
        }
        if self.adaptive is not None:
            st.update(self.adaptive.new(N))
        if self.learnt is not None:
            st.update(self.learnt.new(N))
        return st

    def adapt(self, st: dict, nis: np.ndarray, m: int) -> dict:
        """``st`` with its adaptive-Q arrays stepped by the rows' NIS (unchanged without adaptive Q)."""
        if self.adaptive is None:
            return st
        return {**st, **self.adaptive.step(st, nis, m)}

    @staticmethod
    def _moments(xm, Pm, w):
        """Mixture moments: Σ w x, Σ w (P + d dᵀ) over the model axis (w (N, r))."""
        N, r, n = xm.shape
        x = (w[:, None, :] @ xm)[:, 0]
        d = xm - x[:, None, :]
        wd = w[:, :, None] * d
        # Σ_r w_r P_r (as one matrix product over the flattened matrices) + Σ_r w_r d_r d_rᵀ
        P = (w[:, None, :] @ Pm.reshape(N, r, n * n)).reshape(N, n, n) + np.swapaxes(wd, 1, 2) @ d
        return x, P

    def combined(self, st: dict):
        return self._moments(st["xm"], st["Pm"], st["mu"])

    def predict(self, st: dict, dt) -> dict:
        xm, Pm, mu = st["xm"], st["Pm"], st["mu"]
        dt = np.asarray(dt, dtype=float)
        Pi = self.transition(dt) if self.learnt is None else self.learnt.transition(st, dt)
        c = np.einsum("nij,ni->nj", Pi, mu)                        # predicted mode probabilities
        mix = Pi * mu[:, :, None] / np.maximum(c[:, None, :], 1e-300)   # μ_i|j (N, i, j)
        # the mixed initial conditions of every model at once: x₀ⱼ, P₀ⱼ (N, j, ...)
        N, r, n = xm.shape
        mixT = np.swapaxes(mix, 1, 2)                              # (N, j, i)
        x0 = mixT @ xm                                             # Σ_i μ_i|j x_i
        D = xm[:, None, :, :] - x0[:, :, None, :]                  # (N, j, i, n)
        P0 = (mixT @ Pm.reshape(N, r, n * n)).reshape(N, r, n, n) + np.swapaxes(mixT[..., None] * D, 2, 3) @ D
        qs = st.get("qs")
        x_out = np.empty_like(xm)
        P_out = np.empty_like(Pm)
        for j, f in enumerate(self.filters):
            x_out[:, j], P_out[:, j] = f.predict(x0[:, j], P0[:, j], dt, qs)
        out = {**st, "xm": x_out, "Pm": P_out, "mu": c / c.sum(axis=1, keepdims=True)}
        if self.adaptive is not None:   # fresh arrays: updates write rows in place, tables are snapshotted
            out.update({k: st[k].copy() for k in ("qs", "nis")})
        if self.learnt is not None:
            out.update(self.learnt.carry(st, Pi, dt))
        return out

    def predict_measurement(self, st: dict, meas) -> MeasurementPrediction:
        """The moment-matched mixture's predicted measurement (used to gate and associate)."""
        x, P = self.combined(st)
        return self.filters[0].predict_measurement(meas, x, P)

    def gate_pairs(self, st: dict, meas, z, R, row):
        """Each pair's gate distance and likelihood under the mixture (pairs: ``row`` of ``st``, z, R).

        Returns (d², log Λ): d² the smallest Mahalanobis distance over the modes (a measurement any
        mode expects passes the gate), Λ = Σ_j μ_j N(y_j; 0, S_j) the IMM's own measurement
        likelihood (Bar-Shalom et al. 2001, §11.6.6). The moment-matched single Gaussian would
        carry every mode's spread into one covariance: too wide on straight flight (when the turn
        mode is unlikely) and too narrow when a manoeuvre begins under a sharp straight mode.
        """
        mu = st["mu"][row]
        K, r = len(row), self.r
        mp = self._all_models(st, meas)
        rr = (row[:, None] * r + np.arange(r)).reshape(-1)         # (pair, mode) -> row of mp
        y = meas.residual(np.repeat(z, r, axis=0), mp.zhat[rr])
        S = mp.Pzz[rr] + np.repeat(R, r, axis=0)
        Si = np.linalg.inv(S)
        d2m = np.einsum("ni,nij,nj->n", y, Si, y)
        ll = gaussian_loglik(y, S, Si, d2m).reshape(K, r) + np.log(np.maximum(mu, 1e-300))
        d2 = d2m.reshape(K, r).min(axis=1)
        top = ll.max(axis=1)
        return d2, top + np.log(np.exp(ll - top[:, None]).sum(axis=1))

    def _all_models(self, st, meas) -> MeasurementPrediction:
        """Every mode's predicted measurement in one batch of N·r rows (row i·r + j: track i, mode j).

        The measurement prediction depends on the filter kind (EKF or UKF) and the measurement
        model only, never on the motion model, so the modes share one call.
        """
        xm, Pm = st["xm"], st["Pm"]
        N, r, n = xm.shape
        return self.filters[0].predict_measurement(meas, xm.reshape(N * r, n), Pm.reshape(N * r, n, n))

    def _per_model(self, st, meas):
        mp = self._all_models(st, meas)
        N, r = st["mu"].shape
        zhat, Pzz, Pxz = (a.reshape(N, r, *a.shape[1:]) for a in (mp.zhat, mp.Pzz, mp.Pxz))
        return [MeasurementPrediction(zhat[:, j], Pzz[:, j], Pxz[:, j]) for j in range(r)]

    def update(self, st: dict, meas, z, R, mp=None, consider=None):
        """Model-conditioned updates and the mode probabilities; ``consider`` as in :func:`update`."""
        xm, Pm, mu = st["xm"], st["Pm"], st["mu"]
        N, r, n = xm.shape
        # every model's update in one batch of N·r rows (the measurement model is the same for all)
        xs, Ps = xm.reshape(N * r, n), Pm.reshape(N * r, n, n)
        mp = self.filters[0].predict_measurement(meas, xs, Ps)
        y, S, Si = innovations(meas, mp, np.repeat(z, r, axis=0), np.repeat(R, r, axis=0))
        xs, Ps = update(xs, Ps, mp, y, S, Si, consider)
        xm, Pm = xs.reshape(N, r, n), Ps.reshape(N, r, n, n)
        d2 = np.einsum("ni,nij,nj->n", y, Si, y)
        logL = gaussian_loglik(y, S, Si, d2).reshape(N, r)
        lw = logL + np.log(np.maximum(mu, 1e-300))
        top = lw.max(axis=1, keepdims=True)
        w = np.exp(lw - top)
        total = w.sum(axis=1)
        mu_new = w / total[:, None]
        out = {**st, "xm": xm, "Pm": Pm, "mu": mu_new}
        if self.adaptive is not None:
            out = self.adapt(out, (mu * d2.reshape(N, r)).sum(axis=1), y.shape[-1])
        if self.learnt is not None:
            out.update(self.learnt.learn(st, mu_new))
        return out, top[:, 0] + np.log(total)

    def update_pda(self, st: dict, meas, z_pairs, R_pairs, pair_row, beta_pairs, beta0, mp=None,
                   pd=None, clutter_density=None):
        """IMM-JPDA: each model takes the PDA update with the common β; mode probabilities follow
        each model's likelihood of the gated set, Λ_j ∝ (1 − P_D) λ + P_D Σ_k N(y_jk; 0, S_j)."""
        xm, Pm, mu = st["xm"].copy(), st["Pm"].copy(), st["mu"]
        n_rows = len(beta0)
        R_t = _mean_per_row(R_pairs, pair_row, n_rows)
        lik = np.empty(mu.shape)
        for j, mpj in enumerate(self._per_model(st, meas)):
            S = mpj.Pzz + R_t
            Si = np.linalg.inv(S)
            y = meas.residual(z_pairs, mpj.zhat[pair_row])
            xm[:, j], Pm[:, j] = pda_update(xm[:, j], Pm[:, j], mpj, S, Si, y, beta_pairs, pair_row, beta0)
            g = np.exp(gaussian_loglik(y, S[pair_row], Si[pair_row]))
            acc = np.zeros(n_rows)
            np.add.at(acc, pair_row, g)
            pd_ = 0.9 if pd is None else pd
            lam = 1e-9 if clutter_density is None else clutter_density
            lik[:, j] = (1.0 - pd_) * lam + pd_ * acc
        w = lik * mu
        mu_new = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
        out = {**st, "xm": xm, "Pm": Pm, "mu": mu_new}
        if self.learnt is not None:
            out.update(self.learnt.learn(st, mu_new))
        return out


def even_shares(r: int) -> np.ndarray:
    """Each mode's departures split evenly over the other r − 1 modes (r, r); one mode: none."""
    return (1.0 - np.eye(r)) / max(r - 1, 1)


def _check_shares(shares, r: int) -> np.ndarray:
    """``shares`` as an (r, r) array: non-negative, zero diagonal, each row summing to one."""
    S = np.array(shares, dtype=float)
    if S.shape != (r, r) or np.any(S < 0) or np.any(np.diag(S) != 0) or not np.allclose(S.sum(axis=1), 1.0):
        raise ValueError(f"IMM departure shares: expected an ({r}, {r}) matrix, non-negative, zero diagonal, rows summing to 1, got {S.tolist()}")
    return S


def departure_shares(r: int, hop: float) -> np.ndarray:
    """Where each mode's departures go in a star-shaped mode chain: mode 0 (straight flight) first.

    Leaving straight flight, a target takes any of the other r − 1 modes alike; leaving any other
    mode (a turn, a manoeuvre) it returns to straight flight with probability 1 − ``hop`` and
    takes one of the other r − 2 alike with ``hop`` (its rate changes in the turn). Returns the
    (r, r) matrix of shares (rows sum to one, zero diagonal).
    """
    if r < 2 or not 0.0 <= hop <= 1.0:
        raise ValueError(f"departure shares: expected r >= 2 modes and 0 <= hop <= 1, got {r}, {hop}")
    S = np.zeros((r, r))
    S[0, 1:] = 1.0 / (r - 1)
    if r == 2:
        S[1, 0] = 1.0
        return S
    S[1:, 0] = 1.0 - hop
    S[1:, 1:] = hop / (r - 2)
    idx = np.arange(1, r)
    S[idx, idx] = 0.0
    return S


def state_rows(st: dict, idx) -> dict:
    return {k: v[idx] for k, v in st.items()}


def set_rows(st: dict, idx, new: dict) -> None:
    for k, v in new.items():
        st[k][idx] = v


__all__ = ["AdaptiveQ", "LearntTPM", "expm_rates", "SingleModel", "IMM", "departure_shares", "even_shares", "gaussian_loglik", "state_rows", "set_rows", "symmetrise"]
