"""Version-compatibility tables, kept as data, and the lookups the doctor checks the installed set with.

Taught in notebooks/00_setup.ipynb; used by ``python -m pt_helpers.doctor`` and by lesson 10's
``pt_helpers.deploy.ort_gpu_requirements``. These tables are the course's one source of what an ONNX
Runtime build needs (CUDA, cuDNN and TensorRT versions): they answer on every system and before anything
is installed, and they hold what a library's file name cannot (a minimum minor such as CUDA 12.8+,
which package feed). What the installed wheel shows (the library files its providers link, and whether
each loads here) is a check of these tables, in lesson 10 and in tests/test_deploy.py.
The tables are current through ONNX Runtime 1.31 and torch 2.14 / torchvision 0.29. When a new release
comes out, add a row here (and its source); the doctor says when an installed version is newer.

Sources (checked Nov 2026):
- ONNX Runtime "CUDA Execution Provider - Requirements" and "TensorRT Execution Provider - Requirements"
  (onnxruntime.ai/docs/execution-providers/), the 1.27 release-candidate notes (microsoft/onnxruntime
  issue 29032: CUDA 12 packages deprecated, CUDA 13 packages), PR 27843 (ORT 1.24: TensorRT 10.14,
  CUDA 12.0-12.9), and the installed wheel's ``onnxruntime.capi.build_and_package_info``.
- PyTorch "previous versions" / RELEASE.md compatibility matrix for torch <-> torchvision.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ORT_CUDA",
    "ORT_TENSORRT",
    "TORCH_TORCHVISION",
    "version_tuple",
    "version_matches",
    "majors",
    "ort_cuda_rows",
    "ort_tensorrt_rows",
    "ort_gpu_majors",
    "torchvision_for",
    "torch_for",
    "cudnn_version",
    "check_installed",
    "finding",
]

# ONNX Runtime GPU package -> the CUDA and cuDNN it was built with. Several rows for one ORT version are
# alternative packages (PyPI default vs a separate feed). CUDA minor versions are interchangeable within
# a major (NVIDIA minor-version compatibility); cuDNN 8 and 9 are not.
ORT_CUDA: tuple[dict[str, str], ...] = (
    {"ort": "1.27-1.31", "cuda": "13.x", "cudnn": "9.x", "package": "PyPI default (built with CUDA 13.0)",
     "note": "CUDA 12 packages deprecated from 1.27; matches torch cu130 wheels"},
    {"ort": "1.21-1.26", "cuda": "12.x (12.8+)", "cudnn": "9.x", "package": "PyPI default (built with CUDA 12.8)",
     "note": "from 1.22 only CUDA 12 packages are published"},
    {"ort": "1.19-1.20", "cuda": "12.x", "cudnn": "9.x", "package": "PyPI default",
     "note": "compatible with torch >= 2.4 built for CUDA 12"},
    {"ort": "1.19-1.21", "cuda": "11.8", "cudnn": "8.x", "package": "separate feed (not on PyPI)",
     "note": "compatible with torch <= 2.3.1 built for CUDA 11.8"},
    {"ort": "1.18.1", "cuda": "12.x", "cudnn": "9.x", "package": "separate feed", "note": "cuDNN 9 required"},
    {"ort": "1.18.0", "cuda": "12.x", "cudnn": "8.x", "package": "separate feed", "note": ""},
    {"ort": "1.18", "cuda": "11.8", "cudnn": "8.x", "package": "PyPI default", "note": ""},
    {"ort": "1.17", "cuda": "12.x", "cudnn": "8.x", "package": "separate feed", "note": "built with CUDA 12.2"},
    {"ort": "1.15-1.17", "cuda": "11.8", "cudnn": "8.x", "package": "PyPI default",
     "note": "tested with CUDA 11.6-11.8, cuDNN 8.2-8.9"},
    {"ort": "1.13-1.14", "cuda": "11.6", "cudnn": "8.2.4", "package": "PyPI default", "note": ""},
    {"ort": "1.9-1.12", "cuda": "11.4", "cudnn": "8.2.4", "package": "PyPI default", "note": ""},
    {"ort": "1.7-1.8", "cuda": "11.0.3", "cudnn": "8.0.4", "package": "PyPI default", "note": ""},
    {"ort": "1.5-1.6", "cuda": "10.2", "cudnn": "8.0.3", "package": "PyPI default", "note": ""},
    {"ort": "1.2-1.4", "cuda": "10.1", "cudnn": "7.6.5", "package": "PyPI default", "note": ""},
    {"ort": "1.0-1.1", "cuda": "10.0", "cudnn": "7.6.4", "package": "PyPI default", "note": ""},
)

# ONNX Runtime -> the TensorRT (and CUDA) its TensorRT execution provider is built and tested with.
# TensorRT engines and plan files are tied to the exact TensorRT version: match the major at least.
ORT_TENSORRT: tuple[dict[str, str], ...] = (
    {"ort": "1.27-1.31", "tensorrt": "10.x (10.14+)", "cuda": "13.x",
     "note": "the official table stops at 1.24; from secondary sources (1.30 builds against 10.14)"},
    {"ort": "1.24-1.26", "tensorrt": "10.14", "cuda": "12.0-12.9", "note": "1.24 per PR 27843"},
    {"ort": "1.23", "tensorrt": "10.x", "cuda": "12.0-12.9", "note": "not in the official table"},
    {"ort": "1.22", "tensorrt": "10.9", "cuda": "12.0-12.8", "note": ""},
    {"ort": "1.21", "tensorrt": "10.8", "cuda": "12.0-12.8, 11.8", "note": ""},
    {"ort": "1.20", "tensorrt": "10.4", "cuda": "12.0-12.6, 11.8", "note": ""},
    {"ort": "1.19", "tensorrt": "10.2", "cuda": "12.0-12.6, 11.8", "note": ""},
    {"ort": "1.18", "tensorrt": "10.0", "cuda": "11.8, 12.0-12.6", "note": ""},
    {"ort": "1.17", "tensorrt": "8.6", "cuda": "11.8, 12.0-12.6", "note": "the first release with CUDA 12 packages"},
    {"ort": "1.15-1.16", "tensorrt": "8.6", "cuda": "11.8", "note": "CUDA 11.8 only"},
    {"ort": "1.14", "tensorrt": "8.5", "cuda": "11.6", "note": "the newest row of note A's table"},
    {"ort": "1.12-1.13", "tensorrt": "8.4", "cuda": "11.4", "note": ""},
    {"ort": "1.11", "tensorrt": "8.2", "cuda": "11.4", "note": ""},
    {"ort": "1.9-1.10", "tensorrt": "8.0", "cuda": "11.4", "note": ""},
    {"ort": "1.7-1.8", "tensorrt": "7.2", "cuda": "11.0.3", "note": ""},
    {"ort": "1.5-1.6", "tensorrt": "7.1", "cuda": "10.2", "note": ""},
    {"ort": "1.2-1.4", "tensorrt": "7.0", "cuda": "10.1", "note": ""},
    {"ort": "1.0-1.1", "tensorrt": "6.0", "cuda": "10.0", "note": ""},
)

# torch minor -> the torchvision built against it (compiled operators such as torchvision::nms only load
# into the torch they were built for). Since torch 1.4 the rule is torchvision 0.(minor + 1) for 1.x and
# 0.(minor + 15) for 2.x; patch releases pair too (torch 2.14.1 <-> torchvision 0.29.1).
TORCH_TORCHVISION: tuple[tuple[str, str], ...] = (
    ("2.14", "0.29"), ("2.13", "0.28"), ("2.12", "0.27"), ("2.11", "0.26"), ("2.10", "0.25"),
    ("2.9", "0.24"), ("2.8", "0.23"), ("2.7", "0.22"), ("2.6", "0.21"), ("2.5", "0.20"),
    ("2.4", "0.19"), ("2.3", "0.18"), ("2.2", "0.17"), ("2.1", "0.16"), ("2.0", "0.15"),
    ("1.13", "0.14"), ("1.12", "0.13"), ("1.11", "0.12"), ("1.10", "0.11"), ("1.9", "0.10"),
    ("1.8", "0.9"), ("1.7", "0.8"), ("1.6", "0.7"), ("1.5", "0.6"), ("1.4", "0.5"),
    ("1.3", "0.4.1-0.4.2"), ("1.2", "0.4.0"), ("1.1", "0.3"), ("1.0", "0.2"),
)


def version_tuple(text: str) -> tuple[int, ...]:
    """``"2.14.1+cu130"`` -> ``(2, 14, 1)``: the leading dotted numbers of a version string.

    Raises:
        ValueError: ``text`` does not start with a number.
    """
    m = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(text))
    if not m:
        raise ValueError(f"version_tuple({text!r}): expected a version such as '2.14.1'")
    return tuple(int(p) for p in m.group(1).split("."))


def version_matches(spec: str, version: str) -> bool:
    """Does ``version`` fall under a table entry? ``spec`` is ``"1.18"`` (any 1.18.x), ``"1.18.1"`` (that
    release) or an inclusive range ``"1.27-1.31"`` / ``"0.4.1-0.4.2"`` compared at the spec's precision."""
    v = version_tuple(version)
    lo, _, hi = spec.partition("-")
    lo_t = version_tuple(lo)
    hi_t = version_tuple(hi) if hi else lo_t
    return lo_t <= v[: len(lo_t)] and v[: len(hi_t)] <= hi_t


