"""U-Net for semantic segmentation, as built in notebooks/07_unet.ipynb.

The blocks follow the source note and milesial/Pytorch-UNet (``DoubleConv``, ``Down``, ``Up``,
``OutConv``); ``UNet`` adds a keyword-only constructor with a configurable base width and input
checks. Convolutions use ``padding=1``, so every size that survives the four halvings works, odd
sizes included: ``Up`` pads the up-sampled map to the size of its skip connection before
concatenating (the "pad-to-match fix").

Layouts: images ``(B, n_channels, H, W)`` float; logits ``(B, n_classes, H, W)``.
Configured as every lesson model is (see :mod:`pt_helpers.models.config`): ``model.cfg`` is a
:class:`UNetConfig`, ``model.config`` its dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import config_from

__all__ = ["DoubleConv", "Down", "Up", "OutConv", "UNetConfig", "UNet", "UNetEncoderClassifier",
           "ENCODER_STAGES"]


class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None) -> None:
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),  # BN has the bias
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)  # (B, in, H, W) -> (B, out, H, W)


class Down(nn.Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)  # (B, in, H, W) -> (B, out, H // 2, W // 2)


class Up(nn.Module):
    """Upscaling then double conv.

    ``in_channels`` counts the channels after concatenation with the skip connection.
    Bilinear: ``x1`` has ``in_channels // 2`` channels, up-sampling keeps them, and the DoubleConv's
    middle width is ``in_channels // 2``. Transposed: ``x1`` has ``in_channels`` channels and a learned
    2x2 stride-2 ``ConvTranspose2d`` halves them.
    """

    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = True) -> None:
        super().__init__()
        if bilinear:  # no parameters here: the DoubleConv reduces the channels
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)  # (B, C1, h, w) -> (B, C1', 2h, 2w)
        diff_y = x2.size(2) - x1.size(2)  # 1 when the skip had an odd height, else 0
        diff_x = x2.size(3) - x1.size(3)
        # pad-to-match: F.pad takes (left, right, top, bottom) for the last two dims
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        x = torch.cat([x2, x1], dim=1)  # (B, C2 + C1', H2, W2): skip first, as in the source
        return self.conv(x)  # (B, out, H2, W2)


class OutConv(nn.Module):
    """1x1 convolution: per-pixel class scores (logits)"""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)  # (B, in, H, W) -> (B, n_classes, H, W)


@dataclass(frozen=True, kw_only=True)
class UNetConfig:
    """The arguments of :class:`UNet`, checked when made."""

    n_channels: int  # input channels (1 for grey images, 3 for RGB)
    n_classes: int  # output channels = classes per pixel (>= 2; background counts as a class)
    base_channels: int = 64  # width of the first stage; stage k has base_channels * 2**k (even, >= 4)
    bilinear: bool = True  # up-sample by bilinear interpolation (no weights) or by a learned ConvTranspose2d

    def __post_init__(self) -> None:
        if not isinstance(self.n_channels, int) or self.n_channels < 1:
            raise ValueError(f"UNet(n_channels={self.n_channels!r}): expected a positive int (1 = grey, 3 = RGB)")
        if not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ValueError(f"UNet(n_classes={self.n_classes!r}): expected an int >= 2 "
                             "(background counts as a class)")
        if not isinstance(self.base_channels, int) or self.base_channels < 4 or self.base_channels % 2:
            raise ValueError(f"UNet(base_channels={self.base_channels!r}): expected an even int >= 4")
        object.__setattr__(self, "bilinear", bool(self.bilinear))


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) with 'same' convolutions, four down and four up stages.

    Args:
        config: a :class:`UNetConfig`, or its fields as keyword arguments: ``n_channels``,
            ``n_classes`` (required), ``base_channels`` (the source note and the paper use 64; with
            bilinear up-sampling the bottom stage has half the channels), ``bilinear``.

    Input ``(B, n_channels, H, W)`` with ``H, W >= 16``; output logits ``(B, n_classes, H, W)``.
    ``model.config`` holds the constructor arguments, so ``UNet(**model.config)`` rebuilds it.
    """

    def __init__(self, config: UNetConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__()
        self.cfg = cfg = config_from(UNetConfig, config, kwargs)
        c, bilinear = cfg.base_channels, cfg.bilinear
        factor = 2 if bilinear else 1
        self.inc = DoubleConv(cfg.n_channels, c)
        self.down1 = Down(c, 2 * c)
        self.down2 = Down(2 * c, 4 * c)
        self.down3 = Down(4 * c, 8 * c)
        self.down4 = Down(8 * c, 16 * c // factor)
        self.up1 = Up(16 * c, 8 * c // factor, bilinear)
        self.up2 = Up(8 * c, 4 * c // factor, bilinear)
        self.up3 = Up(4 * c, 2 * c // factor, bilinear)
        self.up4 = Up(2 * c, c, bilinear)
        self.outc = OutConv(c, cfg.n_classes)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments (saved beside the state_dict in checkpoints)."""
        return asdict(self.cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"UNet: expected input of shape (B, C, H, W), got {tuple(x.shape)}")
        B, C, H, W = x.shape
        if C != self.cfg.n_channels:
            raise ValueError(f"UNet: input has {C} channels, "
                             f"the model was built with n_channels={self.cfg.n_channels}")
        if H < 16 or W < 16:
            raise ValueError(f"UNet: input {H}x{W} is too small; four 2x poolings need H, W >= 16")
        x1 = self.inc(x)  # (B, c, H, W)
        x2 = self.down1(x1)  # (B, 2c, H/2, W/2)
        x3 = self.down2(x2)  # (B, 4c, H/4, W/4)
        x4 = self.down3(x3)  # (B, 8c, H/8, W/8)
        x5 = self.down4(x4)  # (B, 16c / factor, H/16, W/16)   (sizes floor-divided)
        x = self.up1(x5, x4)  # (B, 8c / factor, H/8, W/8)
        x = self.up2(x, x3)  # (B, 4c / factor, H/4, W/4)
        x = self.up3(x, x2)  # (B, 2c / factor, H/2, W/2)
        x = self.up4(x, x1)  # (B, c, H, W)
        return self.outc(x)  # (B, n_classes, H, W)


ENCODER_STAGES = ("inc", "down1", "down2", "down3", "down4")  # UNet attributes that form the encoder


class UNetEncoderClassifier(nn.Module):
    """A U-Net's encoder (``inc``, ``down1`` .. ``down4``) with a classification head, to pretrain it.

    The encoder stages have the same attribute names and shapes as in :class:`UNet` built with the
    same ``n_channels``, ``base_channels`` and ``bilinear``, so ``load_partial(unet, clf.state_dict())``
    loads exactly the encoder (the ``head.*`` tensors are reported as unexpected, the decoder as
    missing). The head is global average pooling + dropout + a linear layer.

    Input ``(B, n_channels, H, W)`` with ``H, W >= 16``; output logits ``(B, n_classes)``.
    """

    def __init__(self, *, n_channels: int, n_classes: int, base_channels: int = 64, bilinear: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        cfg = UNetConfig(n_channels=n_channels, n_classes=max(n_classes, 2), base_channels=base_channels,
                         bilinear=bilinear)
        c, factor = cfg.base_channels, 2 if cfg.bilinear else 1
        self.n_channels = n_channels
        self.inc = DoubleConv(n_channels, c)
        self.down1 = Down(c, 2 * c)
        self.down2 = Down(2 * c, 4 * c)
        self.down3 = Down(4 * c, 8 * c)
        self.down4 = Down(8 * c, 16 * c // factor)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(16 * c // factor, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.n_channels or min(x.shape[-2:]) < 16:
            raise ValueError(f"UNetEncoderClassifier: expected (B, {self.n_channels}, H, W) with H, W >= 16, "
                             f"got {tuple(x.shape)}")
        for name in ENCODER_STAGES:
            x = getattr(self, name)(x)
        return self.head(x)  # (B, n_classes)
