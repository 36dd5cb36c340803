"""Declared, documented, validated parameters: what every configuration dataclass shares.

A configuration is a frozen dataclass whose fields are made with :func:`param` (default, doc,
allowed choices, bounds) and which inherits :class:`Configurable`: it validates every field once
when built (``ValueError`` naming the parameter, what was expected and what came), builds from a
mapping (a YAML section) refusing unknown keys, and describes itself for ``--help`` and the docs.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, field, fields, replace


def param(default, doc: str, choices=None, lo=None, hi=None):
    """A documented dataclass field; ``choices`` or the bounds ``lo``/``hi`` are checked when the object is built."""
    return field(default=default, metadata={"doc": doc, "choices": choices, "lo": lo, "hi": hi})


class Configurable:
    """Mixin for frozen parameter dataclasses; ``_label`` names the configuration in error messages."""

    _label = "config"

    def _check_number(self, f, v) -> None:
        md = f.metadata
        want_int = isinstance(f.default, int) and not isinstance(f.default, bool)
        name = f"{self._label} '{f.name}'"
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (want_int and not isinstance(v, int)):
            raise ValueError(f"{name}: expected {'an integer' if want_int else 'a number'}, got {v!r}")
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(f"{name}: expected a finite number, got {v!r}")
        if md.get("lo") is not None and v < md["lo"]:
            raise ValueError(f"{name}: expected a number >= {md['lo']}, got {v!r}")
        if md.get("hi") is not None and v > md["hi"]:
            raise ValueError(f"{name}: expected a number <= {md['hi']}, got {v!r}")

    def _validate(self, skip=()) -> None:
        """Check every field that has choices or is numeric (those in ``skip`` are the caller's)."""
        for f in fields(self):
            if f.name in skip:
                continue
            v = getattr(self, f.name)
            choices = f.metadata.get("choices")
            if choices:
                if v not in choices:
                    raise ValueError(f"{self._label} '{f.name}': expected one of {', '.join(choices)}, got {v!r}")
                continue
            if f.default is None and v is None:
                continue
            if isinstance(f.default, (int, float)) or f.default is None:
                self._check_number(f, v)

    @classmethod
    def from_mapping(cls, d: dict, **overrides):
        """From a mapping (a YAML section); unknown keys are an error naming them; ``overrides`` not None win."""
        if not isinstance(d, dict):
            raise ValueError(f"{cls._label}: expected a mapping of parameter names to values, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        for k in d:
            if k not in known:
                raise ValueError(f"{cls._label}: unknown parameter {k!r} (known: {', '.join(sorted(known))})")
        return cls(**{**d, **{k: v for k, v in overrides.items() if v is not None}})

    def with_(self, **kw):
        return replace(self, **kw)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def describe(cls) -> list[tuple[str, object, str]]:
        """(name, default, doc) of every parameter, for --help and the docs."""
        return [(f.name, None if f.default is MISSING else f.default, f.metadata.get("doc", "")) for f in fields(cls)]
