"""The rooms of docs/DESIGN.md, checked on the source: arrows one way, no cycles, no private reach.

Every module under ``skyweave/`` is parsed with :mod:`ast` (nothing is imported), and every
``import`` and ``from ... import`` in it is collected, including those inside functions (a lazy
import is still an arrow). From them:

- each room imports only the rooms the table allows (:data:`ALLOWED`);
- nothing outside ``skyweave/cli`` imports ``skyweave.cli``;
- geo uses numpy and the standard library only; the numerical rooms do no I/O and know no
  transport (:data:`NO_IO_ROOMS`, :data:`IO_MODULES`);
- no module imports a private name (``_name``) from another module: a name another file needs
  is public and documented;
- the module import graph has no cycle.

An edge of the graph is what a statement names: ``from skyweave.share import natsbus`` is an edge
to the submodule ``skyweave.share.natsbus``, ``from skyweave.share import Gate`` one to the
package ``skyweave.share`` (its ``__init__``). The implicit import of a module's parent packages
is not an edge (every submodule would otherwise form a cycle with its package's ``__init__``).
Imports under ``if TYPE_CHECKING:`` count for the room rules but not for cycles.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "skyweave"

ROOMS = (
    "geo", "core", "scenario", "track", "fuse", "share", "warn", "metrics", "io", "node", "interop",
    "api", "web", "cli",
)

#: Which rooms each room may import (itself always). ``skyweave`` itself (the version) is open to
#: all. The table of docs/DESIGN.md, "Rooms"; ``api`` is the module ``skyweave/api.py``, the
#: embeddable facade over the rooms that the package root loads on first use.
ALLOWED: dict[str, frozenset[str]] = {
    "geo": frozenset(),
    "core": frozenset({"geo"}),
    "scenario": frozenset({"geo", "core"}),
    "track": frozenset({"geo", "core"}),
    "fuse": frozenset({"track", "geo", "core"}),
    "share": frozenset({"core"}),
    "warn": frozenset({"track", "geo", "core"}),
    "metrics": frozenset({"geo", "core"}),
    "io": frozenset({"geo", "core"}),
    "node": frozenset(ROOMS) - {"node", "interop", "api", "web", "cli"},
    "interop": frozenset({"node", "io", "core", "geo"}),
    "api": frozenset(ROOMS) - {"api", "web", "cli"},
    "web": frozenset({"api", "node", "io", "core", "geo"}),
    "cli": frozenset(ROOMS) - {"cli"},
}

#: Rooms of the numerical core: no I/O, no transport (docs/DESIGN.md, below the table).
NO_IO_ROOMS = ("geo", "core", "track", "fuse", "warn", "metrics")

#: Top-level modules that mean I/O or transport.
IO_MODULES = frozenset({
    "asyncio", "http", "nats", "socket", "socketserver", "sqlite3", "ssl", "subprocess", "urllib",
    "psycopg", "psycopg2", "websockets", "aiohttp", "requests",
})

#: What geo may import besides the standard library.
GEO_THIRD_PARTY = frozenset({"numpy"})


@dataclass(frozen=True)
class Import:
    """One import statement's target as seen from a module."""

    importer: str      # dotted name of the importing module
    target: str        # dotted name of the module imported (a skyweave module or a package)
    names: tuple[str, ...]  # the names taken by ``from ... import`` (empty for ``import``)
    line: int
    type_checking: bool

    def where(self) -> str:
        return f"{module_path(self.importer)}:{self.line}"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def module_path(name: str) -> str:
    return str(modules()[name].relative_to(ROOT))


