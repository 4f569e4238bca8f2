"""The two-layer perceptron of lesson 04, as an ``nn.Module``.

Taught in notebooks/04_mlp.ipynb, where the same network is written four times (NumPy with a
hand-written backward pass, raw tensors with autograd, ``torch.optim``, ``nn.Module``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["MLP"]


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"MLP({name}={value!r}): expected a positive int")
    return value


class MLP(nn.Module):
    """Flatten -> Linear -> ReLU -> Linear: logits for ``num_classes`` classes (no softmax).

    Args:
        in_features: values per sample after flattening (784 for a 28x28 image).
        hidden_features: width of the hidden layer.
        num_classes: number of output logits.
    Shapes:
        input ``(B, *)`` with ``prod(*) == in_features`` (e.g. ``(B, 1, 28, 28)``); output ``(B, num_classes)``.
    Attributes:
        config: the constructor keyword arguments, so ``MLP(**model.config)`` rebuilds it (checkpoints).
    """

    def __init__(self, *, in_features: int = 784, hidden_features: int = 256, num_classes: int = 10) -> None:
        super().__init__()
        self.config = {"in_features": _positive_int("in_features", in_features),
                       "hidden_features": _positive_int("hidden_features", hidden_features),
                       "num_classes": _positive_int("num_classes", num_classes)}
        self.flatten = nn.Flatten(start_dim=1)  # keep the batch dimension
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)  # (B, in_features)
        if x.shape[1] != self.fc1.in_features:
            raise ValueError(f"MLP.forward: each sample has {x.shape[1]} values after flattening, "
                             f"expected in_features={self.fc1.in_features}")
        h = self.relu(self.fc1(x))  # (B, hidden_features)
        return self.fc2(h)  # (B, num_classes) logits
