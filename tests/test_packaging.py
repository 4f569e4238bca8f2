"""The package as pip sees it: importable without torch, no import cycle, every third-party import declared.

The slow test installs it into a new virtual environment and imports every module there.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pt_helpers"
# Modules a CPU machine does not have installed, so importlib.metadata cannot map them: module -> distribution.
NOT_INSTALLED_HERE = {"tensorrt": "tensorrt-cu13"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _declared() -> list[Requirement]:
    project = _project()
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in project.get("optional-dependencies", {}).values() for r in extra]
    return reqs


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in the file, functions' bodies included."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module, node.lineno))
                continue
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            if node.module:
                found.append((".".join([*base, node.module]), node.lineno))
            else:  # from . import x, y: each may be a module
                found += [(".".join([*base, alias.name]), node.lineno) for alias in node.names]
    return found


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level third-party module -> where pt_helpers imports it."""
    out: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, line in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("pt_helpers", "__future__"):
                continue
            out.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{line}")
    return out


def test_importing_the_package_imports_nothing_heavy():
    """`python -m pt_helpers.doctor` must be able to start, and report, when torch is broken."""
    code = "import sys, pt_helpers; sys.exit(sorted({'torch', 'numpy'} & set(sys.modules)) or None)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"import pt_helpers imported {result.stderr.strip()}"


def test_every_third_party_import_is_a_declared_dependency():
    declared = {canonicalize_name(r.name) for r in _declared()}
    dists = importlib.metadata.packages_distributions()
    missing = []
    for module, where in sorted(_third_party_imports().items()):
        candidates = dists.get(module) or [NOT_INSTALLED_HERE.get(module, module)]
        if not declared & {canonicalize_name(d) for d in candidates}:
            missing.append(f"{module} (distribution {' or '.join(candidates)}; imported at {', '.join(where[:3])})")
    assert not missing, "pyproject.toml's dependencies miss:\n  " + "\n  ".join(missing)


def test_the_scan_sees_imports_inside_functions():
    """Control for the test above: lazy imports (inside functions) count, e.g. torchsummary in summary.py."""
    found = _third_party_imports()
    assert "torchsummary" in found and "torch" in found and "pt_helpers" not in found


def test_every_dependency_has_a_floor_the_tested_versions_satisfy():
    """The pin in requirements*.txt, or (for a dependency only pinned through another) the installed version."""
    pins = {}
    for name in ("requirements.txt", "requirements-gpu.txt"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if line:
                req = Requirement(line)
                pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    for req in _declared():
        name = canonicalize_name(req.name)
        assert any(spec.operator == ">=" for spec in req.specifier), f"{req}: no floor"
        if name not in pins:
            pins[name] = importlib.metadata.version(req.name)  # raises if neither pinned nor installed
        assert req.specifier.contains(pins[name], prereleases=True), f"the tested {name}=={pins[name]} violates {req}"


def test_onnxruntime_follows_the_platform_markers_of_requirements_txt():
    by_name = {canonicalize_name(r.name): r for r in _declared()}
    for system, expected in (("linux", "onnxruntime-gpu"), ("win32", "onnxruntime-gpu"), ("darwin", "onnxruntime")):
        chosen = [n for n in ("onnxruntime", "onnxruntime-gpu") if by_name[n].marker.evaluate({"sys_platform": system})]
        assert chosen == [expected], (system, chosen)


def test_python_range_matches_ruff_and_the_makefile():
    assert _project()["requires-python"] == ">=3.11,<3.14"
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff["target-version"] == "py311"
    assert "(3,11)<=v[:2]<=(3,13)" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_no_import_cycle_inside_the_package():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        graph[name] = {m for m, _ in _imports(path) if m in modules and m != name}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert "pt_helpers.paths" in graph["pt_helpers.env"] and "pt_helpers.paths" in graph["pt_helpers.data"]
