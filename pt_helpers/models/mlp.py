"""The two-layer perceptron of lesson 04, as an ``nn.Module``.

Taught in notebooks/04_mlp.ipynb, where the same network is written four times (NumPy with a
hand-written backward pass, raw tensors with autograd, ``torch.optim``, ``nn.Module``).
Configured as every lesson model is (see :mod:`pt_helpers.models.config`): ``MLP(**fields)`` or
``MLP(MLPConfig(...))``; ``model.cfg`` is the dataclass, ``model.config`` its plain dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .config import config_from

__all__ = ["MLPConfig", "MLP"]


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"MLP({name}={value!r}): expected a positive int")


@dataclass(frozen=True, kw_only=True)
class MLPConfig:
    """The arguments of :class:`MLP`, checked when made."""

    in_features: int = 784  # values per sample after flattening (784 for a 28x28 image)
    hidden_features: int = 256  # width of the hidden layer
    num_classes: int = 10  # number of output logits

    def __post_init__(self) -> None:
        for name in ("in_features", "hidden_features", "num_classes"):
            _positive_int(name, getattr(self, name))


class MLP(nn.Module):
    """Flatten -> Linear -> ReLU -> Linear: logits for ``num_classes`` classes (no softmax).

    Args:
        config: an :class:`MLPConfig`, or its fields as keyword arguments (``in_features``,
            ``hidden_features``, ``num_classes``).
    Shapes:
        input ``(B, *)`` with ``prod(*) == in_features`` (e.g. ``(B, 1, 28, 28)``); output ``(B, num_classes)``.
    Attributes:
        cfg: the :class:`MLPConfig`. config: its fields as a dict, so ``MLP(**model.config)`` rebuilds it.
    """

    def __init__(self, config: MLPConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__()
        self.cfg = cfg = config_from(MLPConfig, config, kwargs)
        self.flatten = nn.Flatten(start_dim=1)  # keep the batch dimension
        self.fc1 = nn.Linear(cfg.in_features, cfg.hidden_features)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(cfg.hidden_features, cfg.num_classes)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments (what checkpoints store)."""
        return asdict(self.cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)  # (B, in_features)
        if x.shape[1] != self.fc1.in_features:
            raise ValueError(f"MLP.forward: each sample has {x.shape[1]} values after flattening, "
                             f"expected in_features={self.fc1.in_features}")
        h = self.relu(self.fc1(x))  # (B, hidden_features)
        return self.fc2(h)  # (B, num_classes) logits
