"""Convolution explorer: one kernel over a real image, with stride, padding and dilation as sliders.

Taught in notebooks/05_cnn.ipynb (section 1, ``nn.Conv2d`` argument by argument, and the trained model's
first-layer filters). The computation is plain functions (:func:`conv_output_size`,
:func:`output_size_formula`, :func:`apply_kernel`, :func:`classic_kernels`); :func:`conv_figure` draws
one setting as a ``matplotlib.figure.Figure`` (input with its padding, kernel with its dilation, output
map, and the output-size formula evaluated with the numbers); :func:`conv_explorer` wires ipywidgets
controls to it and shows the figure as a PNG in an ``ipywidgets.Image``, redrawn on every change.

``F.conv2d`` computes a cross-correlation (the kernel is not flipped), as every deep-learning library does;
the kernels below are written for that convention (Sobel x responds positively to a dark-to-bright edge
from left to right).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from pt_helpers.plot.image import to_image

from .widget import ExplorerBox, figure_png

__all__ = ["DEFAULT_KERNEL", "classic_kernels", "gaussian_kernel", "kernel_choices", "conv_output_size",
           "output_size_formula", "apply_kernel", "conv_figure", "conv_explorer"]

ImageLike = torch.Tensor | np.ndarray


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """A normalised ``(size, size)`` Gaussian, ``exp(-(x² + y²) / 2σ²)`` on integer offsets, summing to 1."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"gaussian_kernel(size={size}): expected an odd size >= 1")
    if sigma <= 0:
        raise ValueError(f"gaussian_kernel(sigma={sigma}): expected sigma > 0")
    r = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(r ** 2) / (2 * sigma ** 2))
    k = g[:, None] * g[None, :]  # separable: outer product of two 1-D Gaussians
    return (k / k.sum()).float()


DEFAULT_KERNEL = "Sobel x (vertical edges)"  # the explorer's first choice


def classic_kernels() -> dict[str, torch.Tensor]:
    """Hand-made kernels by name, each ``(k, k)`` float32: edges (Sobel x/y, Laplacian), blurs, sharpen."""
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return {
        DEFAULT_KERNEL: sobel_x,
        "Sobel y (horizontal edges)": sobel_x.T.contiguous(),
        "Laplacian": torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
        "box blur 3x3": torch.full((3, 3), 1 / 9),
        "Gaussian blur 5x5 (sigma 1)": gaussian_kernel(5, 1.0),
        "sharpen": torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
        "identity": torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    }


