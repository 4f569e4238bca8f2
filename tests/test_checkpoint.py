"""pt_helpers.checkpoint: atomic saves, weights_only loads, RNG round trips, partial loading."""

from __future__ import annotations

import dataclasses
import random
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from pt_helpers import checkpoint as ck
from pt_helpers.checkpoint import (
    LoadReport,
    capture_rng,
    load_checkpoint,
    load_model,
    load_partial,
    restore_rng,
    save_checkpoint,
    save_model,
)
from pt_helpers.models.cnn import FashionCNN, FashionCNNConfig
from pt_helpers.models.mlp import MLP, MLPConfig
from pt_helpers.models.swin import SwinClassifier, SwinClassifierConfig
from pt_helpers.models.unet import UNet, UNetConfig
from pt_helpers.models.vit import ViT, ViTConfig


class Small(nn.Module):
    """conv -> BN -> ReLU -> pool -> linear: has weights, biases and BN buffers."""

    def __init__(self, *, channels: int = 4, num_classes: int = 3, extra: bool = False) -> None:
        super().__init__()
        self.channels, self.num_classes, self.extra = channels, num_classes, extra
        self.features = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(channels, num_classes)
        if extra:
            self.head2 = nn.Linear(num_classes, 2)

    @property
    def config(self) -> dict:
        return {"channels": self.channels, "num_classes": self.num_classes, "extra": self.extra}

    def forward(self, x):
        return self.fc(self.features(x))


def _randomised(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=g))
    return model


# ---------------------------------------------------------------- RNG states

def test_rng_round_trip_all_generators(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)  # noqa: NPY002 - the legacy global is what we save
    state = capture_rng()
    first = (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist())  # noqa: NPY002
    # through a weights_only file, as a checkpoint stores it
    torch.save(state, tmp_path / "rng.pt")
    restore_rng(torch.load(tmp_path / "rng.pt", weights_only=True))
    second = (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist())  # noqa: NPY002
    assert first == second
    third = (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist())  # noqa: NPY002
    assert third != first  # the generators really advance: the equality above is not trivial


def test_restore_rng_rejects_garbage():
    with pytest.raises(ValueError, match="restore_rng"):
        restore_rng({"python": 1})


# ---------------------------------------------------------------- save / load

def test_checkpoint_round_trip_model_optimizer_scheduler(tmp_path):
    model = _randomised(Small(), 0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model(torch.randn(4, 1, 8, 8)).sum().backward()
    opt.step(), sched.step()
    path = save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched, epoch=3,
                           history={"train_loss": [1.0, 0.5, 0.25]})
    model2 = _randomised(Small(), 1)
    opt2 = torch.optim.Adam(model2.parameters(), lr=0.01)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    state = load_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2)
    assert state["epoch"] == 3 and state["history"] == {"train_loss": [1.0, 0.5, 0.25]}
    for k, v in model.state_dict().items():
        assert torch.equal(v, model2.state_dict()[k]), k
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.005
    assert sched2.state_dict() == sched.state_dict()
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[i]["exp_avg"], s2[i]["exp_avg"]) for i in s1)


def test_save_is_atomic_old_file_survives_a_failed_save(tmp_path, monkeypatch):
    model = _randomised(Small(), 0)
    path = save_checkpoint(tmp_path / "c.pt", model=model, epoch=1)
    before = path.read_bytes()
    real_save = torch.save

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model=_randomised(Small(), 1), epoch=2)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"], "the temporary file must be removed"
    assert load_checkpoint(path)["epoch"] == 1


def test_load_checkpoint_is_weights_only_and_explains_pickled_models(tmp_path):
    torch.save(Small(), tmp_path / "whole.pt")  # a pickled nn.Module: needs code execution to load
    with pytest.raises(ValueError, match=r"whole\.pt.*weights_only"):
        load_checkpoint(tmp_path / "whole.pt")


def test_load_checkpoint_missing_file_and_wrong_content(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"a": torch.zeros(1)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="plain.pt.*save_checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


def test_save_checkpoint_rejects_bad_epoch(tmp_path):
    with pytest.raises(ValueError, match="epoch"):
        save_checkpoint(tmp_path / "c.pt", model=Small(), epoch=-1)


def test_save_model_and_load_model_rebuild_from_kwargs(tmp_path):
    model = _randomised(Small(channels=6, num_classes=5), 2)
    save_model(tmp_path / "m.pt", model, test_accuracy=0.5)
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    assert raw["kwargs"] == {"channels": 6, "num_classes": 5, "extra": False}
    assert raw["meta"] == {"test_accuracy": 0.5}
    back = load_model(tmp_path / "m.pt", Small)
    assert not back.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, back.state_dict()[k])
    with pytest.raises(ValueError, match="m.pt.*Small.*Linear"):
        load_model(tmp_path / "m.pt", nn.Linear)


