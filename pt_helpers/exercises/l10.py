"""Checkers for notebooks/10_deploy.ipynb (dynamic-batch export, which axes are dynamic, parity, latency)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

from .core import ExerciseError, call_learner, checker, passed, require_written

__all__ = ["check_export_dynamic", "check_dynamic_axes", "check_parity_stats", "check_latency_stats"]


def _small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 5)).eval()


@checker
def check_export_dynamic(fn: Callable) -> None:
    """``fn(model, example, path)`` writes an ONNX file whose batch axis is dynamic and whose outputs
    match the model at batch sizes 1 and 5 (checked with ONNX Runtime)."""
    import onnxruntime

    name = "export_dynamic"
    require_written(fn, name)
    model = _small_cnn()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "small.onnx"
        try:
            fn(model, torch.randn(2, 1, 8, 8), path)
        except Exception as err:  # noqa: BLE001 - learner code
            raise ExerciseError(f"{name}: your function raised {type(err).__name__}: {str(err)[:300]}") from err
        if not path.is_file():
            raise ExerciseError(f"{name}: no file was written at the path you were given; "
                                "pass `path` as the third argument of torch.onnx.export")
        try:
            proto = onnx.load(str(path))
            onnx.checker.check_model(proto)
        except Exception as err:  # noqa: BLE001
            raise ExerciseError(f"{name}: the file is not a valid ONNX model ({type(err).__name__})") from err
        dim0 = proto.graph.input[0].type.tensor_type.shape.dim[0]
        if not dim0.dim_param:
            raise ExerciseError(f"{name}: the batch axis is fixed to {dim0.dim_value}; give torch.onnx.export a "
                                "dynamic_shapes entry that marks dimension 0 of the input as dynamic")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for batch in (1, 5):
            x = torch.randn(batch, 1, 8, 8)
            got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
            with torch.no_grad():
                want = model(x).numpy()
            if got.shape != want.shape or not np.allclose(got, want, atol=1e-4, rtol=1e-3):
                raise ExerciseError(f"{name}: at batch {batch} ONNX Runtime's output differs from the model's; "
                                    "export the model you were given, unchanged")
    passed(name, "dynamic batch axis; ONNX Runtime matches eager at batch 1 and 5")


def _model(inputs: list[tuple[str, list[int | str]]], initializers: tuple[str, ...] = ()) -> onnx.ModelProto:
    vis = [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n, dims in inputs]
    inits = [helper.make_tensor(n, TensorProto.FLOAT, [1], [1.0]) for n in initializers]
    graph_inputs = vis + [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in initializers]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("Identity", [inputs[0][0]], ["y"])
    return helper.make_model(helper.make_graph([node], "g", graph_inputs, [out], inits))


@checker
def check_dynamic_axes(fn: Callable) -> None:
    """``fn(model_proto)`` -> ``{input name: [dynamic axis indices]}`` for the graph's real inputs
    (weights stored as initializers are not inputs a caller feeds)."""
    name = "dynamic_axes"
    cases = [
        (_model([("input", ["batch", 1, 28, 28])]), {"input": [0]}),
        (_model([("input", [1, 1, 28, 28])]), {"input": []}),
        (_model([("tokens", ["batch", "seq"]), ("mask", ["batch", "seq"])]), {"tokens": [0, 1], "mask": [0, 1]}),
        (_model([("image", [8, 3, "height", "width"])], initializers=("scale",)), {"image": [2, 3]}),
    ]
    for proto, want in cases:
        got = call_learner(fn, name, proto)
        if not isinstance(got, dict):
            raise ExerciseError(f"{name}: return a dict {{input name: list of axes}}, got {type(got).__name__}")
        got = {k: list(v) for k, v in got.items()}
        if set(got) != set(want):
            extra, missing = sorted(set(got) - set(want)), sorted(set(want) - set(got))
            hint = (f" {extra} are initializers (weights), not inputs;" if extra else "") + \
                   (f" missing inputs {missing};" if missing else "")
            raise ExerciseError(f"{name}: wrong set of inputs:{hint} loop over model.graph.input and skip the names "
                                "in model.graph.initializer")
        for k in want:
            if got[k] != want[k]:
                raise ExerciseError(f"{name}: wrong axes for input {k!r}; a dimension is dynamic when it has a "
                                    "dim_param (a name) instead of a dim_value (a number)")
    passed(name, "4 graphs: named, fixed, two inputs, and one with an initializer")


@checker
def check_parity_stats(fn: Callable) -> None:
    """``fn(got, want, atol, rtol)`` -> ``(max_abs_diff, ok)`` with ``ok`` the np.allclose rule
    ``|got - want| <= atol + rtol * |want|`` everywhere (and equal shapes)."""
    name = "parity_stats"
    rng = np.random.default_rng(0)
    want = rng.normal(size=(4, 10)).astype(np.float32)
    cases = [
        (want + 1e-6, want, 1e-5, 1e-4),
        (want + 0.02, want, 1e-5, 1e-4),
        (want * 1.0005, want, 0.0, 1e-3),  # only the relative term can accept this
        (want + 2e-4, want, 1e-5, 1e-3),  # per element: values near 0 fail (a tolerance from max|want| would not)
        (np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32), 1e-5, 1e-4),  # shape mismatch
    ]
    for got, w, atol, rtol in cases:
        out = call_learner(fn, name, got, w, atol, rtol)
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise ExerciseError(f"{name}: return a pair (max_abs_diff, ok), got {type(out).__name__}")
        max_abs, ok = out
        same_shape = got.shape == w.shape
        want_ok = same_shape and bool(np.allclose(got, w, atol=atol, rtol=rtol))
        if bool(ok) != want_ok:
            what = "shapes differ" if not same_shape else f"atol={atol:g}, rtol={rtol:g}"
            raise ExerciseError(f"{name}: wrong verdict ({what}); the rule is |got - want| <= atol + rtol·|want| "
                                "for EVERY element, and different shapes never match")
        if same_shape and not np.isclose(float(max_abs), float(np.abs(got - w).max()), rtol=1e-5, atol=1e-12):
            raise ExerciseError(f"{name}: the largest absolute difference is wrong; take np.abs(got - want).max()")
    passed(name, "agrees with np.allclose on 5 cases")


@checker
def check_latency_stats(fn: Callable) -> None:
    """``fn(samples_ms, warmup)`` -> ``(median, p90)`` of the samples after dropping the first ``warmup``."""
    name = "latency_stats"
    cases = [([50.0, 40.0, 3.0, 2.0, 2.5, 2.2, 2.1, 9.0, 2.4, 2.3], 2),
             ([5.0, 1.0, 1.2, 0.9, 1.1], 1),
             ([2.0, 4.0, 3.0, 1.0], 0)]
    for samples, warmup in cases:
        keep = list(samples)
        out = call_learner(fn, name, samples, warmup)
        if samples != keep:
            raise ExerciseError(f"{name}: your function changed the list it was given; slice it instead")
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise ExerciseError(f"{name}: return a pair (median, p90), got {type(out).__name__}")
        timed = np.asarray(samples[warmup:])
        median, p90 = np.percentile(timed, 50), np.percentile(timed, 90)
        if np.isclose(out[0], np.median(samples)) and not np.isclose(out[0], median):
            raise ExerciseError(f"{name}: the median includes the warm-up runs; drop the first `warmup` samples")
        if not np.isclose(float(out[0]), median):
            raise ExerciseError(f"{name}: the median of the timed runs is wrong for {len(samples)} samples, "
                                f"warmup={warmup}")
        if not np.isclose(float(out[1]), p90):
            raise ExerciseError(f"{name}: the 90th percentile is wrong (np.percentile(..., 90) interpolates "
                                "between samples)")
    passed(name, "median and p90 of the timed runs agree with np.percentile")
