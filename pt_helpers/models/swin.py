"""Swin Transformer pieces written out: windows, shifted windows, the mask, relative position bias.

Taught in notebooks/08_vit_swin.ipynb. Follows Liu et al., "Swin Transformer: Hierarchical Vision
Transformer using Shifted Windows" (2021), and torchvision's names (``norm1``, ``attn.qkv``,
``attn.relative_position_bias_table``, ``mlp``) so weights can be copied from
``torchvision.models.swin_transformer.SwinTransformerBlock``; tests/test_swin.py checks the outputs
agree to 1e-5. Unlike torchvision (which rebuilds the shifted-window mask on every forward call),
a block here knows its input resolution, computes the mask once and keeps it with
``register_buffer`` (``persistent=False``: it is recomputed from the constructor arguments, so it
stays out of ``state_dict``). Window attention calls the same
:func:`pt_helpers.models.attention.multi_head_attention` as the ViT, with the relative position bias
(and the shifted-window mask) as its additive mask. ``SwinClassifier`` is configured as every lesson
model is (see :mod:`pt_helpers.models.config`): ``model.cfg`` is a :class:`SwinClassifierConfig`.

Layouts: feature maps are channels-last ``(B, H, W, C)``; windows ``(B * nW, ws, ws, C)``;
per-window tokens ``(B * nW, N, C)`` with ``N = ws * ws``; masks and biases ``(nW, N, N)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .attention import multi_head_attention
from .config import config_from

__all__ = [
    "window_partition",
    "window_reverse",
    "shifted_window_regions",
    "shifted_window_mask",
    "relative_position_index",
    "WindowAttention",
    "SwinBlock",
    "PatchMerging",
    "SwinClassifierConfig",
    "SwinClassifier",
]

MASK_VALUE = -100.0  # what the Swin authors and torchvision add to forbidden pairs; exp(-100) ~ 4e-44


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Cut a feature map into non-overlapping square windows.

    Args:
        x: ``(B, H, W, C)``, H and W multiples of ``window_size``.
    Returns:
        ``(B * nW, ws, ws, C)`` with ``nW = (H // ws) * (W // ws)``; window ``b * nW + r * (W // ws) + c``
        is ``x[b, r*ws:(r+1)*ws, c*ws:(c+1)*ws]`` (row-major inside each image).
    """
    if x.ndim != 4:
        raise ValueError(f"window_partition(x): expected (B, H, W, C), got shape {tuple(x.shape)}")
    B, H, W, C = x.shape
    if window_size < 1 or H % window_size or W % window_size:
        raise ValueError(f"window_partition: H={H} and W={W} must be multiples of window_size={window_size}")
    ws = window_size
    x = x.view(B, H // ws, ws, W // ws, ws, C)  # (B, rows, ws, cols, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, C)  # (B * rows * cols, ws, ws, C)


def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``(B * nW, ws, ws, C) -> (B, H, W, C)``."""
    ws = window_size
    if windows.ndim != 4 or windows.shape[1:3] != (ws, ws):
        raise ValueError(f"window_reverse(windows): expected (B * nW, {ws}, {ws}, C), got {tuple(windows.shape)}")
    if H % ws or W % ws:
        raise ValueError(f"window_reverse: H={H} and W={W} must be multiples of window_size={ws}")
    nW = (H // ws) * (W // ws)
    if windows.shape[0] % nW:
        raise ValueError(f"window_reverse: {windows.shape[0]} windows is not a multiple of the {nW} windows "
                         f"of one {H}x{W} map")
    C = windows.shape[-1]
    x = windows.view(-1, H // ws, W // ws, ws, ws, C)  # (B, rows, cols, ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)  # (B, H, W, C)


def shifted_window_regions(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """Label each pixel of the ROLLED map with the region it came from (``(H, W)`` int64, 0..8).

    After ``torch.roll(x, (-s, -s), (1, 2))`` the last row/column windows hold pixels that were
    far apart in the image (they wrapped around). Pixels with different labels must not attend
    to each other.
    """
    if not 0 < shift_size < window_size:
        raise ValueError(f"shifted_window_regions: expected 0 < shift_size={shift_size} < window_size={window_size}")
    regions = torch.zeros(H, W, dtype=torch.long)
    cuts = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    label = 0
    for h in cuts:
        for w in cuts:
            regions[h, w] = label
            label += 1
    return regions


def shifted_window_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """The additive attention mask of shifted windows: ``(nW, N, N)`` float, 0 = allowed, -100 = forbidden."""
    regions = shifted_window_regions(H, W, window_size, shift_size)
    windows = window_partition(regions[None, :, :, None], window_size).flatten(1)  # (nW, N) region labels
    different = windows[:, :, None] != windows[:, None, :]  # (nW, N, N): query and key from different regions
    return torch.zeros(different.shape).masked_fill(different, MASK_VALUE)


def relative_position_index(window_size: int) -> torch.Tensor:
    """For each (query, key) pair in a window, the row of the bias table: ``(N, N)`` int64.

    The offset (dy, dx) of key j seen from query i lies in ``[-(ws-1), ws-1]^2``, i.e. one of
    ``(2*ws - 1)**2`` values; index = (dy + ws - 1) * (2*ws - 1) + (dx + ws - 1).
    """
    ws = window_size
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)  # (2, N)
    rel = coords[:, :, None] - coords[:, None, :]  # (2, N, N): (dy, dx) from query i to key j
    return (rel[0] + ws - 1) * (2 * ws - 1) + (rel[1] + ws - 1)  # (N, N)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, plus a learned relative position bias."""

    def __init__(self, *, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"WindowAttention: dim={dim} is not divisible by num_heads={num_heads}")
        self.window_size, self.num_heads = window_size, num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # recomputable from window_size -> kept out of state_dict
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def relative_position_bias(self) -> torch.Tensor:
        """``(heads, N, N)``: the table looked up for every (query, key) pair."""
        bias = self.relative_position_bias_table[self.relative_position_index]  # (N, N, heads)
        return bias.permute(2, 0, 1)  # (heads, N, N)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B * nW, N, C)``, ``mask (nW, N, N)`` or None -> ``(B * nW, N, C)``."""
        Bw, N, C = x.shape
        h = self.num_heads
        nW = 1 if mask is None else mask.shape[0]
        if Bw % nW:
            raise ValueError(f"WindowAttention: {Bw} windows is not a multiple of the mask's {nW} windows")
        qkv = self.qkv(x).reshape(Bw // nW, nW, N, 3, h, C // h).permute(3, 0, 1, 4, 2, 5)  # (3, B, nW, heads, N, d)
        q, k, v = qkv.unbind(0)  # each (B, nW, heads, N, d)
        bias = self.relative_position_bias()  # (heads, N, N): the same for every window
        if mask is not None:
            bias = bias + mask[:, None]  # (nW, heads, N, N): the same mask for every head (and image)
        out, _ = multi_head_attention(q, k, v, mask=bias)  # (B, nW, heads, N, d)
        x = out.transpose(-3, -2).reshape(Bw, N, C)  # (B*nW, N, heads * d)
        return self.proj(x)


class SwinBlock(nn.Module):
    """(Shifted-)window attention block: x + W-MSA(LN(x)), then x + MLP(LN(x)); x is ``(B, H, W, C)``."""

    def __init__(self, *, dim: int, input_resolution: tuple[int, int], num_heads: int, window_size: int,
                 shift_size: int = 0, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        H, W = input_resolution
        if min(H, W) <= window_size:  # one window covers the map: nothing to shift (as in the paper's code)
            window_size, shift_size = min(H, W), 0
        if H % window_size or W % window_size:
            raise ValueError(f"SwinBlock: input_resolution={input_resolution} is not a multiple of "
                             f"window_size={window_size}")
        if not 0 <= shift_size < window_size:
            raise ValueError(f"SwinBlock: expected 0 <= shift_size={shift_size} < window_size={window_size}")
        self.input_resolution, self.window_size, self.shift_size = (H, W), window_size, shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim=dim, window_size=window_size, num_heads=num_heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim),
                                 nn.Dropout(0.0))
        mask = shifted_window_mask(H, W, window_size, shift_size) if shift_size else None
        self.register_buffer("attn_mask", mask, persistent=False)  # None for unshifted blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        if (H, W) != self.input_resolution:
            raise ValueError(f"SwinBlock: built for {self.input_resolution}, got a {H}x{W} map")
        ws, s = self.window_size, self.shift_size
        y = self.norm1(x)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))  # windows now straddle the old borders
        windows = window_partition(y, ws).view(-1, ws * ws, C)  # (B*nW, N, C)
        windows = self.attn(windows, self.attn_mask)  # (B*nW, N, C)
        y = window_reverse(windows.view(-1, ws, ws, C), ws, H, W)  # (B, H, W, C)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))  # undo the shift
        x = x + y
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """Halve H and W: concatenate each 2x2 neighbourhood (4C), LayerNorm, Linear to 2C."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        if H % 2 or W % 2:
            raise ValueError(f"PatchMerging: expected even H and W, got {H}x{W}")
        # the 4 pixels of each 2x2 neighbourhood side by side, in torchvision's order -> (B, H/2, W/2, 4C)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))  # (B, H/2, W/2, 2C)


@dataclass(frozen=True, kw_only=True)
class SwinClassifierConfig:
    """The arguments of :class:`SwinClassifier`, checked when made."""

    image_size: int  # square image side
    patch_size: int  # side of a patch (the embedding is a strided Conv2d)
    in_channels: int  # input channels
    num_classes: int  # outputs
    embed_dim: int = 32  # width of stage 1 (doubles at each patch merging)
    depths: tuple[int, ...] = (2, 2)  # blocks per stage (any sequence)
    num_heads: tuple[int, ...] = (2, 4)  # attention heads per stage (any sequence)
    window_size: int = 4  # window side in tokens; shifted blocks move by window_size // 2
    mlp_ratio: float = 4.0  # hidden width of each MLP relative to the stage width
    absolute_pos_embed: bool = False  # learned vector per token position (original code's `ape`; off in Swin-T)

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"SwinClassifier: image_size={self.image_size} is not a multiple of "
                             f"patch_size={self.patch_size}")
        object.__setattr__(self, "depths", tuple(self.depths))  # lists (e.g. from JSON) become tuples
        object.__setattr__(self, "num_heads", tuple(self.num_heads))
        if len(self.depths) != len(self.num_heads):
            raise ValueError(f"SwinClassifier: depths={self.depths} and num_heads={self.num_heads} differ in length")


class SwinClassifier(nn.Module):
    """A small Swin: patch embedding, stages of (unshifted, shifted) blocks with patch merging, mean pool, head.

    Args:
        config: a :class:`SwinClassifierConfig`, or its fields as keyword arguments (``image_size``,
            ``patch_size``, ``in_channels``, ``num_classes`` are required).
    Shapes:
        ``(B, in_channels, image_size, image_size) -> (B, num_classes)``.
    """

    def __init__(self, config: SwinClassifierConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__()
        self.cfg = cfg = config_from(SwinClassifierConfig, config, kwargs)
        ws = cfg.window_size
        self.patch_embed = nn.Conv2d(cfg.in_channels, cfg.embed_dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.patch_norm = nn.LayerNorm(cfg.embed_dim)
        res, dim = cfg.image_size // cfg.patch_size, cfg.embed_dim
        if cfg.absolute_pos_embed:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, res, res, dim))
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        else:
            self.register_parameter("absolute_pos_embed", None)
        self.stages = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(cfg.depths, cfg.num_heads)):
            stage = nn.Sequential(*(
                SwinBlock(dim=dim, input_resolution=(res, res), num_heads=heads, window_size=ws,
                          shift_size=0 if j % 2 == 0 else ws // 2, mlp_ratio=cfg.mlp_ratio)
                for j in range(depth)))
            if i < len(cfg.depths) - 1:
                stage.append(PatchMerging(dim=dim))
                res, dim = res // 2, dim * 2
            self.stages.append(stage)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, cfg.num_classes)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments (saved beside the weights)."""
        return asdict(self.cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).permute(0, 2, 3, 1)  # (B, H/p, W/p, C): channels last from here on
        x = self.patch_norm(x)
        if self.absolute_pos_embed is not None:
            x = x + self.absolute_pos_embed  # (1, H/p, W/p, C): one learned vector per position
        for stage in self.stages:
            x = stage(x)  # (B, h, w, c), halved/doubled after every stage but the last
        x = self.norm(x).mean(dim=(1, 2))  # (B, c): global average pooling
        return self.head(x)
