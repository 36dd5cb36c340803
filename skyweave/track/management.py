"""Track management: confirmation, deletion and track quality, as vectorised rules over the table.

- M-of-N (Blackman & Popoli, *Design and Analysis of Modern Tracking Systems*, 1999, §3.3): a
  tentative track is confirmed when it has M detections within its last N opportunities, and
  deleted as soon as it can no longer reach M within its first N.
- Sequential likelihood-ratio test (Blackman & Popoli §6.2; Wald 1945): the track score
  L = Σ ln(P_D g / λ) over detections + Σ ln(1 − P_D) over missed opportunities is tested
  against ln((1 − β)/α) (confirm) and ln(β/(1 − α)) (delete); a confirmed track is deleted when
  L falls ``delete_score_drop`` below its running maximum.
- Confirmed tracks are also deleted when ``delete_after_misses`` scans in a row that should have
  seen them did not, when they have coasted too long without any detection, when they have left
  every sensor's coverage (and missed ``exit_revisits`` revisit intervals' detections), or when
  they have grown too uncertain.
- Track quality: a 0–15 figure, a logarithmic scale of the 95 % horizontal position error
  radius r₉₅ (15 at ≤ 10 m, one step per doubling), inspired by (not claiming compliance with)
  Link 16's track quality; fusion compares it across nodes.
"""

from __future__ import annotations

import numpy as np

from skyweave.track.table import CONFIRMED, TENTATIVE


def popcount_low(bits: np.ndarray, n: int) -> np.ndarray:
    """Number of set bits among the lowest ``n`` of each uint32."""
    if hasattr(np, "bitwise_count"):   # numpy >= 2.0: one call
        low = np.asarray(bits).astype(np.uint64) & np.uint64((1 << n) - 1)
        return np.bitwise_count(low).astype(np.int32)
    b = bits.astype(np.uint64)
    out = np.zeros(b.shape, dtype=np.int32)
    for k in range(n):
        out += ((b >> np.uint64(k)) & np.uint64(1)).astype(np.int32)
    return out


def confirm_mask(cols: dict, cfg) -> np.ndarray:
    tent = cols["status"] == TENTATIVE
    if not tent.any():
        return tent
    if cfg.confirm == "sprt":
        upper = np.log((1.0 - cfg.sprt_lost_track) / cfg.sprt_false_track)
        return tent & (cols["score"] >= upper)
    return tent & (popcount_low(cols["hist"], cfg.confirm_n) >= cfg.confirm_m)


def delete_mask(cols: dict, pos_sigma: np.ndarray, t: float, cfg, outside: np.ndarray | None = None) -> np.ndarray:
    """Tracks to delete at time ``t`` (s); ``outside`` marks confirmed tracks no sensor covers any more."""
    tent = cols["status"] == TENTATIVE
    conf = cols["status"] == CONFIRMED
    if cfg.confirm == "sprt":
        lower = np.log(cfg.sprt_lost_track / (1.0 - cfg.sprt_false_track))
        dead_tent = tent & (cols["score"] <= lower)
        dead_conf = conf & (cols["score"] < cols["score_max"] - cfg.delete_score_drop)
    else:
        misses = cols["opps"] - cols["hits"]
        dead_tent = tent & (misses > cfg.confirm_n - cfg.confirm_m)
        dead_conf = np.zeros_like(conf)
    dead_conf |= conf & (cols["miss_run"] >= cfg.delete_after_misses)
    coast = np.maximum(cfg.coast_min_s, cfg.coast_revisits * cols["revisit"])
    stale = (t - cols["t_hit"]) > coast
    dead_tent |= tent & stale
    dead_conf |= conf & stale
    if outside is not None:
        dead_conf |= conf & outside
    lost = pos_sigma > cfg.max_position_sigma_m
    return dead_tent | dead_conf | lost


def track_quality(P_pos: np.ndarray) -> np.ndarray:
    """0–15 quality from position covariances (N, d, d): 15 − ⌊log₂(r₉₅ / 10 m)⌋, clipped.

    r₉₅ ≈ 2.45 σ for a circular horizontal error with σ² = trace(P_xy)/2, i.e. r₉₅ ≈ 1.73 √trace.
    """
    tr = np.trace(P_pos[:, :2, :2], axis1=1, axis2=2)
    r95 = 1.73 * np.sqrt(np.maximum(tr, 1e-6))
    q = 15 - np.floor(np.log2(np.maximum(r95, 1e-3) / 10.0))
    return np.clip(q, 0, 15).astype(np.int8)
