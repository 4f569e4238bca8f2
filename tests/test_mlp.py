"""pt_helpers.models.mlp: the lesson-04 two-layer perceptron, checked against the formula it implements."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pt_helpers.models.mlp import MLP


def test_shapes_and_parameter_count():
    model = MLP()
    for shape in [(5, 1, 28, 28), (5, 28, 28), (5, 784), (1, 1, 28, 28)]:
        assert model(torch.randn(shape)).shape == (shape[0], 10)
    assert sum(p.numel() for p in model.parameters()) == 784 * 256 + 256 + 256 * 10 + 10
    small = MLP(in_features=12, hidden_features=7, num_classes=3)
    assert small(torch.randn(4, 3, 2, 2)).shape == (4, 3)
    assert [(k, tuple(v.shape)) for k, v in small.state_dict().items()] == [
        ("fc1.weight", (7, 12)), ("fc1.bias", (7,)), ("fc2.weight", (3, 7)), ("fc2.bias", (3,))]


def test_forward_is_the_lesson_formula():
    torch.manual_seed(0)
    model = MLP(in_features=6, hidden_features=5, num_classes=4).double()
    x = torch.randn(3, 2, 3, dtype=torch.float64)
    flat = x.reshape(3, 6)
    W1, b1, W2, b2 = (p.detach() for p in model.parameters())
    want = torch.clamp(flat @ W1.T + b1, min=0) @ W2.T + b2  # logits, no softmax
    torch.testing.assert_close(model(x), want)
    y = torch.tensor([0, 3, 1])
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    # the hand-written backward of lesson 04, against autograd
    z1 = flat @ W1.T + b1
    d2 = (torch.softmax(want, 1) - F.one_hot(y, 4)) / 3
    dz1 = (d2 @ W2) * (z1 > 0)
    torch.testing.assert_close(model.fc2.weight.grad, d2.T @ torch.relu(z1))
    torch.testing.assert_close(model.fc1.weight.grad, dz1.T @ flat)
    torch.testing.assert_close(model.fc1.bias.grad, dz1.sum(0))


def test_default_init_is_pytorch_linear_init():
    torch.manual_seed(1)
    a = MLP(in_features=20, hidden_features=30, num_classes=4)
    torch.manual_seed(1)
    ref = nn.Sequential(nn.Flatten(), nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 4))
    for p, q in zip(a.parameters(), ref.parameters()):
        assert torch.equal(p, q)


def test_batch_of_one_keeps_the_batch_dimension():
    out = MLP()(torch.zeros(1, 1, 28, 28))
    assert out.shape == (1, 10)


def test_constructor_is_keyword_only_and_checks_its_arguments():
    with pytest.raises(TypeError):
        MLP(784, 256, 10)  # noqa - positional on purpose
    for kw in (dict(in_features=0), dict(hidden_features=-1), dict(num_classes=1.5), dict(hidden_features=True)):
        with pytest.raises(ValueError, match=next(iter(kw))):
            MLP(**kw)


def test_wrong_input_size_names_the_expected_features():
    with pytest.raises(ValueError, match="784"):
        MLP()(torch.zeros(2, 1, 32, 32))


def test_config_rebuilds_the_model():
    model = MLP(in_features=10, hidden_features=4, num_classes=3)
    clone = MLP(**model.config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 10)
    assert torch.equal(model(x), clone(x))
