"""The doctor's run: every probe, the compatibility and system findings, the verdict and the exit code.

Taught in notebooks/00_setup.ipynb. Exit code 0 when the course is usable here (a supported system and
Python, torch imports, torchvision's compiled ops work, the course's device computes), 1 with the
reasons when not. ``--json`` prints the same report for machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from . import compat, probes
from .ort import probe_onnxruntime
from .report import format_report
from .system import system_facts, system_findings, system_problems

__all__ = ["collect", "problems", "run_doctor", "main"]


def collect(facts: dict[str, str] | None = None) -> dict[str, Any]:
    """Run every probe and the compatibility check; returns a JSON-serialisable report.

    Args:
        facts: the operating system, architecture and Python (:func:`.system.system_facts`, the default).
    """
    facts = facts or system_facts()
    rep: dict[str, Any] = {"python": {"version": facts["python"], "executable": facts.get("executable", ""),
                                      "platform": facts.get("platform", "")}}
    rep["system"] = {"system": facts["system"], "machine": facts["machine"], "findings": system_findings(facts)}
    rep["torch"] = probes.probe_torch()
    torch_ok, needs_torch = rep["torch"]["ok"], {"ok": False, "error": "needs torch"}
    rep["torchvision"] = probes.probe_torchvision(rep["torch"].get("version")) if torch_ok else needs_torch
    rep["cuda"] = probes.probe_cuda() if torch_ok else {"available": False, "device_count": 0, "devices": []}
    rep["device"] = probes.probe_device() if torch_ok else needs_torch
    rep["nvidia_smi"] = probes.probe_nvidia_smi()
    rep["onnxruntime"] = probe_onnxruntime()
    rep["tensorrt"] = probes.probe_tensorrt()
    rep["packages"] = probes.probe_packages()
    rep["data"] = probes.probe_data()
    ort = rep["onnxruntime"]
    rep["compat"] = compat.check_installed({
        "torch": rep["torch"].get("version"), "torchvision": rep["torchvision"].get("version"),
        "torch_cuda": rep["torch"].get("cuda_build"), "cudnn": rep["torch"].get("cudnn"),
        "onnxruntime": ort.get("version"), "ort_cuda": ort.get("build_cuda"),
        "ort_gpu": "CUDAExecutionProvider" in ort.get("listed", []), "tensorrt": rep["tensorrt"].get("version")})
    rep["problems"] = problems(rep)
    rep["usable"] = not rep["problems"]
    return rep


def problems(rep: dict[str, Any]) -> list[str]:
    """The reasons the course cannot run here (empty = usable): system and Python, torch, torchvision, device."""
    out = system_problems(rep["system"]["findings"])
    if not rep["torch"]["ok"]:
        out.append(f"torch does not import ({rep['torch']['error']}): pip install -r requirements.txt")
        return out
    tv = rep["torchvision"]
    if not tv["ok"]:
        out.append(tv.get("diagnosis") or f"torchvision does not work ({tv['error']})")
    if not rep["device"]["ok"]:
        out.append(f"the course's device does not compute ({rep['device']['error']}); "
                   "set PT_DEVICE=cpu to fall back to the CPU")
    return out


def run_doctor(file: TextIO | None = None) -> dict[str, Any]:
    """Collect the report, print it as a table (to ``file``, default stdout) and return it."""
    rep = collect()
    print(format_report(rep), file=file or sys.stdout)
    return rep


def main(argv: list[str] | None = None) -> int:
    """``python -m pt_helpers.doctor [--json]``: print the report, return the exit code (0 = usable)."""
    ap = argparse.ArgumentParser(prog="python -m pt_helpers.doctor",
                                 description="The environment check learners paste into bug reports.")
    ap.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    args = ap.parse_args(argv)
    rep = collect()
    print(json.dumps(rep, indent=1, default=str) if args.json else format_report(rep))
    return 0 if rep["usable"] else 1
