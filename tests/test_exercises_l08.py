"""Checkers of lesson 08 accept right answers and reject typical wrong ones with a useful message."""

from __future__ import annotations

import pytest
import torch

from pt_helpers.exercises import ExerciseError, l08


def _rejects(check, fn, *words):
    with pytest.raises(ExerciseError) as info:
        check(fn)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_num_patches_checker(capsys):
    l08.check_num_patches(lambda size, p: (size // p) ** 2)
    assert "✓ num_patches" in capsys.readouterr().out
    _rejects(l08.check_num_patches, lambda size, p: size // p, "ONE side")
    _rejects(l08.check_num_patches, lambda size, p: p, "side length")
    _rejects(l08.check_num_patches, lambda size, p: float((size // p) ** 2), "int")
    _rejects(l08.check_num_patches, lambda size, p: None, "no answer yet")


def _partition(x, ws):
    B, H, W, C = x.shape
    return x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, C)


def test_window_partition_checker(capsys):
    l08.check_window_partition(_partition)
    assert "✓ window_partition" in capsys.readouterr().out

    def column_major(x, ws):
        B, H, W, C = x.shape
        return x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 3, 1, 2, 4, 5).reshape(-1, ws, ws, C)

    def no_permute(x, ws):
        return x.reshape(-1, ws, ws, x.shape[-1])

    _rejects(l08.check_window_partition, column_major, "another order")
    _rejects(l08.check_window_partition, no_permute, "different values")
    _rejects(l08.check_window_partition, lambda x, ws: x.reshape(-1, ws * ws, x.shape[-1]), "shape")

    def uses_helper(x, ws):
        from pt_helpers.models import swin
        return swin.window_partition(x, ws)

    _rejects(l08.check_window_partition, uses_helper, "view/reshape and permute")
    _rejects(l08.check_window_partition, lambda x, ws: None, "no answer yet")


def _mask(H, W, ws, s):
    regions = torch.zeros(H, W, dtype=torch.long)
    cuts = (slice(0, -ws), slice(-ws, -s), slice(-s, None))
    for i, h in enumerate(cuts):
        for j, w in enumerate(cuts):
            regions[h, w] = 3 * i + j
    win = _partition(regions[None, :, :, None], ws).flatten(1)
    return win[:, :, None] == win[:, None, :]


def test_window_mask_checker(capsys):
    l08.check_window_mask(_mask)
    assert "✓ window_mask" in capsys.readouterr().out
    _rejects(l08.check_window_mask, lambda *a: ~_mask(*a), "inverted")
    _rejects(l08.check_window_mask, lambda *a: _mask(*a).float(), "bool")

    def no_wrap(H, W, ws, s):  # forgets the shift: every window allowed everywhere
        n = (H // ws) * (W // ws)
        return torch.ones(n, ws * ws, ws * ws, dtype=torch.bool)

    _rejects(l08.check_window_mask, no_wrap, "different values")
    _rejects(l08.check_window_mask, lambda *a: None, "no answer yet")
