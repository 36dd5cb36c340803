"""The scenarios shipped with skyweave (package data in skyweave/scenarios/, so a wheel carries them)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: the folder of the shipped scenario files
SCENARIO_DIR = Path(str(resources.files("skyweave") / "scenarios"))


def shipped_names() -> list[str]:
    """The shipped scenarios' names ('clutter-10', 'trilateral', ...), sorted."""
    return sorted(f.stem for f in SCENARIO_DIR.glob("*.yaml"))


def scenario_path(name: str | Path) -> Path:
    """A scenario file: an existing path, or the name of a shipped scenario ('trilateral').

    FileNotFoundError names the shipped scenarios when ``name`` is neither."""
    p = Path(name)
    if p.is_file():
        return p
    for cand in (SCENARIO_DIR / str(name), SCENARIO_DIR / f"{name}.yaml"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"no scenario file {str(name)!r} (shipped scenarios: {', '.join(shipped_names()) or 'none'})")
