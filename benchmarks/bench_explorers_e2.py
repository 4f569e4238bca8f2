#!/usr/bin/env python3
"""Benchmark: redraw time of lesson 08's attention explorer and lesson 09's detection explorer (CPU).

Usage (2 cores are shared: take the CPU lock):
    flock /tmp/pt-workbook-cpu.lock .venv/bin/python benchmarks/bench_explorers_e2.py [--changes 20]

Each explorer is built as its lesson builds it (lesson 08: the trained ViT from
``checkpoints/vit_fashion.pt`` if present, else an untrained one of the same shape, 8 test images, and an
untrained Swin of the lesson's shape over 8 test canvases; lesson 09: 1,000 test canvases, full mode,
with the perturbed oracle's boxes). Then the controls are moved in turn, ``--changes`` times each
explorer, and the time from setting a control's ``value`` to the new PNG in the ``Image`` widget is
measured (the redraw runs inside the trait change). Printed: median and worst per explorer and per
control. The goal (issue 15) is a median under 0.5 s; this script reports, it does not assert.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from pt_helpers.canvas import CANVAS_CLASSES, FashionCanvas
from pt_helpers.checkpoint import load_model
from pt_helpers.data import CLASSES, TensorLoader, fashion_mnist_tensors
from pt_helpers.env import data_dir
from pt_helpers.explore.attention import attention_explorer
from pt_helpers.explore.detection import detection_explorer
from pt_helpers.models.swin import SwinClassifier
from pt_helpers.models.vit import ViT
from pt_helpers.voc import perturbed_oracle

VIT_KWARGS = dict(image_size=28, patch_size=7, num_classes=10, dim=64, depth=4, heads=4, mlp_dim=128, pool="cls",
                  channels=1, dropout=0.0, emb_dropout=0.0)
SWIN_KWARGS = dict(image_size=64, patch_size=8, in_channels=1, num_classes=3, embed_dim=48, depths=(2, 2),
                   num_heads=(2, 4), window_size=4, mlp_ratio=4.0, absolute_pos_embed=True)


def timed_changes(steps: Iterator[tuple[str, Any, Any]], n: int) -> dict[str, list[float]]:
    """Set ``control.value = value`` n times (the steps cycle); seconds per change, by control name."""
    out: dict[str, list[float]] = {}
    for _ in range(n):
        name, control, value = next(steps)
        start = time.perf_counter()
        control.value = value
        out.setdefault(name, []).append(time.perf_counter() - start)
    return out


def cycle(controls: dict[str, tuple[Any, list[Any]]]) -> Iterator[tuple[str, Any, Any]]:
    k = 0
    while True:
        for name, (control, values) in controls.items():
            yield name, control, values[k % len(values)]
        k += 1


def report(title: str, build: float, times: dict[str, list[float]]) -> None:
    every = [t for ts in times.values() for t in ts]
    print(f"{title}: built in {build * 1e3:.0f} ms; {len(every)} changes: "
          f"median {statistics.median(every) * 1e3:.0f} ms, worst {max(every) * 1e3:.0f} ms")
    for name, ts in times.items():
        print(f"    {name:<8} {len(ts):2d} changes, median {statistics.median(ts) * 1e3:4.0f} ms, "
              f"worst {max(ts) * 1e3:4.0f} ms")


def attention_bench(n: int) -> None:
    ckpt = data_dir() / "checkpoints" / "vit_fashion.pt"
    vit = load_model(ckpt, ViT) if ckpt.is_file() else ViT(**VIT_KWARGS)
    test_images, _ = fashion_mnist_tensors(train=False)
    xb, _ = next(iter(TensorLoader(test_images[:8], torch.zeros(8), batch_size=8)))
    torch.manual_seed(0)
    swin = SwinClassifier(**SWIN_KWARGS)
    canvases = FashionCanvas(n=8, size=64, max_items=4, seed=2, split="test").images
    start = time.perf_counter()
    box = attention_explorer(vit, xb, swin=swin, swin_images=canvases, class_names=CLASSES)
    build = time.perf_counter() - start
    vit_box, swin_box = box.children[0].children
    image_w, layer_w, head_w = vit_box.children[0].children
    canvas_w, block_w = swin_box.children[0].children
    steps = cycle({"image": (image_w, [1, 2, 3, 4, 5, 6, 7, 0]), "block": (layer_w, [0, 1, 2, 3]),
                   "head": (head_w, [0, 1, 2, 3, -1]), "canvas": (canvas_w, [1, 2, 3, 0]),
                   "swin blk": (block_w, [0, 1, 2, 3])})
    report(f"attention explorer ({'trained' if ckpt.is_file() else 'untrained'} ViT)", build, timed_changes(steps, n))


def detection_bench(n: int) -> None:
    test_set = FashionCanvas(n=1000, seed=0, split="test")
    ids = [f"{i:06d}" for i in range(len(test_set))]
    annotations = {img: {"objects": [
        {"name": CANVAS_CLASSES[int(lab)], "bbox": (b + 1).tolist(), "difficult": bool(d)}
        for b, lab, d in zip(test_set.boxes[k], test_set.labels[k], test_set.difficult[k])]}
        for k, img in enumerate(ids)}  # what read_voc_annotations returns (1-based boxes)
    boxes = perturbed_oracle(test_set.boxes, test_set.labels, len(CANVAS_CLASSES), size=64, seed=0, jitter=0.1,
                             miss=0.1, duplicate=0.1, wrong_class=0.05, false_positives=0.5)  # lesson 09's oracle
    start = time.perf_counter()
    box = detection_explorer(boxes, annotations, test_set.images, classes=CANVAS_CLASSES, image=88)
    build = time.perf_counter() - start
    (iou_w, score_w), (cls_w, image_w) = box.children[0].children, box.children[1].children
    steps = cycle({"IoU": (iou_w, list(np.round(np.arange(0.3, 0.95, 0.05), 2))),
                   "score": (score_w, [0.1, 0.5, 0.8, 0.3]), "class": (cls_w, [3, 7, 0]),
                   "canvas": (image_w, [3, 7, 12, 88])})
    report(f"detection explorer ({sum(len(r) for c in boxes[1:] for r in c)} boxes on 1,000 canvases)", build,
           timed_changes(steps, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20, help="control changes per explorer")
    args = parser.parse_args()
    torch.set_num_threads(1)
    attention_bench(args.changes)
    detection_bench(args.changes)


if __name__ == "__main__":
    main()
