"""pt_helpers.deploy: ONNX export, ONNX Runtime sessions, parity, latency, netron, TensorRT cache keys.

Every claim is checked against an independent reference: onnx.checker / onnx.load for the files,
eager PyTorch + np.testing for ONNX Runtime's numbers, np.percentile for the latency statistics,
objdump for the ELF reader, a real HTTP request for netron.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from torch import nn

from pt_helpers import deploy
from pt_helpers.deploy import (
    ExportError,
    benchmark,
    check_parity,
    engine_cache_key,
    export_onnx,
    exporter_used,
    graph_summary,
    ort_session,
    serve_netron,
    stop_netron,
)

CPU = "CPUExecutionProvider"


class TinyCNN(nn.Module):
    """conv -> BN -> ReLU -> pool -> linear: the smallest model with the lesson CNN's layer types."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class TwoHeads(nn.Module):
    """Returns a tuple: logits and features (every output must be compared)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(6, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(self.body(x))
        return self.head(h), h


class DataDependent(nn.Module):
    """Python control flow on a tensor value: torch.export refuses it, tracing would bake one branch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x * 2
        return x - 1


class Eigh(nn.Module):
    """An op neither exporter can translate (no ONNX operator for eigen-decomposition)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.eigh(x @ x.transpose(-1, -2))[0]


def _tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = TinyCNN()
    with torch.no_grad():  # non-trivial BN statistics so folding BN into the conv is really tested
        model.features[1].running_mean.uniform_(-0.5, 0.5)
        model.features[1].running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path]:
    model = _tiny()
    path = export_onnx(model, torch.randn(2, 1, 8, 8), tmp_path_factory.mktemp("onnx") / "tiny.onnx")
    return model, path


# --------------------------------------------------------------------------------------------- export


def test_export_uses_dynamo_checks_and_infers_shapes(tiny_onnx, capsys):
    model, path = tiny_onnx
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)  # independent re-check
    assert exporter_used(path) == "dynamo"
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[0] and dims[1:] == [1, 8, 8], dims
    out_dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert out_dims == [dims[0], 3]
    # shape inference ran: intermediate tensors carry shapes (netron draws them on the edges)
    assert len(proto.graph.value_info) >= 2
    assert all(v.type.tensor_type.HasField("shape") for v in proto.graph.value_info)
    assert not path.with_name(path.name + ".data").exists(), "weights must stay inside the .onnx file"


def test_export_prints_which_exporter(tmp_path, capsys):
    export_onnx(_tiny(), torch.randn(1, 1, 8, 8), tmp_path / "m.onnx")
    out = capsys.readouterr().out
    assert "dynamo" in out and "m.onnx" in out and "[batch, 1, 8, 8]" in out
    assert len(out.strip().splitlines()) == 1, out


def test_export_leaves_the_model_in_eval_mode_and_restores_nothing_else(tmp_path):
    model = _tiny().train()
    export_onnx(model, torch.randn(2, 1, 8, 8), tmp_path / "m.onnx")
    assert not model.training, "export_onnx exports in eval mode (BN running stats, no dropout)"


def test_fixed_batch_export_has_integer_batch(tmp_path):
    path = export_onnx(_tiny(), torch.randn(3, 1, 8, 8), tmp_path / "fixed.onnx", dynamic_batch=False)
    assert graph_summary(path)["inputs"] == {"input": [3, 1, 8, 8]}


def test_opset_is_honoured(tmp_path):
    path = export_onnx(_tiny(), torch.randn(2, 1, 8, 8), tmp_path / "o.onnx", opset=18)
    versions = {o.domain: o.version for o in onnx.load(str(path)).opset_import}
    assert versions[""] == 18


def test_multiple_outputs_are_named_and_checked(tmp_path):
    torch.manual_seed(0)
    model = TwoHeads().eval()
    path = export_onnx(model, torch.randn(4, 6), tmp_path / "two.onnx")
    summary = graph_summary(path)
    assert list(summary["outputs"]) == ["output_0", "output_1"]
    report = check_parity(model, ort_session(path, prefer=(CPU,), verbose=False), torch.randn(5, 6))
    assert report.ok and {r.output for r in report.rows} == {"output_0", "output_1"}


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_scripted_model_falls_back_to_torchscript_exporter(tmp_path, capsys):
    """torch.export cannot take a ScriptModule; the TorchScript exporter keeps its `if` as an ONNX If."""
    scripted = torch.jit.script(DataDependent())
    path = export_onnx(scripted, torch.randn(2, 3), tmp_path / "scripted.onnx")
    assert exporter_used(path) == "torchscript"
    assert "TorchScript" in capsys.readouterr().out
    ops = graph_summary(path)["ops"]
    assert ops.get("If") == 1
    session = ort_session(path, prefer=(CPU,), verbose=False)
    for x in (torch.ones(4, 3), -torch.ones(4, 3)):  # both branches, batch 4 != example batch 2
        got = session.run(None, {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, scripted(x).numpy())


def test_data_dependent_branch_is_refused_not_silently_baked(tmp_path):
    with pytest.raises(ExportError) as info:
        export_onnx(DataDependent(), torch.randn(2, 3), tmp_path / "dd.onnx")
    msg = str(info.value)
    assert "\n" not in msg.strip() and len(msg) < 1500, msg
    assert "dynamo" in msg and "TorchScript" in msg
    assert "x.sum() > 0" in msg, "the reason names the offending line"
    assert not (tmp_path / "dd.onnx").exists(), "no half-valid file is left behind"


def test_unexportable_op_gives_one_readable_paragraph(tmp_path):
    with pytest.raises(ExportError) as info:
        export_onnx(Eigh(), torch.randn(2, 3, 3), tmp_path / "eigh.onnx")
    msg = str(info.value)
    assert "\n" not in msg.strip() and len(msg) < 1500, msg
    assert "Eigh" in msg
    assert "aten._linalg_eigh" in msg and "aten::linalg_eigh" in msg, "each exporter's own reason"
    assert "Traceback" not in msg and "File \"" not in msg


@pytest.mark.parametrize("kwargs, match", [
    (dict(path="model.pth"), "path"),
    (dict(example_input=[1, 2]), "example_input"),
    (dict(opset=3), "opset"),
])
def test_export_bad_arguments(tmp_path, kwargs, match):
    args = dict(model=_tiny(), example_input=torch.randn(2, 1, 8, 8), path=tmp_path / "m.onnx")
    if "path" in kwargs:
        kwargs = dict(path=tmp_path / kwargs["path"])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        export_onnx(args.pop("model"), args.pop("example_input"), args.pop("path"), **args)


def test_graph_summary_counts_nodes_and_edges():
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])
    w = onnx.numpy_helper.from_array(np.ones((3, 3), np.float32), "w")
    nodes = [onnx.helper.make_node("MatMul", ["x", "w"], ["h"]), onnx.helper.make_node("Relu", ["h"], ["r"]),
             onnx.helper.make_node("Add", ["r", "x"], ["y"])]
    model = onnx.helper.make_model(onnx.helper.make_graph(nodes, "g", [x], [y], [w]))
    s = graph_summary(model)
    assert s["nodes"] == 3 and s["ops"] == {"MatMul": 1, "Relu": 1, "Add": 1}
    assert s["initializers"] == 1 and s["inputs"] == {"x": ["N", 3]} and s["outputs"] == {"y": ["N", 3]}
    # x->MatMul, h: MatMul->Relu, r: Relu->Add, x->Add, y: Add->output  (weights are not edges)
    assert s["edges"] == 5


# ------------------------------------------------------------------------------------ sessions


def test_ort_session_reports_provider_not_built_in(tiny_onnx, capsys):
    _, path = tiny_onnx
    session = ort_session(path, prefer=("NoSuchExecutionProvider", CPU))
    assert session.get_providers() == [CPU]
    assert "NoSuchExecutionProvider" in session.fallbacks
    assert "not built into" in session.fallbacks["NoSuchExecutionProvider"]
    assert "NoSuchExecutionProvider" in capsys.readouterr().out


def test_ort_session_reports_listed_provider_that_fails_to_initialise(tiny_onnx, monkeypatch, capsys):
    """Simulate onnxruntime-gpu on a machine without the libraries: the provider is LISTED, fails to start."""
    _, path = tiny_onnx
    listed = onnxruntime.get_available_providers()
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["FakeExecutionProvider", *listed])
    session = ort_session(path, prefer=("FakeExecutionProvider", CPU))
    assert session.get_providers() == [CPU]
    assert set(session.fallbacks) == {"FakeExecutionProvider"}
    assert "FakeExecutionProvider" in session.fallbacks["FakeExecutionProvider"]  # ORT's own reason
    out = capsys.readouterr()
    assert "fell back" in out.out and "FakeExecutionProvider" in out.out
    assert "EP Error" not in out.out + out.err, "ONNX Runtime's raw noise is summarised, not dumped"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: CUDA may really initialise")
def test_ort_session_gpu_providers_really_fall_back_without_gpu(tiny_onnx):
    _, path = tiny_onnx
    assert "CUDAExecutionProvider" in onnxruntime.get_available_providers(), "onnxruntime-gpu lists CUDA"
    session = ort_session(path, verbose=False)  # default prefer: TensorRT, CUDA, CPU
    assert session.get_providers() == [CPU]
    for name in ("TensorrtExecutionProvider", "CUDAExecutionProvider"):
        assert name in session.fallbacks and len(session.fallbacks[name]) > 10


def test_ort_session_threads_and_optimisation_level(tiny_onnx, tmp_path):
    _, path = tiny_onnx
    out = tmp_path / "opt.onnx"
    session = ort_session(path, prefer=(CPU,), threads=1, optimization="disable", optimized_model_path=out,
                          verbose=False)
    opts = session.get_session_options()
    assert opts.intra_op_num_threads == 1
    assert opts.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert graph_summary(out)["nodes"] == graph_summary(path)["nodes"], "level 'disable' keeps the graph"
    with pytest.raises(ValueError, match="optimization"):
        ort_session(path, optimization="turbo")
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        ort_session(tmp_path / "missing.onnx")


# -------------------------------------------------------------------------------------- parity


def test_check_parity_matches_numpy_allclose_at_dynamic_batches(tiny_onnx):
    model, path = tiny_onnx
    session = ort_session(path, prefer=(CPU,), verbose=False)
    x = torch.randn(9, 1, 8, 8)
    report = check_parity(model, session, x, atol=1e-4, rtol=1e-3)
    assert sorted({r.batch for r in report.rows}) == [1, 7, 9]
    for row in report.rows:  # recompute every row independently
        xb = x[torch.arange(row.batch) % 9]
        want = model(xb).detach().numpy()
        got = session.run(None, {"input": xb.numpy()})[0]
        assert row.max_abs == pytest.approx(float(np.abs(got - want).max()), rel=1e-6, abs=1e-12)
        assert row.ok == bool(np.allclose(got, want, atol=1e-4, rtol=1e-3))
    assert report.ok
    assert "✓" in report.verdict() and "1, 7, 9" in report.verdict()


def test_check_parity_catches_a_different_model(tiny_onnx):
    _, path = tiny_onnx
    other = _tiny(seed=1)  # same architecture, other weights
    report = check_parity(other, ort_session(path, prefer=(CPU,), verbose=False), torch.randn(3, 1, 8, 8))
    assert not report.ok and "✗" in report.verdict()
    assert all(r.max_abs > 1e-3 for r in report.rows)


def test_check_parity_static_batch(tmp_path):
    model = _tiny()
    path = export_onnx(model, torch.randn(4, 1, 8, 8), tmp_path / "fixed.onnx", dynamic_batch=False)
    session = ort_session(path, prefer=(CPU,), verbose=False)
    report = check_parity(model, session, torch.randn(4, 1, 8, 8))
    assert [r.batch for r in report.rows] == [4] and report.ok
    with pytest.raises(ValueError, match="batch"):
        check_parity(model, session, torch.randn(5, 1, 8, 8))


def test_fixed_batch_session_rejects_other_batch_with_ort_error(tmp_path):
    path = export_onnx(_tiny(), torch.randn(1, 1, 8, 8), tmp_path / "b1.onnx", dynamic_batch=False)
    session = ort_session(path, prefer=(CPU,), verbose=False)
    with pytest.raises(onnxruntime.capi.onnxruntime_pybind11_state.InvalidArgument, match="Got: 7 Expected: 1"):
        session.run(None, {"input": np.zeros((7, 1, 8, 8), np.float32)})


# ------------------------------------------------------------------------------------- latency


class SlowStart(nn.Module):
    """The first `slow` calls sleep: a benchmark that includes warm-up would see them in its median."""

    def __init__(self, slow: int) -> None:
        super().__init__()
        self.inner, self.calls, self.slow, self.threads_seen = _tiny(), 0, slow, set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.threads_seen.add(torch.get_num_threads())
        if self.calls <= self.slow:
            time.sleep(0.05)
        return self.inner(x)


def test_benchmark_excludes_warmup_states_threads_and_computes_statistics(tiny_onnx):
    _, path = tiny_onnx
    session = ort_session(path, prefer=(CPU,), threads=1, verbose=False)
    model = SlowStart(slow=3)
    before = torch.get_num_threads()
    result = benchmark(model, session, torch.randn(8, 1, 8, 8), batch_sizes=(1, 8), warmup=3, runs=7)
    assert torch.get_num_threads() == before, "torch's thread setting is restored"
    assert model.threads_seen == {1}, "eager ran with the session's intra-op thread count"
    assert model.calls == 2 * (3 + 7)
    assert result.threads == 1
    for t in result.timings:
        assert len(t.samples_ms) == 7
        assert t.median_ms == pytest.approx(np.percentile(t.samples_ms, 50))
        assert t.p90_ms == pytest.approx(np.percentile(t.samples_ms, 90))
        assert t.throughput == pytest.approx(t.batch / (t.median_ms / 1e3))
    eager1 = result.timing("eager", 1)
    assert eager1.median_ms < 40, "the 50 ms warm-up calls must not be in the statistics"
    assert result.speedup(1) == pytest.approx(eager1.median_ms / result.timing("onnxruntime", 1).median_ms)
    table = result.table()
    assert "threads" in table and "median" in table and "p90" in table


def test_benchmark_refuses_unknown_thread_count(tiny_onnx):
    _, path = tiny_onnx
    session = onnxruntime.InferenceSession(str(path), providers=[CPU])  # intra_op_num_threads = 0 (ORT default)
    with pytest.raises(ValueError, match="threads"):
        benchmark(_tiny(), session, torch.randn(2, 1, 8, 8))


# --------------------------------------------------------------------------------- every lesson model


def _lesson_models():
    """(name, factory, example input) for every lesson model; small configurations, same code paths."""
    out = []

    def mlp():
        from pt_helpers.models.mlp import MLP
        return MLP()

    def cnn():
        from pt_helpers.models.cnn import FashionCNN
        return FashionCNN()

    def unet():
        from pt_helpers.models.unet import UNet
        return UNet(n_channels=1, n_classes=11, base_channels=8)

    def vit():
        from pt_helpers.models.vit import ViT
        return ViT(image_size=28, patch_size=7, num_classes=10, dim=32, depth=2, heads=4, mlp_dim=64)

    def swin():
        from pt_helpers.models.swin import SwinClassifier
        return SwinClassifier(image_size=64, patch_size=4, in_channels=1, num_classes=3)

    for name, factory, shape in [("mlp", mlp, (1, 28, 28)), ("cnn", cnn, (1, 28, 28)), ("unet", unet, (1, 64, 64)),
                                 ("vit", vit, (1, 28, 28)), ("swin", swin, (1, 64, 64))]:
        out.append(pytest.param(factory, shape, id=name))
    return out


@pytest.mark.parametrize("factory, shape", _lesson_models())
def test_every_lesson_model_exports_checks_and_matches_eager(factory, shape, tmp_path):
    torch.manual_seed(0)
    model = factory().eval()
    path = export_onnx(model, torch.randn(2, *shape), tmp_path / "lesson.onnx", dynamic_batch=True)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort_session(path, prefer=(CPU,), verbose=False)
    assert session.get_inputs()[0].shape[0] not in (1, 2), "the batch axis must be symbolic"
    for batch in (1, 7):
        x = torch.randn(batch, *shape)
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        with torch.no_grad():
            want = model(x).numpy()
        assert got.shape == want.shape and got.shape[0] == batch
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-3)
    assert check_parity(model, session, torch.randn(7, *shape), batch_sizes=(1, 7)).ok


# --------------------------------------------------------------------------------------- netron


def _free_port_refuses(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) != 0


@pytest.mark.server
def test_netron_serves_html_and_the_model_on_loopback(tiny_onnx):
    _, path = tiny_onnx
    handle = serve_netron(path)
    try:
        assert handle.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(handle.url, timeout=2) as r:
            html = r.read().decode()
            assert r.status == 200 and r.headers["Content-Type"] == "text/html"
        assert "<title>Netron</title>" in html and f'/data/{path.name}' in html
        with urllib.request.urlopen(f"{handle.url}/data/{path.name}", timeout=2) as r:
            assert r.read() == path.read_bytes()
        other = serve_netron(path)
        try:
            assert other.url != handle.url
        finally:
            stop_netron(other)
    finally:
        stop_netron(handle)
    assert _free_port_refuses(handle.url), "stop_netron must close the port"


def test_netron_page_needs_no_external_network():
    """Every script, stylesheet and icon the page loads comes from netron's own server (the package)."""
    import re

    import netron

    root = Path(netron.__file__).parent
    html = (root / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert refs and all("://" not in r and (root / r).is_file() for r in refs), refs
    js = (root / "index.js").read_text(encoding="utf-8")
    imports = re.findall(r"import\(['\"]\./([\w.-]+)['\"]\)|from ['\"]\./([\w.-]+)['\"]", js)
    assert all((root / (a or b)).is_file() for a, b in imports)


def test_serve_netron_bad_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        serve_netron(tmp_path / "nope.onnx")


# ------------------------------------------------------------------------------------ TensorRT, libraries


def test_engine_cache_key_is_pure_and_separates_every_ingredient():
    base = dict(trt_version="10.3.0", gpu_name="NVIDIA GeForce RTX 3060", precision="fp16",
                input_shapes={"input": [(1, 1, 28, 28), (8, 1, 28, 28), (64, 1, 28, 28)]}, model_digest="ab12")
    key = engine_cache_key(**base)
    assert key == engine_cache_key(**base), "same inputs, same key"
    assert key == engine_cache_key(**{**base, "input_shapes": {"input": [[1, 1, 28, 28], [8, 1, 28, 28],
                                                                         [64, 1, 28, 28]]}}), "lists == tuples"
    changed = [dict(trt_version="10.4.0"), dict(gpu_name="NVIDIA A100-SXM4-40GB"), dict(precision="fp32"),
               dict(input_shapes={"input": [(1, 1, 28, 28), (8, 1, 28, 28), (128, 1, 28, 28)]}),
               dict(model_digest="ab13")]
    keys = {engine_cache_key(**{**base, **c}) for c in changed}
    assert len(keys) == len(changed) and key not in keys
    assert all(ch.isalnum() or ch in "._-" for ch in key), f"{key!r} must be a safe directory name"
    assert key.startswith("trt10.3.0_") and "rtx_3060" in key and "fp16" in key
    two = dict(base, input_shapes={"a": (1, 3), "b": (1, 4)})
    assert engine_cache_key(**two) == engine_cache_key(**dict(base, input_shapes={"b": (1, 4), "a": (1, 3)}))
    with pytest.raises(ValueError, match="precision"):
        engine_cache_key(**{**base, "precision": "int4"})
    with pytest.raises(ValueError, match="input_shapes"):
        engine_cache_key(**{**base, "input_shapes": {"input": [(1, -3)]}})


@pytest.mark.parametrize("raw, text", [(100300, "10.3.0"), (101302, "10.13.2"), (8601, "8.6.1"), (8510, "8.5.10")])
def test_tensorrt_version_decoding(raw, text):
    assert deploy.decode_tensorrt_version(raw) == text


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) not installed")
def test_needed_libraries_match_objdump():
    lib = Path(onnxruntime.__file__).parent / "capi" / "libonnxruntime_providers_shared.so"
    if not lib.exists():
        pytest.skip("onnxruntime build without the shared provider library")
    for so in lib.parent.glob("libonnxruntime_providers_*.so"):
        dump = subprocess.run(["objdump", "-p", str(so)], capture_output=True, text=True, check=True).stdout
        want = [line.split()[1] for line in dump.splitlines() if line.strip().startswith("NEEDED")]
        assert deploy.needed_libraries(so) == want


