"""Segmentation metrics (lesson 07): hand-computed cases, absent classes, batching, and a reference
written differently (scipy.sparse for the confusion matrix, NumPy boolean masks for IoU and Dice)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse
import torch

from pt_helpers.metrics import (
    confusion_matrix,
    dice_per_class,
    evaluate_segmentation,
    iou_per_class,
    mean_dice,
    mean_iou,
    per_image_confusion,
    pixel_accuracy,
    soft_dice_loss,
)

# A 2x3 case worked out by hand (rows of the confusion matrix = true class, columns = predicted):
#   target  0 0 1      pred  0 1 1
#           1 2 2            1 2 0
# class 0: true at 2 pixels, predicted 0 once and 1 once      -> row [1, 1, 0]
# class 1: true at 2 pixels, predicted 1 both times           -> row [0, 2, 0]
# class 2: true at 2 pixels, predicted 2 once and 0 once      -> row [1, 0, 1]
TARGET = torch.tensor([[0, 0, 1], [1, 2, 2]])
PRED = torch.tensor([[0, 1, 1], [1, 2, 0]])
CM = [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
# IoU = TP / (TP + FP + FN): class 0: 1 / (1 + 1 + 1), class 1: 2 / (2 + 1 + 0), class 2: 1 / (1 + 0 + 1)
IOU = [1 / 3, 2 / 3, 1 / 2]
# Dice = 2 TP / (2 TP + FP + FN): 2/4, 4/5, 2/3
DICE = [2 / 4, 4 / 5, 2 / 3]


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(PRED, TARGET, num_classes=3)
    assert cm.dtype == torch.int64
    assert cm.tolist() == CM


def test_iou_and_dice_by_hand():
    cm = confusion_matrix(PRED, TARGET, num_classes=3)
    torch.testing.assert_close(iou_per_class(cm), torch.tensor(IOU, dtype=torch.float64))
    torch.testing.assert_close(dice_per_class(cm), torch.tensor(DICE, dtype=torch.float64))
    assert mean_iou(cm) == pytest.approx(sum(IOU) / 3)
    assert mean_dice(cm) == pytest.approx(sum(DICE) / 3)
    assert pixel_accuracy(cm) == pytest.approx(4 / 6)


def test_class_absent_from_both_is_nan_and_left_out_of_the_mean():
    cm = confusion_matrix(PRED, TARGET, num_classes=4)  # class 3 appears nowhere
    iou = iou_per_class(cm)
    assert math.isnan(iou[3]) and math.isnan(dice_per_class(cm)[3])
    assert mean_iou(cm) == pytest.approx(sum(IOU) / 3)  # not / 4, and not 0 for class 3


def test_class_only_predicted_or_only_true_counts_as_zero():
    target = torch.tensor([0, 0, 1, 1])
    pred_only = torch.tensor([0, 2, 1, 1])  # class 2 predicted, never true: a false positive
    cm = confusion_matrix(pred_only, target, num_classes=3)
    assert iou_per_class(cm)[2].item() == 0.0
    assert mean_iou(cm) == pytest.approx((1 / 2 + 1 + 0) / 3)
    true_only = torch.tensor([0, 0, 0, 1])  # class 1 true twice, predicted once
    cm = confusion_matrix(true_only, target, num_classes=2)
    assert iou_per_class(cm).tolist() == pytest.approx([2 / 3, 1 / 2])


def test_perfect_and_all_wrong():
    t = torch.randint(0, 5, (3, 8, 8), generator=torch.Generator().manual_seed(0))
    cm = confusion_matrix(t, t, num_classes=5)
    assert mean_iou(cm) == 1.0 and mean_dice(cm) == 1.0 and pixel_accuracy(cm) == 1.0
    cm = confusion_matrix((t + 1) % 5, t, num_classes=5)
    assert mean_iou(cm) == 0.0 and pixel_accuracy(cm) == 0.0


def test_ignore_index_drops_pixels():
    target = torch.tensor([0, 255, 1, 1])
    pred = torch.tensor([0, 1, 1, 0])
    cm = confusion_matrix(pred, target, num_classes=2, ignore_index=255)
    assert cm.tolist() == [[1, 0], [1, 1]]


def test_dice_iou_identity():
    """Per class, Dice = 2 IoU / (1 + IoU): the two rank models alike, Dice is always >= IoU."""
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randint(0, 6, (2, 500), generator=g)
    cm = confusion_matrix(pred, target, 6)
    iou, dice = iou_per_class(cm), dice_per_class(cm)
    torch.testing.assert_close(dice, 2 * iou / (1 + iou))


def _reference(pred: np.ndarray, target: np.ndarray, c: int):
    """Written differently on purpose: scipy.sparse counts the pairs; IoU/Dice from boolean masks."""
    p, t = pred.ravel(), target.ravel()
    cm = scipy.sparse.coo_matrix((np.ones_like(t), (t, p)), shape=(c, c)).toarray()
    iou, dice = [], []
    for k in range(c):
        inter = np.logical_and(p == k, t == k).sum()
        union = np.logical_or(p == k, t == k).sum()
        iou.append(inter / union if union else np.nan)
        total = (p == k).sum() + (t == k).sum()
        dice.append(2 * inter / total if total else np.nan)
    return cm, np.array(iou), np.array(dice)


@pytest.mark.parametrize("seed", range(5))
def test_against_reference_on_random_masks(seed):
    g = torch.Generator().manual_seed(seed)
    c = 11
    target = torch.randint(0, c - 1, (4, 17, 23), generator=g)  # class 10 never true
    pred = torch.where(torch.rand(target.shape, generator=g) < 0.7, target,
                       torch.randint(0, c - 2, target.shape, generator=g))  # classes 9, 10 never predicted
    cm, iou, dice = _reference(pred.numpy(), target.numpy(), c)
    got = confusion_matrix(pred, target, num_classes=c)
    np.testing.assert_array_equal(got.numpy(), cm)
    np.testing.assert_allclose(iou_per_class(got).numpy(), iou, equal_nan=True)
    np.testing.assert_allclose(dice_per_class(got).numpy(), dice, equal_nan=True)
    assert mean_iou(got) == pytest.approx(np.nanmean(iou))


def test_batches_add_up_and_per_image_matrices_sum_to_the_total():
    g = torch.Generator().manual_seed(2)
    target = torch.randint(0, 4, (6, 9, 9), generator=g)
    pred = torch.randint(0, 4, (6, 9, 9), generator=g)
    total = confusion_matrix(pred, target, num_classes=4)
    parts = confusion_matrix(pred[:2], target[:2], 4) + confusion_matrix(pred[2:], target[2:], 4)
    assert torch.equal(total, parts)
    per = per_image_confusion(pred, target, num_classes=4)
    assert per.shape == (6, 4, 4)
    assert torch.equal(per.sum(0), total)
    for i in range(6):
        assert torch.equal(per[i], confusion_matrix(pred[i], target[i], 4))
    # the metric functions work on a stack of matrices: one mIoU per image
    per_iou = mean_iou(per)
    assert per_iou.shape == (6,)
    assert per_iou[3].item() == pytest.approx(mean_iou(per[3]))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="argmax"):
        confusion_matrix(torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="pred"):
        confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match="target"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([-1, 1]), 3)
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix(torch.tensor([0]), torch.tensor([0]), 1)
    with pytest.raises(ValueError, match="integer"):
        confusion_matrix(torch.tensor([0.0]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., C, C\)"):
        iou_per_class(torch.zeros(3, 4, dtype=torch.long))


def test_soft_dice_loss_matches_a_hand_calculation():
    # 1 image, 2 classes, 2 pixels; softmax probabilities chosen directly through logits
    p = torch.tensor([[0.8, 0.3], [0.2, 0.7]])  # (C, N): pixel 0 says class 0 at 0.8, pixel 1 class 1 at 0.7
    logits = p.log().reshape(1, 2, 1, 2)
    target = torch.tensor([[[0, 1]]])
    # class 0: intersection 0.8, sums 1.1 + 1; class 1: 0.7, sums 0.9 + 1 (smooth = 0)
    want = 1 - (2 * 0.8 / 2.1 + 2 * 0.7 / 1.9) / 2
    got = soft_dice_loss(logits, target, smooth=0.0)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_soft_dice_loss_is_small_when_right_large_when_wrong_and_differentiable():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (2, 8, 8), generator=g)
    right = 20 * torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float()
    wrong = 20 * torch.nn.functional.one_hot((target + 1) % 3, 3).permute(0, 3, 1, 2).float()
    assert soft_dice_loss(right, target).item() < 1e-3
    assert soft_dice_loss(wrong, target).item() > 0.97  # smooth=1 keeps it just below 1
    logits = torch.randn(2, 3, 8, 8, requires_grad=True, generator=g)
    soft_dice_loss(logits, target).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_evaluate_segmentation_on_an_oracle_model():
    """A 'model' that returns one-hot logits of a fixed answer gives exactly the metrics of that answer."""

    g = torch.Generator().manual_seed(3)
    images = torch.randn(10, 1, 8, 8, generator=g)
    masks = torch.randint(0, 4, (10, 8, 8), generator=g)
    answers = torch.where(torch.rand(masks.shape, generator=g) < 0.8, masks, torch.zeros_like(masks))
    lookup = {float(images[i].sum()): answers[i] for i in range(10)}

    class Oracle(torch.nn.Module):
        def forward(self, x):
            a = torch.stack([lookup[float(xi.sum())] for xi in x])
            return torch.nn.functional.one_hot(a, 4).permute(0, 3, 1, 2).float()

    loader = [(images[i:i + 3], masks[i:i + 3]) for i in range(0, 10, 3)]
    out = evaluate_segmentation(Oracle(), loader, num_classes=4, device="cpu")
    cm = confusion_matrix(answers, masks, 4)
    assert torch.equal(out["confusion"], cm)
    assert out["miou"] == pytest.approx(mean_iou(cm))
    assert out["mdice"] == pytest.approx(mean_dice(cm))
    assert out["pixel_acc"] == pytest.approx(pixel_accuracy(cm))
    torch.testing.assert_close(out["iou"], iou_per_class(cm))


def test_evaluate_segmentation_checks_the_device_and_restores_the_mode():
    """The shared loop of pt_helpers.train.run_eval: a model elsewhere is an error, never moved silently."""
    model = torch.nn.Conv2d(1, 3, 1).train()
    loader = [(torch.randn(2, 1, 4, 4), torch.randint(0, 3, (2, 4, 4)))]
    out = evaluate_segmentation(model, loader, num_classes=3, device="cpu")
    assert model.training and int(out["confusion"].sum()) == 32
    model.to("meta")
    with pytest.raises(ValueError, match=r"model\.to\(device\)"):
        evaluate_segmentation(model, loader, num_classes=3, device="cpu")
