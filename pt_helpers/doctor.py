"""The environment check learners paste into bug reports: ``python -m pt_helpers.doctor`` (``make doctor``).

Taught in notebooks/00_setup.ipynb. Every probe runs what it reports (an operator, a matmul, an ONNX
Runtime session) instead of trusting a list, and never raises: a failure becomes a row with the reason.
Exit code 0 when the course is usable here (torch imports, torchvision's compiled ops work, the course's
device computes), 1 with the reasons when not. ``--json`` prints the same report for machines.
Compatibility tables live in :mod:`pt_helpers.compat`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from . import compat
from .doctor_ort import _short, _version, probe_onnxruntime, provider_initialises, tiny_onnx_model
from .doctor_report import format_report

__all__ = ["probe_torch", "probe_torchvision", "torchvision_fix", "probe_device", "probe_nvidia_smi", "tiny_onnx_model",
           "provider_initialises", "probe_onnxruntime", "collect", "problems", "format_report",
           "run_doctor", "main", "NMS_MISSING"]

NMS_MISSING = "operator torchvision::nms does not exist"
PACKAGES = ("numpy", "onnx", "onnxscript", "visdom", "netron", "thop", "torchsummary", "jupyterlab", "matplotlib")
_ROOT = Path(__file__).resolve().parents[1]


def _pinned(name: str) -> str | None:
    """The exact pin of ``name`` in the checkout's requirements.txt, if there is one."""
    req = _ROOT / "requirements.txt"
    if req.is_file():
        m = re.search(rf"^{re.escape(name)}==(\S+)", req.read_text(encoding="utf-8"), re.MULTILINE)
        return m.group(1) if m else None
    return None


def probe_torch() -> dict[str, Any]:
    """torch's version, the CUDA it was built for (None = CPU build) and its cuDNN, or the import error."""
    try:
        import torch
    except Exception as err:  # noqa: BLE001 - a broken install is what the doctor reports
        return {"ok": False, "error": _short(err)}
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"ok": True, "version": torch.__version__, "cuda_build": torch.version.cuda, "cudnn": cudnn,
            "cudnn_text": ".".join(map(str, compat.cudnn_version(cudnn))) if cudnn else None}


def _file_version(dist: str, relpath: str) -> str | None:
    """``__version__`` from a package's version.py without importing the package (it may not import)."""
    try:
        text = Path(metadata.distribution(dist).locate_file(relpath)).read_text(encoding="utf-8")
    except (metadata.PackageNotFoundError, OSError):
        return _version(dist)
    m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)", text, re.MULTILINE)
    return m.group(1) if m else _version(dist)


def torchvision_fix(torch_version: str, torchvision_version: str | None) -> str:
    """What to say when torchvision's compiled operators do not load next to ``torch_version``."""
    pin_t, pin_v = _pinned("torch") or "2.14.1", _pinned("torchvision") or "0.29.1"
    never = " (never `pip install --no-deps torchvision==...`: --no-deps skips the dependency check)"
    want = compat.torchvision_for(torch_version)
    if want and torchvision_version and compat.version_matches(want, torchvision_version):
        lt, lv = torch_version.partition("+")[2], torchvision_version.partition("+")[2]
        builds = (f"torch is the +{lt} build, torchvision the +{lv} build" if lt and lv and lt != lv
                  else "files from two builds or indexes are mixed, or the install is broken")
        return (f"torch {torch_version} and torchvision {torchvision_version} pair up by version, yet the "
                f"compiled operators do not load: {builds}. Fix: reinstall the pair together from one index: "
                f"pip install --force-reinstall torch=={pin_t} torchvision=={pin_v}" + never)
    t = compat.version_tuple(torch_version)
    needs = f" (torch {t[0]}.{t[1]} needs torchvision {want})" if want else ""
    built_for = compat.torch_for(torchvision_version) if torchvision_version else None
    return (f"torchvision {torchvision_version or '?'} was built for torch {built_for or 'another version'}, "
            f"but torch {torch_version} is installed: its compiled operators do not load. Fix: install the "
            f"torchvision that matches torch{needs}, e.g. the pinned pair in requirements.txt: "
            f"pip install torch=={pin_t} torchvision=={pin_v}" + never)


