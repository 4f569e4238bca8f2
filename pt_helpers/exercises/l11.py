"""Checkers for notebooks/11_distributed.ipynb (a rank's DistributedSampler shard, the DDP batch plan)."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch.utils.data import DistributedSampler

from .core import ExerciseError, call_learner, checker, passed

__all__ = ["check_shard", "check_ddp_plan"]


def _reference_shard(n: int, world_size: int, rank: int, shuffle: bool, seed: int, epoch: int) -> list[int]:
    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


@checker
def check_shard(fn: Callable) -> None:
    """``fn(n, world_size, rank, shuffle, seed, epoch)`` -> the list of indices ``DistributedSampler``
    gives that rank (default ``drop_last=False``: the order is padded with its own first indices)."""
    name = "shard"
    cases = [  # (n, world_size, rank, shuffle, seed, epoch)
        (8, 2, 0, False, 0, 0), (8, 2, 1, False, 0, 0), (10, 4, 3, False, 0, 0), (10, 3, 2, False, 0, 0),
        (12, 3, 1, True, 0, 0), (12, 3, 1, True, 0, 1), (10, 4, 2, True, 5, 2), (7, 2, 1, True, 1, 3),
    ]
    for n, world, rank, shuffle, seed, epoch in cases:
        want = _reference_shard(n, world, rank, shuffle, seed, epoch)
        got = call_learner(fn, name, n, world, rank, shuffle, seed, epoch)
        try:
            got = [int(i) for i in got]
        except (TypeError, ValueError) as err:
            raise ExerciseError(f"{name}: return a list of ints, got {type(got).__name__}") from err
        case = f"n={n}, world_size={world}, rank={rank}, shuffle={shuffle}, seed={seed}, epoch={epoch}"
        if len(got) != len(want):
            raise ExerciseError(f"{name}({case}): {len(got)} indices, but every rank gets the same number, "
                                "ceil(n / world_size): pad the order with its own first indices")
        if got == want:
            continue
        if sorted(got) == sorted(want):
            raise ExerciseError(f"{name}({case}): the right indices in the wrong order; rank r takes every "
                                "world_size-th index of the (padded) order, starting at position r")
        if shuffle:
            raise ExerciseError(f"{name}({case}): wrong indices; the shuffled order is torch.randperm(n) drawn "
                                "from a torch.Generator seeded with seed + epoch")
        raise ExerciseError(f"{name}({case}): wrong indices; without shuffling the order is 0..n-1, padded")
    passed(name, f"{len(cases)} cases match DistributedSampler, padding and set_epoch included")


def _plan(n_images: int, per_rank_batch: int, world_size: int, base_lr: float, base_batch: int) -> dict:
    global_batch = per_rank_batch * world_size
    return {"global_batch": global_batch,
            "steps_per_epoch": math.ceil(n_images / world_size) // per_rank_batch,
            "lr": base_lr * global_batch / base_batch}


@checker
def check_ddp_plan(fn: Callable) -> None:
    """``fn(n_images, per_rank_batch, world_size, base_lr, base_batch)`` -> ``{"global_batch", "steps_per_epoch",
    "lr"}`` for a script whose batch size is per process, with a padding sampler and ``drop_last=True``
    in the loader, and the linear scaling rule from a recipe tuned at ``base_batch``."""
    name = "ddp_plan"
    cases = [(60_000, 64, 4, 0.1, 256), (60_000, 256, 1, 0.05, 256), (50_000, 128, 8, 0.1, 256),
             (599, 100, 2, 0.2, 100), (10, 3, 3, 1.0, 9)]
    for args in cases:
        want = _plan(*args)
        got = call_learner(fn, name, *args)
        if not isinstance(got, dict) or set(got) != set(want):
            raise ExerciseError(f"{name}: return a dict with exactly the keys {sorted(want)}")
        n, b, world, lr, base = args
        case = f"n_images={n}, per_rank_batch={b}, world_size={world}"
        if got["global_batch"] != want["global_batch"]:
            raise ExerciseError(f"{name}({case}): global_batch is wrong; one optimizer step uses every rank's batch")
        if got["steps_per_epoch"] != want["steps_per_epoch"]:
            raise ExerciseError(f"{name}({case}): steps_per_epoch is wrong; each rank walks only its own shard of "
                                "ceil(n_images / world_size) indices and drops its last incomplete batch")
        try:
            close = math.isclose(float(got["lr"]), want["lr"], rel_tol=1e-9)
        except (TypeError, ValueError):
            close = False
        if not close:
            raise ExerciseError(f"{name}({case}, base_lr={lr}, base_batch={base}): lr is wrong; the linear "
                                "scaling rule multiplies base_lr by global_batch / base_batch")
    passed(name, f"{len(cases)} plans")

