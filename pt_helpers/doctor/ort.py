"""The ONNX Runtime part of the doctor: which execution providers really initialise.

Taught in notebooks/00_setup.ipynb (and used again in lesson 10). ONNX Runtime lists every provider it was
*built* with; one whose libraries are missing falls back to the CPU with a warning on stderr. So each listed
provider is tried alone on a one-node model, and the session is asked which provider it really uses.
"""

from __future__ import annotations

from typing import Any

from ..capture import capture_output
from ..ort_build import onnxruntime_build_cuda, onnxruntime_distribution, provider_failure_reason
from .probes import short_error

__all__ = ["tiny_onnx_model", "provider_initialises", "probe_onnxruntime"]


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


def provider_initialises(provider: str, model: bytes, session_factory: Any = None) -> tuple[bool, str]:
    """Create a session on ``model`` with ``provider`` alone, run it, and read ``session.get_providers()``.

    ONNX Runtime lists every provider it was *built* with; one whose libraries are missing is silently
    replaced by the CPU provider. Only the session's own provider list tells the truth. What ONNX Runtime
    prints meanwhile is captured (:func:`pt_helpers.capture.capture_output`) and read for its reason
    (:func:`pt_helpers.ort_build.provider_failure_reason`), the same way ``pt_helpers.deploy`` does.
    Returns:
        ``(True, "")`` when the session runs on ``provider``, else ``(False, reason)``.
    """
    import numpy as np
    import onnxruntime as ort

    factory = session_factory or ort.InferenceSession
    with capture_output() as cap:
        try:
            session = factory(model, providers=[provider])
            y = session.run(None, {"x": np.array([1.0, 2.0], dtype=np.float32)})[0]
            used = session.get_providers()
        except Exception as err:  # noqa: BLE001
            return False, short_error(err)
    if not used or used[0] != provider:
        return False, provider_failure_reason(provider, cap.log())
    if not np.allclose(y, [2.0, 4.0]):
        return False, f"wrong result {y.tolist()} from y = x + x"
    return True, ""


def probe_onnxruntime() -> dict[str, Any]:
    """ONNX Runtime's version, the providers it lists, and the ones that actually initialise (tried one by one)."""
    dist = onnxruntime_distribution()
    try:
        import onnxruntime as ort
    except Exception as err:  # noqa: BLE001
        return {"installed": True, "error": short_error(err)} if dist else {"installed": False}
    listed = list(ort.get_available_providers())
    out: dict[str, Any] = {"installed": True, "version": ort.__version__, "package": dist[0] if dist else None,
                           "build_cuda": onnxruntime_build_cuda(), "listed": listed, "working": [], "failed": {}}
    try:
        model = tiny_onnx_model()
    except Exception as err:  # noqa: BLE001
        out["error"] = f"could not build the test model: {short_error(err)}"
        return out
    for provider in listed:
        ok, why = provider_initialises(provider, model)
        if ok:
            out["working"].append(provider)
        else:
            out["failed"][provider] = why
    return out
