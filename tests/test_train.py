"""pt_helpers.train: fit / evaluate / predict / resume, on TensorLoader and DataLoader alike."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from pt_helpers.callbacks import Callback
from pt_helpers.checkpoint import load_checkpoint, save_checkpoint
from pt_helpers.data import TensorLoader
from pt_helpers.train import HISTORY_KEYS, accuracy, count_correct, evaluate, fit, predict, resume, run_eval

CPU = torch.device("cpu")


def toy_images(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 8, 8) images whose class (0..2) is which third of the image is bright."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randint(0, 60, (n, 8, 8), generator=g, dtype=torch.uint8)
    for i in range(n):
        x[i, :, 1 + 2 * y[i]: 3 + 2 * y[i]] += 150
    return x, y


class Net(nn.Module):
    """Conv + BN + dropout: every source of state and randomness fit must handle."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(4 * 8, classes)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))  # (B, 4, 8, 8)
        x = x.mean(dim=2).flatten(1)  # (B, 32)
        return self.fc(self.drop(x))


def make_run(seed: int, loader_kind: str = "tensor", sched: str = "onecycle", epochs: int = 3):
    torch.manual_seed(seed)
    model = Net()
    x, y = toy_images()
    if loader_kind == "tensor":
        train = TensorLoader(x[:64], y[:64], batch_size=16, shuffle=True, flip=True, crop_padding=1, seed=seed)
        val = TensorLoader(x[64:], y[64:], batch_size=16)
    else:
        train = DataLoader(AugmentedDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
        val = DataLoader(TensorDataset(x[64:, None].float() / 255, y[64:]), batch_size=16)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    if sched == "onecycle":
        scheduler, interval = torch.optim.lr_scheduler.OneCycleLR(opt, 0.05, total_steps=epochs * len(train)), "batch"
    else:
        scheduler, interval = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), "epoch"
    return model, train, val, dict(epochs=epochs, optimizer=opt, loss_fn=nn.CrossEntropyLoss(), scheduler=scheduler,
                                   scheduler_interval=interval, device=CPU, quiet=True)


class AugmentedDataset(Dataset):
    """Per-item augmentation drawing from the global torch and Python RNGs (like torchvision transforms)."""

    def __init__(self, x, y):
        self.x, self.y = x[:, None].float() / 255, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        img = self.x[i] + 0.05 * torch.randn_like(self.x[i])
        if random.random() < 0.5:
            img = img.flip(-1)
        return img, self.y[i]


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, info):
        self.calls.append(("begin", info["epochs"], info["steps_per_epoch"]))

    def on_batch_end(self, step, logs):
        self.calls.append(("batch", step, logs["epoch"], sorted(logs)))

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("epoch", epoch, sorted(logs)))

    def on_train_end(self, history):
        self.calls.append(("end", len(history["train_loss"])))


class Crash(Callback):
    """Simulate a kill in the middle of an epoch."""

    def __init__(self, at_step):
        self.at_step = at_step

    def on_batch_end(self, step, logs):
        if step == self.at_step:
            raise KeyboardInterrupt("simulated interruption")


# ---------------------------------------------------------------- fit

def test_fit_learns_and_returns_history():
    model, train, val, kw = make_run(0, epochs=4)
    history = fit(model, train, val, **kw)
    assert set(HISTORY_KEYS) == {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}
    assert set(history) == set(HISTORY_KEYS) and all(len(history[k]) == 4 for k in HISTORY_KEYS)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.8
    assert all(isinstance(v, float) for k in HISTORY_KEYS for v in history[k])
    # the last entry is what evaluate reports for the final model
    again = evaluate(model, val, nn.CrossEntropyLoss(), CPU)
    assert again["loss"] == pytest.approx(history["val_loss"][-1]) and again["acc"] == history["val_acc"][-1]


