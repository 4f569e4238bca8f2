"""Which execution provider runs each node of a graph: ONNX Runtime's profiler, read once.

Taught in notebooks/10_deploy.ipynb. ``session.get_providers()`` lists the providers a session registered,
in priority order. ONNX Runtime then partitions the graph: each provider claims the nodes it can run
(TensorRT first, as fused sub-graphs), and the rest fall to the next provider, finally the CPU. Only a
per-node record says where each node went.

Two public routes give that record. (1) The verbose session log (``log_severity_level = 0``) prints a
"Node placements" block while the session is created; but it is C++ output on the process's stderr (to be
captured at file-descriptor level), drowned in hundreds of other verbose lines, and worded as prose
("All nodes placed on [CPUExecutionProvider]. Number of nodes: 1") that changes between releases. (2) The
profiler (``SessionOptions.enable_profiling``) writes a JSON trace when the session ends; every node that
ran has an event with ``args.provider`` and ``args.op_name``. This module uses the profiler: the record
is structured, it names the nodes ONNX Runtime really executed (after its graph optimisations, so fused
nodes appear under their new names), and it needs nothing but the Python API. Its cost is one run, with
a small feed of zeros unless you give one; the trace is written into a temporary folder and deleted.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from .inputs import as_tuple, ort_feed
from .runtime import DEFAULT_PROVIDERS, _open_session, _session_options

__all__ = ["PlacedNode", "NodePlacement", "node_placement"]

_NUMPY = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
          "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(uint8)": np.uint8}


@dataclass(frozen=True)
class PlacedNode:
    """One node as ONNX Runtime ran it: its name, operator and the provider that ran it."""

    name: str
    op_type: str
    provider: str


@dataclass(frozen=True)
class NodePlacement:
    """The nodes of one run, in execution order, and the providers the session had registered."""

    nodes: tuple[PlacedNode, ...]
    session_providers: list[str]

    def by_provider(self) -> dict[str, list[str]]:
        """``{provider: [node name, ...]}`` in execution order."""
        out: dict[str, list[str]] = {}
        for n in self.nodes:
            out.setdefault(n.provider, []).append(n.name)
        return out

    def __str__(self) -> str:
        lines = [f"session providers (priority order): {', '.join(self.session_providers)}"]
        for provider, names in self.by_provider().items():
            ops: dict[str, int] = {}
            for n in self.nodes:
                if n.provider == provider:
                    ops[n.op_type] = ops.get(n.op_type, 0) + 1
            lines.append(f"{provider}: {len(names)} node{'s' if len(names) != 1 else ''} "
                         f"({', '.join(f'{op} ×{k}' for op, k in ops.items())})")
            lines.append("    " + ", ".join(names))
        return "\n".join(lines)


def _zeros_feed(session: onnxruntime.InferenceSession) -> dict[str, np.ndarray]:
    """Zeros for every input; a symbolic (dynamic) dimension becomes 1."""
    return {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], _NUMPY.get(i.type, np.float32))
            for i in session.get_inputs()}


def node_placement(path: str | Path, prefer: Sequence[str | tuple[str, dict]] = DEFAULT_PROVIDERS, *,
                   feed: torch.Tensor | Sequence[torch.Tensor] | Mapping[str, np.ndarray] | None = None,
                   threads: int | None = None, optimization: str = "all",
                   optimized_model_path: str | Path | None = None) -> NodePlacement:
    """Open a profiled session like :func:`.runtime.ort_session`, run it once, and say who ran each node.

    Args:
        path: the ``.onnx`` file.
        prefer: providers in order of preference (names or ``(name, options)`` pairs), as for ``ort_session``.
        feed: the inputs of the one run: a tensor or tensors (in the graph's input order) or a
            ``{name: array}`` dict; default zeros, with every dynamic dimension set to 1.
        threads, optimization, optimized_model_path: as for ``ort_session``. Node names are those of the
            graph ONNX Runtime runs: the file's own names only with ``optimization="disable"`` (or when no
            rewrite applies); otherwise those of the graph ``optimized_model_path`` would receive.
    Returns:
        A :class:`NodePlacement`: ``nodes`` (name, op_type, provider) in execution order, ``by_provider()``,
        ``session_providers`` (what ``get_providers()`` said), and a readable ``str``.
    """
    so = _session_options(threads=threads, optimization=optimization, optimized_model_path=optimized_model_path)
    so.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="ort-profile-") as tmp:
        so.profile_file_prefix = str(Path(tmp) / "placement")
        session = _open_session(path, prefer, so)
        if feed is None:
            feed = _zeros_feed(session)
        elif not isinstance(feed, Mapping):
            feed = ort_feed(session, as_tuple(feed))
        try:
            session.run(None, dict(feed))
        finally:
            trace = Path(session.end_profiling())
        events = json.loads(trace.read_text())
    ran = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")
           and "provider" in e.get("args", {})]  # one "_kernel_time" event per node that ran
    nodes = tuple(PlacedNode(e["name"].removesuffix("_kernel_time"), e["args"]["op_name"], e["args"]["provider"])
                  for e in ran)
    return NodePlacement(nodes, session.get_providers())
