"""The pins install on every system a learner brings: resolved here for each platform with uv, nothing installed.

`uv pip compile --python-platform P` resolves a requirements file for another operating system and processor from
the package index alone, so a pin without a wheel for macOS or Windows fails CI here on Linux. visdom 0.2.4 is
an sdist whose setup.py needs setuptools<81 (the Makefile installs it with --no-build-isolation): the same
constraint goes to uv as a build constraint so it can read visdom's dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# (uv's --python-platform, MACOSX_DEPLOYMENT_TARGET, package that must be chosen for ONNX Runtime)
PLATFORMS = {
    "linux-x86_64": ("x86_64-manylinux_2_28", None, "onnxruntime-gpu"),
    "linux-aarch64": ("aarch64-manylinux_2_34", None, "onnxruntime-gpu"),  # onnxruntime-gpu needs glibc >= 2.34
    "macos14-arm64": ("aarch64-apple-darwin", "14.0", "onnxruntime"),
    "windows-amd64": ("x86_64-pc-windows-msvc", None, "onnxruntime-gpu"),
}

pytestmark = pytest.mark.slow


def uv() -> str:
    path = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if path is None:
        pytest.fail("uv is not installed: it is pinned in requirements.txt (make setup installs it)")
    return path


def compile_for(requirements: Path, platform: str, macos: str | None, tmp_path: Path,
                *extra: str) -> subprocess.CompletedProcess:
    constraints = tmp_path / "build-constraints.txt"
    constraints.write_text("setuptools<81\n")
    env = dict(os.environ)
    if macos:
        env["MACOSX_DEPLOYMENT_TARGET"] = macos  # uv assumes macOS 13 otherwise; torch 2.14.1 needs 14
    return subprocess.run(
        [uv(), "pip", "compile", str(requirements), "--python-platform", platform, "--python-version", "3.11",
         "--build-constraints", str(constraints), "--no-header", "--quiet", *extra],
        capture_output=True, text=True, env=env, timeout=600, check=False)


def pins(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split(";")[0].strip().split("==")
            out[name.lower()] = version
    return out


@pytest.mark.parametrize("system", PLATFORMS)
def test_requirements_resolve_on(system, tmp_path):
    platform, macos, ort = PLATFORMS[system]
    result = compile_for(ROOT / "requirements.txt", platform, macos, tmp_path)
    assert result.returncode == 0, f"requirements.txt does not resolve for {system} ({platform}):\n{result.stderr}"
    resolved = pins(result.stdout)
    assert resolved.get("torch") == "2.14.1" and resolved.get("torchvision") == "0.29.1", system
    assert ort in resolved, f"{system} should get {ort}; resolved {sorted(k for k in resolved if 'onnx' in k)}"
    other = {"onnxruntime", "onnxruntime-gpu"} - {ort}
    assert not other & resolved.keys(), f"{system} must not get both ONNX Runtime builds"


def test_intel_macs_have_no_torch_wheel(tmp_path):
    """What README and the doctor tell Intel Mac owners: torch 2.14.1 has no macOS x86_64 wheel."""
    result = compile_for(ROOT / "requirements.txt", "x86_64-apple-darwin", "14.0", tmp_path)
    assert result.returncode != 0 and "torch" in result.stderr, result.stderr


@pytest.mark.parametrize("system", PLATFORMS)
def test_gpu_extras_resolve_on(system, tmp_path):
    """requirements-gpu.txt: TensorRT everywhere but macOS. Its -libs wheels come from NVIDIA's own index,
    which CI cannot reach, so only the pinned packages themselves are resolved (--no-deps)."""
    platform, macos, _ = PLATFORMS[system]
    result = compile_for(ROOT / "requirements-gpu.txt", platform, macos, tmp_path, "--no-deps")
    assert result.returncode == 0, result.stderr
    assert ("tensorrt-cu13" in pins(result.stdout)) == (not system.startswith("macos")), result.stdout
