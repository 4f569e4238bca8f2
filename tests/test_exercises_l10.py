"""Lesson 10 checkers: right answers pass, typical wrong answers fail with a hint (never the answer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from exercise_helpers import assert_blank_reported

from pt_helpers.exercises import ExerciseError, l10


def test_export_dynamic_accepts_a_dynamic_export(capsys):
    def export_dynamic(model, example, path):
        torch.onnx.export(model, (example,), str(path), dynamo=True, external_data=False,
                          dynamic_shapes=({0: torch.export.Dim("batch")},))

    l10.check_export_dynamic(export_dynamic)
    assert "✓" in capsys.readouterr().out


OTHER = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5)).eval()  # not the model it was given


@pytest.mark.parametrize("wrong, hint", [
    (lambda model, example, path: torch.onnx.export(model, (example,), str(path), dynamo=True,
                                                    external_data=False), "batch axis is fixed"),
    (lambda model, example, path: model.eval(), "no file"),
    (lambda model, example, path: torch.onnx.export(OTHER, (example,), str(path), dynamo=True, external_data=False,
                                                    dynamic_shapes=({0: torch.export.Dim("batch")},)), "differs"),
])
def test_export_dynamic_rejects(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        l10.check_export_dynamic(wrong)


def _axes_right(model):
    weights = {t.name for t in model.graph.initializer}
    return {i.name: [k for k, d in enumerate(i.type.tensor_type.shape.dim) if d.dim_param]
            for i in model.graph.input if i.name not in weights}


def test_dynamic_axes(capsys):
    l10.check_dynamic_axes(_axes_right)
    assert "✓" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="initializer"):
        l10.check_dynamic_axes(lambda m: {i.name: [k for k, d in enumerate(i.type.tensor_type.shape.dim)
                                                   if d.dim_param] for i in m.graph.input})
    with pytest.raises(ExerciseError, match="dim_param"):
        l10.check_dynamic_axes(lambda m: {k: [0] for k in _axes_right(m)})
    assert_blank_reported(l10.check_dynamic_axes, lambda m: None)


def test_parity_stats(capsys):
    def right(got, want, atol, rtol):
        if got.shape != want.shape:
            return float("inf"), False
        d = np.abs(got - want)
        return float(d.max()), bool((d <= atol + rtol * np.abs(want)).all())

    l10.check_parity_stats(right)
    assert "✓" in capsys.readouterr().out

    def global_tolerance(got, want, atol, rtol):  # the tempting mistake: one tolerance from max|want|
        if got.shape != want.shape:
            return float("inf"), False
        d = np.abs(got - want)
        return float(d.max()), bool(d.max() <= atol + rtol * np.abs(want).max())

    with pytest.raises(ExerciseError, match="EVERY element"):
        l10.check_parity_stats(global_tolerance)

    def ignores_shape(got, want, atol, rtol):
        d = np.abs(got - want.reshape(got.shape))
        return float(d.max()), bool((d <= atol + rtol * np.abs(want.reshape(got.shape))).all())

    with pytest.raises(ExerciseError, match="shapes differ"):
        l10.check_parity_stats(ignores_shape)


def test_latency_stats(capsys):
    l10.check_latency_stats(lambda s, w: (float(np.percentile(s[w:], 50)), float(np.percentile(s[w:], 90))))
    assert "✓" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="warm-up"):
        l10.check_latency_stats(lambda s, w: (float(np.median(s)), float(np.percentile(s, 90))))
    with pytest.raises(ExerciseError, match="90th"):
        l10.check_latency_stats(lambda s, w: (float(np.median(s[w:])), float(max(s[w:]))))

    def mutates(s, w):
        del s[:w]
        return float(np.median(s)), float(np.percentile(s, 90))

    with pytest.raises(ExerciseError, match="changed the list"):
        l10.check_latency_stats(mutates)


def test_pair_answers_may_be_lists(capsys):
    def right(got, want, atol, rtol):
        if got.shape != want.shape:
            return [float("inf"), False]
        d = np.abs(got - want)
        return [float(d.max()), bool((d <= atol + rtol * np.abs(want)).all())]

    l10.check_parity_stats(right)
    l10.check_latency_stats(lambda s, w: [float(np.percentile(s[w:], 50)), float(np.percentile(s[w:], 90))])
    assert capsys.readouterr().out.count("✓") == 2