def test_fit_train_loss_is_the_exact_mean_of_the_batch_losses():
    """Each epoch's train_loss is sum(batch loss x batch size) / items, summed in float64 in batch order."""

    class Losses(Callback):
        def __init__(self):
            self.values = []

        def on_batch_end(self, step, logs):
            self.values.append(logs["loss"])

    model, train, val, kw = make_run(0, epochs=2)
    rec = Losses()
    history = fit(model, train, val, **kw, callbacks=[rec])
    sizes = [16] * len(train)
    for epoch in range(2):
        values = rec.values[epoch * len(train):(epoch + 1) * len(train)]
        expected = 0.0
        for v, n in zip(values, sizes):
            expected += v * n
        assert history["train_loss"][epoch] == expected / sum(sizes)


def test_fit_without_validation_and_with_dataloader():
    model, train, _, kw = make_run(0, loader_kind="data", sched="step", epochs=2)
    history = fit(model, train, None, **kw)
    assert history["val_loss"] == [None, None] and len(history["train_acc"]) == 2


def test_fit_never_reinitialises_and_restores_mode():
    model, train, val, kw = make_run(0, sched="step", epochs=1)
    kw["optimizer"] = torch.optim.SGD(model.parameters(), lr=0.0)
    kw["scheduler"] = None
    before = {k: v.clone() for k, v in model.named_parameters()}
    model.eval()
    fit(model, train, val, **kw)
    assert not model.training, "fit must hand the model back in the mode it received"
    for k, v in model.named_parameters():
        assert torch.equal(v, before[k]), f"{k} changed with lr=0: fit re-initialised or altered weights"


def test_fit_requires_the_model_on_the_device():
    model, train, val, kw = make_run(0)
    model.to("meta")
    with pytest.raises(ValueError, match=r"model.*meta.*model\.to\(device\)"):
        fit(model, train, val, **kw)


def test_fit_rejects_bad_arguments():
    model, train, val, kw = make_run(0)
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(model, train, val, **{**kw, "scheduler_interval": "step"})
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(kw["optimizer"])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, train, val, **{**kw, "scheduler": plateau, "scheduler_interval": "batch"})
    with pytest.raises(ValueError, match="epochs"):
        fit(model, train, val, **{**kw, "epochs": 0})


def test_fit_stops_on_non_finite_loss():
    model, train, val, kw = make_run(0)
    kw["loss_fn"] = lambda out, y: out.sum() * float("nan")
    with pytest.raises(FloatingPointError, match="epoch 1"):
        fit(model, train, val, **kw)


def test_callbacks_see_every_hook_in_order():
    model, train, val, kw = make_run(0, epochs=2)
    rec = Recorder()
    fit(model, train, val, **kw, callbacks=[rec])
    steps = len(train)
    assert rec.calls[0] == ("begin", 2, steps)
    batches = [c for c in rec.calls if c[0] == "batch"]
    assert [c[1] for c in batches] == list(range(2 * steps))
    assert [c[2] for c in batches] == [0] * steps + [1] * steps
    assert batches[0][3] == ["epoch", "loss", "lr"]
    epochs = [c for c in rec.calls if c[0] == "epoch"]
    assert [c[1] for c in epochs] == [0, 1]
    assert epochs[0][2] == sorted(["train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"])
    assert rec.calls[-1] == ("end", 2)
    assert rec.calls.index(epochs[0]) == 1 + steps  # epoch end after its batches


def test_batch_schedule_matches_manual_stepping():
    model, train, val, kw = make_run(0, epochs=2)
    history = fit(model, train, val, **kw)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, 0.05, total_steps=2 * len(train))
    lrs = []
    for _ in range(2 * len(train)):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    # history["lr"] is the learning rate of each epoch's last batch
    assert history["lr"] == pytest.approx([lrs[len(train) - 1], lrs[-1]])


def test_plateau_scheduler_sees_the_validation_loss():
    model, train, val, kw = make_run(0, epochs=3)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(kw["optimizer"], patience=0)
    history = fit(model, train, val, **{**kw, "scheduler": plateau, "scheduler_interval": "epoch"})
    assert plateau.best == pytest.approx(min(history["val_loss"]))


# ---------------------------------------------------------------- evaluate / predict

