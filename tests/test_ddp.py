"""scripts/train_ddp.py: 2 ranks x batch B/2 == 1 process x batch B, a crashed rank fails the launch fast.

Each test launches real processes (``python -m torch.distributed.run``, gloo on the CPU), so they
carry the ``ddp`` marker and "ddp" in their names: ``pytest -k ddp`` or ``-m ddp`` selects them.
About 40 s on 2 CPU cores; every launch has a subprocess timeout, so a hang fails instead of blocking.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.ddp

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_ddp.py"
LAUNCH_TIMEOUT = 120  # seconds; a healthy launch takes ~15 s here
# The equivalence run: BN-free CNN (per-rank BatchNorm statistics differ from one process's), no dropout
# (each rank draws its own masks), float32 on the CPU. Observed difference ~3e-8; allowed 1e-5.
EXACT = ["--subset", "512", "--batch-size", "128", "--epochs", "2", "--no-bn", "--dropout", "0",
         "--lr", "0.05", "--log-every", "0", "--device", "cpu"]
ATOL = 1e-5


def _run(args: list[str], *, nproc: int | None) -> subprocess.CompletedProcess:
    launcher = [] if nproc is None else ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    env = dict(os.environ, OMP_NUM_THREADS="1")  # PT_COURSE_DATA comes from the course_data fixture
    return subprocess.run([sys.executable, *launcher, str(SCRIPT), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)


def _state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_ddp_two_ranks_half_batch_match_one_process(course_data: Path) -> None:
    one, two = course_data / "one.pt", course_data / "two.pt"
    single = _run([*EXACT, "--out", str(one)], nproc=None)
    assert single.returncode == 0, single.stderr[-3000:]
    double = _run([*EXACT, "--out", str(two)], nproc=2)
    assert double.returncode == 0, double.stderr[-3000:]
    assert "global batch 128 = 2 x 64" in double.stdout
    assert double.stdout.count("saved ") == 1  # rank 0 alone logs and saves

    a, b = _state(one), _state(two)
    assert (a["meta"]["world_size"], b["meta"]["world_size"]) == (1, 2)
    assert a["meta"]["steps"] == b["meta"]["steps"] == 8  # 2 epochs x 512 / 128
    assert a["state_dict"].keys() == b["state_dict"].keys()
    worst = max((a["state_dict"][k] - b["state_dict"][k]).abs().max().item() for k in a["state_dict"])
    assert worst < ATOL, f"2 ranks differ from 1 process by {worst:.3g} (allowed {ATOL})"

    torch.manual_seed(0)  # the script's initial weights: training must have moved them (not a vacuous match)
    script = _load_script()
    init = script.build_model(script.parse_args(EXACT)).state_dict()
    moved = max((a["state_dict"][k] - init[k]).abs().max().item() for k in init)
    assert moved > 1e-3


def test_ddp_crashed_rank_fails_the_launch_fast(course_data: Path) -> None:
    start = time.perf_counter()
    proc = _run(["--subset", "1024", "--crash-rank", "1", "--timeout", "30", "--device", "cpu",
                 "--out", str(course_data / "never.pt")], nproc=2)
    seconds = time.perf_counter() - start
    assert proc.returncode != 0
    assert "simulated failure on rank 1 after step 1" in proc.stderr  # the root cause, from torchrun's summary
    assert "ChildFailedError" in proc.stderr and "Root Cause" in proc.stderr
    assert not (course_data / "never.pt").exists()
    assert seconds < LAUNCH_TIMEOUT


def _load_script():
    spec = importlib.util.spec_from_file_location("train_ddp", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("world, argv, message", [
    ("2", ["--batch-size", "255"], "must be divisible by the world size 2"),
    ("2", ["--crash-rank", "2"], "expected a rank in 0..1"),
    ("2", ["--subset", "100"], "fewer than one local batch of 128"),
    ("1", ["--epochs", "0"], "expected a positive int"),
    ("1", ["--dropout", "1"], "expected a probability"),
    ("1", ["--sync-bn", "--no-bn"], "exclude each other"),
])
def test_ddp_script_rejects_bad_arguments(monkeypatch, capsys, world, argv, message) -> None:
    monkeypatch.setenv("WORLD_SIZE", world)
    with pytest.raises(SystemExit) as exit_info:
        _load_script().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_ddp_pick_device_falls_back_to_gloo_without_a_gpu_per_rank() -> None:
    module = _load_script()
    device, backend, _ = module.pick_device("cpu", local_rank=1, local_world_size=2)
    assert (device.type, backend) == ("cpu", "gloo")
    if torch.cuda.device_count() >= 2:
        device, backend, _ = module.pick_device("auto", local_rank=1, local_world_size=2)
        assert (str(device), backend) == ("cuda:1", "nccl")
    elif not torch.cuda.is_available():
        assert module.pick_device("auto", 0, 2)[1] == "gloo"
        with pytest.raises(RuntimeError, match="need as many GPUs"):
            module.pick_device("cuda", 0, 2)
