"""Scoring missile warnings against truth: impact error, ellipse coverage, latency and false alerts.

Inputs are plain data: alert updates as in alerts.jsonl (dicts) and the true launches (dicts with
``id``, ``launch`` {lat, lon, t}, ``burnout_t``, ``impact`` {lat, lon, t}, as in targets.json).

- Each alert is matched to the true missile whose impact is nearest to the alert's predicted
  impacts (median over its updates), or, for an alert that never predicted an impact, whose launch
  is nearest to its launch estimate; an alert farther than ``match_km`` from every truth is false.
- Per update with an impact: the great-circle error of the predicted impact point (m), the error
  of the impact time (s), and whether the true impact lies inside the 95 % ellipse (the Mahalanobis
  test of the east/north offset against the ellipse's axes).
- Latency: from launch to the first update of the missile's first alert (any status), and to the
  first update with an impact.
- Status labels against the missile's true phase (:func:`label_truth`): ``boost`` while the engine
  burns, ``tracking`` (an impact predicted from free flight) between burnout and impact, ``closed``
  with ``reason: impact`` once it has come down.
- Coverage with launches as the unit (:func:`coverage_by_launch`, :func:`coverage_interval`): the
  updates of one launch are correlated (one ellipse after another about nearly the same error), so
  the interval of the pooled coverage resamples launches, not updates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from skyweave.geo.sphere import great_circle_m
from skyweave.geo.wgs84 import R_MEAN


def offset_en(lat0, lon0, lat, lon) -> tuple[float, float]:
    """East/north offset (m) of (lat, lon) from (lat0, lon0) on a local sphere (fine for < 500 km)."""
    e = math.radians((lon - lon0 + 180.0) % 360.0 - 180.0) * R_MEAN * math.cos(math.radians(lat0))
    n = math.radians(lat - lat0) * R_MEAN
    return e, n


def inside_ellipse(impact: dict, lat: float, lon: float) -> bool:
    """Is (lat, lon) inside the 95 % ellipse {lat, lon, semi_major_m, semi_minor_m, orientation_deg}?"""
    e, n = offset_en(impact["lat"], impact["lon"], lat, lon)
    th = math.radians(impact["orientation_deg"])
    along = e * math.sin(th) + n * math.cos(th)     # component along the major axis (clockwise from north)
    across = e * math.cos(th) - n * math.sin(th)
    a = max(impact["semi_major_m"], 1e-3)
    b = max(impact["semi_minor_m"], 1e-3)
    return (along / a) ** 2 + (across / b) ** 2 <= 1.0


@dataclass
class WarningScore:
    updates: list = field(default_factory=list)       # per update with an impact: dict of figures
    alerts: dict = field(default_factory=dict)        # alert id -> matched truth id or None
    false_alerts: list = field(default_factory=list)
    missed: list = field(default_factory=list)        # truths with no alert
    latency: dict = field(default_factory=dict)       # truth id -> {first_alert_s, first_impact_s}
    labels: list = field(default_factory=list)        # per matched update: status, true phase, true to it

    def summary(self) -> dict:
        u = self.updates
        cov = [x["inside"] for x in u]
        return {
            "alert_updates_with_impact": len(u),
            "coverage_95": float(np.mean(cov)) if cov else None,
            "impact_error_median_m": float(np.median([x["error_m"] for x in u])) if u else None,
            "false_alerts": len(self.false_alerts), "missed_launches": len(self.missed),
            "alerts": len(self.alerts),
            "labels_false": sum(1 for x in self.labels if not x["ok"]),
        }


def score_alerts(updates: list[dict], truths: list[dict], match_km: float = 300.0) -> WarningScore:
    """Score alert updates against the true launches (see the module docstring)."""
    by_alert: dict[str, list[dict]] = {}
    for u in updates:
        by_alert.setdefault(u["alert_id"], []).append(u)
    res = WarningScore()
    truth_by_id = {t["id"]: t for t in truths}
    for aid, us in by_alert.items():
        imps = [u["impact"] for u in us if u.get("impact")]
        best, best_d = None, float("inf")
        for tr in truths:
            if imps:
                d = float(np.median([great_circle_m(i["lat"], i["lon"], tr["impact"]["lat"], tr["impact"]["lon"]) for i in imps]))
            else:
                la = [u["launch"] for u in us if u.get("launch") and u["launch"].get("lat") is not None]
                if not la:
                    continue
                d = great_circle_m(la[0]["lat"], la[0]["lon"], tr["launch"]["lat"], tr["launch"]["lon"])
            if d < best_d:
                best, best_d = tr["id"], d
        if best is None or best_d > match_km * 1000.0:
            res.alerts[aid] = None
            res.false_alerts.append(aid)
            continue
        res.alerts[aid] = best
        tr = truth_by_id[best]
        res.labels += label_truth(us, tr)
        for u in us:
            imp = u.get("impact")
            if not imp or u.get("status") == "closed":
                continue
            res.updates.append({
                "alert_id": aid, "truth": best, "t": u["t"],
                "since_launch_s": u["t"] - tr["launch"]["t"], "since_burnout_s": u["t"] - tr.get("burnout_t", tr["launch"]["t"]),
                "before_impact_s": tr["impact"]["t"] - u["t"],
                "error_m": great_circle_m(imp["lat"], imp["lon"], tr["impact"]["lat"], tr["impact"]["lon"]),
                "time_error_s": imp["t"] - tr["impact"]["t"],
                "inside": inside_ellipse(imp, tr["impact"]["lat"], tr["impact"]["lon"]),
                "semi_major_m": imp["semi_major_m"],
            })
    for tr in truths:
        mine = [aid for aid, t in res.alerts.items() if t == tr["id"]]
        if not mine:
            res.missed.append(tr["id"])
            continue
        first = min(u["t"] for aid in mine for u in by_alert[aid])
        with_imp = [u["t"] for aid in mine for u in by_alert[aid] if u.get("impact") and u.get("status") != "closed"]
        res.latency[tr["id"]] = {
            "first_alert_s": first - tr["launch"]["t"],
            "first_impact_s": (min(with_imp) - tr["launch"]["t"]) if with_imp else None,
        }
    return res


#: what each status label claims of the missile's phase: the phases ("boost", "free flight",
#: "landed") in which it is true; a label not listed (``launch``, a close for loss or merger)
#: claims no phase beyond the launch itself
LABEL_PHASES = {"launch": ("boost", "free flight", "landed"), "boost": ("boost",),
                "tracking": ("free flight",), "closed impact": ("landed",)}


def phase_at(truth: dict, t: float) -> str:
    """The true phase of a missile at ``t`` (s): ``before launch``, ``boost`` (launch to burnout,
    both included), ``free flight`` (to the impact) or ``landed``."""
    if t < truth["launch"]["t"]:
        return "before launch"
    if t <= truth.get("burnout_t", truth["launch"]["t"]):
        return "boost"
    if t < truth["impact"]["t"]:
        return "free flight"
    return "landed"


def label_truth(updates: list[dict], truth: dict) -> list[dict]:
    """Each update's status label against the true phase of its missile ``truth`` at its time.

    Returns one dict per update whose label claims a phase (:data:`LABEL_PHASES`): ``alert_id``,
    ``t``, ``label`` (the status, ``closed impact`` for a close at impact), ``phase`` (the true
    one, :func:`phase_at`), ``ok`` and ``off_s``, how far (s) the update's time lies outside the
    span where its label would be true (0 when ``ok``).
    """
    out = []
    t_l, t_b, t_i = truth["launch"]["t"], truth.get("burnout_t", truth["launch"]["t"]), truth["impact"]["t"]
    spans = {"boost": (t_l, t_b), "free flight": (t_b, t_i), "landed": (t_i, math.inf)}
    for u in updates:
        label = u.get("status")
        if label == "closed":
            if u.get("reason") != "impact":
                continue
            label = "closed impact"
        if label not in LABEL_PHASES:
            continue
        phase = phase_at(truth, u["t"])
        ok = phase in LABEL_PHASES[label]
        off = 0.0
        if not ok:
            off = min(max(lo - u["t"], u["t"] - hi, 0.0) for lo, hi in (spans[p] for p in LABEL_PHASES[label]))
        out.append({"alert_id": u["alert_id"], "t": u["t"], "label": label, "phase": phase, "ok": ok,
                    "off_s": off})
    return out


def coverage_by_launch(updates: list[dict]) -> dict:
    """Per launch (the scored updates' ``truth``): (updates with an impact, of them inside the 95 %
    ellipse)."""
    out: dict = {}
    for x in updates:
        n, k = out.get(x["truth"], (0, 0))
        out[x["truth"]] = (n + 1, k + int(bool(x["inside"])))
    return out


def coverage_interval(updates: list[dict], level: float = 0.95, resamples: int = 10_000,
                      seed: int = 0) -> tuple[float, float, float, int]:
    """Pooled coverage of the 95 % ellipses and its ``level`` interval with launches as the unit.

    Returns (coverage, low, high, launches). The interval is the percentile cluster bootstrap:
    launches are drawn with replacement (each bringing all its updates) and the pooled coverage
    recomputed ``resamples`` times (a fixed ``seed``: the same figures for the same updates).
    Resampling updates instead would treat thousands of nearly repeated ellipses of one flight as
    independent trials and give an interval far too narrow. Empty input: NaNs and 0.
    """
    per = coverage_by_launch(updates)
    if not per:
        return math.nan, math.nan, math.nan, 0
    n = np.array([v[0] for v in per.values()], dtype=float)
    k = np.array([v[1] for v in per.values()], dtype=float)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(n), size=(resamples, len(n)))
    boot = k[pick].sum(axis=1) / n[pick].sum(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(k.sum() / n.sum()), float(lo), float(hi), len(n)
