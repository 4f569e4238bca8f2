"""The environment check learners paste into bug reports: ``python -m pt_helpers.doctor`` (``make doctor``).

Taught in notebooks/00_setup.ipynb. Every probe runs what it reports (an operator, a matmul, an ONNX
Runtime session) instead of trusting a list, and never raises: a failure becomes a row with the reason.
Importing this package does not import torch, so the doctor can report a broken torch.

One module per part:

- :mod:`.system`: the operating system, architecture and Python, and what they mean for the lessons;
- :mod:`.probes`: torch, torchvision's compiled ops, the device, nvidia-smi, TensorRT, packages, data;
- :mod:`.ort`: which ONNX Runtime providers really initialise;
- :mod:`.compat`: the version tables (which versions go together) and the check of the installed set;
- :mod:`.report`: the report as a table; :mod:`.check`: the run, the verdict and the exit code.
"""

from . import compat
from .check import collect, main, problems, run_doctor
from .ort import probe_onnxruntime, provider_initialises, tiny_onnx_model
from .probes import (
    NMS_MISSING,
    probe_device,
    probe_nvidia_smi,
    probe_torch,
    probe_torchvision,
    torchvision_fix,
)
from .report import format_report
from .system import system_facts, system_findings

__all__ = ["compat", "probe_torch", "probe_torchvision", "torchvision_fix", "probe_device", "probe_nvidia_smi",
           "tiny_onnx_model", "provider_initialises", "probe_onnxruntime", "system_facts", "system_findings",
           "collect", "problems", "format_report", "run_doctor", "main", "NMS_MISSING"]
