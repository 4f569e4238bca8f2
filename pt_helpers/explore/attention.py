"""Attention explorer for lesson 08: what the class token looks at, attention rollout, Swin's windows.

Taught in notebooks/08_vit_swin.ipynb (sections 1.9 and 2.2). Three layers, each usable alone:

- pure computations (tested): :func:`vit_attention_maps` (the model's own ``forward_with_attention``,
  no hooks, no change to the model), :func:`cls_attention`, :func:`attention_rollout` (Abnar & Zuidema,
  2020), :func:`swin_blocks` and :func:`swin_window_maps` (geometry from ``pt_helpers.models.swin``);
- figures for given settings: :func:`vit_attention_figure`, :func:`swin_windows_figure`;
- :func:`attention_explorer`: ipywidgets controls that redraw those figures into an ``Image`` widget.

Layouts: attention maps ``(B, heads, T, T)`` with ``T = 1 + N`` (class token first), ``N = gh * gw``
patches in row-major order; rollout ``(B, T, T)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from pt_helpers.models.swin import SwinBlock, shifted_window_regions, window_partition
from pt_helpers.plot.image import to_image

from .widget import ExplorerBox, figure_png

__all__ = ["vit_attention_maps", "cls_attention", "attention_rollout", "SwinBlockGeometry",
           "swin_blocks", "swin_window_maps", "vit_attention_figure", "swin_windows_figure", "attention_explorer"]


@torch.no_grad()
def vit_attention_maps(vit: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and every block's attention weights, from the model's own ``forward_with_attention``.

    Args:
        vit: a :class:`pt_helpers.models.vit.ViT` with ``pool="cls"``; put in eval mode for the call and
            restored afterwards.
        images: ``(B, C, H, W)`` model inputs (normalised as in training), on any device.
    Returns:
        ``(logits (B, classes), [ (B, heads, T, T) per block ])``, on the CPU.
    """
    if getattr(vit, "cls_token", None) is None:
        raise ValueError("vit_attention_maps: the ViT has no class token (pool='mean'); nothing to explore")
    device = next(vit.parameters()).device
    was_training = vit.training
    vit.eval()
    try:
        logits, maps = vit.forward_with_attention(images.to(device))
    finally:
        vit.train(was_training)
    return logits.cpu(), [m.cpu() for m in maps]


def cls_attention(maps: Sequence[torch.Tensor], layer: int, head: int | None = None) -> torch.Tensor:
    """Row 0 of one block's attention without its first column: the class token over the patches.

    Args:
        maps: per block ``(B, heads, T, T)``; layer: block index (negative counts from the end);
        head: one head, or None for the mean over heads.
    Returns:
        ``(B, N)`` with ``N = T - 1``.
    """
    a = maps[layer]  # (B, heads, T, T)
    a = a.mean(1) if head is None else a[:, head]  # (B, T, T)
    return a[:, 0, 1:]