def kernel_choices(filters: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """:func:`classic_kernels` plus ``"trained filter i"`` for each of a layer's ``(C, 1, k, k)`` filters."""
    kernels = classic_kernels()
    if filters is None:
        return kernels
    if not isinstance(filters, torch.Tensor) or filters.ndim != 4 or filters.shape[1] != 1:
        raise ValueError("kernel_choices(filters): expected a (C, 1, k, k) tensor, e.g. "
                         f"model.features[0][0].weight, got {tuple(getattr(filters, 'shape', ()))}")
    w = filters.detach().float().cpu()
    kernels.update({f"trained filter {i}": w[i, 0].contiguous() for i in range(len(w))})
    return kernels


def conv_output_size(h: int, k: int, *, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """``floor((h + 2p - d(k-1) - 1) / s) + 1``: ``nn.Conv2d``'s output size along one axis (may be <= 0)."""
    return math.floor((h + 2 * padding - dilation * (k - 1) - 1) / stride) + 1


def output_size_formula(h: int, k: int, *, stride: int = 1, padding: int = 0, dilation: int = 1,
                        name: str = "H") -> str:
    """The formula with the numbers put in, e.g. ``"H_out = ⌊(28 + 2·1 − 1·(3−1) − 1)/1⌋ + 1 = 28"``."""
    value = conv_output_size(h, k, stride=stride, padding=padding, dilation=dilation)
    return (f"{name}_out = ⌊({h} + 2·{padding} − {dilation}·({k}−1) − 1)/{stride}⌋ + 1 = {value}")


def _as_grey(image: ImageLike) -> torch.Tensor:
    a = to_image(image, scale="unit")  # (H, W) float32 in [0, 1]; uint8 / 255
    if a.ndim != 2:
        raise ValueError(f"conv_explorer(image): expected one grey image (H, W) or (1, H, W), got {tuple(image.shape)}")
    return torch.from_numpy(a)


def apply_kernel(image: ImageLike, kernel: torch.Tensor, *, stride: int = 1, padding: int = 0,
                 dilation: int = 1) -> torch.Tensor:
    """``F.conv2d`` of one grey image with one ``(k, k)`` kernel, zero padding, no bias.

    Args:
        image: ``(H, W)`` or ``(1, H, W)``; uint8 is divided by 255 (:func:`pt_helpers.plot.image.to_image`).
        kernel: ``(kH, kW)``.
    Returns:
        ``(H_out, W_out)`` float32, sizes given by :func:`conv_output_size`.
    Raises:
        ValueError: the dilated kernel does not fit into the padded image (an output size below 1).
    """
    x = _as_grey(image)
    kh, kw = kernel.shape
    sizes = [conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation)
             for n, k in ((x.shape[0], kh), (x.shape[1], kw))]
    if min(sizes) < 1:
        raise ValueError(f"apply_kernel: a {kh}x{kw} kernel with dilation {dilation} does not fit a "
                         f"{x.shape[0]}x{x.shape[1]} image padded by {padding} (output {sizes[0]}x{sizes[1]})")
    w = kernel.detach().float().cpu()[None, None]  # (out=1, in=1, kH, kW)
    return F.conv2d(x[None, None], w, stride=stride, padding=padding, dilation=dilation)[0, 0]


def _dilated(kernel: torch.Tensor, dilation: int) -> np.ndarray:
    """The kernel's taps spread ``dilation`` pixels apart, NaN in the holes (drawn blank)."""
    kh, kw = kernel.shape
    out = np.full((dilation * (kh - 1) + 1, dilation * (kw - 1) + 1), np.nan, dtype=np.float32)
    out[::dilation, ::dilation] = kernel.detach().float().cpu().numpy()
    return out


def _signed_limits(a: np.ndarray) -> tuple[str, float, float]:
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    if lo >= 0:
        return "gray", 0.0, max(hi, 1e-12)
    m = max(abs(lo), abs(hi))
    return "RdBu_r", -m, m


def conv_figure(image: ImageLike, kernel: str | torch.Tensor = DEFAULT_KERNEL, *, filters: torch.Tensor | None = None,
                name: str | None = None, stride: int = 1, padding: int = 0, dilation: int = 1,
                size: tuple[float, float] = (8.4, 3.2)) -> Figure:
    """Input (padded, the original framed in red) | kernel (dilated) | output map, and the formula as title.

    Args:
        image: as :func:`conv_explorer`. kernel: a name from :func:`kernel_choices` (``filters`` as there) or a
            ``(k, k)`` tensor. name: the kernel's label (default: its name, or "kernel").
        stride, padding, dilation: as ``nn.Conv2d``.
    ``conv_figure(image)`` is the explorer's default view. Signed maps are drawn with a diverging colour map
    centred on 0 (blue < 0 < red), non-negative ones in grey.
    """
    if isinstance(kernel, str):
        choices = kernel_choices(filters)
        if kernel not in choices:
            raise ValueError(f"conv_figure(kernel={kernel!r}): expected one of {', '.join(choices)}")
        name, kernel = name or kernel, choices[kernel]
    name = name or "kernel"
    x = _as_grey(image)
    H, W = x.shape
    kh, kw = kernel.shape
    fig = Figure(figsize=size)
    ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.7, 1]})
    padded = F.pad(x, [padding] * 4).numpy()
    ax_in.imshow(padded, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_in.add_patch(Rectangle((padding - 0.5, padding - 0.5), W, H, fill=False, ec="tab:red", lw=1))
    ax_in.set_title(f"input {H}×{W}, padding {padding}", fontsize=9)
    taps = _dilated(kernel, dilation)
    cmap, lo, hi = _signed_limits(taps)
    ax_k.imshow(taps, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    if max(taps.shape) <= 5:  # the weights written in, while they stay readable
        for (r, c), v in np.ndenumerate(taps):
            if not np.isnan(v):
                ax_k.text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=7,
                          color="black", bbox={"fc": "white", "alpha": 0.6, "lw": 0, "pad": 0.5})
    ax_k.set_title(f"{name}\n{kh}×{kw}, dilation {dilation} → spans {taps.shape[0]}×{taps.shape[1]}", fontsize=8)
    lines = [output_size_formula(H, kh, stride=stride, padding=padding, dilation=dilation, name="H")]
    if (W, kw) != (H, kh):
        lines.append(output_size_formula(W, kw, stride=stride, padding=padding, dilation=dilation, name="W"))
    try:
        y = apply_kernel(x, kernel, stride=stride, padding=padding, dilation=dilation).numpy()
    except ValueError:
        ax_out.text(0.5, 0.5, "no output:\nthe kernel does not fit", ha="center", va="center", fontsize=9)
        ax_out.set_title("output", fontsize=9)
    else:
        cmap, lo, hi = _signed_limits(y)
        ax_out.imshow(y, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax_out.set_title(f"output {y.shape[0]}×{y.shape[1]}, stride {stride}", fontsize=9)
    for ax in (ax_in, ax_k, ax_out):
        ax.set_xticks([])
        ax.set_yticks([])
    square = len(lines) == 1  # same size and kernel size along both axes: one formula for both
    fig.suptitle(lines[0].replace("H_out", "H_out = W_out", 1) if square else "   ".join(lines), fontsize=10)
    fig.tight_layout()
    return fig


def conv_explorer(image: ImageLike, *, filters: torch.Tensor | None = None) -> ExplorerBox:
    """The convolution explorer of lesson 05: kernel menu, stride / padding / dilation sliders, the figure.

    Args:
        image: one grey image, ``(28, 28)`` uint8 from ``fashion_mnist_tensors`` or ``(1, H, W)`` float.
        filters: optional ``(C, 1, k, k)`` first-layer weights of a trained CNN (``model.features[0][0].weight``),
            added to the menu as ``"trained filter i"``. They are applied to the [0, 1] image; the model saw
            normalised inputs, which changes the map by a constant factor and offset, not its pattern.
    Returns:
        A ``VBox``: the controls (``Dropdown`` "kernel", ``IntSlider`` s "stride", "padding", "dilation"), an
        ``HTML`` line with the evaluated formula, and an ``Image`` holding the PNG of :func:`conv_figure`.
        Changing any control redraws the image.
    """
    x = _as_grey(image)
    kernels = kernel_choices(filters)
    names = list(kernels)
    kernel = widgets.Dropdown(options=names, value=names[0], description="kernel",
                              layout=widgets.Layout(width="340px"))
    sliders = {label: widgets.IntSlider(value=v, min=lo, max=hi, description=label, continuous_update=False)
               for label, v, lo, hi in (("stride", 1, 1, 4), ("padding", 0, 0, 4), ("dilation", 1, 1, 4))}
    formula = widgets.HTML()
    picture = widgets.Image(format="png")

    def redraw(_change: object = None) -> None:
        k = kernels[kernel.value]
        s, p, d = (sliders[n].value for n in ("stride", "padding", "dilation"))
        fig = conv_figure(x, k, name=kernel.value, stride=s, padding=p, dilation=d)  # k: filters already in
        formula.value = "<code>" + output_size_formula(x.shape[0], k.shape[0], stride=s, padding=p,
                                                       dilation=d) + "</code>"
        picture.value = figure_png(fig)

    for control in (kernel, *sliders.values()):
        control.observe(redraw, names="value")
    redraw()
    return ExplorerBox([widgets.HBox([kernel]), widgets.HBox(list(sliders.values())), formula, picture],
                       title="Convolution explorer")
