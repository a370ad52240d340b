"""Tests for the layering rules of DESIGN.md section 2: light `import expt`, no import cycles."""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPT_DIR = ROOT / "expt"
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
# DESIGN.md: never observers, pymongo, numpy, lightgbm; other heavy packages lazily.
FORBIDDEN_ON_IMPORT = ("observers", "pymongo", "numpy", "lightgbm", "pandas", "matplotlib",
                       "sklearn")


def test_import_expt_loads_no_heavy_or_observer_modules():
    """In a fresh interpreter, `import expt` loads neither observers nor optional packages."""
    code = ("import json, sys; import expt; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{FORBIDDEN_ON_IMPORT!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, env=ENV)
    assert json.loads(done.stdout) == []


def test_expt_observers_alias_is_lazy():
    """`import expt.observers` does not load the observers package until an attribute is used."""
    code = ("import sys; import expt.observers as o; before = 'observers' in sys.modules; "
            "o.FileStorageObserver; print(before, 'observers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, env=ENV)
    assert done.stdout.split() == ["False", "True"]


def module_imports(path: Path, *, top_level_only: bool) -> tuple[set[str], list[str]]:
    """(sibling modules imported by `path`, offending absolute `expt` imports)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    siblings, absolute = set(), []
    if top_level_only:
        nodes = [n for stmt in tree.body if not isinstance(
            stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in ast.walk(stmt)]
        for cls in (s for s in tree.body if isinstance(s, ast.ClassDef)):  # class bodies run too
            nodes += [n for stmt in cls.body if not isinstance(
                stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(stmt)]
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".")[0] == "expt":
                absolute.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.level == 1:
                if node.module:
                    siblings.add(node.module.split(".")[0])
                else:
                    siblings.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            absolute += [f"line {node.lineno}: import {a.name}" for a in node.names
                         if a.name.split(".")[0] == "expt"]
    return siblings, absolute


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of module names, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None
    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def graph_of(top_level_only: bool) -> dict[str, set[str]]:
    modules = {p.stem: p for p in EXPT_DIR.glob("*.py")}
    graph = {}
    for name, path in modules.items():
        siblings, _ = module_imports(path, top_level_only=top_level_only)
        graph[name] = {s for s in siblings if s in modules and s != name}
    return graph


def test_find_cycle_detects_cycles():
    """The cycle finder itself works on small graphs."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_no_import_cycles_at_import_time():
    """Module-level sibling imports inside expt/ form no cycle."""
    graph = graph_of(top_level_only=True)
    assert len(graph) > 10
    assert find_cycle(graph) is None


def test_no_import_cycles_even_through_lazy_imports():
    """Counting imports inside functions too, expt/ still has no cycle."""
    graph = graph_of(top_level_only=False)
    assert find_cycle(graph) is None


@pytest.mark.parametrize("path", sorted(EXPT_DIR.glob("*.py")), ids=lambda p: p.name)
def test_siblings_imported_relatively(path):
    """No module inside expt/ imports the package root (`import expt`, `from expt import`)."""
    _, absolute = module_imports(path, top_level_only=False)
    assert absolute == []


def test_import_scanner_sees_absolute_imports(tmp_path):
    """The scanner reports absolute expt imports, also inside functions."""
    bad = tmp_path / "bad.py"
    bad.write_text("import expt.run\ndef f():\n    from expt import Experiment\n"
                   "from . import dotted\nfrom .config import resolve\n")
    siblings, absolute = module_imports(bad, top_level_only=False)
    assert siblings == {"dotted", "config"}
    assert absolute == ["line 1: import expt.run", "line 3: from expt import ..."]
