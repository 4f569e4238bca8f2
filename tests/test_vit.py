"""pt_helpers.models.vit against nn.MultiheadAttention and torchvision's EncoderBlock (SDPA: test_attention.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vision_transformer import EncoderBlock

from pt_helpers.models.vit import (
    Attention,
    Block,
    PatchEmbedConv,
    PatchEmbedLinear,
    ViT,
    num_patches,
)

SMALL = dict(image_size=28, patch_size=7, num_classes=10, dim=32, depth=2, heads=4, mlp_dim=64)


@pytest.mark.parametrize("image_size,patch_size,expected", [(28, 7, 16), (28, 4, 49), (224, 16, 196),
                                                            ((32, 64), 16, 8), (28, 28, 1)])
def test_num_patches_counts_patches_of_that_side(image_size, patch_size, expected):
    assert num_patches(image_size, patch_size) == expected


@pytest.mark.parametrize("image_size,patch_size", [(28, 5), (30, 4), (28, 0), (28, 2.0)])
def test_num_patches_rejects_bad_sizes(image_size, patch_size):
    with pytest.raises(ValueError, match="patch_size|image_size"):
        num_patches(image_size, patch_size)


@pytest.mark.parametrize("channels,patch", [(1, 7), (3, 4), (2, 2)])
def test_patch_embedding_conv_equals_rearrange_linear(channels, patch):
    torch.manual_seed(0)
    conv = PatchEmbedConv(in_channels=channels, patch_size=patch, dim=24)
    lin = PatchEmbedLinear(in_channels=channels, patch_size=patch, dim=24)
    x = torch.randn(3, channels, 28, 28)
    assert not torch.allclose(conv(x), lin(x), atol=1e-3)  # different random weights differ
    lin.copy_from_conv(conv)
    assert conv(x).shape == (3, (28 // patch) ** 2, 24)
    torch.testing.assert_close(lin(x), conv(x), atol=1e-5, rtol=1e-5)


def test_patch_tokens_are_row_major():
    """Token i of the conv embedding is the patch at row i // w, column i % w."""
    torch.manual_seed(0)
    conv = PatchEmbedConv(in_channels=1, patch_size=4, dim=8)
    x = torch.randn(1, 1, 8, 12)
    tokens = conv(x)  # (1, 6, 8)
    for i in range(6):
        r, c = divmod(i, 3)
        patch = x[:, :, 4 * r:4 * r + 4, 4 * c:4 * c + 4]
        torch.testing.assert_close(tokens[:, i], conv.proj(patch).flatten(1))


def test_attention_matches_nn_multihead_attention_with_copied_weights():
    torch.manual_seed(0)
    dim, heads = 32, 4
    ours = Attention(dim=dim, heads=heads).eval()
    ref = nn.MultiheadAttention(dim, heads, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.to_qkv.weight)  # rows: q, k, v, each heads*d
        ref.in_proj_bias.copy_(ours.to_qkv.bias)
        ref.out_proj.weight.copy_(ours.to_out.weight)
        ref.out_proj.bias.copy_(ours.to_out.bias)
    x = torch.randn(3, 10, dim)
    out, attn = ours(x, return_attention=True)
    ref_out, ref_attn = ref(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attn, ref_attn, atol=1e-6, rtol=1e-5)


def test_attention_needs_divisible_dim_or_dim_head():
    with pytest.raises(ValueError, match="dim=10 is not divisible by heads=4"):
        Attention(dim=10, heads=4)
    assert Attention(dim=10, heads=4, dim_head=3).to_qkv.out_features == 36


def _copy_encoder_block(ours: Block, ref: EncoderBlock) -> None:
    with torch.no_grad():
        pairs = [(ours.norm1, ref.ln_1), (ours.norm2, ref.ln_2), (ours.mlp[0], ref.mlp[0]), (ours.mlp[3], ref.mlp[3]),
                 (ours.attn.to_out, ref.self_attention.out_proj)]
        for a, b in pairs:
            a.weight.copy_(b.weight)
            a.bias.copy_(b.bias)
        ours.attn.to_qkv.weight.copy_(ref.self_attention.in_proj_weight)
        ours.attn.to_qkv.bias.copy_(ref.self_attention.in_proj_bias)


def test_block_matches_torchvision_encoder_block():
    torch.manual_seed(0)
    ref = EncoderBlock(num_heads=4, hidden_dim=32, mlp_dim=64, dropout=0.0, attention_dropout=0.0).eval()
    ours = Block(dim=32, heads=4, mlp_dim=64).eval()
    _copy_encoder_block(ours, ref)
    x = torch.randn(2, 17, 32)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_vit_shapes_and_attention_maps(pool):
    torch.manual_seed(0)
    model = ViT(**SMALL, pool=pool).eval()
    x = torch.randn(4, 1, 28, 28)
    logits, maps = model.forward_with_attention(x)
    assert logits.shape == (4, 10)
    torch.testing.assert_close(logits, model(x))
    tokens = 16 + (pool == "cls")
    assert len(maps) == SMALL["depth"] and all(m.shape == (4, 4, tokens, tokens) for m in maps)
    assert (model.cls_token is not None) == (pool == "cls")
    assert model.pos_embedding.shape == (1, tokens, 32)


def test_vit_is_keyword_only_and_checks_arguments():
    with pytest.raises(TypeError):
        ViT(28, 7, 10, 32, 2, 4, 64)  # positional arguments are refused
    with pytest.raises(ValueError, match="pool='max'"):
        ViT(**SMALL, pool="max")
    with pytest.raises(ValueError, match="patch_size=5"):
        ViT(**{**SMALL, "patch_size": 5})


def _shuffle_patches(x: torch.Tensor, p: int, perm: torch.Tensor) -> torch.Tensor:
    B, C, H, W = x.shape
    patches = x.unfold(2, p, p).unfold(3, p, p).reshape(B, C, -1, p, p)  # (B, C, N, p, p)
    patches = patches[:, :, perm].reshape(B, C, H // p, W // p, p, p)
    return patches.permute(0, 1, 2, 4, 3, 5).reshape(B, C, H, W)


def test_without_position_embedding_mean_pool_is_blind_to_patch_order():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 28, 28)
    perm = torch.randperm(16)
    blind = ViT(**SMALL, pool="mean", position_embedding=False).eval()
    assert blind.pos_embedding is None
    torch.testing.assert_close(blind(_shuffle_patches(x, 7, perm)), blind(x), atol=1e-5, rtol=1e-5)
    seeing = ViT(**SMALL, pool="mean").eval()
    assert not torch.allclose(seeing(_shuffle_patches(x, 7, perm)), seeing(x), atol=1e-4)


def test_config_rebuilds_the_same_model_and_state_dict_has_no_buffers():
    torch.manual_seed(0)
    model = ViT(**SMALL, pool="cls", dropout=0.1)
    clone = ViT(**model.config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(clone.eval()(x), model.eval()(x))


def test_vit_trains_a_step_and_dropout_respects_eval():
    torch.manual_seed(0)
    model = ViT(**SMALL, dropout=0.5, emb_dropout=0.5)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    torch.testing.assert_close(model(x), model(x))
