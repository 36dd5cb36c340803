"""Key files: written with their permissions from the start, and the error every key reader raises."""

from __future__ import annotations

import os
from pathlib import Path


class KeyFileError(ValueError):
    """A key file or key string that cannot be used: names the source and what was wrong."""


def write_key_file(path: Path, data: bytes, mode: int, overwrite: bool) -> None:
    """Write ``data`` to ``path`` with permission bits ``mode`` (0600 for private keys) set before a
    byte is written; an existing file is replaced only with ``overwrite`` (KeyFileError otherwise)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeyFileError(f"{path}: exists (pass overwrite=True to replace it)") from None
    try:
        os.fchmod(fd, mode)  # os.open's mode is filtered by the umask, and ignored for an existing file
        os.write(fd, data)
    finally:
        os.close(fd)
