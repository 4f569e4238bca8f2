"""Checkers of lessons 00-02 accept a right answer and reject typical wrong ones with a useful message."""

from __future__ import annotations

import pytest
import torch
from exercise_helpers import assert_blank_reported

from pt_helpers.exercises import ExerciseError, l00, l01, l02
from pt_helpers.exercises.core import is_stub


def _rejects(check, fn, *words):
    with pytest.raises(ExerciseError) as info:
        check(fn)
    for w in words:
        assert w in str(info.value), str(info.value)


# --- l00 -------------------------------------------------------------------------------------------

def _choose(requested, *, cuda_available, mps_available):
    if requested in (None, "auto"):
        return torch.device("cuda" if cuda_available else "mps" if mps_available else "cpu")
    if (requested == "cuda" and not cuda_available) or (requested == "mps" and not mps_available):
        raise RuntimeError(f"{requested} is not available")
    return torch.device(requested)


def test_choose_device_accepts_the_rule(capsys):
    l00.check_choose_device(_choose)
    assert "✓ choose_device" in capsys.readouterr().out


def test_choose_device_rejects_wrong_order_strings_and_silence():
    def mps_first(requested, *, cuda_available, mps_available):
        return torch.device("mps" if mps_available else "cuda" if cuda_available else "cpu")
    _rejects(l00.check_choose_device, mps_first, "order of preference")
    _rejects(l00.check_choose_device, lambda r, **k: _choose(r, **k).type, "torch.device")

    def never_raises(requested, *, cuda_available, mps_available):
        return torch.device(requested) if requested not in (None, "auto") else _choose(
            None, cuda_available=cuda_available, mps_available=mps_available)
    _rejects(l00.check_choose_device, never_raises, "should raise")
    assert_blank_reported(l00.check_choose_device, lambda r, **k: None)


# --- l01 -------------------------------------------------------------------------------------------

def test_one_hot_checker():
    l01.check_one_hot(lambda y, n: torch.zeros(len(y), n).scatter_(1, y.unsqueeze(1), 1.0))
    _rejects(l01.check_one_hot, lambda y, n: torch.zeros(len(y), n, dtype=torch.long).scatter_(1, y.unsqueeze(1), 1),
             "float32")
    _rejects(l01.check_one_hot, lambda y, n: torch.zeros(len(y), n).scatter_(1, (y.unsqueeze(1) + 1) % n, 1.0),
             "different values")

    def mutates(y, n):
        y += 0  # in place on the caller's tensor is fine (no change) ...
        y.zero_()  # ... but this is not
        return torch.zeros(len(y), n)
    _rejects(l01.check_one_hot, mutates, "changed the labels")


def test_flatten_rows_checker():
    l01.check_flatten_rows(lambda x: x.reshape(-1, x.shape[-1]))
    _rejects(l01.check_flatten_rows, lambda x: x.contiguous().clone().view(-1, x.shape[-1]), "share memory")
    _rejects(l01.check_flatten_rows, lambda x: x.view(-1, x.shape[-1]), "raised RuntimeError")
    _rejects(l01.check_flatten_rows, lambda x: x.reshape(x.shape[-1], -1), "shape")


def _roll_by_cat(x, r, c):
    r, c = r % x.shape[0], c % x.shape[1]
    x = torch.cat([x[x.shape[0] - r:], x[: x.shape[0] - r]], dim=0)
    return torch.cat([x[:, x.shape[1] - c:], x[:, : x.shape[1] - c]], dim=1)


def test_roll2d_checker():
    l01.check_roll2d(_roll_by_cat)
    _rejects(l01.check_roll2d, lambda x, r, c: torch.roll(x, (r, c), (0, 1)), "called torch.roll")
    _rejects(l01.check_roll2d, lambda x, r, c: _roll_by_cat(x, -r, -c), "wrong values")


# --- l02 -------------------------------------------------------------------------------------------

def test_softmax_vjp_checker():
    def right(x, v):
        s = torch.softmax(x, 0)
        return s * (v - (v * s).sum())
    l02.check_softmax_vjp(right)
    _rejects(l02.check_softmax_vjp, lambda x, v: v * torch.softmax(x, 0), "different values")


def _jac(f, x):
    x = x.detach().requires_grad_()
    y = f(x)
    rows = []
    for i in range(y.numel()):
        x.grad = None
        y.backward(torch.nn.functional.one_hot(torch.tensor(i), y.numel()).to(y.dtype), retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def test_jacobian_by_backward_checker():
    l02.check_jacobian_by_backward(_jac)
    _rejects(l02.check_jacobian_by_backward, lambda f, x: _jac(f, x).T, "transposed")

    def accumulates(f, x):  # forgets to clear x.grad between rows
        x = x.detach().requires_grad_()
        y = f(x)
        rows = []
        for i in range(y.numel()):
            y.backward(torch.nn.functional.one_hot(torch.tensor(i), y.numel()).to(y.dtype), retain_graph=True)
            rows.append(x.grad.clone())
        return torch.stack(rows)
    _rejects(l02.check_jacobian_by_backward, accumulates, "different values")


def _accumulate(w, x, y, n_micro, scale=True):
    w = w.detach().requires_grad_()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        loss = ((xb @ w - yb) ** 2).mean()
        (loss / n_micro if scale else loss).backward()
    return w.grad


def test_accumulated_grad_checker():
    l02.check_accumulated_grad(_accumulate)
    _rejects(l02.check_accumulated_grad, lambda *a: _accumulate(*a, scale=False), "too large")


# --- added after review: constraints of the exercise text ------------------------------------------

def test_one_hot_requires_scatter():
    l01.check_one_hot(lambda y, n: torch.zeros(len(y), n).scatter(1, y.unsqueeze(1), 1.0))
    l01.check_one_hot(lambda y, n: torch.scatter(torch.zeros(len(y), n), 1, y.unsqueeze(1), 1.0))
    _rejects(l01.check_one_hot, lambda y, n: torch.nn.functional.one_hot(y, n).float(), "scatter_")
    from torch.nn.functional import one_hot as encode  # imported under another name before the check
    _rejects(l01.check_one_hot, lambda y, n: encode(y, n).float(), "scatter_")
    _rejects(l01.check_one_hot, lambda y, n: torch.eye(n)[y], "scatter_")
    assert torch.equal(torch.nn.functional.one_hot(torch.tensor([1]), 2), torch.tensor([[0, 1]]))


def test_softmax_vjp_rejects_building_the_jacobian():
    def with_j(x, v):
        s = torch.softmax(x, 0)
        return v @ (torch.diag(s) - torch.outer(s, s))

    def with_broadcast(x, v):
        s = torch.softmax(x, 0)
        return v @ (torch.eye(len(s), dtype=s.dtype) * s - s[:, None] * s[None, :])

    _rejects(l02.check_softmax_vjp, with_j, "without building J")
    _rejects(l02.check_softmax_vjp, with_broadcast, "without building J")


def test_is_stub_tells_the_workbook_blank_from_an_answer():
    def blank(x):
        """A docstring stays in the workbook."""
        ...  # your code here

    def answer(x):
        return None if x else 0

    class Half(torch.nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, x):
            ...

    assert is_stub(blank) and is_stub(lambda m: None) and is_stub(Half)
    assert not is_stub(answer) and not is_stub(lambda m: m.training) and not is_stub(torch.nn.Identity)
