#!/usr/bin/env python3
"""Benchmark: redraw time of lesson 05's convolution and schedule explorers and lesson 07's segmentation browser.

Usage (2 cores are shared: take the CPU lock):
    flock /tmp/pt-workbook-cpu.lock .venv/bin/python benchmarks/bench_explorers_e1.py [--changes 20]

Each explorer is built as its lesson builds it: lesson 05 with the first Fashion-MNIST test image and the
first-layer filters of ``checkpoints/cnn_fashion.pt`` (random filters of the same shape when the file is
absent); lesson 07 with 200 test canvases and the predictions of ``checkpoints/unet_canvas.pt`` (the true masks
with a corrupted square when absent). Then the controls are moved in turn, ``--changes`` times per explorer,
and the time from setting a control's ``value`` (or clicking a button) to the new PNG in the ``Image`` widget is
measured: the redraw runs inside the trait change. Printed: median and worst wall-clock time and the median
CPU time of this thread (``time.thread_time``, less sensitive to other processes on a shared machine), per
explorer and per control. The goal (issue 15) is a median under 0.5 s; this script reports, it does not assert.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as widgets
import torch

from pt_helpers.canvas import CANVAS_CLASSES, FashionCanvas
from pt_helpers.checkpoint import load_model
from pt_helpers.data import fashion_mnist_tensors
from pt_helpers.env import data_dir
from pt_helpers.explore.conv import conv_explorer
from pt_helpers.explore.schedules import schedule_explorer
from pt_helpers.explore.seg import segmentation_explorer
from pt_helpers.explore.widget import controls
from pt_helpers.models.cnn import FashionCNN
from pt_helpers.models.unet import UNet

Change = tuple[str, Callable[[], None]]




def setter(box: widgets.Widget, name: str, *values: Any) -> Change:
    """Set control ``name`` to the first of ``values`` that differs from its value (so every change redraws)."""
    def change() -> None:
        control = controls(box)[name]  # looked up at call time: the schedule explorer swaps its controls
        control.value = next(v for v in values if v != control.value)
    return name, change


Times = dict[str, list[tuple[float, float]]]


def timed(changes: Iterator[Change], n: int, image: Callable[[], widgets.Image]) -> Times:
    """Run n changes; (wall seconds, thread CPU seconds) per change, by control name. Each must redraw."""
    out: Times = {}
    for _ in range(n):
        name, change = next(changes)
        before = image().value
        wall, cpu = time.perf_counter(), time.thread_time()
        change()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        if image().value == before:
            raise RuntimeError(f"changing {name!r} did not redraw")
        out.setdefault(name, []).append((wall, cpu))
    return out


def cycle(changes: list[Change]) -> Iterator[Change]:
    while True:
        yield from changes


def report(title: str, build: float, times: Times) -> float:
    every = [t for ts in times.values() for t in ts]
    median = statistics.median(w for w, _ in every)
    print(f"{title}: built in {build * 1e3:.0f} ms; {len(every)} changes: median {median * 1e3:.0f} ms "
          f"(CPU {statistics.median(c for _, c in every) * 1e3:.0f} ms), worst {max(w for w, _ in every) * 1e3:.0f} ms")
    for name, ts in times.items():
        print(f"    {name:<13} {len(ts):2d} changes, median {statistics.median(w for w, _ in ts) * 1e3:4.0f} ms "
              f"(CPU {statistics.median(c for _, c in ts) * 1e3:4.0f} ms), worst {max(w for w, _ in ts) * 1e3:4.0f} ms")
    return median


def conv_bench(n: int) -> float:
    ckpt = data_dir() / "checkpoints" / "cnn_fashion.pt"
    filters = (load_model(ckpt, FashionCNN).features[0][0].weight if ckpt.is_file()
               else torch.randn(32, 1, 3, 3, generator=torch.Generator().manual_seed(0)))
    x_test, _ = fashion_mnist_tensors(train=False)
    start = time.perf_counter()
    box = conv_explorer(x_test[0], filters=filters)
    build = time.perf_counter() - start
    kernels = list(controls(box)["kernel"].options)
    changes = [setter(box, "stride", 2, 3), setter(box, "kernel", kernels[4]), setter(box, "padding", 2, 1),
               setter(box, "dilation", 2), setter(box, "kernel", kernels[-1]), setter(box, "stride", 1),
               setter(box, "padding", 0), setter(box, "dilation", 1), setter(box, "kernel", kernels[0])]
    return report(f"convolution explorer ({'trained' if ckpt.is_file() else 'random'} filters)", build,
                  timed(cycle(changes), n, lambda: controls(box)["Image"]))


def schedule_bench(n: int) -> float:
    start = time.perf_counter()
    box = schedule_explorer()
    build = time.perf_counter() - start
    changes = [setter(box, "gamma", 0.3), setter(box, "steps", 60), setter(box, "schedule", "CosineAnnealingLR"),
               setter(box, "T_max", 20, 12), setter(box, "schedule", "OneCycleLR"), setter(box, "pct_start", 0.5, 0.2),
               setter(box, "schedule", "ReduceLROnPlateau"), setter(box, "patience", 1, 5), setter(box, "steps", 30),
               setter(box, "schedule", "StepLR"), setter(box, "gamma", 0.5)]
    return report("schedule explorer", build, timed(cycle(changes), n, lambda: controls(box)["Image"]))


def seg_bench(n: int) -> float:
    test_set = FashionCanvas(n=200, seed=0, split="test")
    ckpt = data_dir() / "checkpoints" / "unet_canvas.pt"
    if ckpt.is_file():
        meta = torch.load(ckpt, weights_only=True)["meta"]
        model = load_model(ckpt, UNet)
        with torch.no_grad():
            preds = model((test_set.images.float() / 255 - meta["mean"]) / meta["std"]).argmax(1)
    else:
        preds = test_set.masks.clone()
        preds[:, 20:36, 20:36] = 3
    start = time.perf_counter()
    box = segmentation_explorer(test_set.images, test_set.masks, preds, class_names=CANVAS_CLASSES)
    build = time.perf_counter() - start
    c = controls(box)

    def click(name: str) -> Change:
        return name, c[name].click

    changes = [click("next"), setter(box, "class", 3), click("next"), setter(box, "canvas", 17),
               setter(box, "class", None), click("previous"), setter(box, "class", 8), setter(box, "canvas", 150)]
    return report(f"segmentation explorer ({'trained U-Net' if ckpt.is_file() else 'corrupted truth'}, 200 canvases)",
                  build, timed(cycle(changes), n, lambda: c["Image"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20, help="control changes per explorer")
    args = parser.parse_args()
    torch.set_num_threads(1)
    medians = {"conv": conv_bench(args.changes), "schedules": schedule_bench(args.changes),
               "seg": seg_bench(args.changes)}
    print("medians (ms): " + ", ".join(f"{k} {v * 1e3:.0f}" for k, v in medians.items())
          + f"; goal < 500 ms: {'met' if max(medians.values()) < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