def test_evaluate_matches_a_manual_computation_with_a_ragged_last_batch():
    torch.manual_seed(0)
    model = Net().eval()
    x, y = toy_images(50)
    loader = TensorLoader(x, y, batch_size=16)  # 16 + 16 + 16 + 2
    got = evaluate(model, loader, nn.CrossEntropyLoss(), CPU)
    xs = torch.cat([b for b, _ in loader])
    with torch.no_grad():
        out = model(xs)
    assert got["loss"] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-6)
    assert got["acc"] == pytest.approx((out.argmax(1) == y).float().mean().item())
    logits, targets = predict(model, loader, CPU)
    assert torch.allclose(logits, out, atol=1e-6) and torch.equal(targets, y)


def test_accuracy_for_segmentation_counts_pixels():
    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 3, 1)

        def forward(self, x):
            return self.conv(x)  # (B, 3, H, W)

    torch.manual_seed(0)
    model = Seg().eval()
    x = torch.randn(10, 1, 5, 5)
    masks = torch.randint(0, 3, (10, 5, 5))
    loader = DataLoader(TensorDataset(x, masks), batch_size=4)
    got = evaluate(model, loader, nn.CrossEntropyLoss(), CPU)
    with torch.no_grad():
        out = model(x)
    assert got["acc"] == pytest.approx((out.argmax(1) == masks).float().mean().item())
    assert got["loss"] == pytest.approx(F.cross_entropy(out, masks).item(), rel=1e-6)


# ---------------------------------------------------------------- accuracy and the shared evaluation loop

@pytest.mark.parametrize("shape", [(32, 5), (4, 5, 6, 7)], ids=["classification", "segmentation"])
def test_accuracy_matches_torchmetrics(shape):
    from torchmetrics.classification import MulticlassAccuracy

    g = torch.Generator().manual_seed(len(shape))
    out = torch.randn(shape, generator=g)
    target = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=g)
    target[0] = out[0].argmax(0)  # some hits for sure
    reference = MulticlassAccuracy(num_classes=shape[1], average="micro")(out, target).item()
    assert accuracy(out, target) == pytest.approx(reference, abs=1e-7)
    hits, n = count_correct(out, target)
    assert isinstance(hits, torch.Tensor) and hits.dtype == torch.int64 and n == target.numel()
    assert hits.item() / n == accuracy(out, target)


@pytest.mark.parametrize("shape", [(32, 5), (4, 5, 6, 7)], ids=["classification", "segmentation"])
def test_accuracy_of_soft_targets_compares_their_argmax(shape):
    from torchmetrics.classification import MulticlassAccuracy

    g = torch.Generator().manual_seed(7)
    out = torch.randn(shape, generator=g)
    soft = torch.rand(shape, generator=g).softmax(1)  # e.g. mixup or label smoothing targets
    reference = MulticlassAccuracy(num_classes=shape[1], average="micro")(out, soft.argmax(1)).item()
    assert accuracy(out, soft) == pytest.approx(reference, abs=1e-7)


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="float targets must have the output's shape"):
        accuracy(torch.randn(4, 3), torch.rand(4, 2))
    with pytest.raises(ValueError, match=r"argmax of the output has shape \(4,\)"):
        accuracy(torch.randn(4, 3), torch.zeros(4, 2, dtype=torch.long))


def test_run_eval_uses_eval_mode_inference_mode_and_the_device():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            seen.append((self.training, torch.is_inference_mode_enabled(), x.device))
            return self.lin(x)

    model = Probe().train()
    batches = [(torch.randn(3, 2), torch.zeros(3, dtype=torch.long)) for _ in range(2)]
    fed = []
    run_eval(model, batches, lambda out, y: fed.append((out.shape, y.shape)), CPU)
    assert seen == [(False, True, CPU)] * 2 and fed == [((3, 2), (3,))] * 2
    assert model.training, "the model's mode is restored"
    model.to("meta")
    with pytest.raises(ValueError, match=r"run_eval\(device='cpu'\).*meta"):
        run_eval(model, batches, lambda out, y: None, CPU)


