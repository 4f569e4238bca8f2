"""Environment helpers every notebook's setup cell uses.

Taught in notebooks/00_setup.ipynb. One switch changes behaviour across the course: the environment
variable ``PT_COURSE_FAST`` (see :func:`fast_mode`). Everything else is passed as arguments.

``data_dir`` and ``project_root`` live in :mod:`pt_helpers.paths` (every path of the course, and the
difference between ``PT_DATA_DIR``, where Fashion-MNIST is READ from, and ``PT_COURSE_DATA``, where the
course WRITES everything); they are re-exported here so that a setup cell needs one import line:
``from pt_helpers.env import data_dir, fast_mode, get_device, report, seed_everything``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import random
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from .paths import data_dir, locate_fashion_mnist, project_root

__all__ = [
    "get_device",
    "seed_everything",
    "fast_mode",
    "report",
    "record_result",
    "module_device",
    "data_dir",
    "project_root",
]

_TRUE = {"1", "true", "yes", "on"}


def fast_mode() -> bool:
    """True when ``PT_COURSE_FAST`` is set to 1/true/yes/on (tests and CI); False = full mode.

    Notebooks read it once, in their setup cell: ``EPOCHS = 1 if FAST else 8``.
    """
    return os.environ.get("PT_COURSE_FAST", "").strip().lower() in _TRUE


@functools.cache
def _resolve_device(name: str, origin: str = "name") -> torch.device:
    where = f"$PT_DEVICE={name!r}" if origin == "env" else f"get_device(name={name!r})"
    if name == "auto":
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
    else:
        try:
            device = torch.device(name)
        except RuntimeError as err:
            raise ValueError(f"{where}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{where}: CUDA is not available on this machine")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise RuntimeError(f"{where}: out of range, this machine has {torch.cuda.device_count()} GPU(s)")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"{where}: MPS is not available on this machine")
    detail = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(f"Using device: {device}{detail}")
    return device


def get_device(name: str | None = None) -> torch.device:
    """Pick the best device: cuda > mps > cpu (printed the first time it is resolved).

    Args:
        name: ``"auto"`` (default), or an explicit device such as ``"cpu"`` or ``"cuda:1"``.
            ``$PT_DEVICE`` overrides the default, e.g. ``PT_DEVICE=cpu`` on a GPU machine.
    Returns:
        A ``torch.device``.
    """
    if name is None:
        return _resolve_device(os.environ.get("PT_DEVICE", "auto").strip() or "auto", "env")
    return _resolve_device(name)


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (CPU for a module that has none).

    Taught in notebooks/01_tensors.ipynb (a tensor lives on one device; a model's inputs must be moved
    to the model's). Used by :mod:`pt_helpers.summary`.
    """
    for t in [*module.parameters(), *module.buffers()]:
        return t.device
    return torch.device("cpu")


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU), and set cuDNN to deterministic.

    Args:
        seed: the seed.
        deterministic: also call ``torch.use_deterministic_algorithms(True)``, which makes ops without
            a deterministic implementation raise (GPU). Off by default; lesson 05 shows it.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed_everything(seed={seed!r}): expected a non-negative int")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by cuBLAS, ignored on CPU
    torch.use_deterministic_algorithms(deterministic)  # follows the argument: a plain call switches it off


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing package is a row in the table, not an error
        return "not installed"


def report(file: Any = None) -> None:
    """Print one compact table for a notebook's setup cell: versions, device, mode, data location."""
    device = get_device()
    if device.type == "cuda":
        capability = ".".join(map(str, torch.cuda.get_device_capability(device)))
        dev = f"cuda: {torch.cuda.get_device_name(device)} (capability {capability})"
    else:
        dev = f"{device.type}: {platform.processor() or platform.machine()}"
    found = locate_fashion_mnist()
    rows = [
        ("python", platform.python_version()),
        ("torch", f"{torch.__version__} (CUDA build {torch.version.cuda or 'none'})"),
        ("torchvision", _version("torchvision")),
        ("device", dev),
        ("CPU threads", str(torch.get_num_threads())),
        ("mode", "fast (PT_COURSE_FAST=1)" if fast_mode() else "full"),
        ("Fashion-MNIST", f"{found.path} [{found.source}]" if found else "not found yet (downloads on first use)"),
        ("course data", str(data_dir())),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows), file=file or sys.stdout)


def record_result(lesson: str, metric: str, value: float, seconds: float) -> dict[str, Any]:
    """Print the lesson's headline result as one ``RESULT {...}`` line and append it to results.jsonl.

    Args:
        lesson: e.g. ``"05_cnn"``.
        metric: e.g. ``"cnn_test_accuracy"``.
        value: the measured value (a float; tensors and NumPy scalars are converted).
        seconds: the wall-clock seconds the result cost (training time, benchmark time).
    Returns:
        The record written to ``data/results.jsonl`` (it also holds mode, device and versions).
    """
    for arg, val in (("lesson", lesson), ("metric", metric)):
        if not isinstance(val, str) or not val:
            raise ValueError(f"record_result({arg}={val!r}): expected a non-empty string")
    try:
        value = float(value)
        seconds = float(seconds)
    except (TypeError, ValueError) as err:
        raise ValueError(f"record_result: value and seconds must be numbers, got {value!r}, {seconds!r}") from err
    if not math.isfinite(value):  # json.dumps would write NaN, which is not JSON, and a README would show it
        raise ValueError(f"record_result({lesson!r}, {metric!r}): the value is {value}, not a finite number; the "
                         "run that measured it failed (a training that diverged?): fix it before recording")
    if not math.isfinite(seconds):
        raise ValueError(f"record_result({lesson!r}, {metric!r}): seconds is {seconds}, not a finite number")
    line = {"lesson": lesson, "metric": metric, "value": round(value, 6), "seconds": round(seconds, 1)}
    print("RESULT " + json.dumps(line))
    record = dict(
        line,
        mode="fast" if fast_mode() else "full",
        device=str(get_device()),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        time=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    with open(data_dir() / "results.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    return record
