"""Export a PyTorch model to ONNX: the dynamo exporter first, the TorchScript exporter as a named fallback.

Taught in notebooks/10_deploy.ipynb. The file is checked with ``onnx.checker`` (full check), shapes are
inferred and stored (so netron can draw them on the edges), and the exporter that produced it is
recorded in the model's metadata (``exporter_used(path)``).
"""

from __future__ import annotations

import linecache
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ..capture import capture_output

__all__ = ["ExportError", "export_onnx", "exporter_used", "graph_summary"]

EXPORTER_KEY = "pt_helpers.exporter"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BAD_TRACE = "might cause the trace to be incorrect"


class ExportError(RuntimeError):
    """Neither exporter produced a correct graph; the message is one paragraph naming both reasons."""


def _names(prefix: str, n: int) -> list[str]:
    return [prefix] if n == 1 else [f"{prefix}_{i}" for i in range(n)]


def _one_line(text: str, limit: int = 360) -> str:
    text = re.sub(r"\s+", " ", _ANSI.sub("", text)).strip().rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(err: BaseException) -> str:
    """The root cause of an exporter exception in one line, plus the user code line when torch names it."""
    chain, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        chain.append(err)
        err = err.__cause__ or err.__context__
    root = chain[-1]
    message = str(root).strip().split("\n\n")[0] or type(root).__name__
    where = ""
    for e in chain:
        m = re.search(r'The following call raised this error:\s*File "([^"]+)", line (\d+), in \w+\s*\n\s*(.+)', str(e))
        if m:
            where = f" (at {Path(m.group(1)).name}:{m.group(2)}: `{m.group(3).strip()}`)"
            break
    return _one_line(f"{type(root).__name__}: {message}") + where


def _bad_trace_warnings(caught: list) -> str:
    for w in caught:
        if issubclass(w.category, torch.jit.TracerWarning) and _BAD_TRACE in str(w.message):
            code = linecache.getline(w.filename, w.lineno).strip()
            first = str(w.message).split(".")[0]
            return f"{first} (at {Path(w.filename).name}:{w.lineno}: `{code}`)"
    return ""


def _advice(text: str) -> str:
    if "data-dependent" in text or "Python boolean" in text or "control flow" in text:
        return ("Express the branch with tensor operations (torch.where), or with torch.cond, which the dynamo "
                "exporter keeps as an ONNX If")
    if "No ONNX function" in text or "not supported" in text:
        return ("The operator has no ONNX translation: replace it with supported operations or register a "
                "translation (custom_translation_table)")
    return "Fix the model code the messages point at"


def _check_args(model: Any, example_input: Any, path: Path, opset: int | None) -> tuple[torch.Tensor, ...]:
    if not isinstance(model, nn.Module):
        raise ValueError(f"export_onnx(model=...): expected a torch.nn.Module, got {type(model).__name__}")
    inputs = (example_input,) if isinstance(example_input, torch.Tensor) else example_input
    if not isinstance(inputs, tuple) or not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise ValueError("export_onnx(example_input=...): expected a tensor with a batch dimension, e.g. "
                         f"torch.randn(1, 1, 28, 28), or a tuple of tensors; got {type(example_input).__name__}")
    if path.suffix != ".onnx":
        raise ValueError(f"export_onnx(path={str(path)!r}): expected a file name ending in .onnx")
    top = onnx.defs.onnx_opset_version()
    if opset is not None and not (isinstance(opset, int) and 7 <= opset <= top):
        raise ValueError(f"export_onnx(opset={opset!r}): expected None (the exporter's default) or 7..{top}")
    return inputs


