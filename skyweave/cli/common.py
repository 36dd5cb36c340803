"""Shared helpers of the CLI: shipped scenarios, the one error style, output folders, consoles, progress.

Every user mistake ends in one line on stderr that starts with ``Error: `` (click's own prefix
for usage errors) and names the thing at fault (path, option, field) and what to do:

- a usage error (bad option or value, missing argument, unknown scenario name) is click's
  :class:`click.UsageError`: usage line, help hint, the ``Error:`` line, exit status 2;
- a failure (missing or unreadable file, unwritable output folder, bad file content, unreachable
  server) is :class:`Failure`: the ``Error:`` line alone, exit status 1.

:func:`skyweave.cli.main.main` turns any OSError or ValueError (FormatError included) that a
command did not catch into a :class:`Failure` too, unless ``SKYWEAVE_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from skyweave.core.paths import file_problem, folder_problem, os_reason
from skyweave.scenario.shipped import SCENARIO_DIR, shipped_names as _shipped

if TYPE_CHECKING:
    from skyweave.io.formats import FormatError

__all__ = ["SCENARIO_DIR", "Failure", "fail", "resolve_scenario", "need_file", "need_dir", "make_dir", "make_parent",
           "console", "progress_bar", "stages_bar", "last_time"]

#: the prefix of every error line (click's, for usage errors and ClickException alike)
PREFIX = "Error: "

#: set to 1 to see the traceback of an unexpected error instead of its one-line message
DEBUG_ENV = "SKYWEAVE_DEBUG"


class Failure(click.ClickException):
    """A failure that is not a usage error (a file, a folder, a server): ``Error: ...``, exit 1.

    The message is printed on one line (any newline in it becomes ``; ``), without colour.
    """

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(part.strip() for part in str(message).strip().splitlines() if part.strip()))

    def show(self, file=None) -> None:
        click.echo(PREFIX + self.format_message(), file=file if file is not None else sys.stderr, color=False)


def debug() -> bool:
    """True when SKYWEAVE_DEBUG asks for tracebacks (any value but '', '0', 'false', 'no')."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def describe_error(e: BaseException) -> str:
    """A one-line account of an OSError or ValueError: the path and the system's reason, or the message."""
    if isinstance(e, OSError):
        what = e.strerror or type(e).__name__
        if e.filename is not None and e.filename2 is not None:
            return f"{e.filename} -> {e.filename2}: {what.lower()}"
        if e.filename is not None:
            return f"{e.filename}: {what.lower()} (check the path and its permissions)"
        return str(e) or what
    return str(e) or type(e).__name__


def fail(err: FormatError | Exception) -> None:
    """Exit with a one-line error (no traceback) for a bad input file or a failed run
    (``SKYWEAVE_DEBUG=1``: re-raise ``err`` with its traceback instead)."""
    if debug():
        raise err
    raise Failure(describe_error(err)) from None


def resolve_scenario(name: str) -> Path:
    """A scenario path, or the name of a shipped one ('trilateral', 'clutter-100').

    A name that is not a shipped scenario is a usage error (exit 2) listing the shipped ones; a
    path (with a folder or a .yaml/.yml suffix) that does not exist is a missing file (exit 1).
    """
    p = Path(name)
    if p.is_file():
        return p
    for cand in (SCENARIO_DIR / name, SCENARIO_DIR / f"{name}.yaml"):
        if cand.is_file():
            return cand
    if p.is_dir():
        raise Failure(f"SCENARIO {name}: is a folder; give a scenario YAML file or a shipped name")
    if len(p.parts) > 1 or p.suffix.lower() in (".yaml", ".yml"):
        raise Failure(f"SCENARIO {name}: no such file; check the path, or give a shipped name ({shipped_names()})")
    raise click.BadParameter(f"no shipped scenario '{name}' and no such file; shipped: {shipped_names()}",
                             param_hint="SCENARIO")


def shipped_names() -> str:
    """The shipped scenario names (skyweave/scenarios/, package data), comma-separated."""
    return ", ".join(_shipped()) or "none"


def need_file(path: Path, what: str) -> Path:
    """``path`` if it is a readable file; else a :class:`Failure` naming ``what`` (an option) and the path."""
    problem = file_problem(path, what)
    if problem:
        raise Failure(problem)
    return Path(path)


def need_dir(path: Path, what: str) -> Path:
    """``path`` if it is a folder; else a :class:`Failure` naming ``what`` and the path."""
    path = Path(path)
    if not path.exists():
        raise Failure(f"{what} {path}: no such folder; check the path")
    if not path.is_dir():
        raise Failure(f"{what} {path}: is a file, expected a folder")
    return path


def make_dir(path: Path, what: str) -> Path:
    """Create the output folder ``path`` (and its parents); a :class:`Failure` naming ``what`` if it cannot be."""
    problem = folder_problem(path, what)
    if problem:
        raise Failure(problem)
    return Path(path)


def make_parent(path: Path, what: str) -> Path:
    """Create the folder an output file ``path`` goes in; a :class:`Failure` naming ``what`` if it cannot be."""
    path = Path(path)
    if path.is_dir():
        raise Failure(f"{what} {path}: is a folder, expected a file name")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise Failure(f"{what} {path}: its folder {parent} is a file; choose another {what}") from None
    except OSError as e:
        raise Failure(f"{what} {path}: cannot create its folder {parent} ({os_reason(e)}); choose a writable {what}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise Failure(f"{what} {path}: folder {parent} not writable; choose a writable {what}")
    return path


def console(stderr: bool = False):
    """A rich Console for tables: on a terminal its width; in a pipe or a file wide enough that no
    table row wraps (rich would otherwise cut at 80 columns)."""
    from rich.console import Console

    con = Console(highlight=False, stderr=stderr)
    if not con.is_terminal:
        con.width = 200
    return con


@contextmanager
def progress_bar(total: float, description: str, enabled: bool | None = None):
    """A rich progress bar over scenario seconds, shown only on a terminal; yields an update(t) callable."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda t: None
        return
    with _progress() as prog:
        task = prog.add_task(description, total=total)
        yield lambda t: prog.update(task, completed=t)


#: what each stage of :func:`skyweave.node.network.run_network` is called on its progress bar
STAGES = {"simulate": "simulating", "network": "running the nodes"}


@contextmanager
def stages_bar(enabled: bool | None = None):
    """Progress bars over scenario seconds, one per stage, shown only on a terminal (stderr).

    Yields ``update(stage, t, total)``, the ``progress`` callable of
    :func:`~skyweave.node.network.run_network`, or False when nothing is shown (pass it on as is).
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield False
        return
    with _progress() as prog:
        tasks: dict[str, int] = {}

        def update(stage: str, t: float, total: float) -> None:
            if stage not in tasks:
                for done in tasks.values():  # an earlier stage is over
                    prog.update(done, completed=prog.tasks[done].total)
                tasks[stage] = prog.add_task(STAGES.get(stage, stage), total=total)
            prog.update(tasks[stage], completed=t)

        yield update


def _progress():
    """A rich Progress on stderr: what, a bar, scenario seconds done of all, time spent and left."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=True, console=Console(stderr=True),
    )


def last_time(path: Path) -> float:
    """The last line's ``t`` of a detections file (for the progress bar), 0 when unknown."""
    import json

    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 4096))
            tail = f.read().splitlines()
        for line in reversed(tail):
            try:
                return float(json.loads(line)["t"])
            except (ValueError, KeyError, TypeError):
                continue
    except OSError:
        pass
    return 0.0
