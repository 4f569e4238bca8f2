"""pt_helpers.models.cnn: shapes, parameter counts by formula, save/load round trip, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pt_helpers.checkpoint import load_model, save_model
from pt_helpers.models.cnn import ConvBlock, FashionCNN


def test_output_and_block_shapes():
    model = FashionCNN()
    x = torch.randn(4, 1, 28, 28)
    shapes = []
    h = x
    for block in model.features:
        h = block(h)
        shapes.append(tuple(h.shape))
    assert shapes == [(4, 32, 14, 14), (4, 64, 7, 7), (4, 128, 3, 3)]
    assert model(x).shape == (4, 10)


def test_parameter_count_matches_the_formula():
    c1, c2, c3 = 8, 16, 24
    model = FashionCNN(channels=(c1, c2, c3), num_classes=5, hidden=32)
    conv = 9 * (1 * c1 + c1 * c2 + c2 * c3)  # 3x3 kernels, no bias
    bn = 2 * (c1 + c2 + c3)
    head = (c3 * 9 * 32 + 32) + (32 * 5 + 5)
    assert sum(p.numel() for p in model.parameters()) == conv + bn + head


def test_block_is_conv_pool_bn_relu_and_matches_functional():
    torch.manual_seed(0)
    block = ConvBlock(3, 4).eval()
    x = torch.randn(2, 3, 8, 8)
    conv, bn = block[0], block[2]
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        want = torch.relu(torch.nn.functional.batch_norm(
            torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(x, conv.weight, padding=1), 2),
            bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps))
        assert torch.allclose(block(x), want, atol=1e-6)
    assert conv.bias is None


def test_channels_last_gives_the_same_logits():
    torch.manual_seed(0)
    model = FashionCNN().eval()
    x = torch.randn(3, 1, 28, 28)
    ref = model(x)
    model.to(memory_format=torch.channels_last)
    assert torch.allclose(model(x), ref, atol=1e-5)


def test_save_and_rebuild(tmp_path):
    torch.manual_seed(0)
    model = FashionCNN(channels=(4, 8, 12), hidden=16, dropout=0.1, num_classes=3)
    save_model(tmp_path / "cnn.pt", model)
    back = load_model(tmp_path / "cnn.pt", FashionCNN)
    assert back.config == model.config
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(back(x), model.eval()(x))


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="channels"):
        FashionCNN(channels=(8, 16))
    with pytest.raises(ValueError, match="hidden"):
        FashionCNN(hidden=0)
    with pytest.raises(ValueError, match="dropout"):
        FashionCNN(dropout=1.0)
    with pytest.raises(TypeError):
        FashionCNN(1, 10)  # keyword-only
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        FashionCNN()(torch.randn(2, 3, 28, 28))
    assert isinstance(FashionCNN().classifier[-1], nn.Linear)
