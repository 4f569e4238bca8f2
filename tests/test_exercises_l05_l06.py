"""Checkers of lessons 05 and 06 accept right answers and explain wrong ones (without the answer)."""

from __future__ import annotations

import math

import pytest
import torch
from exercise_helpers import assert_blank_reported
from torch import nn

from pt_helpers.exercises import ExerciseError, l05, l06


def run_ok(checker, fn, capsys):
    checker(fn)
    assert "✓" in capsys.readouterr().out


def fails(checker, fn, match):
    with pytest.raises(ExerciseError, match=match):
        checker(fn)


# ---------------------------------------------------------------- l05

def test_conv_out(capsys):
    run_ok(l05.check_conv_out, lambda h, k, s, p, d: (h + 2 * p - d * (k - 1) - 1) // s + 1, capsys)
    fails(l05.check_conv_out, lambda h, k, s, p, d: (h + 2 * p - k) // s + 1, "dilation=2")  # ignores dilation
    fails(l05.check_conv_out, lambda h, k, s, p, d: (h + 2 * p - d * (k - 1) - 1) / s + 1, "use //")
    assert_blank_reported(l05.check_conv_out, lambda h, k, s, p, d: None)


def test_conv_params(capsys):
    run_ok(l05.check_conv_params, lambda i, o, k, g, b: o * (i // g) * k * k + (o if b else 0), capsys)
    fails(l05.check_conv_params, lambda i, o, k, g, b: o * i * k * k + (o if b else 0), "groups")
    fails(l05.check_conv_params, lambda i, o, k, g, b: o * (i // g) * k * k + o, "bias")
    assert_blank_reported(l05.check_conv_params, lambda i, o, k, g, b: None)


def _bn(rm, rv, x, m, unbiased=True):
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=unbiased)
    return (1 - m) * rm + m * mean, (1 - m) * rv + m * var


def test_bn_update(capsys):
    run_ok(l05.check_bn_update, _bn, capsys)
    fails(l05.check_bn_update, lambda rm, rv, x, m: _bn(rm, rv, x, m, unbiased=False), "unbiased")
    fails(l05.check_bn_update, lambda rm, rv, x, m: _bn(rm, rv, x, 1 - m), "momentum")
    fails(l05.check_bn_update, lambda rm, rv, x, m: (x.mean(), x.var()), "shape")
    assert_blank_reported(l05.check_bn_update, lambda rm, rv, x, m: None)


def _init(m, conv=None):
    if isinstance(m, nn.Conv2d):
        (conv or (lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")))(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.zeros_(m.bias)


def test_init_fn(capsys):
    run_ok(l05.check_init_fn, _init, capsys)

    def seed_note(m):  # the note's own formula passes too
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            with torch.no_grad():
                m.weight.normal_(0, math.sqrt(2.0 / n))
                m.bias.zero_()
        else:
            _init(m)

    run_ok(l05.check_init_fn, seed_note, capsys)
    assert_blank_reported(l05.check_init_fn, lambda m: None)
    fails(l05.check_init_fn, lambda m: m.training, "default init")  # runs, changes nothing
    fails(l05.check_init_fn, lambda m: _init(m, lambda w: nn.init.kaiming_normal_(w, mode="fan_in")), "fan_in")
    fails(l05.check_init_fn, lambda m: _init(m) if not isinstance(m, nn.BatchNorm2d) else None, "BatchNorm")

    def replaces(m):
        _init(m)
        if isinstance(m, nn.Linear):
            m.weight = nn.Parameter(m.weight.detach(), requires_grad=False)

    fails(l05.check_init_fn, replaces, "require grad")


# ---------------------------------------------------------------- l06



class PreAct(nn.Module):
    def __init__(self, c, final_relu=False, skip=True, bias=False):
        super().__init__()
        self.final_relu, self.skip = final_relu, skip
        self.body = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=bias),
                                  nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=bias))

    def forward(self, x):
        y = self.body(x) + (x if self.skip else 0)
        return torch.relu(y) if self.final_relu else y


class ListBlock(PreAct):
    def __init__(self, c):
        super().__init__(c)
        self.layers = list(self.body)
        del self.body

    def forward(self, x):
        y = x
        for layer in self.layers:
            y = layer(y)
        return x + y


def test_preact_block(capsys):
    run_ok(l06.check_preact_block, PreAct, capsys)
    fails(l06.check_preact_block, lambda c: PreAct(c, final_relu=True), "no ReLU after the addition")
    fails(l06.check_preact_block, lambda c: PreAct(c, skip=False), "skip connection")
    fails(l06.check_preact_block, lambda c: PreAct(c, bias=True), "without bias")
    fails(l06.check_preact_block, ListBlock, "no registered parameters")

    class Blank(PreAct):
        def forward(self, x):
            ...

    assert_blank_reported(l06.check_preact_block, Blank)


def _head(model, k):
    for p in model.parameters():
        p.requires_grad_(False)
    model.fc = nn.Linear(model.fc.in_features, k)
    return model


def test_new_head(capsys):
    run_ok(l06.check_new_head, _head, capsys)

    def unfrozen(model, k):
        model.fc = nn.Linear(model.fc.in_features, k)
        return model

    def frozen_after(model, k):
        model.fc = nn.Linear(model.fc.in_features, k)
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    def wrong_in(model, k):
        _head(model, k)
        model.fc = nn.Linear(2048, k)
        return model

    fails(l06.check_new_head, unfrozen, "still require grad")
    fails(l06.check_new_head, frozen_after, "must be trainable")
    fails(l06.check_new_head, wrong_in, "in_features")
    assert_blank_reported(l06.check_new_head, lambda model, k: None)


def _shapes(model, x, names, remove=True):
    out, handles = {}, []
    for n in names:
        handles.append(model.get_submodule(n).register_forward_hook(
            lambda m, i, o, n=n: out.__setitem__(n, tuple(o.shape))))
    with torch.no_grad():
        model(x)
    if remove:
        for h in handles:
            h.remove()
    return out


def test_feature_shapes(capsys):
    run_ok(l06.check_feature_shapes, _shapes, capsys)
    fails(l06.check_feature_shapes, lambda m, x, n: _shapes(m, x, n, remove=False), "still registered")
    fails(l06.check_feature_shapes, lambda m, x, n: {k: (1,) for k in n}, "wrong shape")
    assert_blank_reported(l06.check_feature_shapes, lambda m, x, n: None)


# ---------------------------------------------------------------- added after review: wrong answers that passed

def test_bn_update_accepts_a_list(capsys):
    run_ok(l05.check_bn_update, lambda rm, rv, x, m: list(_bn(rm, rv, x, m)), capsys)


def test_init_fn_rejects_kaiming_uniform(capsys):
    uniform = lambda w: nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")  # noqa: E731
    fails(l05.check_init_fn, lambda m: _init(m, uniform), "normal")

    def uniform_linear(m):
        _init(m)
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -0.01 * math.sqrt(3), 0.01 * math.sqrt(3))  # std 0.01, but not normal

    fails(l05.check_init_fn, uniform_linear, "normal")
    for _ in range(3):  # the right answer passes every time (the checker seeds its own model)
        run_ok(l05.check_init_fn, _init, capsys)


def test_init_fn_kurtosis_margin():
    """Normal samples of the checked layers' sizes stay far from the threshold; uniform ones far below it."""
    for seed in range(10):
        g = torch.Generator().manual_seed(seed)
        for n in (64 * 32 * 9, 400 * 256):
            assert abs(l05._kurtosis(torch.randn(n, generator=g)) - 3) < 0.25
            assert l05._kurtosis(torch.rand(n, generator=g)) < 1.9


def test_init_fn_std_hint_follows_the_direction():
    with pytest.raises(ExerciseError) as info:  # gain 1 instead of √2: too small, not a fan_in mistake
        l05.check_init_fn(lambda m: _init(m, lambda w: nn.init.kaiming_normal_(w, mode="fan_out",
                                                                                 nonlinearity="linear")))
    assert "too small" in str(info.value) and "fan_in" not in str(info.value)
    with pytest.raises(ExerciseError) as info:
        l05.check_init_fn(lambda m: _init(m, lambda w: nn.init.kaiming_normal_(w, mode="fan_in")))
    assert "too large" in str(info.value) and "fan_in" in str(info.value)


class SeparateLayers(nn.Module):  # the right block written with one attribute per layer
    def __init__(self, c):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c, c, 3, padding="same", bias=False)

    def forward(self, x):
        out = self.conv1(torch.relu(self.bn1(x)))
        return x + self.conv2(nn.functional.relu(self.bn2(out)))


class Ordered(nn.Module):
    """A block whose branch is ``layers`` in order, plus an identity skip."""

    def __init__(self, c, *kinds, pre=None):
        super().__init__()
        make = {"bn": lambda: nn.BatchNorm2d(c), "relu": nn.ReLU,
                "conv": lambda: nn.Conv2d(c, c, 3, padding=1, bias=False)}
        self.branch = nn.Sequential(*(make[k]() for k in kinds))
        self.pre = pre

    def forward(self, x):
        return x + self.branch(self.pre(x) if self.pre else x)


def test_preact_block_checks_the_pre_activation_order(capsys):
    run_ok(l06.check_preact_block, SeparateLayers, capsys)
    fails(l06.check_preact_block, lambda c: Ordered(c, "conv", "bn", "relu", "conv", "bn"), "order")  # ResNet v1
    fails(l06.check_preact_block, lambda c: Ordered(c, "conv", "bn", "relu", "conv", "bn", "relu"), "order")
    fails(l06.check_preact_block, lambda c: Ordered(c, "bn", "conv", "bn", "conv"), "ReLU")
    fails(l06.check_preact_block, lambda c: Ordered(c, "bn", "relu", "conv", "relu", "bn", "conv"), "ReLU")
    fails(l06.check_preact_block, lambda c: Ordered(c, "bn", "relu", "conv", "bn", "relu", "conv", pre=torch.relu),
          "x itself")
    with pytest.raises(ExerciseError) as info:
        l06.check_preact_block(lambda c: Ordered(c, "conv", "bn", "relu", "conv", "bn"))
    assert "BN→ReLU→conv" not in str(info.value)  # the hint names the problem, not the answer's formula


def test_new_head_reads_in_features_from_the_old_layer():
    def hard_coded(model, k):
        for p in model.parameters():
            p.requires_grad_(False)
        model.fc = nn.Linear(512, k)
        return model

    fails(l06.check_new_head, hard_coded, "in_features")
    assert l06._head_model().fc.in_features != 512
