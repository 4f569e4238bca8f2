"""pt_helpers.plot.image: the one tensor-to-image converter (figures, the visdom monitor, VOC JPEG files).

Reference checks: uint8 output equals what torchvision.utils.save_image writes (its float -> uint8 rule) and
what torchvision.transforms.functional.to_pil_image gives for uint8 input (its layout rule).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.utils import save_image

from pt_helpers.plot.image import to_image, to_numpy


def test_to_numpy_detaches_moves_to_cpu_and_widens_bfloat16():
    x = torch.ones(2, 3, requires_grad=True) * 2
    a = to_numpy(x)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (2, 3)
    assert to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32
    assert to_numpy(torch.tensor([1, 2])).dtype == np.int64
    assert to_numpy([[1, 2]]).shape == (1, 2)


def test_layout_auto_chw_hwc_and_single_channel_squeezed():
    g = torch.Generator().manual_seed(0)
    chw = torch.rand(3, 5, 7, generator=g)
    np.testing.assert_array_equal(to_image(chw), chw.permute(1, 2, 0).numpy())
    np.testing.assert_array_equal(to_image(chw.permute(1, 2, 0).numpy()), chw.permute(1, 2, 0).numpy())
    np.testing.assert_array_equal(to_image(chw, layout="chw"), to_image(chw))
    assert to_image(torch.rand(1, 5, 7, generator=g)).shape == (5, 7)
    assert to_image(torch.rand(5, 7, 1, generator=g)).shape == (5, 7)
    assert to_image(torch.rand(5, 7, generator=g)).shape == (5, 7)
    # (3, 5, 3) is ambiguous: auto follows torch's CHW convention, an explicit layout overrides it
    amb = torch.rand(3, 5, 3, generator=g)
    assert to_image(amb).shape == (5, 3, 3)
    np.testing.assert_array_equal(to_image(amb, layout="hwc"), amb.numpy())


def test_batches_need_an_explicit_layout():
    batch = torch.rand(4, 3, 5, 6)
    out = to_image(batch, layout="chw")
    assert out.shape == (4, 5, 6, 3)
    np.testing.assert_array_equal(out[2], to_image(batch[2]))
    assert to_image(torch.rand(4, 1, 5, 6), layout="chw").shape == (4, 5, 6)
    with pytest.raises(ValueError, match="layout"):
        to_image(batch)
    with pytest.raises(ValueError, match="channels"):
        to_image(torch.rand(4, 2, 5, 6), layout="chw")
    with pytest.raises(ValueError, match="layout"):
        to_image(batch, layout="nchw")


def test_keep_leaves_values_and_dtype_and_returns_a_copy():
    u8 = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = to_image(u8)
    assert out.dtype == np.uint8
    out[0, 0] = 99
    assert u8[0, 0] == 0
    x = torch.tensor([[-2.0, 3.0]])
    np.testing.assert_array_equal(to_image(x), [[-2.0, 3.0]])


def test_unit_divides_integers_by_255_and_rescales_floats_only_when_outside():
    out = to_image(np.array([[0, 51, 255]], dtype=np.uint8), scale="unit")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 0.2, 1.0]], rtol=1e-6)
    inside = torch.tensor([[0.25, 0.5]])
    np.testing.assert_allclose(to_image(inside, scale="unit"), [[0.25, 0.5]])  # already in [0, 1]: unchanged
    outside = torch.tensor([[-1.0, 0.0, 3.0]])  # e.g. normalised inputs
    np.testing.assert_allclose(to_image(outside, scale="unit"), [[0.0, 0.25, 1.0]])
    # over a batch, one min and max for everything passed: relative brightness between images stays
    batch = torch.stack([torch.full((1, 2, 2), -1.0), torch.full((1, 2, 2), 3.0)])
    out = to_image(batch, layout="chw", scale="unit")
    assert out.dtype == np.float32 and out[0].max() == 0 and out[1].min() == 1


def test_minmax_always_stretches_and_a_constant_image_is_black():
    np.testing.assert_allclose(to_image(torch.tensor([[0.2, 0.4, 0.6]]), scale="minmax"), [[0.0, 0.5, 1.0]])
    assert to_image(torch.full((3, 3), 7.0), scale="minmax").max() == 0


def test_uint8_matches_torchvision_save_image():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 9, 11, generator=g)
    x[0, 0, :4] = torch.tensor([0.0, 1.0, -0.3, 1.7])  # clipped, as save_image clamps
    x[1, 1, :3] = torch.tensor([0.5 / 255, 1.5 / 255, 254.5 / 255])  # on the rounding edge
    buf = io.BytesIO()
    save_image(x, buf, format="png")
    reference = np.asarray(Image.open(buf))
    ours = to_image(x, scale="uint8")
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, reference)
    grey = torch.rand(1, 6, 6, generator=g)
    buf = io.BytesIO()
    save_image(grey, buf, format="png")  # save_image writes grey as RGB with equal channels
    np.testing.assert_array_equal(to_image(grey, scale="uint8"), np.asarray(Image.open(buf))[..., 0])


def test_uint8_input_passes_through_like_to_pil_image():
    u8 = (torch.rand(3, 6, 5) * 255).to(torch.uint8)
    np.testing.assert_array_equal(to_image(u8, scale="uint8"), np.asarray(TF.to_pil_image(u8)))
    grey = u8[:1]
    np.testing.assert_array_equal(to_image(grey, scale="uint8"), np.asarray(TF.to_pil_image(grey)))
    with pytest.raises(ValueError, match="0..255"):
        to_image(torch.tensor([[0, 300]]), scale="uint8")
    assert to_image(torch.tensor([[0, 200]]), scale="uint8").tolist() == [[0, 200]]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="scale"):
        to_image(torch.rand(2, 2), scale="percent")
    with pytest.raises(ValueError, match="shape"):
        to_image(torch.rand(5))
    with pytest.raises(ValueError, match="empty"):
        to_image(torch.rand(0, 4))
