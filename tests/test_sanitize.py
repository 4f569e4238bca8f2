"""The nbval sanitize file makes one committed output fit CPU and GPU runs and any machine."""

import re
from pathlib import Path

import pytest
import torch
from nbval.plugin import get_sanitize_patterns

CFG = Path(__file__).with_name("nbval_sanitize.cfg")


def sanitize(text: str) -> str:
    for regex, replace in get_sanitize_patterns(CFG.read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_every_section_is_parsed():
    sections = CFG.read_text().count("\nregex: ")
    assert len(get_sanitize_patterns(CFG.read_text())) == sections >= 7


@pytest.mark.parametrize("cpu, cuda", [
    ("tensor([1., 2.])", "tensor([1., 2.], device='cuda:0')"),
    ("tensor([[1., 2.],\n        [3., 4.]], grad_fn=<AddBackward0>)",
     "tensor([[1., 2.],\n        [3., 4.]],\n       device='cuda:0', grad_fn=<AddBackward0>)"),
    ("tensor([1, 2], dtype=torch.int32)", "tensor([1, 2], device='cuda:1', dtype=torch.int32)"),
    ("tensor([1., 2.])", "tensor([1., 2.], device='mps:0')"),  # Apple's GPU on a learner's Mac
])
def test_cuda_tensor_reprs_match_cpu(cpu, cuda):
    assert sanitize(cuda) == sanitize(cpu)


def test_real_cpu_repr_is_left_alone():
    text = repr(torch.arange(3.0, requires_grad=True) * 2)
    assert sanitize(text) == text


@pytest.mark.parametrize("a, b", [
    ("torch 2.14.1+cu130 installed", "torch 2.14.1+cpu installed"),
    ("at 0x7f3a2b1c9d40>", "at 0x7f00aa00bb11>"),
    ("epoch 1/3 [00:12<00:00, 3.2it/s]", "epoch 1/3 [00:03<00:00, 9.9it/s]"),
    ("took 12.5 s", "took 0.8 s"),
    ("saved /home/ana/workbook/data/x.pt", "saved /tmp/c/data/x.pt"),
    ("device: mps:0", "device: cuda:0"),
])
def test_machine_specific_values_are_replaced(a, b):
    assert sanitize(a) == sanitize(b)


@pytest.mark.parametrize("a, b", [("shape (3, 4)", "shape (4, 3)"), ("accuracy 0.9123", "accuracy 0.9124"),
                                  ("tensor([1., 2.])", "tensor([1., 3.])")])
def test_real_differences_survive(a, b):
    assert sanitize(a) != sanitize(b)