def test_save_model_needs_kwargs_or_config(tmp_path):
    with pytest.raises(ValueError, match="kwargs"):
        save_model(tmp_path / "m.pt", nn.Linear(2, 2))
    save_model(tmp_path / "m.pt", nn.Linear(2, 3), kwargs={"in_features": 2, "out_features": 3})
    assert load_model(tmp_path / "m.pt", nn.Linear).out_features == 3


def test_save_model_takes_a_config_dataclass_and_explains_bad_kwargs(tmp_path):
    model = MLP(in_features=6, hidden_features=4, num_classes=2)
    save_model(tmp_path / "cfg.pt", model, kwargs=model.cfg)
    assert torch.load(tmp_path / "cfg.pt", weights_only=True)["kwargs"] == model.config
    with pytest.raises(ValueError, match="kwargs is list"):
        save_model(tmp_path / "bad.pt", model, kwargs=[6, 4, 2])


# ---------------------------------------------------------------- the lesson models' files

# The "kwargs" that save_model stored for each lesson model before the config dataclasses (commit e945cdb's
# `model.config`, written out: FashionCNN's channels were a list), and a Swin file from before
# `absolute_pos_embed` existed (commit 891c438): load_model must still rebuild all of them.
OLD_KWARGS = [
    pytest.param(MLP, {"in_features": 20, "hidden_features": 8, "num_classes": 3}, (2, 20), id="mlp"),
    pytest.param(FashionCNN, {"in_channels": 1, "num_classes": 3, "channels": [4, 6, 8], "hidden": 8,
                              "dropout": 0.2}, (2, 1, 28, 28), id="cnn"),
    pytest.param(UNet, {"n_channels": 1, "n_classes": 3, "base_channels": 4, "bilinear": True}, (1, 1, 32, 32),
                 id="unet"),
    pytest.param(ViT, {"image_size": 28, "patch_size": 7, "num_classes": 3, "dim": 16, "depth": 1, "heads": 2,
                       "mlp_dim": 32, "pool": "cls", "channels": 1, "dim_head": None, "dropout": 0.0,
                       "emb_dropout": 0.0, "position_embedding": True}, (2, 1, 28, 28), id="vit"),
    pytest.param(SwinClassifier, {"image_size": 32, "patch_size": 4, "in_channels": 1, "num_classes": 3,
                                  "embed_dim": 8, "depths": (2, 2), "num_heads": (1, 2), "window_size": 4,
                                  "mlp_ratio": 4.0, "absolute_pos_embed": True}, (2, 1, 32, 32), id="swin"),
    pytest.param(SwinClassifier, {"image_size": 32, "patch_size": 4, "in_channels": 1, "num_classes": 3,
                                  "embed_dim": 8, "depths": (2, 2), "num_heads": (1, 2), "window_size": 4,
                                  "mlp_ratio": 4.0}, (2, 1, 32, 32), id="swin-before-ape"),
]


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("model_cls, old_kwargs, shape", OLD_KWARGS)
def test_model_files_written_before_the_config_dataclasses_still_load(model_cls, old_kwargs, shape, tmp_path):
    torch.manual_seed(0)
    model = model_cls(**old_kwargs).eval()
    torch.save({"format": "pt_helpers.model/1", "class": model_cls.__name__, "kwargs": dict(old_kwargs),
                "state_dict": model.state_dict(), "meta": {"test_accuracy": 0.5}}, tmp_path / "old.pt")
    back = load_model(tmp_path / "old.pt", model_cls)  # built with fresh random weights, then loaded
    assert back.cfg == model.cfg
    assert _same_state(back, model)
    x = torch.randn(*shape)
    torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)


NEW_CONFIGS = [
    pytest.param(MLP, MLPConfig(in_features=20, hidden_features=8, num_classes=3), (2, 20), id="mlp"),
    pytest.param(FashionCNN, FashionCNNConfig(channels=(4, 6, 8), hidden=8, num_classes=3, dropout=0.1),
                 (2, 1, 28, 28), id="cnn"),
    pytest.param(UNet, UNetConfig(n_channels=2, n_classes=3, base_channels=4, bilinear=False), (1, 2, 32, 32),
                 id="unet"),
    pytest.param(ViT, ViTConfig(image_size=(28, 14), patch_size=7, num_classes=3, dim=16, depth=2, heads=2,
                                mlp_dim=32, pool="mean", dim_head=4, position_embedding=False), (2, 1, 28, 14),
                 id="vit"),
    pytest.param(SwinClassifier, SwinClassifierConfig(image_size=32, patch_size=2, in_channels=1, num_classes=3,
                                                      embed_dim=8, depths=(2, 2), num_heads=(1, 2), window_size=4,
                                                      mlp_ratio=2.0, absolute_pos_embed=True), (2, 1, 32, 32),
                 id="swin"),
]


