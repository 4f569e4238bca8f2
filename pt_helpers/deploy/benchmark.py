"""Latency of eager PyTorch vs an ONNX Runtime session on the same inputs, with the same thread count.

Taught in notebooks/10_deploy.ipynb. Both engines get the same host tensors and return host arrays
(on a GPU the copies are included in both), and each engine is timed in its own block after its own
warm-up. The engines do not alternate call by call: after every run ONNX Runtime's worker threads keep
spinning for a while (``session.intra_op.allow_spinning``, on by default) and would take the cores away
from PyTorch's next call; on a 2-core machine that made eager PyTorch look 100 times slower.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime
import torch
from torch import nn

from .inputs import as_tuple, ort_feed, repeat_batch, sizes_to_run

__all__ = ["Timing", "BenchmarkReport", "benchmark"]


@dataclass(frozen=True)
class Timing:
    """Latency samples of one engine at one batch size (warm-up excluded)."""

    engine: str  # "eager" or "onnxruntime"
    batch: int
    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return float(np.percentile(self.samples_ms, 50))

    @property
    def p90_ms(self) -> float:
        return float(np.percentile(self.samples_ms, 90))

    @property
    def throughput(self) -> float:
        """Samples per second at the median latency."""
        return self.batch / (self.median_ms / 1e3)


@dataclass(frozen=True)
class BenchmarkReport:
    timings: tuple[Timing, ...]
    threads: int
    device: str
    providers: tuple[str, ...]

    def timing(self, engine: str, batch: int) -> Timing:
        for t in self.timings:
            if t.engine == engine and t.batch == batch:
                return t
        raise KeyError(f"no timing for engine={engine!r}, batch={batch}")

    def speedup(self, batch: int) -> float:
        """Eager median latency / ONNX Runtime median latency (> 1: ONNX Runtime is faster)."""
        return self.timing("eager", batch).median_ms / self.timing("onnxruntime", batch).median_ms

    def table(self) -> str:
        lines = [f"threads: {self.threads} (torch and ONNX Runtime intra-op), eager on {self.device}, "
                 f"ONNX Runtime on {', '.join(self.providers)}; {len(self.timings[0].samples_ms)} timed runs each",
                 f"{'batch':>5}  {'engine':<12} {'median ms':>10} {'p90 ms':>9} {'samples/s':>10}  speed-up"]
        for t in self.timings:
            extra = f"{self.speedup(t.batch):.2f}×" if t.engine == "onnxruntime" else ""
            lines.append(f"{t.batch:>5}  {t.engine:<12} {t.median_ms:>10.3f} {t.p90_ms:>9.3f} "
                         f"{t.throughput:>10.0f}  {extra}")
        return "\n".join(lines)

    __str__ = table


def benchmark(model: nn.Module, session: onnxruntime.InferenceSession,
              inputs: torch.Tensor | Sequence[torch.Tensor], *, batch_sizes: Sequence[int] | None = None,
              warmup: int = 5, runs: int = 30) -> BenchmarkReport:
    """Time ``model`` (eager, eval mode, ``torch.inference_mode``) and ``session`` on the same batches.

    Args:
        inputs: a host batch ``(B, ...)`` (or a sequence of tensors); other batch sizes repeat its rows.
        batch_sizes: default ``(B,)``.
        warmup: untimed calls before each engine's block (allocations, kernel selection, caches, and
            the other engine's spinning threads going idle).
        runs: timed calls per engine and batch size; median and 90th percentile are reported.
    Returns:
        A :class:`BenchmarkReport`. torch runs with the session's ``intra_op_num_threads`` (restored
        afterwards); a session with the ORT default of 0 ("all physical cores") is refused, because
        then the two engines would not be compared on equal terms.
    """
    if warmup < 0 or runs < 1:
        raise ValueError(f"benchmark(warmup={warmup}, runs={runs}): expected warmup >= 0 and runs >= 1")
    threads = session.get_session_options().intra_op_num_threads
    if threads < 1:
        raise ValueError("benchmark: the session's intra_op_num_threads is 0 (ONNX Runtime picks); create it with "
                         "ort_session(path, threads=N) so torch and ONNX Runtime use the same number of threads")
    xs = tuple(x.cpu() for x in as_tuple(inputs))
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    sizes = sizes_to_run(session, xs[0].shape[0], batch_sizes or [xs[0].shape[0]])
    model.eval()

    def eager(batch: tuple[torch.Tensor, ...]) -> None:
        with torch.inference_mode():
            out = model(*(x.to(device) for x in batch))
            (out if isinstance(out, torch.Tensor) else out[0]).cpu()  # to host: also waits for a GPU

    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    samples: dict[tuple[str, int], list[float]] = {}
    try:
        for b in sizes:
            xb = repeat_batch(xs, b)
            feed = ort_feed(session, xb)
            calls = {"eager": lambda xb=xb: eager(xb), "onnxruntime": lambda feed=feed: session.run(None, feed)}
            for engine, call in calls.items():  # one block per engine (see the module docstring)
                for i in range(warmup + runs):
                    start = time.perf_counter()
                    call()
                    if i >= warmup:
                        samples.setdefault((engine, b), []).append((time.perf_counter() - start) * 1e3)
    finally:
        torch.set_num_threads(saved)
    timings = tuple(Timing(e, b, tuple(s)) for (e, b), s in samples.items())
    return BenchmarkReport(timings, threads, str(device), tuple(session.get_providers()))
