"""Tensor to image: the one converter behind every figure, the visdom monitor and the VOC JPEG files.

Taught in notebooks/03_data.ipynb: ``ToTensor`` turns an HWC ``uint8`` picture into a CHW float tensor in
[0, 1]; :func:`to_image` goes back for matplotlib, PIL and visdom. It moves the channels last, drops a
single channel, and maps the values to what the consumer expects, each step chosen by an argument:

==========  ====================================================================================
``scale``   values returned
==========  ====================================================================================
"keep"      unchanged (dtype kept): ``imshow`` of a grey image with a colour map, the VOC figures
"unit"      float32 in [0, 1]: integers / 255; floats unchanged when already inside [0, 1], else
            stretched from their min..max (normalised inputs); the visdom monitor
"minmax"    float32 in [0, 1], always stretched from min..max (a constant image is black): overlays
"uint8"     uint8 as ``torchvision.utils.save_image`` writes it: floats in [0, 1] -> floor(x*255 + 0.5),
            clipped; integers must already lie in 0..255: the VOC JPEG files
==========  ====================================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

__all__ = ["to_numpy", "to_image", "Layout", "Scale"]

Layout = Literal["auto", "chw", "hwc"]
Scale = Literal["keep", "unit", "minmax", "uint8"]
_SCALES = ("keep", "unit", "minmax", "uint8")
_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA


def to_numpy(x: torch.Tensor | np.ndarray | Sequence[Any]) -> np.ndarray:
    """A tensor (detached, copied to the CPU), an array or nested lists as a NumPy array.

    Float dtypes NumPy lacks (bfloat16) become float32; everything else keeps its dtype.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy()
    return np.asarray(x)


def _channels_last(a: np.ndarray, layout: str) -> np.ndarray:
    if layout == "auto":
        if a.ndim == 2:
            return a[..., None]
        if a.ndim != 3:
            raise ValueError(f"to_image(image): shape {a.shape} needs (H, W), (C, H, W) or (H, W, C); "
                             "for a batch pass layout='chw' or 'hwc'")
        layout = "chw" if a.shape[0] in _CHANNELS[:2] else "hwc"
    if layout == "chw":
        if a.ndim < 3:
            raise ValueError(f"to_image(image, layout='chw'): expected (..., C, H, W), got shape {a.shape}")
        a = np.moveaxis(a, -3, -1)
    elif layout == "hwc":
        if a.ndim < 3:
            raise ValueError(f"to_image(image, layout='hwc'): expected (..., H, W, C), got shape {a.shape}")
    else:
        raise ValueError(f"to_image(layout={layout!r}): expected 'auto', 'chw' or 'hwc'")
    if a.shape[-1] not in _CHANNELS:
        raise ValueError(f"to_image(image): {a.shape[-1]} channels, expected 1, 3 or 4 (layout={layout!r})")
    return a


def _stretch(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def to_image(image: torch.Tensor | np.ndarray | Sequence[Any], *, layout: Layout = "auto",
             scale: Scale = "keep") -> np.ndarray:
    """An image (or a batch) as a channels-last NumPy array for matplotlib, PIL or visdom.

    Args:
        image: a tensor (any device, requires_grad allowed), an array or nested lists.
        layout: ``"auto"`` for one image: ``(H, W)`` grey, ``(C, H, W)`` when the first dimension is 1 or 3
            (torch's convention), else ``(H, W, C)``. ``"chw"`` / ``"hwc"`` say it explicitly and allow
            leading batch dimensions, e.g. ``(N, C, H, W)`` with ``layout="chw"``. C is 1, 3 or 4.
        scale: ``"keep"``, ``"unit"``, ``"minmax"`` or ``"uint8"`` (the table in the module docstring).
            "unit" and "minmax" use one min and max for everything passed, so a batch keeps the
            relative brightness of its images.
    Returns:
        ``(..., H, W)`` when C is 1, else ``(..., H, W, C)``: always a new array (never the caller's memory).
    Raises:
        ValueError: an unknown ``layout`` or ``scale``, a shape that is not an image, an empty image,
            integers outside 0..255 with ``scale="uint8"``.
    """
    if scale not in _SCALES:
        raise ValueError(f"to_image(scale={scale!r}): expected one of {', '.join(map(repr, _SCALES))}")
    a = to_numpy(image)
    if a.size == 0:
        raise ValueError(f"to_image(image): empty, shape {a.shape}")
    a = _channels_last(a, layout)
    if a.shape[-1] == 1:
        a = a[..., 0]
    is_int = np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_
    if scale == "keep":
        return a.copy()
    if scale == "uint8":
        if a.dtype == np.uint8:
            return a.copy()
        if is_int:
            if a.min() < 0 or a.max() > 255:
                raise ValueError(f"to_image(image, scale='uint8'): integers must lie in 0..255, "
                                 f"found {a.min()}..{a.max()}")
            return a.astype(np.uint8)
        # torchvision.utils.save_image: mul(255).add_(0.5).clamp_(0, 255).to(uint8), in float32
        a = np.floor(a.astype(np.float32) * np.float32(255) + np.float32(0.5))
        return np.clip(a, 0, 255).astype(np.uint8)
    f = a.astype(np.float32)
    if scale == "minmax":
        return _stretch(f)
    if is_int and a.dtype != np.bool_:
        f = f / 255.0
    return _stretch(f) if f.min() < 0 or f.max() > 1 else f
