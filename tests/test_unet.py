"""U-Net (lesson 07): shapes on even and odd sizes, both up-sampling modes, the pad-to-match fix,
parameter counts against a hand calculation, and the Up block against a hand-built reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pt_helpers.models.unet import DoubleConv, Down, OutConv, UNet, Up


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("bilinear", [True, False])
@pytest.mark.parametrize("hw", [(64, 64), (63, 63), (37, 50), (16, 17)])
def test_output_shape_matches_input(bilinear, hw):
    torch.manual_seed(0)
    model = UNet(n_channels=1, n_classes=11, base_channels=4, bilinear=bilinear).eval()
    x = torch.randn(2, 1, *hw)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 11, *hw)
    assert torch.isfinite(y).all()


def test_three_channel_input_and_train_step_reaches_every_parameter():
    torch.manual_seed(0)
    model = UNet(n_channels=3, n_classes=2, base_channels=4, bilinear=False)
    x = torch.randn(2, 3, 33, 31)
    target = torch.randint(0, 2, (2, 33, 31))
    F.cross_entropy(model(x), target).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_double_conv_mid_channels_and_layout():
    block = DoubleConv(3, 8, mid_channels=5)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 5), (5, 8)]
    assert all(c.bias is None and c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert block(torch.randn(1, 3, 9, 7)).shape == (1, 8, 9, 7)


def test_down_halves_with_floor():
    down = Down(4, 8)
    assert down(torch.randn(1, 4, 15, 16)).shape == (1, 8, 7, 8)


@pytest.mark.parametrize("bilinear", [True, False])
@pytest.mark.parametrize("skip_hw, pad", [
    ((15, 14), [0, 0, 0, 1]),   # odd height: one extra row at the bottom
    ((14, 15), [0, 1, 0, 0]),   # odd width: one extra column on the right
    ((17, 16), [1, 1, 1, 2]),   # larger gaps are split, the odd pixel going right/bottom
])
def test_up_pads_to_the_skip_size(bilinear, skip_hw, pad):
    """x1 comes from a 7x7 map (up-sampled to 14x14); Up pads it to the skip's size, then concatenates."""
    torch.manual_seed(0)
    up = Up(16, 4, bilinear=bilinear).eval()
    x1, x2 = torch.randn(1, 8 if bilinear else 16, 7, 7), torch.randn(1, 8, *skip_hw)
    with torch.no_grad():
        out = up(x1, x2)
        assert out.shape == (1, 4, *skip_hw)
        u = up.up(x1)  # reference: the same steps by hand
        assert u.shape[-2:] == (14, 14)
        ref = up.conv(torch.cat([x2, F.pad(u, pad)], dim=1))
    torch.testing.assert_close(out, ref)


def test_up_without_padding_would_fail_on_odd_sizes():
    """The reason for the fix: concatenating 14x14 with 15x15 raises."""
    up = Up(16, 4, bilinear=True)
    u = up.up(torch.randn(1, 8, 7, 7))
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        torch.cat([torch.randn(1, 8, 15, 15), u], dim=1)


def test_bilinear_up_matches_interpolate_align_corners():
    up = Up(8, 4, bilinear=True)
    x = torch.randn(1, 4, 5, 6)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    torch.testing.assert_close(up.up(x), ref)


def test_out_conv_is_a_1x1_conv():
    oc = OutConv(6, 3)
    x = torch.randn(2, 6, 5, 5)
    ref = torch.einsum("oc,bchw->bohw", oc.conv.weight[:, :, 0, 0], x) + oc.conv.bias[None, :, None, None]
    torch.testing.assert_close(oc(x), ref)