def test_ort_gpu_requirements_are_read_from_the_installed_package():
    req = deploy.ort_gpu_requirements()
    assert req.package.startswith("onnxruntime") and req.version == onnxruntime.__version__
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers() and req.libraries:
        assert req.cuda_major is not None and req.cudnn_major is not None
        assert {"CUDAExecutionProvider", "TensorrtExecutionProvider"} <= set(req.libraries)
        for libs in req.libraries.values():
            assert all(isinstance(found, bool) for found in libs.values())
    assert "CUDA" in req.table()


def test_the_wheels_library_names_agree_with_the_compat_tables():
    """The tables are the source of the versions; the sonames the provider libraries link are their check."""
    from pt_helpers.doctor import compat

    req = deploy.ort_gpu_requirements()
    if not req.libraries:
        pytest.skip("no GPU provider library in this onnxruntime build")
    assert (req.cuda_major, req.cudnn_major, req.tensorrt_major) == tuple(
        compat.ort_gpu_majors(req.version, req.build_cuda).values()), "the versions come from the tables"
    linked = {}
    for libs in req.libraries.values():
        for soname in libs:
            name, _, major = soname.partition(".so.")
            linked.setdefault(name, int(major.split(".")[0]))
    assert linked["libcudart"] == req.cuda_major, linked
    assert linked["libcudnn"] == req.cudnn_major, linked
    assert linked["libnvinfer"] == req.tensorrt_major, linked


