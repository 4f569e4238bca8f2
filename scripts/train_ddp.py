#!/usr/bin/env python3
"""Train the lesson-05 CNN on Fashion-MNIST with DistributedDataParallel (taught in notebooks/11_distributed.ipynb).

Launch one process per device with torchrun (gloo on CPU, nccl on CUDA, chosen automatically):

    torchrun --standalone --nproc_per_node=2 scripts/train_ddp.py --epochs 1 --batch-size 256
    python -m torch.distributed.run --standalone --nproc_per_node=2 scripts/train_ddp.py ...  # same, venv-safe

or without torchrun: one plain process (world size 1, no process group, no DDP wrapper), the
reference a distributed run must reproduce. ``--batch-size`` is the GLOBAL batch: each of the
``W`` ranks takes ``batch_size / W`` images per step from its ``DistributedSampler`` shard, DDP
averages the gradients, so every step uses the same ``batch_size`` images whatever ``W`` is.

Only rank 0 logs and writes the checkpoint (``pt_helpers.checkpoint.save_model``, default
``data_dir()/checkpoints/cnn_ddp.pt``); read it back with ``load_model(path, FashionCNN)``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from pt_helpers.checkpoint import save_model
from pt_helpers.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD, fashion_mnist_tensors
from pt_helpers.env import data_dir
from pt_helpers.models.cnn import FashionCNN


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=_positive(int), default=1)
    p.add_argument("--batch-size", type=_positive(int), default=256,
                   help="GLOBAL batch per optimizer step, split evenly across the ranks")
    p.add_argument("--lr", type=_positive(float), default=0.05, help="SGD learning rate")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--subset", type=_positive(int), default=None, help="train on the first N training images only")
    p.add_argument("--max-steps", type=_positive(int), default=None, help="stop after this many optimizer steps")
    p.add_argument("--seed", type=int, default=0, help="model init and sampler shuffling (same on all ranks)")
    p.add_argument("--no-shuffle", action="store_true", help="DistributedSampler(shuffle=False)")
    p.add_argument("--no-bn", action="store_true",
                   help="replace BatchNorm by Identity (per-rank batch statistics make BN runs differ from 1 process)")
    p.add_argument("--sync-bn", action="store_true",
                   help="nn.SyncBatchNorm: batch statistics over all ranks (CUDA/nccl only; gloo on CPU refuses)")
    p.add_argument("--dropout", type=float, default=0.2, help="FashionCNN dropout (0 for exact comparisons)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: cuda:LOCAL_RANK with nccl when every local rank has a GPU, else cpu with gloo")
    p.add_argument("--timeout", type=_positive(float), default=60.0,
                   help="seconds a collective waits for the other ranks before it fails (init_process_group)")
    p.add_argument("--crash-rank", type=int, default=None, help="test hook: this rank raises after its first step")
    p.add_argument("--log-every", type=int, default=50, help="rank 0 prints every N steps (0: epoch lines only)")
    p.add_argument("--out", type=Path, default=None, help="checkpoint path (default data_dir()/checkpoints/cnn_ddp.pt)")
    args = p.parse_args(argv)
    if not 0 <= args.dropout < 1:
        p.error(f"--dropout {args.dropout}: expected a probability in [0, 1)")

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if args.batch_size % world_size:
        p.error(f"--batch-size {args.batch_size} is the global batch and must be divisible by the world size "
                f"{world_size} (each rank takes batch_size / world_size images per step)")
    if args.sync_bn and args.no_bn:
        p.error("--sync-bn and --no-bn exclude each other")
    if args.crash_rank is not None and not 0 <= args.crash_rank < world_size:
        p.error(f"--crash-rank {args.crash_rank}: expected a rank in 0..{world_size - 1}")
    n = args.subset or 60_000
    if n // world_size < args.batch_size // world_size:
        p.error(f"--subset {n} gives each of the {world_size} ranks {n // world_size} images, fewer than one "
                f"local batch of {args.batch_size // world_size} (incomplete batches are dropped)")
    return args


def pick_device(choice: str, local_rank: int, local_world_size: int) -> tuple[torch.device, str, str]:
    """(device, backend, why): one GPU per local rank with nccl, else the CPU with gloo."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if choice == "cuda" and gpus < local_world_size:
        raise RuntimeError(f"--device cuda: {local_world_size} local ranks need as many GPUs, found {gpus}")
    if choice != "cpu" and gpus >= local_world_size and gpus > 0:
        return torch.device("cuda", local_rank), "nccl", f"{gpus} GPU(s): one per rank"
    why = "--device cpu" if choice == "cpu" else (
        f"{gpus} GPU(s) for {local_world_size} local ranks" if gpus else "no GPU")
    return torch.device("cpu"), "gloo", why


