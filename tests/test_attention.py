"""pt_helpers.models.attention: the written-out formula against SDPA, its fused path, Swin's 5-D layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pt_helpers.models.attention import multi_head_attention


def _mask(kind: str | None, shape: tuple[int, ...], n: int) -> torch.Tensor | None:
    if kind == "bool":
        mask = torch.rand(n, n) > 0.3
        return mask | torch.eye(n, dtype=torch.bool)  # every query may attend to something
    if kind == "float":
        return torch.randn(*shape, n, n, dtype=torch.float64)
    return None


@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
def test_multi_head_attention_matches_sdpa(mask_kind):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, dtype=torch.float64) for _ in range(3))
    mask = _mask(mask_kind, (2, 1), 5)
    out, attn = multi_head_attention(q, k, v, mask=mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref)
    assert attn.shape == (2, 3, 5, 5)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64))


@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
@pytest.mark.parametrize("lead", [(2, 3), (2, 4, 3)])  # (B, heads) as in ViT, (B, nW, heads) as in Swin
def test_fused_path_equals_the_written_out_formula(mask_kind, lead):
    torch.manual_seed(1)
    q = torch.randn(*lead, 6, 8, dtype=torch.float64)
    k, v = (torch.randn(*lead, 7, 8, dtype=torch.float64) for _ in range(2))  # M = 7 keys for N = 6 queries
    mask = None if mask_kind is None else _mask(mask_kind, lead[1:], 7)[..., :6, :]
    readable, attn = multi_head_attention(q, k, v, mask=mask)
    fused, none = multi_head_attention(q, k, v, mask=mask, need_weights=False)
    assert none is None and attn.shape == (*lead, 6, 7)
    torch.testing.assert_close(fused, readable)
    if mask is not None:  # the mask reached both paths
        assert not torch.allclose(fused, multi_head_attention(q, k, v)[0])


def test_fused_path_drops_out_only_in_training():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, 5, 4) for _ in range(3))
    evaluated, _ = multi_head_attention(q, k, v, dropout_p=0.9, training=False, need_weights=False)
    torch.testing.assert_close(evaluated, multi_head_attention(q, k, v)[0])
    trained, _ = multi_head_attention(q, k, v, dropout_p=0.9, training=True, need_weights=False)
    assert not torch.allclose(trained, evaluated)


def test_five_dim_layout_equals_one_window_at_a_time():
    """Swin's layout (B, nW, heads, N, d) with a per-window mask (nW, heads, N, N) is every window on its own."""
    torch.manual_seed(0)
    B, nW, heads, N, d = 2, 3, 2, 4, 5
    q, k, v = (torch.randn(B, nW, heads, N, d) for _ in range(3))
    mask = torch.randn(nW, heads, N, N)
    out, attn = multi_head_attention(q, k, v, mask=mask)
    for b in range(B):
        for w in range(nW):
            o, a = multi_head_attention(q[b, w][None], k[b, w][None], v[b, w][None], mask=mask[w])
            torch.testing.assert_close(out[b, w], o[0])
            torch.testing.assert_close(attn[b, w], a[0])


def test_multi_head_attention_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(B, heads, N, d\)"):
        multi_head_attention(torch.randn(2, 5, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"\(B, heads, M, d\)"):  # keys from another batch/head layout
        multi_head_attention(torch.randn(2, 3, 5, 8), torch.randn(2, 1, 5, 8), torch.randn(2, 1, 5, 8))


def test_module_all():
    from pt_helpers.models import attention
    assert attention.__all__ == ["multi_head_attention"]
