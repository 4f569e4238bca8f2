"""The installed ONNX Runtime build as the doctor and :mod:`pt_helpers.deploy` both see it.

Taught in notebooks/00_setup.ipynb (the doctor) and notebooks/10_deploy.ipynb (sessions). Three facts,
each read in one place: which distribution is installed (``onnxruntime-gpu`` or ``onnxruntime``, read
from the package metadata, so it works even when ``import onnxruntime`` fails), the CUDA version the
wheel was built with, and ONNX Runtime's own reason when a provider does not start (found in what it
printed while it tried). Imports neither torch nor onnxruntime at import time.
"""

from __future__ import annotations

import re
from importlib import metadata

__all__ = ["DISTRIBUTIONS", "distribution_version", "onnxruntime_distribution", "onnxruntime_build_cuda",
           "provider_failure_reason"]

DISTRIBUTIONS = ("onnxruntime-gpu", "onnxruntime")  # one import name, several wheels; GPU first
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REASONS = (r"with error: (.+)", r"(Require .+?)\. Please", r"(Unknown Provider Type: \S+)",
            r"(Please install [^.,]+)")


def distribution_version(name: str) -> str | None:
    """The installed version of the distribution ``name`` (``"numpy"``), or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def onnxruntime_distribution() -> tuple[str, str] | None:
    """``(name, version)`` of the installed ONNX Runtime wheel, e.g. ``("onnxruntime-gpu", "1.31.1")``, or None.

    Both wheels install the same ``onnxruntime`` module; the GPU one is reported when both are present.
    """
    for name in DISTRIBUTIONS:
        version = distribution_version(name)
        if version is not None:
            return name, version
    return None


def onnxruntime_build_cuda() -> str | None:
    """The CUDA version the installed ONNX Runtime was built with (``"13.0"``), None for a CPU build.

    Read from ``onnxruntime.capi.build_and_package_info``, which imports ``onnxruntime``.
    """
    try:
        from onnxruntime.capi import build_and_package_info as info
    except ImportError:
        return None
    return getattr(info, "cuda_version", None) or None


def provider_failure_reason(provider: str, log: str) -> str:
    """ONNX Runtime's own reason for a provider that did not start, found in what it printed.

    Args:
        provider: e.g. ``"CUDAExecutionProvider"``.
        log: what ONNX Runtime printed while a session was created (``Captured.log()``); only the lines
            that name this provider or its library (``libonnxruntime_providers_cuda.so``) are read, so
            one log can explain several providers.
    Returns:
        The reasons found (``"libcuda.so.1: cannot open shared object file: ...; Require cuDNN 9.* and
        CUDA 13.*"``), the provider's first line when none matches, or a sentence saying nothing was logged.
    """
    short = provider.removesuffix("ExecutionProvider").lower()
    lines = [_ANSI.sub("", ln).strip() for ln in log.splitlines()]
    mine = [ln for ln in lines if provider in ln or f"providers_{short}" in ln.lower()]
    reasons: list[str] = []
    for ln in mine:
        m = next((m for m in (re.search(p, ln) for p in _REASONS) if m), None)
        if m and m.group(1).strip() not in reasons:
            reasons.append(m.group(1).strip())
    if not reasons and mine:
        reasons.append(re.sub(r"^.*?\] ", "", mine[0])[:200])
    return "; ".join(reasons) or "ONNX Runtime did not start it (no reason logged)"