def test_parameter_count_bilinear_by_hand():
    """UNet(n_channels=1, n_classes=3, base_channels=4, bilinear=True), counted block by block.

    DoubleConv(i, o, m) = 3*3*i*m (conv, no bias) + 2*m (BN weight, bias) + 3*3*m*o + 2*o.
    Channels: 4, 8, 16, 32, and 64 // 2 = 32 at the bottom (factor 2 when bilinear).
    """
    inc = 9 * 1 * 4 + 2 * 4 + 9 * 4 * 4 + 2 * 4            # DoubleConv(1, 4)      = 196
    down1 = 9 * 4 * 8 + 2 * 8 + 9 * 8 * 8 + 2 * 8           # DoubleConv(4, 8)      = 896
    down2 = 9 * 8 * 16 + 2 * 16 + 9 * 16 * 16 + 2 * 16     # DoubleConv(8, 16)     = 3520
    down3 = 9 * 16 * 32 + 2 * 32 + 9 * 32 * 32 + 2 * 32    # DoubleConv(16, 32)    = 13952
    down4 = 9 * 32 * 32 + 2 * 32 + 9 * 32 * 32 + 2 * 32    # DoubleConv(32, 32)    = 18560
    up1 = 9 * 64 * 32 + 2 * 32 + 9 * 32 * 16 + 2 * 16      # DoubleConv(64, 16, 32) = 23136
    up2 = 9 * 32 * 16 + 2 * 16 + 9 * 16 * 8 + 2 * 8        # DoubleConv(32, 8, 16)  = 5808
    up3 = 9 * 16 * 8 + 2 * 8 + 9 * 8 * 4 + 2 * 4           # DoubleConv(16, 4, 8)   = 1464
    up4 = 9 * 8 * 4 + 2 * 4 + 9 * 4 * 4 + 2 * 4            # DoubleConv(8, 4, 4)    = 448
    outc = 4 * 3 + 3                                        # 1x1 conv with bias     = 15
    want = inc + down1 + down2 + down3 + down4 + up1 + up2 + up3 + up4 + outc
    assert want == 67995
    model = UNet(n_channels=1, n_classes=3, base_channels=4, bilinear=True)
    assert n_params(model) == want
    assert n_params(model.up1) == up1 and n_params(model.outc) == outc


def test_parameter_count_transposed_by_hand():
    """Same model with ConvTranspose2d: bottom 64 channels, each Up adds a 2x2 transposed conv (with bias)
    that halves the channels, and its DoubleConv has mid = out."""
    inc = 9 * 1 * 4 + 2 * 4 + 9 * 4 * 4 + 2 * 4            # 196
    down1 = 9 * 4 * 8 + 2 * 8 + 9 * 8 * 8 + 2 * 8           # 896
    down2 = 9 * 8 * 16 + 2 * 16 + 9 * 16 * 16 + 2 * 16     # 3520
    down3 = 9 * 16 * 32 + 2 * 32 + 9 * 32 * 32 + 2 * 32    # 13952
    down4 = 9 * 32 * 64 + 2 * 64 + 9 * 64 * 64 + 2 * 64    # DoubleConv(32, 64) = 55552
    up1 = (64 * 32 * 2 * 2 + 32) + (9 * 64 * 32 + 2 * 32 + 9 * 32 * 32 + 2 * 32)   # 8224 + 27776
    up2 = (32 * 16 * 2 * 2 + 16) + (9 * 32 * 16 + 2 * 16 + 9 * 16 * 16 + 2 * 16)   # 2064 + 6976
    up3 = (16 * 8 * 2 * 2 + 8) + (9 * 16 * 8 + 2 * 8 + 9 * 8 * 8 + 2 * 8)          # 520 + 1760
    up4 = (8 * 4 * 2 * 2 + 4) + (9 * 8 * 4 + 2 * 4 + 9 * 4 * 4 + 2 * 4)            # 132 + 448
    outc = 4 * 3 + 3                                                               # 15
    want = inc + down1 + down2 + down3 + down4 + up1 + up2 + up3 + up4 + outc
    assert want == 122031
    assert n_params(UNet(n_channels=1, n_classes=3, base_channels=4, bilinear=False)) == want


def test_source_note_sizes_scale_with_width():
    """The source note's UNet(3, 2) is base_channels=64; parameters grow with the square of the width."""
    small = n_params(UNet(n_channels=3, n_classes=2, base_channels=8, bilinear=True))
    big = n_params(UNet(n_channels=3, n_classes=2, base_channels=64, bilinear=True))
    assert 60 < big / small < 64  # 3x3 convs dominate: (64/8)**2 = 64, minus the linear terms