def build_model(args: argparse.Namespace) -> nn.Module:
    model = FashionCNN(dropout=args.dropout)
    if args.no_bn:
        for block in model.features:  # ConvBlock = conv, pool, BN, ReLU
            block[2] = nn.Identity()
    return model


def load_train_set(subset: int | None) -> TensorDataset:
    images, labels = fashion_mnist_tensors(train=True)  # (60000, 28, 28) uint8, (60000,) int64
    if subset:
        images, labels = images[:subset], labels[:subset]
    x = ((images.float() / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD).unsqueeze(1)  # (N, 1, 28, 28)
    return TensorDataset(x, labels)


@record  # a failing rank's traceback goes into torchrun's error summary
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    distributed = "RANK" in os.environ  # set by torchrun
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    device, backend, why = pick_device(args.device, local_rank, local_world_size)

    def log(*parts: object) -> None:  # rank 0 speaks for everyone
        if rank == 0:
            print(*parts, flush=True)

    try:
        if distributed:
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=args.timeout))
        log(f"world size {world_size}, backend {backend if distributed else 'none (one plain process)'}, "
            f"device {device.type} ({why}), {torch.get_num_threads()} thread(s) per process")

        if distributed and rank != 0:
            dist.barrier()  # rank 0 unpacks the data first, the others then read the finished files
        train_set = load_train_set(args.subset)
        if distributed and rank == 0:
            dist.barrier()

        torch.manual_seed(args.seed)  # same initial weights everywhere (DDP also broadcasts rank 0's)
        model = build_model(args)
        if args.sync_bn and distributed:
            if device.type != "cuda":
                raise RuntimeError("--sync-bn needs one GPU per rank (nccl): SyncBatchNorm refuses CPU tensors")
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # BN statistics all-reduced over the ranks
        model = model.to(device)
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
            if distributed else model
        optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)

        local_batch = args.batch_size // world_size
        sampler = DistributedSampler(train_set, num_replicas=world_size, rank=rank,
                                     shuffle=not args.no_shuffle, seed=args.seed, drop_last=True)
        loader = DataLoader(train_set, batch_size=local_batch, sampler=sampler, drop_last=True)
        log(f"{len(train_set)} training images, {len(sampler)} per rank, global batch {args.batch_size} = "
            f"{world_size} x {local_batch}, {len(loader)} steps per epoch")

        step, start = 0, time.perf_counter()
        for epoch in range(args.epochs):
            sampler.set_epoch(epoch)  # a new shuffle each epoch; without it every epoch repeats epoch 0's order
            net.train()
            totals = torch.zeros(3, device=device)  # loss sum, correct, images (this rank)
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                out = net(x)
                loss = F.cross_entropy(out, y)  # mean over the local batch
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # DDP all-reduces (averages) the gradients here, bucket by bucket
                optimizer.step()
                step += 1
                totals += torch.stack([loss.detach() * len(y), (out.argmax(1) == y).sum().float(),
                                       torch.tensor(float(len(y)), device=device)])
                if args.crash_rank == rank:
                    raise RuntimeError(f"--crash-rank {rank}: simulated failure on rank {rank} after step {step}")
                if args.log_every and step % args.log_every == 0:
                    log(f"  step {step:5d}  rank-0 batch loss {loss.item():.4f}")
                if args.max_steps and step >= args.max_steps:
                    break
            if distributed:
                dist.all_reduce(totals)  # sum over ranks: the metrics of all images of the epoch
            loss_sum, correct, seen = totals.tolist()
            log(f"epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / seen:.4f}, train accuracy "
                f"{correct / seen:.4f} over {int(seen)} images, {time.perf_counter() - start:.1f} s")
            if args.max_steps and step >= args.max_steps:
                break

        seconds = time.perf_counter() - start
        if rank == 0:
            path = args.out or data_dir() / "checkpoints" / "cnn_ddp.pt"
            bn = "none" if args.no_bn else "sync" if args.sync_bn else "per rank"
            save_model(path, model, world_size=world_size, backend=backend if distributed else "none",  # bare model
                       epochs=args.epochs, steps=step, batch_size=args.batch_size, subset=args.subset or 60_000,
                       batchnorm=bn, train_seconds=round(seconds, 2))
            log(f"saved {path} ({step} steps, {seconds:.1f} s)")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
    # DDP keeps the gloo process group alive after destroy_process_group (torch 2.14: its worker threads
    # are still running), so at interpreter shutdown a worker can free a tensor, need the GIL and abort
    # the rank with SIGABRT ("terminate called without an active exception"; a few per cent of runs on
    # a busy 2-core machine, core dump: ProcessGroupGloo::runLoop -> ~AsyncWork -> decref_pyobject ->
    # take_gil -> PyThread_exit_thread). Everything is saved and destroyed by now: leave without the
    # interpreter's shutdown. (An exception in main() still exits the normal way, with its traceback.)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
