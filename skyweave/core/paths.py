"""Checks of the paths a user names: one-line problems that say which file or folder and what to do.

Each returns the problem as text (None when the path is fine); the command line raises it as its
``Failure``, a node's set-up as its own error, so every entry point words a mistake the same way.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["file_problem", "folder_problem", "os_reason"]


def os_reason(e: OSError) -> str:
    """What went wrong, in lower case, without the errno number."""
    if e.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder"
    return (e.strerror or str(e)).lower()


def file_problem(path: Path, what: str) -> str | None:
    """Why ``path`` (named as ``what``, an option or key) is not a readable file, or None."""
    path = Path(path)
    if path.is_dir():
        return f"{what} {path}: is a folder, expected a file"
    if not path.exists():
        return f"{what} {path}: no such file; check the path"
    if not os.access(path, os.R_OK):
        return f"{what} {path}: not readable; check its permissions"
    return None


def folder_problem(path: Path, what: str) -> str | None:
    """Create the output folder ``path`` and its parents; why it cannot be one, or None."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{what} {path}: exists and is not a folder; choose another {what}"
    except OSError as e:
        return f"{what} {path}: cannot create this folder ({os_reason(e)}); choose a writable {what}"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{what} {path}: folder not writable; choose a writable {what}"
    return None
