"""Geodesy throughput: skyweave.geo against pymap3d on the same arrays.

    python benchmarks/bench_geo.py [--n 1000000]

Prints conversions per second for geodetic→ENU, ENU→geodetic and a scan's scenario→sensor frame
transform, and the worst disagreement with pymap3d in millimetres.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    a = ap.parse_args(argv)
    import pymap3d

    from skyweave import geo

    rng = np.random.default_rng(0)
    n = a.n
    lat, lon, alt = rng.uniform(30, 45, n), rng.uniform(125, 145, n), rng.uniform(0, 1e5, n)
    o = (37.5, 134.0, 0.0)
    t_ours, ours = best_of(lambda: geo.geodetic2enu(lat, lon, alt, *o))
    t_ref, ref = best_of(lambda: pymap3d.geodetic2enu(lat, lon, alt, *o))
    err = np.max(np.abs(np.array(ours) - np.array(ref))) * 1000
    e, nn, u = ours
    t_inv, _ = best_of(lambda: geo.enu2geodetic(e, nn, u, *o))
    t_inv_ref, _ = best_of(lambda: pymap3d.enu2geodetic(e, nn, u, *o))
    f = geo.LocalFrame(*o)
    pts = np.column_stack(ours)
    R, sh = geo.sensor_transform(f, [100_000.0, 50_000.0, 300.0])
    t_tr, _ = best_of(lambda: pts @ R.T + sh)
    print(f"points: {n:,}")
    print(f"geodetic->ENU  skyweave {n / t_ours / 1e6:6.1f} M/s   pymap3d {n / t_ref / 1e6:6.1f} M/s   ratio {t_ref / t_ours:4.1f}x   max diff {err:.4f} mm")
    print(f"ENU->geodetic  skyweave {n / t_inv / 1e6:6.1f} M/s   pymap3d {n / t_inv_ref / 1e6:6.1f} M/s   ratio {t_inv_ref / t_inv:4.1f}x")
    print(f"scenario->sensor frame (one affine map): {n / t_tr / 1e6:6.1f} M points/s")


if __name__ == "__main__":
    main()
