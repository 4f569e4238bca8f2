"""Checkers for notebooks/03_data.ipynb (statistics from a loader, a Dataset for the canvases, a seeded split)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import DataLoader, TensorDataset

from .core import ExerciseError, TorchCalls, call_learner, checker, passed, require_answer, require_written

__all__ = ["check_pixel_stats", "check_centre_dataset", "check_split"]


class _CountingLoader:
    """A loader that remembers how many batches were read (the answer must use them all, once)."""

    def __init__(self, batches):
        self.batches, self.reads = batches, 0

    def __iter__(self):
        self.reads += 1
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


@checker
def check_pixel_stats(fn: Callable) -> None:
    """``fn(loader) -> (mean, std)`` over every pixel of every batch, population std, as floats, without
    concatenating batches (no tensor larger than one batch may appear)."""
    name = "pixel_stats"
    g = torch.Generator().manual_seed(3)
    for shape, sizes in (((1, 6, 5), (7, 7, 3)), ((1, 28, 28), (64, 64, 64, 16))):
        images = torch.rand(sum(sizes), *shape, generator=g) ** 2  # skewed, like real pixels
        labels = torch.zeros(len(images), dtype=torch.long)
        batches = [(x, y) for x, y in zip(images.split(list(sizes)), labels.split(list(sizes)))]
        loader = _CountingLoader(batches)
        with TorchCalls() as calls:
            got = call_learner(fn, name, loader)
        biggest = max(x.numel() for x, _ in batches)
        if calls.largest > biggest:
            raise ExerciseError(f"{name}: your function made a tensor of {calls.largest} values, more than any "
                                f"one batch holds ({biggest}): that is concatenating batches, which a data set "
                                "too big for memory does not allow; accumulate sums batch by batch instead")
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise ExerciseError(f"{name}: return a pair (mean, std), got {type(got).__name__}")
        try:
            mean, std = (float(v) for v in got)
        except (TypeError, ValueError) as err:
            raise ExerciseError(f"{name}: mean and std should be numbers (floats), got {got!r}") from err
        if loader.reads == 0:
            raise ExerciseError(f"{name}: your function never iterated over the loader")
        want_mean = images.double().mean().item()
        want_std = images.double().std(unbiased=False).item()
        if abs(mean - want_mean) > 1e-6:
            per_batch = sum(x.double().mean().item() for x, _ in batches) / len(batches)
            hint = (" (that is the average of the batch means: the last batch is smaller, so weight by the "
                    "number of pixels)") if abs(mean - per_batch) < 1e-9 else ""
            raise ExerciseError(f"{name}: the mean is off by {abs(mean - want_mean):.2g}{hint}")
        if abs(std - want_std) > 1e-6:
            if abs(std - images.double().std().item()) < 1e-9:
                raise ExerciseError(f"{name}: that is the sample std (divide by n - 1); "
                                    "use the population std (divide by n)")
            if abs(std - sum(x.double().std(unbiased=False).item() for x, _ in batches) / len(batches)) < 1e-9:
                raise ExerciseError(f"{name}: averaging per-batch stds is not the std of all pixels; "
                                    "accumulate the sum and the sum of squares")
            raise ExerciseError(f"{name}: the std is off by {abs(std - want_std):.2g}; std = sqrt(E[x²] - E[x]²)")
    passed(name, "mean and std of every pixel, from batches of different sizes")


@checker
def check_centre_dataset(cls: type) -> None:
    """``cls(canvases)``: a Dataset of ``(image (1, H, W) float in [0, 1], centre label int64 scalar)``."""
    name = "CentreDataset"
    require_written(require_answer(cls, name), name)
    from ..canvas import FashionCanvas  # local: building canvases loads Fashion-MNIST

    canvases = FashionCanvas(n=12, seed=5, split="val", size=32)
    try:
        ds = cls(canvases)
    except Exception as err:  # noqa: BLE001 - learner code
        raise ExerciseError(f"{name}: CentreDataset(canvases) raised {type(err).__name__}: {err}") from err
    try:
        n = len(ds)
    except Exception as err:  # noqa: BLE001
        raise ExerciseError(f"{name}: len(dataset) failed ({type(err).__name__}: {err}); write __len__") from err
    if n != len(canvases):
        raise ExerciseError(f"{name}: len(dataset) is {n}, expected one item per canvas ({len(canvases)})")
    for i in (0, 7, len(canvases) - 1):
        try:
            item = ds[i]
        except Exception as err:  # noqa: BLE001
            raise ExerciseError(f"{name}: dataset[{i}] raised {type(err).__name__}: {err}") from err
        require_answer(item, name)
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ExerciseError(f"{name}: an item should be a pair (image, centre), got {type(item).__name__}")
        image, centre = item
        if not isinstance(image, torch.Tensor) or image.shape != (1, 32, 32):
            raise ExerciseError(f"{name}: the image should be a (1, H, W) tensor, got "
                                f"{tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__}")
        if not image.is_floating_point() or image.max() > 1 or image.min() < 0:
            raise ExerciseError(f"{name}: the image should be float in [0, 1] (dtype {image.dtype}, "
                                f"max {image.max().item():.3g}); divide the uint8 image by 255")
        if not torch.allclose(image, canvases.images[i].float() / 255):
            raise ExerciseError(f"{name}: item {i}'s image is not canvas {i}'s image")
        if not isinstance(centre, torch.Tensor) or centre.dtype != torch.int64 or centre.ndim != 0:
            raise ExerciseError(f"{name}: the centre label should be an int64 scalar tensor such as "
                                f"canvases.centre_labels[i], got {centre!r}")
        if centre.item() != canvases.centre_labels[i].item():
            raise ExerciseError(f"{name}: item {i}'s label is not the centre label of canvas {i}")
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    if x.shape != (4, 1, 32, 32) or y.shape != (4,):
        raise ExerciseError(f"{name}: a DataLoader batch has shapes {tuple(x.shape)}, {tuple(y.shape)}; "
                            "expected (4, 1, H, W) and (4,)")
    passed(name, "items and DataLoader batches are right")


@checker
def check_split(fn: Callable) -> None:
    """``fn(dataset, val_fraction, seed) -> (train, val)``: sized, disjoint, complete, reproducible by seed."""
    name = "split"
    data = TensorDataset(torch.arange(1000) * 3)  # item i is (3 i,): recover the index from the value

    def indices(part, which):
        try:
            return [int(part[j][0]) // 3 for j in range(len(part))]
        except Exception as err:  # noqa: BLE001
            raise ExerciseError(f"{name}: the {which} part should be a data set (len and indexing); "
                                f"got {type(part).__name__} ({err})") from err

    def run(frac, seed):
        got = call_learner(fn, name, data, frac, seed)
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise ExerciseError(f"{name}: return a pair (train, val)")
        return indices(got[0], "train"), indices(got[1], "val")

    for frac in (0.1, 0.25, 0.333):
        train, val = run(frac, 0)
        if len(val) != round(frac * 1000) or len(train) != 1000 - len(val):
            raise ExerciseError(f"{name}: with val_fraction={frac} got {len(train)} train / {len(val)} val items, "
                                f"expected {1000 - round(frac * 1000)} / {round(frac * 1000)}")
        if set(train) & set(val) or len(set(train) | set(val)) != 1000:
            raise ExerciseError(f"{name}: train and val must be disjoint and together hold every item")
    a, b, c = run(0.2, 11), run(0.2, 11), run(0.2, 12)
    if a != b:
        raise ExerciseError(f"{name}: the same seed gave two different splits; pass a seeded "
                            "torch.Generator (generator=torch.Generator().manual_seed(seed))")
    if a == c:
        raise ExerciseError(f"{name}: seeds 11 and 12 gave the same split; the seed must be used")
    if a[1] == list(range(800, 1000)) or a[1] == list(range(200)):
        raise ExerciseError(f"{name}: the validation items are a contiguous block; shuffle before splitting")
    passed(name, "sizes, disjointness and reproducibility")
