"""The Fashion-MNIST CNN of lesson 05: three conv blocks and a two-layer classifier head.

Taught in notebooks/05_cnn.ipynb, which builds this class step by step, trains it on all 60,000
training images and saves it to ``data_dir() / "checkpoints" / "cnn_fashion.pt"`` with
:func:`pt_helpers.checkpoint.save_model`; rebuild it with
``load_model(path, FashionCNN)`` (lessons 10 and 11 do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["ConvBlock", "FashionCNN"]


class ConvBlock(nn.Sequential):
    """conv 3×3 (no bias) → max-pool 2×2 → BatchNorm → ReLU"""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class FashionCNN(nn.Module):
    """Three conv blocks (28 → 14 → 7 → 3 pixels) and a two-layer classifier head.

    Args:
        in_channels: image channels (1 for Fashion-MNIST).
        num_classes: outputs (logits; no softmax).
        channels: output channels of the three blocks.
        hidden: width of the head's hidden layer.
        dropout: dropout probability before the last linear layer.
    Input ``(B, in_channels, 28, 28)`` float, normalised; output ``(B, num_classes)`` logits.
    Other sizes work as long as H, W ≥ 8; the head expects ``H // 8 == W // 8 == 3`` (28..31 px).
    """

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10, channels: Sequence[int] = (32, 64, 128),
                 hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) != 3 or min(channels) < 1:
            raise ValueError(f"FashionCNN(channels={channels!r}): expected three positive ints")
        if hidden < 1:
            raise ValueError(f"FashionCNN(hidden={hidden!r}): expected a positive int")
        if not 0 <= dropout < 1:
            raise ValueError(f"FashionCNN(dropout={dropout!r}): expected a probability in [0, 1)")
        self.in_channels, self.num_classes, self.channels = in_channels, num_classes, channels
        self.hidden, self.dropout = hidden, dropout
        c1, c2, c3 = channels
        self.features = nn.Sequential(ConvBlock(in_channels, c1), ConvBlock(c1, c2), ConvBlock(c2, c3))
        self.classifier = nn.Sequential(
            nn.Flatten(),                      # (B, c3, 3, 3) -> (B, c3 * 9)
            nn.Linear(c3 * 3 * 3, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments (saved beside the weights)."""
        return {"in_channels": self.in_channels, "num_classes": self.num_classes,
                "channels": list(self.channels), "hidden": self.hidden, "dropout": self.dropout}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"FashionCNN: expected input (B, {self.in_channels}, 28, 28), got {tuple(x.shape)}")
        x = self.features(x)       # (B, C, 28, 28) -> (B, c3, 3, 3)
        return self.classifier(x)  # (B, c3, 3, 3) -> (B, num_classes) logits
