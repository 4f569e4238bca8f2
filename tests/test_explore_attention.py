"""Tests for pt_helpers.explore.attention (lesson 08's attention explorer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from pt_helpers.explore.attention import (
    attention_explorer,
    attention_rollout,
    cls_attention,
    swin_blocks,
    swin_window_maps,
    swin_windows_figure,
    vit_attention_figure,
    vit_attention_maps,
)
from pt_helpers.explore.widget import figure_png
from pt_helpers.models.swin import SwinClassifier, shifted_window_mask, window_partition
from pt_helpers.models.vit import ViT


def small_vit(**kw) -> ViT:
    torch.manual_seed(0)
    return ViT(**{**dict(image_size=28, patch_size=7, num_classes=10, dim=16, depth=3, heads=2, mlp_dim=32), **kw})


def small_swin() -> SwinClassifier:
    torch.manual_seed(0)
    return SwinClassifier(image_size=64, patch_size=8, in_channels=1, num_classes=3, embed_dim=8, depths=(2, 2),
                          num_heads=(2, 2), window_size=4)


def random_maps(B: int = 2, heads: int = 3, T: int = 5, L: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.rand(B, heads, T, T, generator=g, dtype=torch.float64).softmax(-1) for _ in range(L)]


def test_cls_attention_picks_row_zero_without_the_class_column() -> None:
    maps = random_maps()
    assert torch.equal(cls_attention(maps, 1, 2), maps[1][:, 2, 0, 1:])
    assert torch.allclose(cls_attention(maps, -1), maps[2].mean(1)[:, 0, 1:])


def test_rollout_equals_a_direct_small_matrix_computation() -> None:
    maps = random_maps()
    got = attention_rollout(maps).numpy()
    for b in range(2):
        r = np.eye(5)
        for a in maps:
            m = a[b].numpy().mean(0) + np.eye(5)  # average heads, add identity
            m = np.array([row / row.sum() for row in m])  # renormalise each row
            r = m @ r  # later block on the left
        np.testing.assert_allclose(got[b], r, rtol=1e-12)
    # rows of a row-stochastic map sum to 1, so (A + I) renormalised is 0.5 A + 0.5 I (lesson 08's form)
    half = torch.eye(5, dtype=torch.float64).expand(2, 5, 5)
    for a in maps[:2]:
        half = (0.5 * a.mean(1) + 0.5 * torch.eye(5, dtype=torch.float64)) @ half
    assert torch.allclose(attention_rollout(maps, upto=1), half)
    assert torch.allclose(attention_rollout(maps).sum(-1), torch.ones(2, 5, dtype=torch.float64))


def test_rollout_of_one_block_and_errors() -> None:
    maps = random_maps(L=1)
    expected = (maps[0].mean(1) + torch.eye(5, dtype=torch.float64)) / 2
    assert torch.allclose(attention_rollout(maps), expected)
    with pytest.raises(ValueError, match="no attention maps"):
        attention_rollout([])


def test_vit_attention_maps_uses_the_model_and_restores_its_mode() -> None:
    vit = small_vit().train()
    x = torch.randn(3, 1, 28, 28)
    logits, maps = vit_attention_maps(vit, x)
    assert vit.training
    assert logits.shape == (3, 10) and len(maps) == 3 and maps[0].shape == (3, 2, 17, 17)
    assert torch.allclose(maps[0].sum(-1), torch.ones(3, 2, 17))
    assert torch.allclose(logits, vit.eval()(x), atol=1e-6)
    with pytest.raises(ValueError, match="class token"):
        vit_attention_maps(small_vit(pool="mean"), x)


def test_swin_blocks_lists_every_block_with_its_shift_and_token_size() -> None:
    geo = swin_blocks(small_swin())
    assert [(g.stage, g.block, g.resolution, g.shift_size, g.token_pixels) for g in geo] == [
        (0, 0, (8, 8), 0, 8), (0, 1, (8, 8), 2, 8), (1, 0, (4, 4), 0, 16), (1, 1, (4, 4), 0, 16)]


@pytest.mark.parametrize("H, W, ws, s", [(8, 8, 4, 0), (8, 8, 4, 2), (8, 12, 4, 1), (6, 6, 3, 1)])
def test_swin_window_maps_match_the_rolled_partition(H: int, W: int, ws: int, s: int) -> None:
    window_id, region = swin_window_maps(H, W, ws, s)
    r, c = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    expected = ((r - s) % H // ws) * (W // ws) + (c - s) % W // ws  # the window after rolling by -s
    np.testing.assert_array_equal(window_id, expected)
    if not s:
        assert (region == 0).all()
        return
    # two tokens of one window may attend to each other exactly when the block's mask allows it
    ids = torch.roll(torch.arange(H * W).view(1, H, W, 1), (-s, -s), (1, 2))
    tokens = window_partition(ids, ws).flatten(1).numpy()  # (nW, N)
    labels = region.reshape(-1)[tokens]  # (nW, N)
    differ = labels[:, :, None] != labels[:, None, :]
    np.testing.assert_array_equal(differ, shifted_window_mask(H, W, ws, s).numpy() != 0)


def test_figures_are_figures_with_the_right_panels() -> None:
    maps = random_maps(B=2, heads=2, T=17, L=2)
    fig = vit_attention_figure(torch.rand(2, 1, 28, 28), [m.float() for m in maps], index=1, layer=0, head=1)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert "block 0, head 1" in fig.axes[1].get_title()
    fig = swin_windows_figure(torch.rand(1, 64, 64), swin_blocks(small_swin())[1])
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "shifted by 2" in fig.axes[0].get_title()


def test_explorer_builds_and_redraws_on_every_control() -> None:
    vit, swin = small_vit(), small_swin()
    images, canvases = torch.randn(4, 1, 28, 28), torch.rand(2, 1, 64, 64)
    box = attention_explorer(vit, images, swin=swin, swin_images=canvases, class_names=[f"c{i}" for i in range(10)])
    vit_box, swin_box = box.children[0].children
    (image_w, layer_w, head_w), vit_img = vit_box.children[0].children, vit_box.children[1]
    logits, maps = vit_attention_maps(vit, images)
    default = vit_attention_figure(images, maps, title=f"image 0: predicted c{int(logits[0].argmax())}")
    assert vit_img.value == figure_png(default)  # the static figure a notebook shows is the first view
    for control, value in ((image_w, 3), (layer_w, 0), (head_w, 1)):
        before = vit_img.value
        control.value = value
        assert vit_img.value != before and vit_img.value[:4] == b"\x89PNG"
    (canvas_w, block_w), swin_img = swin_box.children[0].children, swin_box.children[1]
    assert swin_img.value == figure_png(swin_windows_figure(canvases[0], swin_blocks(swin)[1]))  # first shifted block
    for control, value in ((block_w, 0), (canvas_w, 1)):
        before = swin_img.value
        control.value = value
        assert swin_img.value != before


def test_explorer_without_swin_is_the_vit_part_only() -> None:
    box = attention_explorer(small_vit(), torch.randn(2, 1, 28, 28))
    assert len(box.children) == 2 and box.children[1].value[:4] == b"\x89PNG"
