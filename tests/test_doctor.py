"""pt_helpers.doctor: simulated failures, exit codes, the compatibility tables, other systems' verdicts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from pt_helpers import doctor
from pt_helpers.doctor import compat, probes
from pt_helpers.doctor.report import format_report, rows
from pt_helpers.doctor.system import system_findings

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.txt").read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE))


@pytest.fixture(scope="module")
def real_report():
    """One real doctor run on this machine, shared by the tests that only read it."""
    return doctor.collect()


# --- compat: parsing and lookups -------------------------------------------------------------------

def test_version_tuple_reads_leading_numbers():
    assert compat.version_tuple("2.14.1+cu130") == (2, 14, 1)
    assert compat.version_tuple("v1.2") == (1, 2)
    assert compat.version_tuple("0.1.1-2209072238") == (0, 1, 1)
    with pytest.raises(ValueError, match="'abc'"):
        compat.version_tuple("abc")


@pytest.mark.parametrize("spec, version, expected", [
    ("1.27-1.31", "1.31.1", True), ("1.27-1.31", "1.27.0", True), ("1.27-1.31", "1.26.9", False),
    ("1.27-1.31", "1.32.0", False), ("1.18.1", "1.18.1", True), ("1.18.1", "1.18.0", False),
    ("1.18", "1.18.0", True), ("0.4.1-0.4.2", "0.4.2", True), ("0.4.1-0.4.2", "0.4.0", False),
    ("0.29", "0.29.1+cu130", True), ("0.29", "0.2.9", False),
])
def test_version_matches(spec, version, expected):
    assert compat.version_matches(spec, version) is expected


def test_majors_of_table_cells():
    assert compat.majors("12.0-12.8, 11.8") == {11, 12}
    assert compat.majors("9.x") == {9}
    assert compat.majors("8.2.4") == {8}
    assert compat.majors("10.x (10.14+)") == {10}


def test_cudnn_version_decodes_both_encodings():
    assert compat.cudnn_version(92400) == (9, 24, 0)
    assert compat.cudnn_version(8902) == (8, 9, 2)


def test_ort_cuda_lookup_for_the_pinned_and_the_seed_era_versions():
    [row] = compat.ort_cuda_rows("1.31.1")
    assert (row["cuda"], row["cudnn"]) == ("13.x", "9.x")
    [row] = compat.ort_cuda_rows("1.14.1")
    assert (row["cuda"], row["cudnn"]) == ("11.6", "8.2.4")
    assert {r["cudnn"] for r in compat.ort_cuda_rows("1.18.0")} == {"8.x"}
    assert {r["cudnn"] for r in compat.ort_cuda_rows("1.18.1")} == {"8.x", "9.x"}
    assert compat.ort_cuda_rows("1.32.0") == []


def test_every_ort_release_has_one_tensorrt_row_and_one_pypi_default_cuda_row():
    for minor in range(0, 32):
        version = f"1.{minor}.0"
        assert len(compat.ort_tensorrt_rows(version)) == 1, version
        defaults = [r for r in compat.ort_cuda_rows(version) if r["package"].startswith("PyPI default")]
        assert len(defaults) == 1, version


def test_tensorrt_8_6_rows_cuda_12_only_from_1_17():
    for ort in ("1.15.1", "1.16.3"):
        [row] = compat.ort_tensorrt_rows(ort)
        assert row["tensorrt"] == "8.6" and compat.majors(row["cuda"]) == {11}, ort
    [row] = compat.ort_tensorrt_rows("1.17.0")
    assert row["tensorrt"] == "8.6" and compat.majors(row["cuda"]) == {11, 12}


def test_ort_cuda_rows_pick_the_variant_of_the_build_cuda():
    assert {r["cuda"] for r in compat.ort_cuda_rows("1.19.2")} == {"12.x", "11.8"}
    assert [r["cuda"] for r in compat.ort_cuda_rows("1.19.2", "11.8")] == ["11.8"]
    assert [r["cuda"] for r in compat.ort_cuda_rows("1.19.2", "12.4")] == ["12.x"]
    assert len(compat.ort_cuda_rows("1.19.2", "10.2")) == 2, "an unknown build CUDA keeps every variant"


@pytest.mark.parametrize("ort, build, want", [
    ("1.31.1", "13.0", {"cuda": 13, "cudnn": 9, "tensorrt": 10}),
    ("1.19.2", "11.8", {"cuda": 11, "cudnn": 8, "tensorrt": 10}),
    ("1.19.2", None, {"cuda": None, "cudnn": None, "tensorrt": 10}),  # two variants, nothing to choose by
    ("1.14.1", None, {"cuda": 11, "cudnn": 8, "tensorrt": 8}),
    ("1.40.0", "14.0", {"cuda": None, "cudnn": None, "tensorrt": None}),  # newer than the tables
])
def test_ort_gpu_majors_come_from_the_tables(ort, build, want):
    assert compat.ort_gpu_majors(ort, build) == want


def test_tensorrt_table_agrees_with_the_seed_note_for_old_releases():
    seed_000 = {"1.14": ("8.5", "11.6"), "1.12": ("8.4", "11.4"), "1.13": ("8.4", "11.4"), "1.11": ("8.2", "11.4"),
                "1.10": ("8.0", "11.4"), "1.9": ("8.0", "11.4"), "1.7": ("7.2", "11.0.3"), "1.8": ("7.2", "11.0.3"),
                "1.5": ("7.1", "10.2"), "1.6": ("7.1", "10.2"), "1.2": ("7.0", "10.1"), "1.4": ("7.0", "10.1")}
    for ort, (trt, cuda) in seed_000.items():
        [row] = compat.ort_tensorrt_rows(ort + ".0")
        assert (row["tensorrt"], row["cuda"]) == (trt, cuda), ort


def test_torchvision_table_follows_the_release_rule():
    for torch_minor, vision in compat.TORCH_TORCHVISION:
        major, minor = compat.version_tuple(torch_minor)
        if major == 2:
            assert vision == f"0.{minor + 15}", torch_minor
        elif 4 <= minor:
            assert vision == f"0.{minor + 1}", torch_minor


def test_torchvision_lookups_both_ways():
    assert compat.torchvision_for("2.14.1") == "0.29"
    assert compat.torchvision_for("1.2.0") == "0.4.0"
    assert compat.torchvision_for("3.0.0") is None
    assert compat.torch_for("0.4.0") == "1.2"  # seed 001's `torchvision==0.4.0` belongs to torch 1.2
    assert compat.torch_for("0.29.1+cu130") == "2.14"


def test_the_installed_pair_is_in_the_table():
    assert compat.version_matches(compat.torchvision_for(torch.__version__), torchvision.__version__)
    pins = _pins()
    assert compat.torchvision_for(pins["torch"]) and compat.version_matches(
        compat.torchvision_for(pins["torch"]), pins["torchvision"])


def _by_topic(findings):
    return {f["topic"]: f for f in findings}


def test_check_installed_flags_a_mismatched_torchvision():
    f = _by_topic(compat.check_installed({"torch": "2.14.1", "torchvision": "0.4.0"}))["torch/torchvision"]
    assert f["status"] == "fail"
    assert "torch 1.2" in f["message"] and "0.29" in f["message"]


@pytest.mark.parametrize("versions, status, words", [
    (dict(torch_cuda="13.0", cudnn=92400), "ok", "matches"),
    (dict(torch_cuda="12.8", cudnn=91000), "warn", "does not match"),
    (dict(torch_cuda="13.0", cudnn=8902), "warn", "does not match"),
    (dict(torch_cuda=None, cudnn=None), "info", "CPU build"),
    (dict(torch_cuda="13.0", cudnn=92400, ort_gpu=False), "info", "CPU package"),
    (dict(torch_cuda="13.0", cudnn=92400, onnxruntime="1.40.0"), "warn", "not in the table"),
])
def test_check_installed_ort_against_torch_cuda(versions, status, words):
    base = {"torch": "2.14.1", "torchvision": "0.29.1", "onnxruntime": "1.31.1", "ort_gpu": True, "ort_cuda": "13.0"}
    f = _by_topic(compat.check_installed({**base, **versions}))["ORT/CUDA/cuDNN"]
    assert f["status"] == status and words in f["message"]


@pytest.mark.parametrize("trt, status", [(None, "info"), ("10.14.1", "ok"), ("8.6.1", "warn")])
def test_check_installed_tensorrt(trt, status):
    f = _by_topic(compat.check_installed({"onnxruntime": "1.31.1", "tensorrt": trt}))["ORT/TensorRT"]
    assert f["status"] == status


# --- torchvision ops: the mismatch diagnosis ---------------------------------------------------------

def test_torchvision_ops_work_on_this_machine():
    assert doctor.probe_torchvision(torch.__version__) == {"ok": True, "version": torchvision.__version__}
    assert probes.version_without_import("torchvision", "torchvision/version.py") == torchvision.__version__


def test_simulated_nms_failure_is_diagnosed_with_the_fix(monkeypatch):
    def broken_nms(*args, **kwargs):
        raise RuntimeError(f"{doctor.NMS_MISSING}")  # the text a mismatched torch/torchvision pair raises
    monkeypatch.setattr(torchvision.ops, "nms", broken_nms)
    out = doctor.probe_torchvision(torch.__version__)
    assert out["ok"] is False and doctor.NMS_MISSING in out["error"]
    pins = _pins()
    # the installed versions pair up, so the doctor points at mixed builds and a reinstall of the pinned pair
    assert "pair up by version" in out["diagnosis"]
    want = f"pip install --force-reinstall torch=={pins['torch']} torchvision=={pins['torchvision']}"
    assert want in out["diagnosis"]
    assert "--no-deps" in out["diagnosis"]


def test_torchvision_fix_for_a_version_mismatch_names_the_pair():
    pins = _pins()
    text = doctor.torchvision_fix("2.14.1+cu130", "0.4.0")
    assert "torchvision 0.4.0 was built for torch 1.2" in text
    assert "torch 2.14 needs torchvision 0.29" in text
    assert f"pip install torch=={pins['torch']} torchvision=={pins['torchvision']}" in text
    assert "requirements.txt" in text and "--no-deps" in text


def test_torchvision_fix_for_mixed_builds_names_both_builds():
    text = doctor.torchvision_fix("2.14.1+cu126", "0.29.1+cpu")
    assert "+cu126" in text and "+cpu" in text and "--force-reinstall" in text


def test_wrong_nms_answer_is_not_ok(monkeypatch):
    monkeypatch.setattr(torchvision.ops, "nms", lambda boxes, scores, iou: torch.tensor([0, 1]))
    out = doctor.probe_torchvision(torch.__version__)
    assert out["ok"] is False and "diagnosis" not in out


def test_nms_failure_makes_the_doctor_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(torchvision.ops, "nms", lambda *a, **k: (_ for _ in ()).throw(RuntimeError(doctor.NMS_MISSING)))
    assert doctor.main([]) == 1
    out = capsys.readouterr().out
    assert "not usable (exit code 1)" in out and "reinstall the pair" in out


# --- ONNX Runtime: listed is not working -------------------------------------------------------------

def test_cpu_provider_initialises_for_real():
    assert doctor.provider_initialises("CPUExecutionProvider", doctor.tiny_onnx_model()) == (True, "")


class _FallbackSession:
    """Behaves like ONNX Runtime when a provider's libraries are missing: logs, then runs on the CPU."""

    def __init__(self, model, providers):
        import onnxruntime as ort
        real_session = ort.capi.onnxruntime_inference_collection.InferenceSession
        self._real = real_session(model, providers=["CPUExecutionProvider"])
        if providers[0] != "CPUExecutionProvider":
            print(f"*************** EP Error ***************\nEP Error sim when using {providers}")
            os.write(2, b"[E:onnxruntime:Default, provider_bridge_ort.cc:2430 operator()] Failed to load library "
                        b"/site-packages/onnxruntime/capi/libonnxruntime_providers_cuda.so with error: "
                        b"libcublasLt.so.99: cannot open shared object file: No such file or directory\n")

    def run(self, *args):
        return self._real.run(*args)

    def get_providers(self):
        return self._real.get_providers()


