"""TensorRT through ONNX Runtime, its engine-cache key, and which CUDA/cuDNN/TensorRT onnxruntime-gpu wants.

Taught in notebooks/10_deploy.ipynb. A TensorRT engine is compiled for one TensorRT version, one GPU
model and a range of input shapes; loading an engine built for anything else fails or, worse, runs the
wrong plan. ``engine_cache_key`` folds all of these (and the model's bytes) into the cache directory name
so a stale engine is never picked up. Which CUDA, cuDNN and TensorRT an ONNX Runtime build needs comes
from one place, the course's tables (:mod:`pt_helpers.doctor.compat`); ``ort_gpu_requirements`` adds
what only this machine can tell: the library files each provider links (their ELF ``NEEDED`` entries,
whose names carry the major versions, a check of the tables) and whether each one loads here.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime

from ..capture import capture_output
from ..doctor.compat import ort_gpu_majors
from ..ort_build import onnxruntime_build_cuda, onnxruntime_distribution
from .runtime import ort_session

__all__ = ["engine_cache_key", "decode_tensorrt_version", "tensorrt_version", "tensorrt_session",
           "needed_libraries", "GPU_LIBRARY", "OrtGpuRequirements", "ort_gpu_requirements"]

_PRECISIONS = ("fp32", "fp16")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "_", text.lower()).strip("_")


def engine_cache_key(*, trt_version: str, gpu_name: str, precision: str,
                     input_shapes: Mapping[str, Sequence[int] | Sequence[Sequence[int]]],
                     model_digest: str = "") -> str:
    """A directory name for a TensorRT engine cache that changes whenever the engine would be invalid.

    Pure: the same arguments always give the same key; any change gives another key.

    Args:
        trt_version: e.g. ``"10.3.0"``. gpu_name: ``torch.cuda.get_device_name()``.
        precision: ``"fp32"`` or ``"fp16"``.
        input_shapes: input name -> a shape, or the (min, opt, max) shapes of a dynamic profile.
        model_digest: e.g. a sha256 of the ``.onnx`` bytes (re-exported weights need a new engine).
    Returns:
        ``trt<version>_<gpu>_<precision>_<12 hex digits of a hash over everything>``.
    """
    if precision not in _PRECISIONS:
        raise ValueError(f"engine_cache_key(precision={precision!r}): expected one of {_PRECISIONS}")
    shapes = {}
    for name, value in dict(input_shapes).items():
        nested = [value] if value and isinstance(value[0], int) else value
        shape_list = [[int(d) for d in s] for s in nested]
        if not shape_list or any(not s or any(d < 1 for d in s) for s in shape_list):
            raise ValueError(f"engine_cache_key(input_shapes={{{name!r}: {value!r}}}): expected positive dims")
        shapes[str(name)] = shape_list
    canonical = json.dumps({"trt": trt_version, "gpu": gpu_name, "precision": precision, "shapes": shapes,
                            "model": model_digest}, sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return f"trt{_slug(trt_version)}_{_slug(gpu_name)}_{precision}_{digest}"


def decode_tensorrt_version(raw: int) -> str:
    """``getInferLibVersion()`` -> text: TensorRT 10+ encodes MMmmpp (100300), TensorRT 8 Mmpp (8601)."""
    if raw >= 10000:
        return f"{raw // 10000}.{raw // 100 % 100}.{raw % 100}"
    return f"{raw // 1000}.{raw // 100 % 10}.{raw % 100}"


def _preload_tensorrt() -> None:
    """Load the libraries of the ``tensorrt-cuNN-libs`` wheel (``pip install -r requirements-gpu.txt``) so
    ONNX Runtime's TensorRT provider finds ``libnvinfer.so.10`` / ``libnvonnxparser.so.10`` by name
    without ``LD_LIBRARY_PATH`` (the same trick ``onnxruntime.preload_dlls`` plays for CUDA)."""
    import importlib.util

    spec = importlib.util.find_spec("tensorrt_libs")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for so in sorted(Path(folder).glob("libnv*.so*")):
            try:
                ctypes.CDLL(str(so), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue


def tensorrt_version() -> str | None:
    """The TensorRT version this process can load (Python package or ``libnvinfer``), or None."""
    _preload_tensorrt()
    try:
        import tensorrt  # type: ignore[import-not-found]

        return str(tensorrt.__version__)
    except ImportError:
        pass
    for soname in ("libnvinfer.so.10", "libnvinfer.so.8", "nvinfer_10.dll", "nvinfer.dll"):
        try:
            lib = ctypes.CDLL(soname)
            lib.getInferLibVersion.restype = ctypes.c_int32
            return decode_tensorrt_version(int(lib.getInferLibVersion()))
        except (OSError, AttributeError):
            continue
    return None


def tensorrt_session(path: str | Path, *, precision: str, cache_root: str | Path,
                     input_shapes: Mapping[str, Sequence[Sequence[int]]], threads: int | None = None,
                     verbose: bool = True) -> tuple[onnxruntime.InferenceSession, Path]:
    """An ONNX Runtime session on the TensorRT provider with an engine cache keyed by :func:`engine_cache_key`.

    Args:
        path: the ``.onnx`` file (exported with a dynamic batch for a min/opt/max profile).
        precision: ``"fp32"`` or ``"fp16"`` (``trt_fp16_enable``).
        cache_root: folder holding one sub-folder per key; the first session builds the engine (slow),
            later ones with the same key load it.
        input_shapes: input name -> (min, opt, max) shapes of the optimisation profile.
    Returns:
        ``(session, cache_dir)``. Raises RuntimeError when TensorRT does not really initialise.
    """
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("tensorrt_session: no CUDA GPU visible to this process")
    version = tensorrt_version()
    if version is None:
        raise RuntimeError("tensorrt_session: TensorRT (libnvinfer) is not installed or not on the library path")
    path = Path(path)
    key = engine_cache_key(trt_version=version, gpu_name=torch.cuda.get_device_name(), precision=precision,
                           input_shapes=input_shapes, model_digest=hashlib.sha256(path.read_bytes()).hexdigest())
    cache = Path(cache_root) / key
    cache.mkdir(parents=True, exist_ok=True)

    def profile(i: int) -> str:
        return ",".join(f"{n}:{'x'.join(map(str, s[i]))}" for n, s in input_shapes.items())

    options = {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": True,
               "trt_timing_cache_path": str(cache), "trt_fp16_enable": precision == "fp16",
               "trt_profile_min_shapes": profile(0), "trt_profile_opt_shapes": profile(1),
               "trt_profile_max_shapes": profile(2)}
    session = ort_session(path, prefer=(("TensorrtExecutionProvider", options), "CUDAExecutionProvider"),
                          threads=threads, verbose=verbose)
    if session.get_providers()[0] != "TensorrtExecutionProvider":
        raise RuntimeError(f"tensorrt_session: TensorRT did not initialise: "
                           f"{session.fallbacks.get('TensorrtExecutionProvider', 'unknown reason')}")
    return session, cache


def needed_libraries(path: str | Path) -> list[str]:
    """The ``DT_NEEDED`` entries of a 64-bit little-endian ELF shared library (what ``objdump -p`` lists)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"needed_libraries: {path} is not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = [struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize) for i in range(phnum)]
    loads = [(s[3], s[2], s[5]) for s in segments if s[0] == 1]  # PT_LOAD: (vaddr, offset, filesz)
    dynamic = next((s for s in segments if s[0] == 2), None)  # PT_DYNAMIC
    if dynamic is None:
        return []

    def file_offset(vaddr: int) -> int:
        for start, offset, size in loads:
            if start <= vaddr < start + size:
                return vaddr - start + offset
        raise ValueError(f"needed_libraries: address {vaddr:#x} outside the loaded segments of {path}")

    entries = [struct.unpack_from("<qQ", data, dynamic[2] + i * 16) for i in range(dynamic[5] // 16)]
    strtab = file_offset(next(v for tag, v in entries if tag == 5))  # DT_STRTAB
    names = []
    for tag, value in entries:
        if tag == 0:  # DT_NULL
            break
        if tag == 1:  # DT_NEEDED
            end = data.index(b"\0", strtab + value)
            names.append(data[strtab + value:end].decode())
    return names


@dataclass(frozen=True)
class OrtGpuRequirements:
    """What the installed onnxruntime needs for its GPU providers, and whether this machine has it."""

    package: str
    version: str
    build_cuda: str | None  # the CUDA version onnxruntime was built with (build_and_package_info)
    libraries: dict[str, dict[str, bool]] = field(default_factory=dict)  # provider -> {soname: loadable now}
    cuda_major: int | None = None  # these three: from the course's tables (pt_helpers.doctor.compat)
    cudnn_major: int | None = None
    tensorrt_major: int | None = None

    def table(self) -> str:
        want = lambda v: f"{v}.x" if v is not None else "n/a"  # noqa: E731
        lines = [f"{self.package} {self.version} (built with CUDA {self.build_cuda or 'n/a'}) wants "
                 f"CUDA {want(self.cuda_major)}, cuDNN {want(self.cudnn_major)}, TensorRT {want(self.tensorrt_major)}"]
        for provider, libs in self.libraries.items():
            missing = [n for n, ok in libs.items() if not ok]
            lines.append(f"  {provider}: needs {', '.join(libs)}"
                         + (f"; NOT loadable here: {', '.join(missing)}" if missing else "; all loadable here"))
        return "\n".join(lines)


GPU_LIBRARY = re.compile(r"^lib(cudart|cublas|cublasLt|cudnn|curand|cufft|nvinfer|nvonnxparser|cuda)\.so\.(\d+)")


def ort_gpu_requirements() -> OrtGpuRequirements:
    """The installed onnxruntime's GPU needs: the versions from the course's tables, the files from the wheel.

    ``cuda_major``, ``cudnn_major`` and ``tensorrt_major`` come from :func:`pt_helpers.doctor.compat.ort_gpu_majors`
    for this version and build CUDA (None for the CPU package). ``libraries`` maps each GPU provider to the
    CUDA/cuDNN/TensorRT sonames its shared library links (Linux; their numbers are the majors the loader
    will ask for) and whether ``ctypes`` can load each one now (after ``onnxruntime.preload_dlls()``,
    which loads the CUDA and cuDNN libraries of the nvidia-* wheels that PyTorch installs).
    """
    dist = onnxruntime_distribution()
    package = dist[0] if dist else "onnxruntime"
    build_cuda = onnxruntime_build_cuda()
    capi = Path(onnxruntime.__file__).parent / "capi"
    libraries: dict[str, dict[str, bool]] = {}
    if hasattr(onnxruntime, "preload_dlls") and build_cuda:
        with capture_output():
            onnxruntime.preload_dlls()
    for provider, so in (("CUDAExecutionProvider", "cuda"), ("TensorrtExecutionProvider", "tensorrt")):
        lib = capi / f"libonnxruntime_providers_{so}.so"
        if not lib.is_file():
            continue
        found = {}
        for soname in needed_libraries(lib):
            if not GPU_LIBRARY.match(soname):
                continue
            try:
                ctypes.CDLL(soname)
                found[soname] = True
            except OSError:
                found[soname] = False
        libraries[provider] = found
    needs = ort_gpu_majors(onnxruntime.__version__, build_cuda) if build_cuda or package == "onnxruntime-gpu" \
        else {"cuda": None, "cudnn": None, "tensorrt": None}
    return OrtGpuRequirements(package, onnxruntime.__version__, build_cuda, libraries,
                              needs["cuda"], needs["cudnn"], needs["tensorrt"])
