"""The inputs that parity checks and latency benchmarks feed to both engines (eager PyTorch, ONNX Runtime).

Taught in notebooks/10_deploy.ipynb. Shared by :mod:`.runtime` (``check_parity``) and :mod:`.benchmark`:
one example batch, repeated to other batch sizes, handed to PyTorch as tensors and to ONNX Runtime as
NumPy arrays under the graph's input names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime
import torch

__all__ = ["as_tuple", "repeat_batch", "sizes_to_run", "ort_feed"]


def as_tuple(inputs: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """One tensor ``(B, ...)`` or a sequence of them -> a tuple of tensors (ValueError for anything else)."""
    t = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    if not t or not all(isinstance(x, torch.Tensor) for x in t):
        raise ValueError("inputs: expected a tensor (B, ...) or a sequence of tensors")
    return t


def repeat_batch(inputs: tuple[torch.Tensor, ...], b: int) -> tuple[torch.Tensor, ...]:
    """A batch of ``b`` rows from each tensor: rows ``0, 1, ..., B-1, 0, 1, ...`` (repeated when ``b > B``)."""
    idx = torch.arange(b) % inputs[0].shape[0]
    return tuple(x[idx.to(x.device)] for x in inputs)


def sizes_to_run(session: onnxruntime.InferenceSession, n: int, wanted: Sequence[int] | None) -> list[int]:
    """The batch sizes to try: ``wanted`` (default ``1, 7, n``) when the graph's batch axis is dynamic;
    only the exported size when it is fixed (ValueError when ``n`` or ``wanted`` ask for another)."""
    dim0 = session.get_inputs()[0].shape[0]
    if isinstance(dim0, int):  # a fixed batch: only that size can run
        if (wanted or [n]) != [dim0] or n != dim0:
            raise ValueError(f"the model was exported with a fixed batch of {dim0}; got batch {n} "
                             f"(batch_sizes={wanted}); export with dynamic_batch=True for other sizes")
        return [dim0]
    return sorted(set(wanted or (1, 7, n)))


def ort_feed(session: onnxruntime.InferenceSession, xs: tuple[torch.Tensor, ...]) -> dict[str, np.ndarray]:
    """``{input name: host array}`` for ``session.run`` (inputs in the graph's order)."""
    return {i.name: x.detach().cpu().numpy() for i, x in zip(session.get_inputs(), xs, strict=True)}
