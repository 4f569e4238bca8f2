"""Segmentation metrics from a confusion matrix: IoU, Dice, pixel accuracy.

Taught in notebooks/07_unet.ipynb.

Everything starts from one confusion matrix ``cm`` of shape ``(C, C)`` (or a stack ``(..., C, C)``):
``cm[t, p]`` counts the pixels whose true class is ``t`` and predicted class is ``p`` (rows = truth,
as in scikit-learn). For class ``k``: ``TP = cm[k, k]``, ``FP = column sum - TP``, ``FN = row sum - TP``;
``IoU = TP / (TP + FP + FN)`` and ``Dice = 2 TP / (2 TP + FP + FN)``.

Matrices add up, so a whole test set is scored by summing the batches' matrices first and computing
the ratios once (not by averaging per-batch scores, which weights small batches wrongly).

Absent classes: a class that appears in neither the prediction nor the target has ``0 / 0``; its IoU
and Dice are **NaN** and the means skip it (``nanmean``). A class that is only predicted, or only
true, scores 0 and counts. This is the choice of mmsegmentation's and Hugging Face ``evaluate``'s
``mean_iou`` (``np.nanmean`` over classes): a test image without bags is neither rewarded (1.0) nor
punished (0.0) for bags it could not have segmented.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F

from .train import run_eval

__all__ = [
    "confusion_matrix",
    "per_image_confusion",
    "iou_per_class",
    "dice_per_class",
    "mean_iou",
    "mean_dice",
    "pixel_accuracy",
    "soft_dice_loss",
    "evaluate_segmentation",
]


def _check_labels(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None,
                  fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"{fn}(num_classes={num_classes!r}): expected an int >= 2")
    if isinstance(pred, torch.Tensor) and isinstance(target, torch.Tensor) and pred.ndim == target.ndim + 1:
        raise ValueError(f"{fn}: pred has shape {tuple(pred.shape)} and target {tuple(target.shape)}; "
                         "pass class indices, e.g. pred = logits.argmax(dim=1)")
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{fn}({name}): expected a torch.Tensor, got {type(t).__name__}")
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise ValueError(f"{fn}({name}): expected an integer tensor of class indices, "
                             f"got {getattr(t, 'dtype', type(t).__name__)}")
    if pred.shape != target.shape:
        raise ValueError(f"{fn}: pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, t in (("pred", pred), ("target", target)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{fn}({name}): values must lie in [0, {num_classes - 1}], "
                             f"found {t.min().item()}..{t.max().item()}")
    return pred, target


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int, *,
                     ignore_index: int | None = None) -> torch.Tensor:
    """Count (true, predicted) class pairs over all pixels with one ``bincount``.

    Args:
        pred: predicted class indices, any shape, e.g. ``(B, H, W)`` from ``logits.argmax(1)``.
        target: true class indices, same shape as ``pred``.
        num_classes: C.
        ignore_index: pixels whose target has this value are left out (e.g. VOC's 255 border).
    Returns:
        ``(C, C)`` int64 on ``pred``'s device; ``cm[t, p]`` = pixels of true class t predicted as p.
    """
    pred, target = _check_labels(pred, target, num_classes, ignore_index, "confusion_matrix")
    idx = target.reshape(-1) * num_classes + pred.reshape(-1)  # one bin per (t, p) pair
    return torch.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def per_image_confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """One confusion matrix per image, still one ``bincount``: ``(B, ...)`` labels -> ``(B, C, C)``.

    Their sum over dim 0 is :func:`confusion_matrix` of the whole batch; the metric functions accept
    the stack and return one value per image (used to find an evaluation's best and worst cases).
    """
    pred, target = _check_labels(pred, target, num_classes, None, "per_image_confusion")
    if pred.ndim < 2:
        raise ValueError(f"per_image_confusion: expected (B, ...) labels, got shape {tuple(pred.shape)}")
    B, C = pred.shape[0], num_classes
    image = torch.arange(B, device=pred.device).view(B, *[1] * (pred.ndim - 1)).expand_as(pred)
    idx = (image * C * C + target * C + pred).reshape(-1)
    return torch.bincount(idx, minlength=B * C * C).reshape(B, C, C)


def _tp_fp_fn(cm: torch.Tensor, fn: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not isinstance(cm, torch.Tensor) or cm.ndim < 2 or cm.shape[-1] != cm.shape[-2]:
        raise ValueError(f"{fn}(cm): expected a confusion matrix of shape (..., C, C), "
                         f"got {tuple(getattr(cm, 'shape', ()))}")
    cm = cm.double()
    tp = cm.diagonal(dim1=-2, dim2=-1)  # (..., C)
    fp = cm.sum(-2) - tp  # predicted k (column sum), truly something else
    fn_ = cm.sum(-1) - tp  # truly k (row sum), predicted something else
    return tp, fp, fn_


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, float("nan")))


def iou_per_class(cm: torch.Tensor) -> torch.Tensor:
    """Intersection over union per class: ``(..., C, C)`` -> ``(..., C)`` float64, NaN where absent."""
    tp, fp, fn = _tp_fp_fn(cm, "iou_per_class")
    return _ratio(tp, tp + fp + fn)


def dice_per_class(cm: torch.Tensor) -> torch.Tensor:
    """Dice (F1) per class, ``2 TP / (2 TP + FP + FN)``: ``(..., C, C)`` -> ``(..., C)``, NaN where absent."""
    tp, fp, fn = _tp_fp_fn(cm, "dice_per_class")
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _mean(values: torch.Tensor) -> float | torch.Tensor:
    m = values.nanmean(-1)
    return m.item() if m.ndim == 0 else m


def mean_iou(cm: torch.Tensor) -> float | torch.Tensor:
    """mIoU: the mean of :func:`iou_per_class` over the classes present (NaN skipped).

    Returns a float for one matrix, a ``(...)`` tensor for a stack of matrices.
    """
    return _mean(iou_per_class(cm))


def mean_dice(cm: torch.Tensor) -> float | torch.Tensor:
    """Mean Dice over the classes present (NaN skipped); float for one matrix, tensor for a stack."""
    return _mean(dice_per_class(cm))


def pixel_accuracy(cm: torch.Tensor) -> float | torch.Tensor:
    """Fraction of pixels whose class is right: ``trace / total``. Dominated by the background class."""
    tp, _, _ = _tp_fp_fn(cm, "pixel_accuracy")
    acc = tp.sum(-1) / cm.double().sum((-2, -1)).clamp(min=1)
    return acc.item() if acc.ndim == 0 else acc


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, *, smooth: float = 1.0) -> torch.Tensor:
    """``1 - mean Dice`` computed on softmax probabilities, so it has gradients (a training loss).

    Per class ``k`` over the whole batch: ``(2 sum(p_k g_k) + smooth) / (sum(p_k) + sum(g_k) + smooth)``
    with ``p = softmax(logits)`` and ``g`` the one-hot target; the loss averages over classes, so small
    classes weigh as much as the background (unlike pixel-averaged cross-entropy).

    Args:
        logits: ``(B, C, H, W)`` raw scores.
        target: ``(B, H, W)`` int64 class indices.
        smooth: added to numerator and denominator; keeps classes absent from the batch finite.
    Returns:
        A scalar tensor.
    """
    if logits.ndim != target.ndim + 1 or logits.shape[:1] + logits.shape[2:] != target.shape:
        raise ValueError(f"soft_dice_loss: logits {tuple(logits.shape)} and target {tuple(target.shape)} "
                         "should be (B, C, H, W) and (B, H, W)")
    C = logits.shape[1]
    prob = logits.softmax(dim=1)  # (B, C, H, W)
    onehot = F.one_hot(target, C).movedim(-1, 1).to(prob.dtype)  # (B, C, H, W)
    dims = [0, *range(2, logits.ndim)]  # everything but the class dim
    inter = (prob * onehot).sum(dims)  # (C,)
    total = prob.sum(dims) + onehot.sum(dims)  # (C,)
    dice = (2 * inter + smooth) / (total + smooth)
    return 1 - dice.mean()


def evaluate_segmentation(model: torch.nn.Module, loader: Iterable, *, num_classes: int,
                          device: torch.device | str) -> dict:
    """Score a segmentation model on a loader of ``(images, masks)``: one confusion matrix, summed.

    The loop is :func:`pt_helpers.train.run_eval` (the one ``evaluate`` uses): eval mode, no autograd,
    the model must already be on ``device``, and its previous mode is restored afterwards.

    Returns:
        ``{"confusion": (C, C) int64 on CPU, "iou": (C,), "dice": (C,), "miou", "mdice", "pixel_acc"}``.
    """
    device = torch.device(device)
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    run_eval(model, loader, lambda logits, y: cm.add_(confusion_matrix(logits.argmax(dim=1), y, num_classes)),
             device)
    cm = cm.cpu()
    return {"confusion": cm, "iou": iou_per_class(cm), "dice": dice_per_class(cm), "miou": mean_iou(cm),
            "mdice": mean_dice(cm), "pixel_acc": pixel_accuracy(cm)}
