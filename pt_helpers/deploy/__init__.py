"""Deployment: ONNX export, ONNX Runtime sessions, parity, latency, netron, TensorRT.

Taught in notebooks/10_deploy.ipynb.

One module per concept: :mod:`.export` (``torch.onnx.export`` with a named fallback, checker, shape
inference), :mod:`.runtime` (sessions with honest providers, parity with eager), :mod:`.placement`
(which provider ran each node, from ONNX Runtime's profiler), :mod:`.benchmark`
(latency eager vs ONNX Runtime), :mod:`.inputs` (the batches both engines are fed), :mod:`.viewer`
(netron on loopback), :mod:`.gpu` (TensorRT engine cache; the CUDA/cuDNN/TensorRT versions
onnxruntime-gpu needs, from :mod:`pt_helpers.doctor.compat`, checked against the wheel's libraries).
What the doctor shares with these modules lives in :mod:`pt_helpers.capture` (output capture) and
:mod:`pt_helpers.ort_build` (the installed distribution, its build CUDA, providers' failure reasons).
"""

from .benchmark import BenchmarkReport, Timing, benchmark
from .export import ExportError, export_onnx, exporter_used, graph_summary
from .gpu import (
    OrtGpuRequirements,
    decode_tensorrt_version,
    engine_cache_key,
    needed_libraries,
    ort_gpu_requirements,
    tensorrt_session,
    tensorrt_version,
)
from .placement import NodePlacement, PlacedNode, node_placement
from .runtime import DEFAULT_PROVIDERS, OPTIMIZATION_LEVELS, ParityReport, ParityRow, check_parity, ort_session
from .viewer import NetronServer, serve_netron, show_netron, stop_netron

__all__ = [
    "export_onnx", "ExportError", "exporter_used", "graph_summary",
    "ort_session", "DEFAULT_PROVIDERS", "OPTIMIZATION_LEVELS", "check_parity", "ParityReport", "ParityRow",
    "node_placement", "NodePlacement", "PlacedNode",
    "benchmark", "BenchmarkReport", "Timing",
    "serve_netron", "stop_netron", "show_netron", "NetronServer",
    "engine_cache_key", "decode_tensorrt_version", "tensorrt_version", "tensorrt_session",
    "needed_libraries", "ort_gpu_requirements", "OrtGpuRequirements",
]
