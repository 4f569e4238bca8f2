"""The ONNX Runtime part of the doctor: which execution providers really initialise (see :mod:`pt_helpers.doctor`).

Taught in notebooks/00_setup.ipynb (and used again in lesson 10). ONNX Runtime lists every provider it was
*built* with; one whose libraries are missing falls back to the CPU with a warning on stderr. So each listed
provider is tried alone on a one-node model, and the session is asked which provider it really uses.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from importlib import metadata
from typing import Any

__all__ = ["tiny_onnx_model", "provider_initialises", "probe_onnxruntime"]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def tiny_onnx_model() -> bytes:
    """A one-node ONNX model (``y = x + x``, float32 ``[2]``) built in memory with ``onnx.helper``."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "doctor", [x], [y])
    # explicit IR/opset: newer onnx writes IR versions an older ONNX Runtime cannot read
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    return model.SerializeToString()


@contextlib.contextmanager
def _captured_output():
    """Capture what ONNX Runtime writes while it tries a provider: Python prints and C++ logs on fd 2."""
    buf = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            fd2 = os.dup(2)
        except OSError:  # no real stderr (some embedded interpreters): capture Python-level output only
            fd2 = None
        try:
            if fd2 is not None:
                sys.stderr.flush()
                os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                yield buf
        finally:
            if fd2 is not None:
                os.dup2(fd2, 2)
                os.close(fd2)
            tmp.seek(0)
            buf.write(tmp.read().decode("utf-8", "replace"))


def _reason(log: str, provider: str) -> str:
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    for pattern in (r"with error: ([^\n]+)", r"(Failed to create \w+\.[^\n]*?)(?: Please|$)", r"EP Error:? ([^\n]+)"):
        m = re.search(pattern, log, re.MULTILINE)
        if m:
            return m.group(1).strip()[:240]
    return f"ONNX Runtime fell back to another provider instead of {provider}"


def provider_initialises(provider: str, model: bytes, session_factory: Any = None) -> tuple[bool, str]:
    """Create a session on ``model`` with ``provider`` alone, run it, and read ``session.get_providers()``.

    ONNX Runtime lists every provider it was *built* with; one whose libraries are missing is silently
    replaced by the CPU provider. Only the session's own provider list tells the truth.
    Returns:
        ``(True, "")`` when the session runs on ``provider``, else ``(False, reason)``.
    """
    import numpy as np
    import onnxruntime as ort

    factory = session_factory or ort.InferenceSession
    with _captured_output() as log:
        try:
            session = factory(model, providers=[provider])
            y = session.run(None, {"x": np.array([1.0, 2.0], dtype=np.float32)})[0]
            used = session.get_providers()
        except Exception as err:  # noqa: BLE001
            return False, _short(err)
    if not used or used[0] != provider:
        return False, _reason(log.getvalue(), provider)
    if not np.allclose(y, [2.0, 4.0]):
        return False, f"wrong result {y.tolist()} from y = x + x"
    return True, ""


def probe_onnxruntime() -> dict[str, Any]:
    """ONNX Runtime's version, the providers it lists, and the ones that actually initialise (tried one by one)."""
    try:
        import onnxruntime as ort
    except Exception as err:  # noqa: BLE001
        installed = (_version("onnxruntime") or _version("onnxruntime-gpu")) is not None
        return {"installed": installed, "error": _short(err)} if installed else {"installed": False}
    try:
        from onnxruntime.capi import build_and_package_info as info
        package, build_cuda = getattr(info, "package_name", None), getattr(info, "cuda_version", None)
    except ImportError:
        package, build_cuda = None, None
    listed = list(ort.get_available_providers())
    out: dict[str, Any] = {"installed": True, "version": ort.__version__, "package": package,
                           "build_cuda": build_cuda or None, "listed": listed, "working": [], "failed": {}}
    try:
        model = tiny_onnx_model()
    except Exception as err:  # noqa: BLE001
        out["error"] = f"could not build the test model: {_short(err)}"
        return out
    for provider in listed:
        ok, why = provider_initialises(provider, model)
        if ok:
            out["working"].append(provider)
        else:
            out["failed"][provider] = why
    return out
