"""The package as pip sees it: importable without torch, no import cycle, every third-party import declared.

The slow test installs it into a new virtual environment and imports every module there.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
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


def test_python_range_matches_ruff_and_the_setup_script():
    """requires-python, ruff's target-version and scripts/course.py's SUPPORTED (what make setup refuses) agree."""
    tree = ast.parse((ROOT / "scripts" / "course.py").read_text(encoding="utf-8"))
    supported = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                     and any(getattr(t, "id", None) == "SUPPORTED" for t in node.targets))
    (major, lo), (_, hi) = supported
    spec = SpecifierSet(_project()["requires-python"])
    for minor in range(lo - 3, hi + 3):
        assert spec.contains(f"{major}.{minor}") == (lo <= minor <= hi), f"requires-python {spec} vs 3.{minor}"
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff["target-version"] == f"py{major}{lo}"


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


# --- a new virtual environment: install, then import every module (slow) ---------------------------------


def _closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``names`` need, recursively (markers evaluated for this machine)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            seen[name] = dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def _share(dists: list[importlib.metadata.Distribution], folder: Path) -> None:
    """Symlink the top-level files and folders of these installed distributions into ``folder`` (read by a .pth)."""
    folder.mkdir()
    for dist in dists:
        site = Path(dist.locate_file(""))
        for top in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if not (folder / top).exists():
                (folder / top).symlink_to(site / top)


IMPORT_ALL = """
import importlib, json, pkgutil, sys
import pt_helpers
failed = {}
names = [m.name for m in pkgutil.walk_packages(pt_helpers.__path__, "pt_helpers.") if not m.name.endswith("__main__")]
for name in names:
    try:
        importlib.import_module(name)
    except Exception as err:  # report every module, not only the first
        failed[name] = f"{type(err).__name__}: {err}"
print(json.dumps({"file": pt_helpers.__file__, "modules": names, "failed": failed}))
"""


@pytest.mark.slow
def test_installs_into_a_new_venv_and_imports_every_module(tmp_path):
    """pip installs pt_helpers with `-c requirements.txt` into a new venv; every module then imports there.

    torch and its own dependencies (4.5 GB of CUDA wheels: minutes to unpack) are shared read-only from the
    current environment through a .pth file; pip sees them installed at the pinned versions. Everything else
    pt_helpers needs comes only from what pyproject.toml declares, from pip's cache and the local wheel indexes.
    visdom 0.2.4 is an sdist that needs setuptools<81: --no-build-isolation, as in the Makefile.
    """
    start = time.perf_counter()
    venv, src = tmp_path / "venv", tmp_path / "src"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    _share(_closure(["torch"]), tmp_path / "shared")
    (site / "shared_torch.pth").write_text(str(tmp_path / "shared") + "\n", encoding="utf-8")
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    for path in PACKAGE.rglob("*.py"):
        (src / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        (src / path.relative_to(ROOT)).write_bytes(path.read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                          "--no-build-isolation", "-c", str(ROOT / "requirements.txt"), str(src)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    installed = time.perf_counter() - start
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    run = subprocess.run([str(python), "-I", "-c", IMPORT_ALL], capture_output=True, text=True, cwd=tmp_path,
                         env={**env, "PT_COURSE_DATA": str(tmp_path / "data"), "MPLBACKEND": "Agg"}, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"install {installed:.0f} s, import {time.perf_counter() - start - installed:.0f} s, "
          f"{len(report['modules'])} modules")
    assert Path(report["file"]).is_relative_to(site), f"imported {report['file']}, not the installed copy"
    assert len(report["modules"]) > 20 and "pt_helpers.paths" in report["modules"]
    assert not report["failed"], "modules that do not import in a fresh install:\n" + "\n".join(
        f"  {k}: {v}" for k, v in report["failed"].items())
