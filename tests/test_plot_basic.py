"""The everyday figures (lessons 03-08): image grid, curves, bar chart."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from pt_helpers.plot import bar_chart, curves, image_grid


def _shown(fig: Figure) -> list[np.ndarray]:
    return [np.asarray(ax.get_images()[0].get_array()) for ax in fig.axes if ax.get_images()]


def test_image_grid_layout_titles_and_hidden_spare_axes():
    images = torch.rand(5, 1, 6, 6)
    fig = image_grid(images, [f"c{i}" for i in range(5)], ncols=3, suptitle="s")
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    shown = _shown(fig)
    assert len(shown) == 5 and shown[0].shape == (6, 6)
    np.testing.assert_array_equal(shown[4], images[4, 0].numpy())
    assert [ax.get_title() for ax in fig.axes[:5]] == [f"c{i}" for i in range(5)]
    assert not fig.axes[5].get_images() and not fig.axes[5].axison


def test_image_grid_takes_chw_hwc_and_uint8_rgb():
    chw = torch.rand(3, 4, 5)
    u8 = (torch.rand(4, 5, 3) * 255).to(torch.uint8)
    shown = _shown(image_grid([chw, chw.permute(1, 2, 0).numpy(), u8], ncols=3))
    np.testing.assert_array_equal(shown[0], chw.permute(1, 2, 0).numpy())
    np.testing.assert_array_equal(shown[1], shown[0])
    assert shown[2].dtype == np.uint8  # shown as 0..255 colours, not clipped floats
    np.testing.assert_array_equal(shown[2], u8.numpy())


def test_image_grid_rejects_empty_and_mismatched_titles():
    with pytest.raises(ValueError, match="no images"):
        image_grid([])
    with pytest.raises(ValueError, match="titles"):
        image_grid(torch.rand(2, 4, 4), ["one"])


def test_curves_count_epochs_from_one_and_label_each_series():
    fig = curves({"train": [1.0, 0.5, 0.25], "val": [1.2, 0.7, 0.6]}, ylabel="loss", logy=True)
    ax = fig.axes[0]
    assert [list(line.get_xdata()) for line in ax.lines] == [[1, 2, 3], [1, 2, 3]]
    assert [line.get_label() for line in ax.lines] == ["train", "val"]
    assert ax.get_yscale() == "log"
    assert list(curves({"x": [3, 4]}, xlabel="step").axes[0].lines[0].get_xdata()) == [0, 1]
    with pytest.raises(ValueError, match="empty"):
        curves({})


def test_bar_chart_writes_each_value_on_its_bar():
    fig = bar_chart({"a": 10, "b": 2500}, fmt="{:.0f}/s")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [10, 2500]
    assert [t.get_text() for t in ax.texts] == ["10/s", "2500/s"]
    with pytest.raises(ValueError, match="empty"):
        bar_chart({})
