"""The training loop of lesson 04, packaged: ``fit`` / ``evaluate`` / ``predict`` / ``resume``.

Taught in notebooks/05_cnn.ipynb (after notebooks/04_mlp.ipynb wrote the loop by hand).

What ``fit`` does, and what it never does:

* it returns a history dict and reports through callbacks (:mod:`pt_helpers.callbacks`);
* it never plots, never re-initialises weights, and never moves the model: the model must already
  be on ``device`` (``model.to(device)`` *before* building the optimizer), otherwise it raises.
  Batches are moved to ``device`` (a no-op for a ``TensorLoader`` that already lives there);
* it hands the model back in the mode (train/eval) it received it in;
* with ``checkpoint=path`` it saves a resumable checkpoint after every epoch (atomically), and
  :func:`resume` continues an interrupted run to the same final weights, bit for bit on CPU.

Accuracy is ``argmax`` over dim 1 compared with the target, so it covers classification
(``(B, C)`` logits vs ``(B,)`` labels) and segmentation (``(B, C, H, W)`` vs ``(B, H, W)``, counted
per pixel). Soft targets shaped like the output are compared through their own argmax.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .callbacks import Callback
from .checkpoint import load_checkpoint, loader_generators, restore_rng, save_checkpoint
from .progress import progress_bar

__all__ = ["HISTORY_KEYS", "fit", "resume", "evaluate", "predict", "accuracy", "count_correct", "run_eval"]

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type == "cuda":
        current = torch.cuda.current_device() if torch.cuda.is_available() else 0
        return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)
    return a.index is None or b.index is None or a.index == b.index


def _check_on_device(model: nn.Module, device: torch.device, where: str) -> None:
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        if not _same_device(t.device, device):
            raise ValueError(f"{where}(device={str(device)!r}): the model's {name!r} is on {t.device}. "
                             f"Call model.to(device) yourself first (before creating the optimizer); "
                             f"{where} never moves a model silently.")


def _split(batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(f"expected the loader to yield (inputs, targets) pairs, got {type(batch).__name__}")
    x, y = batch[0], batch[1]
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def count_correct(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Argmax hits and the number of targets, for summing over batches (see :func:`accuracy`).

    Returns:
        ``(hits, n)``: ``hits`` a 0-dim int64 tensor on the output's device (summed on the device:
        :func:`evaluate` reads it once per loader), ``n`` a Python int.
    """
    if target.is_floating_point():
        if target.shape != output.shape:
            raise ValueError(f"accuracy: float targets must have the output's shape {tuple(output.shape)}, "
                             f"got {tuple(target.shape)}")
        target = target.argmax(1)
    pred = output.argmax(1)
    if pred.shape != target.shape:
        raise ValueError(f"accuracy: argmax of the output has shape {tuple(pred.shape)} but the targets "
                         f"have shape {tuple(target.shape)}; expected (B, C, ...) outputs for (B, ...) targets")
    return (pred == target).sum(), target.numel()


def accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of targets whose class is the output's argmax over dim 1.

    Taught in notebooks/04_mlp.ipynb (written by hand there).

    Args:
        output: ``(B, C)`` logits or probabilities, or ``(B, C, H, W)`` per-pixel scores.
        target: ``(B,)`` / ``(B, H, W)`` class indices, or float (soft) targets shaped like ``output``
            (compared through their own argmax).
    Returns:
        A float in [0, 1]; for segmentation, counted per pixel.
    """
    hits, n = count_correct(output, target)
    return hits.item() / n


def _lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def run_eval(model: nn.Module, loader: Iterable, consume: Callable[[torch.Tensor, torch.Tensor], None],
             device: torch.device | str) -> None:
    """The one evaluation loop: ``consume(output, target)`` for every batch, in eval mode, without autograd.

    Used by :func:`evaluate`, :func:`predict` and :func:`pt_helpers.metrics.evaluate_segmentation`.
    The model must already be on ``device`` (checked, never moved); each batch is moved there. The loop
    runs under ``torch.inference_mode()`` and the model's train/eval mode is restored afterwards.

    Args:
        model: the model, on ``device``.
        loader: yields ``(inputs, targets, ...)`` batches.
        consume: called with the ``(B, ...)`` output and the targets of each batch, both on ``device``
            (inference tensors: accumulate them, e.g. ``hits += ...``, or copy them out).
        device: where the model is.
    """
    device = torch.device(device)
    _check_on_device(model, device, "run_eval")
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in loader:
                x, y = _split(batch, device)
                consume(model(x), y)
    finally:
        model.train(was_training)


def _loss_and_accuracy(model: nn.Module, loader: Iterable, loss_fn: LossFn, device: torch.device,
                       where: str, loader_name: str = "loader") -> dict[str, float]:
    _check_on_device(model, device, where)
    # running sums stay on the device: evaluation needs no number per batch, so nothing waits for the GPU
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    hits = torch.zeros((), device=device, dtype=torch.int64)
    counts = [0, 0]  # items, targets

    def consume(out: torch.Tensor, y: torch.Tensor) -> None:
        h, n = count_correct(out, y)
        loss_sum.add_(loss_fn(out, y).double() * len(out))
        hits.add_(h)
        counts[0] += len(out)
        counts[1] += n

    run_eval(model, loader, consume, device)
    if counts[0] == 0:
        raise ValueError(f"{where}({loader_name}): the loader yielded no batches")
    return {"loss": loss_sum.item() / counts[0], "acc": hits.item() / counts[1]}


def evaluate(model: nn.Module, loader: Iterable, loss_fn: LossFn, device: torch.device | str) -> dict[str, float]:
    """Mean loss (per sample) and accuracy over a loader, in eval mode and without gradients.

    The model's train/eval mode is restored afterwards; it must already be on ``device``.
    Returns:
        ``{"loss": float, "acc": float}``.
    """
    return _loss_and_accuracy(model, loader, loss_fn, torch.device(device), "evaluate")


def predict(model: nn.Module, loader: Iterable, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """All outputs and targets of a loader, concatenated on the CPU (for confusion matrices, errors).

    Returns:
        ``(outputs, targets)``, e.g. ``(N, C)`` logits and ``(N,)`` labels.
    """
    device = torch.device(device)
    _check_on_device(model, device, "predict")
    outs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []
    run_eval(model, loader, lambda out, y: (outs.append(out.cpu()), ys.append(y.cpu())), device)
    return torch.cat(outs), torch.cat(ys)  # outside inference_mode: ordinary tensors


def _check_args(epochs: int, scheduler: Any, scheduler_interval: str) -> None:
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"fit(epochs={epochs!r}): expected a positive int")
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"fit(scheduler_interval={scheduler_interval!r}): expected 'epoch' or 'batch'")
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and scheduler_interval == "batch":
        raise ValueError("fit: ReduceLROnPlateau watches a metric once per epoch; use scheduler_interval='epoch'")


def fit(model: nn.Module, train_loader: Iterable, val_loader: Iterable | None, *, epochs: int,
        optimizer: torch.optim.Optimizer, loss_fn: LossFn, scheduler: Any = None,
        scheduler_interval: str = "epoch", device: torch.device | str, callbacks: Sequence[Callback] = (),
        quiet: bool = False, checkpoint: str | os.PathLike | None = None) -> dict[str, list]:
    """Train for ``epochs`` epochs, validating after each; return the history.

    Args:
        model: already on ``device`` (checked; never moved, never re-initialised).
        train_loader, val_loader: anything yielding ``(x, y)`` batches with a ``len()``
            (``TensorLoader``, ``DataLoader``); ``val_loader`` may be None.
        epochs: the total number of epochs of the run.
        optimizer, loss_fn: ``loss_fn(output, target)`` returns the mean loss of a batch.
        scheduler: optional LR scheduler, stepped once per epoch or once per batch
            (``scheduler_interval``); ``ReduceLROnPlateau`` is stepped with the validation loss
            (the training loss without a validation loader).
        device: where batches go (the model must already be there).
        callbacks: :class:`pt_helpers.callbacks.Callback` objects; epochs and steps count from 0.
        quiet: no progress bar and no per-epoch line.
        checkpoint: a path: save a resumable checkpoint there after every epoch (see :func:`resume`).
    Returns:
        History dict of per-epoch lists: ``train_loss`` and ``train_acc`` (running means over the
        epoch, in train mode, on augmented batches), ``val_loss`` and ``val_acc`` (None without a
        validation loader), ``lr`` (group 0's rate for the epoch's last batch) and ``seconds``.
    """
    return _fit(model, train_loader, val_loader, epochs=epochs, optimizer=optimizer, loss_fn=loss_fn,
                scheduler=scheduler, scheduler_interval=scheduler_interval, device=device, callbacks=callbacks,
                quiet=quiet, checkpoint=checkpoint, resume_from=None)


def resume(checkpoint: str | os.PathLike, model: nn.Module, train_loader: Iterable, val_loader: Iterable | None,
           **fit_kwargs: Any) -> dict[str, list]:
    """Continue the run that saved ``checkpoint`` (via ``fit(..., checkpoint=path)``).

    Build the model, optimizer, scheduler and loaders exactly as the original run did, then call
    ``resume(path, model, train_loader, val_loader, **same_fit_kwargs)``. Weights, optimizer and
    scheduler state, history, and every RNG (Python, NumPy, torch, CUDA, the loader's generator) are
    restored, so the result equals an uninterrupted run. New checkpoints go to the same path.
    Returns:
        The full history (the epochs before the interruption included).
    """
    fit_kwargs.setdefault("checkpoint", checkpoint)
    return _fit(model, train_loader, val_loader, resume_from=checkpoint, **fit_kwargs)


def _fit(model, train_loader, val_loader, *, epochs, optimizer, loss_fn, scheduler, scheduler_interval, device,
         callbacks=(), quiet=False, checkpoint=None, resume_from=None) -> dict[str, list]:
    device = torch.device(device)
    _check_args(epochs, scheduler, scheduler_interval)
    _check_on_device(model, device, "fit")
    callbacks = list(callbacks)
    history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
    start, rng = 0, None
    if resume_from is not None:
        state = load_checkpoint(resume_from, model=model, optimizer=optimizer, scheduler=scheduler)
        gens = loader_generators(train_loader)
        saved = state["loader_rng"][0] if state["loader_rng"] else []
        if len(saved) != len(gens):
            raise ValueError(f"{resume_from}: holds {len(saved)} train loader generator state(s), but this "
                             f"train loader has {len(gens)}; build the loader as the original run did")
        for g, s in zip(gens, saved):
            g.set_state(s)
        start, rng = state["epoch"], state["rng"]
        history = {k: list(state["history"].get(k, [])) for k in HISTORY_KEYS}
        if not quiet:
            tqdm.write(f"resuming {resume_from} after epoch {start}/{epochs}")
    steps = len(train_loader)
    for cb in callbacks:
        cb.on_train_begin({"epochs": epochs, "steps_per_epoch": steps, "model": model})
    if rng is not None:
        restore_rng(rng)  # after on_train_begin, so a callback drawing random numbers cannot shift the run
    was_training = model.training
    step = start * steps
    bar = progress_bar((epochs - start) * steps, disable=quiet)  # one bar for the run; keeps its end in the file
    try:
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            model.train()
            # Python numbers: loss.item() below already waits for the device every batch (the NaN check,
            # the progress bar and the callbacks need the value), so device-side sums would save no wait.
            # benchmarks/bench_fit_bookkeeping.py: same sums to the bit, less per-batch work on the CPU.
            loss_sum, hits, n_items, n_targets = 0.0, 0, 0, 0
            bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
            for batch in train_loader:
                x, y = _split(batch, device)
                out = model(x)
                loss = loss_fn(out, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                lr = _lr(optimizer)
                if scheduler is not None and scheduler_interval == "batch":
                    scheduler.step()
                h, n = count_correct(out.detach(), y)  # queued before the wait below, so int(h) waits for nothing
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError(f"fit: the loss became {value} in epoch {epoch + 1}, step {step}; "
                                             "lower the learning rate or check the inputs")
                loss_sum += value * len(x)
                hits += int(h)
                n_items, n_targets = n_items + len(x), n_targets + n
                for cb in callbacks:
                    cb.on_batch_end(step, {"epoch": epoch, "loss": value, "lr": lr})
                step += 1
                bar.update()
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            if n_items == 0:
                raise ValueError("fit(train_loader): the loader yielded no batches")
            logs = {"train_loss": loss_sum / n_items, "train_acc": hits / n_targets,
                    "val_loss": None, "val_acc": None, "lr": lr}
            if val_loader is not None:
                val = _loss_and_accuracy(model, val_loader, loss_fn, device, "fit", "val_loader")
                logs["val_loss"], logs["val_acc"] = val["loss"], val["acc"]
            if scheduler is not None and scheduler_interval == "epoch":
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(logs["val_loss"] if val_loader is not None else logs["train_loss"])
                else:
                    scheduler.step()
            logs["seconds"] = time.perf_counter() - t0
            for k in HISTORY_KEYS:
                history[k].append(logs[k])
            if not quiet:
                val_text = (f" | val loss {logs['val_loss']:.4f} acc {logs['val_acc']:.4f}"
                            if val_loader is not None else "")
                tqdm.write(f"epoch {epoch + 1:>2}/{epochs}  train loss {logs['train_loss']:.4f} acc "
                           f"{logs['train_acc']:.4f}{val_text} | lr {lr:.2e} | {logs['seconds']:.1f} s")
            for cb in callbacks:
                cb.on_epoch_end(epoch, dict(logs))
            if checkpoint is not None:  # after the callbacks: the saved RNG state is where epoch+1 starts
                save_checkpoint(checkpoint, model=model, optimizer=optimizer, scheduler=scheduler,
                                epoch=epoch + 1, history=history, loaders=[train_loader])
    finally:
        bar.close()
        model.train(was_training)
    for cb in callbacks:
        cb.on_train_end(history)
    return history
