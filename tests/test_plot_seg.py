"""Mask overlay figures (lesson 07): palette, colouring, layout, legend, bad input."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from pt_helpers.plot.seg import SEG_PALETTE, colorize_mask, confusion_heatmap, mask_overlays

NAMES = ("background", *[f"class {k}" for k in range(1, 11)])


def test_palette_is_fixed_distinct_and_background_dark():
    assert len(SEG_PALETTE) == 11
    rgb = np.array([mcolors.to_rgb(c) for c in SEG_PALETTE])
    assert len({tuple(c) for c in rgb.round(3)}) == 11
    assert rgb[0].sum() < 0.3  # background is (near) black, like the canvas


def test_colorize_maps_each_class_to_its_colour():
    mask = torch.tensor([[0, 1, 2], [10, 5, 0]])
    out = colorize_mask(mask)
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    for (r, c), k in np.ndenumerate(mask.numpy()):
        np.testing.assert_allclose(out[r, c], mcolors.to_rgb(SEG_PALETTE[k]), atol=1e-6)


def test_colorize_rejects_out_of_range_and_bad_shape():
    with pytest.raises(ValueError, match="mask"):
        colorize_mask(torch.tensor([[0, 11]]))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        colorize_mask(torch.zeros(1, 2, 2, dtype=torch.long))


def test_mask_overlays_layout_titles_and_legend():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, 16, 16, generator=g)
    true = torch.randint(0, 11, (3, 16, 16), generator=g)
    pred = torch.randint(0, 11, (3, 16, 16), generator=g)
    fig = mask_overlays(images, true, pred, class_names=NAMES, row_titles=["a", "b", "c"])
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_images()]
    assert len(axes) == 9
    assert [ax.get_title() for ax in axes[:3]] == ["image", "true mask", "predicted mask"]
    assert len(fig.legends) == 1
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == list(NAMES)
    assert "a" in axes[0].get_ylabel()


def test_mask_overlays_without_prediction_has_two_columns_and_checks_lengths():
    images = torch.rand(2, 16, 16)
    true = torch.zeros(2, 16, 16, dtype=torch.long)
    fig = mask_overlays(images, true, None, class_names=NAMES)
    assert len([ax for ax in fig.axes if ax.get_images()]) == 4
    with pytest.raises(ValueError, match="masks"):
        mask_overlays(images, true[:1], None, class_names=NAMES)
    with pytest.raises(ValueError, match="class_names"):
        mask_overlays(images, true, None, class_names=NAMES[:5])


def test_confusion_heatmap_normalises_rows():
    cm = torch.tensor([[8, 2], [1, 3]])
    fig = confusion_heatmap(cm, class_names=("a", "b"))
    ax = fig.axes[0]
    shown = ax.get_images()[0].get_array()
    np.testing.assert_allclose(np.asarray(shown), [[0.8, 0.2], [0.25, 0.75]])
    with pytest.raises(ValueError, match="class_names"):
        confusion_heatmap(cm, class_names=("a",))