def export_onnx(model: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...], path: str | Path, *,
                dynamic_batch: bool = True, opset: int | None = None) -> Path:
    """Export ``model`` to one self-contained ``.onnx`` file, check it, infer shapes, print one line.

    Args:
        model: put in eval mode (BatchNorm uses running statistics, dropout is off) and left there.
        example_input: a batch ``(B, ...)`` (or a tuple of them) the model accepts; its values do not
            matter, its shape fixes every dimension except the batch.
        path: the ``.onnx`` file to write (parent folders are created).
        dynamic_batch: make dimension 0 of every input and output symbolic (``"batch"``), so one file
            runs at any batch size; False fixes it to the example's batch size.
        opset: ONNX operator set version; None = the exporter's default.
    Returns:
        The path written. Inputs are named ``input`` (``input_0``, ...), outputs ``output`` (``output_0``, ...).
    Raises:
        ExportError: both exporters failed, or the TorchScript tracer warned that the graph would be
            wrong for other inputs (a data-dependent Python branch); one paragraph with both reasons.
    """
    path = Path(path)
    inputs = _check_args(model, example_input, path, opset)
    model.eval()
    with torch.no_grad():
        out = model(*inputs)
    n_out = 1 if isinstance(out, torch.Tensor) else len(out) if isinstance(out, (tuple, list)) else 0
    if n_out == 0:
        raise ValueError(f"export_onnx: {type(model).__name__} returned {type(out).__name__}; "
                         "ONNX export needs a tensor or a tuple/list of tensors")
    in_names, out_names = _names("input", len(inputs)), _names("output", n_out)
    path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    tmp = workdir / path.name
    name = type(model).__name__
    try:
        exporter, dynamo_error, dynamo_reason = "dynamo", None, ""
        try:
            batch = torch.export.Dim("batch")
            with capture_output():
                torch.onnx.export(model, inputs, str(tmp), dynamo=True, external_data=False, verbose=False,
                                  input_names=in_names, output_names=out_names, opset_version=opset,
                                  dynamic_shapes=tuple({0: batch} for _ in inputs) if dynamic_batch else None)
        except Exception as err:  # noqa: BLE001 - any exporter failure leads to the fallback
            dynamo_error = err
        if dynamo_error is not None:  # outside the except block: the fallback's errors stay separate
            exporter, dynamo_reason = "torchscript", _reason(dynamo_error)
            axes = {n: {0: "batch"} for n in in_names + out_names} if dynamic_batch else None
            try:
                with capture_output() as cap:
                    torch.onnx.export(model, inputs, str(tmp), dynamo=False, input_names=in_names,
                                      output_names=out_names, dynamic_axes=axes, opset_version=opset)
                ts_reason = _bad_trace_warnings(cap.warnings)
                ts_text = f"traced it but warned that the graph is only right for inputs like the example: {ts_reason}"
            except Exception as err2:  # noqa: BLE001
                ts_reason = _reason(err2)
                ts_text = f"failed: {ts_reason}"
            if ts_reason:
                raise ExportError(
                    f"Could not export {name} to ONNX. The dynamo exporter (torch.export) failed: {dynamo_reason}. "
                    f"The TorchScript exporter (fallback) {ts_text}. "
                    f"{_advice(dynamo_reason + ts_reason)}.") from None
        proto = onnx.load(str(tmp))
        onnx.checker.check_model(proto, full_check=True)
        proto = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True, data_prop=True)
        onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, EXPORTER_KEY: exporter})
        onnx.save(proto, str(path))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary = graph_summary(proto)
    shapes = "; ".join(f"{k}: [{', '.join(map(str, v))}]" for k, v in summary["inputs"].items())
    how = ("the dynamo exporter (torch.export)" if exporter == "dynamo" else
           f"the TorchScript exporter (fallback; dynamo failed: {_one_line(dynamo_reason, 120)})")
    print(f"exported {name} with {how} to {path} (opset {summary['opset']}, {summary['nodes']} nodes; "
          f"{shapes}; onnx.checker passed, shapes inferred)")
    return path


def exporter_used(path: str | Path) -> str | None:
    """``"dynamo"`` or ``"torchscript"`` for files written by :func:`export_onnx`, else None."""
    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return props.get(EXPORTER_KEY)


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def graph_summary(model: str | Path | onnx.ModelProto) -> dict[str, Any]:
    """Count what netron draws: operators (boxes) and the tensors flowing between them (edges).

    Returns:
        ``nodes`` (int), ``ops`` (op type -> count; ``domain:op`` outside the standard domain, e.g.
        ONNX Runtime's ``com.microsoft:FusedConv``), ``edges`` (data connections: a graph input or a
        node output consumed by a node, plus each graph output; weights are not edges), ``initializers``
        (stored weight tensors), ``inputs`` / ``outputs`` (name -> dims, symbolic dims as names),
        ``opset`` (default-domain version).
    """
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model), load_external_data=False)
    g = proto.graph
    weights = {t.name for t in g.initializer}
    produced = {o for n in g.node for o in n.output if o} | {i.name for i in g.input if i.name not in weights}
    consumed = sum(1 for n in g.node for i in n.input if i in produced)
    return {
        "nodes": len(g.node),
        "ops": dict(Counter(f"{n.domain}:{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type
                            for n in g.node)),
        "edges": consumed + sum(1 for o in g.output if o.name in produced),
        "initializers": len(g.initializer),
        "inputs": {i.name: _dims(i) for i in g.input if i.name not in weights},
        "outputs": {o.name: _dims(o) for o in g.output},
        "opset": next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None),
    }
