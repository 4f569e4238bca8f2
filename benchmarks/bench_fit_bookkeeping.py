#!/usr/bin/env python3
"""Benchmark: fit()'s per-batch bookkeeping, running sums as device tensors vs Python numbers (CPU).

Usage (2 cores are shared: take the CPU lock):
    flock /tmp/pt-workbook-cpu.lock .venv/bin/python benchmarks/bench_fit_bookkeeping.py [--repeat 7]

``pt_helpers.train.fit`` calls ``loss.item()`` after every batch (the NaN check, the progress bar and
the callbacks need the number), which waits for the device. After that wait, the running loss and hit
count of the epoch can be kept two ways:

- ``tensors``: ``loss_sum += loss.detach().double() * n`` and ``hits += (pred == y).sum()``, read once
  per epoch (what train.py did up to this benchmark: three more tensor operations per batch);
- ``python``: ``loss_sum += value * n`` with the float already read, and ``hits += int(...)``.

Both give the same numbers to the last bit (float64 sums in the same order; integer counts): checked here.
Two settings, each variant timed alternately (best of ``--repeat`` rounds, ratios side by side):

1. the bookkeeping alone, on (256, 10) logits and 256 labels, per batch;
2. a whole training step plus bookkeeping for a small MLP (784-128-10, batch 256), where the step
   itself is short, so the bookkeeping is as large a share as it gets in the lessons.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn

from pt_helpers.train import count_correct


def tensors_variant(device: torch.device) -> tuple[Callable, Callable]:
    state = {"loss": torch.zeros((), device=device, dtype=torch.float64),
             "hits": torch.zeros((), device=device, dtype=torch.int64)}

    def add(loss: torch.Tensor, value: float, out: torch.Tensor, y: torch.Tensor) -> None:
        state["loss"] += loss.detach().double() * len(y)
        state["hits"] += count_correct(out.detach(), y)[0]

    return add, lambda: (state["loss"].item(), state["hits"].item())


def python_variant(device: torch.device) -> tuple[Callable, Callable]:
    state = {"loss": 0.0, "hits": 0}

    def add(loss: torch.Tensor, value: float, out: torch.Tensor, y: torch.Tensor) -> None:
        state["loss"] += value * len(y)
        state["hits"] += int(count_correct(out.detach(), y)[0])

    return add, lambda: (state["loss"], state["hits"])


VARIANTS = {"tensors": tensors_variant, "python": python_variant}


def bookkeeping_only(make: Callable, batches: list, device: torch.device) -> tuple[float, tuple]:
    add, result = make(device)
    t0 = time.perf_counter()
    for loss, out, y in batches:
        value = loss.item()  # fit reads it every batch in both variants
        add(loss, value, out, y)
    total = result()
    return (time.perf_counter() - t0) / len(batches), total


def train_steps(make: Callable, data: list, device: torch.device) -> tuple[float, tuple]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    add, result = make(device)
    t0 = time.perf_counter()
    for x, y in data:
        out = model(x)
        loss = loss_fn(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        add(loss, value, out, y)
    total = result()
    return (time.perf_counter() - t0) / len(data), total


def compare(name: str, run: Callable, repeat: int) -> None:
    best = {k: float("inf") for k in VARIANTS}
    totals = {}
    for _ in range(repeat):  # alternate the variants, so a noisy neighbour hits both
        for k, make in VARIANTS.items():
            seconds, total = run(make)
            best[k] = min(best[k], seconds)
            totals[k] = total
    if totals["tensors"] != totals["python"]:
        raise SystemExit(f"{name}: the variants disagree: {totals}")
    t, p = best["tensors"], best["python"]
    print(f"{name:<34} tensors {t * 1e6:9.1f} us/batch   python {p * 1e6:9.1f} us/batch   "
          f"tensors/python {t / p:5.2f}x   (same sums: {totals['python'][0]:.6f}, {totals['python'][1]} hits)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batches", type=int, default=200)
    args = ap.parse_args()
    device = torch.device("cpu")
    g = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.batches} batches of 256, "
          f"best of {args.repeat}")
    logits = [torch.randn(256, 10, generator=g) for _ in range(args.batches)]
    labels = [torch.randint(0, 10, (256,), generator=g) for _ in range(args.batches)]
    batches = [(nn.functional.cross_entropy(o, y), o, y) for o, y in zip(logits, labels)]
    compare("1. bookkeeping alone", lambda make: bookkeeping_only(make, batches, device), args.repeat)
    data = [(torch.randn(256, 1, 28, 28, generator=g), y) for y in labels]
    compare("2. MLP training step + bookkeeping", lambda make: train_steps(make, data, device), args.repeat)


if __name__ == "__main__":
    main()
