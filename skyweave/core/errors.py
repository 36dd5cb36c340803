"""The one error of a broken contract: :class:`FormatError`, raised at every trust boundary.

Files, scenario YAML, partners' records: whatever breaks the contract of docs/formats.md or
docs/scenarios.md raises (or, in a streaming reader, reports) a :class:`FormatError` that names
the file, the line, the field, what was expected and what came.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["FormatError", "short_repr"]


def short_repr(v: Any, n: int = 60) -> str:
    """``repr(v)`` cut to at most ``n`` characters (an ellipsis marks the cut), for messages.

    Never raises: a value whose ``repr`` fails (a list nested past the recursion limit, an
    integer past the digit limit of ``int`` to ``str``) is shown by its type and size instead,
    because a hostile record must not turn its own error message into a crash.
    """
    try:
        s = repr(v)
    except (RecursionError, ValueError, MemoryError):
        size = f" of {len(v)}" if isinstance(v, (list, dict, str, tuple)) else ""
        s = f"<{type(v).__name__}{size}>" if not isinstance(v, int) else f"<an integer of about {v.bit_length() * 0.30103:.0f} digits>"
    return s if len(s) <= n else s[: n - 3] + "..."


class FormatError(ValueError):
    """A record that breaks the contract: names the file, line, field, expectation and value.

    Parameters
    ----------
    path : the file (None: ``<input>``, a stream or a string).
    line : 1-based line number, or None when the record has no line (a JSON document's field).
    field : the field at fault (dotted, ``sensors[2].pd``), or None for the record as a whole.
    expected : what the contract asks for, in words ("a number >= 0").
    got : the value that came (None: nothing to show).
    """

    def __init__(
        self,
        path: str | Path | None,
        line: int | None,
        field: str | None,
        expected: str,
        got: Any = None,
    ):
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.expected = expected
        self.got = got
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        what = f"field '{field}'" if field else "record"
        got_s = "" if got is None else f", got {short_repr(got)}"
        super().__init__(f"{where}: {what}: expected {expected}{got_s}")
