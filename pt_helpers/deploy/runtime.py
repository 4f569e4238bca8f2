"""ONNX Runtime sessions that say which providers initialised, parity with eager PyTorch, and latency.

Taught in notebooks/10_deploy.ipynb. onnxruntime-gpu lists the CUDA and TensorRT providers whether or
not their libraries and a GPU are present; a session silently falls back to the CPU. ``ort_session``
compares what was asked for with ``session.get_providers()`` and says why each provider fell back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

from ..capture import capture_output
from ..ort_build import onnxruntime_distribution, provider_failure_reason
from .inputs import as_tuple, ort_feed, repeat_batch, sizes_to_run

__all__ = ["DEFAULT_PROVIDERS", "OPTIMIZATION_LEVELS", "ort_session", "ParityRow", "ParityReport", "check_parity"]

DEFAULT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_GOL = onnxruntime.GraphOptimizationLevel
OPTIMIZATION_LEVELS = {"disable": _GOL.ORT_DISABLE_ALL, "basic": _GOL.ORT_ENABLE_BASIC,
                       "extended": _GOL.ORT_ENABLE_EXTENDED,
                       **({"layout": _GOL.ORT_ENABLE_LAYOUT} if hasattr(_GOL, "ORT_ENABLE_LAYOUT") else {}),
                       "all": _GOL.ORT_ENABLE_ALL}  # in increasing order; "layout" exists from ORT 1.2x
_GPU_PROVIDERS = {"TensorrtExecutionProvider", "CUDAExecutionProvider"}
def ort_session(path: str | Path, prefer: Sequence[str | tuple[str, dict]] = DEFAULT_PROVIDERS, *,
                threads: int | None = None, optimization: str = "all", optimized_model_path: str | Path | None = None,
                verbose: bool = True) -> onnxruntime.InferenceSession:
    """An ``InferenceSession`` on the first providers in ``prefer`` that really initialise.

    Args:
        path: the ``.onnx`` file.
        prefer: provider names in order of preference, or ``(name, options)`` pairs (e.g. TensorRT's
            ``trt_engine_cache_path``). Providers this onnxruntime build lacks are skipped.
        threads: intra-op threads (default ``torch.get_num_threads()``, so eager and ORT compare fairly).
        optimization: graph optimisation level, a key of :data:`OPTIMIZATION_LEVELS` (``"disable"``,
            ``"basic"``, ``"extended"``, ``"layout"`` where this ONNX Runtime has it, ``"all"``).
        optimized_model_path: also write the graph after ONNX Runtime's optimisations to this file.
        verbose: print one line: the providers that run, and each requested one that fell back and why.
    Returns:
        The session. ``session.get_providers()`` lists the providers the session registered (those that
        initialised), in priority order: ONNX Runtime then gives each node to the first of them that can
        run it, so a GPU provider in that list need not run every node (:func:`.placement.node_placement`
        shows which provider runs each one). ``session.fallbacks`` maps each requested provider that did
        not initialise to the reason.
    """
    so = _session_options(threads=threads, optimization=optimization, optimized_model_path=optimized_model_path)
    session = _open_session(path, prefer, so)
    if verbose:
        line = f"ONNX Runtime {onnxruntime.__version__} runs {Path(path).name} on {', '.join(session.get_providers())}"
        if session.fallbacks:
            line += "; fell back from " + "; ".join(f"{k} ({v})" for k, v in session.fallbacks.items())
        print(line)
    return session


def _session_options(*, threads: int | None = None, optimization: str = "all",
                    optimized_model_path: str | Path | None = None) -> onnxruntime.SessionOptions:
    """The ``SessionOptions`` of :func:`ort_session` (threads, optimisation level, optimised-graph file)."""
    if optimization not in OPTIMIZATION_LEVELS:
        raise ValueError(f"ort_session(optimization={optimization!r}): expected one of {sorted(OPTIMIZATION_LEVELS)}")
    threads = torch.get_num_threads() if threads is None else threads
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"ort_session(threads={threads!r}): expected a positive int")
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.graph_optimization_level = OPTIMIZATION_LEVELS[optimization]
    if optimized_model_path is not None:
        so.optimized_model_filepath = str(optimized_model_path)
    return so


def _open_session(path: str | Path, prefer: Sequence[str | tuple[str, dict]],
                 so: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
    """:func:`ort_session` without the printed line: skip providers not built in, record why others fell back."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ort_session: no ONNX file at {path}")
    requested = [(p, {}) if isinstance(p, str) else (p[0], dict(p[1])) for p in prefer]
    available = onnxruntime.get_available_providers()
    fallbacks = {name: f"not built into {_package_text()} (it offers {', '.join(available)})"
                 for name, _ in requested if name not in available}
    use = [(name, opts) for name, opts in requested if name in available] or [("CPUExecutionProvider", {})]
    if any(name in _GPU_PROVIDERS for name, _ in use) and hasattr(onnxruntime, "preload_dlls"):
        with capture_output():  # CUDA/cuDNN from the nvidia-* wheels torch installed (ORT >= 1.21)
            onnxruntime.preload_dlls()
    with capture_output() as cap:
        session = onnxruntime.InferenceSession(str(path), sess_options=so, providers=[n for n, _ in use],
                                               provider_options=[o for _, o in use])
    active = session.get_providers()
    fallbacks.update({name: provider_failure_reason(name, cap.log()) for name, _ in use if name not in active})
    session.fallbacks = fallbacks
    return session