def test_a_cpu_package_needs_no_gpu_versions(monkeypatch):
    import pt_helpers.deploy.gpu as gpu

    monkeypatch.setattr(gpu, "onnxruntime_distribution", lambda: ("onnxruntime", onnxruntime.__version__))
    monkeypatch.setattr(gpu, "onnxruntime_build_cuda", lambda: None)
    req = gpu.ort_gpu_requirements()
    assert req.package == "onnxruntime" and (req.cuda_major, req.cudnn_major, req.tensorrt_major) == (None,) * 3
    assert "wants CUDA n/a" in req.table()


# ------------------------------------------------------------------------------- shared inputs


def test_repeat_batch_and_sizes_to_run(tiny_onnx, tmp_path):
    from pt_helpers.deploy.inputs import as_tuple, ort_feed, repeat_batch, sizes_to_run

    x = torch.arange(3.0).reshape(3, 1)
    (xb,) = repeat_batch(as_tuple(x), 7)
    assert xb.squeeze(1).tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0]
    with pytest.raises(ValueError, match="inputs"):
        as_tuple([1, 2])
    _, path = tiny_onnx
    dynamic = ort_session(path, prefer=(CPU,), verbose=False)
    assert sizes_to_run(dynamic, 9, None) == [1, 7, 9] and sizes_to_run(dynamic, 9, (4, 2, 4)) == [2, 4]
    fixed = ort_session(export_onnx(_tiny(), torch.randn(2, 1, 8, 8), tmp_path / "f.onnx", dynamic_batch=False),
                        prefer=(CPU,), verbose=False)
    assert sizes_to_run(fixed, 2, None) == [2]
    with pytest.raises(ValueError, match="fixed batch of 2"):
        sizes_to_run(fixed, 3, None)
    feed = ort_feed(dynamic, (torch.ones(2, 1, 8, 8),))
    assert list(feed) == ["input"] and feed["input"].dtype == np.float32
