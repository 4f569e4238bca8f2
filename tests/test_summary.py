"""pt_helpers.summary: parameter counts, a side-effect-free torchsummary, thop MACs vs FlopCounterMode."""

from __future__ import annotations

import copy
import inspect
import warnings

import pytest
import torch
from torch import nn

with warnings.catch_warnings():  # thop 0.1.1 uses distutils' LooseVersion at import
    warnings.simplefilter("ignore", DeprecationWarning)
    import thop

from pt_helpers.summary import FlopReport, ParamCount, count_flops, count_parameters, torchsummary_table


class ConvLinear(nn.Module):
    """Only Conv2d and Linear layers do arithmetic: thop and FlopCounterMode must agree up to 2x."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)  # with bias
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4, bias=False)
        self.act = nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 5 * 5, 10))

    def forward(self, x):
        return self.head(self.act(self.conv2(self.act(self.conv1(x)))))


class WithBN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


def hand_macs_conv_linear(batch: int) -> int:
    conv1 = batch * 8 * 10 * 10 * (3 * 3 * 3)  # output elements x (in_c/groups x k x k)
    conv2 = batch * 8 * 5 * 5 * ((8 // 4) * 3 * 3)
    fc = batch * 200 * 10
    return conv1 + conv2 + fc


# ---------------------------------------------------------------- parameters

def test_count_parameters_total_trainable_and_children():
    model = ConvLinear()
    model.conv1.requires_grad_(False)
    counts = count_parameters(model)
    assert isinstance(counts, ParamCount)
    assert counts.total == sum(p.numel() for p in model.parameters())
    assert counts.trainable == counts.total - sum(p.numel() for p in model.conv1.parameters())
    assert counts.children["conv1"] == (8 * 3 * 9 + 8, 0)
    assert counts.children["head"] == (2010, 2010)
    assert counts.children["act"] == (0, 0)
    text = str(counts)
    assert "conv1" in text and f"{counts.total:,}" in text


def test_count_parameters_counts_a_shared_weight_once():
    lin = nn.Linear(4, 4)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert count_parameters(model).total == 20


def test_count_parameters_rejects_non_modules():
    with pytest.raises(TypeError, match="count_parameters"):
        count_parameters([nn.Linear(2, 2)])


# ---------------------------------------------------------------- torchsummary

def test_torchsummary_defaults_to_cuda_which_is_why_we_pass_the_device():
    import torchsummary

    assert inspect.signature(torchsummary.summary).parameters["device"].default == "cuda"


def test_torchsummary_table_has_no_side_effects():
    torch.manual_seed(0)
    model = WithBN().train()  # train mode: a raw torchsummary forward would update BN statistics
    before = copy.deepcopy(model.state_dict())
    rng = torch.get_rng_state()
    table = torchsummary_table(model, (1, 8, 8))
    assert f"Total params: {count_parameters(model).total:,}" in table
    assert "[-1, 4, 6, 6]" in table  # the conv output shape, batch shown as -1
    assert model.training
    assert torch.equal(torch.get_rng_state(), rng), "torchsummary's torch.rand must not advance the global RNG"
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed"


def test_raw_torchsummary_does_change_batchnorm_buffers():
    """Control for the test above: the side effect is real."""
    import contextlib
    import io

    import torchsummary

    model = WithBN().train()
    with contextlib.redirect_stdout(io.StringIO()):
        torchsummary.summary(model, (1, 8, 8), device="cpu")
    assert model.features[1].num_batches_tracked.item() == 1


# ---------------------------------------------------------------- FLOPs

def test_count_flops_matches_hand_count_and_factor_two():
    report = count_flops(ConvLinear(), torch.randn(2, 3, 10, 10))
    assert isinstance(report, FlopReport)
    assert report.thop_macs == hand_macs_conv_linear(2)
    assert report.counter_flops == 2 * report.thop_macs  # one multiply-add = 2 FLOPs
    assert report.ratio == 2.0
    assert report.params == sum(p.numel() for p in ConvLinear().parameters())
    assert "2.00" in str(report)


def test_count_flops_leaves_no_thop_buffers_and_keeps_state():
    model = ConvLinear()
    keys = list(model.state_dict())
    count_flops(model, torch.randn(1, 3, 10, 10))
    assert list(model.state_dict()) == keys
    assert not any(hasattr(m, "total_ops") for m in model.modules())


def test_raw_thop_leaves_buffers_on_unregistered_modules():
    """Control: why count_flops works on a copy. thop pops its buffers only from layers it has rules for."""
    model = ConvLinear()
    thop.profile(model, inputs=(torch.randn(1, 3, 10, 10),), verbose=False)
    assert "total_ops" in model.state_dict()


def test_count_flops_with_batchnorm_differs_and_says_so():
    report = count_flops(WithBN(), torch.randn(1, 1, 8, 8))
    # thop counts 4 ops per BatchNorm element (normalise: 2, affine scale and shift: 2);
    # FlopCounterMode counts only matmul/conv
    conv = 4 * 6 * 6 * 9
    fc = 144 * 3
    assert report.counter_flops == 2 * (conv + fc)
    assert report.thop_macs == conv + fc + 4 * 4 * 6 * 6
    assert report.ratio != 2.0
    assert "thop also counts normalisation (BatchNorm" in str(report)


def test_count_flops_relu_and_max_pooling_count_zero_in_thop():
    """The report's remark says thop skips ReLU and max pooling: a conv/ReLU/max-pool/linear model stays at 2."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 3))
    report = count_flops(model, torch.randn(1, 1, 8, 8))
    assert report.thop_macs == 4 * 6 * 6 * 9 + 36 * 3
    assert report.ratio == 2.0
    assert "one multiply-accumulate" in str(report)


def test_count_flops_rejects_bad_input():
    with pytest.raises(TypeError, match="count_flops"):
        count_flops(ConvLinear(), (1, 3, 10, 10))
