"""Checkers of lesson 08 accept right answers and reject typical wrong ones with a useful message."""

from __future__ import annotations

import pytest
import torch
from exercise_helpers import assert_blank_reported

from pt_helpers.exercises import ExerciseError, l08
from pt_helpers.models import swin
from pt_helpers.models.swin import shifted_window_mask as packaged_mask
from pt_helpers.models.swin import shifted_window_regions as packaged_regions
from pt_helpers.models.swin import window_partition as packaged_partition


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
    assert_blank_reported(l08.check_num_patches, lambda size, p: None)


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
    assert_blank_reported(l08.check_window_partition, lambda x, ws: None)


def _regions(H, W, ws, s):
    regions = torch.zeros(H, W, dtype=torch.long)
    cuts = (slice(0, -ws), slice(-ws, -s), slice(-s, None))
    for i, h in enumerate(cuts):
        for j, w in enumerate(cuts):
            regions[h, w] = 3 * i + j
    return regions


def _mask(H, W, ws, s):
    win = _partition(_regions(H, W, ws, s)[None, :, :, None], ws).flatten(1)
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
    assert_blank_reported(l08.check_window_mask, lambda *a: None)


def test_window_partition_helper_under_another_name_is_rejected():
    _rejects(l08.check_window_partition, lambda x, ws: packaged_partition(x, ws), "view/reshape and permute")
    x = torch.arange(16.0).reshape(1, 4, 4, 1)
    assert torch.equal(swin.window_partition(x, 2), _partition(x, 2))  # restored after the check


def test_window_mask_helpers_are_rejected(capsys):
    _rejects(l08.check_window_mask, lambda *a: packaged_mask(*a) == 0, "write the mask yourself")

    def from_regions(H, W, ws, s):
        win = packaged_partition(packaged_regions(H, W, ws, s)[None, :, :, None], ws).flatten(1)
        return win[:, :, None] == win[:, None, :]
    _rejects(l08.check_window_mask, from_regions, "write the mask yourself")
    assert packaged_mask(4, 4, 2, 1).shape == (4, 4, 4)  # restored after the check

    def own_regions(H, W, ws, s):  # labelling by hand, then the packaged partition, is fine
        win = packaged_partition(_regions(H, W, ws, s)[None, :, :, None], ws).flatten(1)
        return win[:, :, None] == win[:, None, :]
    l08.check_window_mask(own_regions)
    assert "✓ window_mask" in capsys.readouterr().out
