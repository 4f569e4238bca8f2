"""Lesson 09 figures: boxes (with and without a legend), IoU grid, PR curve with both AP metrics, AP bars."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from pt_helpers.plot.voc import ap_bars, boxes_figure, iou_figure, pr_figure
from pt_helpers.voc import precision_envelope, voc_ap

GT = [{"bbox": [2, 2, 9, 7], "name": "cat", "difficult": False},
      {"bbox": [12, 3, 15, 9], "name": "cat", "difficult": True}]


def _rects(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_boxes_figure_draws_inclusive_pixel_boxes_and_difficult_dashed():
    fig = boxes_figure([np.zeros((20, 20))], gt=[GT], detections=[[((3, 3, 9, 8), "cat 0.90")]], titles=["t"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    rects = _rects(ax)
    assert len(rects) == 3
    det, gt_a, gt_b = rects  # detections first, ground truth on top
    assert det.get_xy() == (2.5, 2.5) and det.get_width() == 7 and det.get_height() == 6  # x 3..9 covers 7 pixels
    assert gt_a.get_linestyle() == "-" and gt_b.get_linestyle() == "--"
    assert gt_b.get_zorder() > det.get_zorder()
    assert "cat 0.90" in [t.get_text() for t in ax.texts]  # without legend: the text is written by the box
    assert not fig.legends


def test_boxes_figure_legend_gives_colours_and_rank_order():
    labels = [f"#{r} det" for r in (10, 2, 1)]
    dets = [[((1, 1, 5, 5), labels[0]), ((2, 2, 6, 6), labels[1])], [((3, 3, 7, 7), labels[2])]]
    fig = boxes_figure([np.zeros((10, 10)), np.zeros((10, 10))], detections=dets, legend=True)
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["#1 det", "#2 det", "#10 det"]
    colours = {tuple(p.get_edgecolor()) for ax in fig.axes for p in _rects(ax)}
    assert len(colours) == 3
    assert not any(t.get_text() in labels for ax in fig.axes for t in ax.texts)


def test_boxes_figure_legend_with_many_detections_cycles_colours():
    dets = [[((k % 8, 0, k % 8 + 2, 2), f"#{k}") for k in range(1, 71)]]
    fig = boxes_figure([np.zeros((12, 12))], detections=dets, legend=True)
    assert len(fig.legends[0].get_texts()) == 70


def test_iou_figure_shades_the_intersection():
    fig = iou_figure((2, 2, 9, 7), (6, 4, 12, 10))
    shaded = [p for p in _rects(fig.axes[0]) if p.get_fill()]
    assert len(shaded) == 1 and shaded[0].get_width() * shaded[0].get_height() == 16
    apart = iou_figure((0, 0, 1, 1), (5, 5, 6, 6))
    assert not [p for p in _rects(apart.axes[0]) if p.get_fill()]


def test_pr_figure_titles_carry_both_metrics():
    rec = np.array([0.25, 0.5, 0.5, 0.75])
    prec = np.array([1.0, 1.0, 0.667, 0.75])
    fig = pr_figure(rec, prec, title="x")
    titles = [ax.get_title() for ax in fig.axes]
    assert f"{voc_ap(rec, prec):.4f}" in titles[0]
    assert f"{voc_ap(rec, prec, use_07_metric=True):.4f}" in titles[1]


def test_pr_figure_draws_the_envelope_voc_ap_integrates():
    rec = np.array([0.1, 0.2, 0.2, 0.5, 0.6])
    prec = np.array([1.0, 0.5, 0.667, 0.8, 0.55])
    mrec, mpre = precision_envelope(rec, prec)
    for ax in pr_figure(rec, prec).axes:
        (envelope,) = [line for line in ax.lines if line.get_label() == "envelope"]
        np.testing.assert_array_equal(envelope.get_xdata(), mrec)
        np.testing.assert_array_equal(envelope.get_ydata(), mpre)
        assert mpre[2] == 0.8  # the later, higher precision lifts the point at recall 0.2


def test_ap_bars_one_group_per_class_and_means_in_legend():
    fig = ap_bars({"a": {"x": 0.5, "y": 1.0}, "b": {"x": 0.25, "y": 0.75}})
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (mean 0.750)", "b (mean 0.500)"]
