"""Learning-rate schedule explorer: the six schedules of lesson 05 with their parameters, lr over steps.

Taught in notebooks/05_cnn.ipynb (section 5, learning-rate schedules). Every curve comes from the real
``torch.optim.lr_scheduler`` class stepping a dummy SGD optimizer, exactly as the lesson's ``lr_curve``
does: the lr is read before each step, then ``optimizer.step()`` and ``scheduler.step()`` run
(``ReduceLROnPlateau`` is stepped with a made-up validation loss that improves, then plateaus).
:func:`lr_curve` computes, :func:`schedule_figure` draws, :func:`schedule_explorer` is the widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch.optim import lr_scheduler as S

from .widget import ExplorerBox, figure_png

__all__ = ["SCHEDULES", "plateau_loss", "make_scheduler", "lr_curve", "schedule_call", "schedule_figure",
           "schedule_explorer"]

# name -> the parameters the explorer lets you change, with the lesson's values as defaults.
# "plateau_from" is not a scheduler argument: the epoch from which the made-up validation loss stops improving.
SCHEDULES: dict[str, dict[str, Any]] = {
    "StepLR": {"step_size": 10, "gamma": 0.5},
    "MultiStepLR": {"milestones": (5, 15, 25), "gamma": 0.3},
    "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingLR": {"T_max": 30, "eta_min": 0.0},
    "ReduceLROnPlateau": {"patience": 3, "factor": 0.5, "plateau_from": 8},
    "OneCycleLR": {"pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0},
}


def plateau_loss(steps: int, plateau_from: int = 8) -> list[float]:
    """A validation loss ``1 / (1 + e)`` that stops improving at epoch ``plateau_from`` (lesson 05's ``val_loss``)."""
    return [1 / (1 + min(e, plateau_from)) for e in range(steps)]


def _params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}: expected one of {', '.join(SCHEDULES)}")
    unknown = set(params) - set(SCHEDULES[name])
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                         f"expected {', '.join(SCHEDULES[name])}")
    return {**SCHEDULES[name], **params}


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, *, steps: int, **params: Any) -> Any:
    """The ``torch.optim.lr_scheduler`` object for ``name`` (a key of :data:`SCHEDULES`) on ``optimizer``.

    ``steps`` is OneCycleLR's ``total_steps`` (its peak lr is the optimizer's lr); ``plateau_from`` is dropped.
    """
    p = _params(name, params)
    if name == "StepLR":
        return S.StepLR(optimizer, step_size=int(p["step_size"]), gamma=p["gamma"])
    if name == "MultiStepLR":
        return S.MultiStepLR(optimizer, milestones=sorted(int(m) for m in p["milestones"]), gamma=p["gamma"])
    if name == "ExponentialLR":
        return S.ExponentialLR(optimizer, gamma=p["gamma"])
    if name == "CosineAnnealingLR":
        return S.CosineAnnealingLR(optimizer, T_max=int(p["T_max"]), eta_min=p["eta_min"])
    if name == "ReduceLROnPlateau":
        return S.ReduceLROnPlateau(optimizer, patience=int(p["patience"]), factor=p["factor"])
    return S.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"], total_steps=steps,
                        pct_start=p["pct_start"], anneal_strategy=p["anneal_strategy"], div_factor=p["div_factor"])


def lr_curve(name: str, *, steps: int = 30, lr: float = 0.1, **params: Any) -> list[float]:
    """The learning rate at each of ``steps`` steps (read before the step), from the real scheduler.

    Args:
        name: a key of :data:`SCHEDULES`; params: any of its parameters (the others keep the lesson's values).
        steps: number of scheduler steps (epochs in the lesson's figure); lr: the optimizer's lr.
    """
    if steps < 1:
        raise ValueError(f"lr_curve(steps={steps}): expected at least 1")
    p = _params(name, params)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = make_scheduler(name, opt, steps=steps, **p)
    metric = plateau_loss(steps, int(p["plateau_from"])) if name == "ReduceLROnPlateau" else None
    lrs = []
    for step in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradients: changes nothing, but keeps the scheduler's order check quiet
        sched.step(metric[step]) if metric is not None else sched.step()
    return lrs


