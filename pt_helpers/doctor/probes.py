"""The doctor's probes: each runs what it reports (an operator, a matmul, nvidia-smi) and never raises.

Taught in notebooks/00_setup.ipynb. A failure becomes a dict with the reason (``short_error``), so the
doctor can report a broken torch instead of crashing on it: nothing here imports torch at import time.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from ..ort_build import distribution_version
from . import compat

__all__ = ["NMS_MISSING", "PACKAGES", "short_error", "version_without_import", "probe_torch", "torchvision_fix",
           "probe_torchvision", "probe_cuda", "probe_device", "probe_nvidia_smi", "probe_tensorrt", "probe_data",
           "probe_packages"]

NMS_MISSING = "operator torchvision::nms does not exist"
PACKAGES = ("numpy", "onnx", "onnxscript", "visdom", "netron", "thop", "torchsummary", "jupyterlab", "matplotlib")
_ROOT = Path(__file__).resolve().parents[2]  # the checkout (requirements.txt)


def _pinned(name: str) -> str | None:
    """The exact pin of ``name`` in the checkout's requirements.txt, if there is one."""
    req = _ROOT / "requirements.txt"
    if req.is_file():
        m = re.search(rf"^{re.escape(name)}==([^\s;]+)", req.read_text(encoding="utf-8"), re.MULTILINE)
        return m.group(1) if m else None
    return None


def short_error(err: BaseException) -> str:
    """``"RuntimeError: first line of the message"``, at most 300 characters: one report row."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def probe_torch() -> dict[str, Any]:
    """torch's version, the CUDA it was built for (None = CPU build) and its cuDNN, or the import error."""
    try:
        import torch
    except Exception as err:  # noqa: BLE001 - a broken install is what the doctor reports
        return {"ok": False, "error": short_error(err)}
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"ok": True, "version": torch.__version__, "cuda_build": torch.version.cuda, "cudnn": cudnn,
            "cudnn_text": ".".join(map(str, compat.cudnn_version(cudnn))) if cudnn else None}


def version_without_import(dist: str, relpath: str) -> str | None:
    """``__version__`` from a package's version.py without importing the package (it may not import).

    Args:
        dist: the distribution (``"torchvision"``); relpath: its version file (``"torchvision/version.py"``).
    Returns:
        The version; the metadata's version when the file cannot be read; None when not installed.
    """
    try:
        text = Path(metadata.distribution(dist).locate_file(relpath)).read_text(encoding="utf-8")
    except (metadata.PackageNotFoundError, OSError):
        return distribution_version(dist)
    m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)", text, re.MULTILINE)
    return m.group(1) if m else distribution_version(dist)


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
    tv_version = version_without_import("torchvision", "torchvision/version.py")
    try:
        import torch
        import torchvision

        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
        keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
        if keep.tolist() != [0]:
            raise RuntimeError(f"torchvision.ops.nms returned {keep.tolist()}, expected [0]")
    except Exception as err:  # noqa: BLE001
        out = {"ok": False, "version": tv_version, "error": short_error(err)}
        if NMS_MISSING in str(err) or "undefined symbol" in str(err) or "torchvision::" in str(err):
            torch_version = torch_version or version_without_import("torch", "torch/version.py") or "?"
            out["diagnosis"] = torchvision_fix(torch_version, tv_version)
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

        from ..env import get_device

        with contextlib.redirect_stdout(io.StringIO()):  # get_device prints its choice once
            device = get_device()
        a = torch.ones(2, 2, device=device)
        total = (a @ a).sum().item()
        if total != 8.0:
            raise RuntimeError(f"a 2x2 matmul of ones summed to {total}, expected 8")
    except Exception as err:  # noqa: BLE001
        return {"ok": False, "error": short_error(err)}
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
        return {"found": True, "error": short_error(err)}
    m = re.search(r"CUDA Version:\s*([\d.]+)", header)
    gpus = [dict(zip(("name", "memory", "driver"), (p.strip() for p in line.split(","))))
            for line in query.splitlines() if line.strip()]
    return {"found": True, "driver_cuda": m.group(1) if m else None, "gpus": gpus}


def probe_tensorrt() -> dict[str, Any]:
    """Whether ``import tensorrt`` works, and its version or the error."""
    try:
        import tensorrt
    except ImportError:
        return {"installed": False}
    except Exception as err:  # noqa: BLE001 - installed but broken (missing libnvinfer ...)
        return {"installed": True, "error": short_error(err)}
    return {"installed": True, "version": tensorrt.__version__}


def probe_data() -> dict[str, Any]:
    """Where Fashion-MNIST would be read from (``pt_helpers.paths.locate_fashion_mnist``), or why not."""
    try:
        from ..paths import locate_fashion_mnist  # standard library only: works when torch is broken

        found = locate_fashion_mnist()
    except Exception as err:  # noqa: BLE001
        return {"found": False, "error": short_error(err)}
    return {"found": found is not None, **({"path": str(found.path), "source": found.source} if found else {})}


def probe_packages() -> dict[str, str | None]:
    """The installed version of each package in :data:`PACKAGES` (None = missing)."""
    return {name: distribution_version(name) for name in PACKAGES}