def room_of(name: str) -> str | None:
    """The room of ``skyweave.<room>...``; None for the package root ``skyweave``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Line numbers of statements inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            t = node.test
            name = getattr(t, "id", None) or getattr(t, "attr", None)
            if name == "TYPE_CHECKING":
                for stmt in node.body:
                    for sub in ast.walk(stmt):
                        if hasattr(sub, "lineno"):
                            lines.add(sub.lineno)
    return lines


@cache
def all_imports() -> tuple[tuple[Import, ...], dict[str, tuple[str, ...]]]:
    """(skyweave imports of every module, top-level external module names per module)."""
    mods = modules()
    found: list[Import] = []
    external: dict[str, tuple[str, ...]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        tc = _type_checking_lines(tree)
        ext: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "skyweave" or alias.name.startswith("skyweave."):
                        found.append(Import(name, alias.name, (), node.lineno, node.lineno in tc))
                    else:
                        ext.add(alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    is_pkg = path.name == "__init__.py"
                    src = _resolve_relative(name, is_pkg, node.level, node.module)
                else:
                    src = node.module or ""
                if not (src == "skyweave" or src.startswith("skyweave.")):
                    if src != "__future__":
                        ext.add(src.split(".")[0])
                    continue
                names = tuple(a.name for a in node.names)
                submods = [f"{src}.{n}" for n in names if f"{src}.{n}" in mods]
                rest = tuple(n for n in names if f"{src}.{n}" not in mods)
                for sm in submods:
                    found.append(Import(name, sm, (), node.lineno, node.lineno in tc))
                if rest:
                    found.append(Import(name, src, rest, node.lineno, node.lineno in tc))
        external[name] = tuple(sorted(ext))
    return tuple(found), external


def room_violations() -> list[str]:
    out = []
    for imp in all_imports()[0]:
        src, dst = room_of(imp.importer), room_of(imp.target)
        if dst is None or src == dst:
            continue
        if src is None:
            out.append(f"{imp.where()}: the package root imports {imp.target}")
        elif src not in ALLOWED:
            out.append(f"{imp.where()}: {imp.importer} is in no room of docs/DESIGN.md")
        elif dst not in ALLOWED[src]:
            allowed = ", ".join(sorted(ALLOWED[src])) or "no other room"
            out.append(
                f"{imp.where()}: room {src} imports {imp.target} (room {dst}); "
                f"{src} may use {allowed}"
            )
    return out


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with a cycle (Tarjan, iterative), as a list of
    modules whose last imports the first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    sccs: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.add(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in graph.get(v, ()):
                        sccs.append(comp)
    cycles = []
    for comp in sccs:
        # a shortest cycle through the component's first module, by breadth-first search
        start = min(comp)
        prev: dict[str, str] = {}
        frontier = [start]
        seen = {start}
        end = None
        while frontier and end is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph.get(v, ())):
                    if w == start:
                        end = v
                        break
                    if w in comp and w not in seen:
                        seen.add(w)
                        prev[w] = v
                        nxt.append(w)
                if end is not None:
                    break
            frontier = nxt
        path = [end]
        while path[-1] != start:
            path.append(prev[path[-1]])
        cycles.append(path[::-1])
    return cycles


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for imp in all_imports()[0]:
        if not imp.type_checking and imp.target in graph:
            graph[imp.importer].add(imp.target)
    return graph


# --------------------------------------------------------------------------- the tests


def test_every_module_parses_and_is_in_a_room():
    assert len(modules()) > 50
    strays = [m for m in modules() if m != "skyweave" and room_of(m) not in ROOMS]
    assert not strays, f"modules outside the rooms of docs/DESIGN.md: {strays}"


def test_rooms_import_only_what_the_design_allows():
    bad = room_violations()
    assert not bad, "imports against docs/DESIGN.md's rooms table:\n" + "\n".join(bad)


def test_nothing_but_the_cli_imports_the_cli():
    bad = [
        f"{imp.where()}: {imp.importer} imports {imp.target}"
        for imp in all_imports()[0]
        if room_of(imp.target) == "cli" and room_of(imp.importer) != "cli"
    ]
    assert not bad, "only skyweave/cli may import skyweave.cli:\n" + "\n".join(bad)


def test_geo_uses_numpy_and_the_standard_library_only():
    external = all_imports()[1]
    bad = {
        m: [e for e in ext if e not in sys.stdlib_module_names and e not in GEO_THIRD_PARTY]
        for m, ext in external.items()
        if room_of(m) == "geo"
    }
    bad = {m: e for m, e in bad.items() if e}
    assert not bad, f"geo imports more than numpy: {bad}"


@pytest.mark.parametrize("room", NO_IO_ROOMS)
def test_the_numerical_core_does_no_io(room):
    external = all_imports()[1]
    bad = {m: sorted(set(ext) & IO_MODULES) for m, ext in external.items() if room_of(m) == room}
    bad = {module_path(m): e for m, e in bad.items() if e}
    assert not bad, f"room {room} imports I/O or transport modules: {bad}"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_crosses_a_module():
    bad = [
        f"{imp.where()}: {imp.importer} imports {', '.join(filter(_private, imp.names))} "
        f"from {imp.target}"
        for imp in all_imports()[0]
        if imp.target != imp.importer and any(map(_private, imp.names))
    ]
    assert not bad, (
        "private names used across modules (make them public and documented):\n" + "\n".join(bad)
    )


def test_the_module_import_graph_has_no_cycle():
    cycles = find_cycles(import_graph())
    text = "\n".join(" -> ".join(c + [c[0]]) for c in cycles)
    assert not cycles, f"import cycles (function-level imports included):\n{text}"


def test_find_cycles_finds_a_cycle_and_only_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"a"}}) == [["a"]]


def test_test_and_benchmark_helpers_are_not_shipped():
    """NATS server processes and the fusion simulator live in tests/support, not in the package."""
    for gone in ("skyweave.share.testing", "skyweave.fuse.testing", "skyweave.share.latency"):
        assert gone not in modules()
    external = all_imports()[1]
    bad = {m: sorted(set(e) & {"pytest", "hypothesis", "tests"}) for m, e in external.items()}
    bad = {m: e for m, e in bad.items() if e}
    assert not bad, f"package modules importing test tools: {bad}"


def test_the_io_formats_reexports_are_the_core_model():
    """``from skyweave.io.formats import SensorSet`` (and the rest) works: the same objects."""
    import skyweave.core as core
    import skyweave.io.formats as formats

    names = (
        "FormatError", "NATION_RE", "SENSOR_KINDS", "Origin", "SensorSpec", "SensorSet", "parse_epoch",
    )
    for name in names:
        assert getattr(formats, name) is getattr(core, name)
