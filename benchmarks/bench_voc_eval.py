#!/usr/bin/env python3
"""Benchmark: pt_helpers.voc.voc_eval (vectorised) vs py-faster-rcnn's per-detection loop.

Usage (2 cores are shared: take the CPU lock):
    flock /tmp/pt-workbook-cpu.lock .venv/bin/python benchmarks/bench_voc_eval.py [--images 3000] [--repeat 3]

Data: ``--images`` FashionCanvas test canvases (64x64, 0-4 items, 10 classes), written as a real
VOC2007 tree and parsed back (the timing of that parse is why pt_helpers.voc keeps no annotation
cache). Detections: the perturbed ground-truth oracle (pt_helpers.voc.perturbed_oracle) in two
regimes:

- ``detector``: the oracle plus low-score background boxes up to ~100 detections per image, the
  output a detector gives the devkit (py-faster-rcnn tests with score > 0.05, max 100 per image);
- ``sparse``: the oracle alone (about 0.4 detections per image and class).

For every class both implementations run on the same inputs (best of ``--repeat``), in two forms:
the detections as ``(image_id, score, x1, y1, x2, y2)`` tuples (both functions convert them first),
and as columns (``pt_helpers.voc.Detections``: ids, scores, boxes - what voc_eval.py holds after
reading its results file, so this times the matching itself). Results must agree to 1e-9 and, in the
detector regime, the vectorised matching from columns must be >= 20x faster; exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pt_helpers.canvas import CANVAS_CLASSES, FashionCanvas
from pt_helpers.voc import (
    Detections,
    evaluate_detections,
    perturbed_oracle,
    read_voc_annotations,
    voc_eval,
    write_voc_dataset,
)
from pt_helpers.voc.reference import voc_eval_loop

REGIMES = {"detector": dict(duplicate=0.2, false_positives=95.0), "sparse": dict(duplicate=0.1, false_positives=0.5)}


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def max_diff(a: tuple, b: tuple) -> float:
    (ra, pa, apa), (rb, pb, apb) = a, b
    if ra.shape != rb.shape:
        return float("inf")
    return float(max(np.abs(ra - rb).max(initial=0), np.abs(pa - pb).max(initial=0), abs(apa - apb)))


def run_regime(name: str, canvas: FashionCanvas, annotations: dict, repeat: int) -> tuple[float, float, float]:
    ids = list(annotations)
    all_boxes = perturbed_oracle(canvas.boxes, canvas.labels, len(CANVAS_CLASSES), size=canvas.size, seed=0,
                                 **REGIMES[name])
    n_det = sum(len(a) for row in all_boxes for a in row)
    print(f"\n[{name}] {n_det} detections, {n_det / len(ids):.1f} per image")
    print(f"{'':<12} {'':>6} {'':>7} | {'from (id, score, box) tuples':^27} | {'from columns (Detections)':^27} |")
    print(f"{'class':<12} {'dets':>6} {'AP':>7} | {'loop ms':>8} {'vec ms':>8} {'ratio':>8} | {'loop ms':>8} "
          f"{'vec ms':>8} {'ratio':>8} | {'max |diff|':>10}")
    totals = np.zeros(4)
    worst = 0.0
    for c, cls in enumerate(CANVAS_CLASSES[1:], start=1):
        dets = [(ids[i], r[4], r[0] + 1, r[1] + 1, r[2] + 1, r[3] + 1)  # +1: VOC files are 1-based
                for i in range(len(ids)) for r in all_boxes[c][i].tolist()]
        cols = Detections.from_tuples(dets)  # what voc_eval.py holds after reading its results file
        times, results = [], []
        for form in (dets, cols):
            for fn in (voc_eval_loop, voc_eval):
                t, out = best_of(lambda f=fn, d=form, k=cls: f(d, annotations, k), repeat)
                times.append(t)
                results.append(out)
        diff = max(max_diff(results[1], results[0]), max_diff(results[3], results[2]), max_diff(results[1], results[3]))
        worst = max(worst, diff)
        totals += times
        tl, tv, cl, cv = (t * 1e3 for t in times)
        print(f"{cls:<12} {len(dets):>6} {results[1][2]:>7.4f} | {tl:>8.1f} {tv:>8.2f} {tl / tv:>8.1f} | {cl:>8.1f} "
              f"{cv:>8.2f} {cl / cv:>8.1f} | {diff:>10.1e}")
    tl, tv, cl, cv = totals * 1e3
    print(f"{'all classes':<12} {n_det:>6} {'':>7} | {tl:>8.1f} {tv:>8.2f} {tl / tv:>8.1f} | {cl:>8.1f} {cv:>8.2f} "
          f"{cl / cv:>8.1f} | {worst:>10.1e}")
    t_all, res = best_of(lambda: evaluate_detections(all_boxes, ids, annotations, CANVAS_CLASSES), repeat)
    print(f"evaluate_detections(all_boxes, ...) for all classes: {t_all * 1e3:.1f} ms (mAP {res['map']:.4f})")
    return tl / tv, cl / cv, worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    canvas = FashionCanvas(n=args.images, split="test", seed=0)
    print(f"{canvas} generated in {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        voc = write_voc_dataset(tmp, canvas, classes=CANVAS_CLASSES)
        print(f"wrote {voc.name} tree in {time.perf_counter() - start:.1f} s")
        t_parse, annotations = best_of(lambda: read_voc_annotations(voc, "test"), args.repeat)
        print(f"parsed {len(annotations)} XML annotations (defusedxml) in {t_parse * 1e3:.0f} ms "
              f"({t_parse / len(annotations) * 1e6:.0f} us each): no cache needed")
    ok = True
    for name in REGIMES:
        _, ratio_cols, worst = run_regime(name, canvas, annotations, args.repeat)
        ok &= worst <= 1e-9
        if name == "detector":
            ok &= ratio_cols >= 20
    print(f"\n{'PASS' if ok else 'FAIL'}: identical to 1e-9; matching from columns >= 20x faster "
          "in the detector regime")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