def test_keyword_only_constructor_and_bad_arguments():
    with pytest.raises(TypeError):
        UNet(1, 11)  # positional arguments are refused: the call site names them
    with pytest.raises(ValueError, match="n_channels"):
        UNet(n_channels=0, n_classes=2)
    with pytest.raises(ValueError, match="n_classes"):
        UNet(n_channels=1, n_classes=1)
    with pytest.raises(ValueError, match="base_channels"):
        UNet(n_channels=1, n_classes=2, base_channels=3)


def test_forward_rejects_wrong_input():
    model = UNet(n_channels=1, n_classes=2, base_channels=4)
    with pytest.raises(ValueError, match="channel"):
        model(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="16"):
        model(torch.randn(1, 1, 8, 8))  # 4 halvings of 8 leave 0 pixels
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        model(torch.randn(1, 32, 32))


def test_config_round_trip_rebuilds_the_same_model():
    model = UNet(n_channels=1, n_classes=11, base_channels=8, bilinear=False)
    clone = UNet(**model.config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(1, 1, 32, 32)
    model.eval(), clone.eval()
    torch.testing.assert_close(model(x), clone(x))


# --- the encoder as a classifier (pretraining for issue 17) ---------------------------------------------

def test_encoder_classifier_shapes_and_input_checks():
    from pt_helpers.models.unet import UNetEncoderClassifier

    torch.manual_seed(0)
    clf = UNetEncoderClassifier(n_channels=1, n_classes=10, base_channels=4).eval()
    for hw in [(40, 40), (28, 28), (16, 17)]:
        assert clf(torch.randn(3, 1, *hw)).shape == (3, 10)
    with pytest.raises(ValueError, match="H, W >= 16"):
        clf(torch.randn(1, 1, 15, 40))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        clf(torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize("bilinear", [True, False])
def test_encoder_classifier_loads_exactly_the_unet_encoder(bilinear):
    from pt_helpers.checkpoint import load_partial
    from pt_helpers.models.unet import ENCODER_STAGES, UNetEncoderClassifier

    torch.manual_seed(0)
    clf = UNetEncoderClassifier(n_channels=1, n_classes=10, base_channels=4, bilinear=bilinear)
    unet = UNet(n_channels=1, n_classes=11, base_channels=4, bilinear=bilinear)
    report = load_partial(unet, clf.state_dict())
    encoder_keys = [k for k in unet.state_dict() if k.split(".")[0] in ENCODER_STAGES]
    assert sorted(report.matched) == sorted(encoder_keys)
    assert sorted(report.unexpected) == ["head.3.bias", "head.3.weight"]
    assert report.missing and all(k.split(".")[0] not in ENCODER_STAGES for k in report.missing)
    assert not report.shape_mismatched
    x = torch.randn(2, 1, 32, 32)
    clf.eval(), unet.eval()
    with torch.no_grad():
        a, b = x, x
        for name in ENCODER_STAGES:
            a, b = getattr(clf, name)(a), getattr(unet, name)(b)
    assert torch.equal(a, b)


def test_encoder_of_another_width_is_reported_with_keys_and_shapes():
    from pt_helpers.checkpoint import load_partial
    from pt_helpers.models.unet import UNetEncoderClassifier

    clf = UNetEncoderClassifier(n_channels=1, n_classes=10, base_channels=8)
    unet = UNet(n_channels=1, n_classes=11, base_channels=4)
    before = {k: v.clone() for k, v in unet.state_dict().items()}
    report = load_partial(unet, clf.state_dict())
    assert ("inc.double_conv.0.weight", (8, 1, 3, 3), (4, 1, 3, 3)) in report.shape_mismatched
    text = str(report)
    assert "shape mismatch" in text
    assert "inc.double_conv.0.weight: checkpoint (8, 1, 3, 3) vs model (4, 1, 3, 3)" in text
    assert not report.ok
    assert all(torch.equal(before[k], v) for k, v in unet.state_dict().items()
               if k.endswith("weight") and not k.endswith("num_batches_tracked"))
