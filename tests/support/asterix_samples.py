"""The real ASTERIX recordings the tests read, from the installed asterix-decoder (the GPL test
oracle that scripts/services.sh builds into .venv for ``make test``): its package ships them in
``asterix/sample_data`` (cat034.raw, cat048.raw, cat062cat065.raw, cat_034_048.pcap,
cat_062_065.pcap). skyweave keeps no copy: a test that needs one is marked :data:`needs_asterix`
and skips, saying why, where asterix-decoder is not importable."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import asterix as _oracle
except ImportError:  # not built here: the tests that need a capture skip
    _oracle = None

HAVE_ASTERIX = _oracle is not None
REASON = ("asterix-decoder is not importable: the real ASTERIX captures ship in its package "
          "(sample_data); scripts/services.sh builds it into .venv")
#: mark a test that reads a capture (or asks asterix-decoder itself)
needs_asterix = pytest.mark.skipif(not HAVE_ASTERIX, reason=REASON)


def sample_path(name: str) -> Path:
    """The path of the capture ``name`` in asterix-decoder's sample_data (skips without it)."""
    if _oracle is None:
        pytest.skip(REASON)
    path = Path(_oracle.__file__).resolve().parent / "sample_data" / name
    if not path.is_file():
        pytest.fail(f"asterix-decoder at {Path(_oracle.__file__).parent} has no sample_data/{name}: "
                    "install asterix-decoder>=0.7.11,<0.8 (scripts/services.sh)")
    return path


def sample_bytes(name: str) -> bytes:
    """The bytes of the capture ``name`` (skips without asterix-decoder)."""
    return sample_path(name).read_bytes()
