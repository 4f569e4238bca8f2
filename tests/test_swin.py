"""pt_helpers.models.swin: windows as pure functions, the mask, and parity with torchvision's Swin."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.swin_transformer import PatchMerging as TvPatchMerging
from torchvision.models.swin_transformer import ShiftedWindowAttention, SwinTransformer, SwinTransformerBlock

from pt_helpers.models.swin import (
    MASK_VALUE,
    PatchMerging,
    SwinBlock,
    SwinClassifier,
    WindowAttention,
    relative_position_index,
    shifted_window_mask,
    shifted_window_regions,
    window_partition,
    window_reverse,
)


def _random_shapes(n: int, seed: int) -> list[tuple[int, int, int, int, int]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ws = int(torch.randint(1, 6, (1,), generator=g))
        rows, cols = (int(v) for v in torch.randint(1, 5, (2,), generator=g))
        B, C = (int(v) for v in torch.randint(1, 4, (2,), generator=g))
        out.append((B, rows * ws, cols * ws, C, ws))
    return out


@pytest.mark.parametrize("B,H,W,C,ws", _random_shapes(25, seed=0) + [(1, 7, 7, 1, 7), (2, 8, 12, 3, 4)])
def test_window_reverse_inverts_window_partition(B, H, W, C, ws):
    x = torch.randn(B, H, W, C)
    windows = window_partition(x, ws)
    nW = (H // ws) * (W // ws)
    assert windows.shape == (B * nW, ws, ws, C)
    torch.testing.assert_close(window_reverse(windows, ws, H, W), x, rtol=0, atol=0)
    # and the other way round: partition(reverse(w)) == w
    w = torch.randn_like(windows)
    torch.testing.assert_close(window_partition(window_reverse(w, ws, H, W), ws), w, rtol=0, atol=0)


@pytest.mark.parametrize("B,H,W,C,ws", _random_shapes(10, seed=1))
def test_window_partition_orders_windows_row_major(B, H, W, C, ws):
    x = torch.randn(B, H, W, C)
    windows = window_partition(x, ws)
    cols, nW = W // ws, (H // ws) * (W // ws)
    for i in range(windows.shape[0]):
        b, k = divmod(i, nW)
        r, c = divmod(k, cols)
        torch.testing.assert_close(windows[i], x[b, r * ws:(r + 1) * ws, c * ws:(c + 1) * ws])


def test_window_functions_reject_bad_shapes():
    with pytest.raises(ValueError, match="multiples of window_size=4"):
        window_partition(torch.randn(1, 6, 8, 2), 4)
    with pytest.raises(ValueError, match=r"\(B, H, W, C\)"):
        window_partition(torch.randn(6, 8, 2), 2)
    with pytest.raises(ValueError, match="not a multiple"):
        window_reverse(torch.randn(3, 2, 2, 1), 2, 4, 4)


def _torchvision_mask(H: int, W: int, ws: int, s: int) -> torch.Tensor:
    """The mask exactly as torchvision's shifted_window_attention builds it (copied algorithm)."""
    attn_mask = torch.zeros(H, W)
    h_slices = ((0, -ws), (-ws, -s), (-s, None))
    count = 0
    for h in h_slices:
        for w in h_slices:
            attn_mask[h[0]:h[1], w[0]:w[1]] = count
            count += 1
    attn_mask = attn_mask.view(H // ws, ws, W // ws, ws).permute(0, 2, 1, 3).reshape(-1, ws * ws)
    attn_mask = attn_mask.unsqueeze(1) - attn_mask.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)