@pytest.mark.parametrize("model_cls, config, shape", NEW_CONFIGS)
def test_config_round_trips_through_a_model_file(model_cls, config, shape, tmp_path):
    torch.manual_seed(0)
    model = model_cls(config).eval()
    save_model(tmp_path / "m.pt", model, epochs=1)
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    assert raw["kwargs"] == dataclasses.asdict(config) and raw["class"] == model_cls.__name__
    back = load_model(tmp_path / "m.pt", model_cls)
    assert back.cfg == config and type(back.cfg) is type(config)
    assert _same_state(back, model)
    x = torch.randn(*shape)
    torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)


# ---------------------------------------------------------------- load_partial

def test_load_partial_same_architecture_agrees_with_torch():
    src, dst = _randomised(Small(), 0), _randomised(Small(), 1)
    report = load_partial(dst, src.state_dict())
    assert isinstance(report, LoadReport) and report.ok
    assert set(report.matched) == set(src.state_dict())
    ref = _randomised(Small(), 1)
    ref.load_state_dict(src.state_dict(), strict=True)  # the library reference
    for k, v in ref.state_dict().items():
        assert torch.equal(v, dst.state_dict()[k]), k


def test_load_partial_strips_dataparallel_prefix():
    src = _randomised(Small(), 0)
    wrapped = OrderedDict(("module." + k, v) for k, v in src.state_dict().items())
    dst = _randomised(Small(), 1)
    with pytest.raises(RuntimeError):  # what plain load_state_dict does with it
        dst.load_state_dict(wrapped)
    report = load_partial(dst, wrapped)
    assert report.ok and report.prefix_note and "module." in report.prefix_note
    assert torch.equal(dst.fc.weight, src.fc.weight)
    assert "module." in str(report)


def test_load_partial_adds_prefix_for_a_wrapped_model():
    src = _randomised(Small(), 0)
    holder = nn.Module()
    holder.module = _randomised(Small(), 1)  # what DataParallel's state_dict keys look like
    report = load_partial(holder, src.state_dict())
    assert report.ok and torch.equal(holder.module.fc.bias, src.fc.bias)


def test_load_partial_extra_layers_missing_and_shape_mismatch():
    src = _randomised(Small(num_classes=3), 0)
    dst = _randomised(Small(num_classes=5, extra=True), 1)
    head_before = dst.head2.weight.clone()
    fc_before = dst.fc.weight.clone()
    report = load_partial(dst, src.state_dict())
    assert not report.ok
    assert set(report.missing) == {"head2.weight", "head2.bias"}
    assert {k for k, _, _ in report.shape_mismatched} == {"fc.weight", "fc.bias"}
    assert ("fc.weight", (3, 4), (5, 4)) in report.shape_mismatched
    assert torch.equal(dst.head2.weight, head_before) and torch.equal(dst.fc.weight, fc_before)
    assert torch.equal(dst.features[0].weight, src.features[0].weight)
    assert torch.equal(dst.features[1].running_var, src.features[1].running_var)
    text = str(report)
    assert "head2.weight" in text and "fc.weight" in text and "(3, 4)" in text and "(5, 4)" in text


def test_load_partial_unexpected_keys_agree_with_torch_strict_false():
    src = _randomised(Small(extra=True), 0)
    dst = _randomised(Small(), 1)
    report = load_partial(dst, src.state_dict())
    ref = dst.load_state_dict(src.state_dict(), strict=False)  # the library's own report
    assert sorted(report.unexpected) == sorted(ref.unexpected_keys)
    assert sorted(report.missing) == sorted(ref.missing_keys) == []


