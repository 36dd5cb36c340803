"""Shared helpers of the CLI: finding shipped scenarios, progress bars, error reporting."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click

from skyweave.io.formats import FormatError

#: where the shipped scenarios live (the repository's scenarios/ folder)
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def resolve_scenario(name: str) -> Path:
    """A scenario path, or the name of a shipped one ('trilateral', 'clutter-100')."""
    p = Path(name)
    if p.exists():
        return p
    for cand in (SCENARIO_DIR / name, SCENARIO_DIR / f"{name}.yaml"):
        if cand.exists():
            return cand
    shipped = ", ".join(sorted(f.stem for f in SCENARIO_DIR.glob("*.yaml"))) or "none"
    raise click.BadParameter(f"no scenario file '{name}' (shipped scenarios: {shipped})", param_hint="SCENARIO")


def fail(err: FormatError | Exception) -> None:
    """Exit with a one-line error (no traceback) for a bad input file."""
    raise click.ClickException(str(err))


@contextmanager
def progress_bar(total: float, description: str, enabled: bool | None = None):
    """A rich progress bar over scenario seconds, shown only on a terminal; yields an update(t) callable."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda t: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
    ) as prog:
        task = prog.add_task(description, total=total)
        yield lambda t: prog.update(task, completed=t)