def schedule_call(name: str, **params: Any) -> str:
    """The constructor call as text, e.g. ``"StepLR(step_size=10, gamma=0.5)"`` (``plateau_from`` left out)."""
    p = _params(name, params)

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(str(int(m)) for m in v) + "]"
        return repr(v)

    return f"{name}(" + ", ".join(f"{k}={fmt(v)}" for k, v in p.items() if k != "plateau_from") + ")"


def schedule_figure(name: str = "StepLR", *, steps: int = 30, lr: float = 0.1, others: bool = True,
                    size: tuple[float, float] = (7.0, 3.4), **params: Any) -> Figure:
    """lr over steps for one schedule (bold), the lesson's other five at their defaults (faint) when ``others``.

    The title is the call with its numbers and the first, last and largest lr; for ReduceLROnPlateau the
    validation loss it reacts to is drawn on a second axis.
    """
    p = _params(name, params)
    lrs = lr_curve(name, steps=steps, lr=lr, **p)
    fig = Figure(figsize=size)
    ax = fig.subplots()
    if others:
        for i, other in enumerate(SCHEDULES):  # one colour per schedule in every view
            if other != name:
                ax.plot(lr_curve(other, steps=steps, lr=lr), lw=1, alpha=0.4, color=f"C{i}", label=other)
    ax.plot(lrs, lw=2.5, color="black", marker="." if steps <= 60 else None, label=name)
    note = ""
    if name == "ReduceLROnPlateau":
        twin = ax.twinx()
        twin.plot(plateau_loss(steps, int(p["plateau_from"])), ls="--", color="tab:gray")
        twin.set_ylabel("validation loss (made up)", fontsize=8, color="tab:gray")
        note = f", loss flat from step {int(p['plateau_from'])}"
    peak = max(range(steps), key=lrs.__getitem__)
    ax.set_title(f"{schedule_call(name, **p)}{note}\n"
                 f"lr {lrs[0]:.3g} → {lrs[-1]:.3g}, max {lrs[peak]:.3g} at step {peak}", fontsize=9)
    ax.set_xlabel("step (scheduler.step() calls)")
    ax.set_ylabel("learning rate")
    ax.set_ylim(0, lr * 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.12 if name == "ReduceLROnPlateau" else 1.01, 1))
    fig.tight_layout()
    return fig


def _parse_milestones(text: str) -> tuple[int, ...]:
    """``"5, 15, 25"`` -> ``(5, 15, 25)``; ValueError on anything that is not non-negative integers."""
    parts = [t for t in text.replace(";", ",").replace(" ", ",").split(",") if t]
    values = tuple(int(t) for t in parts)
    if any(v < 0 for v in values):
        raise ValueError("milestones must be >= 0")
    return values


