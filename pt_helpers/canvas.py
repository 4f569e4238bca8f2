"""FashionCanvas: deterministic composites of real Fashion-MNIST items, for segmentation and detection.

Taught in notebooks/03_data.ipynb and used by lessons 07 (U-Net masks), 08 (the "does an item cover
the centre?" experiment) and 09 (VOC boxes). Items are pasted at random positions and scales onto a
black canvas; later items occlude earlier ones. Everything is generated once, in memory, from a
seed: the same arguments always give the same canvases, on any machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .data import CLASSES, fashion_mnist_tensors

__all__ = ["CANVAS_CLASSES", "CENTRE_CLASSES", "FashionCanvas", "Placement"]

CANVAS_CLASSES = ("background", *CLASSES)  # mask value v <-> CANVAS_CLASSES[v]; item class = v - 1
CENTRE_CLASSES = ("covers the centre", "present, not covering", "empty")
_SPLITS = {"train": (True, 0, 50000), "val": (True, 50000, 60000), "test": (False, 0, 10000)}
_MIN_VISIBLE_PIXELS = 20  # fewer visible pixels than this, or under 30 % of the item visible: "difficult"


@dataclass(frozen=True)
class Placement:
    source: int  # index of the item in its Fashion-MNIST split
    side: int  # the 28x28 item is resized to side x side pixels
    x0: int  # top-left corner on the canvas (may be negative: the item is cut by the border)
    y0: int


class FashionCanvas(Dataset):
    """``n`` canvases of ``size`` x ``size`` pixels with ``min_items``..``max_items`` Fashion-MNIST items.

    Args:
        size: canvas side in pixels (≥ 32).
        max_items, min_items: number of items per canvas, drawn uniformly in [min_items, max_items].
        n: number of canvases.
        seed: generation seed; canvas ``i`` depends only on (seed, split, i, size, items, scale).
        split: ``"train"`` (items from Fashion-MNIST train images 0..49,999), ``"val"`` (train images
            50,000..59,999) or ``"test"`` (the test split): no item is shared between splits.
        scale: range of item sizes relative to 28 pixels.
        root: optional Fashion-MNIST folder, see :func:`pt_helpers.data.fashion_mnist`.

    Attributes (tensors, all on the CPU):
        images ``(n, 1, size, size) uint8``; masks ``(n, size, size) int64`` (0 background, 1..10 =
        class + 1); instances ``(n, size, size) int64`` (0 background, k = k-th listed item);
        centre_labels ``(n,) int64`` (index into CENTRE_CLASSES: an item pixel in the central 2x2
        block / items present elsewhere only / empty); per canvas lists ``boxes`` ``(K, 4) float32``
        as inclusive 0-based pixel indices ``x1, y1, x2, y2`` (VOC style: the box spans columns
        x1..x2), ``labels`` ``(K,) int64`` in 1..10, ``difficult`` and ``truncated`` ``(K,) bool``,
        ``sources`` ``(K,) int64`` and ``placements``. Fully hidden items are dropped.
    """

    def __init__(self, *, size: int = 64, max_items: int = 4, min_items: int = 0, n: int = 1000,
                 seed: int = 0, split: str = "train", scale: tuple[float, float] = (0.6, 1.4),
                 root: str | os.PathLike | None = None) -> None:
        if split not in _SPLITS:
            raise ValueError(f"FashionCanvas(split={split!r}): expected one of {sorted(_SPLITS)}")
        if size < 32:
            raise ValueError(f"FashionCanvas(size={size}): expected a canvas size of at least 32 pixels")
        if not 0 <= min_items <= max_items:
            raise ValueError(f"FashionCanvas(min_items={min_items}, max_items={max_items}): "
                             "expected 0 <= min_items <= max_items")
        if n < 1:
            raise ValueError(f"FashionCanvas(n={n}): expected at least one canvas")
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"FashionCanvas(scale={scale}): expected 0 < low <= high")
        self.size, self.n, self.seed, self.split = size, n, seed, split
        train, lo, hi = _SPLITS[split]
        items, item_labels = fashion_mnist_tensors(train=train, root=root)
        self._items, self._item_labels = items, item_labels.numpy()
        split_id = list(_SPLITS).index(split)

        plans: list[list[Placement]] = []
        for i in range(n):
            rng = np.random.default_rng([seed, split_id, i, size, min_items, max_items])
            placed = []
            for _ in range(int(rng.integers(min_items, max_items + 1))):
                side = int(rng.integers(round(28 * scale[0]), round(28 * scale[1]) + 1))
                placed.append(Placement(source=int(rng.integers(lo, hi)), side=side,
                                        x0=int(rng.integers(-side // 4, size - 3 * side // 4 + 1)),
                                        y0=int(rng.integers(-side // 4, size - 3 * side // 4 + 1))))
            plans.append(placed)
        self._resized = self._resize_all(plans)
        images = np.zeros((n, 1, size, size), dtype=np.uint8)  # numpy: ~10x less overhead on tiny arrays
        instances = np.zeros((n, size, size), dtype=np.int64)
        self.placements = [self._paint(images[i, 0], instances[i], placed) for i, placed in enumerate(plans)]
        self.images, self.instances = torch.from_numpy(images), torch.from_numpy(instances)
        self.masks = torch.zeros_like(self.instances)
        self.boxes, self.labels, self.difficult, self.truncated, self.sources = [], [], [], [], []
        for i, placed in enumerate(self.placements):
            self._annotate(i, placed)
        c = size // 2
        covers = (self.masks[:, c - 1:c + 1, c - 1:c + 1] > 0).flatten(1).any(1)
        present = torch.tensor([len(p) > 0 for p in self.placements])
        self.centre_labels = torch.where(covers, 0, torch.where(present, 1, 2)).long()

    # -- generation -------------------------------------------------------------------------------
    def _resize(self, sources: list[int], side: int) -> tuple[np.ndarray, np.ndarray]:
        """Items' pixels ``(k, side, side) uint8`` and silhouettes (non-zero pixels) ``bool``, resized."""
        img = self._items[sources].float()[:, None]  # (k, 1, 28, 28)
        kw = dict(size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        pix = F.interpolate(img, **kw).round().clamp(0, 255).to(torch.uint8)[:, 0]
        sil = (F.interpolate((img > 0).float(), **kw) > 0.5)[:, 0]
        return pix.numpy(), sil.numpy()

    def _resize_all(self, plans: list[list[Placement]]) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        """One batched resize per item size instead of one call per item (10x faster)."""
        by_side: dict[int, set[int]] = {}
        for placed in plans:
            for p in placed:
                by_side.setdefault(p.side, set()).add(p.source)
        out = {}
        for side, sources in by_side.items():
            order = sorted(sources)
            pix, sil = self._resize(order, side)
            out.update({(src, side): (pix[j], sil[j]) for j, src in enumerate(order)})
        return out

    def _item(self, source: int, side: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's pixels (uint8) and silhouette (bool), resized to side x side."""
        if (source, side) not in self._resized:
            pix, sil = self._resize([source], side)
            self._resized[(source, side)] = (pix[0], sil[0])
        return self._resized[(source, side)]

    def _window(self, p: Placement) -> tuple[slice, slice, slice, slice]:
        """Canvas rows/cols and item rows/cols of the part of the item that lies on the canvas."""
        y1, x1 = max(p.y0, 0), max(p.x0, 0)
        y2, x2 = min(p.y0 + p.side, self.size), min(p.x0 + p.side, self.size)
        return slice(y1, y2), slice(x1, x2), slice(y1 - p.y0, y2 - p.y0), slice(x1 - p.x0, x2 - p.x0)

    def _paint(self, image: np.ndarray, inst: np.ndarray, placed: list[Placement]) -> list[Placement]:
        """Paint items in order onto ``image`` / ``inst`` (in place); return the items left visible."""
        for k, p in enumerate(placed):
            pix, sil = self._item(p.source, p.side)
            cy, cx, iy, ix = self._window(p)
            s = sil[iy, ix]
            image[cy, cx][s] = pix[iy, ix][s]
            inst[cy, cx][s] = k + 1
        # drop items that later items hide completely, renumbering the rest in paint order
        visible = np.bincount(inst.ravel(), minlength=len(placed) + 1)[1:] > 0
        remap = np.zeros(len(placed) + 1, dtype=np.int64)
        remap[1:][visible] = np.arange(1, visible.sum() + 1)
        inst[...] = remap[inst]
        return [p for p, v in zip(placed, visible) if v]

    def _annotate(self, i: int, placed: list[Placement]) -> None:
        inst = self.instances[i].numpy()
        labels = np.array([int(self._item_labels[p.source]) + 1 for p in placed], dtype=np.int64)
        self.masks[i] = torch.from_numpy(np.concatenate([[0], labels])[inst])
        boxes, difficult, truncated = [], [], []
        for k, p in enumerate(placed):
            ys, xs = np.nonzero(inst == k + 1)
            boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
            _, sil = self._item(p.source, p.side)
            cy, cx, iy, ix = self._window(p)
            total = int(sil.sum())
            difficult.append(len(ys) < _MIN_VISIBLE_PIXELS or len(ys) < 0.3 * total)
            truncated.append(int(sil[iy, ix].sum()) < total)
        self.boxes.append(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
        self.labels.append(torch.from_numpy(labels))
        self.difficult.append(torch.tensor(difficult, dtype=torch.bool))
        self.truncated.append(torch.tensor(truncated, dtype=torch.bool))
        self.sources.append(torch.tensor([p.source for p in placed], dtype=torch.int64))

    # -- access -----------------------------------------------------------------------------------
    def silhouettes(self, i: int) -> list[torch.Tensor]:
        """Full-canvas bool masks of canvas ``i``'s listed items, before occlusion, in paint order."""
        out = []
        for p in self.placements[i]:
            _, sil = self._item(p.source, p.side)
            full = np.zeros((self.size, self.size), dtype=bool)
            cy, cx, iy, ix = self._window(p)
            full[cy, cx] = sil[iy, ix]
            out.append(torch.from_numpy(full))
        return out

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        """One canvas: ``image`` (1, H, W) float in [0, 1], ``mask``, ``boxes``, ``labels``, flags, ``centre``."""
        if not -self.n <= i < self.n:
            raise IndexError(f"FashionCanvas index {i} out of range for {self.n} canvases")
        return {"image": self.images[i].float() / 255, "mask": self.masks[i], "boxes": self.boxes[i],
                "labels": self.labels[i], "difficult": self.difficult[i], "truncated": self.truncated[i],
                "centre": self.centre_labels[i], "sources": self.sources[i]}

    def __repr__(self) -> str:
        return (f"FashionCanvas(size={self.size}, n={self.n}, seed={self.seed}, split={self.split!r}, "
                f"items/canvas={sum(map(len, self.labels)) / self.n:.2f})")
