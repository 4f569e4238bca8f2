"""pt_helpers.env: device choice, seeding, the fast-mode switch, results and the setup-cell report."""

from __future__ import annotations

import io
import json
import platform
import random
import re

import numpy as np
import pytest
import torch

from pt_helpers import env


@pytest.fixture(autouse=True)
def _fresh_device_cache():
    """get_device caches (and prints) per name; every test starts from a clean cache."""
    env._resolve_device.cache_clear()
    yield
    env._resolve_device.cache_clear()


@pytest.fixture
def restore_determinism():
    """seed_everything changes process-wide torch flags; put them back after the test."""
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
              torch.backends.cudnn.benchmark)
    yield
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]


# --- fast_mode -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("TRUE", True), (" yes ", True), ("On", True),
    ("0", False), ("", False), ("false", False), ("no", False), ("off", False), ("2", False),
])
def test_fast_mode_parses_the_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv("PT_COURSE_FAST", value)
    assert env.fast_mode() is expected


def test_fast_mode_is_off_when_unset(monkeypatch):
    monkeypatch.delenv("PT_COURSE_FAST", raising=False)
    assert env.fast_mode() is False


# --- get_device ------------------------------------------------------------------------------------

def _expected_auto() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def test_get_device_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("PT_DEVICE", raising=False)
    assert env.get_device() == _expected_auto()
    assert env.get_device("auto") == _expected_auto()


def test_get_device_env_override_and_blank(monkeypatch):
    monkeypatch.setenv("PT_DEVICE", "cpu")
    assert env.get_device() == torch.device("cpu")
    monkeypatch.setenv("PT_DEVICE", "   ")
    assert env.get_device() == _expected_auto()


def test_get_device_explicit_name_wins_over_env(monkeypatch):
    monkeypatch.setenv("PT_DEVICE", "definitely-not-a-device")
    assert env.get_device("cpu") == torch.device("cpu")


def test_get_device_prints_once_per_name(monkeypatch, capsys):
    monkeypatch.delenv("PT_DEVICE", raising=False)
    env.get_device("cpu")
    env.get_device("cpu")
    out = capsys.readouterr().out
    assert out.count("Using device: cpu") == 1


@pytest.mark.parametrize("name", ["gpu", "cuda0", "", "cpu:x"])
def test_get_device_bad_name_says_what_was_expected(name):
    with pytest.raises(ValueError, match="expected 'auto', 'cpu'") as info:
        env.get_device(name)
    assert repr(name) in str(info.value)


def test_get_device_bad_env_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("PT_DEVICE", "gpu")
    with pytest.raises(ValueError, match="PT_DEVICE"):
        env.get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_get_device_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        env.get_device("cuda")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_get_device_mps_without_mps_is_a_clear_error():
    with pytest.raises(RuntimeError, match="MPS is not available"):
        env.get_device("mps")


def test_get_device_cuda_index_out_of_range_is_a_clear_error():
    index = torch.cuda.device_count()  # one past the last GPU (cuda:0 on a CPU-only machine)
    with pytest.raises(RuntimeError, match="not available|out of range"):
        env.get_device(f"cuda:{index}")


# --- seed_everything -------------------------------------------------------------------------------

def _draws():
    legacy_numpy = np.random.rand(3).tolist()  # noqa: NPY002 - the global RNG is what seed_everything seeds
    return random.random(), legacy_numpy, torch.rand(3).tolist(), torch.randint(0, 10**6, (2,)).tolist()


def test_seed_everything_makes_python_numpy_and_torch_repeat(restore_determinism):
    env.seed_everything(123)
    first = _draws()
    env.seed_everything(123)
    assert _draws() == first
    env.seed_everything(124)
    other = _draws()
    assert all(a != b for a, b in zip(other, first)), "a different seed must change every generator"


def test_seed_everything_sets_cudnn_flags(restore_determinism):
    torch.backends.cudnn.benchmark = True
    env.seed_everything(0)
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False


