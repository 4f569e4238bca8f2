"""pt_helpers.ort_build: the installed ONNX Runtime distribution, its build CUDA, providers' failure reasons."""

from __future__ import annotations

from importlib import metadata

import onnxruntime

from pt_helpers.ort_build import (
    DISTRIBUTIONS,
    distribution_version,
    onnxruntime_build_cuda,
    onnxruntime_distribution,
    provider_failure_reason,
)

# What onnxruntime-gpu 1.31 printed on this CPU-only machine for a session asking for TensorRT, CUDA, CPU
# (lesson 10), colour codes included.
LOG = """\
*************** EP Error ***************
EP Error /onnxruntime_src/onnxruntime/python/onnxruntime_pybind_state.cc:729 void onnxruntime::python::\
RegisterTensorRTPluginsAsCustomOps(PySessionOptions&, const onnxruntime::ProviderOptions&) Please install TensorRT \
libraries as mentioned in the GPU requirements page, make sure they're in the PATH or LD_LIBRARY_PATH, and that \
your GPU is supported.
 when using ['TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider']
Falling back to ['CUDAExecutionProvider', 'CPUExecutionProvider'] and retrying.
\x1b[1;31m2026-12-03 18:16:19.79 [E:onnxruntime:Default, provider_bridge_ort.cc:2430 operator()] Failed to load \
library /x/onnxruntime/capi/libonnxruntime_providers_tensorrt.so with error: libnvinfer.so.10: cannot open shared \
object file: No such file or directory\x1b[m
\x1b[1;31m2026-12-03 18:16:19.81 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] Failed to load \
library /x/onnxruntime/capi/libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot open shared object \
file: No such file or directory\x1b[m
\x1b[0;93m2026-12-03 18:16:19.81 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:1295 \
CreateExecutionProviderFactoryInstance] Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 13.*. \
Please install all dependencies as mentioned in the GPU requirements page.\x1b[m
"""


def test_each_provider_gets_its_own_reason_from_one_log():
    assert provider_failure_reason("TensorrtExecutionProvider", LOG) == (
        "libnvinfer.so.10: cannot open shared object file: No such file or directory")
    assert provider_failure_reason("CUDAExecutionProvider", LOG) == (
        "libcuda.so.1: cannot open shared object file: No such file or directory; Require cuDNN 9.* and CUDA 13.*")


def test_unknown_provider_and_silence():
    assert provider_failure_reason("FooExecutionProvider", "Unknown Provider Type: FooExecutionProvider") == (
        "Unknown Provider Type: FooExecutionProvider")
    tensorrt_only = "\n".join(ln for ln in LOG.splitlines() if "CUDA" not in ln and "cuda" not in ln)
    assert provider_failure_reason("CUDAExecutionProvider", tensorrt_only) == (
        "ONNX Runtime did not start it (no reason logged)")
    # a line that names the provider but matches no known pattern is quoted without its log prefix
    odd = "[W:onnxruntime:Default, x.cc:1 f] CUDAExecutionProvider is tired today"
    assert provider_failure_reason("CUDAExecutionProvider", odd) == "CUDAExecutionProvider is tired today"


def test_distribution_lookup_agrees_with_the_metadata_and_the_module():
    name, version = onnxruntime_distribution()
    assert name in DISTRIBUTIONS and version == metadata.version(name) == onnxruntime.__version__
    assert distribution_version("surely-not-installed-pt-helpers-test") is None


def test_build_cuda_is_the_wheels_own_record():
    from onnxruntime.capi import build_and_package_info as info

    assert onnxruntime_build_cuda() == (getattr(info, "cuda_version", None) or None)