def test_listed_provider_that_falls_back_is_reported_with_its_reason(capfd):
    ok, why = doctor.provider_initialises("CUDAExecutionProvider", doctor.tiny_onnx_model(), _FallbackSession)
    assert ok is False
    assert "libcublasLt.so.99: cannot open shared object file" in why
    leaked = capfd.readouterr()
    assert "EP Error" not in leaked.out and "libcublasLt" not in leaked.err, "the probe's noise must be captured"


def test_provider_that_raises_is_reported():
    def raising(model, providers):
        raise RuntimeError("provider exploded")
    got = doctor.provider_initialises("FooExecutionProvider", b"", raising)
    assert got == (False, "RuntimeError: provider exploded")


def test_probe_onnxruntime_separates_listed_from_working(monkeypatch):
    import onnxruntime as ort
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", _FallbackSession)
    out = doctor.probe_onnxruntime()
    assert out["listed"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert out["working"] == ["CPUExecutionProvider"]
    assert "libcublasLt.so.99" in out["failed"]["CUDAExecutionProvider"]


def test_real_onnxruntime_probe_tries_every_listed_provider(real_report):
    ort = real_report["onnxruntime"]
    assert "CPUExecutionProvider" in ort["working"]
    assert set(ort["working"]) | set(ort["failed"]) == set(ort["listed"])


# --- nvidia-smi ---------------------------------------------------------------------------------------

def test_nvidia_smi_absent(monkeypatch):
    monkeypatch.setattr(probes.shutil, "which", lambda name: None)
    assert doctor.probe_nvidia_smi() == {"found": False}


def test_nvidia_smi_summary_is_parsed(monkeypatch):
    monkeypatch.setattr(probes.shutil, "which", lambda name: "/usr/bin/nvidia-smi")

    def fake_run(cmd, **kwargs):
        text = ("NVIDIA-SMI 580.65   Driver Version: 580.65   CUDA Version: 13.0\n" if len(cmd) == 1
                else "NVIDIA GeForce RTX 3060, 12288 MiB, 580.65\n")
        return subprocess.CompletedProcess(cmd, 0, stdout=text, stderr="")
    out = doctor.probe_nvidia_smi(run=fake_run)
    assert out == {"found": True, "driver_cuda": "13.0",
                   "gpus": [{"name": "NVIDIA GeForce RTX 3060", "memory": "12288 MiB", "driver": "580.65"}]}


# --- exit codes, table and JSON -------------------------------------------------------------------------

def test_report_names_every_component(real_report):
    text = format_report(real_report)
    for word in ("python", "torch", "torchvision", "CUDA", "device", "nvidia-smi", "onnxruntime", "TensorRT",
                 "onnx ", "visdom", "netron", "thop", "torchsummary", "jupyterlab", "Fashion-MNIST", "verdict"):
        assert word in text, word
    assert real_report["cuda"]["device_count"] == torch.cuda.device_count()


def test_exit_code_follows_usability(real_report, monkeypatch, capsys):
    assert real_report["usable"] is (real_report["problems"] == [])
    monkeypatch.setattr(probes, "probe_device", lambda: {"ok": False, "error": "RuntimeError: simulated"})
    assert doctor.main([]) == 1
    assert "PT_DEVICE=cpu" in capsys.readouterr().out


def test_exit_code_0_and_json_on_a_usable_machine(real_report, capsys):
    if not real_report["usable"]:
        pytest.skip(f"this machine is not usable: {real_report['problems']}")
    assert doctor.main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["usable"] is True and data["problems"] == []
    assert data["torch"]["version"] == torch.__version__


def test_statuses_in_the_table_are_from_the_known_set(real_report):
    assert {status for _, status, _ in rows(real_report)} <= {"ok", "info", "WARN", "FAIL", ""}


def test_torch_that_does_not_import_gives_exit_1_and_the_reason():
    code = ("import sys; sys.modules['torch'] = None; sys.argv = ['doctor']; import runpy; "
            "runpy.run_module('pt_helpers.doctor', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "torch does not import" in proc.stdout


def test_importing_the_doctor_does_not_import_torch():
    code = "import sys, pt_helpers.doctor; print(sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


# --- the operating system: verdicts for other machines, from their facts ----------------------------------

def _facts(system, machine, python="3.11.7"):
    return {"system": system, "machine": machine, "python": python, "executable": "/x/python", "platform": "p"}


def _topic(findings, topic):
    [f] = [f for f in findings if f["topic"] == topic]
    return f


def test_intel_mac_is_flagged_with_the_way_out():
    f = _topic(system_findings(_facts("Darwin", "x86_64")), "system")
    assert f["status"] == "fail"
    assert "no macOS x86_64 wheel" in f["message"] and "torch 2.14.1" in f["message"]
    assert "Linux virtual machine" in f["message"] and "cloud notebook" in f["message"]
    assert "conda is not supported" in f["message"]


def test_apple_silicon_is_supported_and_told_what_differs():
    found = system_findings(_facts("Darwin", "arm64"))
    assert _topic(found, "system")["status"] == "ok" and "mps" in _topic(found, "system")["message"]
    assert "Linux-only" in _topic(found, "data package")["message"]
    assert "NVIDIA GPU" in _topic(found, "GPU cells")["message"]
    assert "macOS" in _topic(found, "lesson 11")["message"]
    assert not [f for f in found if f["status"] == "fail"]


def test_windows_gets_the_gloo_note_and_no_debian_package():
    found = system_findings(_facts("Windows", "AMD64"))
    assert _topic(found, "system")["status"] == "ok"
    assert "gloo" in _topic(found, "lesson 11")["message"] and "no NCCL" in _topic(found, "lesson 11")["message"]
    assert "dataset-fashion-mnist is Linux-only" in _topic(found, "data package")["message"]


def test_linux_needs_no_data_package_note_and_aarch64_gets_the_glibc_floor():
    found = system_findings(_facts("Linux", "x86_64"))
    assert [f["topic"] for f in found if f["status"] == "info"] == ["GPU cells", "lesson 11"]
    arm = [f["message"] for f in system_findings(_facts("Linux", "aarch64")) if f["topic"] == "system"]
    assert any("glibc 2.34" in m for m in arm)


@pytest.mark.parametrize("python, status", [("3.10.14", "fail"), ("3.11.7", "ok"), ("3.13.1", "ok"),
                                            ("3.14.0", "fail"), ("2.7.18", "fail")])
def test_python_outside_3_11_to_3_13_is_flagged_with_the_fix(python, status):
    f = _topic(system_findings(_facts("Linux", "x86_64", python)), "Python")
    assert f["status"] == status
    if status == "fail":
        assert python in f["message"] and "3.11-3.13" in f["message"] and "PYTHON=python3.11" in f["message"]


def test_a_system_failure_makes_the_report_unusable_and_says_why(capsys):
    rep = doctor.collect(facts=_facts("Darwin", "x86_64", "3.10.1"))
    assert rep["usable"] is False
    assert any("Intel Mac" in p for p in rep["problems"]) and any("3.10.1" in p for p in rep["problems"])
    table = rows(rep)
    assert ("python", "FAIL") == table[0][:2] and table[1][:2] == ("system", "FAIL")
    assert "Linux virtual machine" in format_report(rep)


def test_this_machine_reports_its_system(real_report):
    import platform
    assert real_report["system"]["system"] == platform.system()
    assert real_report["system"]["machine"] == platform.machine()
    assert "system" in format_report(real_report)
