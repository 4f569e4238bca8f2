"""Learning-rate schedule explorer (lesson 05): curves from the real schedulers vs their closed forms, the widget."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure

from pt_helpers.explore.schedules import (
    SCHEDULES,
    lr_curve,
    make_scheduler,
    plateau_loss,
    schedule_call,
    schedule_explorer,
    schedule_figure,
)
from pt_helpers.explore.widget import controls, figure_png


@pytest.mark.parametrize("step_size, gamma", [(10, 0.5), (3, 0.9), (1, 0.1)])
def test_steplr_matches_its_closed_form(step_size, gamma):
    got = lr_curve("StepLR", steps=40, lr=0.1, step_size=step_size, gamma=gamma)
    want = [0.1 * gamma ** (t // step_size) for t in range(40)]
    assert got == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("t_max, eta_min", [(30, 0.0), (17, 0.01), (50, 0.002)])
def test_cosine_annealing_matches_its_closed_form(t_max, eta_min):
    got = lr_curve("CosineAnnealingLR", steps=t_max + 1, lr=0.1, T_max=t_max, eta_min=eta_min)
    want = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(t_max + 1)]
    assert got == pytest.approx(want, rel=1e-6, abs=1e-12)


def test_exponential_and_multistep_closed_forms():
    assert lr_curve("ExponentialLR", steps=25, gamma=0.8) == pytest.approx([0.1 * 0.8 ** t for t in range(25)])
    got = lr_curve("MultiStepLR", steps=30, milestones=(15, 5, 25), gamma=0.3)  # unsorted on purpose
    assert got == pytest.approx([0.1 * 0.3 ** sum(t >= m for m in (5, 15, 25)) for t in range(30)])


def test_one_cycle_starts_low_peaks_at_lr_and_ends_near_zero():
    lrs = lr_curve("OneCycleLR", steps=30, lr=0.1, pct_start=0.3, div_factor=25.0)
    peak = max(range(30), key=lrs.__getitem__)
    assert lrs[0] == pytest.approx(0.1 / 25) and lrs[peak] == pytest.approx(0.1, rel=1e-3)
    assert peak == round(0.3 * 30) - 1 and lrs[-1] < 1e-3
    linear = lr_curve("OneCycleLR", steps=30, anneal_strategy="linear")
    assert linear != lrs and linear[peak] == pytest.approx(0.1, rel=1e-3)


def test_plateau_halves_after_patience_epochs_without_improvement():
    loss = plateau_loss(30, plateau_from=8)
    assert loss[:9] == pytest.approx([1 / (1 + e) for e in range(9)]) and len(set(loss[8:])) == 1
    lrs = lr_curve("ReduceLROnPlateau", steps=30, patience=3, factor=0.5, plateau_from=8)
    assert lrs[:13] == [0.1] * 13  # best at epoch 8, then 4 epochs (> patience 3) without improvement
    assert lrs[13] == pytest.approx(0.05) and min(lrs) < 0.05
    assert lr_curve("ReduceLROnPlateau", steps=30, plateau_from=30) == [0.1] * 30


def test_every_schedule_uses_the_real_scheduler_class():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    for name in SCHEDULES:
        assert type(make_scheduler(name, opt, steps=30)).__name__ == name


def test_bad_names_and_parameters_are_reported():
    with pytest.raises(ValueError, match="unknown schedule 'CyclicLR'"):
        lr_curve("CyclicLR")
    with pytest.raises(ValueError, match="StepLR: unknown parameter"):
        lr_curve("StepLR", T_max=3)
    with pytest.raises(ValueError, match="steps"):
        lr_curve("StepLR", steps=0)


def test_schedule_call_text():
    assert schedule_call("StepLR") == "StepLR(step_size=10, gamma=0.5)"
    assert schedule_call("MultiStepLR", milestones=(2, 4)) == "MultiStepLR(milestones=[2, 4], gamma=0.3)"
    assert "plateau_from" not in schedule_call("ReduceLROnPlateau")


def test_schedule_figure_draws_the_curve_and_names_its_numbers():
    fig = schedule_figure("StepLR", steps=30, step_size=10, gamma=0.5)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.lines) == len(SCHEDULES)
    bold = ax.lines[-1]
    assert list(bold.get_ydata()) == pytest.approx(lr_curve("StepLR", steps=30))
    assert ax.get_title() == "StepLR(step_size=10, gamma=0.5)\nlr 0.1 → 0.025, max 0.1 at step 0"
    alone = schedule_figure("ReduceLROnPlateau", others=False)
    assert len(alone.axes) == 2 and len(alone.axes[0].lines) == 1  # lr, and the loss on a twin axis


def test_explorer_builds_swaps_controls_and_redraws():
    box = schedule_explorer()
    c = controls(box)
    assert {"schedule", "steps", "step_size", "gamma", "Image", "HTML"} <= set(c) and "T_max" not in c
    first = c["Image"].value
    assert first == figure_png(schedule_figure())  # the static figure a notebook shows is the default view
    assert first[:4] == b"\x89PNG" and "StepLR(step_size=10, gamma=0.5)" in c["HTML"].value
    c["gamma"].value = 0.25
    assert "gamma=0.25" in c["HTML"].value and c["Image"].value != first
    c["schedule"].value = "CosineAnnealingLR"
    c = controls(box)
    assert "T_max" in c and "step_size" not in c and "CosineAnnealingLR(T_max=30" in c["HTML"].value
    before = c["Image"].value
    c["T_max"].value = 10
    assert "T_max=10" in c["HTML"].value and c["Image"].value != before
    before = c["Image"].value
    c["steps"].value = 60
    assert "60 steps" in c["HTML"].value and c["Image"].value != before


def test_explorer_reports_bad_milestones_and_keeps_the_image():
    box = schedule_explorer(schedules=["MultiStepLR"])
    c = controls(box)
    before = c["Image"].value
    c["milestones"].value = "5, ten"
    assert "milestones" in c["HTML"].value and "ten" in c["HTML"].value and c["Image"].value == before
    c["milestones"].value = "3 6"
    assert "milestones=[3, 6]" in c["HTML"].value and c["Image"].value != before
    with pytest.raises(ValueError, match="schedules"):
        schedule_explorer(schedules=["nope"])
