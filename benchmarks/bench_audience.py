"""What per-recipient estimates cost (issue 12, item 1): each node's tracker and warner time with
and without the extra trackers and warners of its releasability audiences.

    python benchmarks/bench_audience.py [--duration S] [--scale-duration S] [--skip scale]

1. **Trilateral** (seed 6, ``--duration`` s, default 1200): the scenario is simulated once; each
   nation's :class:`~skyweave.node.core.NodeCore` takes its own scans twice, without partners
   (one tracker, one warner) and with the trilateral's partners (the extra trackers and warners
   of docs/fusion.md, "Who reports what to whom"). Printed per nation: the extra trackers and
   warners, the main tracker's seconds, the audiences' seconds, the whole ingest loop's seconds
   both ways and their ratio.
2. **10,000 targets** (the shipped ``clutter-10000``, two radars, ``--scale-duration`` s, default
   60): the radars are given to one nation, the first releasable to a partner, the second not,
   so that partner's audience runs a second tracker on half the scans; and once more with both
   radars not releasable to it and a third nation getting one radar each way (two extra
   trackers). Printed: tracker and audience seconds and the real-time factor (scenario s /
   tracking s) with and without the audiences, against the 10,000-target real-time goal.

Detections come from the simulator in memory (no file I/O in the timed loop).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from skyweave.node.core import NodeCore


def scans_of(name: str, seed: int | None, duration: float):
    """The scenario's sensors and every scan (a list, made once)."""
    import skyweave

    src = skyweave.simulate(name, seed=seed, duration=duration)
    return src.sensors, list(src)


def run_core(sensors, scans, nation: str | None, partners: tuple[str, ...], warn: bool) -> dict:
    core = NodeCore(sensors, nation=nation, warn=warn, partners=partners)
    own = {s.id for s in sensors.sensors if nation is None or s.nation == nation}
    t0 = time.perf_counter()
    for raw in scans:
        if raw.sensor in own:
            core.ingest(raw)
    core.finish()
    wall = time.perf_counter() - t0
    aud = core.audiences
    return {"wall_s": wall, "tracker_s": core.tracker_s, "audience_s": core.audience_s,
            "extra_trackers": aud.stats["extra_trackers"] if aud else 0,
            "extra_warners": aud.stats["extra_warners"] if aud else 0}


def trilateral(duration: float) -> list[dict]:
    sensors, scans = scans_of("trilateral", 6, duration)
    nations = sorted({s.nation for s in sensors.sensors})
    rows = []
    for n in nations:
        partners = tuple(m for m in nations if m != n)
        alone = run_core(sensors, scans, n, (), True)
        every = run_core(sensors, scans, n, partners, True)
        rows.append({"nation": n, "alone": alone, "with": every})
    return rows


def remark(sensors, marks: dict[str, tuple[str, ...]]):
    """The sensor set with every sensor given to USA and the markings ``marks`` (id -> nations)."""
    out = []
    for s in sensors.sensors:
        out.append(dataclasses.replace(s, nation="USA", releasable_to=tuple(sorted(set(marks[s.id]) | {"USA"}))))
    return dataclasses.replace(sensors, sensors=tuple(out))


def scale(duration: float) -> list[dict]:
    sensors, scans = scans_of("clutter-10000", 1, duration)
    ids = [s.id for s in sensors.sensors]
    if len(ids) < 2:
        raise SystemExit(f"clutter-10000 has {len(ids)} sensor(s): this case needs two")
    a, b = ids[:2]
    cases = [
        ("one tracker", {a: ("AUS",), b: ("AUS",)}, ("AUS",)),
        ("+1 audience tracker (AUS: one radar of two)", {a: ("AUS",), b: ()}, ("AUS",)),
        ("+2 audience trackers (AUS: radar 1, GBR: radar 2)", {a: ("AUS",), b: ("GBR",)}, ("AUS", "GBR")),
    ]
    rows = []
    for label, marks, partners in cases:
        s2 = remark(sensors, marks)
        r = run_core(s2, scans, "USA", partners, False)
        r["case"] = label
        r["rtf"] = duration / max(r["tracker_s"] + r["audience_s"], 1e-9)
        rows.append(r)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=1200.0, help="trilateral scenario s (default 1200)")
    ap.add_argument("--scale-duration", type=float, default=60.0, help="clutter-10000 scenario s (default 60)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["trilateral", "scale"])
    a = ap.parse_args(argv)
    print(f"# bench_audience  {time.strftime('%Y-%m-%d %H:%M')}  python {sys.version.split()[0]}")
    if "trilateral" not in a.skip:
        print(f"\n## Trilateral, seed 6, {a.duration:.0f} s: each nation's own scans, tracker and warner\n")
        print("| nation | extra trackers / warners | alone: loop s (tracker s) | with audiences: loop s "
              "(tracker s + audiences s) | ratio |")
        print("|---|---|---|---|---|")
        for r in trilateral(a.duration):
            al, w = r["alone"], r["with"]
            print(f"| {r['nation']} | {w['extra_trackers']} / {w['extra_warners']} | {al['wall_s']:.1f} "
                  f"({al['tracker_s']:.1f}) | {w['wall_s']:.1f} ({w['tracker_s']:.1f} + {w['audience_s']:.1f}) | "
                  f"{w['wall_s'] / max(al['wall_s'], 1e-9):.2f}× |")
    if "scale" not in a.skip:
        print(f"\n## 10,000 targets (clutter-10000, two radars, {a.scale_duration:.0f} s), tracker only\n")
        print("| case | tracker s | audiences s | real-time factor (goal > 1) |")
        print("|---|---|---|---|")
        for r in scale(a.scale_duration):
            print(f"| {r['case']} | {r['tracker_s']:.2f} | {r['audience_s']:.2f} | {r['rtf']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
