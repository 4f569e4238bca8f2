"""pt_helpers.deploy.node_placement: which execution provider ran each node (ONNX Runtime's profiler).

Independent references: the node names of the .onnx file (read with the onnx package) when ONNX Runtime
does not rewrite the graph, and the graph ONNX Runtime itself writes (``optimized_model_filepath``) when it does.
"""

from __future__ import annotations

import glob
import os

import onnx
import pytest
import torch
from torch import nn

from pt_helpers.deploy import NodePlacement, export_onnx, node_placement

CPU = "CPUExecutionProvider"


@pytest.fixture(scope="module")
def linear_relu(tmp_path_factory):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).eval()
    return export_onnx(model, torch.randn(2, 4), tmp_path_factory.mktemp("placement") / "lr.onnx")


def test_every_node_of_the_unoptimised_graph_runs_on_the_cpu_here(linear_relu):
    placement = node_placement(linear_relu, optimization="disable")
    assert isinstance(placement, NodePlacement)
    graph = onnx.load(linear_relu).graph.node
    assert [n.name for n in placement.nodes] == [n.name for n in graph]      # the file's nodes, in order
    assert [n.op_type for n in placement.nodes] == [n.op_type for n in graph]
    assert {n.provider for n in placement.nodes} == {CPU}
    assert placement.by_provider() == {CPU: [n.name for n in graph]}


def test_default_providers_fall_back_to_the_cpu_without_a_gpu(linear_relu):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the GPU providers may really run")
    placement = node_placement(linear_relu)  # default prefer: TensorRT, CUDA, CPU
    assert placement.session_providers == [CPU]
    assert {n.provider for n in placement.nodes} == {CPU}


def test_optimised_graph_names_are_those_of_the_graph_onnx_runtime_runs(linear_relu, tmp_path):
    out = tmp_path / "optimised.onnx"
    placement = node_placement(linear_relu, prefer=(CPU,), optimization="extended", optimized_model_path=out)
    ran = onnx.load(out).graph.node
    assert [(n.name, n.op_type) for n in placement.nodes] == [(n.name, n.op_type) for n in ran]
    assert [n.op_type for n in placement.nodes] == ["FusedGemm"]   # Gemm + Relu fused: not the file's nodes
    assert placement.by_provider() == {CPU: [ran[0].name]}


def test_profile_files_are_not_left_behind(linear_relu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    node_placement(linear_relu, prefer=(CPU,))
    assert glob.glob(str(tmp_path / "**" / "*.json"), recursive=True) == []
    assert os.listdir(tmp_path) == []


def test_table_names_every_provider_and_counts(linear_relu):
    text = str(node_placement(linear_relu, prefer=(CPU,), optimization="disable"))
    assert "CPUExecutionProvider" in text and "2 nodes" in text
    assert "node_linear" in text and "Gemm" in text and "Relu" in text


def test_feed_may_be_given_and_bad_paths_are_refused(linear_relu, tmp_path):
    placement = node_placement(linear_relu, prefer=(CPU,), feed=torch.randn(5, 4))
    assert placement.nodes
    with pytest.raises(FileNotFoundError):
        node_placement(tmp_path / "missing.onnx")
