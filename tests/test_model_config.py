"""pt_helpers.models.config: every lesson model is built from a frozen dataclass or from its fields."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pt_helpers.models.cnn import FashionCNN, FashionCNNConfig
from pt_helpers.models.config import config_from
from pt_helpers.models.mlp import MLP, MLPConfig
from pt_helpers.models.swin import SwinClassifier, SwinClassifierConfig
from pt_helpers.models.unet import UNet, UNetConfig
from pt_helpers.models.vit import ViT, ViTConfig

# (model class, its config class, small keyword arguments)
MODELS = [
    pytest.param(MLP, MLPConfig, dict(in_features=12, hidden_features=5, num_classes=3), id="mlp"),
    pytest.param(FashionCNN, FashionCNNConfig, dict(channels=(4, 6, 8), hidden=8, num_classes=3), id="cnn"),
    pytest.param(UNet, UNetConfig, dict(n_channels=1, n_classes=3, base_channels=4, bilinear=False), id="unet"),
    pytest.param(ViT, ViTConfig, dict(image_size=28, patch_size=7, num_classes=3, dim=16, depth=1, heads=2,
                                      mlp_dim=32, pool="mean"), id="vit"),
    pytest.param(SwinClassifier, SwinClassifierConfig, dict(image_size=32, patch_size=4, in_channels=1, num_classes=3,
                                                            embed_dim=8, depths=(2,), num_heads=(2,)), id="swin"),
]


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("model_cls, config_cls, kwargs", MODELS)
def test_config_and_keywords_build_the_same_model(model_cls, config_cls, kwargs):
    cfg = config_cls(**kwargs)
    torch.manual_seed(0)
    from_config = model_cls(cfg)
    torch.manual_seed(0)
    from_keywords = model_cls(**kwargs)
    assert from_config.cfg is cfg and from_keywords.cfg == cfg
    assert _same_weights(from_config, from_keywords)
    assert from_keywords.config == dataclasses.asdict(cfg)  # the plain dict that checkpoints store
    assert type(from_keywords.config) is dict
    torch.manual_seed(0)
    assert _same_weights(model_cls(**from_keywords.config), from_config)  # what lessons 04, 05, 07 do


@pytest.mark.parametrize("model_cls, config_cls, kwargs", MODELS)
def test_config_is_frozen_hashable_and_keyword_only(model_cls, config_cls, kwargs):
    cfg = config_cls(**kwargs)
    name = next(iter(kwargs))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cfg, name, kwargs[name])
    assert dataclasses.replace(cfg) == cfg and hash(cfg) == hash(config_cls(**kwargs))
    with pytest.raises(TypeError):
        config_cls(*kwargs.values())  # keyword-only, like the models


@pytest.mark.parametrize("model_cls, config_cls, kwargs", MODELS)
def test_constructor_refuses_ambiguous_or_wrong_arguments(model_cls, config_cls, kwargs):
    cfg = config_cls(**kwargs)
    with pytest.raises(TypeError, match="not both"):
        model_cls(cfg, **kwargs)
    with pytest.raises(TypeError, match=config_cls.__name__):
        model_cls(kwargs)  # a dict passed positionally
    with pytest.raises(TypeError, match="no_such_argument"):
        model_cls(**kwargs, no_such_argument=1)


@pytest.mark.parametrize("config_cls, bad, match", [
    (MLPConfig, dict(hidden_features=0), "hidden_features"),
    (FashionCNNConfig, dict(dropout=1.0), "dropout"),
    (UNetConfig, dict(n_channels=1, n_classes=1), "n_classes"),
    (ViTConfig, dict(image_size=28, patch_size=5, num_classes=3, dim=8, depth=1, heads=2, mlp_dim=8), "patch_size=5"),
    (SwinClassifierConfig, dict(image_size=32, patch_size=4, in_channels=1, num_classes=3, depths=(2, 2),
                                num_heads=(2,)), "differ in length"),
])
def test_the_config_checks_its_values(config_cls, bad, match):
    with pytest.raises(ValueError, match=match):
        config_cls(**bad)


def test_sequences_are_stored_as_tuples():
    """Lists (an old checkpoint's ``channels``, JSON) become tuples: equal configs, hashable."""
    assert FashionCNNConfig(channels=[4, 6, 8]) == FashionCNNConfig(channels=(4, 6, 8))
    swin = SwinClassifierConfig(image_size=32, patch_size=4, in_channels=1, num_classes=3, depths=[2], num_heads=[2])
    assert swin.depths == (2,) and swin.num_heads == (2,)
    vit = ViTConfig(image_size=[28, 14], patch_size=7, num_classes=3, dim=8, depth=1, heads=2, mlp_dim=8)
    assert vit.image_size == (28, 14)
    assert len({swin, vit, dataclasses.replace(swin)}) == 2  # hashable, and equal configs hash alike


def test_config_from_returns_the_config_or_builds_one():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Tiny:
        width: int = 3

    given = Tiny(width=5)
    assert config_from(Tiny, given, {}) is given
    assert config_from(Tiny, None, {"width": 7}) == Tiny(width=7)
    assert config_from(Tiny, None, {}) == Tiny()
    with pytest.raises(TypeError, match="not both"):
        config_from(Tiny, given, {"width": 7})
    with pytest.raises(TypeError, match="expected a Tiny"):
        config_from(Tiny, 5, {})