def test_predict_returns_ordinary_tensors():
    """Computed under inference_mode, but handed back as tensors a learner may modify in place."""
    model = Net().eval()
    x, y = toy_images(20)
    logits, targets = predict(model, TensorLoader(x, y, batch_size=8), CPU)
    assert not logits.is_inference() and not targets.is_inference()
    logits[0, 0] = 1.0  # raises on an inference tensor outside inference_mode


def test_evaluate_restores_training_mode():
    model = Net().train()
    x, y = toy_images(20)
    evaluate(model, TensorLoader(x, y), nn.CrossEntropyLoss(), CPU)
    assert model.training


# ---------------------------------------------------------------- checkpoints and resume

def _interrupted_then_resumed(tmp_path, loader_kind, sched):
    model, train, val, kw = make_run(0, loader_kind, sched)
    steps = len(train)
    ckpt = tmp_path / "run.pt"
    random.seed(7)  # as the uninterrupted run
    with pytest.raises(KeyboardInterrupt):
        fit(model, train, val, **kw, checkpoint=ckpt, callbacks=[Crash(at_step=steps + 2)])  # dies in epoch 2
    assert load_checkpoint(ckpt)["epoch"] == 1
    # a new process: everything rebuilt with other seeds; the checkpoint must put it all back
    model2, train2, val2, kw2 = make_run(123, loader_kind, sched)
    random.seed(99)
    history = resume(ckpt, model2, train2, val2, **kw2)
    return model2, history


@pytest.mark.parametrize("loader_kind, sched", [("tensor", "onecycle"), ("data", "step")])
def test_resume_reaches_the_same_weights_bit_for_bit(tmp_path, loader_kind, sched):
    model, train, val, kw = make_run(0, loader_kind, sched)
    random.seed(7)
    full = fit(model, train, val, **kw)
    model2, history = _interrupted_then_resumed(tmp_path, loader_kind, sched)
    for k, v in model.state_dict().items():
        assert torch.equal(v, model2.state_dict()[k]), f"{k} differs after resume"
    assert history["train_loss"] == full["train_loss"] and history["val_acc"] == full["val_acc"]
    assert history["lr"] == full["lr"]


def test_resume_fails_without_the_loader_state(tmp_path):
    """Control: the equality above is not trivial; a wrong shuffling state gives other weights."""
    model, train, val, kw = make_run(0)
    fit(model, train, val, **kw)
    _, train2, _, _ = make_run(0)
    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        m, tr, va, k = make_run(0)
        fit(m, tr, va, **k, checkpoint=ckpt, callbacks=[Crash(at_step=len(tr) + 1)])
    state = torch.load(ckpt, weights_only=True)
    state["loader_rng"] = [[torch.Generator().manual_seed(5).get_state()]]
    torch.save(state, ckpt)
    model2, train2, val2, kw2 = make_run(0)
    resume(ckpt, model2, train2, val2, **kw2)
    assert not torch.equal(model.fc.weight, model2.fc.weight)


def test_resume_of_a_finished_run_returns_its_history(tmp_path):
    model, train, val, kw = make_run(0, epochs=1)
    history = fit(model, train, val, **kw, checkpoint=tmp_path / "c.pt")
    model2, train2, val2, kw2 = make_run(1, epochs=1)
    again = resume(tmp_path / "c.pt", model2, train2, val2, **kw2)
    assert again == history and torch.equal(model.fc.weight, model2.fc.weight)


def test_resume_rejects_a_checkpoint_from_a_different_loader_layout(tmp_path):
    model, train, val, kw = make_run(0, epochs=1)
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=kw["optimizer"], scheduler=kw["scheduler"], epoch=1)
    with pytest.raises(ValueError, match="c.pt.*loader"):
        resume(tmp_path / "c.pt", model, train, val, **{**kw, "epochs": 2})


def test_fit_prints_one_line_per_epoch_unless_quiet(capsys):
    model, train, val, kw = make_run(0, epochs=2)
    fit(model, train, val, **{**kw, "quiet": False})
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 2 and "val loss" in lines[0] and lines[1].startswith("epoch  2/2")
    model, train, val, kw = make_run(0, epochs=2)
    fit(model, train, val, **kw)
    assert capsys.readouterr().out == ""
