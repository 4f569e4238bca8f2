"""The doctor's view of the operating system: what it is, which lessons' parts it cannot run, what to do.

Taught in notebooks/00_setup.ipynb. :func:`system_facts` reads the facts (``platform``, ``sys``);
:func:`system_findings` is pure: facts in, findings out, so every verdict can be tried with the facts
of another machine (an Intel Mac, Windows, Python 3.10) on this one.
"""

from __future__ import annotations

import platform
import re
import sys

from .compat import finding

__all__ = ["SUPPORTED_PYTHON", "system_facts", "system_findings", "system_problems"]

SUPPORTED_PYTHON = ((3, 11), (3, 13))  # the pins need 3.11+; CI tests 3.11; `make setup` refuses others
_X86 = {"x86_64", "amd64", "i386", "i686"}
_ARM = {"arm64", "aarch64"}


def system_facts() -> dict[str, str]:
    """This machine: ``system`` (``platform.system()``: Linux, Darwin, Windows), ``machine``
    (``platform.machine()``: x86_64, arm64, AMD64, aarch64), ``python`` (``"3.11.7"``), ``executable``
    and ``platform`` (one descriptive string)."""
    return {"system": platform.system(), "machine": platform.machine(), "python": platform.python_version(),
            "executable": sys.executable, "platform": platform.platform()}


def _python_tuple(text: str) -> tuple[int, int] | None:
    m = re.match(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def system_findings(facts: dict[str, str]) -> list[dict[str, str]]:
    """What the operating system, architecture and Python mean for the course, each with what to do.

    Args:
        facts: ``system``, ``machine`` and ``python`` as :func:`system_facts` returns them.
    Returns:
        Findings ``{"status": "ok"|"info"|"fail", "topic", "message"}``: the system itself, the Python
        version, then the lessons' parts this system runs differently or not at all (``info``). A
        ``fail`` is a reason the course cannot run here (see :func:`system_problems`).
    """
    system, machine = facts.get("system", ""), facts.get("machine", "")
    arch = machine.lower()
    found = []
    if system == "Darwin" and arch in _X86:
        found.append(finding("fail", "system", f"macOS on an Intel Mac ({machine}): torch 2.14.1 has no "
                              "macOS x86_64 wheel (PyTorch stopped building them), so the pinned set cannot be "
                              "installed. Fix: run the course in a Linux virtual machine or a cloud notebook "
                              "(older PyTorch via conda is not supported by this course)"))
    elif system in ("Linux", "Darwin", "Windows"):
        device = {"Darwin": "the CPU or Apple's mps", "Windows": "the CPU or CUDA",
                  "Linux": "the CPU or CUDA"}[system]
        found.append(finding("ok", "system", f"{system} {machine}: the course runs here, on {device}"))
    else:
        found.append(finding("info", "system", f"{system or 'unknown system'} {machine}: not a system the "
                              "course is tested on (Linux, macOS 14+ on Apple Silicon, Windows)"))
    if system == "Linux" and arch in _ARM:
        found.append(finding("info", "system", "Linux aarch64: onnxruntime-gpu needs glibc 2.34 or newer"))
    low, high = SUPPORTED_PYTHON
    version = facts.get("python", "")
    py = _python_tuple(version)
    if py is not None and low <= py <= high:
        found.append(finding("ok", "Python", f"{version} (the course needs 3.11-3.13; CI tests 3.11)"))
    else:
        found.append(finding("fail", "Python", f"{version or '?'} is outside 3.11-3.13, which the pinned "
                              "packages need. Fix: install Python 3.11 (python.org, or your system's package "
                              "manager), then recreate the environment with it (make setup PYTHON=python3.11)"))
    found += _lesson_notes(system)
    return found


def _lesson_notes(system: str) -> list[dict[str, str]]:
    """The parts of the lessons that need Linux or an NVIDIA GPU, said for this system."""
    notes = []
    if system != "Linux":
        notes.append(finding("info", "data package", "the Debian package dataset-fashion-mnist is Linux-only; "
                              "here lesson 03's other ways apply ($PT_DATA_DIR, data/FashionMNIST/raw, or the "
                              "torchvision download)"))
    if system == "Darwin":
        notes.append(finding("info", "GPU cells", "no CUDA on macOS: lesson 10's TensorRT and CUDA cells need "
                              "an NVIDIA GPU (Linux or Windows) and say they are skipped; lessons train on mps "
                              "or the CPU"))
    else:
        notes.append(finding("info", "GPU cells", "lesson 10's TensorRT and CUDA cells need an NVIDIA GPU; "
                              "without one they say why they are skipped"))
    if system == "Windows":
        notes.append(finding("info", "lesson 11", "torch.distributed on Windows has gloo but no NCCL; "
                              "lesson 11's torchrun runs use gloo, so they run here (see the lesson for what "
                              "Windows does differently)"))
    else:
        notes.append(finding("info", "lesson 11", "torchrun with gloo (the lesson's multi-process runs) works on "
                              f"{'macOS' if system == 'Darwin' else system or 'this system'}; NCCL (GPUs) is "
                              "Linux-only"))
    return notes


def system_problems(findings: list[dict[str, str]]) -> list[str]:
    """The messages of the ``fail`` findings: reasons the course cannot run on this system."""
    return [f["message"] for f in findings if f["status"] == "fail"]
