"""Scaled dot-product attention for every head at once: the one function ViT and Swin both call.

Taught in notebooks/08_vit_swin.ipynb (section 1.4 writes the formula out; ``pt_helpers.models.vit.Attention``
and ``pt_helpers.models.swin.WindowAttention`` call this function). As in nanoGPT, the readable formula
and PyTorch's fused ``F.scaled_dot_product_attention`` sit side by side in one function: the fused call
is used when the caller does not need the attention weights (``need_weights=False``), and
tests/test_attention.py checks that both give the same output.

Layouts: ``q (..., N, d)``, ``k, v (..., M, d)`` with the same leading dimensions, usually
``(B, heads)`` (Swin uses ``(B, nW, heads)``); attention weights ``(..., N, M)``, rows sum to 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["multi_head_attention"]


def multi_head_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
                         mask: torch.Tensor | None = None, dropout_p: float = 0.0, training: bool = False,
                         need_weights: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scaled dot-product attention for every head at once: ``softmax(q k^T / sqrt(d) + mask) v``.

    Args:
        q, k, v: ``(B, heads, N, d)`` (k and v may have another length M instead of N); any number
            (>= 2) of leading dimensions works, e.g. Swin's ``(B, nW, heads, N, d)``.
        mask: optional, broadcastable to ``(..., N, M)``: bool (True = may attend, as in
            ``F.scaled_dot_product_attention``) or float (added to the scores, e.g. 0 / -100,
            Swin's relative position bias).
        dropout_p, training: dropout on the attention weights, only when ``training``.
        need_weights: return the attention weights (the written-out formula). ``False`` calls
            ``F.scaled_dot_product_attention`` instead (fused: faster, less memory) and returns
            ``None`` for the weights.
    Returns:
        ``(out, attn)``: out ``(B, heads, N, d)``, attention weights ``(B, heads, N, M)`` or None.
    """
    if q.ndim < 4 or k.shape != v.shape or q.shape[:-2] != k.shape[:-2] or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"multi_head_attention: expected q (B, heads, N, d) and k, v (B, heads, M, d), "
                         f"got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if not need_weights:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p if training else 0.0)
        return out, None
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) * d**-0.5  # (B, heads, N, M): similarity of each query with each key
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    attn = scores.softmax(dim=-1)  # (B, heads, N, M), each row sums to 1
    attn = F.dropout(attn, p=dropout_p, training=training)
    return attn @ v, attn  # (B, heads, N, d): weighted average of the values