def attention_rollout(maps: Sequence[torch.Tensor], *, upto: int | None = None) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema, 2020) through blocks ``0..upto``.

    Per block: average the heads, add the identity (the residual path), renormalise each row to sum 1;
    then multiply the blocks: ``R = Â_upto ... Â_1 Â_0``.

    Args:
        maps: per block ``(B, heads, T, T)``; upto: last block included (None: all; negative from the end).
    Returns:
        ``(B, T, T)``; row 0 (without column 0) is the class token's rolled-out attention over the patches.
    """
    if not maps:
        raise ValueError("attention_rollout: no attention maps")
    last = len(maps) - 1 if upto is None else range(len(maps))[upto]
    B, _, T, _ = maps[0].shape
    eye = torch.eye(T, dtype=maps[0].dtype)
    rollout = eye.expand(B, T, T)
    for a in maps[:last + 1]:
        a = a.mean(1) + eye  # (B, T, T): heads averaged, plus the residual connection
        a = a / a.sum(-1, keepdim=True)  # rows sum to 1 again
        rollout = a @ rollout
    return rollout


def _grid(values: torch.Tensor, image_hw: tuple[int, int]) -> np.ndarray:
    """``(N,)`` patch values -> ``(gh, gw)`` patch grid with the image's aspect ratio."""
    n = values.numel()
    H, W = image_hw
    gh = round((n * H / W) ** 0.5)
    if gh * (n // gh) != n:
        raise ValueError(f"{n} patches do not form a grid for a {H}x{W} image")
    return values.detach().cpu().reshape(gh, n // gh).numpy()


def _overlay(ax: Any, image: np.ndarray, grid: np.ndarray, title: str) -> None:
    H, W = image.shape[:2]
    ax.imshow(image, cmap="gray")
    ax.imshow(grid, cmap="inferno", alpha=0.6, extent=(-0.5, W - 0.5, H - 0.5, -0.5), interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def vit_attention_figure(images: torch.Tensor, maps: Sequence[torch.Tensor], *, index: int = 0, layer: int = -1,
                         head: int | None = None, title: str = "") -> Figure:
    """One image, its class-token attention (block ``layer``, ``head`` or the head mean) and the rollout.

    Args:
        images: ``(B, C, H, W)`` or ``(B, H, W)``; maps: from :func:`vit_attention_maps`.
    Returns:
        A Figure with three panels: the image, the block's attention over the patches, the rollout
        through blocks 0..layer (both as heat maps over the patch grid, on top of the image).
    """
    image = to_image(images[index], scale="minmax")
    hw = image.shape[:2]
    L = len(maps)
    layer = range(L)[layer]
    att = _grid(cls_attention(maps, layer, head)[index], hw)
    roll = _grid(attention_rollout(maps, upto=layer)[index, 0, 1:], hw)
    fig = Figure(figsize=(7.2, 2.8))  # fixed margins: constrained layout would cost a third of each redraw
    ax = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.84, wspace=0.06)
    ax[0].imshow(image, cmap="gray")
    ax[0].set_title(title or f"image {index}", fontsize=8)
    ax[0].set_axis_off()
    who = "mean of heads" if head is None else f"head {head}"
    _overlay(ax[1], image, att, f"block {layer}, {who}:\nclass token -> patches")
    _overlay(ax[2], image, roll, f"rollout, blocks 0..{layer}\n(heads averaged, + identity)")
    return fig


@dataclass(frozen=True)
class SwinBlockGeometry:
    """Where one Swin block's windows lie: its stage, token grid, window side, shift and token size in pixels."""

    stage: int
    block: int
    resolution: tuple[int, int]
    window_size: int
    shift_size: int
    token_pixels: int


def swin_blocks(swin: torch.nn.Module) -> list[SwinBlockGeometry]:
    """The geometry of every :class:`~pt_helpers.models.swin.SwinBlock` of a ``SwinClassifier``, in order."""
    out, pixels = [], swin.cfg.patch_size
    for s, stage in enumerate(swin.stages):
        blocks = [m for m in stage if isinstance(m, SwinBlock)]
        for b, blk in enumerate(blocks):
            out.append(SwinBlockGeometry(s, b, tuple(blk.input_resolution), blk.window_size, blk.shift_size, pixels))
        pixels *= 2  # PatchMerging halves the token grid
    return out


def swin_window_maps(H: int, W: int, window_size: int, shift_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Which window each token attends in, and (shifted blocks) which mask region it belongs to.

    Both in the IMAGE's token positions: the block rolls the map by ``-shift``, cuts it with
    :func:`~pt_helpers.models.swin.window_partition` and attends inside each window, masking pairs
    from different regions (:func:`~pt_helpers.models.swin.shifted_window_regions`).

    Returns:
        ``(window_id (H, W), region (H, W))`` int arrays; region is all 0 when ``shift_size`` is 0.
    """
    ids = torch.arange(H * W).view(1, H, W, 1)  # token number of each position
    rolled = torch.roll(ids, shifts=(-shift_size, -shift_size), dims=(1, 2)) if shift_size else ids
    windows = window_partition(rolled, window_size).flatten(1)  # (nW, N): tokens of each window
    window_id = torch.empty(H * W, dtype=torch.long)
    window_id[windows] = torch.arange(windows.shape[0])[:, None].expand_as(windows)
    if shift_size:
        region = torch.roll(shifted_window_regions(H, W, window_size, shift_size), (shift_size, shift_size), (0, 1))
    else:
        region = torch.zeros(H, W, dtype=torch.long)
    return window_id.view(H, W).numpy(), region.numpy()


def swin_windows_figure(image: Any, geometry: SwinBlockGeometry, *, title: str = "") -> Figure:
    """A canvas with one Swin block's windows (colours, grid lines) and, if shifted, its mask regions.

    Args:
        image: ``(H, W)`` or ``(1, H, W)`` canvas the Swin reads; geometry: from :func:`swin_blocks`.
    """
    img = to_image(image, scale="minmax")
    g = geometry
    (h, w), ws, s, p = g.resolution, g.window_size, g.shift_size, g.token_pixels
    window_id, region = swin_window_maps(h, w, ws, s)
    extent = (-0.5, w * p - 0.5, h * p - 0.5, -0.5)
    fig = Figure(figsize=(6.4, 3.5))
    ax = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.8, wspace=0.08)
    panels = ((window_id % 10, f"windows of {ws}x{ws} tokens ({ws * p} px)" + (f", shifted by {s}" if s else "")),
              (region, "mask regions: different colours in one\nwindow may not attend" if s else
               "one window covers the map: no shift" if ws >= max(h, w) else "no shift: no mask (one region)"))
    for a, (labels, text) in zip(ax, panels):
        a.imshow(img, cmap="gray")
        a.imshow(labels, cmap="tab10", vmin=0, vmax=9, alpha=0.45, extent=extent, interpolation="nearest")
        for t in range(s, max(h, w) + 1, ws):  # window borders in the image: every ws tokens, offset by s
            a.axhline(t * p - 0.5, color="w", lw=1.2)
            a.axvline(t * p - 0.5, color="w", lw=1.2)
        a.set_xlim(-0.5, w * p - 0.5)
        a.set_ylim(h * p - 0.5, -0.5)
        a.set_title(text, fontsize=8)
        a.set_axis_off()
    fig.suptitle(title or f"stage {g.stage}, block {g.block}: {h}x{w} tokens of {p}x{p} px", fontsize=9)
    return fig


def attention_explorer(vit: torch.nn.Module, images: torch.Tensor, *, swin: torch.nn.Module | None = None,
                       swin_images: Any = None, class_names: Sequence[str] | None = None) -> ExplorerBox:
    """The lesson 08 explorer: choose an image, block and head; with ``swin``, also a canvas and a block.

    Args:
        vit: a trained :class:`~pt_helpers.models.vit.ViT` (class token); images: ``(B, C, H, W)`` inputs.
        swin: a :class:`~pt_helpers.models.swin.SwinClassifier`; swin_images: ``(B, 1, H, W)`` canvases to
            draw its windows on (None: a blank canvas).
        class_names: to title each image with its predicted class.
    Returns:
        An ipywidgets ``VBox`` (a ``Tab`` of both parts when ``swin`` is given); every change redraws.
    """
    logits, maps = vit_attention_maps(vit, images)
    preds = logits.argmax(1).tolist()
    heads = maps[0].shape[1]
    image_w = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image")
    layer_w = widgets.IntSlider(value=len(maps) - 1, min=0, max=len(maps) - 1, description="block")
    head_w = widgets.Dropdown(options=[("mean", -1)] + [(str(h), h) for h in range(heads)], value=-1,
                              description="head")
    vit_out = widgets.Image(format="png")

    def draw_vit(_: Any = None) -> None:
        i = image_w.value
        name = class_names[preds[i]] if class_names else str(preds[i])
        fig = vit_attention_figure(images.cpu(), maps, index=i, layer=layer_w.value,
                                   head=None if head_w.value < 0 else head_w.value,
                                   title=f"image {i}: predicted {name}")
        vit_out.value = figure_png(fig)

    for w in (image_w, layer_w, head_w):
        w.observe(draw_vit, names="value")
    draw_vit()
    vit_box = widgets.VBox([widgets.HBox([image_w, layer_w, head_w]), vit_out])
    if swin is None:
        return vit_box
    geometry = swin_blocks(swin)
    size = swin.cfg.image_size
    canvases = swin_images if swin_images is not None else torch.zeros(1, 1, size, size)
    canvas_w = widgets.IntSlider(value=0, min=0, max=len(canvases) - 1, description="canvas")
    block_w = widgets.Dropdown(options=[(f"stage {g.stage} block {g.block}" + (f" (shift {g.shift_size})"
                                         if g.shift_size else ""), k) for k, g in enumerate(geometry)],
                               value=min(1, len(geometry) - 1), description="block")
    swin_out = widgets.Image(format="png")

    def draw_swin(_: Any = None) -> None:
        swin_out.value = figure_png(swin_windows_figure(canvases[canvas_w.value], geometry[block_w.value]))

    for w in (canvas_w, block_w):
        w.observe(draw_swin, names="value")
    draw_swin()
    tab = widgets.Tab(children=[vit_box, widgets.VBox([widgets.HBox([canvas_w, block_w]), swin_out])])
    tab.titles = ("ViT: class-token attention", "Swin: windows and shifts")
    return ExplorerBox([tab], title="Attention explorer")
