"""Segmentation explorer (lesson 07): class pixels and per-canvas IoU, the figure's panels and titles, the widget."""

from __future__ import annotations

import math

import matplotlib.colors as mcolors
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from pt_helpers.canvas import CANVAS_CLASSES
from pt_helpers.explore.seg import canvas_scores, class_pixels, segmentation_explorer, segmentation_figure
from pt_helpers.explore.widget import controls, figure_png
from pt_helpers.metrics import confusion_matrix, iou_per_class
from pt_helpers.plot.seg import SEG_PALETTE


def _data(n: int = 4, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8, generator=g)
    masks = torch.zeros(n, size, size, dtype=torch.long)
    masks[:, 2:10, 2:10] = 3
    masks[:, 10:14, 8:15] = 7
    preds = masks.clone()
    preds[:, 2:10, 2:4] = 0          # 16 pixels of class 3 missed
    preds[:, 12:14, 0:4] = 3         # 8 pixels falsely called class 3
    preds[1] = torch.randint(0, 11, (size, size), generator=g)  # canvas 1: noise
    return images, masks, preds


def test_class_pixels_split_hits_misses_and_false_alarms():
    _, masks, preds = _data()
    px = class_pixels(masks[0], preds[0], 3)
    assert {k: int(v.sum()) for k, v in px.items()} == {"hit": 48, "missed": 16, "false": 8}
    assert not (px["hit"] & px["missed"]).any() and not (px["hit"] & px["false"]).any()
    assert torch.equal(px["hit"] | px["missed"], masks[0] == 3) and torch.equal(px["hit"] | px["false"], preds[0] == 3)
    with pytest.raises(ValueError, match="integer class indices"):
        class_pixels(masks[0].float(), preds[0], 3)
    with pytest.raises(ValueError, match="differ"):
        class_pixels(masks[0], preds[0, :5], 3)


def test_canvas_scores_agree_with_the_metrics_module_and_by_hand():
    _, masks, preds = _data()
    s = canvas_scores(masks[0], preds[0], 11)
    assert s["iou"][3].item() == pytest.approx(48 / (48 + 16 + 8))
    assert s["iou"][7].item() == 1.0  # untouched item
    assert s["iou"][0].item() == pytest.approx(156 / (156 + 16 + 8))  # background: 164 true, 8 lost, 16 gained
    torch.testing.assert_close(s["iou"], iou_per_class(confusion_matrix(preds[0], masks[0], 11)), equal_nan=True)
    assert math.isnan(s["iou"][5].item())  # class 5 in neither mask
    assert s["pixel_acc"] == pytest.approx((masks[0] == preds[0]).float().mean().item())
    assert s["miou"] == pytest.approx(np.nanmean(s["iou"].numpy()))


def test_figure_default_view_has_the_four_panels_and_the_scores():
    images, masks, preds = _data()
    fig = segmentation_figure(images, masks, preds, class_names=CANVAS_CLASSES, index=0)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["image", "true mask", "predicted mask", "errors"]
    s = canvas_scores(masks[0], preds[0], 11)
    assert fig._suptitle.get_text() == f"canvas #0: mIoU {s['miou']:.2f}, pixel accuracy {s['pixel_acc']:.2f}"
    assert len(fig.legends[0].get_texts()) == 11


def test_figure_highlight_dims_other_classes_and_titles_the_class_iou():
    images, masks, preds = _data()
    fig = segmentation_figure(images, masks, preds, class_names=CANVAS_CLASSES, index=0, highlight=3)
    ax_truth, ax_pred, ax_err = fig.axes[1:4]
    assert ax_err.get_title() == f"{CANVAS_CLASSES[3]}: IoU {48 / 72:.2f}"
    assert "hit 48" in ax_err.get_xlabel() and "missed 16" in ax_err.get_xlabel() and "false 8" in ax_err.get_xlabel()
    dim = ax_truth.images[-1].get_array()                    # RGBA layer over the truth
    assert (dim[..., 3] > 0).sum() == (masks[0] != 3).sum() and dim[..., 3][masks[0] == 3].max() == 0
    assert (ax_pred.images[-1].get_array()[..., 3] > 0).sum() == (preds[0] != 3).sum()
    panel = ax_err.images[-1].get_array()
    px = class_pixels(masks[0], preds[0], 3)
    np.testing.assert_allclose(panel[px["hit"].numpy()], np.tile(mcolors.to_rgb(SEG_PALETTE[3]), (48, 1)), atol=1e-6)
    assert (panel[px["missed"].numpy()] == 1).all() and (panel[px["false"].numpy()] == 0.5).all()
    absent = segmentation_figure(images, masks, preds, class_names=CANVAS_CLASSES, index=0, highlight=5)
    assert absent.axes[3].get_title() == f"{CANVAS_CLASSES[5]}: IoU absent"


def test_figure_rejects_bad_index_and_class():
    images, masks, preds = _data()
    with pytest.raises(ValueError, match="index=4"):
        segmentation_figure(images, masks, preds, class_names=CANVAS_CLASSES, index=4)
    with pytest.raises(ValueError, match="highlight=11"):
        segmentation_figure(images, masks, preds, class_names=CANVAS_CLASSES, highlight=11)


def test_explorer_steps_through_canvases_and_highlights_a_class():
    images, masks, preds = _data()
    box = segmentation_explorer(images, masks, preds, class_names=CANVAS_CLASSES)
    c = controls(box)
    assert {"previous", "next", "canvas", "class", "Image", "HTML"} <= set(c)
    first = c["Image"].value
    assert first == figure_png(segmentation_figure(images, masks, preds, class_names=CANVAS_CLASSES))  # default view
    assert first[:4] == b"\x89PNG" and c["HTML"].value.startswith("canvas 0 of 4: mIoU")
    c["next"].click()
    assert c["canvas"].value == 1 and c["HTML"].value.startswith("canvas 1 of 4") and c["Image"].value != first
    c["previous"].click()
    c["previous"].click()                                   # stays at the first canvas
    assert c["canvas"].value == 0 and c["Image"].value == first
    c["class"].value = 3
    assert c["HTML"].value.endswith(f"{CANVAS_CLASSES[3]}: IoU {48 / 72:.3f}") and c["Image"].value != first
    c["canvas"].value = 3
    c["next"].click()                                       # stays at the last canvas
    assert c["canvas"].value == 3 and "canvas 3 of 4" in c["HTML"].value
    with pytest.raises(ValueError, match="same number"):
        segmentation_explorer(images, masks[:2], preds, class_names=CANVAS_CLASSES)