def majors(text: str) -> set[int]:
    """Major versions named in a table cell: ``"12.0-12.8, 11.8"`` -> ``{11, 12}``; ``"9.x"`` -> ``{9}``."""
    return {int(m) for m in re.findall(r"(?<![\d.])(\d+)\.(?:\d+|x)", text)}


def ort_cuda_rows(ort_version: str, build_cuda: str | None = None) -> list[dict[str, str]]:
    """Rows of :data:`ORT_CUDA` for this ONNX Runtime version (one per package variant).

    Args:
        build_cuda: the CUDA the wheel says it was built with (``"13.0"``); keeps the variant of that
            CUDA major when the table has one.
    """
    rows = [row for row in ORT_CUDA if version_matches(row["ort"], ort_version)]
    if build_cuda:
        rows = [r for r in rows if version_tuple(build_cuda)[0] in majors(r["cuda"])] or rows
    return rows


def ort_tensorrt_rows(ort_version: str) -> list[dict[str, str]]:
    """Rows of :data:`ORT_TENSORRT` for this ONNX Runtime version."""
    return [row for row in ORT_TENSORRT if version_matches(row["ort"], ort_version)]


def ort_gpu_majors(ort_version: str, build_cuda: str | None = None) -> dict[str, int | None]:
    """The CUDA, cuDNN and TensorRT major versions the tables give for an ONNX Runtime GPU build.

    Returns:
        ``{"cuda": 13, "cudnn": 9, "tensorrt": 10}`` for ``("1.31.1", "13.0")``; a value is None when the
        tables have no row, or several majors and nothing to choose between them.
    """
    def one(cells: list[str], prefer: int | None = None) -> int | None:
        found = set().union(*(majors(c) for c in cells))
        if prefer in found:
            return prefer
        return found.pop() if len(found) == 1 else None

    rows = ort_cuda_rows(ort_version, build_cuda)
    return {"cuda": one([r["cuda"] for r in rows], version_tuple(build_cuda)[0] if build_cuda else None),
            "cudnn": one([r["cudnn"] for r in rows]),
            "tensorrt": one([r["tensorrt"] for r in ort_tensorrt_rows(ort_version)])}


