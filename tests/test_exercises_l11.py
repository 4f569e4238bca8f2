"""Lesson 11 checkers: right answers pass, typical wrong answers fail with a hint (never the answer)."""

from __future__ import annotations

import math

import pytest
import torch
from exercise_helpers import assert_blank_reported

from pt_helpers.exercises import ExerciseError, l11


def shard_right(n, world_size, rank, shuffle, seed, epoch):
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    else:
        order = list(range(n))
    total = math.ceil(n / world_size) * world_size
    order += order[:total - n]
    return order[rank:total:world_size]


def test_shard_accepts_the_sampler_logic(capsys):
    l11.check_shard(shard_right)
    assert "✓ shard" in capsys.readouterr().out


def _no_padding(n, world_size, rank, shuffle, seed, epoch):
    return shard_right(n, world_size, rank, shuffle, seed, epoch)[:len(range(rank, n, world_size))]


@pytest.mark.parametrize("wrong, hint", [
    (_no_padding, "same number"),
    (lambda n, w, r, s, seed, e: shard_right(n, w, r, s, seed, e)[::-1], "wrong order"),
    (lambda n, w, r, s, seed, e: shard_right(n, w, r, s, seed, 0), "seed \\+ epoch"),  # forgot the epoch
    (lambda n, w, r, s, seed, e: shard_right(n, w, (r + 1) % w, s, seed, e), "wrong indices"),
    (lambda n, w, r, s, seed, e: "abc", "list of ints"),
])
def test_shard_rejects(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        l11.check_shard(wrong)


def test_shard_reports_a_blank():
    assert_blank_reported(l11.check_shard, lambda *a: None)


def plan_right(n_images, per_rank_batch, world_size, base_lr, base_batch):
    global_batch = per_rank_batch * world_size
    return {"global_batch": global_batch, "steps_per_epoch": math.ceil(n_images / world_size) // per_rank_batch,
            "lr": base_lr * global_batch / base_batch}


def test_ddp_plan_accepts_the_right_plan(capsys):
    l11.check_ddp_plan(plan_right)
    assert "✓ ddp_plan" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda *a: {"global_batch": 1}, "exactly the keys"),
    (lambda n, b, w, lr, base: dict(plan_right(n, b, w, lr, base), global_batch=b), "global_batch is wrong"),
    (lambda n, b, w, lr, base: dict(plan_right(n, b, w, lr, base), steps_per_epoch=n // b), "steps_per_epoch"),
    (lambda n, b, w, lr, base: dict(plan_right(n, b, w, lr, base), steps_per_epoch=n // (b * w)),
     "steps_per_epoch"),  # forgets the padding: 599 images on 2 ranks of 100
    (lambda n, b, w, lr, base: dict(plan_right(n, b, w, lr, base), lr=lr), "lr is wrong"),
    (lambda n, b, w, lr, base: dict(plan_right(n, b, w, lr, base), lr=lr * b / base), "linear"),
])
def test_ddp_plan_rejects(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        l11.check_ddp_plan(wrong)


def test_ddp_plan_reports_a_blank():
    assert_blank_reported(l11.check_ddp_plan, lambda *a: None)