def _package_text() -> str:
    dist = onnxruntime_distribution()
    return f"{dist[0]} {dist[1]}" if dist else f"onnxruntime {onnxruntime.__version__}"


def _eager(model: nn.Module, xs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with torch.inference_mode():
        out = model(*(x.to(device) for x in xs))
    out = [out] if isinstance(out, torch.Tensor) else list(out)
    return [o.detach().float().cpu().numpy() for o in out]


@dataclass(frozen=True)
class ParityRow:
    """One output at one batch size: largest absolute / relative difference and the allclose verdict."""

    batch: int
    output: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float  # over elements with |eager| > atol (relative error of near-zero values is meaningless)
    ok: bool


@dataclass(frozen=True)
class ParityReport:
    rows: tuple[ParityRow, ...]
    atol: float
    rtol: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def verdict(self) -> str:
        """One deterministic line (no float noise): what was compared and whether it matched."""
        sizes = ", ".join(str(b) for b in sorted({r.batch for r in self.rows}))
        outs = len({r.output for r in self.rows})
        mark = "✓ match" if self.ok else "✗ MISMATCH"
        rule = f"|ort - eager| <= {self.atol:g} + {self.rtol:g}·|eager|"
        return f"parity {mark}: {outs} output(s) at batch {sizes}, {rule}"

    def __str__(self) -> str:
        head = f"{'batch':>5}  {'output':<10} {'shape':<18} {'max |Δ|':>9} {'max rel':>9}  ok"
        lines = [f"{r.batch:>5}  {r.output:<10} {str(list(r.shape)):<18} {r.max_abs:>9.2e} {r.max_rel:>9.2e}  "
                 f"{'✓' if r.ok else '✗'}" for r in self.rows]
        return "\n".join([head, *lines, self.verdict()])


def check_parity(model: nn.Module, session: onnxruntime.InferenceSession,
                 inputs: torch.Tensor | Sequence[torch.Tensor], atol: float = 1e-4, rtol: float = 1e-3, *,
                 batch_sizes: Sequence[int] | None = None) -> ParityReport:
    """Compare every output of ``session`` with eager ``model`` (eval mode) on the same inputs.

    Args:
        inputs: a batch ``(B, ...)`` (or a sequence of tensors); batches of other sizes repeat its rows.
        atol, rtol: the verdict is ``np.allclose(ort, eager, atol=atol, rtol=rtol)`` per output.
        batch_sizes: sizes to try; default ``1, 7, B`` when the session's batch axis is dynamic, only
            ``B`` when it is fixed (then ``B`` must equal the exported batch).
    """
    xs = as_tuple(inputs)
    model.eval()
    names = [o.name for o in session.get_outputs()]
    rows = []
    for b in sizes_to_run(session, xs[0].shape[0], batch_sizes):
        xb = repeat_batch(xs, b)
        want, got = _eager(model, xb), session.run(None, ort_feed(session, xb))
        if len(want) != len(got):
            raise ValueError(f"the model returns {len(want)} output(s), the ONNX file {len(got)}")
        for name, w, g in zip(names, want, got, strict=True):
            diff = np.abs(g.astype(np.float64) - w.astype(np.float64))
            big = np.abs(w) > atol
            rel = float((diff[big] / np.abs(w[big])).max()) if big.any() else 0.0
            rows.append(ParityRow(b, name, tuple(g.shape), float(diff.max(initial=0.0)), rel,
                                  g.shape == w.shape and bool(np.allclose(g, w, atol=atol, rtol=rtol))))
    return ParityReport(tuple(rows), atol, rtol)