def torchvision_for(torch_version: str) -> str | None:
    """The torchvision release line built for this torch (``"2.14.1"`` -> ``"0.29"``), or None if unknown."""
    for torch_minor, vision in TORCH_TORCHVISION:
        if version_matches(torch_minor, torch_version):
            return vision
    return None


def torch_for(torchvision_version: str) -> str | None:
    """The torch release line a torchvision was built for (``"0.4.0"`` -> ``"1.2"``), or None if unknown."""
    for torch_minor, vision in TORCH_TORCHVISION:
        if version_matches(vision, torchvision_version):
            return torch_minor
    return None


def cudnn_version(number: int) -> tuple[int, int, int]:
    """``torch.backends.cudnn.version()`` as a tuple: 92400 -> (9, 24, 0) (cuDNN 9+), 8902 -> (8, 9, 2)."""
    n = int(number)
    if n >= 10000:  # cuDNN 9 encodes major * 10000 + minor * 100 + patch
        return n // 10000, n // 100 % 100, n % 100
    return n // 1000, n // 100 % 10, n % 100


def finding(status: str, topic: str, message: str) -> dict[str, str]:
    """One row of a doctor check: ``{"status": "ok"|"info"|"warn"|"fail", "topic", "message"}``."""
    return {"status": status, "topic": topic, "message": message}