def _controls() -> dict[str, dict[str, widgets.ValueWidget]]:
    """One set of parameter controls per schedule, starting at :data:`SCHEDULES`' values."""
    def fs(name: str, v: float, lo: float, hi: float, step: float) -> widgets.FloatSlider:
        return widgets.FloatSlider(value=v, min=lo, max=hi, step=step, description=name, continuous_update=False)

    def ints(name: str, v: int, lo: int, hi: int) -> widgets.IntSlider:
        return widgets.IntSlider(value=v, min=lo, max=hi, description=name, continuous_update=False)

    d = SCHEDULES
    return {
        "StepLR": {"step_size": ints("step_size", d["StepLR"]["step_size"], 1, 50),
                   "gamma": fs("gamma", d["StepLR"]["gamma"], 0.05, 1.0, 0.05)},
        "MultiStepLR": {"milestones": widgets.Text(value=", ".join(map(str, d["MultiStepLR"]["milestones"])),
                                                   description="milestones", continuous_update=False),
                        "gamma": fs("gamma", d["MultiStepLR"]["gamma"], 0.05, 1.0, 0.05)},
        "ExponentialLR": {"gamma": fs("gamma", d["ExponentialLR"]["gamma"], 0.5, 1.0, 0.01)},
        "CosineAnnealingLR": {"T_max": ints("T_max", d["CosineAnnealingLR"]["T_max"], 1, 200),
                              "eta_min": fs("eta_min", d["CosineAnnealingLR"]["eta_min"], 0.0, 0.05, 0.005)},
        "ReduceLROnPlateau": {"patience": ints("patience", d["ReduceLROnPlateau"]["patience"], 0, 15),
                              "factor": fs("factor", d["ReduceLROnPlateau"]["factor"], 0.1, 0.9, 0.05),
                              "plateau_from": ints("plateau_from", d["ReduceLROnPlateau"]["plateau_from"], 0, 200)},
        "OneCycleLR": {"pct_start": fs("pct_start", d["OneCycleLR"]["pct_start"], 0.05, 0.95, 0.05),
                       "anneal_strategy": widgets.Dropdown(options=["cos", "linear"], description="anneal_strategy",
                                                           value=d["OneCycleLR"]["anneal_strategy"]),
                       "div_factor": fs("div_factor", d["OneCycleLR"]["div_factor"], 1.0, 100.0, 1.0)},
    }


def schedule_explorer(*, steps: int = 30, lr: float = 0.1, schedules: Sequence[str] = tuple(SCHEDULES)) -> ExplorerBox:
    """The schedule explorer of lesson 05: pick a schedule, move its parameters, watch lr over the steps.

    Args:
        steps: initial number of steps (a slider, 5..200); lr: the dummy optimizer's lr (OneCycleLR's peak).
        schedules: which of :data:`SCHEDULES` the menu offers.
    Returns:
        A ``VBox``: ``Dropdown`` "schedule", ``IntSlider`` "steps", the chosen schedule's parameter controls
        (described by their argument names), an ``HTML`` line with the call, and an ``Image`` with the PNG of
        :func:`schedule_figure`. Changing any control redraws the image; a bad milestone list is reported in
        the ``HTML`` line and the image is kept.
    """
    names = list(schedules)
    if not names or any(n not in SCHEDULES for n in names):
        raise ValueError(f"schedule_explorer(schedules={schedules!r}): expected names from {', '.join(SCHEDULES)}")
    choice = widgets.Dropdown(options=names, value=names[0], description="schedule")
    n_steps = widgets.IntSlider(value=steps, min=5, max=200, description="steps", continuous_update=False)
    controls = _controls()
    params_box = widgets.HBox(list(controls[names[0]].values()))
    line = widgets.HTML()
    picture = widgets.Image(format="png")

    def redraw(_change: object = None) -> None:
        name = choice.value
        params: dict[str, Any] = {}
        for key, control in controls[name].items():
            if key == "milestones":
                try:
                    params[key] = _parse_milestones(control.value)
                except ValueError:
                    line.value = f"<b>milestones</b>: expected integers like 5, 15, 25, got {control.value!r}"
                    return
            else:
                params[key] = control.value
        line.value = f"<code>{schedule_call(name, **params)}</code>, {n_steps.value} steps, lr {lr:g}"
        picture.value = figure_png(schedule_figure(name, steps=n_steps.value, lr=lr, **params))

    def switch(_change: object = None) -> None:
        params_box.children = list(controls[choice.value].values())
        redraw()

    choice.observe(switch, names="value")
    n_steps.observe(redraw, names="value")
    for group in controls.values():
        for control in group.values():
            control.observe(redraw, names="value")
    redraw()
    return ExplorerBox([widgets.HBox([choice, n_steps]), params_box, line, picture],
                       title="Learning-rate schedule explorer")