@pytest.mark.parametrize("H,W,ws,s", [(8, 8, 4, 2), (12, 8, 4, 1), (14, 14, 7, 3), (6, 6, 3, 1)])
def test_shifted_window_mask_matches_torchvision_algorithm(H, W, ws, s):
    mask = shifted_window_mask(H, W, ws, s)
    assert mask.shape == ((H // ws) * (W // ws), ws * ws, ws * ws)
    torch.testing.assert_close(mask, _torchvision_mask(H, W, ws, s))


def test_shifted_window_mask_tiny_case_by_hand():
    # 4x4 map, windows of 2, shift 1: after rolling, only the top-left window is one region
    regions = shifted_window_regions(4, 4, 2, 1)
    assert regions.tolist() == [[0, 0, 1, 2], [0, 0, 1, 2], [3, 3, 4, 5], [6, 6, 7, 8]]
    mask = shifted_window_mask(4, 4, 2, 1)
    assert (mask[0] == 0).all()  # interior window: everybody sees everybody
    assert (mask[3] == MASK_VALUE).sum() == 12  # corner window: 4 regions, each token alone
    assert (mask[1] == 0).sum() == 8  # top-right window: two regions of 2 tokens
    with pytest.raises(ValueError, match="shift_size"):
        shifted_window_regions(4, 4, 2, 2)


@pytest.mark.parametrize("ws", [1, 2, 4, 7])
def test_relative_position_index_matches_torchvision(ws):
    ref = ShiftedWindowAttention(8, [ws, ws], [0, 0], 2).relative_position_index
    idx = relative_position_index(ws)
    assert idx.shape == (ws * ws, ws * ws)
    assert torch.equal(idx.flatten(), ref)
    assert idx.min() == 0 and idx.max() == (2 * ws - 1) ** 2 - 1
    assert (idx.diagonal() == idx[0, 0]).all()  # offset (0, 0) -> one table row for every token


def _copy_from_torchvision(ours: torch.nn.Module, ref: torch.nn.Module) -> None:
    result = ours.load_state_dict(ref.state_dict(), strict=False)
    assert result.missing_keys == []
    # torchvision keeps the index persistent; ours is recomputed (persistent=False)
    assert all(k.endswith("relative_position_index") for k in result.unexpected_keys)


@pytest.mark.parametrize("shift", [0, 2, 1])
@pytest.mark.parametrize("H,W", [(8, 8), (8, 12)])
def test_swin_block_matches_torchvision_block(shift, H, W):
    torch.manual_seed(0)
    dim, heads, ws = 16, 2, 4
    ref = SwinTransformerBlock(dim, heads, [ws, ws], [shift, shift]).eval()
    ours = SwinBlock(dim=dim, input_resolution=(H, W), num_heads=heads, window_size=ws, shift_size=shift).eval()
    _copy_from_torchvision(ours, ref)
    x = torch.randn(3, H, W, dim)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
    assert (ours.attn_mask is None) == (shift == 0)


def test_shifted_block_needs_its_mask():
    """Dropping the mask changes the output: the wrapped-around tokens would attend to each other."""
    torch.manual_seed(0)
    block = SwinBlock(dim=16, input_resolution=(8, 8), num_heads=2, window_size=4, shift_size=2).eval()
    x = torch.randn(2, 8, 8, 16)
    out = block(x)
    block.attn_mask = None
    assert not torch.allclose(block(x), out, atol=1e-4)


def test_buffers_move_with_the_model_and_stay_out_of_state_dict():
    block = SwinBlock(dim=16, input_resolution=(8, 8), num_heads=2, window_size=4, shift_size=2)
    names = {n for n, _ in block.named_buffers()}
    assert names == {"attn_mask", "attn.relative_position_index"}
    assert not any("mask" in k or "index" in k for k in block.state_dict())
    block.to(torch.float64)
    assert block.attn_mask.dtype == torch.float64  # floating buffers follow .to(dtype)
    assert block.attn.relative_position_index.dtype == torch.int64  # integer buffers do not
    unshifted = SwinBlock(dim=16, input_resolution=(8, 8), num_heads=2, window_size=4)
    assert unshifted.attn_mask is None and "attn_mask" in unshifted._buffers


def test_window_attention_relative_bias_shape_and_mask_broadcast():
    torch.manual_seed(0)
    attn = WindowAttention(dim=8, window_size=2, num_heads=2)
    assert attn.relative_position_bias().shape == (2, 4, 4)
    x = torch.randn(2 * 4, 4, 8)  # 2 images x 4 windows
    mask = shifted_window_mask(4, 4, 2, 1)
    assert attn(x, mask).shape == x.shape
    with pytest.raises(ValueError, match="not a multiple of the mask's 4 windows"):
        attn(x[:6], mask)


def test_swin_block_checks_its_resolution():
    block = SwinBlock(dim=8, input_resolution=(8, 8), num_heads=2, window_size=4)
    with pytest.raises(ValueError, match="built for"):
        block(torch.randn(1, 4, 4, 8))
    with pytest.raises(ValueError, match="not a multiple"):
        SwinBlock(dim=8, input_resolution=(10, 10), num_heads=2, window_size=4)
    small = SwinBlock(dim=8, input_resolution=(4, 4), num_heads=2, window_size=4, shift_size=2)
    assert small.shift_size == 0 and small.attn_mask is None  # one window covers the map


def test_patch_merging_matches_torchvision():
    torch.manual_seed(0)
    ref = TvPatchMerging(8)
    ours = PatchMerging(dim=8)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 6, 4, 8)
    torch.testing.assert_close(ours(x), ref(x))
    with pytest.raises(ValueError, match="even"):
        ours(torch.randn(1, 5, 4, 8))


def test_swin_classifier_matches_torchvision_swin_transformer():
    """The whole small model, with parameters copied in registration order, equals torchvision's."""
    torch.manual_seed(0)
    ref = SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4],
                          stochastic_depth_prob=0.0, num_classes=3).eval()
    ours = SwinClassifier(image_size=64, patch_size=4, in_channels=3, num_classes=3, embed_dim=16,
                          depths=(2, 2), num_heads=(2, 4), window_size=4).eval()
    ref_params = list(ref.parameters())
    ours_params = list(ours.parameters())
    assert [p.shape for p in ours_params] == [p.shape for p in ref_params]
    with torch.no_grad():
        for a, b in zip(ours_params, ref_params):
            a.copy_(b)
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


def test_swin_classifier_config_round_trip_and_errors():
    torch.manual_seed(0)
    model = SwinClassifier(image_size=32, patch_size=2, in_channels=1, num_classes=3, embed_dim=8,
                           depths=(2, 2), num_heads=(1, 2), window_size=4)
    clone = SwinClassifier(**model.config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(clone(x), model(x))
    with pytest.raises(TypeError):
        SwinClassifier(32, 2, 1, 3)
    with pytest.raises(ValueError, match="patch_size=3"):
        SwinClassifier(image_size=32, patch_size=3, in_channels=1, num_classes=3)


def test_absolute_position_embedding_is_optional_and_round_trips():
    torch.manual_seed(0)
    kw = dict(image_size=32, patch_size=4, in_channels=1, num_classes=3, embed_dim=8, depths=(2,),
              num_heads=(2,), window_size=8)
    plain = SwinClassifier(**kw)
    assert plain.absolute_pos_embed is None
    ape = SwinClassifier(**kw, absolute_pos_embed=True)
    assert ape.absolute_pos_embed.shape == (1, 8, 8, 8)
    assert sum(p.numel() for p in ape.parameters()) - sum(p.numel() for p in plain.parameters()) == 8 * 8 * 8
    clone = SwinClassifier(**ape.config)
    clone.load_state_dict(ape.state_dict())
    x = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(clone(x), ape(x))
