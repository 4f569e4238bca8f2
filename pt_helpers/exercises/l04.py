"""Checkers for notebooks/04_mlp.ipynb (a tanh hidden layer's backward pass, cross-entropy with probability
targets and its gradient, the training loop of one epoch). References: autograd and ``F.cross_entropy``."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .core import ExerciseError, call_learner, checker, passed

__all__ = ["check_tanh_hidden_backward", "check_soft_cross_entropy", "check_train_one_epoch"]


def _as_array(value, name: str, what: str, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        raise ExerciseError(f"{name}: {what} should be a NumPy array (this exercise is NumPy only), got a tensor")
    arr = np.asarray(value, dtype=np.float64) if np.isscalar(value) or isinstance(value, np.ndarray) else None
    if arr is None:
        raise ExerciseError(f"{name}: {what} should be a NumPy array, got {type(value).__name__}")
    if arr.shape != shape:
        raise ExerciseError(f"{name}: {what} has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise ExerciseError(f"{name}: {what} contains inf or nan")
    return arr


@checker
def check_tanh_hidden_backward(fn: Callable) -> None:
    """``fn(x, z1, W2, d_logits) -> (dW1, db1)`` for ``h = tanh(z1)``, ``logits = h @ W2.T + b2``."""
    name = "tanh_hidden_backward"
    rng = np.random.default_rng(0)
    for B, D, H, C in ((5, 7, 4, 3), (1, 3, 6, 2)):
        x = rng.normal(size=(B, D))
        W1, b1 = rng.normal(size=(H, D)), rng.normal(size=H)
        W2 = rng.normal(size=(C, H))
        z1 = x @ W1.T + b1
        d_logits = rng.normal(size=(B, C))
        got = call_learner(fn, name, x.copy(), z1.copy(), W2.copy(), d_logits.copy())
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise ExerciseError(f"{name}: return the pair (dW1, db1)")
        dW1 = _as_array(got[0], name, "dW1", (H, D))
        db1 = _as_array(got[1], name, "db1", (H,))
        # reference: autograd through the same computation
        tW1 = torch.tensor(W1, requires_grad=True)
        tb1 = torch.tensor(b1, requires_grad=True)
        logits = torch.tanh(torch.tensor(x) @ tW1.T + tb1) @ torch.tensor(W2).T
        logits.backward(torch.tensor(d_logits))
        want_W, want_b = tW1.grad.numpy(), tb1.grad.numpy()
        if not np.allclose(db1, want_b, atol=1e-8):
            relu_like = ((d_logits @ W2) * (z1 > 0)).sum(0)
            if np.allclose(db1, relu_like):
                raise ExerciseError(f"{name}: that is the ReLU derivative; the derivative of tanh(z) is 1 - tanh(z)²")
            if np.allclose(db1, (d_logits @ W2).sum(0)):
                raise ExerciseError(f"{name}: db1 ignores the activation: multiply d_h by tanh'(z1) first")
            raise ExerciseError(f"{name}: db1 is wrong (B={B}); d_h = d_logits @ W2, d_z1 = d_h * tanh'(z1), "
                                "db1 = sum over the batch")
        if not np.allclose(dW1, want_W, atol=1e-8):
            raise ExerciseError(f"{name}: db1 is right but dW1 is not (B={B}); dW1 has the shape of W1: (H, D) = "
                                "d_z1 (B, H) transposed, times x (B, D)")
    passed(name, "matches autograd on two random networks")


@checker
def check_soft_cross_entropy(fn: Callable) -> None:
    """``fn(logits, targets) -> (loss, d_logits)``: mean cross-entropy with probability targets, and its gradient."""
    name = "soft_cross_entropy"
    rng = np.random.default_rng(1)
    cases = []
    logits = rng.normal(size=(6, 4)) * 3
    cases.append(("random logits, soft targets", logits, rng.dirichlet(np.ones(4), size=6)))
    y = np.array([2, 0, 1])
    cases.append(("one-hot targets", rng.normal(size=(3, 5)), np.eye(5)[y]))
    cases.append(("very large logits", np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 5.0]]),
                  np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])))
    for what, logits, targets in cases:
        got = call_learner(fn, name, logits.copy(), targets.copy())
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise ExerciseError(f"{name}: return the pair (loss, d_logits)")
        t_logits = torch.tensor(logits, requires_grad=True)
        want = F.cross_entropy(t_logits, torch.tensor(targets))
        want.backward()
        if what == "very large logits":
            _explain_non_finite(name, got, t_logits.grad.numpy())
        loss = _as_array(got[0], name, "the loss", ())
        grad = _as_array(got[1], name, "d_logits", logits.shape)
        if not np.isclose(float(loss), want.item(), rtol=1e-7, atol=1e-9):
            if what != "very large logits":
                hint = "; loss = mean over the batch of -sum_c t_c log p_c"
            elif np.allclose(grad, t_logits.grad.numpy(), atol=1e-9):  # softmax right, its log is not
                hint = _UNDERFLOW
            else:
                hint = " (subtract the row maximum before exp, or use log-sum-exp: exp(1000) overflows)"
            raise ExerciseError(f"{name}: wrong loss for {what}{hint}")
        if not np.allclose(grad, t_logits.grad.numpy(), atol=1e-9):
            summed = t_logits.grad.numpy() * len(logits)
            hint = " (divide by the batch size: the loss is a mean)" if np.allclose(grad, summed) else \
                "; d_logits = (softmax(logits) - targets) / B"
            raise ExerciseError(f"{name}: the loss is right but d_logits is wrong for {what}{hint}")
    passed(name, "loss and gradient match F.cross_entropy with probability targets, also for huge logits")


_UNDERFLOW = (" (softmax underflows to exactly 0 for a logit far below its row's maximum, and these targets put "
              "weight on such classes, so log(softmax) is -inf or loses all precision there: compute the "
              "log-probabilities directly from the shifted logits, as z − logsumexp(z), instead of taking "
              "the log of softmax)")


def _explain_non_finite(name: str, got, want_grad: np.ndarray) -> None:
    """inf/nan for huge logits: say whether exp overflowed or the log of an underflowed softmax was taken
    (then softmax itself, hence d_logits, is right)."""
    if isinstance(got[0], torch.Tensor) or isinstance(got[1], torch.Tensor):
        return  # _as_array explains wrong types
    try:
        loss, grad = (np.asarray(v, dtype=np.float64) for v in got)
    except (TypeError, ValueError):
        return
    if np.all(np.isfinite(loss)):
        return
    if grad.shape == want_grad.shape and np.allclose(grad, want_grad, atol=1e-9):
        raise ExerciseError(f"{name}: the loss contains inf or nan for very large logits, although d_logits is "
                            f"right{_UNDERFLOW}")
    raise ExerciseError(f"{name}: the loss contains inf or nan for very large logits: exp(1000) overflows; "
                        "subtract the row maximum before exp (the log-sum-exp trick)")


def _reference_epoch(model, batches, loss_fn, optimizer) -> float:
    model.train()
    total, count = 0.0, 0
    for x, y in batches:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


@checker
def check_train_one_epoch(fn: Callable) -> None:
    """``fn(model, batches, loss_fn, optimizer) -> mean loss per sample``; parameters as after a reference epoch."""
    name = "train_one_epoch"
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(n, 3, 4, generator=g), torch.randint(0, 3, (n,), generator=g)) for n in (16, 16, 16, 5)]

    def setup():
        m = copy.deepcopy(model)
        return m, torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

    ref_model, ref_opt = setup()
    ref_loss = _reference_epoch(ref_model, batches, nn.CrossEntropyLoss(), ref_opt)
    learner_model, learner_opt = setup()
    learner_model.eval()  # the learner's loop must switch to training mode itself
    got = call_learner(fn, name, learner_model, batches, nn.CrossEntropyLoss(), learner_opt)
    try:
        got = float(got)
    except (TypeError, ValueError) as err:
        raise ExerciseError(f"{name}: return the mean loss as a number (use loss.item()), "
                            f"got {type(got).__name__}") from err
    if not learner_model.training:
        raise ExerciseError(f"{name}: the model is still in eval mode; call model.train() at the start of the epoch")
    same = all(torch.allclose(p, q, atol=1e-6) for p, q in zip(learner_model.parameters(), ref_model.parameters()))
    if not same:
        untouched = all(torch.equal(p, q) for p, q in zip(learner_model.parameters(), model.parameters()))
        if untouched:
            raise ExerciseError(f"{name}: the parameters did not change. Did optimizer.step() run after "
                                "loss.backward(), and were the gradients still there when it ran? Zero them "
                                "before backward, not between backward and step")
        raise ExerciseError(f"{name}: the parameters differ from one correct epoch: clear old gradients with "
                            "optimizer.zero_grad() before every loss.backward(), then optimizer.step(), once per batch")
    if abs(got - ref_loss) > 1e-5:
        plain = sum(_batch_losses(model, batches)) / len(batches)
        hint = (" (that looks like the mean of batch means: weight each batch by its size)"
                if abs(got - plain) < 1e-6 else "")
        raise ExerciseError(f"{name}: the parameters are right but the returned mean loss is off{hint}; "
                            "sum loss.item() * len(y) over the batches and divide by the number of samples")
    passed(name, "parameters and mean loss match a reference epoch")


def _batch_losses(model, batches):
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    out = []
    for x, y in batches:
        loss = nn.CrossEntropyLoss()(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out
