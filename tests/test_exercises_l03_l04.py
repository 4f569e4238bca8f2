"""Checkers of lessons 03-04 accept a right answer and reject typical wrong ones with a useful message."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from exercise_helpers import assert_blank_reported
from torch.utils.data import Dataset, Subset, random_split

from pt_helpers.exercises import ExerciseError, l03, l04


def _rejects(check, answer, *words):
    with pytest.raises(ExerciseError) as info:
        check(answer)
    for w in words:
        assert w in str(info.value), str(info.value)


# --- l03: pixel_stats -------------------------------------------------------------------------------

def _stats(loader, *, unbiased=False, per_batch=False):  # streaming: one batch at a time
    xs = [x.double() for x, _ in loader]
    if per_batch:
        return float(np.mean([x.mean().item() for x in xs])), float(np.mean([x.std(unbiased=False).item() for x in xs]))
    n = sum(x.numel() for x in xs)
    mean = sum(x.sum().item() for x in xs) / n
    squares = sum(((x - mean) ** 2).sum().item() for x in xs)
    return mean, (squares / (n - 1 if unbiased else n)) ** 0.5


def _concatenated(loader):
    allx = torch.cat([x.double().flatten() for x, _ in loader])
    return allx.mean().item(), allx.std(unbiased=False).item()


def test_pixel_stats_accepts_streaming_answers(capsys):
    l03.check_pixel_stats(_stats)
    assert "✓ pixel_stats" in capsys.readouterr().out


def test_pixel_stats_rejects_typical_mistakes():
    _rejects(l03.check_pixel_stats, lambda loader: _stats(loader, unbiased=True), "n - 1")
    _rejects(l03.check_pixel_stats, lambda loader: _stats(loader, per_batch=True), "batch means")
    _rejects(l03.check_pixel_stats, lambda loader: (0.5, 0.5), "never iterated")
    _rejects(l03.check_pixel_stats, lambda loader: (_stats(loader)[0] + 0.01, _stats(loader)[1]), "mean is off")
    _rejects(l03.check_pixel_stats, lambda loader: 0.3, "pair")
    assert_blank_reported(l03.check_pixel_stats, lambda loader: None)

    def right_mean_batch_std(loader):
        mean = _stats(loader)[0]
        return mean, _stats(loader, per_batch=True)[1]
    _rejects(l03.check_pixel_stats, right_mean_batch_std, "per-batch stds")


# --- l03: CentreDataset -----------------------------------------------------------------------------

class _Centre(Dataset):
    def __init__(self, canvases, *, scale=255, label="centre", length=None):
        self.c, self.scale, self.label, self.length = canvases, scale, label, length

    def __len__(self):
        return self.length if self.length is not None else len(self.c)

    def __getitem__(self, i):
        image = self.c.images[i].float() / self.scale
        if self.label == "centre":
            return image, self.c.centre_labels[i]
        if self.label == "int":
            return image, int(self.c.centre_labels[i])
        return image, self.c.masks[i]


def test_centre_dataset_accepts_a_right_dataset(capsys):
    l03.check_centre_dataset(_Centre)
    assert "✓ CentreDataset" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, words", [
    (dict(scale=1), "divide"),
    (dict(label="int"), "int64 scalar"),
    (dict(label="mask"), "int64 scalar"),
    (dict(length=3), "one item per canvas"),
])
def test_centre_dataset_rejects_wrong_items(kwargs, words):
    _rejects(l03.check_centre_dataset, lambda canvases: _Centre(canvases, **kwargs), words)


def test_centre_dataset_blank_methods_are_explained():
    class Blank(Dataset):
        def __init__(self, canvases):
            self.c = canvases

        def __len__(self):
            ...

        def __getitem__(self, i):
            ...
    assert_blank_reported(l03.check_centre_dataset, Blank)


# --- l03: split -------------------------------------------------------------------------------------

def _split(dataset, frac, seed):
    n_val = round(frac * len(dataset))
    return random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))


def test_split_accepts_random_split_and_a_permutation(capsys):
    l03.check_split(_split)

    def by_permutation(dataset, frac, seed):
        order = np.random.default_rng(seed).permutation(len(dataset)).tolist()
        n_val = round(frac * len(dataset))
        return Subset(dataset, order[n_val:]), Subset(dataset, order[:n_val])
    l03.check_split(by_permutation)
    assert capsys.readouterr().out.count("✓ split") == 2


def test_split_rejects_unseeded_unshuffled_and_wrong_sizes():
    _rejects(l03.check_split, lambda d, f, s: random_split(d, [1 - f, f]), "same seed")

    def no_shuffle(d, f, s):
        n_val = round(f * len(d))
        return Subset(d, range(len(d) - n_val)), Subset(d, range(len(d) - n_val, len(d)))
    _rejects(l03.check_split, no_shuffle, "seed")
    _rejects(l03.check_split, lambda d, f, s: _split(d, 0.5, s), "expected")

    def overlapping(d, f, s):  # right sizes, but val is drawn independently of train
        n_val = round(f * len(d))
        order = np.random.default_rng(s).permutation(len(d)).tolist()
        return Subset(d, order[n_val:]), Subset(d, np.random.default_rng(s + 1).permutation(len(d))[:n_val].tolist())
    _rejects(l03.check_split, overlapping, "disjoint")


# --- l04: tanh hidden backward ----------------------------------------------------------------------

def _tanh_backward(x, z1, W2, d):
    d_z1 = (d @ W2) * (1 - np.tanh(z1) ** 2)
    return d_z1.T @ x, d_z1.sum(axis=0)


def test_tanh_backward_accepts_the_right_answer(capsys):
    l04.check_tanh_hidden_backward(_tanh_backward)
    assert "✓ tanh_hidden_backward" in capsys.readouterr().out


def test_tanh_backward_rejects_typical_mistakes():
    relu = lambda x, z1, W2, d: (((d @ W2) * (z1 > 0)).T @ x, ((d @ W2) * (z1 > 0)).sum(0))  # noqa: E731
    _rejects(l04.check_tanh_hidden_backward, relu, "ReLU")
    no_act = lambda x, z1, W2, d: ((d @ W2).T @ x, (d @ W2).sum(0))  # noqa: E731
    _rejects(l04.check_tanh_hidden_backward, no_act, "ignores the activation")
    transposed = lambda x, z1, W2, d: (x.T @ ((d @ W2) * (1 - np.tanh(z1) ** 2)),  # noqa: E731
                                       ((d @ W2) * (1 - np.tanh(z1) ** 2)).sum(0))
    _rejects(l04.check_tanh_hidden_backward, transposed, "shape")
    assert_blank_reported(l04.check_tanh_hidden_backward, lambda *a: None)
    as_tensors = lambda *a: tuple(torch.from_numpy(v) for v in _tanh_backward(*a))  # noqa: E731
    _rejects(l04.check_tanh_hidden_backward, as_tensors, "NumPy")


# --- l04: soft cross-entropy ------------------------------------------------------------------------

def _soft_ce(logits, t, *, stable=True, mean_grad=True):
    z = logits - logits.max(axis=1, keepdims=True) if stable else logits
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    B = len(logits)
    grad = np.exp(log_p) - t
    return -(t * log_p).sum() / B, grad / B if mean_grad else grad


def test_soft_cross_entropy_accepts_the_right_answer(capsys):
    l04.check_soft_cross_entropy(_soft_ce)
    assert "✓ soft_cross_entropy" in capsys.readouterr().out


def test_soft_cross_entropy_rejects_unstable_and_unscaled_answers():
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _rejects(l04.check_soft_cross_entropy, lambda lg, t: _soft_ce(lg, t, stable=False), "inf or nan", "overflows")
    _rejects(l04.check_soft_cross_entropy, lambda lg, t: _soft_ce(lg, t, mean_grad=False), "divide by the batch size")
    _rejects(l04.check_soft_cross_entropy, lambda lg, t: (_soft_ce(lg, t)[0] * 2, _soft_ce(lg, t)[1]), "wrong loss")


# --- l04: train_one_epoch ---------------------------------------------------------------------------

def _epoch(model, batches, loss_fn, optimizer, *, zero_grad=True, step=True, train=True, weighted=True):
    if train:
        model.train()
    total, count, losses = 0.0, 0, []
    for x, y in batches:
        loss = loss_fn(model(x), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        if step:
            optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
        losses.append(loss.item())
    return total / count if weighted else sum(losses) / len(losses)


def test_train_one_epoch_accepts_the_right_loop(capsys):
    l04.check_train_one_epoch(_epoch)
    assert "✓ train_one_epoch" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, words", [
    (dict(zero_grad=False), "zero_grad"),
    (dict(step=False), "optimizer.step()"),
    (dict(train=False), "model.train()"),
    (dict(weighted=False), "batch means"),
])
def test_train_one_epoch_rejects_typical_mistakes(kwargs, words):
    _rejects(l04.check_train_one_epoch, lambda *a: _epoch(*a, **kwargs), words)


def test_train_one_epoch_blank_is_explained():
    assert_blank_reported(l04.check_train_one_epoch, lambda *a: None)


# --- added after review: wrong answers that passed or got no hint ----------------------------------

def _streaming(loader):
    count, total, total_sq = 0, 0.0, 0.0
    for x, _ in loader:
        x = x.double()
        count, total, total_sq = count + x.numel(), total + x.sum().item(), total_sq + (x * x).sum().item()
    mean = total / count
    return mean, (total_sq / count - mean * mean) ** 0.5


def test_pixel_stats_rejects_concatenating_the_data_set(capsys):
    l03.check_pixel_stats(_streaming)
    assert "✓ pixel_stats" in capsys.readouterr().out
    _rejects(l03.check_pixel_stats, _concatenated, "concatenat")

    def stacked(loader):
        from torch import stack as glue  # another name does not help
        allx = glue([x.double() for x, _ in loader for x in x])
        return allx.mean().item(), allx.std(unbiased=False).item()
    _rejects(l03.check_pixel_stats, stacked, "concatenat")


def _soft_ce_log_softmax(logits, t):  # the common "stable" answer: shift, softmax, then log of it
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -(t * np.log(p)).sum() / len(logits), (p - t) / len(logits)


def test_soft_cross_entropy_explains_log_of_underflowed_softmax():
    with np.errstate(divide="ignore", invalid="ignore"):
        _rejects(l04.check_soft_cross_entropy, _soft_ce_log_softmax, "underflows", "logsumexp")

    def clipped(logits, t):  # log(p + tiny) is finite but wrong where the targets weigh a far-off class
        loss, grad = _soft_ce_log_softmax(logits, t)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return -(t * np.log(p + 1e-12)).sum() / len(logits), grad
    with np.errstate(divide="ignore", invalid="ignore"):
        _rejects(l04.check_soft_cross_entropy, clipped, "underflows")


def test_train_one_epoch_zero_grad_between_backward_and_step():
    def late_zero(model, batches, loss_fn, optimizer):
        model.train()
        total, count = 0.0, 0
        for x, y in batches:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.zero_grad()
            optimizer.step()
            total, count = total + loss.item() * len(y), count + len(y)
        return total / count
    _rejects(l04.check_train_one_epoch, late_zero, "before backward", "optimizer.step()")
