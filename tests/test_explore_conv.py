"""Convolution explorer (lesson 05): output-size formula vs real conv2d, kernels vs scipy.ndimage, the widget."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from scipy import ndimage

from pt_helpers.explore.conv import (
    apply_kernel,
    classic_kernels,
    conv_explorer,
    conv_figure,
    conv_output_size,
    gaussian_kernel,
    kernel_choices,
    output_size_formula,
)
from pt_helpers.explore.widget import controls, figure_png


def _image(h: int = 28, w: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))




@pytest.mark.parametrize("h", [5, 28, 29])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_output_size_formula_matches_conv2d_over_a_grid(h, k):
    checked = 0
    for s in range(1, 5):
        for p in range(0, 4):
            for d in range(1, 4):
                want = conv_output_size(h, k, stride=s, padding=p, dilation=d)
                if want < 1:
                    with pytest.raises(RuntimeError):
                        F.conv2d(torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
                    continue
                y = F.conv2d(torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
                assert y.shape[-2:] == (want, want), (h, k, s, p, d)
                out = apply_kernel(_image(h, h), torch.ones(k, k), stride=s, padding=p, dilation=d)
                assert out.shape == (want, want)
                checked += 1
    assert checked > 20


def test_formula_text_has_the_numbers_and_the_value():
    text = output_size_formula(28, 3, stride=2, padding=1, dilation=2)
    assert text == "H_out = ⌊(28 + 2·1 − 2·(3−1) − 1)/2⌋ + 1 = 13"
    assert conv_output_size(28, 3, stride=2, padding=1, dilation=2) == 13
    assert output_size_formula(9, 3, name="W").startswith("W_out") and output_size_formula(9, 3).endswith("= 7")


@pytest.mark.parametrize("name, reference", [
    ("Sobel x (vertical edges)", lambda a: ndimage.sobel(a, axis=1, mode="constant")),
    ("Sobel y (horizontal edges)", lambda a: ndimage.sobel(a, axis=0, mode="constant")),
    ("Laplacian", lambda a: ndimage.laplace(a, mode="constant")),
    ("box blur 3x3", lambda a: ndimage.uniform_filter(a, size=3, mode="constant")),
    ("Gaussian blur 5x5 (sigma 1)", lambda a: ndimage.gaussian_filter(a, sigma=1.0, truncate=2.0, mode="constant")),
    ("identity", lambda a: a),
])
def test_classic_kernels_match_scipy_ndimage(name, reference):
    img = _image()
    a = img.double().numpy() / 255
    kernel = classic_kernels()[name]
    got = apply_kernel(img, kernel, padding=kernel.shape[0] // 2).double().numpy()
    np.testing.assert_allclose(got, reference(a), atol=1e-5)


def test_sharpen_is_identity_plus_negative_laplacian():
    img = _image(seed=1)
    a = img.double().numpy() / 255
    got = apply_kernel(img, classic_kernels()["sharpen"], padding=1).double().numpy()
    np.testing.assert_allclose(got, a - ndimage.laplace(a, mode="constant"), atol=1e-5)


def test_gaussian_kernel_sums_to_one_and_rejects_bad_arguments():
    g = gaussian_kernel(7, 1.5)
    assert g.shape == (7, 7) and abs(g.sum().item() - 1) < 1e-6 and torch.equal(g, g.T)
    assert g[3, 3] == g.max()
    for bad in [dict(size=4, sigma=1.0), dict(size=0, sigma=1.0), dict(size=3, sigma=0.0)]:
        with pytest.raises(ValueError, match="gaussian_kernel"):
            gaussian_kernel(**bad)


def test_stride_subsamples_and_dilation_spreads_the_taps():
    img = _image(seed=2)
    k = torch.randn(3, 3, generator=torch.Generator().manual_seed(0))
    full = apply_kernel(img, k, padding=1)
    assert torch.allclose(apply_kernel(img, k, padding=1, stride=2), full[::2, ::2])
    a = img.double().numpy() / 255
    spread = np.zeros((5, 5))
    spread[::2, ::2] = k.double().numpy()
    got = apply_kernel(img, k, padding=2, dilation=2).double().numpy()
    np.testing.assert_allclose(got, ndimage.correlate(a, spread, mode="constant"), atol=1e-5)


def test_apply_kernel_accepts_channel_dim_and_rejects_a_kernel_too_large():
    img = _image(6, 6)
    assert torch.equal(apply_kernel(img[None], torch.ones(3, 3)), apply_kernel(img, torch.ones(3, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        apply_kernel(img, torch.ones(3, 3), dilation=4)


def test_kernel_choices_adds_trained_filters_and_checks_their_shape():
    filters = torch.randn(4, 1, 3, 3, requires_grad=True)
    kernels = kernel_choices(filters)
    assert set(classic_kernels()) < set(kernels)
    assert [n for n in kernels if n.startswith("trained")] == [f"trained filter {i}" for i in range(4)]
    assert torch.equal(kernels["trained filter 2"], filters[2, 0].detach())
    with pytest.raises(ValueError, match=r"\(C, 1, k, k\)"):
        kernel_choices(torch.randn(4, 3, 3, 3))


def test_conv_figure_panels_and_titles_carry_the_numbers():
    fig = conv_figure(_image(), classic_kernels()["Laplacian"], name="Laplacian", stride=2, padding=1, dilation=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert fig._suptitle.get_text() == "H_out = W_out = ⌊(28 + 2·1 − 2·(3−1) − 1)/2⌋ + 1 = 13"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input 28×28, padding 1"
    assert "Laplacian" in titles[1] and "spans 5×5" in titles[1]
    assert titles[2] == "output 13×13, stride 2"
    assert fig.axes[0].images[0].get_array().shape == (30, 30)  # the padded input
    assert fig.axes[2].images[0].get_array().shape == (13, 13)


def test_conv_figure_non_square_and_kernel_too_large():
    fig = conv_figure(_image(6, 9), torch.ones(3, 3), dilation=3)
    title = fig._suptitle.get_text()
    assert "H_out = ⌊(6 + 2·0 − 3·(3−1) − 1)/1⌋ + 1 = 0" in title and "W_out" in title
    assert "does not fit" in fig.axes[2].texts[0].get_text()


def test_explorer_builds_without_a_kernel_and_redraws_on_change():
    filters = torch.randn(8, 1, 3, 3)
    box = conv_explorer(_image(), filters=filters)
    c = controls(box)
    assert {"kernel", "stride", "padding", "dilation", "Image", "HTML"} <= set(c)
    assert "trained filter 7" in c["kernel"].options
    first = c["Image"].value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == figure_png(conv_figure(_image()))  # the static figure a notebook shows is the default view
    assert c["HTML"].value.endswith("= 26</code>")  # Sobel 3x3, no padding: 28 -> 26
    c["stride"].value = 2
    assert c["HTML"].value.endswith("= 13</code>") and c["Image"].value != first
    second = c["Image"].value
    c["kernel"].value = "trained filter 3"
    assert c["Image"].value != second
    c["padding"].value, c["dilation"].value = 3, 4
    assert "2·3 − 4·(3−1)" in c["HTML"].value


def test_conv_figure_default_view_and_kernels_by_name():
    fig = conv_figure(_image())  # what the explorer shows first
    assert fig.axes[1].get_title().startswith("Sobel x (vertical edges)\n3×3")
    assert fig._suptitle.get_text().endswith("= 26") and fig.axes[2].get_title() == "output 26×26, stride 1"
    filters = torch.randn(2, 1, 5, 5)
    fig = conv_figure(_image(), "trained filter 1", filters=filters, padding=2)
    assert fig.axes[1].get_title().startswith("trained filter 1\n5×5")
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(),
                               apply_kernel(_image(), filters[1, 0], padding=2).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="trained filter 9"):
        conv_figure(_image(), "trained filter 9", filters=filters)


def test_explorer_rejects_a_colour_image():
    with pytest.raises(ValueError, match="grey"):
        conv_explorer(torch.rand(3, 8, 8))


def test_a_saved_notebook_shows_what_the_explorer_is():
    """The plain-text copy a notebook file keeps (GitHub, website, JupyterLab without widget state)."""
    box = conv_explorer(_image())
    text = box._repr_mimebundle_()["text/plain"]
    assert text.startswith("Convolution explorer: interactive") and "VBox" not in text, text