def _check_torchvision(torch: str, torchvision: str | None) -> dict[str, str]:
    want = torchvision_for(torch)
    if torchvision is None:
        return finding("fail", "torch/torchvision", f"torchvision is not installed (torch {torch} needs {want})")
    if want is None:
        return finding("warn", "torch/torchvision", f"torch {torch} is newer than the table (through 2.14)")
    if version_matches(want, torchvision):
        return finding("ok", "torch/torchvision", f"torch {torch} <-> torchvision {torchvision} (table: {want})")
    built_for = torch_for(torchvision) or "another torch"
    return finding("fail", "torch/torchvision",
                    f"torchvision {torchvision} is built for torch {built_for}, but torch {torch} is installed "
                    f"(it needs torchvision {want})")


def check_installed(versions: dict[str, Any]) -> list[dict[str, str]]:
    """Check an installed set against the tables; one finding per relation, each with a status.

    Args:
        versions: ``torch``, ``torchvision``, ``torch_cuda`` (``torch.version.cuda`` or None for a CPU
            build), ``cudnn`` (``torch.backends.cudnn.version()``, e.g. 92400, or None), ``onnxruntime``,
            ``ort_gpu`` (the CUDA package is installed), ``ort_cuda`` (the CUDA it was built with, if
            known), ``tensorrt`` (version or None). Missing keys count as not installed.
    Returns:
        Dicts ``{"status": "ok"|"warn"|"fail"|"info", "topic", "message"}``.
    """
    found = []
    torch = versions.get("torch")
    if torch:
        found.append(_check_torchvision(torch, versions.get("torchvision")))
    ort = versions.get("onnxruntime")
    if not ort:
        found.append(finding("info", "ORT/CUDA/cuDNN", "onnxruntime is not installed"))
        return found
    rows = ort_cuda_rows(ort, versions.get("ort_cuda"))  # the wheel's build CUDA picks the package variant
    torch_cuda, cudnn = versions.get("torch_cuda"), versions.get("cudnn")
    if not versions.get("ort_gpu"):
        found.append(finding("info", "ORT/CUDA/cuDNN", f"onnxruntime {ort} is the CPU package"))
    elif not rows:
        found.append(finding("warn", "ORT/CUDA/cuDNN",
                              f"onnxruntime {ort} is not in the table (through 1.31): check its CUDA EP requirements"))
    else:
        want = " or ".join(f"CUDA {r['cuda']} + cuDNN {r['cudnn']}" for r in rows)
        if not torch_cuda:
            found.append(finding("info", "ORT/CUDA/cuDNN",
                                  f"onnxruntime {ort} needs {want}; torch is a CPU build and cannot lend them"))
        else:
            cudnn_major = cudnn_version(cudnn)[0] if cudnn else None
            ok = [r for r in rows if version_tuple(torch_cuda)[0] in majors(r["cuda"])
                  and (cudnn_major is None or cudnn_major in majors(r["cudnn"]))]
            status = "ok" if ok else "warn"
            verb = "matches" if ok else "does not match"
            found.append(finding(status, "ORT/CUDA/cuDNN",
                                  f"onnxruntime {ort} needs {want}; {verb} torch's CUDA {torch_cuda}"
                                  + (f" / cuDNN {cudnn_major}" if cudnn_major else "")
                                  + (" (they can share one set of CUDA libraries)" if ok else
                                     " (install the onnxruntime-gpu built for torch's CUDA major)")))
    trt_rows = ort_tensorrt_rows(ort)
    trt = versions.get("tensorrt")
    want_trt = (" or ".join(f"TensorRT {r['tensorrt']} with CUDA {r['cuda']}" for r in trt_rows)
                or "a TensorRT (not in the table)")
    if not trt:
        found.append(finding("info", "ORT/TensorRT",
                              f"TensorRT is not installed; onnxruntime {ort} expects {want_trt}"))
    else:
        ok = any(version_tuple(trt)[0] in majors(r["tensorrt"]) for r in trt_rows)
        verb = "matches" if ok else "does not match"
        found.append(finding("ok" if ok else "warn", "ORT/TensorRT",
                              f"TensorRT {trt} {verb}: onnxruntime {ort} expects {want_trt}"))
    return found
