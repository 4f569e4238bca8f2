"""Checkers for notebooks/08_vit_swin.ipynb (number of patches, window partition, shifted-window mask)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from ..models.swin import shifted_window_mask, shifted_window_regions, window_partition
from ..models.vit import num_patches
from .core import ExerciseError, call_learner, checker, expect_close, passed

__all__ = ["check_num_patches", "check_window_partition", "check_window_mask"]


@checker
def check_num_patches(fn: Callable) -> None:
    """``fn(image_size, patch_size)`` -> the number of tokens a ViT makes from a square image."""
    name = "num_patches"
    for image_size, patch_size in ((28, 7), (28, 4), (224, 16), (224, 32), (64, 8), (28, 28)):
        got = call_learner(fn, name, image_size, patch_size)
        if isinstance(got, torch.Tensor):
            got = got.item()
        if not isinstance(got, int) or isinstance(got, bool):
            raise ExerciseError(f"{name}: return a Python int, got {type(got).__name__}")
        want = num_patches(image_size, patch_size)
        if got != want and got == image_size // patch_size:
            raise ExerciseError(f"{name}: for image_size={image_size}, patch_size={patch_size} you counted the "
                                "patches along ONE side; a square image has patches in rows AND columns")
        if got != want:
            raise ExerciseError(f"{name}: wrong count for image_size={image_size}, patch_size={patch_size}; "
                                "remember that patch_size is the side length of one patch")
    passed(name, "6 image/patch sizes")


# Stand-ins whose code replaces the packaged helpers' code while a checker runs. Swapping ``__code__``
# switches the function object itself off, under whatever name the learner imported it. The code runs with
# pt_helpers.models.swin's globals, so it imports what it needs itself.
def _partition_off(*args, **kwargs):
    from pt_helpers.exercises.core import ExerciseError
    raise ExerciseError("window_partition: your function called pt_helpers' window_partition; "
                        "write it with view/reshape and permute")


def _mask_off(*args, **kwargs):
    from pt_helpers.exercises.core import ExerciseError
    raise ExerciseError("window_mask: your function called pt_helpers' shifted-window helpers "
                        "(shifted_window_mask or shifted_window_regions); write the mask yourself "
                        "(label the regions, partition, compare)")


@contextmanager
def _switched_off(stub: Callable, *helpers: Callable) -> Iterator[None]:
    """While active, calling any of ``helpers`` (by any name) runs ``stub`` instead; restored afterwards."""
    saved = [(f, f.__code__) for f in helpers]
    try:
        for f in helpers:
            f.__code__ = stub.__code__
        yield
    finally:
        for f, code in saved:
            f.__code__ = code


@checker
def check_window_partition(fn: Callable) -> None:
    """``fn(x, window_size)``: ``(B, H, W, C) -> (B * nW, ws, ws, C)``, windows in row-major order;
    pt_helpers' ``window_partition`` is switched off (under any name) while it runs."""
    name = "window_partition"
    g = torch.Generator().manual_seed(0)
    for B, H, W, C, ws in ((1, 4, 4, 1, 2), (2, 8, 12, 3, 4), (3, 6, 6, 2, 3), (1, 7, 14, 1, 7)):
        x = torch.randn(B, H, W, C, generator=g)
        want = window_partition(x, ws)
        with _switched_off(_partition_off, window_partition):
            got = call_learner(fn, name, x, ws)
        if (isinstance(got, torch.Tensor) and got.shape == want.shape and not torch.equal(got, want)
                and torch.equal(got.sort(dim=0).values, want.sort(dim=0).values)):
            raise ExerciseError(f"{name}: the windows are right but in another order for a {H}x{W} map; "
                                "number them row by row (window r, c -> index r * (W // ws) + c)")
        expect_close(got, want, name, what=f"windows of a ({B}, {H}, {W}, {C}) map with window_size={ws}",
                     atol=0, rtol=0)
    passed(name, "4 shapes, including rectangular maps and batches")


@checker
def check_window_mask(fn: Callable) -> None:
    """``fn(H, W, window_size, shift_size)`` -> bool ``(nW, N, N)``: True where query and key may attend
    to each other after the cyclic shift (same region of the original image). pt_helpers'
    ``shifted_window_mask`` and ``shifted_window_regions`` are switched off while it runs
    (``window_partition`` is allowed: exercise 2 wrote it)."""
    name = "window_mask"
    for H, W, ws, s in ((4, 4, 2, 1), (8, 8, 4, 2), (6, 9, 3, 1), (8, 4, 4, 3)):
        want = shifted_window_mask(H, W, ws, s) == 0
        with _switched_off(_mask_off, shifted_window_mask, shifted_window_regions):
            got = call_learner(fn, name, H, W, ws, s)
        if isinstance(got, torch.Tensor) and got.dtype != torch.bool:
            raise ExerciseError(f"{name}: return a bool tensor (True = may attend), got dtype {got.dtype}")
        if isinstance(got, torch.Tensor) and got.shape == want.shape and torch.equal(got, ~want):
            raise ExerciseError(f"{name}: your mask is inverted: True should mean 'may attend' "
                                "(the same convention as F.scaled_dot_product_attention)")
        expect_close(got.float() if isinstance(got, torch.Tensor) else got, want.float(), name,
                     what=f"mask for H={H}, W={W}, window_size={ws}, shift_size={s}",
                     atol=0, rtol=0)
    passed(name, "4 maps, windows and shifts")
