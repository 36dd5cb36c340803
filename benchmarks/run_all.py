"""Run every benchmark under benchmarks/ in turn (what `make bench` does) and print their figures.

    python benchmarks/run_all.py [--only NAME ...] [--quick]

Each benchmark is a script of its own (``bench_*.py``) that prints its figures; this runner only
sequences them, passing ``--quick`` to those that accept it. Record results in BENCHMARKS.md with
the command and the date.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="benchmark names (e.g. simulate geo)")
    ap.add_argument("--quick", action="store_true", help="smaller cases where a benchmark offers them")
    a = ap.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if a.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in a.only]
    failed = []
    for s in scripts:
        print(f"== {s.stem.removeprefix('bench_')}  ({time.strftime('%Y-%m-%d %H:%M')}, python {s.relative_to(HERE.parent)})", flush=True)
        args = [sys.executable, str(s)]
        if a.quick and "--quick" in s.read_text():
            args.append("--quick")
        if subprocess.call(args) != 0:
            failed.append(s.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
