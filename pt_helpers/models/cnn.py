"""The Fashion-MNIST CNN of lesson 05: three conv blocks and a two-layer classifier head.

Taught in notebooks/05_cnn.ipynb, which builds this class step by step, trains it on all 60,000
training images and saves it to ``data_dir() / "checkpoints" / "cnn_fashion.pt"`` with
:func:`pt_helpers.checkpoint.save_model`; rebuild it with
``load_model(path, FashionCNN)`` (lessons 10 and 11 do). Configured as every lesson model is (see
:mod:`pt_helpers.models.config`): ``model.cfg`` is a :class:`FashionCNNConfig`, ``model.config`` its dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .config import config_from

__all__ = ["ConvBlock", "FashionCNNConfig", "FashionCNN"]


class ConvBlock(nn.Sequential):
    """conv 3×3 (no bias) → max-pool 2×2 → BatchNorm → ReLU"""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


@dataclass(frozen=True, kw_only=True)
class FashionCNNConfig:
    """The arguments of :class:`FashionCNN`, checked when made."""

    in_channels: int = 1  # image channels (1 for Fashion-MNIST)
    num_classes: int = 10  # outputs (logits; no softmax)
    channels: tuple[int, int, int] = (32, 64, 128)  # output channels of the three conv blocks (any sequence)
    hidden: int = 256  # width of the head's hidden layer
    dropout: float = 0.2  # dropout probability before the last linear layer

    def __post_init__(self) -> None:
        channels = tuple(int(c) for c in self.channels)
        if len(channels) != 3 or min(channels) < 1:
            raise ValueError(f"FashionCNN(channels={self.channels!r}): expected three positive ints")
        object.__setattr__(self, "channels", channels)  # a list (old checkpoints) becomes a tuple
        if self.hidden < 1:
            raise ValueError(f"FashionCNN(hidden={self.hidden!r}): expected a positive int")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"FashionCNN(dropout={self.dropout!r}): expected a probability in [0, 1)")


class FashionCNN(nn.Module):
    """Three conv blocks (28 → 14 → 7 → 3 pixels) and a two-layer classifier head.

    Args:
        config: a :class:`FashionCNNConfig`, or its fields as keyword arguments (``in_channels``,
            ``num_classes``, ``channels``, ``hidden``, ``dropout``; all have defaults).
    Input ``(B, in_channels, 28, 28)`` float, normalised; output ``(B, num_classes)`` logits.
    Other sizes work as long as H, W ≥ 8; the head expects ``H // 8 == W // 8 == 3`` (28..31 px).
    """

    def __init__(self, config: FashionCNNConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__()
        self.cfg = cfg = config_from(FashionCNNConfig, config, kwargs)
        c1, c2, c3 = cfg.channels
        self.features = nn.Sequential(ConvBlock(cfg.in_channels, c1), ConvBlock(c1, c2), ConvBlock(c2, c3))
        self.classifier = nn.Sequential(
            nn.Flatten(),                      # (B, c3, 3, 3) -> (B, c3 * 9)
            nn.Linear(c3 * 3 * 3, cfg.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.num_classes),
        )

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments (saved beside the weights)."""
        return asdict(self.cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels:
            raise ValueError(f"FashionCNN: expected input (B, {self.cfg.in_channels}, 28, 28), got {tuple(x.shape)}")
        x = self.features(x)       # (B, C, 28, 28) -> (B, c3, 3, 3)
        return self.classifier(x)  # (B, c3, 3, 3) -> (B, num_classes) logits
