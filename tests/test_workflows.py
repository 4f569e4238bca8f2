"""CI definitions: valid GitHub workflow files, and the settings the course relies on."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _load(name: str) -> dict:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def test_the_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"cpu.yml", "gpu.yml", "laptops.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(path):
    """check-jsonschema carries GitHub's workflow schema inside the package: no network needed."""
    exe = Path(sys.executable).with_name("check-jsonschema")
    res = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_gpu_workflow_runs_gpu_cells_on_a_gpu_runner_and_uploads_timings():
    job = _load("gpu.yml")["jobs"]["test"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    assert job["env"]["PT_RUN_GPU_CELLS"] == "1"
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "make test" in runs and "nvidia-smi" in runs
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and "data/test-timings.json" in uploads[0]["with"]["path"]


def test_cpu_workflow_runs_the_ci_script():
    steps = _load("cpu.yml")["jobs"]["test"]["steps"]
    assert any(s.get("run", "").strip() == ".ci/run" for s in steps)


def test_ci_script_is_executable_and_runs_make_test():
    script = ROOT / ".ci" / "run"
    assert script.stat().st_mode & stat.S_IXUSR
    text = script.read_text()
    assert "make test" in text and "set -euo pipefail" in text
    assert "|| true" not in text.split("make test")[1].splitlines()[0], "make test's exit code must not be masked"



def test_laptop_workflow_tests_macos_and_windows_without_make():
    job = _load("laptops.yml")["jobs"]["test"]
    assert job["strategy"]["matrix"]["os"] == ["macos-14", "windows-latest"]
    assert job["runs-on"] == "${{ matrix.os }}"
    runs = [step.get("run", "") for step in job["steps"]]
    assert "python scripts/course.py setup" in runs
    assert any(r.startswith("python scripts/course.py test") for r in runs)
    assert not any("make " in r or "bash" in r or "apt-get" in r for r in runs), runs