def probe_torchvision(torch_version: str | None = None) -> dict[str, Any]:
    """Import torchvision and call ``torchvision.ops.nms`` on two boxes: proof that its compiled ops load."""
    tv_version = _file_version("torchvision", "torchvision/version.py")
    try:
        import torch
        import torchvision

        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
        keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
        if keep.tolist() != [0]:
            raise RuntimeError(f"torchvision.ops.nms returned {keep.tolist()}, expected [0]")
    except Exception as err:  # noqa: BLE001
        out = {"ok": False, "version": tv_version, "error": _short(err)}
        if NMS_MISSING in str(err) or "undefined symbol" in str(err) or "torchvision::" in str(err):
            out["diagnosis"] = torchvision_fix(torch_version or _file_version("torch", "torch/version.py") or "?",
                                               tv_version)
        return out
    return {"ok": True, "version": torchvision.__version__}


def probe_cuda() -> dict[str, Any]:
    """What torch sees: CUDA available, device count, each device's name and compute capability."""
    import torch

    out: dict[str, Any] = {"available": torch.cuda.is_available(), "device_count": torch.cuda.device_count()}
    out["devices"] = [{"index": i, "name": torch.cuda.get_device_name(i),
                       "capability": ".".join(map(str, torch.cuda.get_device_capability(i)))}
                      for i in range(out["device_count"])] if out["available"] else []
    out["mps"] = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return out


def probe_device() -> dict[str, Any]:
    """Resolve the course's device (``get_device``, honours ``$PT_DEVICE``) and multiply two matrices on it."""
    try:
        import torch

        from .env import get_device

        with contextlib.redirect_stdout(io.StringIO()):  # get_device prints its choice once
            device = get_device()
        a = torch.ones(2, 2, device=device)
        total = (a @ a).sum().item()
        if total != 8.0:
            raise RuntimeError(f"a 2x2 matmul of ones summed to {total}, expected 8")
    except Exception as err:  # noqa: BLE001
        return {"ok": False, "error": _short(err)}
    return {"ok": True, "device": str(device)}


def probe_nvidia_smi(run: Any = subprocess.run) -> dict[str, Any]:
    """Summary of ``nvidia-smi`` when the binary exists: driver, the CUDA the driver supports, GPUs."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return {"found": False}
    try:
        header = run([exe], capture_output=True, text=True, timeout=20).stdout
        query = run([exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                    capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as err:
        return {"found": True, "error": _short(err)}
    m = re.search(r"CUDA Version:\s*([\d.]+)", header)
    gpus = [dict(zip(("name", "memory", "driver"), (p.strip() for p in line.split(","))))
            for line in query.splitlines() if line.strip()]
    return {"found": True, "driver_cuda": m.group(1) if m else None, "gpus": gpus}


def probe_tensorrt() -> dict[str, Any]:
    try:
        import tensorrt
    except ImportError:
        return {"installed": False}
    except Exception as err:  # noqa: BLE001 - installed but broken (missing libnvinfer ...)
        return {"installed": True, "error": _short(err)}
    return {"installed": True, "version": tensorrt.__version__}


def probe_data() -> dict[str, Any]:
    try:
        from .data import locate_fashion_mnist

        found = locate_fashion_mnist()
    except Exception as err:  # noqa: BLE001
        return {"found": False, "error": _short(err)}
    return {"found": found is not None, **({"path": str(found.path), "source": found.source} if found else {})}


def collect() -> dict[str, Any]:
    """Run every probe and the compatibility check; returns a JSON-serialisable report."""
    rep: dict[str, Any] = {"python": {"version": platform.python_version(), "executable": sys.executable,
                                      "platform": platform.platform()}}
    rep["torch"] = probe_torch()
    torch_ok, needs_torch = rep["torch"]["ok"], {"ok": False, "error": "needs torch"}
    rep["torchvision"] = probe_torchvision(rep["torch"].get("version")) if torch_ok else needs_torch
    rep["cuda"] = probe_cuda() if torch_ok else {"available": False, "device_count": 0, "devices": []}
    rep["device"] = probe_device() if torch_ok else needs_torch
    rep["nvidia_smi"] = probe_nvidia_smi()
    rep["onnxruntime"] = probe_onnxruntime()
    rep["tensorrt"] = probe_tensorrt()
    rep["packages"] = {name: _version(name) for name in PACKAGES}
    rep["data"] = probe_data()
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
    """The reasons the course cannot run here (empty = usable): torch, torchvision's ops, the device."""
    out = []
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
    ap = argparse.ArgumentParser(prog="python -m pt_helpers.doctor", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    args = ap.parse_args(argv)
    rep = collect()
    print(json.dumps(rep, indent=1, default=str) if args.json else format_report(rep))
    return 0 if rep["usable"] else 1


if __name__ == "__main__":
    sys.exit(main())