def test_seed_everything_deterministic_flag_follows_the_argument(restore_determinism):
    env.seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    env.seed_everything(0)  # a later plain call must not leave the strict mode switched on
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_seed_everything_rejects_bad_seeds(seed, restore_determinism):
    with pytest.raises(ValueError, match="seed_everything.*non-negative int"):
        env.seed_everything(seed)


# --- data_dir and record_result --------------------------------------------------------------------

def test_data_dir_uses_the_environment_and_creates_it(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b"
    monkeypatch.setenv("PT_COURSE_DATA", str(target))
    assert env.data_dir() == target
    assert target.is_dir()


def test_record_result_prints_one_line_and_appends_jsonl(course_data, capsys, monkeypatch):
    monkeypatch.setenv("PT_DEVICE", "cpu")
    monkeypatch.setenv("PT_COURSE_FAST", "1")
    rec = env.record_result("05_cnn", "test_accuracy", torch.tensor(0.91234567), np.float64(12.345))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1
    printed = json.loads(lines[0][len("RESULT "):])
    assert printed == {"lesson": "05_cnn", "metric": "test_accuracy", "value": 0.912346, "seconds": 12.3}
    env.record_result("05_cnn", "test_loss", 0.25, 1)
    stored = [json.loads(ln) for ln in (course_data / "results.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in stored] == ["test_accuracy", "test_loss"]
    assert stored[0] == rec
    assert stored[0]["mode"] == "fast" and stored[0]["device"] == "cpu"
    assert stored[0]["torch"] == torch.__version__


@pytest.mark.parametrize("kwargs, match", [
    (dict(lesson="", metric="m", value=1, seconds=1), "lesson"),
    (dict(lesson="05", metric=None, value=1, seconds=1), "metric"),
    (dict(lesson="05", metric="m", value="high", seconds=1), "value"),
    (dict(lesson="05", metric="m", value=1, seconds=None), "seconds"),
    (dict(lesson="05_cnn", metric="cnn_test_accuracy", value=float("nan"), seconds=1),
     "05_cnn.*cnn_test_accuracy.*nan.*diverged"),
    (dict(lesson="05_cnn", metric="m", value=torch.tensor(float("inf")), seconds=1), "05_cnn.*inf"),
    (dict(lesson="05_cnn", metric="m", value=0.9, seconds=float("nan")), "seconds.*nan"),
])
def test_record_result_rejects_bad_input(course_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        env.record_result(**kwargs)
    assert not (course_data / "results.jsonl").exists(), "nothing is written for bad input"


# --- report ----------------------------------------------------------------------------------------

def test_report_names_versions_device_mode_and_data(course_data, monkeypatch):
    monkeypatch.setenv("PT_DEVICE", "cpu")
    monkeypatch.setenv("PT_COURSE_FAST", "1")
    buf = io.StringIO()
    env.report(file=buf)
    text = buf.getvalue()
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in text.splitlines())
    assert platform.python_version() in rows["python"]
    assert torch.__version__ in rows["torch"]
    assert rows["device"].startswith("cpu")
    assert rows["mode"].startswith("fast")
    assert rows["course data"] == str(course_data)
    assert "Fashion-MNIST" in rows
    monkeypatch.setenv("PT_COURSE_FAST", "0")
    buf = io.StringIO()
    env.report(file=buf)
    assert "\nmode" in buf.getvalue() and "full" in buf.getvalue()


# --- module_device ---------------------------------------------------------------------------------

def test_module_device_is_where_the_weights_are():
    assert env.module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert env.module_device(torch.nn.Linear(2, 2, device="meta")) == torch.device("meta")
    bn_only_buffers = torch.nn.BatchNorm1d(2, affine=False).to("meta")
    assert env.module_device(bn_only_buffers) == torch.device("meta"), "buffers count when there are no parameters"
    assert env.module_device(torch.nn.ReLU()) == torch.device("cpu"), "a module without tensors: CPU"
