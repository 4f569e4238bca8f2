"""A Vision Transformer (ViT) written out: patch embedding, multi-head attention, pre-norm blocks.

Taught in notebooks/08_vit_swin.ipynb. The pieces follow Dosovitskiy et al., "An Image is Worth
16x16 Words" (2020) and use the names of vit-pytorch / torchvision where they exist
(``to_patch_embedding``, ``to_qkv``, ``mlp_head``). Hand-written parts are checked in
tests/test_vit.py against ``nn.MultiheadAttention`` and torchvision's ``EncoderBlock`` with copied
weights. The attention itself is :func:`pt_helpers.models.attention.multi_head_attention` (checked
against ``F.scaled_dot_product_attention``), which Swin's window attention calls too.
``ViT`` is configured as every lesson model is (see :mod:`pt_helpers.models.config`): ``model.cfg``
is a :class:`ViTConfig`, ``model.config`` its dict.

Tensor layouts: images ``(B, C, H, W)``; tokens ``(B, N, dim)``; per-head tensors
``(B, heads, N, d)``; attention weights ``(B, heads, N, N)`` (rows sum to 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from einops import rearrange
from einops.layers.torch import Rearrange
from torch import nn

from .attention import multi_head_attention
from .config import config_from

__all__ = [
    "num_patches",
    "PatchEmbedConv",
    "PatchEmbedLinear",
    "Attention",
    "FeedForward",
    "Block",
    "ViTConfig",
    "ViT",
]


def _pair(x: int | tuple[int, int], name: str) -> tuple[int, int]:
    t = (x, x) if isinstance(x, int) else tuple(x) if isinstance(x, (tuple, list)) else ()
    if len(t) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in t):
        raise ValueError(f"{name}={x!r}: expected a positive int or a pair of positive ints")
    return t  # type: ignore[return-value]


def num_patches(image_size: int | tuple[int, int], patch_size: int | tuple[int, int]) -> int:
    """How many tokens a ViT makes: ``(H // p) * (W // p)``. ``patch_size`` is a patch's SIDE LENGTH.

    Raises:
        ValueError: when the image sides are not multiples of the patch sides.
    """
    (H, W), (ph, pw) = _pair(image_size, "image_size"), _pair(patch_size, "patch_size")
    if H % ph or W % pw:
        raise ValueError(f"image_size={image_size!r} is not divisible by patch_size={patch_size!r}: "
                         "every image side must be a multiple of the patch side")
    return (H // ph) * (W // pw)


class PatchEmbedConv(nn.Module):
    """Patches -> tokens as one Conv2d with kernel = stride = patch side (what torchvision's ViT does)."""

    def __init__(self, *, in_channels: int, patch_size: int, dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)  # (B, dim, H/p, W/p): one output pixel per patch
        return x.flatten(2).transpose(1, 2)  # (B, N, dim), patches in row-major order


class PatchEmbedLinear(nn.Module):
    """Patches -> tokens as cut-and-flatten (einops) + one Linear (what vit-pytorch does)."""

    def __init__(self, *, in_channels: int, patch_size: int, dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.to_patches = Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size)
        self.proj = nn.Linear(patch_size * patch_size * in_channels, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.to_patches(x))  # (B, N, p*p*C) -> (B, N, dim)

    @torch.no_grad()
    def copy_from_conv(self, conv_embed: PatchEmbedConv) -> PatchEmbedLinear:
        """Load the weights of a :class:`PatchEmbedConv` so both compute the same function."""
        w = conv_embed.proj.weight  # (dim, C, p1, p2)
        self.proj.weight.copy_(rearrange(w, "d c p1 p2 -> d (p1 p2 c)"))  # same order as to_patches
        self.proj.bias.copy_(conv_embed.proj.bias)
        return self


class Attention(nn.Module):
    """Multi-head self-attention: one Linear makes q, k, v; heads attend separately; one Linear mixes them."""

    def __init__(self, *, dim: int, heads: int, dim_head: int | None = None, qkv_bias: bool = True,
                 attn_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        if dim_head is None:
            if dim % heads:
                raise ValueError(f"Attention: dim={dim} is not divisible by heads={heads}; pass dim_head")
            dim_head = dim // heads
        self.heads, self.attn_dropout = heads, attn_dropout
        inner = heads * dim_head
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias)
        self.to_out = nn.Linear(inner, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, *, return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``x (B, N, dim) -> (B, N, dim)``; with ``return_attention`` also the weights ``(B, heads, N, N)``."""
        qkv = self.to_qkv(x)  # (B, N, 3 * heads * d)
        q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=self.heads)  # (B, heads, N, d)
        out, attn = multi_head_attention(q, k, v, dropout_p=self.attn_dropout, training=self.training)
        out = rearrange(out, "b h n d -> b n (h d)")  # (B, N, heads * d): heads side by side
        out = self.dropout(self.to_out(out))  # (B, N, dim)
        return (out, attn) if return_attention else out


class FeedForward(nn.Sequential):
    """Linear -> GELU -> Dropout -> Linear -> Dropout, applied to every token separately."""

    def __init__(self, *, dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden_dim, dim), nn.Dropout(dropout))


class Block(nn.Module):
    """Pre-norm transformer block: x + Attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, *, dim: int, heads: int, mlp_dim: int, dim_head: int | None = None,
                 dropout: float = 0.0, attn_dropout: float = 0.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim=dim, heads=heads, dim_head=dim_head, attn_dropout=attn_dropout, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = FeedForward(dim=dim, hidden_dim=mlp_dim, dropout=dropout)

    def forward(self, x: torch.Tensor, *, return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        a, attn = self.attn(self.norm1(x), return_attention=True)  # (B, N, dim), (B, heads, N, N)
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return (x, attn) if return_attention else x


@dataclass(frozen=True, kw_only=True)
class ViTConfig:
    """The arguments of :class:`ViT`, checked when made."""

    image_size: int | tuple[int, int]  # image side, or (H, W)
    patch_size: int  # the SIDE LENGTH of a square patch (not the number of patches)
    num_classes: int  # outputs of mlp_head
    dim: int  # width of every token
    depth: int  # number of blocks
    heads: int  # attention heads per block
    mlp_dim: int  # hidden width of each block's feed-forward network
    pool: str = "cls"  # "cls" (classify the extra class token) or "mean" (average all tokens)
    channels: int = 1  # image channels (1 for Fashion-MNIST)
    dim_head: int | None = None  # width of one head (None: dim // heads)
    dropout: float = 0.0  # dropout inside the blocks
    emb_dropout: float = 0.0  # dropout on the tokens after embedding
    position_embedding: bool = True  # learn one vector per position; False: no position information at all

    def __post_init__(self) -> None:
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"ViT(pool={self.pool!r}): expected 'cls' or 'mean'")
        if isinstance(self.image_size, list):
            object.__setattr__(self, "image_size", tuple(self.image_size))
        num_patches(self.image_size, self.patch_size)  # raises for sizes that do not tile


class ViT(nn.Module):
    """A Vision Transformer classifier (keyword-only arguments, as in vit-pytorch).

    Args:
        config: a :class:`ViTConfig`, or its fields as keyword arguments (``image_size``,
            ``patch_size``, ``num_classes``, ``dim``, ``depth``, ``heads``, ``mlp_dim`` are required).
            ``patch_size`` is a patch's side: the model sees ``(H // patch_size) * (W // patch_size)``
            tokens. With ``position_embedding=False`` and ``pool="mean"`` the model is blind to patch order.
    Shapes:
        ``(B, channels, H, W) -> (B, num_classes)``.
    """

    def __init__(self, config: ViTConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__()
        self.cfg = cfg = config_from(ViTConfig, config, kwargs)
        dim = cfg.dim
        self.to_patch_embedding = PatchEmbedConv(in_channels=cfg.channels, patch_size=cfg.patch_size, dim=dim)
        n_tokens = num_patches(cfg.image_size, cfg.patch_size) + (cfg.pool == "cls")
        if cfg.pool == "cls":
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        else:
            self.register_parameter("cls_token", None)
        if cfg.position_embedding:
            self.pos_embedding = nn.Parameter(torch.empty(1, n_tokens, dim))
            nn.init.trunc_normal_(self.pos_embedding, std=0.02)
        else:
            self.register_parameter("pos_embedding", None)
        self.dropout = nn.Dropout(cfg.emb_dropout)
        self.blocks = nn.ModuleList(
            Block(dim=dim, heads=cfg.heads, mlp_dim=cfg.mlp_dim, dim_head=cfg.dim_head, dropout=cfg.dropout)
            for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_head = nn.Linear(dim, cfg.num_classes)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments (saved beside the weights)."""
        return asdict(self.cfg)

    def _tokens(self, img: torch.Tensor) -> torch.Tensor:
        x = self.to_patch_embedding(img)  # (B, N, dim)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)  # (B, 1 + N, dim)
        if self.pos_embedding is not None:
            x = x + self.pos_embedding  # same shape: position i gets vector i
        return self.dropout(x)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        x = x[:, 0] if self.cfg.pool == "cls" else x.mean(dim=1)  # (B, dim)
        return self.mlp_head(x)  # (B, num_classes)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self._tokens(img)
        for block in self.blocks:
            x = block(x)
        return self._head(x)

    def forward_with_attention(self, img: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and every block's attention weights, each ``(B, heads, T, T)`` (T = tokens incl. cls)."""
        x, maps = self._tokens(img), []
        for block in self.blocks:
            x, attn = block(x, return_attention=True)
            maps.append(attn)
        return self._head(x), maps