def test_load_partial_num_batches_tracked_is_not_a_real_miss():
    src = _randomised(Small(), 0)
    old_style = OrderedDict((k, v) for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked"))
    dst = _randomised(Small(), 1)
    report = load_partial(dst, old_style)
    assert report.ok and report.missing == []
    assert report.bn_counters_missing == ["features.1.num_batches_tracked"]
    assert "num_batches_tracked" in str(report)
    # extra counters (model built with track_running_stats=False) are ignored the same way
    dst2 = Small()
    dst2.features[1] = nn.BatchNorm2d(4, track_running_stats=False)
    report2 = load_partial(dst2, src.state_dict())
    assert "features.1.num_batches_tracked" in report2.bn_counters_unexpected
    assert "features.1.num_batches_tracked" not in report2.unexpected


def test_load_partial_different_architecture_reads_well():
    from torchvision.models import resnet18

    report = load_partial(Small(), resnet18(weights=None).state_dict())
    text = str(report)
    assert report.matched == [] and "0 of" in text and "another architecture" in text
    # resnet's BN counters belong to layers this model does not have: plain unexpected keys
    assert report.bn_counters_unexpected == [] and "layer1.0.bn1.num_batches_tracked" in report.unexpected
    assert "features.1.num_batches_tracked" in report.missing
    assert "more" in text, "long key lists are shortened"
    assert len(text.splitlines()) < 40


def test_load_partial_require_loads_when_the_required_part_fits():
    src = _randomised(Small(num_classes=3), 0)
    dst = _randomised(Small(num_classes=5), 1)  # a new head: fc differs, features must come from src
    report = load_partial(dst, src.state_dict(), require=["features"])
    assert {k for k, _, _ in report.shape_mismatched} == {"fc.weight", "fc.bias"}  # outside the required part
    assert torch.equal(dst.features[0].weight, src.features[0].weight)


def test_load_partial_require_names_keys_and_shapes_and_loads_nothing():
    src = _randomised(Small(channels=6), 0)  # wider: every features tensor has another shape
    dst = _randomised(Small(channels=4), 1)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(ck.PartialLoadError) as info:
        load_partial(dst, src.state_dict(), require=["features"])
    text = str(info.value)
    assert "features.0.weight" in text and "(6, 1, 3, 3)" in text and "(4, 1, 3, 3)" in text
    assert "require=" in text and "features" in text
    assert isinstance(info.value, ValueError) and info.value.report.shape_mismatched
    for k, v in dst.state_dict().items():  # all or nothing: not even the fitting tensors were loaded
        assert torch.equal(v, before[k]), k


def test_load_partial_require_reports_missing_keys():
    src = _randomised(Small(), 0)
    state = OrderedDict((k, v) for k, v in src.state_dict().items() if k != "features.1.running_var")
    with pytest.raises(ck.PartialLoadError, match=r"missing.*features\.1\.running_var"):
        load_partial(_randomised(Small(), 1), state, require=("features",))
    # an old checkpoint without BN counters still fits: the counters are not weights
    old_style = OrderedDict((k, v) for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked"))
    assert load_partial(_randomised(Small(), 1), old_style, require=("features",)).bn_counters_missing


def test_load_partial_require_matches_whole_module_names_and_rejects_unknown_ones():
    src = _randomised(Small(num_classes=3), 0)
    dst = Small(num_classes=5, extra=True)
    with pytest.raises(ValueError, match=r"require=.*'fcc'.*no model key"):
        load_partial(dst, src.state_dict(), require=["fcc"])
    # "fc" is the module fc, not every key starting with the letters fc
    with pytest.raises(ck.PartialLoadError, match=r"fc\.weight: checkpoint \(3, 4\) vs model \(5, 4\)"):
        load_partial(dst, src.state_dict(), require=["fc"])
    with pytest.raises(TypeError, match="require"):
        load_partial(dst, src.state_dict(), require="features")  # a bare string is a likely slip


def test_load_partial_accepts_a_checkpoint_dict_and_a_path(tmp_path):
    src = _randomised(Small(), 0)
    path = save_checkpoint(tmp_path / "c.pt", model=src, epoch=1)
    dst = _randomised(Small(), 1)
    assert load_partial(dst, path).ok
    assert torch.equal(dst.fc.weight, src.fc.weight)
    assert load_partial(_randomised(Small(), 2), {"state_dict": src.state_dict()}).ok
    with pytest.raises(TypeError, match="load_partial"):
        load_partial(dst, [1, 2, 3])


def test_module_all_is_public_api():
    assert set(ck.__all__) >= {"save_checkpoint", "load_checkpoint", "load_partial", "LoadReport",
                               "capture_rng", "restore_rng", "save_model", "load_model"}


@pytest.mark.parametrize("content, words", [
    (b"just my notes\n", ["not a PyTorch checkpoint", "notes.pt"]),
    (b"", ["not a PyTorch checkpoint", "empty"]),
])
def test_load_model_names_a_file_that_is_no_checkpoint(tmp_path, content, words):
    path = tmp_path / "notes.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_model(path, FashionCNN)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_load_model_names_a_truncated_checkpoint(tmp_path):
    whole = save_model(tmp_path / "cnn.pt", FashionCNN())
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[:4000])
    with pytest.raises(ValueError, match="cut.pt.*truncated or damaged"):
        load_model(cut, FashionCNN)
