"""Imports point one way: base <- core <- infrastructure <- pipelines / services <- command line.

The graph is read from the source (every ``import`` statement, also those inside functions and
under ``TYPE_CHECKING``), with the package layout of ``setup.py``: ``pipelines/``, ``services/``
and ``schemas/`` are ``gaitstream.pipelines``, ``gaitstream.services`` and ``gaitstream.schemas``.
An import-linter equivalent in 100 lines: import-linter's graph builder walks one directory per
package, and ours spans four.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "gaitstream": "gaitstream",
    "pipelines": "gaitstream.pipelines",
    "services": "gaitstream.services",
    "schemas": "gaitstream.schemas",
}
# Lowest first. A module may import its own layer and the ones below it, never one above.
LAYERS = {
    "base": ("gaitstream", "gaitstream.logging", "gaitstream.exceptions"),
    "core": ("gaitstream.gait", "gaitstream.simulate", "gaitstream.monitor", "gaitstream.schemas"),
    "infrastructure": (
        "gaitstream.settings",
        "gaitstream.access",
        "gaitstream.topics",
        "gaitstream.processes",
        "gaitstream.stack",
        "gaitstream.grafana",
        "gaitstream.ids",
        "gaitstream.clinic_api",
    ),
    "apps": ("gaitstream.pipelines", "gaitstream.services"),
    "command line": ("gaitstream.cli", "gaitstream.demo", "gaitstream.__main__"),
}
ORDER = list(LAYERS)
# (importer, imported) pairs that must not occur; for packages that must not know each other
# both directions are listed.
FORBIDDEN = [
    ("gaitstream.pipelines", "gaitstream.services"),
    ("gaitstream.services", "gaitstream.pipelines"),
    # the simulator is the engine's yardstick: they share no code
    ("gaitstream.simulate", "gaitstream.gait"),
    ("gaitstream.gait", "gaitstream.simulate"),
    ("gaitstream.simulate", "gaitstream.monitor"),
    ("gaitstream.monitor", "gaitstream.simulate"),
    # inside the core: the engine knows nothing of the live monitoring or the wire; the wire
    # contract knows nothing of the engine
    ("gaitstream.gait", "gaitstream.monitor"),
    ("gaitstream.gait", "gaitstream.schemas"),
    ("gaitstream.schemas", "gaitstream.gait"),
    ("gaitstream.schemas", "gaitstream.monitor"),
]
# The pure core computes; it talks to no broker, database or web service.
CORE_FORBIDDEN = (
    "kafka",
    "aiokafka",
    "faust",
    "influxdb_client",
    "httpx",
    "requests",
    "grafana_client",
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "apprise",
    "psycopg",
    "alembic",
)


@cache
def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imported_names(name: str, path: Path) -> set[str]:
    """Every module name an ``import`` in the file refers to (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@cache
def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (the longest known prefix of each name)."""
    known = modules()
    out = {}
    for name, path in known.items():
        edges = set()
        for imported in imported_names(name, path):
            parts = imported.split(".")
            prefix = next((".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in known), None)
            if prefix and prefix != name and not name.startswith(prefix + "."):  # a package's own __init__ is fine
                edges.add(prefix)
        out[name] = edges
    return out


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer(name: str) -> str:
    last = name.rpartition(".")[2]
    if last == "cli" or last.endswith("_cli") or last == "__main__":
        return "command line"
    best = max(
        ((p, layer) for layer, packages in LAYERS.items() for p in packages if _within(name, p)),
        key=lambda pair: len(pair[0]),
    )
    return best[1]


def test_the_layout_maps_the_folders_into_the_gaitstream_namespace():
    names = modules()
    assert "gaitstream.pipelines.app" in names and "gaitstream.schemas.codec" in names
    assert "gaitstream.services.alerts.api.app" in names and "gaitstream.monitor.station" in names
    assert all(layer(name) in LAYERS for name in names)


def test_imports_point_down_the_layers():
    wrong = [
        f"{a} ({layer(a)}) imports {b} ({layer(b)})"
        for a, bs in graph().items()
        for b in sorted(bs)
        if ORDER.index(layer(b)) > ORDER.index(layer(a))
    ]
    assert wrong == []


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_packages_that_must_not_know_each_other(importer, imported):
    wrong = [
        f"{a} imports {b}" for a, bs in graph().items() for b in bs if _within(a, importer) and _within(b, imported)
    ]
    assert wrong == []


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph: every one of size one."""
    g, index, low, stack, on_stack, cycles = graph(), {}, {}, [], set(), []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in g:
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_core_imports_no_io_library():
    wrong = []
    for name, path in modules().items():
        if layer(name) != "core":
            continue
        for imported in imported_names(name, path):
            if imported.split(".")[0] in CORE_FORBIDDEN:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_nothing_generic_is_importable_once_installed(tmp_path):
    """From outside the repository only the gaitstream namespace exists (setup.py's package layout)."""
    import subprocess

    code = (
        "import importlib.util, gaitstream.pipelines.app, gaitstream.services.alerts.api.app; "
        "print([n for n in ('pipelines', 'services', 'schemas', 'benchmarks') if importlib.util.find_spec(n)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]", out.stderr


def package_of(name: str) -> str:
    """The unit a package circle is counted in: a service (``gaitstream.services.alerts``) or a
    top-level package (``gaitstream.gait``, ``gaitstream.pipelines``)."""
    parts = name.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["gaitstream", "services"] and len(parts) > 2 else ".".join(parts[:2])


def test_no_package_circles():
    """Collapsed to packages and services (command lines included), the graph has no circle: a
    service that needs another's command-line glue gets it from the shared core instead."""
    edges: dict[str, set[str]] = {}
    for a, bs in graph().items():
        for b in bs:
            pa, pb = package_of(a), package_of(b)
            if pa != pb:
                edges.setdefault(pa, set()).add(pb)
    circles = set()
    for start in edges:
        stack = [(start, (start,))]
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    circles.add(" -> ".join(sorted(path)))
                elif nxt not in path:
                    stack.append((nxt, (*path, nxt)))
    assert sorted(circles) == []


def test_services_use_each_other_only_through_public_names():
    """Across services, nothing private: no ``_name`` imported, no module with a ``_`` segment."""
    wrong = []
    for name, path in modules().items():
        if not _within(name, "gaitstream.services"):
            continue
        own = package_of(name)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("gaitstream.services."):
                continue
            if package_of(node.module) == own:
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            segments = [p for p in node.module.split(".") if p.startswith("_")]
            if private or segments:
                wrong.append(f"{name} imports {node.module}: {private or segments}")
    assert wrong == []
